"""Hours that belong to people: desks per department, the hotline's back office, detection channels.

Exact answers: with a fixed hand-over of h minutes a referral through 24-hour desks takes steps x h
minutes; through office-hours desks a hand-over begun at 17:00 on a Friday ends on Monday morning
at a minute computed by hand. A matter at 03:00 is reported by grid workers when they come on duty.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.engine.channel import ReferralChain
from sim.errors import ScenarioError
from sim.scenario.schedule import MINUTES_PER_DAY
from sim.scenario.schema import ALWAYS, Hours, ReferralSpec

DAY = MINUTES_PER_DAY
OFFICE = {"days": "weekdays", "times": ["08:30-12:00", "14:00-17:30"]}
MONDAY, FRIDAY, SATURDAY = 0, 4 * DAY, 5 * DAY


def _chain(steps: dict, desk=OFFICE, hotline=None, desks=None, misroute: float = 0.0, handover: float = 60.0):
    spec = ReferralSpec(
        desk_hours=desk, hotline_hours=hotline, handover_min=handover, steps=steps, misroute_probability=misroute
    )
    return ReferralChain(spec, desks={name: Hours(**hours).weekly() for name, hours in (desks or {}).items()})


class _Draws:
    """A stand-in generator whose uniform draws are given in order (fixed hand-overs draw one too)."""

    def __init__(self, *values):
        self.values = iter(values)

    def random(self):
        return next(self.values)


RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- the referral chain


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
@pytest.mark.parametrize("start", [MONDAY + 3 * 60, FRIDAY + 17 * 60, SATURDAY + 23 * 60 + 59])
def test_a_referral_through_24_hour_desks_takes_steps_times_the_hand_over(steps, start):
    chain = _chain({"patrol": steps}, desk=ALWAYS.model_dump())
    delivery = chain.deliver(start, "patrol", RNG, frozenset({"police"}))
    assert delivery.reached_min == start + steps * 60.0
    assert delivery.referrals == steps and delivery.bounces == 0


def test_a_hand_over_begun_at_17_00_on_friday_ends_on_monday_morning():
    """30 working minutes are left on Friday (until 17:30); the other 30 run from 08:30 on Monday."""
    chain = _chain({"coordination": 1})
    delivery = chain.deliver(FRIDAY + 17 * 60, "coordination", RNG, frozenset({"police"}))
    assert delivery.reached_min == 7 * DAY + 9 * 60  # Monday 09:00 of the next week


def test_the_last_hand_over_keeps_the_owning_departments_desk_hours():
    """A hotline report (2 steps) at 16:00 on Friday: the town's desk passes it on at 17:00; a
    police duty desk round the clock gives it to a unit at 18:00, an office-hours desk on Monday."""
    chain = _chain({"hotline": 2}, desks={"police": ALWAYS.model_dump()})
    to_police = chain.deliver(FRIDAY + 16 * 60, "hotline", RNG, frozenset({"police"}))
    assert to_police.reached_min == FRIDAY + 18 * 60
    to_market = chain.deliver(FRIDAY + 16 * 60, "hotline", RNG, frozenset({"market"}))
    assert to_market.reached_min == 7 * DAY + 9 * 60
    one_step_at_night = _chain({"patrol": 1}, desks={"police": ALWAYS.model_dump()})
    assert (
        one_step_at_night.deliver(MONDAY + 3 * 60, "patrol", RNG, frozenset({"police"})).reached_min == MONDAY + 4 * 60
    )


def test_earlier_steps_keep_the_towns_desk_hours():
    """Three steps from 03:00 on Monday: two on the town's desk (08:30-10:30), the last on the police desk."""
    chain = _chain({"patrol": 3}, desks={"police": ALWAYS.model_dump()})
    assert chain.deliver(MONDAY + 3 * 60, "patrol", RNG, frozenset({"police"})).reached_min == MONDAY + 11 * 60 + 30


