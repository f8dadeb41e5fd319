"""The command line as a user runs it: summary table, summary.json contract, incidents.csv."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from sim.cli import main
from sim.io.provenance import stable_part
from tests.conftest import ROOT, SCENARIOS

CLASSROOM = str(SCENARIOS / "classroom.yaml")


def test_compare_prints_modes_side_by_side(capsys):
    assert main(["compare", CLASSROOM]) == 0
    out = capsys.readouterr().out
    for word in ("fragmented", "joint", "unified", "response median, min", "within 30 min", "median vs fragmented"):
        assert word in out


def test_compare_shows_closure_rows_only_when_a_mode_runs_the_loop(capsys):
    assert main(["compare", CLASSROOM]) == 0
    assert "closed on time" not in capsys.readouterr().out
    loop = ["--set", "governance.modes.unified.closed_loop=true", "--set", "governance.closed_loop.deadline_min=240"]
    assert main(["compare", CLASSROOM, *loop]) == 0
    out = capsys.readouterr().out
    for word in ("closure median / p90, min", "closed on time", "closure overdue", "reopen rate"):
        assert word in out
    row = next(line for line in out.splitlines() if line.startswith("closed on time"))
    assert row.split()[-1].endswith("%") and " - " in row  # unified runs the loop, the others do not


def test_summary_json_contract(tmp_path):
    assert main(["compare", CLASSROOM, "--replications", "3", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"scenario", "seed", "version", "modes"} <= summary.keys()
    assert summary["scenario"] == "classroom" and summary["seed"] == 7
    for stats in summary["modes"].values():
        assert isinstance(stats["incidents"], int)
        for key in ("response_min", "resolution_min"):
            assert {"mean", "median", "p90", "p95", "ci_low", "ci_high"} <= stats[key].keys()
            assert stats[key]["ci_low"] <= stats[key]["mean"] <= stats[key]["ci_high"]
        assert 0 <= stats["within_target"] <= 1
        for key in ("seen_not_handled", "referrals", "bounces"):
            assert isinstance(stats[key], int)
        assert all(0 <= u <= 1 for u in stats["utilisation"].values())
        assert set(stats["by_type"]) == {"garbage_overflow", "street_vending", "dispute", "locked_parking_space"}
        assert "median" in stats["by_type"]["garbage_overflow"]["response_min"]


def test_incidents_csv_has_a_row_per_incident(tmp_path):
    assert main(["run", CLASSROOM, "--mode", "joint", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "incidents.csv").open()))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["modes"]) == {"joint"}
    assert rows and all(r["mode"] == "joint" and r["replication"] == "0" for r in rows)
    for key in (
        "occurred_min",
        "detected_min",
        "channel",
        "reached_min",
        "dispatched_min",
        "on_scene_min",
        "resolved_min",
        "departments",
        "units",
        "referrals",
        "bounces",
    ):
        assert key in rows[0]


def test_same_seed_same_files_byte_for_byte(tmp_path):
    """The tables are identical byte for byte; summary.json too, apart from its provenance block's time, host
    and command line (which say when and where it was made, not what it holds)."""
    for name in ("a", "b"):
        assert main(["compare", CLASSROOM, "--seed", "3", "--out", str(tmp_path / name)]) == 0
    for file in ("incidents.csv", "jobs.csv", "scenario.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    a, b = (json.loads((tmp_path / name / "summary.json").read_text()) for name in "ab")
    assert stable_part(a.pop("provenance")) == stable_part(b.pop("provenance"))
    assert a == b
    assert main(["compare", CLASSROOM, "--seed", "4", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "a" / "incidents.csv").read_bytes() != (tmp_path / "c" / "incidents.csv").read_bytes()


def test_days_and_set_override(tmp_path):
    assert (
        main(["run", CLASSROOM, "--days", "3", "--set", "departments.sanitation.units=4", "--out", str(tmp_path)]) == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["days"] == 3


def test_schema_is_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"
    assert {"territory", "departments", "incident_types", "governance"} <= schema["properties"].keys()


@pytest.mark.parametrize("module", [["-m", "sim"]])
def test_module_entry_point(module):
    done = subprocess.run([sys.executable, *module, "validate", CLASSROOM], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "valid" in done.stdout


def test_same_output_across_processes_and_hash_seeds(tmp_path):
    """Byte-for-byte reproducible even when Python's string hashing differs between processes."""
    import os

    scenario = str(SCENARIOS / "anhai_garbage.yaml")
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "sim", "compare", scenario, "--days", "3", "--out", str(tmp_path / hash_seed)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert done.returncode == 0, done.stderr
    for file in ("incidents.csv", "jobs.csv"):
        assert (tmp_path / "1" / file).read_bytes() == (tmp_path / "2" / file).read_bytes()
    one, two = (json.loads((tmp_path / name / "summary.json").read_text()) for name in "12")
    assert stable_part(one.pop("provenance")) == stable_part(two.pop("provenance"))
    assert one == two


