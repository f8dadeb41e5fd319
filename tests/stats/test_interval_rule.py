"""One rule for every printed estimate and its interval; no interval (and no test) from fewer than 3 replications."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.cli import main
from sim.stats.metrics import MIN_INTERVAL_REPLICATIONS, describe, paired_difference, summarise_runs, t_interval
from tests.conftest import SCENARIOS


def test_the_t_interval_is_students_from_three_values_on():
    values = [12.0, 15.0, 11.0, 19.0]
    for n in range(1, 5):
        got = t_interval(values[:n])
        if n < MIN_INTERVAL_REPLICATIONS:
            assert got is None and describe(values[:n])["ci_low"] is None
            continue
        x = np.array(values[:n])
        half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
        assert got == pytest.approx((x.mean() - half, x.mean() + half), rel=1e-12)
    assert MIN_INTERVAL_REPLICATIONS == 3


def test_a_paired_difference_gives_its_interval_and_its_test_together_and_they_agree():
    """The interval and the p-value are one rule: p < 0.05 exactly when the 95% interval leaves out 0."""
    rng = np.random.default_rng(4)
    two = paired_difference([1.0, 2.0], [3.0, 2.5])
    assert two["mean_difference"] == 1.25 and two["ci_low"] is None and two["p_value"] is None
    agreements = 0
    for _ in range(300):
        n = int(rng.integers(3, 8))
        base = rng.normal(10, 2, n)
        other = base + rng.normal(rng.uniform(-2, 2), 1.5, n)
        out = paired_difference(base.tolist(), other.tolist())
        assert out["ci_low"] is not None and out["p_value"] is not None
        excludes_zero = out["ci_low"] > 0 or out["ci_high"] < 0
        assert (out["p_value"] < 0.05) == excludes_zero
        agreements += excludes_zero
    assert 0 < agreements < 300  # both sides of the rule were exercised


def _intervals(node, path=""):
    """Every (path, value) of an interval bound or a p-value in a nested summary."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("ci_low", "ci_high", "p_value") or key.endswith(("_ci", "_ci_low", "_ci_high")):
                yield f"{path}.{key}", value
            else:
                yield from _intervals(value, f"{path}.{key}")


@pytest.fixture(scope="module")
def short_classroom():
    return sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2", "warmup_days=0.5"])


def test_a_comparison_of_two_replications_has_no_interval_anywhere(short_classroom):
    summary = sim.compare(short_classroom, replications=2).summary
    found = list(_intervals(summary))
    assert found and all(value is None for _, value in found), [p for p, v in found if v is not None]


def test_three_replications_give_intervals_centred_on_the_printed_mean(short_classroom):
    comparison = sim.compare(short_classroom, ["fragmented", "unified"], replications=3)
    summary = comparison.summary
    found = dict(_intervals(summary))
    assert any(value is not None for value in found.values())
    paired = summary["paired"]["modes"]["unified"]["within_target"]
    assert paired["ci_low"] is not None and paired["p_value"] is not None
    assert (paired["ci_low"] + paired["ci_high"]) / 2 == pytest.approx(paired["mean_difference"])


def test_the_printed_comparison_shows_no_interval_or_test_from_two_replications(capsys):
    args = ["compare", str(SCENARIOS / "classroom.yaml"), "--set", "days=2", "--set", "warmup_days=0.5"]
    assert main([*args, "--replications", "2"]) == 0
    two = capsys.readouterr().out
    paired = two[two.index("paired by replication") :].split("\n", 1)[1]  # the table under its heading
    assert paired.count("p=-") >= 2  # the test is shown as not made
    assert "p=0" not in paired and "p=1" not in paired and " [" not in paired
    assert main([*args, "--replications", "3"]) == 0
    three = capsys.readouterr().out
    assert "p=0" in three[three.index("paired by replication") :]


def test_a_sweep_summary_gives_no_interval_from_two_replications():
    rows = [
        {"point": 0, "mode": m, "replication": r, "error": None, "x": float(r + (m == "b"))}
        for r in range(2)
        for m in ("a", "b")
    ]
    summary = summarise_runs(rows, [], ["x"])
    for row in summary:
        assert all(row[k] is None for k in row if k.endswith(("ci_low", "ci_high", "p_value")))