def test_with_several_owners_the_report_goes_to_the_desk_that_passes_it_on_first():
    chain = _chain({"hotline": 1}, desks={"police": ALWAYS.model_dump()})
    both = chain.deliver(SATURDAY + 60, "hotline", RNG, frozenset({"police", "enforcement"}))
    assert both.reached_min == SATURDAY + 120
    no_owner = chain.deliver(SATURDAY + 60, "hotline", RNG)  # a report for the grid or for everyone: the town's desk
    assert no_owner.reached_min == 7 * DAY + 9 * 60 + 30


def test_a_bounce_is_sent_back_by_the_town_and_forwarded_again_onto_the_owners_desk():
    """One step to the police desk (24 h) at 17:00 Friday ends at 18:00; misrouted, the wrong desk
    (office hours) sends it back at 09:30 Monday; the forward again lands on the police desk at 10:30."""
    chain = _chain({"patrol": 1}, desks={"police": ALWAYS.model_dump()}, misroute=0.5)
    draws = _Draws(0.7, 0.0, 0.7, 0.7, 0.9)  # hand-over, misrouted, sent back, forwarded, not misrouted
    delivery = chain.deliver(FRIDAY + 17 * 60, "patrol", draws, frozenset({"police"}))
    assert delivery.reached_min == 7 * DAY + 10 * 60 + 30
    assert (delivery.referrals, delivery.bounces) == (3, 1)


def test_the_hotline_back_office_keeps_its_own_hours():
    """A hotline report at 03:00 on Saturday: a 24-hour back office forwards it at 04:00, and the
    office-hours owner passes it on at 09:30 on Monday; without it, 08:30-09:30 and 09:30-10:30."""
    night = _chain({"hotline": 2}, hotline=ALWAYS.model_dump())
    assert night.deliver(SATURDAY + 3 * 60, "hotline", RNG, frozenset({"market"})).reached_min == 7 * DAY + 9 * 60 + 30
    office = _chain({"hotline": 2})
    assert (
        office.deliver(SATURDAY + 3 * 60, "hotline", RNG, frozenset({"market"})).reached_min == 7 * DAY + 10 * 60 + 30
    )
    patrol = _chain({"patrol": 2}, hotline=ALWAYS.model_dump())  # only hotline reports use the hotline's hours
    assert patrol.deliver(SATURDAY + 3 * 60, "patrol", RNG, frozenset({"market"})).reached_min == 7 * DAY + 10 * 60 + 30


# --------------------------------------------------------------------------- in a run


def _town(police_desk=None, detection=None, profile_hour=3, grid_management=None, steps=1) -> sim.Scenario:
    """One patch, no travel; every matter occurs in one hour of the day and is reported by one channel."""
    profile = [0.0] * 24
    profile[profile_hour] = 1.0
    police = {"name": "police", "units": 3, "setoff_min": 0, "powers": ["noise"]}
    if police_desk is not None:
        police["desk_hours"] = police_desk
    data = {
        "name": "desks",
        "seed": 5,
        "days": 14,
        "warmup_days": 1,
        "drain_days": 4,
        "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
        "departments": [police],
        "incident_types": [
            {
                "name": "noise",
                "rate_per_day": 6,
                "profile": profile,
                "service_min": 10,
                "detection": detection
                or {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 5}},
            }
        ],
        "governance": {
            "referral": {
                "desk_hours": OFFICE,
                "handover_min": 60,
                "steps": {"hotline": steps},
                "misroute_probability": 0,
            },
            "modes": {"fragmented": {}},
        },
    }
    if grid_management is not None:
        data["grid_management"] = grid_management
    return sim.scenario_from_dict(data)


def test_night_noise_reaches_a_24_hour_police_desk_within_the_hand_over():
    records = sim.run(_town(police_desk=ALWAYS.model_dump()), "fragmented").records
    assert len(records) > 40
    assert all(r.channel == "hotline" and r.detected_min == pytest.approx(r.occurred_min + 5) for r in records)
    assert all(r.reached_min - r.detected_min == pytest.approx(60.0) for r in records)
    office = sim.run(_town(), "fragmented").records
    waits = [r.reached_min - r.detected_min for r in office]
    assert min(waits) > 5 * 60, "at an office-hours desk a 03:00 report waits for the morning"


