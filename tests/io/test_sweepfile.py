"""Sweep files: validation with file, line, key path and what was expected; designs; fingerprints; shipped examples."""

from __future__ import annotations

import copy
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.runs import run_sweep
from sim.io.loader import apply_overrides, read_yaml
from sim.io.sweepfile import load_sweep, override_text, sweep_from_dict
from tests.conftest import SCENARIOS

SWEEPS = sorted((SCENARIOS / "sweeps").glob("*.yaml"))
CLASSROOM = str(SCENARIOS / "classroom.yaml")


def _write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _sweep(**fields) -> dict:
    data = {"scenario": CLASSROOM, "set": ["days=2", "warmup_days=0.5", "drain_days=0.5"], "replications": 2}
    data.update(fields)
    return data


def _problems(tmp_path, text) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_sweep(_write(tmp_path, text))
    return [str(p) for p in caught.value.problems]


# --------------------------------------------------------------------------- designs


def test_factorial_points_in_order_and_ranges_inclusive():
    sweep = sweep_from_dict(
        _sweep(
            parameters={
                "departments.sanitation.units": {"from": 1, "to": 3, "step": 1},
                "governance.referral.handover_min.mean": {"from": 0.1, "to": 0.3, "count": 3},
                "target_min": [20, 40],
            }
        )
    )
    assert len(sweep.points) == 3 * 3 * 2
    assert sweep.points[0] == {
        "departments.sanitation.units": 1,
        "governance.referral.handover_min.mean": 0.1,
        "target_min": 20,
    }
    assert sweep.points[1]["target_min"] == 40  # the last parameter varies fastest
    assert sorted({p["governance.referral.handover_min.mean"] for p in sweep.points}) == [0.1, 0.2, 0.3]
    assert all(isinstance(p["departments.sanitation.units"], int) for p in sweep.points)
    assert sweep.overrides(0) == (
        "departments.sanitation.units=1",
        "governance.referral.handover_min.mean=0.1",
        "target_min=20",
    )


def test_no_parameters_is_one_point():
    sweep = sweep_from_dict(_sweep())
    assert sweep.points == ({},) and sweep.modes == ("fragmented", "joint", "unified") and sweep.seed == 7


@pytest.mark.parametrize("design, samples", [("lhs", 10), ("sobol", 16)])
def test_space_filling_designs_stay_in_bounds_and_fill_them(design, samples):
    sweep = sweep_from_dict(
        _sweep(
            design=design,
            samples=samples,
            seed=5,
            parameters={
                "incident_types.garbage_overflow.rate_per_day": {"low": 2, "high": 12},
                "departments.sanitation.units": {"low": 1, "high": 4, "integer": True},
                "governance.modes.unified.leave_probability": [0, 0.5],
            },
        )
    )
    rates = np.array([p["incident_types.garbage_overflow.rate_per_day"] for p in sweep.points])
    units = [p["departments.sanitation.units"] for p in sweep.points]
    assert len(sweep.points) == samples
    assert ((rates >= 2) & (rates <= 12)).all()
    assert set(units) <= {1, 2, 3, 4} and all(isinstance(u, int) for u in units)
    assert {p["governance.modes.unified.leave_probability"] for p in sweep.points} == {0, 0.5}
    strata = np.floor((rates - 2) / 10 * samples).astype(int)
    if design == "lhs":  # a Latin hypercube has exactly one point in each of the n equal slices
        assert sorted(strata) == list(range(samples))
    else:  # a balanced Sobol sample: half the points in each half
        assert (rates < 7).sum() == samples // 2


def test_same_seed_same_design_other_seed_other_design():
    def points(seed):
        return sweep_from_dict(
            _sweep(design="lhs", samples=6, seed=seed, parameters={"target_min": {"low": 10, "high": 60}})
        ).points

    assert points(1) == points(1)
    assert points(1) != points(2)


def test_log_interval():
    sweep = sweep_from_dict(
        _sweep(design="lhs", samples=20, seed=3, parameters={"target_min": {"low": 1, "high": 1000, "log": True}})
    )
    values = np.log10([p["target_min"] for p in sweep.points])
    assert (values >= 0).all() and (values <= 3).all()
    assert np.histogram(values, bins=4, range=(0, 3))[0].tolist() == [5, 5, 5, 5]


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "none",
        "12:30",
        "a: b",
        0.1,
        1e-7,
        1e20,
        -3,
        True,
        None,
        [1, "two"],
        {"dist": "lognormal", "mean": 30, "cv": 1.0},
        ["enforcement"],
    ],
)
def test_override_text_reads_back_as_the_same_value(value):
    data, _ = apply_overrides({"name": "x"}, [f"name={override_text(value)}"])
    assert data["name"] == value


