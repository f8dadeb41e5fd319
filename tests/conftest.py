"""Shared fixtures: the shipped scenarios and a builder for tiny exact scenarios."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import sim
from sim.io.loader import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DATA = ROOT / "tests" / "data"
"""Golden records and fuzz regressions, shared by tests in every folder."""


@pytest.fixture(scope="session")
def classroom() -> sim.Scenario:
    """The tiny teaching scenario."""
    return sim.load_scenario(SCENARIOS / "classroom.yaml")


@pytest.fixture(scope="session")
def anhai() -> sim.Scenario:
    """The headline garbage-case scenario."""
    return sim.load_scenario(SCENARIOS / "anhai_garbage.yaml")


@pytest.fixture()
def classroom_data() -> dict:
    """The classroom scenario as plain data, to modify in a test."""
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    return copy.deepcopy(data)


def queue_scenario(
    servers: int,
    arrivals_per_min: float,
    service_mean_min: float,
    days: float = 20.0,
    warmup_days: float = 2.0,
    service: dict | None = None,
    mode: dict | None = None,
    **extra,
) -> sim.Scenario:
    """One patch, no travel, instant detection and reporting, Poisson arrivals: an M/G/c queue.

    Response time is then exactly the wait in queue, so the simulation can be checked against
    queueing theory.
    """
    data = {
        "name": f"mmc{servers}",
        "seed": 11,
        "days": days,
        "warmup_days": warmup_days,
        "drain_days": 1,
        "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
        "departments": [
            {"name": "team", "units": servers, "setoff_min": 0, "powers": ["job"]},
        ],
        "incident_types": [
            {
                "name": "job",
                "rate_per_day": arrivals_per_min * 1440,
                "service_min": service or {"dist": "exponential", "mean": service_mean_min},
                "detection": {
                    "patrol": {"notice_probability": 0},
                    "hotline": {"probability": 1, "delay_min": 0},
                },
            }
        ],
        "governance": {
            "instant": {"report_min": 0, "centre_min": 0},
            "modes": {"pooled": mode or {"based_on": "joint"}},
        },
    }
    data.update(extra)
    return sim.scenario_from_dict(data)


def ties_scenario(governance: dict) -> sim.Scenario:
    """Three patches in a row, three units, fixed handling and service: exact ties between events are common.

    One type, reported at once by the hotline, 288 a day for three days; *governance* gives the
    channel's centre or centres (and is completed with one mode, ``pooled``, based on ``joint``).
    """
    job = {
        "name": "h",
        "priority": 1,
        "rate_per_day": 288,
        "service_min": {"dist": "fixed", "value": 5},
        "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
    }
    return sim.scenario_from_dict(
        {
            "name": "ties",
            "seed": 11,
            "days": 3,
            "warmup_days": 0.5,
            "drain_days": 1,
            "territory": {"patches": [{"name": f"p{i}", "x_km": float(i), "y_km": 0} for i in range(3)]},
            "departments": [{"name": "team", "units": 3, "setoff_min": 0, "powers": ["h"]}],
            "incident_types": [job],
            "governance": {**governance, "modes": {"pooled": {"based_on": "joint"}}},
        }
    )


@contextmanager
def local_dask_cluster(quiet: int = logging.ERROR) -> Iterator:
    """A real dask cluster: a scheduler and two worker processes with one thread each (nannies restart them)."""
    distributed = pytest.importorskip("dask.distributed", reason="the dask extra is part of .[test]")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=quiet
    ) as cluster:
        yield cluster
