"""Days of the week, seasons and holidays.

Known answers: a weekly profile's day shares come back in the arrivals (counts per weekday within
binomial intervals, the total within a Poisson interval); a desk closed on a holiday delivers a
hand-over begun the day before at the next open minute after the holiday, computed by hand; summer
desk hours apply between their two dates (exact minutes); a measured window of whole weeks gives
no warning, any other window one.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys

import numpy as np
import pytest

import sim
from sim.engine.channel import ReferralChain
from sim.engine.incidents import arrival_times
from sim.errors import ScenarioError
from sim.scenario.calendar import CLOSED, CalendarHours
from sim.scenario.checks import window_warnings
from sim.scenario.schedule import MINUTES_PER_DAY, WeeklyHours
from tests.conftest import ROOT, SCENARIOS

DAY = MINUTES_PER_DAY
QUANZHOU_WINTER = {"days": "weekdays", "times": ["08:00-12:00", "14:30-17:30"]}
QUANZHOU_SUMMER = {"days": "weekdays", "times": ["08:00-12:00", "15:00-18:00"]}
MONDAY = dt.date(2024, 9, 30)  # a Monday; 1 October (Tuesday) is National Day


def _scenario(**extra) -> sim.Scenario:
    data = {
        "name": "calendar",
        "days": 14,
        "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
        "departments": [{"name": "team", "units": 1, "powers": ["job"]}],
        "incident_types": [{"name": "job", "rate_per_day": 1}],
        "governance": {"referral": {"desk_hours": QUANZHOU_WINTER, "handover_min": 60, "misroute_probability": 0}},
    }
    for key, value in extra.items():
        if key == "referral":
            data["governance"]["referral"].update(value)  # type: ignore[index]
        else:
            data[key] = value
    return sim.scenario_from_dict(data)


def _chain(scenario: sim.Scenario) -> ReferralChain:
    return ReferralChain(scenario.governance.referral, dated=scenario.desk_calendar())


# --------------------------------------------------------------------------- weekly profile


def test_a_weekly_profile_reproduces_its_day_shares_in_the_arrivals():
    """Shares w_d / sum(w): each weekday's count within 4 binomial standard deviations; the total within 4 Poisson ones."""
    weekly = [1.2, 1.0, 1.0, 1.0, 1.3, 0.7, 0.4]
    weeks, rate = 40, 300.0
    scenario = _scenario(days=7 * weeks)
    itype = scenario.incident_types[0].model_copy(update={"weekly": weekly})
    factors = scenario.day_factors(itype, 7 * weeks)
    assert factors is not None and math.isclose(sum(factors[:7]), 7.0)
    times = arrival_times(rate, None, 7 * weeks, np.random.default_rng(5), factors)
    counts = np.bincount((times // DAY).astype(int) % 7, minlength=7)
    n = counts.sum()
    assert abs(n - rate * 7 * weeks) < 4 * math.sqrt(rate * 7 * weeks)
    for day, w in enumerate(weekly):
        share = w / sum(weekly)
        assert abs(counts[day] - n * share) < 4 * math.sqrt(n * share * (1 - share)), (day, counts[day], n * share)
    assert counts[0] > counts[6] * 2  # the profile is felt: Monday three times Sunday


def test_a_flat_week_draws_exactly_as_before():
    """No weekly profile and no seasons: no factors, and arrivals identical to a run without the field."""
    scenario = _scenario()
    assert scenario.day_factors(scenario.incident_types[0], 14) is None
    flat = scenario.incident_types[0].model_copy(update={"weekly": [2.0] * 7})
    np.testing.assert_array_equal(
        arrival_times(50.0, None, 14, np.random.default_rng(1)),
        arrival_times(50.0, None, 14, np.random.default_rng(1), scenario.day_factors(flat, 14)),
    )


def test_seasonal_factors_follow_the_months_of_the_start_date():
    """Starting Monday 2024-01-29 with January 1 and February 3 (scaled to mean 1 over the year)."""
    seasonal = [1.0, 3.0] + [1.0] * 10
    scenario = _scenario(start_date="2024-01-29")
    itype = scenario.incident_types[0].model_copy(update={"seasonal": seasonal})
    factors = scenario.day_factors(itype, 7)
    scale = 12 / sum(seasonal)
    assert factors == pytest.approx([scale] * 3 + [3 * scale] * 4)  # 29, 30, 31 January; 1-4 February


# --------------------------------------------------------------------------- holidays and summer hours


def test_a_desk_closed_on_a_holiday_delivers_at_the_next_open_minute_after_it():
    """Monday 30 September 17:00: 30 working minutes left that day; Tuesday 1 October closed; the other
    30 minutes run from Wednesday 08:00, so the hand-over ends Wednesday 08:30 (minute 2 x 1440 + 510)."""
    scenario = _scenario(
        start_date=MONDAY.isoformat(), holidays=["2024-10-01"], referral={"steps": {"coordination": 1}}
    )
    delivery = _chain(scenario).deliver(17 * 60, "coordination", np.random.default_rng(0), frozenset({"team"}))
    assert delivery.reached_min == 2 * DAY + 8 * 60 + 30
    undated = _scenario(referral={"steps": {"coordination": 1}})
    assert _chain(undated).deliver(17 * 60, "coordination", np.random.default_rng(0)).reached_min == DAY + 8 * 60 + 30


def test_a_week_of_holidays_and_a_weekend_exactly():
    """National Day week 1-7 October: Monday 30 September 17:15 + 120 working minutes = 15 minutes that day, then
    Tuesday 1 to Monday 7 closed (Saturday and Sunday too), then 105 minutes from Tuesday 8 October 08:00: 09:45."""
    holidays = [f"2024-10-0{d}" for d in range(1, 8)]
    scenario = _scenario(
        start_date=MONDAY.isoformat(), holidays=holidays, referral={"steps": {"coordination": 1}, "handover_min": 120}
    )
    at = _chain(scenario).deliver(17 * 60 + 15, "coordination", np.random.default_rng(0)).reached_min
    assert at == 8 * DAY + 9 * 60 + 45


def test_a_desk_open_round_the_clock_stays_open_on_holidays():
    scenario = _scenario(start_date=MONDAY.isoformat(), holidays=["2024-10-01"])
    dated = scenario.desk_calendar()
    always = WeeklyHours.always()
    assert dated(always) is always
    office = dated(WeeklyHours.from_windows(["08:00-17:00"], range(5)))
    assert not office.is_open(DAY + 9 * 60) and office.is_open(9 * 60) and office.is_open(2 * DAY + 9 * 60)
    assert office.next_open(DAY) == 2 * DAY + 8 * 60


def test_summer_desk_hours_apply_between_their_dates():
    """Quanzhou: 15:00-18:00 afternoons from 1 June to 30 September. Friday 31 May 17:00 + 60 working minutes:
    30 minutes to 17:30 (winter), then Monday 3 June from 08:00 (summer): 08:30. Thursday 30 May 17:45 +
    60: 30 May is winter (closed since 17:30), Friday 31 May 08:00 + 60 = 09:00."""
    summer = {"start": "06-01", "end": "09-30", "desk_hours": QUANZHOU_SUMMER}
    scenario = _scenario(start_date="2024-05-27", referral={"summer": summer, "steps": {"coordination": 1}})
    chain = _chain(scenario)
    rng = np.random.default_rng(0)
    assert chain.deliver(4 * DAY + 17 * 60, "coordination", rng).reached_min == 7 * DAY + 8 * 60 + 30
    assert chain.deliver(3 * DAY + 17 * 60 + 45, "coordination", rng).reached_min == 4 * DAY + 9 * 60
    # Monday 3 June 17:40 is open in summer (until 18:00): 20 minutes, then Tuesday 08:00 + 40.
    assert chain.deliver(7 * DAY + 17 * 60 + 40, "coordination", rng).reached_min == 8 * DAY + 8 * 60 + 40


def test_summer_hours_apply_only_to_desks_keeping_the_towns_hours():
    summer = {"start": "06-01", "end": "09-30", "desk_hours": QUANZHOU_SUMMER}
    scenario = _scenario(start_date="2024-06-03", referral={"summer": summer})
    dated = scenario.desk_calendar()
    own = WeeklyHours.from_windows(["09:00-16:00"], range(5))
    assert dated(own) is own
    town = dated(scenario.governance.referral.desk_hours.weekly())
    assert town.is_open(17 * 60 + 45) and not town.is_open(14 * 60 + 45)


def test_calendar_hours_are_exact_across_many_changes():
    """Against a minute-by-minute count: open minutes added one by one over a month with scattered exceptions."""
    weekly = WeeklyHours.from_windows(["08:00-12:00", "14:30-17:30"], range(5))
    other = WeeklyHours.from_windows(["10:00-11:00"], range(7))
    calendar = CalendarHours(weekly, {3: CLOSED, 4: other, 5: other, 12: CLOSED, 20: other})
    open_minutes = [m for m in range(30 * DAY) if calendar.is_open(m + 0.5)]
    for start, minutes in [
        (0.0, 1.0),
        (17 * 60.0, 600.0),
        (2 * DAY + 11 * 60 + 30.0, 240.0),
        (11 * DAY, 1500.0),
        (3.5 * DAY, 61.0),
    ]:
        after = [m for m in open_minutes if m >= start]
        assert calendar.add_open_minutes(start, minutes) == after[int(minutes) - 1] + 1
        assert calendar.next_open(start) == max(start, after[0])


# --------------------------------------------------------------------------- validation and the window warning


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"start_date": "2024-03-05"}, "start_date", "expected a Monday"),
        ({"holidays": ["2024-10-01"]}, "holidays", "needs start_date"),
        ({"start_date": "2024-09-30", "holidays": ["2024-09-01"]}, "holidays.0", "before start_date"),
        (
            {"referral": {"summer": {"start": "06-01", "end": "09-31", "desk_hours": QUANZHOU_SUMMER}}},
            "summer.end",
            "'MM-DD'",
        ),
        (
            {"referral": {"summer": {"start": "06-01", "end": "09-30", "desk_hours": QUANZHOU_SUMMER}}},
            "summer",
            "needs start_date",
        ),
    ],
)
def test_bad_dates_are_errors_with_their_key_path(fields, path, words):
    with pytest.raises(ScenarioError) as caught:
        _scenario(**fields)
    message = str(caught.value)
    assert path in message and words in message, message


def test_bad_day_factors_are_errors_with_file_line_and_key_path(tmp_path):
    text = """name: t
territory:
  patches: [{name: p0, x_km: 0, y_km: 0}]
departments: [{name: team, units: 1, powers: [job]}]
incident_types:
  - name: job
    rate_per_day: 1
    weekly: [1, 1, 1]
"""
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario(path)
    assert f"{path}:8: incident_types.job.weekly: expected 7 numbers, got 3" in str(caught.value)


@pytest.mark.parametrize(
    ("days", "warmup", "warned"), [(8, 1, False), (15, 1, False), (7, 1, True), (3, 0, True), (3.5, 0.5, True)]
)
def test_a_window_of_whole_weeks_gives_no_warning(days, warmup, warned):
    assert bool(window_warnings(_scenario(days=days, warmup_days=warmup))) is warned


def test_run_and_validate_warn_on_stderr_about_a_partial_week():
    result = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(SCENARIOS / "classroom.yaml"), "--days", "3", "--mode", "joint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "measured window (days 3 - warmup_days 1 = 2 days) is not a whole number of weeks" in result.stderr
    assert "whole number of weeks" not in result.stdout
