"""Plug-ins in sweeps: a rule and metrics from outside the package, identical on every backend, code checked.

The rule, the camera channel and the metrics live in ``tests/experiments/plugins_example.py`` and are named by dotted
path; every worker (a process pool, a real Dask ``LocalCluster``) resolves the names itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import sim
from sim import registry
from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.runs import RunTask, run_sweep, run_task
from sim.io.loader import load_scenario
from sim.io.sweepfile import sweep_from_dict
from sim.stats.plugins import MetricInput, share_over_60
from tests.conftest import SCENARIOS, local_dask_cluster

PLUGINS = "tests.experiments.plugins_example:"
CLASSROOM = str(SCENARIOS / "classroom.yaml")
TABLES = ("runs.csv", "summary.csv")
METRICS = ["response_min.median", "share_over_60", f"{PLUGINS}share_over_30", f"{PLUGINS}shares.patrol"]


def _sweep_data(**fields) -> dict:
    data = {
        "name": "plugins",
        "scenario": CLASSROOM,
        "set": [
            "days=2",
            "warmup_days=0.5",
            "drain_days=0.5",
            "departments.police.units=4",
            f"incident_types.0.detection.camera.draw={PLUGINS}camera_near",
            "incident_types.0.detection.camera.options={radius_km: 1.0}",
        ],
        "parameters": {"governance.modes.unified.dispatch": ["nearest", f"{PLUGINS}straight_line", "least_loaded"]},
        "modes": ["fragmented", "unified"],
        "replications": 2,
        "metrics": METRICS,
    }
    data.update(fields)
    return data


def _tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


@pytest.fixture(scope="module")
def cluster():
    """A real dask cluster: a scheduler and two worker processes with one thread each."""
    with local_dask_cluster() as local:
        yield local


@pytest.mark.timeout(180)
def test_a_plugged_rule_channel_and_metrics_give_the_same_table_on_every_backend(tmp_path, cluster):
    sweep = sweep_from_dict(_sweep_data())
    assert set(sweep.code) == {"sim", "tests.experiments.plugins_example"}
    serial = run_sweep(sweep, tmp_path / "serial", backend="serial")
    processes = run_sweep(sweep, tmp_path / "processes", backend="processes", workers=2)
    dask = run_sweep(sweep, tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address)
    assert not serial.failed and len(serial.runs) == 3 * 2 * 2
    for result in (processes, dask):
        assert _tables(result.out) == _tables(serial.out)
    manifest = json.loads((tmp_path / "serial" / "sweep.json").read_text())
    assert manifest["code"] == sweep.code and "code" in manifest["hashes"]
    for metric in METRICS:  # every plugged metric has a value in every run
        assert all(row[metric] is not None for row in serial.runs)


def test_a_plugged_metric_is_its_function_of_the_run():
    """A row's value is the function applied to that very run (same seed, same point)."""
    sweep = sweep_from_dict(_sweep_data(parameters={"target_min": [30]}, modes=["fragmented"], replications=1))
    row = run_sweep(sweep, backend="serial").runs[0]
    scenario = load_scenario(CLASSROOM, [*_sweep_data()["set"], "target_min=30"])
    output = sim.run(scenario, "fragmented", seed=sweep.seed, replication=0)
    run = MetricInput(output, scenario.warmup_days * 24 * 60, scenario.target_min)
    over_30 = [r.response_min > 30 for r in run.records if not math.isnan(r.response_min)]
    assert row[f"{PLUGINS}share_over_30"] == sum(over_30) / len(over_30)
    assert row["share_over_60"] == share_over_60(run)