# --------------------------------------------------------------------------- validation


def test_unknown_key_with_line_and_suggestion(tmp_path):
    problems = _problems(
        tmp_path,
        f"""
        scenario: {CLASSROOM}
        replicatons: 3
    """,
    )
    assert problems == [
        f"{tmp_path / 'sweep.yaml'}:2: replicatons: unknown key 'replicatons'; did you mean 'replications'?"
    ]


def test_parameter_key_path_is_checked_against_the_scenario(tmp_path):
    problems = _problems(
        tmp_path,
        f"""
        scenario: {CLASSROOM}
        parameters:
          departments.sanitation.units: [1, 2]
          departments.sanitaton.units: [1, 2]
    """,
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'sweep.yaml'}:4: parameters.departments.sanitaton.units: ")
    assert "did you mean 'sanitation'" in problems[0]


@pytest.mark.parametrize(
    "body, line, path, words",
    [
        ("modes: [fragmented, unifed]", 2, "modes.1", "did you mean 'unified'"),
        ("metrics: [response_min.medain]", 2, "metrics.0", "did you mean 'response_min.median'"),
        ("replications: 0", 2, "replications", "expected a number of 1 or more; got 0"),
        ("design: latin", 2, "design", "expected one of 'factorial', 'lhs' or 'sobol'"),
        ("parameters:\n  target_min: {low: 1, high: 5}", 3, "parameters.target_min", "expected design lhs or sobol"),
        ("parameters:\n  target_min: 30", 3, "parameters.target_min", "expected a list of values"),
        ("parameters:\n  target_min: []", 3, "parameters.target_min", "an empty list"),
        ("parameters:\n  target_min: {from: 5, to: 1, step: 1}", 3, "parameters.target_min", "to >= from"),
        ("parameters:\n  seed: [1, 2]", 3, "parameters.seed", "cannot be varied"),
        (
            "design: sobol\nsamples: 10\nparameters:\n  target_min: {low: 1, high: 5}",
            3,
            "samples",
            "power of 2 (e.g. 8 or 16)",
        ),
        (
            "design: lhs\nparameters:\n  target_min: {low: 1, high: 5}",
            2,
            "samples",
            "required key 'samples' is missing",
        ),
        (
            "stopping: {metric: within_target, relative_half_width: 0.1}\nreplications: 1",
            3,
            "replications",
            "at least 2",
        ),
        (
            "stopping: {metric: within_targt, relative_half_width: 0.1}\nreplications: 2",
            2,
            "stopping.metric",
            "did you mean 'within_target'",
        ),
        (
            "set: [departments.sanitation.units=-1]",
            2,
            "set: departments.sanitation.units",
            "expected a number of 0 or more; got -1",
        ),
        ("set: [departments.nobody.units=3]", 2, "set.0", "no item 'nobody'"),
    ],
)
def test_problems_name_file_line_key_path_and_expectation(tmp_path, body, line, path, words):
    text = f"scenario: {CLASSROOM}\n" + body + "\n"
    problems = _problems(tmp_path, text)
    source = str(tmp_path / "sweep.yaml")
    where = f"{source}:{line}" if line else source
    assert any(p.startswith(f"{where}: ") and path in p and words in p for p in problems), problems


def test_missing_scenario_file(tmp_path):
    problems = _problems(tmp_path, "scenario: nowhere.yaml\n")
    assert problems == [
        f"{tmp_path / 'sweep.yaml'}:1: scenario: no scenario file at {tmp_path / 'nowhere.yaml'} (the path is relative to the sweep file); expected a YAML scenario file"
    ]


@pytest.mark.parametrize("value", ['""', '" "', "."])
def test_an_empty_scenario_path_or_a_folder_is_a_problem_of_the_sweep_file(tmp_path, value):
    """``scenario: ""`` names the sweep's own folder: the problem is where the path was written, not in the folder."""
    (problem,) = _problems(tmp_path, f"scenario: {value}\n")
    assert problem.startswith(f"{tmp_path / 'sweep.yaml'}:1: scenario: "), problem
    assert "expected a" in problem and ("empty path" in problem or "is a folder" in problem)


def test_problems_in_the_scenario_name_the_scenario_file(tmp_path):
    (tmp_path / "town.yaml").write_text(
        Path(CLASSROOM).read_text().replace("units: 2\n    base: r2c0", "units: -2\n    base: r2c0")
    )
    problems = _problems(tmp_path, "scenario: town.yaml\n")
    assert (
        len(problems) == 1
        and problems[0].startswith(f"{tmp_path / 'town.yaml'}:")
        and "departments.sanitation.units" in problems[0]
    )


