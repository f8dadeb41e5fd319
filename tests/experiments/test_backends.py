"""Backends: the same table everywhere (serial, processes, a real dask cluster), and no work lost to kill -9 or Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.backends import (
    BackendError,
    DaskBackend,
    ProcessBackend,
    SerialBackend,
    open_backend,
)
from sim.experiments.runs import run_sweep
from sim.io.sweepfile import sweep_from_dict
from tests.conftest import ROOT, SCENARIOS, local_dask_cluster
from tests.processes import signal_and_reap, wait_until
from tests.system.test_interrupt import AFTER_SIGNAL_CPU_S

CLASSROOM = str(SCENARIOS / "classroom.yaml")
TABLES = ("runs.csv", "summary.csv")


def _tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def _sweep_data(**fields) -> dict:
    data = {
        "name": "backends",
        "scenario": CLASSROOM,
        "set": ["days=2", "warmup_days=0.5", "drain_days=0.5"],
        "parameters": {"departments.sanitation.units": [1, 2], "governance.referral.handover_min.mean": [20, 90]},
        "modes": ["fragmented", "unified"],
        "replications": 3,
        "stopping": {"metric": "within_target", "relative_half_width": 0.2, "max_replications": 8, "batch": 2},
        "metrics": ["response_min.median", "within_target", "by_type.garbage_overflow.response_min.p90"],
    }
    data.update(fields)
    return data


@pytest.fixture(scope="module")
def cluster():
    """A real dask cluster: a scheduler and two worker processes with one thread each."""
    with local_dask_cluster() as local:
        yield local


@pytest.mark.timeout(180)
def test_same_table_byte_for_byte_on_every_backend(tmp_path, cluster):
    """Serial, a process pool and a dask cluster (reached by address) give identical files, stopping rule included."""
    sweep = sweep_from_dict(_sweep_data())
    serial = run_sweep(sweep, tmp_path / "serial", backend="serial")
    processes = run_sweep(sweep, tmp_path / "processes", backend="processes", workers=2)
    dask = run_sweep(sweep, tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address)
    assert processes.backend == "processes x2" and dask.backend.startswith("dask x2")
    assert len(serial.runs) > len(sweep.points) * 2 * 3  # the stopping rule added replications somewhere
    for result in (processes, dask):
        assert _tables(result.out) == _tables(serial.out)


@pytest.mark.timeout(180)
def test_cli_dask_starts_its_own_local_cluster(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(_sweep_data(stopping=None, replications=2)))  # JSON is YAML
    assert main(["sweep", str(path), "--backend", "dask", "--workers", "2", "--out", str(tmp_path / "dask")]) == 0
    assert "run now on dask x2 (a local cluster)" in capsys.readouterr().out
    assert main(["sweep", str(path), "--backend", "serial", "--out", str(tmp_path / "serial")]) == 0
    assert _tables(tmp_path / "dask") == _tables(tmp_path / "serial")


def test_serial_backend_yields_in_order():
    assert list(SerialBackend().imap(abs, [-1, 2, -3])) == [(0, 1), (1, 2), (2, 3)]


def test_process_backend_yields_every_result():
    with ProcessBackend(2) as pool:
        assert sorted(pool.imap(abs, [-1, 2, -3, 4])) == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_a_dead_worker_is_a_backend_error():
    with pytest.raises(BackendError, match="worker process died"), ProcessBackend(1) as pool:
        list(pool.imap(os._exit, [3]))


def test_backend_options_are_checked():
    for options, words in (
        ({"name": "gpu"}, "unknown backend 'gpu'"),
        ({"name": "processes", "workers": 0}, "expected 1 or more"),
        ({"name": "serial", "scheduler": "tcp://x:1"}, "is for --backend dask"),
    ):
        with pytest.raises(ScenarioError, match=words), open_backend(**options):
            pass


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ScenarioError, match=r"cannot reach the dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskBackend(scheduler="tcp://127.0.0.1:9", timeout_s=1)


def test_cli_options(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(_sweep_data(stopping=None)))
    assert main(["sweep", str(path), "--retry-failed"]) == 2
    assert main(["sweep", str(path), "--workers", "0"]) == 2
    assert (
        main(
            [
                "sweep",
                str(path),
                "--backend",
                "processes",
                "--scheduler",
                "tcp://127.0.0.1:9",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "error: --scheduler: a scheduler address is for --backend dask, not processes" in capsys.readouterr().err


# --------------------------------------------------------------------------- never lose work


def _slow_sweep_file(tmp_path: Path) -> Path:
    """24 runs long enough (a simulated quarter each) that a sweep can be stopped half way."""
    path = tmp_path / "slow.yaml"
    path.write_text(
        json.dumps(
            {
                "name": "slow",
                "scenario": CLASSROOM,
                "set": ["days=100"],
                "parameters": {"departments.sanitation.units": [1, 2, 3]},
                "modes": ["fragmented", "unified"],
                "replications": 4,
                "metrics": ["response_min.median", "within_target"],
            }
        )
    )
    return path


def _start(sweep_file: Path, out: Path, *extra) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(sweep_file),
        "--out",
        str(out),
        "--backend",
        "processes",
        "--workers",
        "2",
        *extra,
    ]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_runs(process: subprocess.Popen, out: Path, count: int) -> None:
    """Until *count* runs are persisted (the process still running); the test's timeout guards a hang."""
    wait_until(lambda: (out / "runs").is_dir() and len(list((out / "runs").glob("*.json"))) >= count, process)


