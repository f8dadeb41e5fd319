"""Weekly hours and step functions: the arithmetic that makes desks close at night."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.scenario.schedule import MINUTES_PER_WEEK, DatedSteps, WeeklyHours, WeeklySteps, combine_steps, parse_window

OFFICE = WeeklyHours.from_windows(["08:30-12:00", "14:00-17:30"], range(5))
times = st.floats(min_value=0, max_value=10 * MINUTES_PER_WEEK, allow_nan=False)
amounts = st.floats(min_value=0, max_value=3 * MINUTES_PER_WEEK, allow_nan=False)


def test_parse_window():
    assert parse_window("08:30-17:30") == (510, 1050)
    assert parse_window("20:00-08:00") == (1200, 1440 + 480)
    assert parse_window("00:00-24:00") == (0, 1440)
    for bad in ("8-17", "25:00-08:00", "08:61-09:00", "24:30-01:00"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_friday_afternoon_handover_ends_on_monday():
    friday_1700 = 4 * 1440 + 17 * 60
    assert OFFICE.add_open_minutes(friday_1700, 60) == pytest.approx(7 * 1440 + 8 * 60 + 30 + 30)


def test_lunch_break_is_skipped():
    monday_1130 = 11 * 60 + 30
    assert OFFICE.add_open_minutes(monday_1130, 60) == pytest.approx(14 * 60 + 30)


@settings(max_examples=300, deadline=None)
@given(start=times, amount=amounts)
def test_open_minutes_between_inverts_add_open_minutes(start, amount):
    end = OFFICE.add_open_minutes(start, amount)
    assert end >= start
    assert OFFICE.open_minutes_between(start, end) == pytest.approx(amount, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(start=times)
def test_next_open_is_open_and_nothing_earlier_is(start):
    t = OFFICE.next_open(start)
    assert t >= start and OFFICE.is_open(t)
    assert OFFICE.open_minutes_between(start, t) == pytest.approx(0.0, abs=1e-9)


def test_always_open_adds_plainly():
    always = WeeklyHours.always()
    assert always.add_open_minutes(123.0, 45.0) == 168.0
    assert always.is_always and always.next_open(99.5) == 99.5


@settings(max_examples=200, deadline=None)
@given(start=times, amount=st.floats(min_value=0, max_value=20_000, allow_nan=False))
def test_first_passage_inverts_the_integral(start, amount):
    steps = WeeklySteps.from_hours([(OFFICE, 2.0), (WeeklyHours.from_windows(["20:00-06:00"], range(7)), 0.5)])
    t = float(steps.first_passage(start, amount))
    assert steps.integral(start, t) == pytest.approx(amount, abs=1e-6)


def test_first_passage_never_when_rate_is_zero():
    zero = WeeklySteps.from_hours([(OFFICE, 0.0)])
    assert np.isinf(zero.first_passage([0.0, 100.0], [1.0, 1.0])).all()


def _same_bits(scalar: float, vector: float) -> bool:
    return scalar == vector or (np.isnan(scalar) and np.isnan(vector))


_steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=MINUTES_PER_WEEK - 1, allow_nan=False),
        st.sampled_from([0.0, 0.0, 0.25, 1.0, 3.5]) | st.floats(min_value=0, max_value=50, allow_nan=False),
    ),
    min_size=0,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    segments=_steps,
    first=st.sampled_from([0.0, 0.5, 2.0]),
    starts=st.lists(
        st.floats(min_value=-2 * MINUTES_PER_WEEK, max_value=60 * MINUTES_PER_WEEK), min_size=40, max_size=40
    ),
    amounts=st.lists(st.floats(min_value=0, max_value=1e5) | st.sampled_from([0.0, 1e-12]), min_size=40, max_size=40),
)
def test_first_passage_scalar_path_equals_the_vector_path(segments, first, starts, amounts):
    """300 step functions x 40 (start, amount) pairs: the scalar path gives the array path's bits."""
    breaks = sorted({0.0, *(b for b, _ in segments)})
    value_at = {0.0: first, **dict(segments)}
    steps = WeeklySteps(tuple(breaks), tuple(value_at[b] for b in breaks))
    vector = steps.first_passage(np.array(starts), np.array(amounts))
    for start, amount, expected in zip(starts, amounts, vector.tolist()):
        got = steps.first_passage(start, amount)
        assert type(got) is float
        assert _same_bits(got, expected), (steps, start, amount, got, expected)


def test_first_passage_scalar_path_on_many_patrol_like_inputs():
    """12,000 random draws on a patrol-like rate, starts on breakpoints and week edges included."""
    rng = np.random.default_rng(22)
    steps = WeeklySteps.from_hours([(OFFICE, 2.0), (WeeklyHours.from_windows(["20:00-06:00"], range(7)), 0.5)]).map(
        lambda v: v / 60
    )
    starts = rng.uniform(0, 52 * MINUTES_PER_WEEK, 12_000)
    starts[:2_000] = rng.choice(np.array(steps.breaks), 2_000) + MINUTES_PER_WEEK * rng.integers(0, 52, 2_000)
    amounts = rng.exponential(1.0, 12_000) / rng.choice([0.05, 0.3, 1.0], 12_000)
    vector = steps.first_passage(starts, amounts).tolist()
    scalar = [steps.first_passage(s, a) for s, a in zip(starts.tolist(), amounts.tolist())]
    assert scalar == vector
    assert steps.first_passage(5.0, 1.0) > 5.0


