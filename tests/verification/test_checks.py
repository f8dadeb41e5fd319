"""The validation checks: the quick subset passes, the statistics are honest, the command publishes the table.

The full set (``python -m sim verify``) takes minutes and writes ``docs/validation.md``; here the
quick subset runs at a 10% precision target, which is still narrow enough to catch a model
that is off by more than that.
"""

from __future__ import annotations

import math
import sys
from functools import partial

import numpy as np
import pytest
from scipy.integrate import quad

import sim.cli.verify as verify_command
from sim.cli import main
from sim.verification import checks as validation
from sim.verification.checks import QUICK, Effort, Estimate, Mean, Ratio, replicate_until, theory_row


@pytest.fixture(scope="module")
def quick_report():
    return validation.run_checks(quick=True, jobs=2)


def test_quick_subset_passes(quick_report):
    failed = [r for r in quick_report.rows if r.status not in ("pass", "not run")]
    lines = [f"{r.check}: {r.quantity}: {r.status} {r.expected} vs {r.simulated} [{r.low}, {r.high}]" for r in failed]
    assert not failed, "\n".join(lines)
    assert quick_report.passed >= len(quick_report.rows) - sum(r.reference == "Ciw" for r in quick_report.rows)


def test_quick_subset_covers_every_kind_of_check(quick_report):
    groups = {r.group for r in quick_report.rows}
    assert {"M/M/c", "M/G/1", "pooling", "referral", "Little's law", "utilisation", "hypercube"} <= groups


def test_every_row_is_in_the_document(quick_report):
    text = validation.format_report(quick_report)
    table_rows = [
        line for line in text.splitlines() if line.startswith("| ") and not line.startswith(("| check", "| quantity"))
    ]
    assert len(table_rows) == len(quick_report.rows) + len(quick_report.solver) + len(quick_report.seconds)
    assert f"{quick_report.passed} of {len(quick_report.rows)} checks pass" in text


def test_intervals_are_narrow_enough_to_reject_a_wrong_model(quick_report):
    for row in quick_report.rows:
        if row.status == "pass" and row.expected:
            assert not (row.low <= 1.15 * row.expected <= row.high), (
                f"{row.check}: {row.quantity} would accept a 15% error"
            )


def test_solver_matches_the_published_example(quick_report):
    assert len(quick_report.solver) == 6
    for name, published, solved, tolerance in quick_report.solver:
        assert abs(solved - published) <= tolerance, name


def test_checks_use_different_seeds():
    seeds = [c.run.keywords["seed"] for c in validation.CHECKS]
    assert len(seeds) == len(set(seeds))
    assert len({c.name for c in validation.CHECKS}) == len(validation.CHECKS)


# --------------------------------------------------------------------------- theory helpers


def test_erlang_c_against_the_calibration_table():
    """calibration.md section E: six departments of two units against one of twelve, service 60 min."""
    table = {0.50: (20.0, 0.2, 0.33, 0.02), 0.70: (57.6, 3.1, 0.58, 0.18), 0.85: (156, 16.4, 0.78, 0.49)}
    for rho, (frag, unif, p_frag, p_unif) in table.items():
        assert validation.mmc_wait(2, rho * 2 / 60, 60) == pytest.approx(frag, rel=0.02)
        assert validation.mmc_wait(12, rho * 12 / 60, 60) == pytest.approx(unif, abs=0.06)
        assert validation.erlang_c(2, 2 * rho) == pytest.approx(p_frag, abs=0.006)
        assert validation.erlang_c(12, 12 * rho) == pytest.approx(p_unif, abs=0.006)
    assert validation.mmc_wait(1, 0.5 / 60, 60) == pytest.approx(60)
    assert validation.mmc_wait(2, 1.0 / 60, 60) == pytest.approx(20)


def test_erlang_c_and_tail_from_definitions():
    load, c = 2.4, 3
    top = load**c / math.factorial(c) * c / (c - load)
    assert validation.erlang_c(c, load) == pytest.approx(
        top / (sum(load**k / math.factorial(k) for k in range(c)) + top)
    )
    assert validation.mmc_wait_tail(c, 0.24, 10, 0) == pytest.approx(validation.erlang_c(c, load))
    # integrating the tail gives the mean
    area, _ = quad(lambda t: validation.mmc_wait_tail(c, 0.24, 10, t), 0, math.inf)
    assert area == pytest.approx(validation.mmc_wait(c, 0.24, 10), rel=1e-8)


def test_pollaczek_khinchine_reduces_to_mm1():
    assert validation.pk_wait(0.07, 10, 1.0) == pytest.approx(validation.mmc_wait(1, 0.07, 10))
    assert validation.pk_wait(0.07, 10, 0.0) == pytest.approx(validation.mmc_wait(1, 0.07, 10) / 2)


