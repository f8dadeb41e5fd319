"""Joint campaigns (sim.engine.campaigns) against exact answers.

* A campaign of k units for h hours a week removes exactly k*h unit-hours a week of response
  capacity: the department's on-duty minutes fall by that much and campaign minutes rise by it;
  where the shift holds fewer units, the campaign gets those on shift and no more.
* No response job starts with a unit while it is on campaign.
* Finds are a Poisson process of rate (finds per unit-hour) x (units) within sessions: the total
  count over replications lies in its Poisson interval, every find inside a session and an
  inspected patch.
* Deterrence keeps an arrival at t after a session ending at e with probability
  1 - f exp(-(t - e)/tau): the arrivals removed are exactly those missing against the run without
  the campaign (common random numbers), in number within the Poisson-binomial interval of the
  stated probabilities, and for a constant rate the expected share over a window W is
  f tau/W (1 - exp(-W/tau)).
* Finds the campaign's departments may act on are settled on the spot; the others are dispatched;
  the summary keeps finds out of the response figures and reports them under ``campaigns``.
* Whatever the calendar (weekly, monthly, dates), a session's units leave the patrols while it runs:
  the patrol rate then is that of the units left, exactly; with every patrolling unit on campaign
  nothing is found by patrol; the k*h unit-hours hold for monthly and dated calendars too; weekly
  campaigns keep the weekly rates they had.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.engine.campaigns import CAMPAIGN, CampaignPlan, DemandSteps
from sim.engine.patrol import PatrolCoverage
from sim.scenario.schedule import MINUTES_PER_DAY, WeeklySteps
from sim.scenario.schema import Campaign, Hours
from sim.stats.metrics import summarise

DAYS = 29  # warm-up day 0, then four whole weeks: every weekly session falls four times in the window
SESSION = {"every": "week", "days": [1], "start": "09:00"}  # Tuesdays 09:00


def _town(campaigns: list, shift="24h", rate: float = 6.0, detect: float = 1.0, days: float = DAYS) -> dict:
    return {
        "name": "campaigns",
        "seed": 11,
        "days": days,
        "warmup_days": 1,
        "drain_days": 1,
        "territory": {"grid": {"rows": 3, "cols": 3, "sectors": [1, 3], "grids": [1, 1]}},
        "departments": [
            {"name": "market", "units": 5, "shift": shift, "powers": ["food_safety"]},
            {"name": "environment", "units": 2, "shift": "24h", "powers": ["pollution"]},
        ],
        "incident_types": [
            {
                "name": "food_safety",
                "rate_per_day": rate,
                "service_min": 30,
                "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": detect, "delay_min": 5}},
            },
            {
                "name": "pollution",
                "rate_per_day": rate,
                "service_min": 30,
                "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": detect, "delay_min": 5}},
            },
        ],
        "governance": {"modes": {"joint": {}, "fragmented": {}}},
        "campaigns": campaigns,
    }


def _campaign(**changes) -> dict:
    spec = {
        "name": "food_check",
        "schedule": SESSION,
        "duration_min": 180,
        "departments": {"market": 2},
        "finds_per_unit_hour": {"food_safety": 0.0},
    }
    spec.update(changes)
    return spec


def _sessions(output_start: float = 1 * MINUTES_PER_DAY + 9 * 60, duration: float = 180.0, n: int = 4):
    first_tuesday = 1 * MINUTES_PER_DAY + 9 * 60  # day 1 is a Tuesday
    return [
        (first_tuesday + 7 * MINUTES_PER_DAY * w, first_tuesday + 7 * MINUTES_PER_DAY * w + duration) for w in range(n)
    ]


# --------------------------------------------------------------------------- capacity


def test_k_units_for_h_hours_a_week_remove_exactly_k_h_unit_hours_of_response_duty():
    without = sim.run(sim.scenario_from_dict(_town([])))
    out = sim.run(sim.scenario_from_dict(_town([_campaign()])))
    k, minutes, weeks = 2, 180.0, 4
    assert without.on_duty_min["market"] - out.on_duty_min["market"] == k * minutes * weeks
    assert out.campaigns.unit_min == {"market": k * minutes * weeks}
    assert out.campaigns.planned_unit_min == {"food_check": k * minutes * weeks}
    assert out.campaigns.sessions == {"food_check": weeks}
    assert out.on_duty_min["environment"] == without.on_duty_min["environment"]


def test_a_campaign_gets_only_the_units_on_shift():
    # three units 08:00-17:00, two on a 16:00-19:00 campaign: one hour of two units a session
    shift = [{"times": ["08:00-17:00"], "units": 3}]
    campaign = _campaign(schedule={"every": "week", "days": [1], "start": "16:00"})
    without = sim.run(sim.scenario_from_dict(_town([], shift=shift)))
    out = sim.run(sim.scenario_from_dict(_town([campaign], shift=shift)))
    assert without.on_duty_min["market"] - out.on_duty_min["market"] == 2 * 60 * 4
    assert out.campaigns.unit_min["market"] == 2 * 60 * 4
    assert out.campaigns.planned_unit_min["food_check"] == 2 * 180 * 4


def test_no_response_job_starts_with_a_unit_on_campaign():
    out = sim.run(sim.scenario_from_dict(_town([_campaign()], rate=60.0)))
    on_campaign = {"market-4", "market-5"}  # the highest-numbered of the five on shift
    sessions = _sessions()
    started = [j for j in out.jobs if j.unit in on_campaign]
    assert started, "the campaign's units work for the response outside sessions"
    for job in started:
        assert not any(s <= job.dispatched_min < e for s, e in sessions), job
    others = [j for j in out.jobs if j.department == "market" and any(s <= j.dispatched_min < e for s, e in sessions)]
    assert others, "the other units keep responding during sessions"


def test_the_demand_step_function_splits_shift_minutes_exactly():
    demand = DemandSteps([(100.0, 400.0, 2), (300.0, 500.0, 3)])
    assert [demand.value(t) for t in (0, 100, 299, 300, 400, 500)] == [0, 2, 2, 5, 3, 0]
    assert demand.next_change(300.0) == 400.0 and demand.next_change(500.0) == math.inf
    shift = WeeklySteps((0.0,), (4.0,))
    response, campaign = demand.split_min(shift, 0.0, 1000.0)
    assert campaign == 2 * 200 + 4 * 100 + 3 * 100  # five asked for 100 minutes, four on shift
    assert response + campaign == 4 * 1000.0


# --------------------------------------------------------------------------- finds


def test_finds_are_poisson_at_the_stated_rate_within_sessions_and_patches():
    rate, units, hours, weeks, reps = 1.5, 2, 3.0, 4, 20
    area = ["r0c0", "r1c1", "r2c2"]
    campaign = _campaign(finds_per_unit_hour={"food_safety": rate}, patches=area)
    scenario = sim.scenario_from_dict(_town([campaign], rate=2.0))
    sessions = _sessions()
    count = 0
    for r in range(reps):
        out = sim.run(scenario, replication=r)
        finds = [x for x in out.records if x.channel == CAMPAIGN]
        count += sum(1 for x in finds if x.occurred_min >= MINUTES_PER_DAY)
        for x in finds:
            assert x.incident_type == "food_safety" and x.patch in area
            assert any(s <= x.occurred_min < e for s, e in sessions)
            assert x.detected_min == x.occurred_min
    low, high = stats.poisson.interval(0.999, rate * units * hours * weeks * reps)
    assert low <= count <= high


def test_a_find_its_departments_may_act_on_is_settled_on_the_spot_others_are_dispatched():
    campaign = _campaign(finds_per_unit_hour={"food_safety": 2.0, "pollution": 2.0})
    scenario = sim.scenario_from_dict(_town([campaign]))
    out = sim.run(scenario)
    finds = [x for x in out.records if x.channel == CAMPAIGN]
    food = [x for x in finds if x.incident_type == "food_safety"]
    pollution = [x for x in finds if x.incident_type == "pollution"]
    assert food and pollution
    for x in food:  # market is on the campaign: settled at once, in 30 minutes of work
        assert x.on_the_spot and x.on_scene_min == x.detected_min and x.units == "campaign:food_check"
        assert x.resolved_min == x.detected_min + 30
    numbers = {j.incident for j in out.jobs}
    for x in pollution:  # the environment squad is not: dispatched like any report
        assert not x.on_the_spot and x.departments == "environment" and x.incident in numbers
    summary = summarise([out], scenario.warmup_days * MINUTES_PER_DAY, 30.0, ["food_safety", "pollution"])
    measured = [x for x in out.records if x.occurred_min >= MINUTES_PER_DAY]
    assert summary["incidents"] == sum(1 for x in measured if x.channel != CAMPAIGN)
    found = summary["campaigns"]["found"]
    assert found == {t: sum(1 for x in measured if x.channel == CAMPAIGN and x.incident_type == t) for t in found}
    assert summary["campaigns"]["found_on_the_spot"] == found["food_safety"]
    assert summary["campaigns"]["unit_hours"] == {"market": 2 * 3 * 4}


# --------------------------------------------------------------------------- deterrence


def _deterrence_town(factor: float, decay_days: float, rate: float = 800.0) -> dict:
    data = _town(
        [
            _campaign(
                schedule={"dates": ["2024-03-05"], "start": "09:00"},
                duration_min=60,
                deterrence={"factor": factor, "decay_days": decay_days, "basis": "test"},
            )
        ],
        rate=rate,
        detect=0.0,  # nobody reports: the run is only its arrivals
        days=15,
    )
    data["start_date"] = "2024-03-04"
    return data


def test_deterrence_thins_the_paired_arrivals_by_the_stated_share():
    factor, decay_days = 0.4, 3.0
    data = _deterrence_town(factor, decay_days)
    out = sim.run(sim.scenario_from_dict(data))
    plain = copy.deepcopy(data)
    plain["campaigns"] = []
    base = sim.run(sim.scenario_from_dict(plain))
    end = MINUTES_PER_DAY + 10 * 60  # the session ends Tuesday 10:00
    horizon = data["days"] * MINUTES_PER_DAY
    key = [(x.occurred_min, x.incident_type, x.patch) for x in out.records]
    before = [(x.occurred_min, x.incident_type, x.patch) for x in base.records]
    kept = set(key)
    assert kept <= set(before)  # deterrence only removes arrivals of the common stream
    removed = [b for b in before if b not in kept]
    assert all(t > end and kind == "food_safety" for t, kind, _ in removed)
    assert out.campaigns.deterred == {"food_safety": sum(1 for t, _, _ in removed if MINUTES_PER_DAY <= t < horizon)}
    times = np.array([t for t, kind, _ in before if kind == "food_safety" and t > end])
    p = factor * np.exp(-(times - end) / (decay_days * MINUTES_PER_DAY))
    mean, sd = p.sum(), math.sqrt((p * (1 - p)).sum())
    assert abs(len(removed) - mean) <= 4 * sd
    window = horizon - end  # a constant rate: the expected share over the window
    share = factor * decay_days * MINUTES_PER_DAY / window * (1 - math.exp(-window / (decay_days * MINUTES_PER_DAY)))
    n = len(times)
    assert abs(len(removed) / n - share) <= 4 * math.sqrt(share * (1 - share) / n) + 4 * sd / n


def test_every_mode_faces_the_same_thinned_arrivals():
    scenario = sim.scenario_from_dict(_deterrence_town(0.5, 1.0, rate=100.0))
    joint = sim.run(scenario, mode="joint")
    fragmented = sim.run(scenario, mode="fragmented")
    assert [x.occurred_min for x in joint.records] == [x.occurred_min for x in fragmented.records]
    assert joint.campaigns.deterred == fragmented.campaigns.deterred


def test_a_campaign_without_finds_or_deterrence_leaves_the_arrivals_as_they_were():
    out = sim.run(sim.scenario_from_dict(_town([_campaign()])))
    base = sim.run(sim.scenario_from_dict(_town([])))
    assert [(x.occurred_min, x.incident_type, x.patch) for x in out.records] == [
        (x.occurred_min, x.incident_type, x.patch) for x in base.records
    ]
    assert out.campaigns.deterred == {"food_safety": 0}


def test_a_unit_finishes_its_job_in_hand_then_joins_the_campaign_and_takes_the_queue_at_its_end():
    data = _town([_campaign(departments={"market": 1})], rate=45.0)  # one unit always busy: a queue all day
    data["departments"][0]["units"] = 1
    out = sim.run(sim.scenario_from_dict(data))
    for start, end in _sessions():
        in_hand = [j for j in out.jobs if j.department == "market" and j.dispatched_min < start < j.done_min]
        assert len(in_hand) == 1  # the job in hand at the start is finished, not cut short
        job = in_hand[0]
        assert job.done_min - job.arrived_min == 30.0
        during = [j for j in out.jobs if j.department == "market" and start <= j.dispatched_min < end - 1e-6]
        assert during == []  # then the unit is on the campaign
        after = min(j.dispatched_min for j in out.jobs if j.department == "market" and j.dispatched_min >= start)
        assert math.isclose(after, end, abs_tol=1e-6)  # back at the end, it takes the waiting job at once


def test_a_weekly_campaigns_units_leave_the_patrols_while_it_runs():
    from sim.engine.model import Simulation
    from sim.scenario.governance import resolve_mode

    data = _town([_campaign()])
    data["departments"][0]["patrols"] = True
    scenario = sim.scenario_from_dict(data)
    mode = resolve_mode("joint", scenario.governance.modes["joint"], scenario)
    simulation = Simulation(scenario, mode, np.random.SeedSequence(1))
    (start, end), outside = _sessions()[0], MINUTES_PER_DAY
    patches = simulation.town.patches_in_sector()

    def units_on_patrol(t: float) -> float:  # passes per minute x patches x minutes per patch, over the sectors
        return sum(r.value(t) * n for r, n in zip(simulation.coverage.rate, patches))

    assert math.isclose(units_on_patrol(start + 1), units_on_patrol(outside) * 3 / 5)  # five patrol, two leave
    assert math.isclose(units_on_patrol(end), units_on_patrol(outside))


def test_a_campaign_finds_and_deters_only_with_the_units_it_gets():
    """A session with nobody on shift finds and deters nothing; a third-staffed one finds a third as much."""
    shift = [{"times": ["08:00-17:00"], "units": 3}]
    deter = {"factor": 0.9, "decay_days": 1, "basis": "a test"}
    night = _campaign(
        schedule={"every": "week", "days": [1], "start": "20:00"},
        finds_per_unit_hour={"food_safety": 5.0},
        deterrence=deter,
    )
    out = sim.run(sim.scenario_from_dict(_town([night], shift=shift)))
    assert out.campaigns.unit_min["market"] == 0.0
    assert not any(r.channel == CAMPAIGN for r in out.records)
    assert sum(out.campaigns.deterred.values()) == 0
    # 16:00-19:00 with units on shift until 17:00: 2 units x 60 min of 2 x 180 planned, a third
    plan = CampaignPlan(sim.scenario_from_dict(_town([], shift=shift)), None)
    evening = Campaign.model_validate(_campaign(schedule={"every": "week", "days": [1], "start": "16:00"}))
    shifts = {"market": WeeklySteps.from_hours([(Hours(days="daily", times=["08:00-17:00"]).weekly(), 3.0)])}
    start = MINUTES_PER_DAY + 16 * 60
    assert plan._staffed_share(evening, start, start + 180, shifts) == (2 * 60) / (2 * 180)


def test_finds_stop_at_the_horizon_as_arrivals_do():
    late = _campaign(
        schedule={"every": "week", "days": "daily", "start": "22:00"},
        duration_min=600,
        finds_per_unit_hour={"food_safety": 3.0},
    )
    out = sim.run(sim.scenario_from_dict(_town([late], days=8)))
    finds = [r for r in out.records if r.channel == CAMPAIGN]
    assert finds and max(r.occurred_min for r in finds) < 8 * MINUTES_PER_DAY


def test_finds_do_not_move_when_other_arrivals_change():
    """Common random numbers across variants: the finds have their own stream, not the thinning's."""
    campaign = _campaign(finds_per_unit_hour={"food_safety": 2.0})

    def finds(pollution_rate: float) -> list[tuple[float, str]]:
        data = _town([campaign], days=8)
        data["incident_types"][1]["rate_per_day"] = pollution_rate
        out = sim.run(sim.scenario_from_dict(data))
        return [(r.occurred_min, r.patch) for r in out.records if r.channel == CAMPAIGN]

    first = finds(6.0)
    assert first and finds(0.0) == first == finds(20.0)