def test_a_matter_at_03_00_is_reported_by_grid_workers_when_they_come_on_duty():
    detection = {
        "patrol": {"notice_probability": 0},
        "hotline": {"probability": 0},
        "grid_worker": {"probability": 1, "delay_min": 10},
    }
    for grid_management, start in ((None, 8 * 60), ({"hours": {"times": ["07:30-19:00"]}}, 7 * 60 + 30)):
        scenario = _town(police_desk=ALWAYS.model_dump(), detection=detection, grid_management=grid_management)
        records = sim.run(scenario, "fragmented").records
        assert len(records) > 40
        for r in records:
            assert r.channel == "grid_worker"
            day = r.occurred_min // DAY
            assert 3 * 60 <= r.occurred_min - day * DAY < 4 * 60
            assert r.detected_min == day * DAY + start, "reported at the start of the grid workers' duty"


def test_hotline_and_cameras_report_round_the_clock_by_default():
    detection = {
        "patrol": {"notice_probability": 0},
        "hotline": {"probability": 0},
        "camera": {"probability": 1, "delay_min": 7},
    }
    records = sim.run(_town(police_desk=ALWAYS.model_dump(), detection=detection), "fragmented").records
    assert records and all(
        r.channel == "camera" and r.detected_min == pytest.approx(r.occurred_min + 7) for r in records
    )
    watched = dict(detection, camera={"probability": 1, "delay_min": 7, "hours": {"times": ["08:00-20:00"]}})
    records = sim.run(_town(police_desk=ALWAYS.model_dump(), detection=watched), "fragmented").records
    assert all(r.detected_min % DAY == 8 * 60 for r in records), (
        "a camera room watched by day reads night footage at 08:00"
    )


def test_channel_hours_default_to_the_people_behind_them():
    town = _town(grid_management={"hours": {"days": "weekdays", "times": ["09:00-17:00"]}})
    noise = town.incident_types[0]
    assert town.channel_hours(noise, "grid_worker").times == ["09:00-17:00"]
    assert town.channel_hours(noise, "hotline").weekly().is_always
    assert town.channel_hours(noise, "camera").weekly().is_always
    assert _town().channel_hours(noise, "grid_worker").times == ["08:00-20:00"]


# --------------------------------------------------------------------------- defaults and bad values


def test_desk_hours_default_to_the_towns():
    town = _town()
    assert town.department("police").desk_hours is None
    assert town.desk_hours("police") == town.governance.referral.desk_hours
    assert _town(police_desk=ALWAYS.model_dump()).desk_hours("police").weekly().is_always


def test_a_response_target_per_incident_type():
    town = _town()
    assert town.target_for("noise") == town.target_min == 30
    data = town.model_dump(mode="json")
    data["incident_types"][0]["target_min"] = 15
    assert sim.scenario_from_dict(data).target_for("noise") == 15


@pytest.mark.parametrize(
    "fragment, path, words",
    [
        ("    desk_hours: {times: ['08:00-25:00']}\n", "departments.police.desk_hours.times", "time out of range"),
        ("    desk_hours: always\n", "departments.police.desk_hours", "expected a mapping"),
    ],
)
def test_a_bad_desk_is_an_error_with_file_line_and_key_path(tmp_path, fragment, path, words):
    text = (
        "name: bad\nterritory:\n  grid: {rows: 1, cols: 1}\ndepartments:\n  - name: police\n    units: 1\n"
        + fragment
        + "    powers: [noise]\nincident_types:\n  - name: noise\n    rate_per_day: 1\n"
    )
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(file)
    (problem,) = info.value.problems
    assert (problem.source, problem.line, problem.path) == (str(file), 7, path)
    assert words in problem.message


def test_a_bad_type_target_is_an_error_with_its_key_path(tmp_path):
    text = (
        "name: bad\nterritory:\n  grid: {rows: 1, cols: 1}\ndepartments:\n  - {name: police, units: 1, powers: [noise]}\n"
        "incident_types:\n  - name: noise\n    rate_per_day: 1\n    target_min: 0\n"
    )
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(file)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (9, "incident_types.noise.target_min")
    assert "greater than 0" in problem.message
