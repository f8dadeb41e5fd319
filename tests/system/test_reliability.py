"""Reliability: extreme scenarios finish; Ctrl-C, a killed worker or a broken pool lose nothing.

What tests/system/test_extremes.py (zero incidents, one unit, years, thousands of patches ...),
tests/system/test_interrupt.py (Ctrl-C during ``compare``) and tests/experiments/test_backends.py (kill -9 and
Ctrl-C of a sweep on the process pool, the same table on every backend) already cover is not
repeated here. This file adds a unit-less department in a pooling mode, units never on duty and
a one-minute shift; Ctrl-C during ``run`` and during a sweep on the serial and dask backends;
all-or-nothing output folders and the proof that every output file arrives by a rename; a dask
worker killed with SIGKILL in the middle of a sweep (the table is byte for byte the undisturbed
one); a run lost with its worker being submitted again; and a broken process pool getting one
fresh pool before giving up.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.experiments.backends import BackendError, DaskBackend, ProcessBackend
from sim.experiments.runs import run_sweep
from sim.io.loader import apply_overrides, read_yaml
from sim.io.provenance import stable_part
from sim.io.results import write_all, write_comparison
from sim.io.sweepfile import sweep_from_dict
from tests.conftest import ROOT, SCENARIOS, local_dask_cluster
from tests.processes import POLL_S, cpu_of_run, cpu_seconds, signal_and_reap, wait_until
from tests.system.test_extremes import finite_everywhere
from tests.system.test_interrupt import AFTER_SIGNAL_CPU_S

CLASSROOM = str(SCENARIOS / "classroom.yaml")
TABLES = ("runs.csv", "summary.csv")


def _tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files (``.NAME.XXXX.tmp``) anywhere under *folder*."""
    return [p for p in folder.rglob(".*") if p.is_file()] if folder.exists() else []