def _module(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(f"def share_over_20(run):\n    return {body}\n")


def test_the_sweep_fingerprint_covers_the_plugged_code(tmp_path, monkeypatch):
    """Changing a plug-in's source changes the sweep's hash, and a resume across the change is refused."""
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    _module(tmp_path / "lib", "fingerprinted_metrics", "0.25")
    data = _sweep_data(parameters={"target_min": [30]}, modes=["fragmented"], replications=1)
    data["metrics"] = ["fingerprinted_metrics:share_over_20"]
    first = sweep_from_dict(data)
    run_sweep(first, tmp_path / "out", backend="serial")
    _module(tmp_path / "lib", "fingerprinted_metrics", "0.5")
    registry._source_hash.cache_clear()
    second = sweep_from_dict(data)
    assert second.code["fingerprinted_metrics"] != first.code["fingerprinted_metrics"]
    assert second.code["sim"] == first.code["sim"]
    old, new = first.fingerprint(), second.fingerprint()
    assert new["hash"] != old["hash"] and new["hashes"]["scenario"] == old["hashes"]["scenario"]
    with pytest.raises(ScenarioError, match="changed: the code"):
        run_sweep(second, tmp_path / "out", backend="serial", resume=True)


def _see_first(folder: str) -> None:
    """On a worker: put *folder* first on the import path (as a worker with other files installed)."""
    import sys

    sys.path.insert(0, folder)


@pytest.mark.timeout(120)
def test_workers_whose_plugged_code_differs_are_refused(tmp_path, cluster, monkeypatch):
    _module(tmp_path / "client", "refused_metrics", "0.25")
    _module(tmp_path / "workers", "refused_metrics", "0.75")
    monkeypatch.syspath_prepend(str(tmp_path / "client"))
    data = _sweep_data(parameters={"target_min": [30]}, modes=["fragmented"], replications=1)
    data["metrics"] = ["refused_metrics:share_over_20"]
    sweep = sweep_from_dict(data)
    from dask.distributed import Client

    with Client(cluster.scheduler_address) as client:
        client.run(_see_first, str(tmp_path / "workers"))
    with pytest.raises(ScenarioError) as caught:
        run_sweep(sweep, tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address)
    message = str(caught.value)
    assert "the dask workers run different code than this client" in message and "refused_metrics" in message
    assert "sim," not in message  # the simulator itself is the same
    assert not (tmp_path / "dask" / "runs.csv").exists()


def test_each_task_checks_the_code_it_runs():
    """The guard inside the worker: a task asking for other code runs nothing and says why."""
    sweep = sweep_from_dict(_sweep_data(parameters={"target_min": [30]}, modes=["fragmented"], replications=1))
    task = RunTask(
        sweep.scenario, sweep.overrides(0), {"target_min": 30}, 0, "fragmented", 0, sweep.seed, ("share_over_60",)
    )
    same = run_task(RunTask(**{**task.__dict__, "code": tuple(sweep.code.items())}))
    assert same["error"] is None and same["share_over_60"] is not None
    other = run_task(RunTask(**{**task.__dict__, "code": (("sim", "0" * 64),)}))
    assert other["error"] == "worker's code differs from the client's in: sim" and other["share_over_60"] is None


@pytest.mark.parametrize(
    "metric, words",
    [
        ("share_over_6", "unknown metric 'share_over_6'; did you mean 'share_over_60'?"),
        ("no_such_module:f", "metric 'no_such_module:f': cannot import module 'no_such_module'"),
        (f"{PLUGINS}nothing", f"metric '{PLUGINS}nothing': module '{PLUGINS[:-1]}' has no attribute 'nothing'"),
    ],
)
def test_an_unknown_metric_exits_2_at_its_line(tmp_path, metric, words, capsys):
    path = tmp_path / "sweep.yaml"
    data = _sweep_data(metrics=["within_target", metric])
    path.write_text(json.dumps(data, indent=1))  # JSON is YAML; one key per line
    line = 1 + next(i for i, text in enumerate(path.read_text().splitlines()) if metric in text)
    assert main(["sweep", str(path), "--backend", "serial", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: metrics.1: {words}" in err and "Traceback" not in err


def test_workers_that_cannot_report_their_code_are_refused(cluster):
    """Workers with an older simulator (no sim.registry) fail the question itself: a clear refusal, no traceback."""
    from sim.experiments.backends import DaskBackend

    def older_workers(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'sim.registry'")

    with DaskBackend(scheduler=cluster.scheduler_address) as backend:
        backend.check_code(registry.code_fingerprint(["sim"]))  # the same code: accepted
        backend.client.run = older_workers
        with pytest.raises(ScenarioError, match=r"could not report their code \(ModuleNotFoundError: .*sim.registry"):
            backend.check_code(registry.code_fingerprint(["sim"]))
