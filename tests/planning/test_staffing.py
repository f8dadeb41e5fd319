"""Staffing: targets, scaling units, the noisy search, and an M/M/c answer Erlang C gives exactly."""

from __future__ import annotations

import json

import pytest

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.planning.staffing import (
    MET,
    NOT_MET,
    UNDECIDED,
    Rule,
    allocate,
    parse_target,
    smallest_units,
    staff,
    staffed_scenario,
)
from tests.conftest import SCENARIOS, queue_scenario
from tests.system.test_theory import erlang_c_wait

CLASSROOM = str(SCENARIOS / "classroom.yaml")


# --------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    "text, metric, op, value",
    [
        ("p90 response <= 30", "response_min.p90", "<=", 30),
        ("response_min.p90 <= 30", "response_min.p90", "<=", 30),
        ("median response of garbage_overflow < 0.5 h", "by_type.garbage_overflow.response_min.median", "<", 30),
        ("response of dispute <= 20 min", "by_type.dispute.response_min.mean", "<=", 20),
        ("mean resolution time <= 90", "resolution_min.mean", "<=", 90),
        ("within target >= 90%", "within_target", ">=", 0.9),
        ("utilisation of sanitation <= 0.8", "utilisation.sanitation", "<=", 0.8),
        ("by_type.street_vending.response_min.p95 <= 45", "by_type.street_vending.response_min.p95", "<=", 45),
    ],
)
def test_targets_in_words_or_paths(classroom, text, metric, op, value):
    target = parse_target(text, classroom)
    assert (target.metric, target.op) == (metric, op)
    assert target.value == pytest.approx(value)


@pytest.mark.parametrize(
    "text, words",
    [
        ("p90 response 30", "OP one of"),
        ("p90 respons <= 30", "unknown metric"),
        ("median response of garbage <= 30", "by_type.garbage.response_min.median"),
        ("p90 response <= soon", "expected a number"),
        ("within target >= 90 min", "is not a time"),
    ],
)
def test_bad_targets_say_what_is_wrong(classroom, text, words):
    with pytest.raises(ScenarioError) as err:
        parse_target(text, classroom)
    assert words in str(err.value)


def test_verdicts_read_the_interval_against_the_target(classroom):
    upper = parse_target("p90 response <= 30", classroom)
    assert [upper.verdict(*ci) for ci in ((20, 29), (31, 40), (25, 35), (None, None))] == [
        MET,
        NOT_MET,
        UNDECIDED,
        UNDECIDED,
    ]
    lower = parse_target("within target >= 0.9", classroom)
    assert [lower.verdict(*ci) for ci in ((0.91, 0.95), (0.8, 0.85), (0.85, 0.95))] == [MET, NOT_MET, UNDECIDED]


# --------------------------------------------------------------------------- scaling units


def test_allocation_is_exact_at_the_original_and_never_takes_a_unit_away():
    weights = {"enforcement": 17, "traffic": 5, "police": 0}
    assert allocate(weights, 22) == {"enforcement": 17, "traffic": 5, "police": 0}
    previous = allocate(weights, 2)
    assert previous == {"enforcement": 1, "traffic": 1, "police": 0}
    for total in range(3, 80):
        current = allocate(weights, total)
        assert sum(current.values()) == total
        assert all(current[d] >= previous[d] for d in weights)
        previous = current
    with pytest.raises(ValueError):
        allocate(weights, 1)


def test_shift_windows_keep_their_share_of_the_units(anhai):
    data = staffed_scenario(anhai.model_dump(mode="json"), {"sanitation": 30})
    sanitation = sim.scenario_from_dict(data).department("sanitation")
    assert sanitation.units == 30
    assert [w.units for w in sanitation.shift_windows()] == [20, 8, 2]
    small = sim.scenario_from_dict(staffed_scenario(data, {"sanitation": 3})).department("sanitation")
    assert [w.units for w in small.shift_windows()] == [1, 1, 1], "a window that had units keeps at least one"