# --------------------------------------------------------------------------- monthly and dated calendars

MONTHLY = {"every": "month", "days": [2, 19], "start": "09:00"}  # 2024-01-02 (a Tuesday) and 01-19 (a Friday)
DATED = {"dates": ["2024-01-04", "2024-01-27"], "start": "09:00"}  # a Thursday and a Saturday
CALENDARS = pytest.mark.parametrize("schedule", [MONTHLY, DATED], ids=["monthly", "dated"])


def _dated_town(campaigns: list, **changes) -> dict:
    data = _town(campaigns, **changes)
    data["start_date"] = "2024-01-01"  # a Monday
    return data


def _simulation(data: dict):
    from sim.engine.model import Simulation
    from sim.scenario.governance import resolve_mode

    scenario = sim.scenario_from_dict(data)
    mode = resolve_mode("joint", scenario.governance.modes["joint"], scenario)
    return Simulation(scenario, mode, np.random.SeedSequence(1))


@CALENDARS
def test_k_units_for_h_hours_on_a_monthly_or_dated_calendar_remove_exactly_k_h_unit_hours(schedule):
    without = sim.run(sim.scenario_from_dict(_dated_town([])))
    out = sim.run(sim.scenario_from_dict(_dated_town([_campaign(schedule=schedule)])))
    k, minutes, sessions = 2, 180.0, 2
    assert without.on_duty_min["market"] - out.on_duty_min["market"] == k * minutes * sessions
    assert out.campaigns.unit_min == {"market": k * minutes * sessions}
    assert out.campaigns.planned_unit_min == {"food_check": k * minutes * sessions}
    assert out.campaigns.sessions == {"food_check": sessions}
    assert out.on_duty_min["environment"] == without.on_duty_min["environment"]