def _leftovers(out: Path) -> list[Path]:
    return [p for folder in (out, out / "runs") for p in folder.glob(".*")]


@pytest.mark.timeout(180)
def test_kill_9_then_resume_gives_exactly_the_uninterrupted_tables(tmp_path):
    sweep_file = _slow_sweep_file(tmp_path)
    killed = tmp_path / "killed"
    process = _start(sweep_file, killed)
    _wait_for_runs(process, killed, 5)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers, as the OOM killer or a power cut would
    process.communicate(timeout=30)
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (killed / "runs").glob("*.json")}
    assert 5 <= len(kept) < 24, "the sweep must be killed half way for this test to mean anything"
    assert not (killed / "runs.csv").exists()
    for name in kept:
        json.loads((killed / "runs" / name).read_text())  # every kept file is whole

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "sweep",
            str(sweep_file),
            "--out",
            str(killed),
            "--resume",
            "--backend",
            "processes",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{24 - len(kept)} run now on processes x2, {len(kept)} kept from before, 0 failed" in resumed.stdout

    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "whole"), "--workers", "2"]) == 0
    assert _tables(killed) == _tables(tmp_path / "whole")
    assert {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (killed / "runs").glob("*.json") if p.name in kept
    } == kept
    assert len(list((killed / "runs").glob("*.json"))) == 24
    assert _leftovers(killed) == []


@pytest.mark.timeout(300)
def test_ctrl_c_stops_at_once_and_says_what_was_kept(tmp_path):
    """Ctrl-C to the sweep and its pool: exit 130, finished runs kept, and the group stops computing
    at once: at most AFTER_SIGNAL_CPU_S of CPU per process after the signal."""
    sweep_file = _slow_sweep_file(tmp_path)
    out = tmp_path / "out"
    process = _start(sweep_file, out)
    _wait_for_runs(process, out, 3)
    stopped = signal_and_reap(process, group=True)  # what Ctrl-C in a terminal does: the whole foreground group
    err = stopped.stderr
    assert process.returncode == 130, err
    assert stopped.cpu_after_s < AFTER_SIGNAL_CPU_S * stopped.processes, (stopped.cpu_after_s, stopped.processes)
    kept = list((out / "runs").glob("*.json"))
    assert f"interrupted: kept {len(kept)} finished run(s) in {out / 'runs'}" in err and "--resume" in err
    assert "Traceback" not in err
    assert 3 <= len(kept) < 24 and _leftovers(out) == [] and not (out / "runs.csv").exists()
    for path in kept:
        json.loads(path.read_text())


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_every_start_method_gives_the_same_rows(method):
    """Workers forked at once, from a forkserver, or spawned fresh compute the same runs."""
    sweep = sweep_from_dict(
        _sweep_data(stopping=None, replications=1, parameters={"departments.sanitation.units": [1, 2]})
    )
    serial = run_sweep(sweep, backend="serial")
    with ProcessBackend(2, method=method) as pool:
        from sim.experiments.runs import _task, run_task

        keys = [(p, m, 0) for p in range(2) for m in sweep.modes]
        rows = dict(pool.imap(run_task, [_task(sweep, *key) for key in keys]))

    def strip(row):
        return {k: v for k, v in row.items() if k != "runtime_s"}

    assert [strip(rows[i]) for i in range(len(keys))] == [strip(r) for r in serial.runs]