def test_first_passage_scalar_never_when_rate_is_zero():
    zero = WeeklySteps.from_hours([(OFFICE, 0.0)])
    assert zero.first_passage(100.0, 1.0) == float("inf")


def test_step_values_and_changes():
    steps = WeeklySteps.from_hours([(WeeklyHours.from_windows(["08:00-20:00"], range(7)), 3.0)], cap=2.0)
    assert steps.value(9 * 60) == 2.0 and steps.value(21 * 60) == 0.0
    assert steps.next_change(9 * 60) == 20 * 60
    assert steps.integral(0, 1440) == pytest.approx(2.0 * 12 * 60)


# --------------------------------------------------------------------------- dated step functions

PATROL_LIKE = WeeklySteps.from_hours([(OFFICE, 2.0), (WeeklyHours.from_windows(["20:00-06:00"], range(7)), 0.5)]).map(
    lambda v: v / 60
)


def _brute_first_passage(steps, start: float, amount: float) -> float:
    """Walk segment by segment (the definition): where the integral from *start* reaches *amount*."""
    t, left = start, amount
    for _ in range(100_000):
        nxt = steps.next_change(t)
        rate = steps.value(t)
        if left <= 0 or (rate > 0 and rate * (nxt - t) >= left):
            return t + (left / rate if left > 0 else 0.0)
        if nxt == float("inf"):
            return float("inf")
        left -= rate * (nxt - t)
        t = nxt
    raise AssertionError("no passage within 100,000 segments")


@settings(max_examples=60, deadline=None)
@given(
    holes=st.lists(
        st.tuples(st.floats(0, 6 * MINUTES_PER_WEEK), st.floats(1, 2000), st.floats(0, 1)), min_size=1, max_size=6
    ),
    starts=st.lists(st.floats(0, 9 * MINUTES_PER_WEEK), min_size=10, max_size=10),
    amounts=st.lists(st.floats(1e-6, 40), min_size=10, max_size=10),  # exponential draws: never 0
)
def test_a_dated_rate_first_passage_is_the_walk_through_its_segments(holes, starts, amounts):
    """A weekly rate with dated changes (a share of it on some days): array path = scalar path = the walk."""
    until = max(s + d for s, d, _ in holes)
    cuts = sorted({0.0, *DatedSteps.unrolled(PATROL_LIKE, until).breaks, *(x for s, d, _ in holes for x in (s, s + d))})
    breaks = [b for b in cuts if b < until]

    def share(t: float) -> float:
        out = 1.0
        for s, d, keep in holes:
            out *= keep if s <= t < s + d else 1.0
        return out

    values = [PATROL_LIKE.value(b) * share(b) for b in breaks]
    dated = DatedSteps(PATROL_LIKE, breaks, values, until)
    vector = dated.first_passage(np.array(starts), np.array(amounts)).tolist()
    for start, amount, got in zip(starts, amounts, vector):
        expected = _brute_first_passage(dated, start, amount)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)
        assert dated.first_passage(start, amount) == pytest.approx(got, rel=1e-12, abs=1e-9)
        # the integral from start to the passage is the amount
        assert dated.integral(start, got) == pytest.approx(amount, rel=1e-9, abs=1e-9)


def test_a_weekly_rate_unrolled_is_the_same_function():
    dated = DatedSteps.unrolled(PATROL_LIKE, 3.5 * MINUTES_PER_WEEK)
    rng = np.random.default_rng(5)
    starts, amounts = rng.uniform(0, 5 * MINUTES_PER_WEEK, 2000), rng.exponential(30.0, 2000)
    np.testing.assert_allclose(dated.first_passage(starts, amounts), PATROL_LIKE.first_passage(starts, amounts))
    assert [dated.value(t) for t in starts[:200]] == [PATROL_LIKE.value(t) for t in starts[:200]]
    assert dated.integral(100.0, 4 * MINUTES_PER_WEEK) == pytest.approx(
        PATROL_LIKE.integral(100.0, 4 * MINUTES_PER_WEEK)
    )


def test_combining_step_functions_stays_weekly_unless_one_is_dated():
    other = WeeklySteps.from_hours([(OFFICE, 1.0)])
    assert isinstance(combine_steps([PATROL_LIKE, other], lambda *v: sum(v)), WeeklySteps)
    cuts = sorted({*DatedSteps.unrolled(other, 2000.0).breaks, 1000.0, 1600.0})
    off = DatedSteps(other, cuts, [0.0 if 1000.0 <= b < 1600.0 else other.value(b) for b in cuts], 2000.0)
    both = combine_steps([PATROL_LIKE, off], lambda *v: sum(v))
    assert isinstance(both, DatedSteps)
    for t in (0.0, 999.0, 1000.0, 1500.0, 1600.0, 1999.0, 2000.0, 5 * MINUTES_PER_WEEK + 1300.0):
        expected = PATROL_LIKE.value(t) + (0.0 if 1000.0 <= t < 1600.0 else other.value(t))
        assert both.value(t) == pytest.approx(expected)
