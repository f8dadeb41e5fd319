"""Grid management, escalation to the city, and the eight-step closed loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.stats.metrics import t_interval
from tests.system.test_theory import erlang_c_wait


def layered_town(
    grid_share=0.0, city_share=0.0, workers=2, loop=False, solve=None, rate=40.0, **grid_extra
) -> sim.Scenario:
    """A small town whose matters are found by grid workers and hotline calls, instantly reported."""
    return sim.scenario_from_dict(
        {
            "name": "layers",
            "seed": 5,
            "days": 20,
            "warmup_days": 2,
            "territory": {"grid": {"rows": 2, "cols": 2, "grids": [1, 1]}, "patch_km": 0.5},
            "departments": [{"name": "dept", "units": 30, "setoff_min": 0, "powers": ["matter"]}],
            "incident_types": [
                {
                    "name": "matter",
                    "rate_per_day": rate,
                    "service_min": 10,
                    "escalation": {"grid": grid_share, "city": city_share},
                    "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
                }
            ],
            "grid_management": {
                "workers_per_grid": workers,
                "hours": {"days": "daily", "times": ["00:00-24:00"]},
                "solve_min": solve or {"dist": "exponential", "mean": 30},
                "city_min": 100,
                **grid_extra,
            },
            "governance": {
                "instant": {"report_min": 0, "centre_min": 0},
                "closed_loop": {
                    "verify_min": 4,
                    "accept_min": 3,
                    "assign_min": 2,
                    "feedback_min": 5,
                    "check_min": 7,
                    "evaluate_min": 9,
                },
                "modes": {"joint": {"closed_loop": loop}, "unified": {}},
            },
        }
    )


def test_grid_matters_are_settled_by_grid_workers():
    output = sim.run(layered_town(grid_share=0.5), "joint")
    grid = [r for r in output.records if r.layer == "grid" and r.resolved]
    town = [r for r in output.records if r.layer == "town" and r.resolved]
    assert grid and town
    assert all(r.departments == "grid_workers" for r in grid)
    assert all(r.departments == "dept" for r in town)
    share = len(grid) / (len(grid) + len(town))
    assert share == pytest.approx(0.5, abs=0.06)
    assert "grid_workers" in output.busy_min and output.on_duty_min["grid_workers"] > 0


def test_grid_workers_queue_like_an_mmc():
    """All matters at grid level, one grid, c workers, exponential solving: the wait is Erlang C."""
    workers, solve_mean = 2, 30.0
    arrivals_per_min = 0.75 * workers / solve_mean
    scenario = layered_town(grid_share=1.0, workers=workers, rate=arrivals_per_min * 1440)
    means = []
    for output in sim.replicate(scenario, "joint", 8):
        warm = scenario.warmup_days * 1440
        waits = [r.response_min for r in output.records if r.occurred_min >= warm and not math.isnan(r.response_min)]
        means.append(np.mean(waits))
    low, high = t_interval(means, 0.99)
    theory = erlang_c_wait(workers, arrivals_per_min, solve_mean)
    assert low <= theory <= high, (theory, low, high)


def test_city_matters_wait_for_the_city_centre():
    output = sim.run(layered_town(city_share=1.0), "joint")
    responses = [r.response_min for r in output.records if r.resolved]
    assert min(responses) >= 100 - 1e-9
    assert all(r.layer == "city" for r in output.records)


def test_without_grid_management_every_matter_is_the_towns():
    data = layered_town(grid_share=0.5).model_dump(mode="json")
    data["grid_management"] = None
    output = sim.run(sim.scenario_from_dict(data), "joint")
    assert {r.layer for r in output.records} == {"town"}


def test_closed_loop_delays_dispatch_and_closes_after_the_fix():
    """Fixed step durations: dispatch waits verify+accept+assign; closing follows feedback+check."""
    plain = sim.run(layered_town(loop=False), "joint").records
    looped = sim.run(layered_town(loop=True), "joint").records
    assert [r.occurred_min for r in plain] == [r.occurred_min for r in looped]
    for a, b in zip(plain, looped):
        if a.resolved and b.resolved:
            assert b.dispatched_min - a.dispatched_min == pytest.approx(9.0)
            assert b.closed_min - b.resolved_min == pytest.approx(12.0)
            assert math.isnan(a.closed_min)


# --------------------------------------------------------------------------- grid leaders


def leader_town(lam: float, handling: float, leaders: dict | None, days: float = 30.0) -> sim.Scenario:
    """Every matter is reported by a grid worker at once; a leader (if any) handles it before a centre that never queues."""
    grid = {"hours": {"times": ["00:00-24:00"]}, **({"leaders": leaders} if leaders else {})}
    return sim.scenario_from_dict(
        {
            "name": "leaders",
            "seed": 9,
            "days": days,
            "warmup_days": 2,
            "drain_days": 1,
            "territory": {"grid": {"rows": 2, "cols": 2, "grids": [1, 2]}, "patch_km": 0.5},
            "departments": [{"name": "dept", "units": 400, "setoff_min": 0, "powers": ["matter"]}],
            "incident_types": [
                {
                    "name": "matter",
                    "rate_per_day": lam * 1440,
                    "service_min": {"dist": "fixed", "value": 1},
                    "detection": {
                        "patrol": {"notice_probability": 0},
                        "hotline": {"probability": 0},
                        "grid_worker": {"probability": 1, "delay_min": 0},
                    },
                }
            ],
            "grid_management": grid,
            "governance": {
                "instant": {"report_min": 0, "centre_min": 0, "operators": 10_000},
                "modes": {"joint": {}},
            },
        }
    )


def _before_dispatch(scenario, replications):
    warm = scenario.warmup_days * 1440
    return [
        float(np.mean([r.dispatched_min - r.reached_min for r in out.records if r.occurred_min >= warm]))
        for out in sim.replicate(scenario, "joint", replications)
    ]


def test_a_grid_leader_per_two_grids_is_an_m_m_1_queue():
    """One leader for both grids, Poisson reports, exponential handling: the wait is M/M/1's (Erlang C, c = 1)."""
    lam, handling = 0.07, 10.0  # utilisation 0.7
    leaders = {"grids_per_leader": 2, "handling_min": {"dist": "exponential", "mean": handling}}
    scenario = leader_town(lam, handling, leaders)
    means = _before_dispatch(scenario, 10)
    wait = erlang_c_wait(1, lam, handling)
    low, high = t_interval(means, confidence=0.99)
    assert low <= wait + handling <= high, (wait + handling, low, high)
    assert (high - low) / 2 < 0.2 * wait
    output = sim.run(scenario, "joint")
    assert output.busy_min["grid_leaders"] / output.on_duty_min["grid_leaders"] == pytest.approx(0.7, rel=0.1)


