"""Extreme but valid scenarios: each finishes, and the summary holds no NaN or infinity.

An empty statistic (no incident of a kind, no response yet) is reported as absent: ``None`` in
Python, ``null`` in summary.json.
"""

from __future__ import annotations

import json
import math
import time

import pytest

import sim
from sim.io.loader import read_yaml
from tests.conftest import SCENARIOS


def finite_everywhere(value) -> bool:
    """True when every number inside *value* is finite (None allowed)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite_everywhere(v) for v in value)
    return True


def classroom_with(**changes) -> sim.Scenario:
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    for key, value in changes.items():
        target = data
        *path, last = key.split("__")
        for part in path:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    return sim.scenario_from_dict(data)


def check(scenario: sim.Scenario, cpu_s: float = 60.0) -> dict:
    """Compare every mode of *scenario* in this process; the summary must be finite and JSON without NaN.

    Bounds the work: at most *cpu_s* seconds of this process's CPU time (not wall time, which a
    busy machine stretches).
    """
    started = time.process_time()
    summary = sim.compare(scenario).summary
    assert time.process_time() - started < cpu_s
    assert finite_everywhere(summary), summary
    json.dumps(summary, allow_nan=False)
    return summary


def test_zero_incidents():
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    for itype in data["incident_types"]:
        itype["rate_per_day"] = 0
    summary = check(sim.scenario_from_dict(data))
    for stats in summary["modes"].values():
        assert stats["incidents"] == 0
        assert stats["response_min"] is None and stats["within_target"] is None
        assert all(t["response_min"] is None for t in stats["by_type"].values())


def test_one_unit_in_the_whole_town():
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    data["departments"] = [{"name": "everyone", "units": 1, "powers": [t["name"] for t in data["incident_types"]]}]
    for itype in data["incident_types"]:
        itype.pop("requires", None)
    summary = check(sim.scenario_from_dict(data))
    assert all(s["utilisation"]["everyone"] > 0 for s in summary["modes"].values())


def test_department_with_nobody_on_shift_for_hours():
    """Office-hours sanitation: bins found at night wait for the morning, and the run still ends."""
    scenario = classroom_with(departments__1__shift="office_hours")
    summary = check(scenario)
    garbage = summary["modes"]["joint"]["by_type"]["garbage_overflow"]["response_min"]
    assert garbage["p90"] > 8 * 60


def test_load_above_capacity_reports_the_backlog():
    scenario = classroom_with(incident_types__0__rate_per_day=400, days=3, warmup_days=0.5, drain_days=0.5)
    summary = check(scenario)
    assert summary["modes"]["joint"]["backlog"] > 100
    assert summary["modes"]["joint"]["unresolved"] > 100


def test_horizon_of_years():
    summary = check(classroom_with(days=3 * 365, warmup_days=7), cpu_s=120)
    assert summary["modes"]["unified"]["incidents"] > 3 * 365 * 10


def test_single_patch():
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    data["territory"] = {"patches": [{"name": "square", "x_km": 0, "y_km": 0}]}
    for dept in data["departments"]:
        dept["base"] = "square"
    check(sim.scenario_from_dict(data))


def test_thousands_of_patches():
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    data["territory"]["grid"] = {"rows": 60, "cols": 60, "sectors": [2, 3]}
    data["territory"]["patch_km"] = 0.2
    for dept in data["departments"]:
        dept["base"] = "centre"
    summary = check(sim.scenario_from_dict(data))
    assert summary["modes"]["joint"]["incidents"] > 0


@pytest.mark.parametrize("mode", ["fragmented", "joint", "unified"])
def test_nobody_ever_detects_anything(mode):
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    for itype in data["incident_types"]:
        itype["detection"] = {"patrol": {"notice_probability": 0}, "hotline": {"probability": 0}}
    summary = check(sim.scenario_from_dict(data))
    stats = summary["modes"][mode]
    assert stats["incidents"] > 0 and stats["detected"] == 0 and stats["response_min"] is None


def test_runaway_work_is_refused_with_a_clear_message():
    with pytest.raises(sim.ScenarioError) as err:
        classroom_with(days=36_000, incident_types__0__rate_per_day=1_000)
    assert "limited to 20,000,000" in str(err.value) and err.value.problems[0].path == "days"
