"""Offered load against units on duty, from the scenario alone; backlog growth after a run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.experiments.runs import compare
from sim.scenario.governance import jobs_of, modes_of
from sim.stats.capacity import (
    backlog_messages,
    backlog_trends,
    hour_label,
    hour_ranges,
    job_spans,
    offered_load,
    overload_messages,
)
from tests.conftest import SCENARIOS


def one_crew(units=2, rate_per_day=144.0, service_min=30.0, shift="24h", days=6.0, profile=None) -> dict:
    """One patch, one department of *units* with no travel, one incident type reported at once.

    Offered load is rate x service exactly: 144 a day x 30 min = 4,320 unit-minutes a day,
    against 2 units x 1,440 = 2,880: 1.5 x capacity.
    """
    itype = {
        "name": "job",
        "rate_per_day": rate_per_day,
        "service_min": {"dist": "exponential", "mean": service_min},
        "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1.0, "delay_min": 0}},
    }
    if profile is not None:
        itype["profile"] = profile
    return {
        "name": "crew_town",
        "days": days,
        "warmup_days": 1,
        "drain_days": 1,
        "territory": {"patches": [{"name": "a", "x_km": 0, "y_km": 0}]},
        "departments": [
            {"name": "crew", "units": units, "setoff_min": 0, "base": "a", "shift": shift, "powers": ["job"]}
        ],
        "incident_types": [itype],
        "governance": {"modes": {"joint": {}}},
    }


def test_offered_load_is_rate_times_service_against_units_on_duty():
    load = offered_load(sim.scenario_from_dict(one_crew())).of("crew", "joint")
    assert load.offered_per_week_min == pytest.approx(7 * 144 * 30)
    assert load.on_duty_per_week_min == pytest.approx(7 * 2 * 1440)
    assert load.weekly_utilisation == pytest.approx(1.5)
    assert load.overloaded
    assert all(u == pytest.approx(1.5) for u in load.utilisation)
    assert load.uncovered_hours == ()


def test_a_loaded_but_stable_town_is_not_overloaded():
    load = offered_load(sim.scenario_from_dict(one_crew(rate_per_day=72))).of("crew", "joint")
    assert load.weekly_utilisation == pytest.approx(0.75)
    assert not load.overloaded
    assert overload_messages(offered_load(sim.scenario_from_dict(one_crew(rate_per_day=72)))) == []


def test_profile_moves_load_between_hours_and_peak_is_found():
    profile = [0.0] * 24
    profile[9] = 1.0  # everything between 09:00 and 10:00
    load = offered_load(sim.scenario_from_dict(one_crew(rate_per_day=24, profile=profile))).of("crew", "joint")
    assert load.offered_unit_min[9] == pytest.approx(24 * 30)
    assert load.offered_unit_min[10] == 0
    assert load.peak_utilisation == pytest.approx(24 * 30 / 120)
    assert hour_label(load.peak_hour) == "Mon 09:00"


def test_no_units_at_night_is_a_note_naming_the_hours():
    data = one_crew(rate_per_day=24, shift=[{"times": ["08:00-20:00"], "units": 2}])
    report = offered_load(sim.scenario_from_dict(data))
    load = report.of("crew", "joint")
    assert len(load.uncovered_hours) == 7 * 12
    assert all(math.isinf(load.utilisation[h]) for h in load.uncovered_hours)
    assert not load.overloaded  # 24 x 30 = 720 unit-min a day against 2 x 720
    lines = overload_messages(report)
    assert len(lines) == 1 and lines[0].startswith("note: department 'crew' has no unit on duty 84 h a week")
    assert "daily 00-08, 20-24" in lines[0]


def test_overload_warning_names_department_mode_and_numbers():
    lines = overload_messages(offered_load(sim.scenario_from_dict(one_crew())))
    assert len(lines) == 1
    assert lines[0].startswith("warning: department 'crew' is over capacity in joint")
    assert "30,240 unit-minutes a week against 20,160" in lines[0] and "1.50" in lines[0]


def test_pooled_job_is_shared_by_units_on_duty(anhai):
    report = offered_load(anhai)
    # traffic takes part of enforcement's work once the two are pooled into one team
    assert report.of("traffic", "unified").offered_per_week_min > report.of("traffic", "joint").offered_per_week_min
    assert (
        report.of("enforcement", "unified").offered_per_week_min
        < report.of("enforcement", "joint").offered_per_week_min
    )
    assert report.overloaded == []


def test_hour_ranges_groups_days():
    weekdays_nights = [d * 24 + h for d in range(5) for h in list(range(8)) + [22, 23]]
    assert hour_ranges(weekdays_nights) == "Mon-Fri 00-08, 22-24"
    assert hour_ranges(range(168)) == "daily all day"
    assert hour_ranges([]) == "none"


def test_backlog_of_an_overloaded_town_grows_and_a_stable_ones_does_not():
    over = sim.scenario_from_dict(one_crew())
    result = compare(over, None, 1)
    trends = backlog_trends(over, "joint", result.outputs["joint"])
    assert len(trends) == 1 and trends[0].growing
    assert trends[0].second_half > trends[0].first_half + 50
    assert "backlog of 'crew' grew" in backlog_messages(trends)[0]
    stable = sim.scenario_from_dict(one_crew(rate_per_day=72))
    trends = backlog_trends(stable, "joint", compare(stable, None, 1).outputs["joint"])
    assert not trends[0].growing and backlog_messages(trends) == []


def test_queue_that_builds_at_night_and_clears_by_day_is_not_growth():
    """Nobody on duty at night: the queue builds every night, is cleared every morning; not a growing backlog."""
    data = one_crew(units=3, rate_per_day=48, shift=[{"times": ["08:00-20:00"], "units": 3}])
    scenario = sim.scenario_from_dict(data)
    trends = backlog_trends(scenario, "joint", compare(scenario, None, 2).outputs["joint"])
    assert not trends[0].growing, trends


def test_a_weekend_of_closed_desks_is_not_growth(anhai):
    """Office-hours departments pile up work over the weekend and clear it on Monday: in a one-week
    window the second half holds the weekend, so halves differ by weekday, not by trend."""
    assert anhai.days - anhai.warmup_days < 14
    comparison = compare(anhai, ["joint"])
    trends = {t.department: t for t in backlog_trends(anhai, "joint", comparison.outputs["joint"])}
    for name in ("market", "environment"):
        if name in trends:
            assert not trends[name].growing, trends[name]


def test_cameras_count_only_where_they_see():
    """No patrols, hotline 0.3 everywhere, camera 0.6 in the 4 of 9 equal patches a camera sees."""
    from sim.engine.territory import build_town
    from sim.stats import capacity
    from tests.engine.test_incidents import camera_scenario

    scenario = camera_scenario()
    town = build_town(scenario.territory)
    share = capacity._detected_share(scenario, town, None, scenario.incident_types[0])
    assert share == pytest.approx((4 * (1 - 0.7 * 0.4) + 5 * 0.3) / 9, rel=1e-12)
    plain = camera_scenario(cameras=False)
    everywhere = capacity._detected_share(plain, build_town(plain.territory), None, plain.incident_types[0])
    assert everywhere == pytest.approx(1 - 0.7 * 0.4, rel=1e-12)


def test_a_sector_left_without_a_unit_of_its_own_under_closed_borders_is_warned_about():
    from sim.stats.capacity import border_messages

    changes = [
        "territory.grid.weights=[5,5,0.3,5,5,0.3,5,5,0.3]",
        "departments.sanitation.home=sectors_by_load",
        "departments.sanitation.units=3",
        "governance.modes.joint.dispatch_across_borders=false",
    ]
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", changes)
    (line,) = border_messages(scenario)
    assert "'sanitation'" in line and "S3 168 h a week" in line and "(joint)" in line
    assert border_messages(scenario, ["fragmented", "unified"]) == []  # their borders are open
    four = sim.load_scenario(SCENARIOS / "classroom.yaml", [*changes[1:], "departments.sanitation.units=6"])
    assert border_messages(four) == []  # sectors of equal weight, two units each
    assert border_messages(sim.load_scenario(SCENARIOS / "jinjiang.yaml")) == []  # every town has its own, every hour


@pytest.mark.parametrize("mode", ["fragmented", "unified"])
def test_job_spans_from_columns_are_the_jobs_counted_one_by_one(mode):
    """The spans the backlog test reads are those of counting every job record in turn (the old loop)."""
    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=8", "warmup_days=1"])
    outputs = [sim.run(scenario, mode, replication=r) for r in range(2)]
    resolved = modes_of(scenario)[mode]
    classes = {t.name: [c for c, _ in jobs_of(scenario, resolved, t)] for t in scenario.incident_types}
    expected: dict[frozenset, list[tuple[float, float]]] = {}
    for output in outputs:
        for job in output.jobs:
            capable = next((c for c in classes.get(job.incident_type, ()) if job.department in c), None)
            if capable is not None and not job.on_the_spot:
                expected.setdefault(capable, []).append((job.requested_min, job.dispatched_min))
        for capable, requested in output.waiting:
            expected.setdefault(frozenset(capable), []).append((requested, math.inf))
    got = job_spans(outputs, classes)
    assert list(got) == list(expected) and len(expected) >= 2
    for capable, pairs in expected.items():
        assert sorted(map(tuple, np.concatenate(got[capable]).tolist())) == sorted(pairs)
    assert any(job.on_the_spot for output in outputs for job in output.jobs)


# --------------------------------------------------------------------------- joint campaigns take units off duty


def _campaign(schedule: dict | None = None, duration_min: float = 840.0, units: int = 1) -> dict:
    return {
        "name": "night_market_check",
        "schedule": schedule or {"every": "week", "days": "daily", "start": "06:00"},
        "duration_min": duration_min,
        "departments": {"crew": units},
        "finds_per_unit_hour": {"job": 0.0},
    }


def test_a_campaign_takes_its_unit_hours_off_the_capacity_exactly():
    """72 jobs a day x 30 min against 2 units: 0.75; one unit on campaign 14 h a day leaves 2 x 1440 - 840."""
    data = one_crew(rate_per_day=72)
    data["campaigns"] = [_campaign()]
    load = offered_load(sim.scenario_from_dict(data)).of("crew", "joint")
    assert load.campaign_per_week_min == pytest.approx(7 * 840)
    assert load.on_duty_per_week_min == pytest.approx(7 * (2 * 1440 - 840))
    assert load.weekly_utilisation == pytest.approx(72 * 30 / (2 * 1440 - 840))
    assert load.weekly_utilisation_without_campaigns == pytest.approx(0.75)
    assert load.units_on_duty[6] == pytest.approx(1.0) and load.units_on_duty[20] == pytest.approx(2.0)
    assert load.campaigns == ("night_market_check",)


def test_a_campaign_that_pushes_a_department_over_capacity_is_named_in_the_warning():
    data = one_crew(rate_per_day=72)
    assert overload_messages(offered_load(sim.scenario_from_dict(data))) == []
    data["campaigns"] = [_campaign()]
    lines = overload_messages(offered_load(sim.scenario_from_dict(data)))
    assert len(lines) == 1
    assert lines[0].startswith("warning: department 'crew' is over capacity in joint")
    assert "5,880 unit-minutes a week on campaign 'night_market_check'" in lines[0]
    assert "push it over (utilisation 0.75 without them)" in lines[0]


@pytest.mark.parametrize(
    "schedule",
    [{"every": "month", "days": [2, 16], "start": "09:00"}, {"dates": ["2024-01-03", "2024-01-20"], "start": "09:00"}],
    ids=["monthly", "dated"],
)
def test_monthly_and_dated_campaigns_are_spread_over_the_weeks_of_the_run(schedule):
    """Two sessions of both units for 10 h in four weeks: 2 x 2 x 600 unit-minutes, 600 a week."""
    data = one_crew(rate_per_day=72, days=28)
    data["start_date"] = "2024-01-01"
    data["campaigns"] = [_campaign(schedule, duration_min=600, units=2)]
    load = offered_load(sim.scenario_from_dict(data)).of("crew", "joint")
    assert load.campaign_per_week_min == pytest.approx(2 * 2 * 600 / 4)
    assert load.on_duty_per_week_min == pytest.approx(7 * 2 * 1440 - 600)


@pytest.mark.parametrize(
    "schedule",
    [{"every": "month", "days": [3, 10], "start": "09:00"}, {"dates": ["2024-01-03", "2024-01-10"], "start": "09:00"}],
)
def test_monthly_and_dated_campaigns_over_a_run_of_part_weeks_count_per_week_of_the_run(schedule):
    """A 10-day run holding two 10 h sessions of both units: 2 x 2 x 600 unit-minutes over 10/7 weeks (not 2)."""
    data = one_crew(rate_per_day=72, days=10)
    data["start_date"] = "2024-01-01"
    data["campaigns"] = [_campaign(schedule, duration_min=600, units=2)]
    load = offered_load(sim.scenario_from_dict(data)).of("crew", "joint")
    assert load.campaign_per_week_min == pytest.approx(2 * 2 * 600 / (10 / 7))


def test_weekly_and_dated_campaigns_together_count_each_over_its_own_span():
    """Weekly sessions over whole weeks (2 a week), dated ones over the 10-day run (one of 600 unit-minutes)."""
    data = one_crew(rate_per_day=72, days=10)
    data["start_date"] = "2024-01-01"
    weekly = _campaign({"every": "week", "days": [0], "start": "20:00"}, duration_min=60, units=2)
    dated = _campaign({"dates": ["2024-01-03"], "start": "09:00"}, duration_min=300, units=2) | {"name": "once"}
    data["campaigns"] = [weekly, dated]
    load = offered_load(sim.scenario_from_dict(data)).of("crew", "joint")
    assert load.campaign_per_week_min == pytest.approx(2 * 60 + 2 * 300 / (10 / 7))


def test_a_campaign_gets_only_the_units_on_shift_in_the_capacity_too():
    """Units on shift 08:00-17:00; a 16:00-19:00 campaign of two takes two units for one hour a day."""
    data = one_crew(rate_per_day=24, shift=[{"times": ["08:00-17:00"], "units": 2}])
    data["campaigns"] = [_campaign({"every": "week", "days": "daily", "start": "16:00"}, duration_min=180, units=2)]
    load = offered_load(sim.scenario_from_dict(data)).of("crew", "joint")
    assert load.campaign_per_week_min == pytest.approx(7 * 2 * 60)
    assert load.on_duty_per_week_min == pytest.approx(7 * (2 * 9 * 60 - 2 * 60))


def test_a_weekly_session_over_sunday_midnight_takes_monday_mornings_whatever_the_horizon():
    data = one_crew(rate_per_day=24, days=3)  # three days: no Sunday in the run, the weekly pattern all the same
    data["campaigns"] = [_campaign({"every": "week", "days": [6], "start": "22:00"}, duration_min=240, units=2)]
    units = offered_load(sim.scenario_from_dict(data)).of("crew", "joint").campaign_units
    assert [units[h] for h in (0, 1, 2, 166, 167, 165)] == [2.0, 2.0, 0.0, 2.0, 2.0, 0.0]
    assert sum(units) == pytest.approx(2 * 4)


def test_a_centre_with_hours_and_no_operator_on_duty_is_noted_for_the_modes_through_it():
    """A report reaching a staffed centre while no operator is on duty waits until one comes on: the user is told."""
    from sim.stats.capacity import centre_messages

    day_only = 'governance.centres.village.operator_shift=[{times: ["08:00-20:00"], units: 1}]'
    scenario = sim.load_scenario(SCENARIOS / "jinjiang.yaml", [day_only])
    (line,) = centre_messages(scenario)
    assert line.startswith("note: centre 'village_G1' and 439 more of level 'village' have no operator on duty 84 h")
    assert "daily 00-08, 20-24" in line and "fragmented" not in line and "unified_open" in line
    assert centre_messages(scenario, ["fragmented"]) == []  # desk to desk: no centre on the way
    assert centre_messages(sim.load_scenario(SCENARIOS / "jinjiang.yaml")) == []  # every centre round the clock
    single = sim.load_scenario(
        SCENARIOS / "classroom.yaml",
        ["governance.instant.operators=2", 'governance.instant.centre_hours.times=["07:00-23:00"]'],
    )
    (line,) = centre_messages(single, ["joint"])
    assert line.startswith("note: centre 'centre' has no operator on duty 56 h a week (daily 00-07, 23-24; joint)")
