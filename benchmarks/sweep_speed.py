"""Wall time of a 64-run sweep: serial against processes against dask, on this machine.

Not a test: timings depend on the machine. The sweep is the Anhai week (scenarios/anhai_garbage.yaml)
at 4 enforcement staffing levels x 2 modes x 8 replications = 64 runs. Each backend runs it into
a fresh folder ``--repeat`` times; the best time counts (the usual way to discount interference
from other work on the machine) and every time is in the JSON. The process pool is started
inside the timed call (its workers are forked from this process, so they start with the
simulator loaded). The dask cluster is the one ``--backend dask`` starts
(:func:`sim.experiments.backends.local_cluster`: the simulator preloaded, dask's profiler off), started
first and reached by its address; its start-up is reported separately, since a researcher
pointing ``--scheduler`` at a running cluster does not pay it. The tables of all three must be
identical byte for byte.

Run: ``python benchmarks/sweep_speed.py [--workers 2] [--repeat 3] [--out benchmarks/results/sweep_speed.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import sim
from sim.experiments.backends import cpu_count, local_cluster
from sim.experiments.runs import run_sweep
from sim.io.results import write_atomic
from sim.io.sweepfile import sweep_from_dict

ROOT = Path(__file__).resolve().parents[1]
SWEEP = {
    "name": "sweep_speed",
    "scenario": "anhai_garbage.yaml",
    "parameters": {"departments.enforcement.units": [3, 5, 8, 11]},
    "modes": ["fragmented", "unified"],
    "replications": 8,
    "metrics": ["response_min.median", "within_target", "by_type.garbage_overflow.response_min.median"],
}
SPEED_UP_WANTED = 1.7
DASK_SLOWER_ALLOWED = 0.15


def timed(sweep, out: Path, **options) -> float:
    """Seconds to run *sweep* into *out*."""
    started = time.perf_counter()
    result = run_sweep(sweep, out, progress=False, **options)
    elapsed = time.perf_counter() - started
    assert len(result.runs) == 64 and not result.failed, "the benchmark sweep must run 64 runs cleanly"
    return elapsed


def measure(workers: int, repeat: int) -> dict:
    """Time the three backends (best of *repeat*) and check that their tables agree."""
    sweep = sweep_from_dict(SWEEP, source="benchmarks/sweep_speed.py", base_dir=ROOT / "scenarios")
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {"serial": [], "processes": [], "dask": []}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: Path(tmp) / name for name in times}

        def once(name: str, **options) -> None:
            shutil.rmtree(folders[name], ignore_errors=True)
            times[name].append(timed(sweep, folders[name], **options))

        for _ in range(repeat):  # before the cluster exists: its threads would stop the pool from forking
            once("serial", backend="serial")
            once("processes", backend="processes", workers=workers)
        started = time.perf_counter()
        with local_cluster(workers) as cluster:  # what --backend dask starts: simulator preloaded, profiler off
            cluster_start = time.perf_counter() - started
            for _ in range(repeat):
                once("dask", backend="dask", scheduler=cluster.scheduler_address)
        identical = all(
            (folders[name] / table).read_bytes() == (folders["serial"] / table).read_bytes()
            for name in ("processes", "dask")
            for table in ("runs.csv", "summary.csv")
        )
    seconds = {name: min(values) for name, values in times.items()}
    speed_up = seconds["serial"] / seconds["processes"]
    dask_vs_processes = seconds["dask"] / seconds["processes"] - 1
    return {
        "runs": 64,
        "workers": workers,
        "cores": cpu_count(),
        "python": platform.python_version(),
        "load_average_before": round(load_before, 2),
        "sim_version": sim.__version__,
        "repeat": repeat,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "all_seconds": {k: [round(v, 2) for v in values] for k, values in times.items()},
        "dask_cluster_start_s": round(cluster_start, 2),
        "speed_up_processes_vs_serial": round(speed_up, 2),
        "dask_slower_than_processes": round(dask_vs_processes, 3),
        "tables_identical": identical,
        "targets_met": {
            f"speed_up >= {SPEED_UP_WANTED}": speed_up >= SPEED_UP_WANTED,
            f"dask within {DASK_SLOWER_ALLOWED:.0%} of processes": dask_vs_processes <= DASK_SLOWER_ALLOWED,
        },
    }


def main(argv=None) -> int:
    """Time the backends, print the table and write the results; 0 if the checks pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=min(2, cpu_count()), help="workers for processes and dask (default 2)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per backend; the best counts (default 3)")
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "sweep_speed.json"), help="where to write the figures"
    )
    args = parser.parse_args(argv)
    figures = measure(args.workers, args.repeat)
    s = figures["seconds"]
    print(
        f"64-run sweep, {figures['workers']} workers on {figures['cores']} cores (Python {figures['python']}), best of {args.repeat}:"
    )
    print(f"  serial     {s['serial']:6.2f} s")
    print(
        f"  processes  {s['processes']:6.2f} s   speed-up {figures['speed_up_processes_vs_serial']:.2f}x (wanted >= {SPEED_UP_WANTED}x)"
    )
    print(
        f"  dask       {s['dask']:6.2f} s   {figures['dask_slower_than_processes']:+.1%} against processes "
        f"(wanted <= +{DASK_SLOWER_ALLOWED:.0%}); LocalCluster start-up {figures['dask_cluster_start_s']:.2f} s not included"
    )
    print(f"  tables identical across backends: {figures['tables_identical']}")
    if figures["load_average_before"] > 0.5:
        print(
            f"  note: the 1-minute load average was {figures['load_average_before']} before the run; other work skews the figures"
        )
    write_atomic(args.out, json.dumps(figures, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if figures["tables_identical"] and all(figures["targets_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