def _sweep_file(tmp_path: Path, days: float = 100, **fields) -> Path:
    """24 runs of the classroom town (3 points x 2 modes x 4 replications), each *days* long."""
    data = {
        "name": "reliability",
        "scenario": CLASSROOM,
        "set": [f"days={days}"],
        "parameters": {"departments.sanitation.units": [1, 2, 3]},
        "modes": ["fragmented", "unified"],
        "replications": 4,
        "metrics": ["response_min.median", "within_target", "utilisation.sanitation"],
        **fields,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def _wait_for(predicate, process: subprocess.Popen | None = None) -> None:
    """Poll *predicate* until it holds (and *process*, if given, still runs); the test's timeout guards a hang."""
    while not predicate():
        if process is not None:
            assert process.poll() is None, process.communicate()
        time.sleep(POLL_S)


def _runs(out: Path) -> list[Path]:
    return list((out / "runs").glob("*.json")) if (out / "runs").is_dir() else []


# --------------------------------------------------------------------------- extreme but valid


def _classroom(*overrides: str) -> dict:
    data, _ = read_yaml(CLASSROOM)
    data, _ = apply_overrides(data, ["days=3", "warmup_days=0.5", "drain_days=1", *overrides])
    return data


def _finished(data: dict) -> dict:
    """Compare every mode; the summary must be finite (None for an empty statistic) and JSON without NaN."""
    summary = sim.compare(sim.scenario_from_dict(data)).summary
    assert finite_everywhere(summary), summary
    json.dumps(summary, allow_nan=False)
    return summary["modes"]


def test_a_department_with_no_units_pooled_in_a_mode():
    """Beyond tests/system/test_extremes.py: a unit-less department, with powers, pooled into a mode's team."""
    data = _classroom()
    data["departments"].append({"name": "land", "units": 0, "powers": ["garbage_overflow"]})
    data["governance"] = {
        "modes": {"fragmented": {}, "joint": {}, "unified": {"authority": {"pooled": ["land", "sanitation"]}}}
    }
    for stats in _finished(data).values():
        assert stats["utilisation"]["land"] is None  # no on-duty minutes: absent, not 0/0
        assert stats["incidents"] > 0


def test_a_department_never_on_duty():
    """Units that no shift window ever puts on duty: their matters wait to the end (unresolved,
    in the backlog) where only they may act, and are handled where the mode pools them."""
    modes = _finished(_classroom("departments.sanitation.shift=[{times: ['00:00-24:00'], units: 0}]"))
    assert modes["fragmented"]["utilisation"]["sanitation"] is None
    assert modes["fragmented"]["backlog"] > 0 and modes["fragmented"]["unresolved"] > 0
    garbage = modes["fragmented"]["by_type"]["garbage_overflow"]["response_min"]
    assert garbage["share_not_reached"] == 1.0 and garbage["median"] is None  # censored, not dropped
    assert garbage["median_more_than"] > 0
    assert modes["unified"]["unresolved"] == 0  # the pooled team clears bins


def test_a_shift_of_one_minute_a_week_and_no_warm_up_or_drain():
    modes = _finished(
        _classroom(
            "days=8",
            "warmup_days=0",
            "drain_days=0",
            "departments.sanitation.shift=[{times: ['03:00-03:01'], days: [6], units: 2}]",
        )
    )
    assert modes["joint"]["backlog"] > 0


# --------------------------------------------------------------------------- Ctrl-C


@pytest.mark.timeout(600)
def test_sigint_during_run_stops_at_once_and_writes_nothing(tmp_path):
    """Ctrl-C once the simulation runs (the child has used twice the CPU time of a whole 2-day
    run): exit 130, nothing written, and at most AFTER_SIGNAL_CPU_S of CPU after the signal."""
    startup = cpu_of_run([sys.executable, "-m", "sim", "run", str(SCENARIOS / "jinjiang.yaml"), "--days", "2"], ROOT)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(SCENARIOS / "jinjiang.yaml"), "--days", "60", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: cpu_seconds(process.pid) >= 2 * startup, process)
    stopped = signal_and_reap(process)
    stdout, stderr = stopped.stdout, stopped.stderr
    assert stopped.cpu_after_s < AFTER_SIGNAL_CPU_S, f"{stopped.cpu_after_s:.2f} CPU s after Ctrl-C"
    assert process.returncode == 130
    assert "Traceback" not in stderr + stdout
    assert "interrupted" in stderr and "not written" in stderr  # says what was kept: nothing
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["serial", "dask"])
def test_sigint_during_a_sweep_keeps_every_finished_run(tmp_path, backend):
    """Ctrl-C (to the whole terminal group, dask's worker processes included) on the backends
    tests/experiments/test_backends.py does not: exit 130, every finished run kept whole, no
    temporary file, no traceback from any process, and --resume then finishes the same table.
    "At once": the group spends at most AFTER_SIGNAL_CPU_S of CPU per process after the signal."""
    sweep_file = _sweep_file(tmp_path)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(sweep_file),
        "--out",
        str(out),
        "--backend",
        backend,
        "--workers",
        "2",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    _wait_for(lambda: len(_runs(out)) >= 3, process)
    stopped = signal_and_reap(process, group=True)
    err = stopped.stderr
    kept = _runs(out)
    assert process.returncode == 130, err
    assert stopped.cpu_after_s < AFTER_SIGNAL_CPU_S * stopped.processes, (stopped.cpu_after_s, stopped.processes)
    assert "Traceback" not in err and "ERROR" not in err, err
    assert f"interrupted: kept {len(kept)} finished run(s) in {out / 'runs'}" in err and "--resume" in err
    assert 3 <= len(kept) < 24 and _leftovers(out) == [] and not (out / "runs.csv").exists()
    for path in kept:
        json.loads(path.read_text())

    assert main(["sweep", str(sweep_file), "--out", str(out), "--resume", "--backend", "serial"]) == 0
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "whole"), "--backend", "serial"]) == 0
    assert _tables(out) == _tables(tmp_path / "whole")


# --------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def two_comparisons():
    scenario = sim.load_scenario(CLASSROOM, ["days=2", "warmup_days=0.5", "drain_days=0.5"])
    return sim.compare(scenario, seed=1), sim.compare(scenario, seed=2)


