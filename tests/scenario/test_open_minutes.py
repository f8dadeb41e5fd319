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


def _add_open_minutes_through_next_open(hours: WeeklyHours, t: float, minutes: float) -> float:
    """The rule step by step as it was before next_open was inlined: find the next opening, then its window."""
    import bisect
    import math

    if minutes <= 0:
        return t
    if hours.is_always:
        return t + minutes
    if not hours.starts:
        return math.inf
    weeks, minutes = divmod(minutes, hours.open_per_week)
    if minutes <= 0 and weeks > 0:
        weeks, minutes = weeks - 1, hours.open_per_week
    t += weeks * MINUTES_PER_WEEK
    while True:
        t = hours.next_open(t)
        offset = t % MINUTES_PER_WEEK
        i = bisect.bisect_right(hours.starts, offset) - 1
        left = hours.ends[i] - offset
        if minutes <= left:
            return t + minutes
        minutes -= left
        t += left


def _random_hours(rng) -> WeeklyHours:
    """Random weekly hours: up to three daily windows (one across midnight at times) on some days."""
    times = []
    for _ in range(int(rng.integers(1, 4))):
        a, b = sorted(rng.choice(24 * 4, size=2, replace=False))
        times.append(f"{a // 4:02d}:{15 * (a % 4):02d}-{b // 4:02d}:{15 * (b % 4):02d}")
    if rng.random() < 0.3:
        times.append("22:00-02:00")
    days = sorted(set(rng.choice(7, size=int(rng.integers(1, 8))).tolist()))
    return WeeklyHours.from_windows(times, days)


def test_adding_open_minutes_gives_exactly_what_next_open_window_by_window_gives():
    """On random hours (windows across midnight and the week's end included), clock times up to decades
    and hand-overs up to weeks long, the result is the same float, not only close."""
    import numpy as np

    rng = np.random.default_rng(22)
    for _ in range(300):
        hours = _random_hours(rng)
        for _ in range(40):
            t = float(rng.uniform(0, 10 ** rng.uniform(2, 7)))
            minutes = float(rng.choice([0.0, rng.exponential(90.0), rng.uniform(0, 3 * MINUTES_PER_WEEK)]))
            assert hours.add_open_minutes(t, minutes) == _add_open_minutes_through_next_open(hours, t, minutes)


def test_open_minutes_on_whole_arrays_are_the_scalar_answers_to_the_last_bit():
    """add_open_minutes_many gives, element by element, the very float add_open_minutes gives: on random hours,
    random clock times and hand-overs, and the edges (starts and ends of windows, a window's whole length, whole
    weeks of open time, zero and negative minutes)."""
    import numpy as np

    rng = np.random.default_rng(23)
    hours_list = [_random_hours(rng) for _ in range(120)]
    hours_list += [OFFICE, WeeklyHours.always(), WeeklyHours((), ())]
    for hours in hours_list:
        edges = [w * MINUTES_PER_WEEK + b for w in (0, 1, 3) for b in (*hours.starts, *hours.ends)]
        t = np.concatenate([rng.uniform(0, 10 ** rng.uniform(2, 7), 200), edges, np.full(8, at(4, 17, 30))])
        spans = [e - s for s, e in zip(hours.starts, hours.ends)]
        special = [0.0, -5.0, hours.open_per_week, 2 * hours.open_per_week, *spans]
        picks = rng.choice(special, size=len(t)) if special else np.zeros(len(t))
        random = np.where(rng.random(len(t)) < 0.5, rng.exponential(90.0, len(t)), rng.uniform(0, 3e4, len(t)))
        minutes = np.where(rng.random(len(t)) < 0.3, picks, random)
        many = hours.add_open_minutes_many(t, minutes)
        one = [hours.add_open_minutes(a, m) for a, m in zip(t.tolist(), minutes.tolist())]
        assert many.tolist() == one


def test_a_nan_hand_over_on_whole_arrays_gives_nan_and_leaves_the_others_alone():
    import numpy as np

    many = OFFICE.add_open_minutes_many(np.array([at(0, 9), at(0, 9)]), np.array([np.nan, 30.0]))
    assert np.isnan(many[0]) and many[1] == OFFICE.add_open_minutes(at(0, 9), 30.0)
