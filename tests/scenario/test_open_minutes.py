"""``WeeklyHours.add_open_minutes`` at the edges: whole weeks of open time."""

from __future__ import annotations

import pytest

from sim.scenario.schedule import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklyHours

# Office hours: weekdays 08:30-12:00 and 14:00-17:30, 7 open hours a day, 35 a week.
OFFICE = WeeklyHours.from_windows(["08:30-12:00", "14:00-17:30"], range(5))
WEEK_OPEN = 35 * 60


def at(day: int, hh: int, mm: int = 0, week: int = 0) -> float:
    return week * MINUTES_PER_WEEK + day * MINUTES_PER_DAY + hh * 60 + mm


def test_a_week_of_open_time_has_the_hand_computed_length():
    assert OFFICE.open_per_week == WEEK_OPEN


@pytest.mark.parametrize(
    "start, weeks, expected",
    [
        # From Monday's opening, the week's 35 open hours are used up at Friday's closing, the same week.
        (at(0, 8, 30), 1, at(4, 17, 30)),
        (at(0, 8, 30), 2, at(4, 17, 30, week=1)),
        # From Friday's closing (a closed gap follows): the next Friday's closing, not the Monday after it.
        (at(4, 17, 30), 1, at(4, 17, 30, week=1)),
        # From Saturday noon: the open time starts Monday 08:30 and ends Friday 17:30 of that week.
        (at(5, 12), 1, at(4, 17, 30, week=1)),
        # From inside a window, Wednesday 10:00: next Wednesday 10:00.
        (at(2, 10), 1, at(2, 10, week=1)),
    ],
)
def test_whole_weeks_of_open_minutes_end_at_the_hand_computed_time(start, weeks, expected):
    assert OFFICE.add_open_minutes(start, weeks * WEEK_OPEN) == pytest.approx(expected)


@pytest.mark.parametrize("start", [at(0, 8, 30), at(4, 17, 30), at(5, 12), at(2, 10), at(1, 12, 30)])
@pytest.mark.parametrize("minutes", [WEEK_OPEN, 2 * WEEK_OPEN, WEEK_OPEN - 1, WEEK_OPEN + 1, 60])
def test_the_answer_is_the_earliest_time_with_that_much_open_time(start, minutes):
    end = OFFICE.add_open_minutes(start, minutes)
    assert OFFICE.open_minutes_between(start, end) == pytest.approx(minutes)
    assert OFFICE.open_minutes_between(start, end - 1) < minutes
