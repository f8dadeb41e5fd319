"""Global sensitivity: ranges to SALib's problem, a parameter that does not enter the model, the command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.planning.sensitivity import Factor, analyse, factors_of, problem_of, sample, sensitivity
from sim.presentation import figures as plots
from tests.conftest import ROOT, SCENARIOS

SHIPPED = ROOT / "scenarios" / "sweeps" / "sensitivity_anhai.yaml"


def sweep_file(tmp_path, parameters: dict, **extra) -> str:
    """A sweep file over the classroom town (two days) with *parameters*."""
    data = {
        "name": "classroom_sensitivity",
        "scenario": str(SCENARIOS / "classroom.yaml"),
        "set": ["days=2"],
        "parameters": parameters,
        "design": "sobol",
        "samples": 16,
        "seed": 3,
        "modes": ["joint"],
        "metrics": ["utilisation.sanitation", "by_type.garbage_overflow.response_min.mean"],
        **extra,
    }
    path = tmp_path / "sensitivity.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


CREW = "departments.sanitation.crew"  # reported, not simulated: cannot change any run
UNITS = "departments.sanitation.units"
RATE = "incident_types.garbage_overflow.rate_per_day"
KNOWN = {
    UNITS: {"low": 1, "high": 4, "integer": True},
    CREW: {"low": 1, "high": 6, "integer": True},
    RATE: {"low": 4, "high": 24},
}


# --------------------------------------------------------------------------- factors


def test_factors_map_salib_coordinates_to_values():
    whole = Factor("a", 1, 4, integer=True)
    assert whole.bounds() == [1, 5]
    assert [whole.value(x) for x in (1.0, 1.99, 4.5, 5.0)] == [1, 1, 4, 4]
    logged = Factor("b", 1, 100, log=True)
    assert logged.value(math.log(10)) == pytest.approx(10)
    listed = Factor("c", values=("none", "all"))
    assert listed.bounds() == [0.0, 2.0] and [listed.value(x) for x in (0.2, 1.7, 2.0)] == ["none", "all", "all"]


def test_factors_come_from_the_sweep_file(tmp_path):
    path = sweep_file(tmp_path, {**KNOWN, "territory.distance": ["euclidean", "manhattan"]})
    factors = factors_of(path)
    assert [f.path for f in factors] == [*KNOWN, "territory.distance"]
    assert factors[0] == Factor(UNITS, 1, 4, integer=True)
    assert problem_of(factors)["bounds"][2] == [4.0, 24.0]


def test_steps_are_refused_with_the_form_to_use(tmp_path):
    path = sweep_file(tmp_path, {UNITS: {"from": 1, "to": 4, "step": 1}}, design="factorial", samples=None)
    with pytest.raises(ScenarioError, match=r"expected \{low, high\}"):
        factors_of(path)


def test_sobol_sample_needs_a_power_of_two():
    with pytest.raises(ScenarioError, match="power of 2"):
        sample(problem_of([Factor("a")]), "sobol", 24, seed=1)


def test_our_analysis_recovers_ishigami_indices():
    """SALib's reference function through our sample and analyse: S1 of x3 is 0, ST of x1 is 0.56."""
    from SALib.test_functions import Ishigami

    problem = problem_of([Factor(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)])
    x = sample(problem, "sobol", 1024, seed=1)
    found = analyse(problem, "sobol", x, Ishigami.evaluate(x), seed=1)
    assert found["S1"] == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert found["ST"] == pytest.approx([0.558, 0.442, 0.244], abs=0.05)


# --------------------------------------------------------------------------- a parameter that cannot matter


@pytest.fixture(scope="module")
def sobol(tmp_path_factory):
    return sensitivity(sweep_file(tmp_path_factory.mktemp("s"), KNOWN), samples=128)


def _row(result, metric, parameter):
    return next(r for r in result.indices if r["metric"] == metric and r["parameter"] == parameter)


def test_a_parameter_outside_the_model_has_zero_indices(sobol):
    for metric in sobol.metrics:
        crew = _row(sobol, metric, CREW)
        assert crew["S1"] == 0 and crew["ST"] == 0 and crew["S1_conf"] == 0 and crew["ST_conf"] == 0


def test_the_parameters_that_carry_the_load_are_found(sobol):
    # utilisation = busy / on-duty minutes: it rises with the rate and falls with the units
    for parameter in (UNITS, RATE):
        row = _row(sobol, "utilisation.sanitation", parameter)
        assert row["ST"] - row["ST_conf"] > 0.05, row
    assert len(sobol.points) == 128 * (3 + 2) and len(sobol.runs) == len(sobol.points)


def test_morris_screening_gives_the_dummy_no_effect(tmp_path):
    result = sensitivity(sweep_file(tmp_path, KNOWN), method="morris", samples=6, metrics=["utilisation.sanitation"])
    crew, rate = (_row(result, "utilisation.sanitation", p) for p in (CREW, RATE))
    assert crew["mu_star"] == 0 and crew["sigma"] == 0
    assert rate["mu_star"] - rate["mu_star_conf"] > 0


def test_sensitivity_bars_show_both_indices(sobol):
    rows = [r for r in sobol.indices if r["metric"] == "utilisation.sanitation"]
    ax = plots.plot_sensitivity(rows)
    assert len(ax.patches) == 2 * 3
    assert "exactly 0" in [t.get_text() for t in ax.texts]
    assert ax.get_yticklabels()[-1].get_text() == "sanitation.crew", "the dummy comes last"


# --------------------------------------------------------------------------- the command


def test_sensitivity_command_writes_indices_and_figures(tmp_path, capsys):
    path = sweep_file(tmp_path, KNOWN)
    assert (
        main(
            [
                "sensitivity",
                path,
                "--backend",
                "serial",
                "--samples",
                "8",
                "--metrics",
                "utilisation.sanitation",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "S1 (first order)" in out and "ST (total)" in out and CREW in out
    data = json.loads((tmp_path / "out" / "sensitivity.json").read_text())
    assert data["method"] == "sobol" and data["points"] == 8 * 5
    assert data["provenance"]["seed"] == data["seed"] and len(data["provenance"]["code_sha256"]) == 64
    assert (tmp_path / "out" / "indices.csv").read_text().startswith("mode,metric,parameter,S1,S1_conf,ST,ST_conf")
    assert (tmp_path / "out" / "figures" / "sensitivity_utilisation_sanitation.png").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--samples", "12"], "power of 2"),
        (["--metrics", "response_min.p99"], "unknown 'response_min.p99'"),
        (["--modes", "unifed"], "unknown 'unifed'"),
    ],
)
def test_sensitivity_mistakes_exit_2(tmp_path, args, words, capsys):
    assert main(["sensitivity", sweep_file(tmp_path, KNOWN), "--backend", "serial", *args]) == 2
    assert words in capsys.readouterr().err


def test_failed_runs_name_the_values(tmp_path, capsys):
    path = sweep_file(tmp_path, {UNITS: {"low": 0, "high": 2, "integer": True}}, modes=["fragmented"])
    assert main(["sensitivity", path, "--backend", "serial", "--samples", "4"]) == 2
    assert "Narrow the parameter ranges" in capsys.readouterr().err


def test_the_shipped_example_is_a_valid_sensitivity_sweep():
    factors = factors_of(SHIPPED)
    assert 4 <= len(factors) <= 6
    assert all(not f.values for f in factors)
    problem = problem_of(factors)
    assert np.all(np.array(problem["bounds"])[:, 0] < np.array(problem["bounds"])[:, 1])