def _folder(out: Path) -> dict[str, bytes]:
    """The files of a results folder; in summary.json, the provenance fields that vary between identical runs
    (time, host, command line) are set aside, so that two writes of one comparison compare equal."""
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    if "summary.json" in files:
        summary = json.loads(files["summary.json"])
        summary["provenance"] = stable_part(summary["provenance"])
        files["summary.json"] = json.dumps(summary, indent=2).encode()
    return files


def test_an_interrupted_write_leaves_the_old_folder_whole(tmp_path, monkeypatch, two_comparisons):
    """Ctrl-C while the files of a run are being written: the folder keeps the previous run's
    four files, all of them, and no temporary file; never a mix of two runs."""
    old, new = two_comparisons
    out = tmp_path / "out"
    write_comparison(out, old)
    before = _folder(out)
    import sim.io.results

    real = sim.io.results._write_temporary
    for stop_at in range(1, 5):
        calls = []

        def interrupted(path, text, calls=calls, stop_at=stop_at):
            calls.append(path)
            if len(calls) == stop_at:
                raise KeyboardInterrupt
            return real(path, text)

        monkeypatch.setattr(sim.io.results, "_write_temporary", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_comparison(out, new)
        assert _folder(out) == before, f"interrupted at file {stop_at}"
        assert _leftovers(out) == []
    monkeypatch.setattr(sim.io.results, "_write_temporary", real)
    write_comparison(out, new)
    assert _folder(out) != before and set(_folder(out)) == set(before)


def test_ctrl_c_during_the_renames_waits_for_the_last_one(tmp_path, monkeypatch, two_comparisons):
    """A Ctrl-C that arrives between two renames is held back until the folder is complete."""
    old, new = two_comparisons
    out = tmp_path / "out"
    write_comparison(out, old)
    real_replace = os.replace
    renamed = []

    def replace(src, dst):
        if not renamed:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C right after the first rename began
        renamed.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_comparison(out, new)
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(renamed) == 4 and _leftovers(out) == []
    fresh = tmp_path / "fresh"
    write_comparison(fresh, new)
    assert _folder(out) == _folder(fresh)  # all four files of the new run


def test_write_all_refuses_a_folder_in_the_way_and_keeps_the_rest(tmp_path):
    (tmp_path / "b.txt").mkdir()  # a folder where a file should go: the rename fails
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(OSError):
        write_all([(tmp_path / "a.txt", "new"), (tmp_path / "b.txt", "new")])
    assert (tmp_path / "a.txt").read_text() in ("old", "new") and _leftovers(tmp_path) == []


def test_every_output_file_is_written_through_a_rename(tmp_path, monkeypatch):
    """``compare --out`` and ``sweep --out``: each file in the folder arrived by an atomic rename
    of a temporary file (never opened in place), and no temporary file is left."""
    renamed: set[Path] = set()
    real_replace = os.replace

    def replace(src, dst):
        renamed.add(Path(dst).resolve())
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    out = tmp_path / "compare"
    assert main(["compare", CLASSROOM, "--days", "2", "--out", str(out), "--plots"]) == 0
    sweep = tmp_path / "sweep"
    assert (
        main(["sweep", str(_sweep_file(tmp_path, days=2, replications=1)), "--backend", "serial", "--out", str(sweep)])
        == 0
    )
    written = [p.resolve() for folder in (out, sweep) for p in folder.rglob("*") if p.is_file()]
    assert len(written) >= 4 + 3 + 6
    assert [p for p in written if p not in renamed] == []
    assert _leftovers(out) == [] and _leftovers(sweep) == []


# --------------------------------------------------------------------------- a dask worker killed


@pytest.fixture(scope="module")
def dask_cluster():
    """A real dask cluster: a scheduler and two worker processes (with nannies that restart them)."""
    with local_dask_cluster(logging.CRITICAL) as cluster:
        yield cluster


@pytest.mark.timeout(180)
def test_a_dask_worker_killed_mid_sweep_changes_nothing(tmp_path, dask_cluster):
    """SIGKILL to one of two dask worker processes while a sweep runs: the sweep completes, nothing
    fails, and runs.csv and summary.csv are byte for byte those of an undisturbed serial sweep."""
    from dask.distributed import Client

    sweep = sweep_from_dict(json.loads(_sweep_file(tmp_path, days=20).read_text()))
    with Client(dask_cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    assert len(pids) == 2
    victim = min(pids.values())
    out = tmp_path / "dask"
    killed = threading.Event()

    def kill_after_a_few_runs():
        _wait_for(lambda: len(_runs(out)) >= 4)
        os.kill(victim, signal.SIGKILL)
        killed.set()

    killer = threading.Thread(target=kill_after_a_few_runs, daemon=True)
    killer.start()
    result = run_sweep(sweep, out, backend="dask", scheduler=dask_cluster.scheduler_address)
    killer.join(timeout=5)
    assert killed.is_set(), "the sweep finished before the worker could be killed"
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)  # it really died
    assert len(result.runs) == 24 and not result.failed
    assert _leftovers(out) == []
    serial = run_sweep(sweep, tmp_path / "serial", backend="serial")
    assert _tables(out) == _tables(serial.out)


def _die_until(count_file: str, deaths: int, value: int) -> int:
    """Kill this worker process the first *deaths* times (counted in *count_file*), then return *value* * 10.

    Calls are counted by appending one byte each: an append is atomic, and the offset after it is
    this call's number, even when several workers call at once.
    """
    fd = os.open(count_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"x")
        call = os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)
    if call <= deaths:
        os._exit(9)
    return value * 10


