"""One meaning of team size, and pooling that names its departments (issue 14, items 5 and 6).

A department's shift windows are a rota pattern that its ``units`` scale; the same team size set
in the file, with ``--set``, in a sweep or by ``staff`` gives byte-identical runs. ``day_night``
never empties a shift it can staff. ``poolable`` is false unless the scenario says so, and
``validate`` lists what each mode pools and warns about settings that have no effect.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

import sim
from sim.cli import main
from sim.experiments.runs import run_point, run_sweep
from sim.io.loader import read_yaml, scenario_from_dict
from sim.io.results import write_incidents
from sim.io.sweepfile import load_sweep
from sim.planning.staffing import staffed_scenario
from sim.scenario.checks import warnings
from sim.scenario.governance import modes_of, pooled_departments
from sim.scenario.schema import Department, apportion
from tests.conftest import SCENARIOS

ANHAI = SCENARIOS / "anhai_garbage.yaml"
SHORT = ["days=2", "warmup_days=0.5", "drain_days=1"]
METRICS = (
    "response_min.mean",
    "response_min.p90",
    "within_target",
    "utilisation.sanitation",
    "by_type.garbage_overflow.response_min.median",
)


def _counts(**department) -> list[int]:
    base = {"name": "d", "units": 15}
    return [w.units for w in Department(**{**base, **department}).shift_windows()]


def _incidents_csv(scenario, mode: str, tmp_path, name: str) -> bytes:
    """One run's incident records, as the bytes of incidents.csv."""
    output = sim.run(scenario, mode)
    path = tmp_path / name
    write_incidents(path, [(mode, 0, r) for r in output.records])
    return path.read_bytes()


# --------------------------------------------------------------------------- apportioning units


def test_apportion_is_largest_remainder_and_keeps_totals():
    assert apportion([10, 4, 1], 30) == [20, 8, 2]
    assert apportion([10, 4, 1], 15) == [10, 4, 1]
    assert apportion([11, 6], 5) == [3, 2]  # quotas 3.24, 1.76
    assert apportion([3, 2, 1], 5) == [2, 2, 1]  # quotas 2.5, 1.67, 0.83: largest remainders, not half-to-even
    assert apportion([1, 1], 3) == [2, 1]  # a tie goes to the earlier window
    assert apportion([0, 0], 4) == [0, 0]
    for total in range(60):
        assert sum(apportion([10, 4, 1], total)) == total


def test_apportion_leaves_no_window_empty_while_there_is_a_unit_for_each():
    assert apportion([10, 4, 1], 3) == [1, 1, 1]
    assert apportion([10, 4, 1], 2) == [1, 1, 0]  # fewer units than windows: largest remainder only (1.33, 0.53, 0.13)
    assert apportion([10, 0, 1], 3) == [2, 0, 1]  # a window without units in the pattern stays empty


def test_day_night_rounds_half_up_and_never_empties_a_shift():
    """Half to even gave 2 units x 0.75 -> 2 by day and none at night."""
    assert _counts(units=2, shift="day_night", day_share=0.75) == [1, 1]
    assert _counts(units=10, shift="day_night", day_share=0.65) == [7, 3]  # 6.5 rounds up (half-even gave 6)
    assert _counts(units=3, shift="day_night", day_share=0.5) == [2, 1]
    assert _counts(units=2, shift="day_night", day_share=0.95) == [1, 1]
    assert _counts(units=1, shift="day_night", day_share=0.75) == [1, 0]
    assert _counts(units=4, shift="day_night", day_share=1.0) == [4, 0]
    assert _counts(units=4, shift="day_night", day_share=0.0) == [0, 4]
    for units in range(2, 40):
        for share in (0.01, 0.25, 0.5, 0.65, 0.75, 0.99):
            day, night = _counts(units=units, shift="day_night", day_share=share)
            assert day + night == units and day >= 1 and night >= 1


def test_explicit_windows_are_a_pattern_that_the_units_scale():
    rota = [
        {"times": ["08:00-17:00"], "units": 10},
        {"times": ["17:00-22:30"], "units": 4},
        {"times": ["22:30-08:00"], "units": 1},
    ]
    assert Department(name="d", units=15, shift=rota).pattern_units() == 15
    assert _counts(units=15, shift=rota) == [10, 4, 1]  # at the pattern's size: as written
    assert _counts(units=30, shift=rota) == [20, 8, 2]
    assert _counts(units=7, shift=rota) == [4, 2, 1]  # quotas 4.67, 1.87, 0.47 -> 5, 2, 0; the night keeps one
    assert _counts(units=0, shift=rota) == [0, 0, 0]


