"""Reliability, round two (issue 20): one output folder per sweep, run files checked on resume,
special files, the fleet's cost at shift changes, SIGTERM and orphaned workers, stages after the
run's end, memory, sweep parameters, the dask dashboard, and smaller things.

No test here asserts elapsed time: work is bounded by counts and outcomes, and
``pytest.mark.timeout`` only guards against a hang.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.engine.model import Simulation
from sim.errors import ScenarioError
from sim.experiments.runs import RunStore, run_sweep
from sim.io.loader import read_yaml
from sim.io.sweepfile import load_sweep, sweep_from_dict
from sim.scenario.governance import modes_of
from tests.conftest import ROOT, SCENARIOS

CLASSROOM = str(SCENARIOS / "classroom.yaml")
TABLES = ("runs.csv", "summary.csv")


def _sweep_data(**fields) -> dict:
    """12 short runs of the classroom town (3 points x 2 modes x 2 replications)."""
    return {
        "name": "round2",
        "scenario": CLASSROOM,
        "set": ["days=2", "warmup_days=0.5", "drain_days=0.5"],
        "parameters": {"departments.sanitation.units": [1, 2, 3]},
        "modes": ["fragmented", "unified"],
        "replications": 2,
        "metrics": ["response_min.median", "within_target"],
        **fields,
    }


def _sweep_file(tmp_path: Path, name: str = "sweep.yaml", **fields) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(_sweep_data(**fields)))  # JSON is YAML
    return path


def _tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def _errors(capsys) -> str:
    return capsys.readouterr().err


def _wait_for(predicate, process: subprocess.Popen | None = None, limit_s: float = 120) -> None:
    """Wait for an outcome (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(process.communicate())
        time.sleep(0.02)
    raise AssertionError("not reached")


def _alive(pid: int) -> bool:
    """Whether process *pid* exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                out.append(int(entry.name))
    return out


# --------------------------------------------------------------------------- 1. one sweep per folder


HOLD_LOCK = """
import sys, time
from sim.io.results import FolderLock
lock = FolderLock(sys.argv[1], "sweep").acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.mark.timeout(120)
def test_a_second_sweep_on_a_folder_in_use_is_refused_naming_the_folder_and_process(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--backend", "serial"])
        err = _errors(capsys)
        assert code == 2
        assert f"{out} is in use by another sweep (process {holder.pid}" in err and "Traceback" not in err
        assert not (out / "runs").exists() and not (out / "sweep.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone (killed: the kernel dropped its lock): the folder is free again
    assert main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--backend", "serial"]) == 0
    assert not (out / ".town-sim.lock").exists()


def test_the_lock_is_held_for_the_sweep_and_let_go_after(tmp_path):
    sweep = sweep_from_dict(_sweep_data(), base_dir=ROOT)
    store = RunStore(tmp_path)
    store.open(sweep)
    try:
        with pytest.raises(ScenarioError, match="is in use by another sweep"):
            RunStore(tmp_path).open(sweep, resume=True)
    finally:
        store.close()
    assert run_sweep(sweep, tmp_path, backend="serial", resume=True).ran == 12


# --------------------------------------------------------------------------- 6. run files checked on resume


_DROP = object()


def _rewrite(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_resume_checks_every_run_file_and_redoes_the_damaged_ones(tmp_path, capsys):
    sweep_path = _sweep_file(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_path), "--out", str(out), "--backend", "serial"]) == 0
    tables = _tables(out)
    runs = out / "runs"
    files = sorted(runs.glob("p*.json"))
    assert len(files) == 12 and all("_sha256" in json.loads(p.read_text()) for p in files)
    from sim.experiments.runs import row_checksum

    def forged(d, **changes):  # a change with a checksum to match: the content checks must catch it
        d.pop("_sha256")
        d.update(changes)
        for key in [k for k, v in changes.items() if v is _DROP]:
            d.pop(key)
        d["_sha256"] = row_checksum({k: v for k, v in d.items() if k != "_sweep"})

    files[8].write_bytes(files[0].read_bytes())  # point 0's file under point 2's name
    (runs / "p000000-m00-r00099.json").write_bytes(files[5].read_bytes())  # replication 99 of 2
    _rewrite(files[0], lambda d: d.update({"within_target": 0.5}))  # an edited value: the checksum no longer matches
    _rewrite(files[1], lambda d: forged(d, **{"response_min.median": "fast"}))  # text where a metric belongs
    _rewrite(files[2], lambda d: forged(d, within_target=_DROP))  # a missing key
    files[3].write_text(files[3].read_text().replace('"within_target": ', '"within_target": NaN, "x": '))  # a NaN
    files[4].write_bytes(files[4].read_bytes()[:20])  # truncated
    _rewrite(files[6], lambda d: d.update({"_sweep": "0" * 64}))  # written by another sweep
    _rewrite(
        files[9], lambda d: forged(d, **{"departments.sanitation.units": 1})
    )  # point 0's parameters in point 2's file
    code = main(["sweep", str(sweep_path), "--out", str(out), "--backend", "serial", "--resume"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "redid 9 damaged run file(s)" in printed, printed
    assert "12 run(s)" in printed and "p000000-m00-r00099.json (not a run of this sweep" in printed
    assert _tables(out) == tables
    assert len(list(runs.glob("p*.json"))) == 12
    # now every file is sound: nothing is redone
    result = run_sweep(load_sweep(sweep_path, out=out), out, backend="serial", resume=True)
    assert (result.ran, result.damaged) == (0, ())


# --------------------------------------------------------------------------- 2. special files


@pytest.mark.timeout(30)
@pytest.mark.parametrize("command", ["validate", "run", "sweep"])
def test_a_named_pipe_is_refused_not_waited_on(tmp_path, capsys, command):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    code = main([command, str(fifo)])
    err = _errors(capsys)
    assert code == 2 and "Traceback" not in err
    kind = "sweep" if command == "sweep" else "scenario"
    assert f"{fifo}: is a named pipe (FIFO); expected a YAML {kind} file" in err


@pytest.mark.timeout(30)
def test_a_device_is_refused_not_read_to_exhaustion(capsys):
    assert main(["validate", "/dev/zero"]) == 2
    assert "/dev/zero: is a character device; expected a YAML scenario file" in _errors(capsys)


@pytest.mark.timeout(30)
def test_a_pipe_as_a_sweep_s_scenario_is_refused(tmp_path, capsys):
    fifo = tmp_path / "town.yaml"
    os.mkfifo(fifo)
    assert main(["sweep", str(_sweep_file(tmp_path, scenario="town.yaml"))]) == 2
    assert f"{fifo}: is a named pipe (FIFO); expected a YAML scenario file" in _errors(capsys)


def test_the_read_itself_is_bounded(tmp_path, monkeypatch):
    from sim.io import loader

    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 1000)
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 100)
    reads = []
    real_open = os.fdopen

    def spy(fd, *args, **kwargs):
        handle = real_open(fd, *args, **kwargs)
        original = handle.read
        handle.read = lambda size=-1: reads.append(size) or original(size)
        return handle

    monkeypatch.setattr(loader.os, "fdopen", spy)
    with pytest.raises(ScenarioError, match="more than 100 bytes"):
        loader.read_user_text(path)
    assert reads == [101]


# --------------------------------------------------------------------------- 3. a large fleet's shift changes


def _counting(op: str):
    def compare(self, other):
        _Counted.calls += 1
        return getattr(int, op)(self, other)

    return compare


class _Counted(int):
    """A ``free_seq`` that counts the comparisons made with it (list scans and heap steps alike)."""

    calls = 0
    __eq__, __ne__, __lt__ = _counting("__eq__"), _counting("__ne__"), _counting("__lt__")
    __le__, __gt__, __ge__ = _counting("__le__"), _counting("__gt__"), _counting("__ge__")
    __hash__ = int.__hash__


def _comparisons(units: int) -> int:
    import itertools

    from benchmarks.performance import units_scenario

    scenario = units_scenario(units, days=2)
    simulation = Simulation(scenario, modes_of(scenario)["unified"], sim.engine.rng.replication_seed(1, 0))
    simulation.dispatcher._freed = map(_Counted, itertools.count())
    _Counted.calls = 0
    simulation.run()
    return _Counted.calls


@pytest.mark.timeout(300)
def test_shift_changes_cost_in_proportion_to_the_fleet():
    """4,000 units on day_night shifts at one base: the work per unit at a shift change must not grow
    with the units at that base. Counted as comparisons of the units' free order, not seconds."""
    small, large = _comparisons(1_000), _comparisons(4_000)
    assert small > 0
    assert large <= 5 * small, (small, large)  # O(n log n) at worst; a scan of the base per unit gives ~16x
    assert large / 4_000 < 40  # comparisons per unit over two days of shift changes


# --------------------------------------------------------------------------- 4. SIGTERM, orphans, stale files


@pytest.mark.timeout(300)
def test_sigterm_during_a_sweep_keeps_finished_runs_exits_143_and_leaves_no_worker(tmp_path):
    sweep_path = _sweep_file(tmp_path, set=["days=40", "warmup_days=0.5"], replications=4)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "sweep", str(sweep_path), "--out", str(out), "--workers", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = out / "runs"
    _wait_for(lambda: runs.is_dir() and len(list(runs.glob("p*.json"))) >= 2, process)
    workers = _children(process.pid)
    assert workers
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "terminated (SIGTERM): kept" in stderr and "--resume" in stderr and "Traceback" not in stderr
    _wait_for(lambda: not any(_alive(pid) for pid in workers))
    kept = len(list(runs.glob("p*.json")))
    assert kept >= 2 and not list(out.rglob(".*.tmp"))
    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} kept from before" in resumed.stdout


WORKERS_THEN_WAIT = """
import time
from sim.experiments.backends import ProcessBackend
backend = ProcessBackend(2, method="{method}")
backend.start()
list(backend.executor.map(time.sleep, [0.5, 0.5]))  # both workers started
pids = sorted(backend.executor._processes)
print(" ".join(map(str, pids)), flush=True)
time.sleep(120)
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pool_workers_exit_when_their_parent_is_killed(method):
    parent = subprocess.Popen(
        [sys.executable, "-c", WORKERS_THEN_WAIT.format(method=method)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    parent.kill()  # SIGKILL: no clean-up of its own
    parent.wait()
    _wait_for(lambda: not any(_alive(pid) for pid in workers), limit_s=60)


def test_stale_temporary_files_are_cleaned_by_the_next_run_in_the_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".summary.json.k2j4h5g6.tmp", out / ".incidents.csv.abcdefgh.tmp"]
    foreign = [out / ".notes.tmp", out / "draft.tmp", out / ".mine.k2j4h5g6.tmp"]
    for path in stale + foreign:
        path.write_text("half")
    assert main(["compare", CLASSROOM, "--days", "1", "--set", "warmup_days=0.5", "--out", str(out)]) == 0
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in foreign)  # not this project's temporary files: left alone
    assert not (out / ".town-sim.lock").exists()


def test_a_compare_into_a_folder_in_use_is_refused_before_running(tmp_path, capsys, monkeypatch):
    from sim.io.results import FolderLock

    monkeypatch.setattr("sim.experiments.runs.compare", lambda *a, **k: pytest.fail("simulated"))
    with FolderLock(tmp_path, "sweep"):
        assert main(["compare", CLASSROOM, "--out", str(tmp_path)]) == 2
    assert f"{tmp_path} is in use by another sweep (process {os.getpid()}" in _errors(capsys)


# --------------------------------------------------------------------------- 5. stages after the end; coordinates


def _far_town(**extra) -> sim.Scenario:
    """Matters 300 km east and west of the crews' base: a unit travels 12 to 24 hours to each."""
    return sim.scenario_from_dict(
        {
            "name": "far",
            "seed": 3,
            "days": 1,
            "warmup_days": 0,
            "drain_days": 0.25,
            "territory": {
                "patches": [
                    {"name": "base", "x_km": 0, "y_km": 0, "weight": 0},
                    {"name": "east", "x_km": 300, "y_km": 0},
                    {"name": "west", "x_km": -300, "y_km": 0},
                ],
                "detour_factor": 1.0,
            },
            "departments": [
                {"name": "crew", "units": 3, "base": "base", "patrols": False, "speed_kmh": 25, "powers": ["matter"]}
            ],
            "incident_types": [
                {"name": "matter", "rate_per_day": 30, "detection": {"hotline": {"probability": 1, "delay_min": 0}}}
            ],
            **extra,
        }
    )


def test_a_stage_after_the_run_ended_is_not_recorded(tmp_path):
    scenario = _far_town()
    end = (scenario.days + scenario.drain_days) * 1440
    records = sim.run(scenario, "unified").records
    dispatched = [r for r in records if r.dispatched_min == r.dispatched_min]
    assert dispatched, "no unit was dispatched"
    for r in records:
        for stage in ("reached_min", "dispatched_min", "on_scene_min", "resolved_min", "closed_min"):
            value = getattr(r, stage)
            assert math.isnan(value) or value < end, (stage, r)
    late = [r for r in dispatched if math.isnan(r.on_scene_min)]
    assert late  # dispatched before the end, would have arrived after it
    summary = sim.compare(scenario, ["unified"]).summary["modes"]["unified"]
    response = summary["response_min"]
    # a matter not reached by the end is censored there: p90 is a time before the end, or "more than" a follow-up
    # that itself ends by the end, never a time after it
    assert response["p90"] < end if response["p90"] is not None else response["p90_more_than"] <= end
    from sim.io.results import write_incidents

    path = write_incidents(tmp_path / "incidents.csv", (("unified", 0, r) for r in records))
    rows = list(csv.DictReader(path.open()))
    assert all(row["on_scene_min"] == "" or float(row["on_scene_min"]) < end for row in rows)


@pytest.mark.parametrize("value", ["1e300", "-1e300", "20001", "-40000"])
def test_coordinates_beyond_the_plausible_are_refused(tmp_path, capsys, value):
    data, _ = read_yaml(CLASSROOM)
    data["territory"] = {
        "patches": [{"name": "a", "x_km": 0, "y_km": 0}, {"name": "b", "x_km": float(value), "y_km": 0}]
    }
    for dept in data["departments"]:
        dept.pop("base", None)
    path = tmp_path / "town.yaml"
    path.write_text(json.dumps(data))
    assert main(["validate", str(path)]) == 2
    err = _errors(capsys)
    assert "territory.patches.b.x_km: expected a number of " in err and "Traceback" not in err


def test_a_grid_wider_than_the_earth_is_refused(capsys):
    assert main(["validate", CLASSROOM, "--set", "territory.patch_km=1000", "--set", "territory.grid.cols=100"]) == 2
    assert "km across" in _errors(capsys)


# --------------------------------------------------------------------------- 7. memory


def _town_with(incidents_per_day: float, days: float = 100) -> Path:
    data, _ = read_yaml(CLASSROOM)
    share = incidents_per_day / len(data["incident_types"])
    for itype in data["incident_types"]:
        itype["rate_per_day"] = share
    data["days"] = days
    return data


@pytest.mark.timeout(60)
def test_a_run_that_cannot_fit_in_memory_is_refused_before_it_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sim.experiments.memory.available_memory", lambda: 1_000_000_000)  # 1 GB
    path = tmp_path / "big.yaml"
    path.write_text(json.dumps(_town_with(20_000)))  # 2 million incidents a run, 3 modes
    assert main(["compare", str(path)]) == 2
    err = _errors(capsys)
    assert (
        f"{path}: this needs about " in err and "1.0 GB is available" in err and "2,000,000 expected incidents" in err
    )


def test_a_run_that_needs_most_of_the_memory_is_warned_about(tmp_path, capsys, monkeypatch):
    from sim.experiments import memory

    path = tmp_path / "town.yaml"
    path.write_text(json.dumps(_town_with(50, days=2)))
    scenario = sim.load_scenario(path)
    needed = memory.memory_needed(scenario, runs_kept=3)
    monkeypatch.setattr(memory, "available_memory", lambda: int(needed * 1.5))
    assert main(["compare", str(path), "--set", "warmup_days=0.5"]) == 0
    assert "warning: this needs about" in _errors(capsys)


def test_a_sweep_run_that_cannot_fit_fails_as_a_row(monkeypatch):
    monkeypatch.setattr("sim.experiments.memory.available_memory", lambda: 1_000)
    result = run_sweep(sweep_from_dict(_sweep_data(replications=1, modes=["unified"]), base_dir=ROOT), backend="serial")
    assert all("this needs about" in row["error"] for row in result.runs)


# --------------------------------------------------------------------------- 8. sweep parameters


@pytest.mark.parametrize(
    "second", ["departments.2.units", "departments.sanitation.units ", " departments.sanitation.units"]
)
def test_one_field_under_two_key_paths_is_refused_naming_both_lines(tmp_path, capsys, second):
    names = [d["name"] for d in read_yaml(CLASSROOM)[0]["departments"]]
    second = second.replace("2", str(names.index("sanitation")))
    text = textwrap.dedent(f"""\
        scenario: {CLASSROOM}
        set: [days=2, warmup_days=0.5]
        parameters:
          departments.sanitation.units: [1, 2]
          "{second}": [3, 4]
        """)
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    assert main(["sweep", str(path)]) == 2
    err = _errors(capsys)
    assert f"{path}:5: parameters.{second}: sets the same field as 'departments.sanitation.units' (line 4)" in err


def test_a_range_over_a_whole_number_field_is_drawn_as_whole_numbers():
    data = _sweep_data(design="lhs", samples=8, parameters={"departments.sanitation.units": {"low": 1, "high": 6.5}})
    sweep = sweep_from_dict(data, base_dir=ROOT)
    values = [p["departments.sanitation.units"] for p in sweep.points]
    assert all(type(v) is int and 1 <= v <= 6 for v in values) and len(set(values)) > 2
    result = run_sweep(sweep, backend="serial")
    assert not result.failed


def test_integer_false_on_a_whole_number_field_is_refused():
    data = _sweep_data(
        design="sobol", samples=8, parameters={"departments.sanitation.units": {"low": 1, "high": 6, "integer": False}}
    )
    with pytest.raises(ScenarioError, match="takes whole numbers only; expected integer: true"):
        sweep_from_dict(data, base_dir=ROOT)


def test_a_range_over_a_fractional_field_stays_fractional():
    data = _sweep_data(
        design="lhs", samples=8, parameters={"governance.referral.handover_min": {"low": 10, "high": 60}}
    )
    values = [p["governance.referral.handover_min"] for p in sweep_from_dict(data, base_dir=ROOT).points]
    assert any(v != int(v) for v in values)


# --------------------------------------------------------------------------- 9. the dask dashboard


def test_the_local_dask_cluster_listens_on_this_machine_only(monkeypatch):
    pytest.importorskip("dask.distributed")
    import dask.distributed

    from sim.experiments import backends

    seen = []
    monkeypatch.setattr(dask.distributed, "LocalCluster", lambda **kwargs: seen.append(kwargs))
    backends.local_cluster(1)
    backends.local_cluster(1, dashboard=True)
    assert seen[0]["host"] == "127.0.0.1" and seen[0]["dashboard_address"] is None
    assert seen[1]["dashboard_address"] == "127.0.0.1:0"


# --------------------------------------------------------------------------- 10. smaller things


def test_workers_are_capped_at_the_runs_and_the_cores():
    from sim.experiments.backends import cpu_count, worker_count

    sweep = sweep_from_dict(_sweep_data(parameters={}, modes=["unified"], replications=1), base_dir=ROOT)
    assert run_sweep(sweep, backend="processes", workers=8).backend == "processes x1"
    assert worker_count(48, 2) == min(2, cpu_count()) and worker_count(48) == cpu_count()


@pytest.mark.parametrize("seed", [str(2**63), "-1"])
def test_seed_is_checked_as_the_scenario_s_seed_is(capsys, seed):
    assert main(["run", CLASSROOM, "--seed", seed]) == 2
    assert "error: --seed: expected a whole number from 0 to 9,223,372,036,854,775,807" in _errors(capsys)


def test_days_is_reported_as_days_not_set(capsys):
    assert main(["run", CLASSROOM, "--days", "40000"]) == 2
    err = _errors(capsys)
    assert "error: --days: expected a number of 36500 or less" in err and "--set" not in err


def test_out_is_checked_before_the_simulation(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sim.experiments.runs.compare", lambda *a, **k: pytest.fail("simulated before checking --out"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    for command in ("run", "compare"):
        assert main([command, CLASSROOM, "--out", str(blocker / "out")]) == 2
        assert f"error: --out: {blocker} is a file, not a folder" in _errors(capsys)


def test_a_byte_that_is_not_utf8_is_reported_by_line(tmp_path, capsys):
    path = tmp_path / "town.yaml"
    path.write_bytes(b"name: town\ndescription: caf\xe9\n")
    assert main(["validate", str(path)]) == 2
    assert f"{path}:2: not UTF-8 text (byte e9 in column 17" in _errors(capsys)


def test_a_missing_sweep_file_is_called_a_sweep_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nowhere.yaml")]) == 2
    assert "file not found; expected a YAML sweep file" in _errors(capsys)


@pytest.mark.timeout(60)
def test_a_pipe_in_a_results_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compare", CLASSROOM, "--days", "1", "--set", "warmup_days=0.5", "--out", str(out)]) == 0
    (out / "incidents.csv").unlink()
    os.mkfifo(out / "incidents.csv")
    assert main(["plot", str(out)]) == 2
    assert "incidents.csv: is a named pipe (FIFO); expected a CSV table of results" in _errors(capsys)
