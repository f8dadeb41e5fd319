"""Patrol detection without ticking: the first noticing pass is exponential with the coverage rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.stats.metrics import t_interval


def patrol_town(units_a: int, units_b: int, speed_a: float, speed_b: float, notice: float) -> sim.Scenario:
    return sim.scenario_from_dict(
        {
            "name": "patrols",
            "days": 30,
            "warmup_days": 1,
            "territory": {"grid": {"rows": 4, "cols": 5}, "patch_km": 0.5, "detour_factor": 1.2},
            "departments": [
                {"name": "a", "units": units_a, "patrols": True, "patrol_speed_kmh": speed_a, "powers": ["thing"]},
                {"name": "b", "units": units_b, "patrols": True, "patrol_speed_kmh": speed_b, "powers": []},
            ],
            "incident_types": [
                {
                    "name": "thing",
                    "rate_per_day": 100,
                    "service_min": 1,
                    "detection": {"patrol": {"notice_probability": notice}, "hotline": {"probability": 0}},
                }
            ],
            "governance": {"modes": {"joint": {}}},
        }
    )


def test_mean_detection_delay_matches_coverage_rate():
    scenario = patrol_town(3, 2, 6.0, 12.0, 0.5)
    traverse_a = 60 * 0.5 * 1.2 / 6.0
    traverse_b = 60 * 0.5 * 1.2 / 12.0
    rate = (3 / traverse_a + 2 / traverse_b) / 20 * 0.5
    means = []
    for output in sim.replicate(scenario, "joint", 8):
        delays = [r.detected_min - r.occurred_min for r in output.records if not math.isnan(r.detected_min)]
        means.append(float(np.mean(delays)))
    low, high = t_interval(means, 0.99)
    assert low <= 1 / rate <= high


def test_finder_shares_follow_patrol_effort():
    scenario = patrol_town(3, 2, 6.0, 12.0, 1.0)
    records = sim.run(scenario, "joint").records
    share_b = np.mean([r.finder == "b" for r in records if r.channel == "patrol"])
    expected = (2 * 12.0) / (3 * 6.0 + 2 * 12.0)
    assert share_b == pytest.approx(expected, abs=0.03)


def test_no_patrols_no_patrol_detection():
    scenario = patrol_town(3, 2, 6.0, 12.0, 0.0)
    records = sim.run(scenario, "joint").records
    assert all(math.isnan(r.detected_min) for r in records)


@pytest.mark.parametrize("calendar", ["weekly", "monthly"])
def test_the_finders_of_many_passes_at_once_are_those_found_one_by_one(calendar):
    """PatrolCoverage.finders on whole arrays gives what finder gives a pass at a time: in Anhai's sectors, with
    several patrolling departments on shifts (hours when none patrols a sector included), and with a monthly
    campaign taking patrol units on some days (a dated rate, asked pass by pass)."""
    from pathlib import Path

    from sim.engine.model import Simulation
    from sim.io.loader import read_yaml
    from sim.scenario.governance import resolve_mode

    data, _ = read_yaml(Path(__file__).parents[2] / "scenarios" / "anhai.yaml")
    if calendar == "monthly":
        data["start_date"] = "2024-01-01"
        data["campaigns"][0]["schedule"] = {"every": "month", "days": [2, 19], "start": "09:00"}
    scenario = sim.scenario_from_dict(data, overrides=["days=40"])
    mode = resolve_mode("joint", scenario.governance.modes["joint"], scenario)
    coverage = Simulation(scenario, mode, np.random.SeedSequence(1)).coverage
    assert len(coverage.departments) >= 2
    dated = [s for s, shares in enumerate(coverage._weekly_shares) if shares is None]
    assert bool(dated) == (calendar == "monthly")
    rng = np.random.default_rng(4)
    n = 20_000
    sector = rng.integers(0, len(coverage.rate), n)
    now = np.where(rng.random(n) < 0.1, rng.integers(0, 40 * 24, n) * 60.0, rng.uniform(0, 40 * 1440, n))
    u = np.where(rng.random(n) < 0.05, 0.0, rng.random(n))
    one_by_one = [coverage.finder(s, t, v) for s, t, v in zip(sector.tolist(), now.tolist(), u.tolist())]
    assert [coverage.departments[j] for j in coverage.finders(sector, now, u)] == one_by_one
    assert len(set(one_by_one)) >= 2
