"""The lever decomposition: factorial contrasts, Shapley shares, and a lever that cannot matter."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.experiments.runs import run_point
from sim.planning.decompose import _effects, _shapley, corner_modes, decompose, shapley_weights
from sim.presentation import figures as plots
from tests.conftest import SCENARIOS

CLASSROOM = str(SCENARIOS / "classroom.yaml")
METRICS = ("response_min.median", "response_min.p90", "by_type.garbage_overflow.response_min.median")


# --------------------------------------------------------------------------- the arithmetic, on numbers known by hand


def test_factorial_effects_of_a_known_linear_model():
    # y = 10 + 3 a - 2 b + 1 a b (a, b = -1/+1): main effects are twice the coefficients
    signs = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]])
    y = 10 + 3 * signs[:, 0] - 2 * signs[:, 1] + signs[:, 0] * signs[:, 1]
    effects = _effects(y[None, :].astype(float), 2)
    assert effects[(0,)][0] == pytest.approx(6.0)
    assert effects[(1,)][0] == pytest.approx(-4.0)
    assert effects[(0, 1)][0] == pytest.approx(2.0)


def test_shapley_shares_of_a_two_lever_game_with_an_interaction():
    # v(none)=0, v(a)=1, v(b)=2, v(ab)=6: a is worth 1 first and 4 last, b 2 first and 5 last
    values = np.array([[0.0, 1.0, 2.0, 6.0]])
    assert _shapley(values, 2, 0)[0] == pytest.approx(2.5)
    assert _shapley(values, 2, 1)[0] == pytest.approx(3.5)
    assert sum(shapley_weights(4)[s] * count for s, count in zip(range(4), (1, 3, 3, 1))) == pytest.approx(1.0)


# --------------------------------------------------------------------------- the modes


def test_corners_run_from_fragmented_to_unified(classroom):
    varied, modes = corner_modes(classroom)
    assert varied == ("authority", "information", "dispatch", "coordination")
    assert (
        len(modes) == 16
        and next(iter(modes)) == "none"
        and list(modes)[-1] == "authority-information-dispatch-coordination"
    )
    first, last = modes["none"], modes["authority-information-dispatch-coordination"]
    assert (first.information, first.leave_probability, first.authority.pooled) == ("referral", 0.5, "none")
    assert (last.information, last.leave_probability, last.coordination) == ("instant", 0.0, "concurrent")
    assert sorted(last.authority.pooled) == ["enforcement", "sanitation"]


def test_levers_alike_in_both_modes_are_not_varied(classroom):
    varied, modes = corner_modes(classroom, "joint", "unified")
    assert varied == ("authority",) and list(modes) == ["none", "authority"]


def test_first_and_last_corners_reproduce_the_modes_run_directly(classroom_data):
    """The corners are the scenario's own fragmented and unified modes: same seeds, same numbers."""
    scenario = sim.scenario_from_dict(classroom_data, overrides=["days=3"])
    result = decompose(scenario, METRICS, replications=2)
    for r in range(2):
        for corner, mode in ((0, "fragmented"), (-1, "unified")):
            direct = run_point(scenario, mode, scenario.seed, r, METRICS)
            assert [result.values[m][r, corner] for m in METRICS] == pytest.approx(
                [direct[m] for m in METRICS], rel=1e-12
            )


@pytest.fixture(scope="module")
def no_joint_matters() -> sim.Scenario:
    """The classroom town where no matter needs two departments: coordination cannot matter."""
    from sim.io.loader import read_yaml

    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    data["incident_types"][3].pop("requires")
    return sim.scenario_from_dict(data, overrides=["days=3"])


REPLICATIONS = 8


@pytest.fixture(scope="module")
def decomposition(no_joint_matters):
    # 8 replications: a three-day week's garbage median varies a lot between replications (one
    # fragmented replication may have its bins found by a pooled patrol on the spot)
    return decompose(no_joint_matters, METRICS, replications=REPLICATIONS)


def test_a_lever_that_cannot_matter_has_zero_effect_within_its_interval(decomposition):
    for metric in METRICS:
        table = decomposition.metric_table(metric)
        for effect in table["effects"]:
            if "coordination" in effect["levers"]:
                assert effect["ci_low"] <= 0 <= effect["ci_high"]
                assert effect["mean"] == pytest.approx(0, abs=1e-9)
        coordination = next(s for s in table["shares"] if s["lever"] == "coordination")
        assert coordination["shapley"]["mean"] == pytest.approx(0, abs=1e-9)
        assert coordination["context_min"] == pytest.approx(0, abs=1e-9) == coordination["context_max"]