def test_a_campaign_set_on_the_command_line_is_printed_and_summarised(tmp_path, capsys):
    campaign = (
        "campaigns=[{name: sweep, schedule: {every: week, days: [1], start: '10:00'}, duration_min: 120, "
        "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 1}}]"
    )
    assert main(["compare", CLASSROOM, "--modes", "joint", "--set", campaign, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "unit-hours on campaigns" in out and "matters found (settled on the spot)" in out
    block = json.loads((tmp_path / "summary.json").read_text())["modes"]["joint"]["campaigns"]
    assert block["unit_hours"] == {"sanitation": 2.0} and block["sessions"] == {"sweep": 1}
    assert block["found_on_the_spot"] == sum(block["found"].values())


def test_run_without_mode_runs_the_scenarios_first_mode_only(tmp_path, capsys):
    """As its help and README say ("runs one mode"): before, it ran every mode of the scenario."""
    assert main(["run", CLASSROOM, "--days", "3", "--out", str(tmp_path)]) == 0
    assert list(json.loads((tmp_path / "summary.json").read_text())["modes"]) == ["fragmented"]
    header = capsys.readouterr().out.splitlines()[2].split()
    assert header == ["fragmented"]


def test_progress_says_how_far_each_run_has_got_with_the_flag_and_nothing_without(capsys):
    """--progress off a terminal: a line per tenth of each run's minutes on stderr; the summary is the same."""
    assert main(["compare", CLASSROOM, "--days", "3", "--modes", "joint,unified"]) == 0
    quiet = capsys.readouterr()
    assert "replication 1: day" not in quiet.err
    assert main(["compare", CLASSROOM, "--days", "3", "--modes", "joint,unified", "--progress"]) == 0
    told = capsys.readouterr()
    assert told.out == quiet.out
    lines = [line for line in told.err.splitlines() if ", replication 1: day " in line]
    for mode in ("joint", "unified"):
        shares = [int(line.rsplit("(", 1)[1].rstrip("%)")) for line in lines if line.startswith(mode)]
        assert shares == sorted(shares) and len(shares) == len(set(shares)) and shares[-1] == 100, (mode, lines)
        last = [line for line in lines if line.startswith(mode)][-1]  # the days run on past --days to drain
        day, days = last.split(": day ")[1].split(" (")[0].split(" of ")
        assert day == days and int(days) > 3, last


def test_progress_on_a_terminal_is_a_bar_per_run_wiped_when_it_ends():
    import io

    from sim.cli.simulate import _Progress
    from sim.experiments.runs import RunProgress

    stream = io.StringIO()
    progress = _Progress(stream, live=True)
    for minute in (1440.0, 2880.0, 4320.0):
        progress(RunProgress("joint", 0, minute, 4320.0))
    shown = stream.getvalue()
    assert "joint, replication 1" in shown and "/3 " in shown and "\n" not in shown  # drawn at most 5 times a second
    assert (progress._bar.n, progress._bar.total) == (3, 3)  # every day counted
    progress(RunProgress("unified", 1, 1440.0, 4320.0))  # the next run: the first bar is wiped, a new one drawn
    progress.close()
    after = stream.getvalue()[len(shown) :]
    assert "unified, replication 2" in after
    assert after.endswith("\r") and after.rsplit("\r", 2)[-2].strip() == ""  # the last bar wiped too