def test_priority_waits_conserve_work():
    """Kleinrock's conservation law: the load-weighted mean wait equals FCFS's."""
    arrivals, service = [0.05, 0.09], 10.0
    waits = validation.priority_waits(2, arrivals, service)
    fcfs = validation.mmc_wait(2, sum(arrivals), service)
    assert np.dot(arrivals, waits) / sum(arrivals) == pytest.approx(fcfs)
    assert waits[0] < fcfs < waits[1]
    assert validation.priority_waits(3, [0.2], 10) == pytest.approx([validation.mmc_wait(3, 0.2, 10)])


# --------------------------------------------------------------------------- statistics


def test_replicate_until_reaches_the_precision():
    rng_for = lambda r: np.random.default_rng(r)  # noqa: E731
    effort = Effort(precision=0.01, pilot=5, max_replications=10_000)
    cols = replicate_until(lambda r: {"x": 10 + rng_for(r).normal()}, [Mean("x")], effort)
    estimate = validation.mean_estimate(cols["x"])
    assert estimate.relative_half_width <= 0.01
    assert 100 < len(cols["x"]) < 2000


def test_replicate_until_stops_at_the_cap():
    effort = Effort(precision=1e-6, pilot=4, max_replications=30)
    cols = replicate_until(lambda r: {"x": float(r % 3)}, [Mean("x")], effort)
    assert len(cols["x"]) == 30


def test_ratio_interval_covers_the_true_ratio():
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(200):
        y = rng.normal(10, 1, 40)
        x = 2.0 * y + rng.normal(0, 1, 40)
        e = Ratio("x", "y").estimate({"x": x, "y": y})
        covered += e.low <= 2.0 <= e.high
    assert covered >= 190  # 99% intervals: about 198 of 200


def test_rows_fail_when_outside_or_imprecise():
    effort = Effort(precision=0.02, pilot=2, max_replications=2)
    assert theory_row("g", "c", "q", "t", 1.0, Estimate(1.0, 0.99, 1.01), 10, effort).status == "pass"
    assert theory_row("g", "c", "q", "t", 1.1, Estimate(1.0, 0.99, 1.01), 10, effort).status == "outside"
    assert theory_row("g", "c", "q", "t", 1.0, Estimate(1.0, 0.9, 1.1), 10, effort).status == "imprecise"


# --------------------------------------------------------------------------- the command


def test_verify_command_writes_the_table(tmp_path, monkeypatch, capsys):
    cheap = [c for c in validation.CHECKS if c.name == "referral"]
    monkeypatch.setattr(verify_command, "run_checks", partial(validation.run_checks, checks=cheap, effort=QUICK))
    out = tmp_path / "docs" / "validation.md"
    assert main(["verify", "--quick", "--jobs", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Validation")
    assert "1 of 1 checks pass" in text
    assert "wrote" in capsys.readouterr().out


def test_verify_command_refuses_bad_jobs(capsys):
    assert main(["verify", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_missing_scenario_file_is_reported_not_skipped():
    rows = validation.check_little(QUICK, seed=1, scenario_file="no_such_town.yaml", mode="joint")
    assert [r.status for r in rows] == ["not run"]
    assert "not found" in rows[0].note


def test_straight_road_check_is_exact_and_in_the_quick_subset():
    rows = validation.check_straight_road(QUICK, seed=901)
    assert [(r.status, r.simulated, r.group) for r in rows] == [("pass", 1.0, "road network")]
    assert "largest difference 0 min" in rows[0].note and "longest trip 8 min" in rows[0].note  # 4 km at 30 km/h
    assert any(c.name == "straight_road" and c.quick for c in validation.CHECKS)


def test_straight_road_check_sees_a_road_that_is_not_straight(monkeypatch):
    """The same check on a road bent at one node: pairs across the bend differ, so it fails."""
    import networkx as nx

    files = validation.straight_road_files

    def bent(folder, points, spacing_km=0.5, speed_kmh=30.0):
        path = files(folder, points, spacing_km, speed_kmh)
        graph = nx.read_graphml(path.parent / "straight.graphml")
        graph.nodes["n4"]["y"] = 0.25  # the patch stays on the axis; the road goes through a point off it
        nx.write_graphml(graph, path.parent / "straight.graphml")
        return path

    monkeypatch.setattr(validation, "straight_road_files", bent)
    row = validation.check_straight_road(QUICK, seed=901)[0]
    assert row.status == "outside" and row.simulated < 1.0


def test_straight_road_check_says_why_it_did_not_run_without_the_geo_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "networkx", None)
    row = validation.check_straight_road(QUICK, seed=901)[0]
    assert row.status == "not run" and "geo extra" in row.note