def test_the_pattern_size_counts_each_day_once():
    """Weekday and weekend windows are two days' rotas, not one rota of their sum."""
    rota = [
        {"days": "weekdays", "times": ["08:00-17:00"], "units": 8},
        {"days": "weekends", "times": ["08:00-17:00"], "units": 4},
        {"times": ["17:00-08:00"], "units": 2},
    ]
    assert Department(name="d", units=10, shift=rota).pattern_units() == 10
    assert _counts(units=10, shift=rota) == [8, 4, 2]
    assert _counts(units=20, shift=rota) == [16, 8, 4]


# --------------------------------------------------------------------------- three ways, one run


def test_team_size_set_in_the_file_with_set_and_by_staff_gives_the_same_run(tmp_path):
    """The issue's case: --set departments.sanitation.units=30 changed nothing; now it doubles every window."""
    data, _ = read_yaml(ANHAI)
    edited = json.loads(json.dumps(data))
    next(d for d in edited["departments"] if d["name"] == "sanitation")["units"] = 30
    in_file = scenario_from_dict(edited, overrides=SHORT)
    with_set = sim.load_scenario(ANHAI, SHORT + ["departments.sanitation.units=30"])
    by_staff = scenario_from_dict(staffed_scenario(data, {"sanitation": 30}), overrides=SHORT)
    original = sim.load_scenario(ANHAI, SHORT)
    assert [w.units for w in with_set.department("sanitation").shift_windows()] == [20, 8, 2]
    runs = {
        name: _incidents_csv(s, "unified", tmp_path, f"{name}.csv")
        for name, s in (("file", in_file), ("set", with_set), ("staff", by_staff), ("original", original))
    }
    assert runs["file"] == runs["set"] == runs["staff"]
    assert runs["set"] != runs["original"], "30 sanitation units must run differently from 15"


def test_team_size_in_a_sweep_gives_the_same_numbers_as_the_file(tmp_path):
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        f"name: sanitation_size\nscenario: {ANHAI}\nset: [{', '.join(SHORT)}]\n"
        "parameters:\n  departments.sanitation.units: [15, 30]\n"
        f"modes: [unified]\nreplications: 1\nmetrics: [{', '.join(METRICS)}]\n",
        encoding="utf-8",
    )
    result = run_sweep(load_sweep(sweep_file), None, backend="serial", progress=False)
    rows = {row["departments.sanitation.units"]: row for row in result.runs}
    data, _ = read_yaml(ANHAI)
    edited = json.loads(json.dumps(data))
    next(d for d in edited["departments"] if d["name"] == "sanitation")["units"] = 30
    in_file = scenario_from_dict(edited, overrides=SHORT)
    direct = run_point(in_file, "unified", rows[30]["seed"], 0, METRICS)
    for metric in METRICS:
        assert rows[30][metric] == direct[metric], metric
    assert rows[30]["utilisation.sanitation"] < rows[15]["utilisation.sanitation"]


def test_shipped_team_size_sweep_really_varies_the_team():
    sweep = load_sweep(SCENARIOS / "sweeps" / "unified_team_size.yaml")
    sizes = [point["departments.enforcement.units"] for point in sweep.points]
    assert len(sizes) >= 4
    scenarios = [
        sim.load_scenario(ANHAI, ["days=2", "warmup_days=0.5", f"departments.enforcement.units={n}"]) for n in sizes
    ]
    windows = [tuple(w.units for w in s.department("enforcement").shift_windows()) for s in scenarios]
    assert len(set(windows)) == len(sizes), windows
    assert all(sum(w) == n for w, n in zip(windows, sizes))
    utilisation = [
        run_point(s, "unified", 20230601, 0, ("utilisation.enforcement",))["utilisation.enforcement"] for s in scenarios
    ]
    assert len(set(utilisation)) == len(sizes), utilisation


# --------------------------------------------------------------------------- pooling