@CALENDARS
def test_monthly_and_dated_campaigns_units_leave_the_patrols_while_they_run(schedule):
    data = _dated_town([_campaign(schedule=schedule)])
    data["departments"][0]["patrols"] = True
    simulation = _simulation(data)
    patches = simulation.town.patches_in_sector()

    def units_on_patrol(t: float) -> float:  # passes per minute x patches x minutes per patch, over the sectors
        return sum(r.value(t) * n for r, n in zip(simulation.coverage.rate, patches))

    full = units_on_patrol(MINUTES_PER_DAY)
    sessions = simulation.campaign_plan.sessions[0]
    assert len(sessions) == 2
    for start, end in sessions:
        assert math.isclose(units_on_patrol(start + 1), full * 3 / 5)  # five patrol, two leave
        assert math.isclose(units_on_patrol(end), full)
        assert math.isclose(units_on_patrol(start + 7 * MINUTES_PER_DAY + 1), full)  # not a weekly pattern
        assert math.isclose(units_on_patrol(start - 1), full)
    assert math.isclose(units_on_patrol(40 * MINUTES_PER_DAY), full)  # after the last session: weekly again


def test_a_monthly_campaign_with_every_patrolling_unit_leaves_nothing_found_by_patrol_while_it_runs():
    def patrol_finds(campaigns: list) -> list[list]:
        data = _dated_town(campaigns, rate=60.0)
        data["departments"][0]["patrols"] = True
        data["incident_types"][0]["detection"] = {"patrol": {"notice_probability": 1.0}}
        out = sim.run(sim.scenario_from_dict(data))
        found = [r.detected_min for r in out.records if r.channel == "patrol"]
        return [[t for t in found if start < t < end] for start, end in sessions]

    everyone = _campaign(schedule=MONTHLY, duration_min=600, departments={"market": 5})
    sessions = [(d * MINUTES_PER_DAY + 9 * 60, d * MINUTES_PER_DAY + 19 * 60) for d in (1, 18)]
    assert all(patrol_finds([]))  # without the campaign, patrols find matters in those hours
    assert patrol_finds([everyone]) == [[], []]


def test_weekly_campaigns_keep_a_weekly_patrol_rate():
    data = _town([_campaign()])
    data["departments"][0]["patrols"] = True
    simulation = _simulation(data)
    assert all(isinstance(rate, WeeklySteps) for rate in simulation.coverage.rate)
    # the same rates as patrol coverage built from the weekly rosters alone (before dated calendars were counted)
    weekly = PatrolCoverage(simulation.campaign_plan.patrolling(simulation.rosters), simulation.town)
    assert [(r.breaks, r.values) for r in simulation.coverage.rate] == [(r.breaks, r.values) for r in weekly.rate]