# --------------------------------------------------------------------------- the search


@pytest.mark.parametrize("start", [1, 4, 7, 8, 20, 50])
@pytest.mark.parametrize("answer", [1, 7, 13, 50])
def test_search_finds_the_threshold_from_any_start(start, answer):
    found, verdicts = smallest_units(lambda n: MET if n >= answer else NOT_MET, start, 1, 50)
    assert found == answer
    assert answer == 1 or verdicts[answer - 1] == NOT_MET
    assert len(verdicts) <= 14


def test_search_reports_no_answer_when_the_most_units_fail():
    found, verdicts = smallest_units(lambda n: NOT_MET, 5, 1, 40)
    assert found is None and max(verdicts) == 40


def test_undecided_counts_are_not_taken_as_meeting_the_target():
    decide = {9: UNDECIDED, 10: UNDECIDED}.get
    found, verdicts = smallest_units(lambda n: decide(n) or (MET if n > 10 else NOT_MET), 20, 1, 40)
    assert found == 11 and verdicts[10] == UNDECIDED


@pytest.mark.parametrize("wait_target, start", [(3.0, 9), (1.0, 6)])
def test_mmc_staffing_matches_erlang_c(wait_target, start):
    """One patch, no travel, instant reports: the mean response is the M/M/c wait, so Erlang C gives the answer."""
    arrivals, service = 0.5, 10.0
    exact = min(c for c in range(6, 20) if erlang_c_wait(c, arrivals, service) <= wait_target)
    assert erlang_c_wait(exact - 1, arrivals, service) > 1.5 * wait_target, "choose a target the noise can decide"
    scenario = queue_scenario(start, arrivals, service, days=6, warmup_days=1)
    result = staff(
        scenario,
        f"mean response <= {wait_target}",
        mode="pooled",
        departments=["team"],
        rule=Rule(min_replications=4, max_replications=12, batch=4),
    )
    assert result.answer == exact
    assert result.at_answer.verdict == MET and result.one_fewer.verdict == NOT_MET
    assert result.at_answer.ci_high <= wait_target < result.one_fewer.ci_low
    assert result.runs == sum(len(t.values) for t in result.trials.values())


def test_staff_needs_a_department_when_the_mode_pools_none(classroom):
    with pytest.raises(ScenarioError, match="pools no department"):
        staff(classroom, "p90 response <= 30", mode="joint")


# --------------------------------------------------------------------------- command line


def test_staff_command_compares_with_fragmented(tmp_path, capsys):
    code = main(
        [
            "staff",
            CLASSROOM,
            "--days",
            "3",
            "--target",
            "p90 response of street_vending <= 40",
            "--backend",
            "serial",
            "--min-replications",
            "3",
            "--max-replications",
            "6",
            "--max-units",
            "8",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Staffing enforcement, sanitation" in out and "unified:" in out and "fragmented:" in out
    data = json.loads((tmp_path / "staffing.json").read_text())
    assert [r["mode"] for r in data["results"]] == ["unified", "fragmented"]
    for result in data["results"]:
        assert result["runs"] == sum(t["replications"] for t in result["trials"])


@pytest.mark.parametrize(
    "args, words",
    [
        (["--target", "p90 <= 30"], "unknown metric"),
        (["--target", "p90 response <= 30", "--mode", "joint"], "pools no department"),
        (["--target", "p90 response <= 30", "--department", "sanitaton"], "did you mean 'sanitation'"),
        (["--target", "p90 response <= 30", "--min-replications", "1"], "at least 3"),
        (["--target", "p90 response <= 30", "--min-replications", "2"], "no interval comes from fewer"),
        (["--target", "p90 response <= 30", "--mode", "unifed"], "unknown mode"),
    ],
)
def test_staff_mistakes_exit_2(args, words, capsys):
    assert main(["staff", CLASSROOM, "--backend", "serial", *args]) == 2
    assert words in capsys.readouterr().err