def test_pooling_names_its_departments(tmp_path):
    """No department is poolable by default: the unified preset's team is what the file names."""
    assert Department(name="d", units=1).poolable is False
    data, _ = read_yaml(SCENARIOS / "classroom.yaml")
    for department in data["departments"]:
        department.pop("poolable", None)
    plain = scenario_from_dict(data)
    assert pooled_departments(plain) == {"fragmented": [], "joint": [], "unified": []}
    assert modes_of(plain)["unified"].pooled == frozenset()
    assert any("no department is marked poolable" in message for _, message in warnings(plain))
    explicit = scenario_from_dict(data, overrides=["governance.modes.unified.authority.pooled=none"])
    assert not any("pool" in message for _, message in warnings(explicit)), "pooling none on purpose is no mistake"
    named = scenario_from_dict(data, overrides=["governance.modes.unified.authority.pooled=[enforcement, police]"])
    assert pooled_departments(named)["unified"] == ["enforcement", "police"]
    marked = scenario_from_dict(
        data, overrides=["departments.sanitation.poolable=true", "departments.enforcement.poolable=true"]
    )
    assert pooled_departments(marked)["unified"] == ["enforcement", "sanitation"]


@pytest.mark.parametrize(
    "file_name, team",
    [
        ("classroom.yaml", ["enforcement", "sanitation"]),
        ("anhai_garbage.yaml", ["enforcement", "traffic"]),
        ("anhai.yaml", ["enforcement", "traffic"]),
        ("zhewang.yaml", ["urban", "safety", "fishery", "agriculture", "culture"]),
        ("huagang.yaml", ["enforcement", "social_management"]),
        ("jinjiang.yaml", ["enforcement", "traffic"]),
    ],
)
def test_every_shipped_scenario_names_its_team_with_a_basis(file_name, team):
    path = SCENARIOS / file_name
    scenario = sim.load_scenario(path)
    pools = pooled_departments(scenario)
    assert pools["unified"] == team
    assert "police" not in team, "police keep their own powers"
    assert all(pools[m] == [] for m in ("fragmented", "joint"))
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    basis = [line for line in header if line.startswith("# Unified team")]
    assert basis and "seeds/" in " ".join(header[header.index(basis[0]) : header.index(basis[0]) + 5])
    assert warnings(scenario) == [], "a shipped scenario has no setting without effect"


# --------------------------------------------------------------------------- validate


def _validate(*argv) -> tuple[int, str]:
    """Exit code and what ``validate`` printed (the table on stdout, warnings on stderr)."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(["validate", *argv])
    return code, out.getvalue()


def test_validate_lists_what_each_mode_pools():
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["validate", str(SCENARIOS / "anhai.yaml"), "--json"]) == 0
    pooled = {mode: spec["pooled"] for mode, spec in json.loads(out.getvalue())["modes"].items()}
    assert pooled["fragmented"] == []
    assert pooled["unified"] == pooled["unified_closed_loop"] == ["enforcement", "traffic"]
    code, text = _validate(str(SCENARIOS / "anhai.yaml"))
    assert code == 0
    row = next(line for line in text.splitlines() if line.startswith("pooled "))
    header = next(line for line in text.splitlines() if line.startswith("lever "))
    assert header.split()[1:] == list(pooled)  # one column per mode, in the file's order
    assert row.count("enforcement, traffic") == sum(1 for p in pooled.values() if p == ["enforcement", "traffic"])


def test_validate_warns_about_settings_without_effect_and_shows_scaled_windows():
    code, text = _validate(
        str(ANHAI),
        "--set",
        "departments.sanitation.units=30",
        "--set",
        "departments.market.day_share=0.5",
        "--set",
        "governance.modes.unified.authority.pooled=[enforcement]",
    )
    assert code == 0
    lines = [line for line in text.splitlines() if line.startswith("warning:")]
    assert any(
        "departments.sanitation.shift" in line and "08:00-17:00 20, 17:00-22:30 8, 22:30-08:00 2" in line
        for line in lines
    )
    assert any("departments.market.day_share" in line and "no effect" in line for line in lines)
    assert any("governance.modes.unified.authority.pooled" in line and "only 'enforcement'" in line for line in lines)
    code, text = _validate(str(ANHAI))
    assert code == 0 and "warning:" not in text


def test_a_rota_without_units_is_a_warning():
    scenario = sim.load_scenario(ANHAI, ["departments.sanitation.shift=[{times: ['08:00-17:00'], units: 0}]"])
    assert (
        ("departments", "sanitation", "units"),
        "has no effect: no shift window has units, so the 15 unit(s) are never on duty",
    ) in warnings(scenario)