def test_coordination_matters_once_a_matter_needs_two_departments(classroom_data):
    """The control for the test above: the same town with its police-and-enforcement matter.

    Its whole eight days: in three, a few dozen such matters left the effect to chance (it came out at 5.9,
    -4.8 and -0.7 minutes under three sets of random streams); over eight it is 45-95 minutes each time.
    """
    scenario = sim.scenario_from_dict(classroom_data)
    result = decompose(scenario, ("by_type.locked_parking_space.response_min.mean",), replications=2)
    table = result.metric_table("by_type.locked_parking_space.response_min.mean")
    assert any(abs(e["mean"]) > 1 for e in table["effects"] if "coordination" in e["levers"])


def test_levers_that_matter_are_found(decomposition):
    table = decomposition.metric_table("by_type.garbage_overflow.response_min.median")
    information = next(s for s in table["shares"] if s["lever"] == "information")
    assert information["shapley"]["ci_high"] < 0, "the shared channel must lower the garbage median"


def test_shapley_shares_add_up_to_the_change_exactly(decomposition):
    for metric in METRICS:
        table = decomposition.metric_table(metric)
        total = sum(s["shapley"]["mean"] for s in table["shares"])
        assert total == pytest.approx(table["to"]["mean"] - table["from"]["mean"], rel=1e-9, abs=1e-9)
        assert total == pytest.approx(table["change"]["mean"], rel=1e-9, abs=1e-9)


def test_main_effects_plus_odd_interactions_give_the_change(decomposition):
    """y(all on) - y(all off) = sum of the effects of odd order (2-level factorial algebra)."""
    table = decomposition.metric_table("response_min.p90")
    odd = sum(e["mean"] for e in table["effects"] if len(e["levers"]) % 2 == 1)
    assert odd == pytest.approx(table["change"]["mean"], rel=1e-9)


def test_the_processes_backend_gives_the_same_numbers(no_joint_matters, decomposition):
    other = decompose(no_joint_matters, METRICS, replications=REPLICATIONS, backend="processes", workers=2)
    for metric in METRICS:
        assert np.array_equal(other.values[metric], decomposition.values[metric])


def test_waterfall_ends_at_the_last_mode(decomposition):
    table = decomposition.metric_table("response_min.p90")
    ax = plots.plot_waterfall(table)
    bars = ax.patches
    assert len(bars) == 2 + 4
    assert bars[0].get_height() == pytest.approx(table["from"]["mean"])
    assert bars[-1].get_height() == pytest.approx(table["to"]["mean"])
    step_ends = bars[-2].get_y() + bars[-2].get_height()
    assert step_ends == pytest.approx(table["to"]["mean"])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "fragmented",
        "authority",
        "information",
        "dispatch",
        "coordination",
        "unified",
    ]


# --------------------------------------------------------------------------- command line


def test_decompose_command_writes_tables_and_figure(tmp_path, capsys):
    code = main(
        [
            "decompose",
            CLASSROOM,
            "--days",
            "2",
            "-r",
            "3",
            "--backend",
            "serial",
            "--type",
            "garbage_overflow",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for words in (
        "Shapley share",
        "switched alone",
        "switched last",
        "leave_probability",
        "interactions have intervals that include 0",
    ):
        assert words in out
    data = json.loads((tmp_path / "decompose.json").read_text())
    assert set(data["metrics"]) == {
        "by_type.garbage_overflow.response_min.median",
        "by_type.garbage_overflow.response_min.p90",
        "response_min.median",
        "response_min.p90",
    }
    assert (tmp_path / "effects.csv").read_text().startswith("metric,term,kind,mean,ci_low,ci_high")
    assert (tmp_path / "figures" / "waterfall.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, words",
    [
        (["--metrics", "response_min.medain"], "unknown metric 'response_min.medain'"),
        (["--from", "fragmentd"], "unknown mode 'fragmentd'"),
        (["-r", "1"], "at least 2"),
        (["--type", "garbage"], "unknown incident type 'garbage'"),
        (["--from", "unified", "--to", "unified"], "nothing to decompose"),
    ],
)
def test_decompose_mistakes_exit_2(args, words, capsys):
    assert main(["decompose", CLASSROOM, "--days", "2", "--backend", "serial", *args]) == 2
    assert words in capsys.readouterr().err
