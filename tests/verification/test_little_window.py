"""The Little's-law check measures a window that ends before arrivals stop."""

from __future__ import annotations

import math

import pytest

import sim
from sim.engine.records import IncidentRecord
from sim.scenario.schedule import MINUTES_PER_DAY
from sim.verification.checks import _little_terms, little_window


def _record(number: int, detected: float, resolved: float) -> IncidentRecord:
    values = {
        "incident": number,
        "incident_type": "t",
        "patch": "p",
        "sector": "s",
        "priority": 3,
        "channel": "hotline",
        "finder": "",
        "departments": "",
        "units": "",
        "referrals": 0,
        "bounces": 0,
        "seen_not_handled": 0,
        "layer": "town",
        "closed_min": math.nan,
        "on_the_spot": False,
        "resolved_min": resolved,
    }
    times = {f: detected for f in ("occurred_min", "detected_min", "reached_min", "dispatched_min", "on_scene_min")}
    return IncidentRecord(**{f: {**values, **times}.get(f, False) for f in IncidentRecord._fields})


def test_window_ends_a_week_before_arrivals_stop(classroom):
    scenario = sim.scenario_from_dict({**classroom.model_dump(mode="json"), "days": 21, "warmup_days": 7})
    start, end = little_window(scenario)
    assert start == 7 * MINUTES_PER_DAY
    assert end == 14 * MINUTES_PER_DAY < scenario.days * MINUTES_PER_DAY


def test_matters_detected_after_the_window_do_not_count(classroom):
    """A matter detected after the window (in the last week of arrivals) adds nothing to L, lambda or W."""
    scenario = sim.scenario_from_dict({**classroom.model_dump(mode="json"), "days": 21, "warmup_days": 7})
    inside = [_record(i, 8 * MINUTES_PER_DAY + 60 * i, 8 * MINUTES_PER_DAY + 60 * i + 30) for i in range(10)]
    late = [_record(100, 20 * MINUTES_PER_DAY, 20 * MINUTES_PER_DAY + 5)]
    level, rate, sojourn = _little_terms(inside + late, scenario)
    window = 7 * MINUTES_PER_DAY
    assert rate == pytest.approx(10 / window)
    assert sojourn == pytest.approx(30)
    assert level == pytest.approx(10 * 30 / window)
    assert level == pytest.approx(rate * sojourn)
