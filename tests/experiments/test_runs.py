"""Experiments: paired comparisons, sequential stopping, the per-run function, sweeps that persist and resume."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.runs import (
    RunStore,
    RunTask,
    _run_summary,
    rerun,
    run_point,
    run_sweep,
    run_task,
)
from sim.io.sweepfile import sweep_from_dict
from sim.stats.metrics import Precision, metric_value
from tests.conftest import SCENARIOS

CLASSROOM = str(SCENARIOS / "classroom.yaml")
SHORT = ["days=2", "warmup_days=0.5", "drain_days=0.5"]


@pytest.fixture(scope="module")
def short_classroom():
    return sim.load_scenario(CLASSROOM, SHORT)


def small_sweep(**fields):
    data = {
        "name": "small",
        "scenario": CLASSROOM,
        "set": SHORT,
        "parameters": {"departments.sanitation.units": [1, 3], "governance.referral.handover_min.mean": [20, 90]},
        "modes": ["fragmented", "unified"],
        "replications": 3,
        "metrics": ["response_min.median", "within_target", "by_type.garbage_overflow.response_min.median"],
    }
    data.update(fields)
    return sweep_from_dict(data)


# --------------------------------------------------------------------------- compare


def test_compare_has_paired_section_only_with_replications(short_classroom):
    assert "paired" not in sim.compare(short_classroom).summary
    summary = sim.compare(short_classroom, replications=3).summary
    paired = summary["paired"]
    assert paired["baseline"] == "fragmented" and set(paired["modes"]) == {"joint", "unified"}
    stats = paired["modes"]["joint"]["by_type.garbage_overflow.response_min.median"]
    assert set(stats) == {"n", "mean_difference", "ci_low", "ci_high", "p_value"} and stats["n"] == 3
    assert "paired" not in sim.compare(short_classroom, ["joint"], replications=3).summary


def test_compare_tells_how_far_each_run_has_got_and_gives_the_same_comparison(short_classroom):
    """Every run of every mode reports each simulated day's end in turn, then its end; the summary is unchanged."""
    seen: list[sim.RunProgress] = []
    watched = sim.compare(short_classroom, ["fragmented", "unified"], replications=2, progress=seen.append)
    runs = [(p.mode, p.replication) for p in seen]
    assert list(dict.fromkeys(runs)) == [("fragmented", 0), ("fragmented", 1), ("unified", 0), ("unified", 1)]
    for run in dict.fromkeys(runs):
        shares = [p.share for p in seen if (p.mode, p.replication) == run]
        assert shares == sorted(shares) and 0 < shares[0] < 1 and shares[-1] == 1.0
        assert [p.minute for p in seen if (p.mode, p.replication) == run] == [1440.0, 2880.0, 3600.0]
    straight = sim.compare(short_classroom, ["fragmented", "unified"], replications=2)
    assert watched.summary == straight.summary


def test_precision_stops_at_the_first_count_that_is_precise_enough(short_classroom):
    # the response mean of this short town reaches 20% in a handful of replications, well inside 2..30
    rule = Precision("response_min.mean", relative_half_width=0.2, max_replications=30)
    comparison = sim.compare(short_classroom, ["fragmented", "joint"], replications=2, precision=rule)
    n = comparison.replications
    values = {
        m: [metric_value(_run_summary(short_classroom, o), rule.metric) for o in outs]
        for m, outs in comparison.outputs.items()
    }
    assert all(len(v) == n for v in values.values())
    assert 2 < n < 30
    assert all(rule.reached(v) for v in values.values())
    assert not all(rule.reached(v[: n - 1]) for v in values.values())
    report = comparison.summary["precision"]
    assert (
        report["reached"]
        and report["metric"] == "response_min.mean"
        and set(report["relative_half_width_reached"]) == {"fragmented", "joint"}
    )


def test_precision_gives_up_at_the_maximum(short_classroom):
    rule = Precision("response_min.p90", relative_half_width=1e-6, max_replications=4)
    comparison = sim.compare(short_classroom, ["fragmented"], replications=2, precision=rule)
    assert comparison.replications == 4 and comparison.summary["precision"]["reached"] is False


