"""Violations that end by themselves (a vendor moves on, a car drives away).

Known answer: matters reported the moment they occur, a unit always free and arriving exactly R
minutes later, and an exponential natural lifetime of mean L: a matter ends unattended when its
lifetime is shorter than R, so the ended share is 1 - exp(-R/L) (Binomial over the matters). Its
response is censored at its end, never counted as reached; the unit sent finds nothing and is free
again on arrival.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.stats.metrics import censored_times, summarise

RESPONSE_MIN = 30.0


def _town(lifetime, delay_min: float = 0.0, rate: float = 100.0) -> sim.Scenario:
    return sim.scenario_from_dict(
        {
            "name": "vendors",
            "seed": 3,
            "days": 10,
            "warmup_days": 0,
            "drain_days": 1,
            "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
            "departments": [{"name": "team", "units": 60, "setoff_min": RESPONSE_MIN, "powers": ["vending"]}],
            "incident_types": [
                {
                    "name": "vending",
                    "rate_per_day": rate,
                    "service_min": 10,
                    "natural_end_min": lifetime,
                    "detection": {
                        "patrol": {"notice_probability": 0},
                        "hotline": {"probability": 1, "delay_min": delay_min},
                    },
                }
            ],
            "governance": {"instant": {"report_min": 0, "centre_min": 0}, "modes": {"joint": {}}},
        }
    )


@pytest.mark.parametrize("mean_min", [20.0, 60.0, 240.0])
def test_an_exponential_lifetime_and_a_fixed_response_end_a_share_one_minus_exp(mean_min):
    out = sim.run(_town({"dist": "exponential", "mean": mean_min}))
    n = len(out.records)
    ended = [r for r in out.records if r.ended_unattended]
    p = 1 - math.exp(-RESPONSE_MIN / mean_min)
    low, high = stats.binom.interval(0.999, n, p)
    assert n > 800 and low <= len(ended) <= high
    for record in ended:
        assert math.isnan(record.on_scene_min) and math.isnan(record.resolved_min)
        assert record.ended_min - record.occurred_min < RESPONSE_MIN
    for record in out.records:
        if not record.ended:
            assert record.response_min == pytest.approx(RESPONSE_MIN)
    summary = summarise([out], 0.0, 60.0, ["vending"])
    assert summary["ended_unattended"] == len(ended)
    assert summary["unresolved"] == 0  # an ended matter is not an open one
    assert summary["response_min"]["not_reached"] == len(ended)


def test_an_ended_matter_is_censored_at_its_end_not_at_the_runs_end():
    out = sim.run(_town({"dist": "exponential", "mean": 40.0}))
    times = censored_times(out.records, out.end_min, "on_scene_min")
    by_order = [r for r in out.records if not math.isnan(r.detected_min)]
    expected = [r.ended_min - r.detected_min if r.ended else r.response_min for r in by_order]
    np.testing.assert_allclose(times.minutes, expected)
    np.testing.assert_array_equal(times.observed, [not r.ended for r in by_order])
    resolution = censored_times(out.records, out.end_min, "resolved_min")
    assert max(resolution.minutes[~resolution.observed]) < RESPONSE_MIN


def test_the_unit_sent_finds_nothing_and_is_free_on_arrival():
    out = sim.run(_town({"dist": "fixed", "value": 10.0}))
    assert all(r.ended_unattended for r in out.records)
    assert len(out.jobs) == len(out.records)
    for job in out.jobs:
        assert job.ended and job.busy_min == pytest.approx(RESPONSE_MIN)  # travel only, no on-scene work


def test_a_matter_that_ends_before_anyone_reports_it_is_never_detected():
    out = sim.run(_town({"dist": "fixed", "value": 10.0}, delay_min=15.0))
    assert all(math.isnan(r.detected_min) and r.ended and not r.ended_unattended for r in out.records)
    summary = summarise([out], 0.0, 60.0, ["vending"])
    assert summary["ended_undetected"] == len(out.records) and summary["detected"] == 0
    assert not out.jobs


def test_a_matter_without_a_lifetime_persists():
    out = sim.run(_town(None))
    assert not any(r.ended for r in out.records)
    assert all(r.response_min == pytest.approx(RESPONSE_MIN) for r in out.records)


@pytest.mark.parametrize("target,expected", [(5.0, 0.0), (60.0, None)])
def test_within_target_counts_an_ended_matter_only_when_its_miss_is_known(target, expected):
    """Lifetime 10 min, response 30: found at once, ended after 10. Past a 5-min target it missed
    for sure; within a 60-min target nobody knows, so it is left out (nothing left: None)."""
    out = sim.run(_town({"dist": "fixed", "value": 10.0}))
    assert summarise([out], 0.0, target, ["vending"])["within_target"] == expected


def test_the_lifetimes_are_the_same_in_every_mode():
    scenario = _town({"dist": "exponential", "mean": 60.0})
    data = scenario.model_dump(mode="json")
    data["governance"]["modes"] = {"joint": {}, "fragmented": {}}
    two = sim.scenario_from_dict(data)
    fast, slow = sim.run(two, "joint"), sim.run(two, "fragmented")
    ended_fast = {r.incident: r.ended_min for r in fast.records if r.ended}
    ended_slow = {r.incident: r.ended_min for r in slow.records if r.ended}
    assert ended_fast and len(ended_slow) > len(ended_fast)
    assert set(ended_fast) <= set(ended_slow)  # the slower way of working loses more of the same matters
    assert all(ended_slow[i] == ended_fast[i] for i in ended_fast)
