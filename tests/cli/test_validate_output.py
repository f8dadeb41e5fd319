"""``validate`` shows what a file builds; ``validate``, ``run`` and ``compare`` say when a town is overloaded."""

from __future__ import annotations

import json

import yaml

from sim.cli import main
from tests.conftest import SCENARIOS
from tests.stats.test_capacity import one_crew


def _uneven_file(tmp_path):
    """The classroom town with ``sectors: [5, 4]``, meant as two sectors: 20 uneven ones are built."""
    data = yaml.safe_load((SCENARIOS / "classroom.yaml").read_text(encoding="utf-8"))
    grid = data["territory"]["grid"]
    grid.update(rows=8, cols=10, sectors=[5, 4])
    path = tmp_path / "uneven.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_validate_shows_an_uneven_sector_split(tmp_path, capsys):
    path = _uneven_file(tmp_path)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{path}: valid scenario")
    assert "territory: 80 patches (8 x 10 grid" in out
    # 8 rows in 5 blocks (1 or 2 rows), 10 columns in 4 blocks (2 or 3 columns): 2 to 6 patches
    assert "sectors: 20 (sectors [5, 4] = 5 x 4 blocks; uneven: 2-6 patches each)" in out


def test_validate_shows_units_on_duty_levers_and_load(capsys):
    assert main(["validate", str(SCENARIOS / "anhai_garbage.yaml")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "sectors: 6 (sectors [2, 3] = 2 x 3 blocks; uneven: 6-12 patches each)" in out
    market = next(line for line in out.splitlines() if line.startswith("market "))
    assert "0-4" in market and "128 h: Mon-Fri 00-08, 12-14, 18-24; Sat-Sun all day" in market
    pooled = next(line for line in out.splitlines() if line.startswith("pooled "))
    assert pooled.split()[1:] == ["none", "none", "enforcement,", "traffic"]
    assert next(line for line in out.splitlines() if line.startswith("information ")).split()[1:] == [
        "referral",
        "instant",
        "instant",
    ]
    assert "leave_probability  0.5" in out
    assert "offered load: utilisation" in out
    assert "note: department 'market' has no unit on duty 128 h a week" in captured.err
    assert "warning" not in captured.err


def test_validate_json_has_the_same_content(tmp_path, capsys):
    path = _uneven_file(tmp_path)
    assert main(["validate", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sectors = data["territory"]["sectors"]
    assert sectors["count"] == 20 and sectors["blocks"] == [5, 4] and not sectors["even"]
    assert (sectors["patches_min"], sectors["patches_max"]) == (2, 6)
    assert sum(sectors["patches"].values()) == 80
    department = data["departments"][0]
    assert (
        len(department["units_on_duty_by_hour"]) == 168
        and department["people"] == department["units"] * department["crew"]
    )
    assert {x["mode"] for x in data["load"]["loads"]} == set(data["modes"])
    assert data["modes"]["fragmented"]["information"] == "referral"


def test_validate_json_of_an_invalid_file_exits_2_with_messages(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text((SCENARIOS / "classroom.yaml").read_text(encoding="utf-8").replace("units: 2", "units: -2", 1))
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"error: {path}:") and "Traceback" not in captured.err


def _overloaded(tmp_path):
    path = tmp_path / "overloaded.yaml"
    path.write_text(yaml.safe_dump(one_crew()), encoding="utf-8")
    return path


def test_overloaded_town_is_said_before_the_run_by_validate(tmp_path, capsys):
    assert main(["validate", str(_overloaded(tmp_path))]) == 0
    captured = capsys.readouterr()
    assert "warning: department 'crew' is over capacity in joint" in captured.err
    assert "(utilisation 1.50)" in captured.err
    assert "1.50 (1.50 Mon 00:00) OVER" in captured.out


def test_overloaded_town_is_said_before_and_after_the_run(tmp_path, capsys):
    assert main(["run", str(_overloaded(tmp_path))]) == 0
    err = capsys.readouterr().err.splitlines()
    before = next(i for i, line in enumerate(err) if "is over capacity in joint" in line)
    after = next(i for i, line in enumerate(err) if "the backlog of 'crew' grew through the run in joint" in line)
    assert before < after


def test_stable_town_runs_without_warnings(tmp_path, capsys):
    path = tmp_path / "stable.yaml"
    path.write_text(yaml.safe_dump(one_crew(rate_per_day=72, days=8)), encoding="utf-8")  # one whole week measured
    assert main(["compare", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_validate_shows_centres_and_the_border_lever(capsys):
    assert main(["validate", str(SCENARIOS / "jinjiang.yaml")]) == 0
    out = capsys.readouterr().out
    assert "command centres: 460 (governance.centres)" in out
    assert "  town: 19 (26 operators, passing up to jinjiang)" in out
    assert (
        "  village: 440 (440 operators, passing up to 19 centres (town1, town2, town3, ...); 35 serve a grid across a sector border)"
        in out
    )
    borders = next(line for line in out.splitlines() if line.startswith("dispatch_across_borders "))
    assert borders.split()[1:] == ["off", "off", "off", "on"]


def test_validate_warns_when_a_campaign_pushes_a_department_over_capacity(tmp_path, capsys):
    data = one_crew(rate_per_day=72)
    data["campaigns"] = [
        {
            "name": "night_market_check",
            "schedule": {"every": "week", "days": "daily", "start": "06:00"},
            "duration_min": 840,
            "departments": {"crew": 1},
            "finds_per_unit_hour": {"job": 0.0},
        }
    ]
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert "warning: department 'crew' is over capacity" in captured.err
    assert "campaign 'night_market_check'" in captured.err and "push it over" in captured.err
    assert "campaigns take units off response duty (unit-hours a week" in captured.out
    assert "crew 98.0 (night_market_check)" in captured.out
    assert main(["validate", str(path), "--json"]) == 0
    (load,) = json.loads(capsys.readouterr().out)["load"]["loads"]
    assert load["campaign_unit_min_per_week"] == 7 * 840 and load["campaigns"] == ["night_market_check"]