def test_scenario_path_is_relative_to_the_sweep_file(tmp_path):
    folder = tmp_path / "sweeps"
    folder.mkdir()
    (tmp_path / "town.yaml").write_text(Path(CLASSROOM).read_text())
    sweep = load_sweep(_write(folder, "scenario: ../town.yaml\nmodes: [joint]\n"))
    assert sweep.scenario["name"] == "classroom" and sweep.modes == ("joint",) and sweep.out == Path("results/sweep")


def test_every_value_of_a_parameter_is_checked_when_the_file_is_read(tmp_path):
    """A bad value anywhere in a list, a range or at an interval's end is a problem at load time,
    on the parameter's line, not an error row after the other runs."""
    problems = _problems(
        tmp_path,
        f"""
        scenario: {CLASSROOM}
        parameters:
          departments.sanitation.units: [1, 2, -1]
          target_min: {{from: 10, to: 40, step: 10}}
        """,
    )
    assert problems == [
        f"{tmp_path / 'sweep.yaml'}:3: parameters.departments.sanitation.units: the value -1 is not allowed: "
        "expected a number of 0 or more; got -1"
    ]
    problems = _problems(
        tmp_path,
        f"""
        scenario: {CLASSROOM}
        design: lhs
        samples: 4
        parameters:
          governance.referral.misroute_probability: {{low: 0.5, high: 1.5}}
        """,
    )
    assert (
        len(problems) == 1 and ":5: parameters.governance.referral.misroute_probability: the value 1.5" in problems[0]
    )


def test_values_are_judged_alone_so_valid_combinations_pass(tmp_path):
    """warmup_days 3 is fine with days 7, though not with the base's 2 days: that waits for the run."""
    sweep = sweep_from_dict(_sweep(parameters={"days": [7], "warmup_days": [3]}))
    assert sweep.points == ({"days": 7, "warmup_days": 3},)


def test_cli_reports_sweep_problems_with_exit_2(tmp_path, capsys):
    path = _write(tmp_path, f"scenario: {CLASSROOM}\nmodes: [unifed]\nmetrics: [zzz]\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {path}:2: modes.0: unknown mode 'unifed'; did you mean 'unified'? (modes are defined in the scenario's governance.modes)",
        f"error: {path}:3: metrics.0: unknown metric 'zzz'; e.g. response_min.median, within_target, by_type.<type>.response_min.p90, "
        "share_over_60, or a function 'module:function'",
    ]
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_follows_what_determines_results(tmp_path):
    base = _sweep(parameters={"target_min": [20, 40]}, out="a")
    first = sweep_from_dict(base).fingerprint()
    assert sweep_from_dict({**base, "out": "b", "name": "other"}).fingerprint() == first
    assert (
        sweep_from_dict({**base, "parameters": {"target_min": [20, 41]}}).fingerprint()["hashes"]["scenario"]
        == first["hashes"]["scenario"]
    )
    changed = sweep_from_dict({**base, "parameters": {"target_min": [20, 41]}}).fingerprint()
    assert changed["hash"] != first["hash"] and changed["hashes"]["sweep"] != first["hashes"]["sweep"]
    other_scenario = sweep_from_dict({**base, "set": base["set"] + ["departments.police.units=2"]}).fingerprint()
    assert (
        other_scenario["hashes"]["scenario"] != first["hashes"]["scenario"]
        and other_scenario["hashes"]["sweep"] == first["hashes"]["sweep"]
    )
    explicit_default = sweep_from_dict({**base, "set": base["set"] + ["target_min=30"]}).fingerprint()
    assert explicit_default == first  # the resolved scenario is hashed: writing out a default changes nothing


# --------------------------------------------------------------------------- shipped examples


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweeps_are_valid_and_run(path, tmp_path):
    """Every example validates as shipped, and a shrunk copy (short horizon, first two points) runs cleanly."""
    sweep = load_sweep(path)
    assert path.read_text(encoding="utf-8").startswith("# ") and sweep.description
    assert 20 <= sweep.runs <= 150, "examples should run in a minute or two"
    data, _ = read_yaml(path)
    small = copy.deepcopy(data)
    small["set"] = small.get("set", []) + ["days=1.5", "warmup_days=0.5", "drain_days=0.5"]
    small["replications"] = 2
    small.pop("stopping", None)
    if small.get("design", "factorial") == "factorial":
        small["parameters"] = {k: v[:2] for k, v in small["parameters"].items()}
    else:
        small["samples"] = 2
    result = run_sweep(
        sweep_from_dict(small, source=str(path), base_dir=path.parent), tmp_path / "out", backend="serial"
    )
    assert not result.failed and len(result.runs) == len(result.sweep.points) * len(result.sweep.modes) * 2
    assert all(not math.isnan(r[m]) for r in result.runs for m in result.sweep.metrics if r[m] is not None)
