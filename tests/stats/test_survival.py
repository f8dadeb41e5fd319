"""The Kaplan–Meier estimator against SciPy's and against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.stats.survival import CensoredTimes, km_quantiles, restricted_mean, weighted_km_quantiles


def test_no_censoring_gives_the_empirical_quantiles_and_mean():
    rng = np.random.default_rng(4)
    values = rng.exponential(30, size=501)
    times = CensoredTimes.of(values, np.ones(values.size, dtype=bool))
    got = km_quantiles(times, (0.5, 0.9, 0.95))
    assert got == [float(np.quantile(values, p, method="inverted_cdf")) for p in (0.5, 0.9, 0.95)]
    assert restricted_mean(times) == pytest.approx(values.mean(), rel=1e-12)


def test_hand_computed_product_limit():
    """Times 1, 2+, 3, 4+, 5: S drops to 4/5 at 1, to 4/5 x 2/3 = 0.533 at 3, to 0 at 5."""
    times = CensoredTimes.of([1, 2, 3, 4, 5], [True, False, True, False, True])
    assert km_quantiles(times, (0.2, 0.3, 0.46, 0.47, 1.0)) == [1.0, 3.0, 3.0, 5.0, 5.0]
    # area: 1 x 1 + 0.8 x 2 + 0.8 x 2/3 x 2 = 3.6667
    assert restricted_mean(times) == pytest.approx(1 + 0.8 * 2 + 0.8 * 2 / 3 * 2)


def test_a_quantile_beyond_the_longest_follow_up_is_not_a_number():
    """Most matters never reached: the median is 'more than the follow-up', never a reached time."""
    times = CensoredTimes.of([1, 2, 3, 10, 10, 10, 10], [True, True, True, False, False, False, False])
    median, p90 = km_quantiles(times, (0.5, 0.9))
    assert median is None and p90 is None  # only 3 of 7 reached
    assert times.followed_min == 10 and times.censored == 4
    assert km_quantiles(times, (0.4,)) == [3.0]  # F(2) = 2/7 < 0.4 <= F(3) = 3/7


def test_no_times_at_all():
    empty = CensoredTimes.of([], [])
    assert km_quantiles(empty, (0.5,)) == [None] and restricted_mean(empty) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=60),
    st.sampled_from([0.25, 0.5, 0.9]),
)
def test_quantiles_agree_with_scipy(pairs, share):
    """SciPy's ecdf on CensoredData gives the same survival curve (ties and censoring included)."""
    minutes = np.array([float(m) for m, _ in pairs])
    observed = np.array([o for _, o in pairs])
    times = CensoredTimes.of(minutes, observed)
    ours = km_quantiles(times, (share,))[0]
    if not observed.any():
        assert ours is None
        return
    data = stats.CensoredData(uncensored=minutes[observed], right=minutes[~observed])
    sf = stats.ecdf(data).sf
    grid = np.unique(minutes[observed])
    reached = 1 - sf.evaluate(grid)
    hits = grid[reached >= share - 1e-12]
    assert ours == (float(hits[0]) if hits.size else None)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=0, max_size=12), min_size=2, max_size=5),
    st.data(),
)
def test_weighted_quantiles_equal_the_quantiles_of_the_resampled_pool(reps, data):
    """Weight k for replication r is the same as r's matters k times over."""
    groups = [CensoredTimes.of([float(m) for m, _ in g], [o for _, o in g]) for g in reps]
    counts = np.array(
        [data.draw(st.lists(st.integers(0, 3), min_size=len(reps), max_size=len(reps))) for _ in range(4)]
    )
    got = weighted_km_quantiles(groups, counts, (0.5, 0.9))
    for b, row in enumerate(counts):
        minutes = np.concatenate([g.minutes for g, k in zip(groups, row) for _ in range(k)] or [np.array([])])
        observed = np.concatenate([g.observed for g, k in zip(groups, row) for _ in range(k)] or [np.array([], bool)])
        pool = CensoredTimes.of(minutes, observed)
        want = km_quantiles(pool, (0.5, 0.9))
        for j, value in enumerate(want):
            if pool.n == 0:
                assert math.isnan(got[b, j])
            else:
                assert got[b, j] == (math.inf if value is None else value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, -0.0, 1.5, 2.0, math.nan, math.inf]) | st.floats(width=64), st.booleans()),
        max_size=60,
    )
)
def test_durations_are_sorted_as_lexsort_orders_them_bit_for_bit(pairs):
    """Sorting the observed and the censored apart and merging them gives lexsort's order (ties: observed first),
    bit for bit, with ties, zeros of both signs, NaN and infinities."""
    from sim.stats.survival import _merged

    minutes = np.array([m for m, _ in pairs], dtype=float)
    observed = np.array([o for _, o in pairs], dtype=bool)
    order = np.lexsort((~observed, minutes))
    got_minutes, got_observed = _merged(minutes, observed)
    assert np.array_equal(got_minutes.view(np.int64), minutes[order].view(np.int64))
    assert np.array_equal(got_observed, observed[order])
    rng = np.random.default_rng(len(pairs))
    big = np.round(rng.exponential(60, 50_000), 2)  # many ties, no zero of either sign: the quick sort
    seen = rng.random(big.size) < 0.9
    got_minutes, got_observed = _merged(big, seen)
    order = np.lexsort((~seen, big))
    assert np.array_equal(got_minutes, big[order]) and np.array_equal(got_observed, seen[order])