@pytest.mark.timeout(180)
def test_a_run_lost_with_its_dask_worker_is_submitted_again(tmp_path):
    """With no retries left to the scheduler (allowed-failures 0), a task whose worker dies fails
    with KilledWorker; the backend submits it again and the sweep goes on; a task that keeps
    killing its workers ends in a BackendError that says how many runs were kept."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("dask.distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.CRITICAL
        )
    try:
        backend = DaskBackend(scheduler=cluster.scheduler_address)
        from functools import partial

        once = partial(_die_until, str(tmp_path / "once"), 1)
        assert sorted(backend.imap(once, [1, 2, 3, 4])) == [(0, 10), (1, 20), (2, 30), (3, 40)]
        assert len((tmp_path / "once").read_text()) > 4  # the first call died and its run was done again

        import sim.experiments.backends

        always = partial(_die_until, str(tmp_path / "always"), 10**6)
        original = sim.experiments.backends.DASK_RESUBMITS
        sim.experiments.backends.DASK_RESUBMITS = 1
        try:
            with pytest.raises(BackendError, match=r"lost run 1 2 times .*0 of 1 runs finished and are kept"):
                list(backend.imap(always, [7]))
        finally:
            sim.experiments.backends.DASK_RESUBMITS = original
        backend.close()
    finally:
        cluster.close()


# --------------------------------------------------------------------------- a broken process pool


def test_a_broken_process_pool_gets_one_fresh_pool(tmp_path):
    """A worker killed once breaks the pool: finished results are kept, the rest go to a fresh pool."""
    once = tmp_path / "once"
    with ProcessBackend(2) as pool:
        from functools import partial

        results = sorted(pool.imap(partial(_die_until, str(once), 1), list(range(8))))
    assert results == [(i, 10 * i) for i in range(8)] and len(once.read_text()) > 8  # one died, was done again


def test_a_pool_that_breaks_twice_is_an_error_that_says_what_was_kept(tmp_path):
    from functools import partial

    with (
        pytest.raises(BackendError, match="again after the unfinished runs went to fresh workers; 0 of 2 runs"),
        ProcessBackend(2) as pool,
    ):
        list(pool.imap(partial(_die_until, str(tmp_path / "always"), 10**6), [1, 2]))


def test_the_sweep_command_tells_to_resume_after_a_backend_failure(tmp_path, monkeypatch, capsys):
    import sim.cli.experiments

    def broken(*args, **kwargs):
        raise BackendError("a worker process died (killed, or out of memory?); 5 of 24 runs finished and are kept")

    monkeypatch.setattr(sim.cli.experiments, "run_sweep", broken)
    assert main(["sweep", str(_sweep_file(tmp_path, days=2)), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "5 of 24 runs finished and are kept" in err and "--resume" in err and "Traceback" not in err