def test_cli_compare_prints_paired_differences(tmp_path, capsys):
    assert main(["compare", CLASSROOM, "--days", "2", "-r", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "difference from fragmented, paired by replication" in out and "p=" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["paired"]["modes"]["unified"]["response_min.median"]["n"] == 3
    assert main(["compare", CLASSROOM, "--days", "2"]) == 0
    assert "paired by replication" not in capsys.readouterr().out


def test_cli_compare_precision(capsys):
    assert main(["compare", CLASSROOM, "--days", "2", "--modes", "joint", "--precision", "within_target=0.5"]) == 0
    assert "precision: within_target within 50% of its mean" in capsys.readouterr().out
    assert main(["compare", CLASSROOM, "--precision", "response_min.medain=0.1"]) == 2
    assert "error: --precision: unknown metric 'response_min.medain'" in capsys.readouterr().err
    assert main(["compare", CLASSROOM, "--precision", "within_target=lots"]) == 2
    assert main(["compare", CLASSROOM, "--precision", "within_target=0.1", "--max-replications", "1"]) == 2


# --------------------------------------------------------------------------- one run


def test_run_point_is_a_flat_row_of_the_run(short_classroom):
    metrics = ["response_min.median", "within_target", "utilisation.police"]
    row = run_point(short_classroom, "joint", seed=7, replication=0, metrics=metrics, parameters={"x.y": 1}, point=4)
    assert list(row) == ["point", "x.y", "mode", "replication", "seed", *metrics, "error", "runtime_s"]
    single = sim.compare(short_classroom, ["joint"]).summary["modes"]["joint"]
    assert row["response_min.median"] == single["response_min"]["median"]
    assert row["within_target"] == single["within_target"] and row["error"] is None and row["point"] == 4


def test_run_point_from_data_applies_overrides(classroom_data):
    row = run_point(
        classroom_data, "unified", 7, 0, ["response_min.n"], overrides=[*SHORT, "departments.sanitation.units=3"]
    )
    scenario = sim.scenario_from_dict(classroom_data, overrides=[*SHORT, "departments.sanitation.units=3"])
    assert (
        row["error"] is None
        and row["response_min.n"] == _run_summary(scenario, sim.run(scenario, "unified", 7))["response_min"]["n"]
    )


@pytest.mark.parametrize(
    "overrides, mode, words",
    [
        (
            ["departments.sanitation.units=-1"],
            "joint",
            "ScenarioError: departments.sanitation.units: expected a number of 0 or more; got -1",
        ),
        ([], "nonesuch", "KeyError: unknown mode 'nonesuch'"),
    ],
)
def test_a_failed_run_is_a_row_with_its_error(classroom_data, overrides, mode, words):
    row = run_point(classroom_data, mode, 7, 0, ["within_target"], overrides=overrides)
    assert row["within_target"] is None and words in row["error"] and "\n" not in row["error"]


def test_run_task_refuses_another_version(classroom_data):
    row = run_task(RunTask(classroom_data, (), {}, 0, "joint", 0, 7, ("within_target",), version="0.0.0-other"))
    assert row["within_target"] is None and "the sweep needs 0.0.0-other" in row["error"]


# --------------------------------------------------------------------------- sweeps


def test_sweep_in_memory_rows_sorted_and_complete():
    sweep = small_sweep()
    result = run_sweep(sweep, backend="serial")
    keys = [(r["point"], r["mode"], r["replication"]) for r in result.runs]
    assert keys == [(p, m, r) for p in range(4) for m in ("fragmented", "unified") for r in range(3)]
    assert result.out is None and result.files == [] and result.ran == 24 and result.kept == 0
    columns = result.columns()
    assert len(columns["within_target"]) == 24 and columns["departments.sanitation.units"][:6] == [1] * 6
    summary = result.columns("summary")
    assert summary["mode"] == ["fragmented", "unified"] * 4 and summary["vs"] == [None, "fragmented"] * 4
    assert all(r["seed"] == 7 for r in result.runs)


def test_sweep_runs_equal_single_runs():
    """Row (point, mode, replication) is the run sim.run gives with the point's overrides."""
    sweep = small_sweep()
    result = run_sweep(sweep, backend="serial")
    row = result.runs[-1]
    scenario = sim.load_scenario(CLASSROOM, [*SHORT, *sweep.overrides(row["point"])])
    alone = _run_summary(scenario, sim.run(scenario, row["mode"], sweep.seed, row["replication"]))
    assert (
        row["by_type.garbage_overflow.response_min.median"]
        == alone["by_type"]["garbage_overflow"]["response_min"]["median"]
    )


def test_sweep_files_and_rerun(tmp_path):
    result = run_sweep(small_sweep(), tmp_path, backend="serial")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["runs", "sweep.json", "runs.csv", "summary.csv"]
        + (["runs.parquet", "summary.parquet"] if importlib.util.find_spec("pyarrow") else [])
    )
    assert len(list((tmp_path / "runs").glob("*.json"))) == 24
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert len(rows) == 24 and list(rows[0])[:4] == [
        "point",
        "departments.sanitation.units",
        "governance.referral.handover_min.mean",
        "mode",
    ]
    assert "runtime_s" not in rows[0]
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(summary) == 8 and float(summary[1]["within_target.mean"]) == pytest.approx(
        result.summary[1]["within_target.mean"]
    )
    again = rerun(tmp_path, rows[13])  # from the CSV row and sweep.json alone
    original = result.runs[13]
    assert {k: again[k] for k in original if k != "runtime_s"} == {k: original[k] for k in original if k != "runtime_s"}


@pytest.mark.skipif(
    importlib.util.find_spec("pyarrow") is None,
    reason="pyarrow is not installed (the 'parquet' extra); Parquet copies are not written",
)
def test_parquet_copy_equals_the_csv(tmp_path):
    import pyarrow.parquet as pq

    run_sweep(small_sweep(), tmp_path, backend="serial")
    table = pq.read_table(tmp_path / "runs.parquet").to_pydict()
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert table["mode"] == [r["mode"] for r in rows]
    assert table["within_target"] == pytest.approx([float(r["within_target"]) for r in rows])


def test_failed_point_becomes_rows_not_a_crash(tmp_path, capsys):
    sweep_file = tmp_path / "bad.yaml"
    sweep_file.write_text(
        f"scenario: {CLASSROOM}\nset: [{', '.join(SHORT)}]\nparameters:\n  warmup_days: [0.5, 50]\n"
        "modes: [joint]\nreplications: 2\nmetrics: [within_target]\n"
    )  # a warm-up of 50 days is a fine number, but not within this horizon: found when the point runs
    assert main(["sweep", str(sweep_file), "--backend", "serial", "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "2 run(s) failed" in out and "point 1 joint replication 0" in out and "warmup_days" in out
    rows = list(csv.DictReader((tmp_path / "out" / "runs.csv").open()))
    assert [bool(r["error"]) for r in rows] == [False, False, True, True]
    assert rows[2]["within_target"] == "" and rows[0]["within_target"] != ""
    summary = list(csv.DictReader((tmp_path / "out" / "summary.csv").open()))
    assert (summary[1]["replications"], summary[1]["failed"], summary[1]["within_target.mean"]) == ("0", "2", "")


def test_resume_redoes_only_what_is_missing(tmp_path):
    sweep = small_sweep()
    run_sweep(sweep, tmp_path, backend="serial")
    tables = {name: (tmp_path / name).read_bytes() for name in ("runs.csv", "summary.csv")}
    files = sorted((tmp_path / "runs").glob("*.json"))
    for path in files[3:8]:
        path.unlink()
    files[10].write_text('{"point": 1, "mo')  # unreadable: redone
    (tmp_path / "runs" / ".p000000-m00-r00000.json.abc.tmp").write_text("half")  # a writer killed half way
    untouched = {p.name: p.stat().st_mtime_ns for p in files[:3]}
    with pytest.raises(ScenarioError, match="add --resume"):
        run_sweep(sweep, tmp_path, backend="serial")
    result = run_sweep(sweep, tmp_path, backend="serial", resume=True)
    assert (result.ran, result.kept) == (6, 18)
    assert {name: (tmp_path / name).read_bytes() for name in tables} == tables
    assert {p.name: p.stat().st_mtime_ns for p in files[:3]} == untouched
    assert not list((tmp_path / "runs").glob(".*"))
    assert run_sweep(sweep, tmp_path, backend="serial", resume=True).ran == 0


def test_a_ctrl_c_while_a_run_is_kept_counts_every_run_the_folder_holds(tmp_path, monkeypatch):
    """Ctrl-C arriving while a run's file is written (held back for its rename, so acted on right after it): the
    interruption reports as many finished runs as the folder holds, the one just kept included."""
    import signal

    from sim.experiments.runs import SweepInterrupted

    save = RunStore.save

    def save_then_ctrl_c(self, sweep, row):
        path = save(self, sweep, row)
        if len(list(self.runs_dir.glob("*.json"))) == 3:
            # to this thread, at once: os.kill may hand the signal to another thread of the process (a pool's,
            # a library's), and the interpreter then acts on it a little later, perhaps after the next run is kept
            signal.raise_signal(signal.SIGINT)
        return path

    monkeypatch.setattr(RunStore, "save", save_then_ctrl_c)
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(small_sweep(), tmp_path, backend="serial")
    assert (stopped.value.done, stopped.value.ran) == (3, 3) == (len(list((tmp_path / "runs").glob("*.json"))), 3)


def test_resume_refuses_a_changed_sweep_or_scenario(tmp_path):
    run_sweep(small_sweep(), tmp_path, backend="serial")
    with pytest.raises(ScenarioError, match=r"cannot resume: .*changed: the sweep \(parameters"):
        run_sweep(small_sweep(replications=4), tmp_path, backend="serial", resume=True)
    with pytest.raises(ScenarioError, match=r"changed: the scenario\. Resuming would mix"):
        run_sweep(small_sweep(set=[*SHORT, "target_min=20"]), tmp_path, backend="serial", resume=True)


def test_runs_without_a_manifest_are_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "p000000-m00-r00000.json").write_text("{}")
    with pytest.raises(ScenarioError, match=r"no sweep\.json"):
        RunStore(tmp_path).open(small_sweep())


def test_retry_failed(tmp_path, classroom_data):
    sweep = small_sweep(parameters={"warmup_days": [0.5, 50]}, modes=["joint"], replications=1)
    first = run_sweep(sweep, tmp_path, backend="serial")
    assert len(first.failed) == 1
    again = run_sweep(sweep, tmp_path, backend="serial", resume=True, retry_failed=True)
    assert again.ran == 1 and len(again.failed) == 1


def test_sweep_with_stopping_follows_the_rule():
    rule = {"metric": "within_target", "relative_half_width": 0.15, "max_replications": 12, "batch": 2}
    result = run_sweep(small_sweep(stopping=rule), backend="serial")
    precision = Precision(**rule)
    counts = {}
    for point in range(4):
        values = {
            m: [r["within_target"] for r in result.runs if r["point"] == point and r["mode"] == m]
            for m in ("fragmented", "unified")
        }
        n = len(values["fragmented"])
        assert n == len(values["unified"]) and n in (3, 5, 7, 9, 11, 12)
        precise = all(precision.reached(v) for v in values.values())
        assert precise or n == 12
        if n > 3:
            assert not all(precision.reached(v[: n - 2]) for v in values.values())
        counts[point] = n
    assert len(set(counts.values())) > 1 or 12 in counts.values()


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    run_sweep(small_sweep(replications=1), backend="serial")
    assert capsys.readouterr().err == ""
    run_sweep(small_sweep(replications=1), backend="serial", progress=True)
    err = capsys.readouterr().err
    assert "sweep small" in err and "8/8" in err and "failed=0" in err


def test_a_folder_with_the_same_sweep_and_no_runs_starts_without_resume(tmp_path):
    sweep = small_sweep(replications=1)
    store = RunStore(tmp_path)
    store.open(sweep)  # e.g. the backend then failed to start
    store.close()
    assert run_sweep(sweep, tmp_path, backend="serial").ran == 8
    with pytest.raises(ScenarioError, match="already holds sweep 'small'"):
        run_sweep(sweep, tmp_path, backend="serial")
    with pytest.raises(ScenarioError, match="unknown backend"):
        run_sweep(sweep, tmp_path / "other", backend="gpu")
    assert not (tmp_path / "other").exists()  # options are checked before anything is written
