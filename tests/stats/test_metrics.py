"""Statistics of replications: intervals, the replication bootstrap, paired differences, metrics by path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.experiments.runs import run_point
from sim.stats.metrics import (
    MIN_BOOTSTRAP_REPLICATIONS,
    Precision,
    _weighted_percentiles,
    describe,
    metric_paths,
    metric_value,
    paired_difference,
    relative_half_width,
    replication_bootstrap,
    summarise,
    summarise_runs,
    t_interval,
    time_stats,
)
from sim.stats.survival import CensoredTimes


def test_t_interval_by_hand():
    low, high = t_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (low, high) == pytest.approx((2 - half, 2 + half))
    assert t_interval([5.0]) is None
    assert t_interval([5.0, 7.0]) is None  # no interval from fewer than 3 replications
    assert t_interval([1.0, None, float("nan"), 3.0, 2.0]) == pytest.approx(t_interval([1.0, 3.0, 2.0]))


def test_t_interval_covers_the_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits = sum(lo <= 10 <= hi for lo, hi in (t_interval(rng.normal(10, 4, size=5)) for _ in range(2000)))
    assert 0.93 <= hits / 2000 <= 0.97


def test_relative_half_width():
    assert relative_half_width([2.0, 2.0, 2.0]) == 0
    assert relative_half_width([3.0]) is None
    assert relative_half_width([-1.0, 1.0]) is None
    assert relative_half_width([-1.0, 0.0, 1.0]) == math.inf
    low, high = t_interval([9.0, 10.0, 11.0])
    assert relative_half_width([9.0, 10.0, 11.0]) == pytest.approx((high - low) / 2 / 10)


def test_precision_rule():
    rule = Precision("response_min.mean", relative_half_width=0.1)
    assert rule.reached([100.0, 101.0, 99.0])
    assert not rule.reached([50.0, 150.0])
    assert not rule.reached([100.0])
    assert rule.as_dict()["relative_half_width"] == 0.1


def test_weighted_percentiles_equal_the_pooled_percentiles_of_each_resample():
    """The bisection shortcut gives exactly the inverted-CDF percentile of the resampled pool."""
    rng = np.random.default_rng(1)
    groups = [rng.exponential(10, size=rng.integers(0, 40)) for _ in range(6)]
    values = np.concatenate(groups)
    owner = np.repeat(np.arange(6), [len(g) for g in groups])
    order = np.argsort(values, kind="stable")
    counts = rng.multinomial(6, [1 / 6] * 6, size=200)
    got = _weighted_percentiles(values[order], owner[order], counts, (50, 90, 100))
    for b in range(200):
        pool = np.concatenate([groups[r] for r in range(6) for _ in range(counts[b, r])])
        for j, p in enumerate((50, 90, 100)):
            if pool.size == 0:
                assert math.isnan(got[b, j])
            else:
                assert got[b, j] == np.quantile(pool, p / 100, method="inverted_cdf")


def test_replication_bootstrap_needs_enough_replications():
    samples = [np.arange(10.0)] * (MIN_BOOTSTRAP_REPLICATIONS - 1)
    assert replication_bootstrap(samples) is None
    assert replication_bootstrap([np.array([np.nan])] * 6) is None
    assert set(replication_bootstrap([np.arange(10.0) + i for i in range(6)])) == {50, 90}


def test_replication_bootstrap_covers_the_median_when_replications_differ():
    """Each replication has its own level (a busy week, a quiet week). Resampling whole replications
    keeps that variation in the interval; resampling single incidents would be far too narrow."""
    rng = np.random.default_rng(7)
    hits = naive_hits = 0
    trials = 150
    for _ in range(trials):
        samples = [rng.normal(rng.normal(0, 1), 1, size=150) for _ in range(10)]  # true pooled median 0
        low, high = replication_bootstrap(samples, (50,), resamples=400, seed=int(rng.integers(1 << 30)))[50]
        hits += low <= 0 <= high
        pooled = np.concatenate(samples)
        boot = np.median(rng.choice(pooled, size=(200, pooled.size)), axis=1)
        naive_hits += np.percentile(boot, 2.5) <= 0 <= np.percentile(boot, 97.5)
    assert hits / trials >= 0.82
    assert naive_hits / trials < 0.5


def _times(values) -> CensoredTimes:
    values = np.asarray(values, dtype=float)
    return CensoredTimes(values, np.ones(values.size, dtype=bool))


def test_time_stats_intervals_appear_with_replications():
    one = time_stats([_times([1.0, 2.0, 3.0])])
    assert "ci_low" not in one and "median_ci_low" not in one
    two = time_stats([_times([1.0, 2.0, 3.0]), _times([5.0, 9.0])])
    assert "ci_low" not in two  # no interval from two replications
    three = time_stats([_times(np.array([1.0, 2.0, 3.0]) + i) for i in range(3)])
    assert "ci_low" in three and "median_ci_low" not in three
    six = time_stats([_times(np.arange(20.0) + i) for i in range(6)])
    assert six["median_ci_low"] <= six["median"] <= six["median_ci_high"]
    assert six["p90_ci_low"] <= six["p90"] <= six["p90_ci_high"]


def test_paired_difference_matches_scipy():
    base = [10.0, 12.0, 9.0, 14.0, 11.0]
    other = [8.0, 11.5, 7.0, 12.0, 10.5]
    out = paired_difference(base, other)
    diffs = np.subtract(other, base)
    assert out["n"] == 5
    assert out["mean_difference"] == pytest.approx(diffs.mean())
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(t_interval(diffs))
    assert out["p_value"] == pytest.approx(stats.ttest_rel(other, base).pvalue)


def test_paired_difference_edge_cases():
    constant = paired_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert constant["mean_difference"] == 1 and constant["ci_low"] == constant["ci_high"] == 1
    assert constant["p_value"] is None  # a test of differences that never vary says nothing
    dropped = paired_difference([1.0, None, 3.0, 4.0], [2.0, 5.0, None, 6.0])
    assert dropped["n"] == 2 and dropped["mean_difference"] == 1.5
    assert paired_difference([], [])["mean_difference"] is None


def test_describe():
    assert describe([1.0, None, 3.0]) == {"n": 2, "mean": 2.0, "ci_low": None, "ci_high": None}
    assert describe([1.0, None, 3.0, 2.0]) == {
        "n": 3,
        "mean": 2.0,
        **dict(zip(("ci_low", "ci_high"), t_interval([1.0, 3.0, 2.0]))),
    }
    assert describe([None]) == {"n": 0, "mean": None, "ci_low": None, "ci_high": None}


def test_metric_value_paths():
    summary = {"response_min": {"median": 3.0}, "by_type": {"a": {"response_min": None}}, "within_target": None}
    assert metric_value(summary, "response_min.median") == 3.0
    assert metric_value(summary, "by_type.a.response_min.median") is None
    assert metric_value(summary, "within_target") is None
    with pytest.raises(KeyError, match="no metric"):
        metric_value(summary, "response_min.p99")
    with pytest.raises(KeyError, match="group"):
        metric_value(summary, "response_min")


def test_every_listed_metric_is_in_a_real_summary(classroom):
    paths = metric_paths([t.name for t in classroom.incident_types], [d.name for d in classroom.departments])
    assert {
        "response_min.median",
        "within_target",
        "utilisation.sanitation",
        "by_type.dispute.response_min.p90",
    } <= set(paths)
    row = run_point(classroom, "unified", seed=1, replication=0, metrics=paths)
    assert row["error"] is None
    assert row["response_min.median"] is not None and row["utilisation.sanitation"] is not None


def _rows():
    rows = []
    for point, units in ((0, 1), (1, 2)):
        for mode, offset in (("fragmented", 10.0), ("unified", 0.0)):
            for rep in range(3):
                value = offset + rep + units
                rows.append(
                    {"point": point, "units": units, "mode": mode, "replication": rep, "x": value, "error": None}
                )
    return rows


def test_summarise_runs_means_intervals_and_paired_differences():
    rows = _rows()
    rows[4]["error"], rows[4]["x"] = "ValueError: boom", None  # point 0, unified, replication 1
    summary = summarise_runs(rows, ["units"], ["x"])
    assert [(r["point"], r["mode"]) for r in summary] == [
        (0, "fragmented"),
        (0, "unified"),
        (1, "fragmented"),
        (1, "unified"),
    ]
    first, failed = summary[0], summary[1]
    assert first["vs"] is None and first["x.diff"] is None
    assert first["x.mean"] == 12.0 and (first["x.ci_low"], first["x.ci_high"]) == pytest.approx(
        t_interval([11.0, 12.0, 13.0])
    )
    assert failed["replications"] == 2 and failed["failed"] == 1 and failed["vs"] == "fragmented"
    assert failed["x.mean"] == 2.0  # replications 0 and 2: 1 and 3
    assert failed["x.diff"] == -10.0  # paired on the replications both have
    assert summary[3]["x.diff"] == -10.0 and summary[3]["x.p_value"] is None


def test_compare_paired_differences_are_differences_of_separate_runs(classroom):
    """The paired section equals what one gets by running each replication alone."""
    scenario = sim.load_scenario(sim.__path__[0] + "/../scenarios/classroom.yaml", ["days=3"])
    comparison = sim.compare(scenario, ["fragmented", "unified"], replications=4)
    by_hand = {
        m: [run_point(scenario, m, scenario.seed, r, ["within_target"])["within_target"] for r in range(4)]
        for m in ("fragmented", "unified")
    }
    paired = comparison.summary["paired"]
    assert paired["baseline"] == "fragmented"
    got = paired["modes"]["unified"]["within_target"]
    assert got["mean_difference"] == pytest.approx(np.mean(np.subtract(by_hand["unified"], by_hand["fragmented"])))
    assert got["p_value"] == pytest.approx(stats.ttest_rel(by_hand["unified"], by_hand["fragmented"]).pvalue)


# --------------------------------------------------------------------------- statistics from columns


@pytest.mark.parametrize(
    ("scenario", "overrides", "replications"),
    [("classroom.yaml", [], 5), ("anhai.yaml", ["days=4", "warmup_days=1", "drain_days=1"], 5)],
)
def test_summaries_from_columns_equal_the_row_by_row_summaries(scenario, overrides, replications):
    """The numpy statistics of the columns give the summary the loops over named tuples gave, to the byte."""
    from sim.experiments.runs import type_deadlines, type_targets
    from sim.io.results import _summary_text
    from tests.conftest import SCENARIOS
    from tests.stats import rowwise_reference

    town = sim.load_scenario(SCENARIOS / scenario, overrides)
    modes = [m for m in town.governance.modes if m in ("fragmented", "unified_closed_loop")] or list(
        town.governance.modes
    )
    outputs = {m: [sim.run(town, m, replication=r) for r in range(replications)] for m in modes}
    types = [t.name for t in town.incident_types]
    args = (town.warmup_days * 1440, town.target_min, types, type_targets(town), type_deadlines(town))
    for mode in modes:
        columns = summarise(outputs[mode], *args)
        rows = rowwise_reference.summarise(outputs[mode], *args)
        assert _summary_text(columns) == _summary_text(rows), mode
    assert any(summarise(o, *args)["closure_min"] for o in outputs.values()) == (scenario == "anhai.yaml")