def test_one_leader_per_grid_halves_the_load_and_no_leaders_change_nothing():
    lam, handling = 0.07, 10.0
    per_grid = leader_town(lam, handling, {"grids_per_leader": 1, "handling_min": {"dist": "exponential", "mean": 10}})
    means = _before_dispatch(per_grid, 6)
    wait = erlang_c_wait(1, lam / 2, handling)  # each grid has half the patches and equal weights
    low, high = t_interval(means, confidence=0.99)
    assert low <= wait + handling <= high, (wait + handling, low, high)
    without = sim.run(leader_town(lam, handling, None, days=4), "joint")
    assert "grid_leaders" not in without.busy_min
    assert all(r.dispatched_min == r.reached_min for r in without.records if r.dispatched_min == r.dispatched_min)


def test_grid_leaders_need_a_staffed_centre():
    data = leader_town(0.01, 1.0, {"grids_per_leader": 1}, days=3).model_dump(mode="json")
    data["governance"]["instant"]["operators"] = None
    with pytest.raises(sim.ScenarioError, match="grid leaders hand reports to a staffed centre"):
        sim.scenario_from_dict(data)


def test_a_matter_settled_by_a_grid_worker_takes_the_same_minutes_in_every_mode():
    """Common random numbers: each matter's first visit by a grid worker is drawn ahead, not in order of visits.

    The Anhai town's grid matters reach the workers in a different order under joint and unified
    working; drawn in order, a matter's solving minutes differed between the modes.
    """
    from tests.conftest import SCENARIOS

    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=10"])
    solved = {}
    for mode in ("joint", "unified"):
        output = sim.run(scenario, mode, seed=3)
        solved[mode] = {j.incident: j.done_min - j.arrived_min for j in output.jobs if j.department == "grid_workers"}
    both = solved["joint"].keys() & solved["unified"].keys()
    assert len(both) > 100
    assert all(math.isclose(solved["joint"][n], solved["unified"][n], rel_tol=1e-9, abs_tol=1e-9) for n in both)
