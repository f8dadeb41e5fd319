"""Speed and memory of the engine and of the command line, measured as paired ratios in one run (issue 22).

Run ``python -m benchmarks`` (or ``python -m benchmarks.performance``) from the repository root.
It prints a table, writes ``benchmarks/results/performance.json`` and ``docs/performance.md``.
Nothing here is a pass/fail test: the targets are printed beside the measurements.

How it measures: the machine may be shared, so absolute times are noisy and what holds is a ratio
of two things measured side by side. Everything that is compared runs *interleaved* (A B, B A, A B,
...), each figure is the *median over rounds* with its *spread* (lowest to highest), and a ratio is
the median of the per-round ratios (a paired ratio), never a best-of-N. Times of work in this
process are CPU seconds (``time.process_time``); whole commands are wall and CPU seconds and peak
resident memory of the child process (``os.wait4``).

Measurements
------------
* the engine floor: a raw SimPy M/M/c (10 servers, utilisation 0.8, 200,000 customers, one
  process per customer, ``simpy.Resource``) written here, against the same M/M/c expressed as a
  project scenario and run through :func:`sim.run`, interleaved; their peak memory in fresh processes;
* a year of the Anhai town under each mode (``sim.run``), modes interleaved round by round, and the
  fragmented mode's cost per incident as a paired ratio to the unified mode's;
* a year of the Jinjiang city (about 816,000 incidents) as the user runs it, the whole
  ``python -m sim run scenarios/jinjiang.yaml --days 365 --mode M --out DIR`` per mode (wall, CPU,
  peak memory with ``incidents.csv`` written), each beside a raw SimPy M/M/c of as many customers
  run just before it (the floor, measured in the same run);
* the statistics of a city year (``summarise`` on the columns), and the row-by-row summary they
  replaced (``tests/stats/rowwise_reference.py``) on the same runs;
* scaling: incident load x1, x2, x4, x8 (same units), patches-and-units x1, x4, x16 (the town tiled
  1x1, 2x2, 4x4), units 2,000 to 16,000 on ``day_night`` shifts (the cost is the shift changes), and
  shift changes x1 to x8 (longer horizons, same fleet, almost no incidents); each the slope of
  log(CPU time) against log(size), sizes interleaved round by round, the median time of each;
* start-up of the command line (:mod:`benchmarks.startup`; alone: ``python -m benchmarks startup``).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from benchmarks.startup import measure_startup  # noqa: E402
from benchmarks.startup import section as startup_section  # noqa: E402
from sim.engine.territory import build_town  # noqa: E402
from sim.io.loader import read_yaml  # noqa: E402
from sim.io.results import write_atomic  # noqa: E402

SERVERS, UTILISATION, SERVICE_MEAN = 10, 0.8, 10.0
ARRIVALS_PER_MIN = UTILISATION * SERVERS / SERVICE_MEAN
FLOOR_TILE_MINUTES = 20_000.0  # the scaling floor's horizon: 16,000 customers per tile


# --------------------------------------------------------------------------- engine floor


def raw_simpy_mmc(customers: int, seed: int = 1) -> float:
    """Wall seconds of a plain SimPy M/M/c with one process per customer (the floor)."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / ARRIVALS_PER_MIN, customers)
    services = rng.exponential(SERVICE_MEAN, customers)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits = []

    def customer(service):
        arrived = env.now
        with servers.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for gap, service in zip(gaps, services):
            yield env.timeout(gap)
            env.process(customer(service))

    started = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - started


def mmc_scenario(customers: int) -> sim.Scenario:
    """The same M/M/c as a town: one patch, no travel, instant detection and reporting."""
    days = customers / ARRIVALS_PER_MIN / 1440
    return sim.scenario_from_dict(
        {
            "name": "mmc",
            "seed": 1,
            "days": days,
            "warmup_days": 0,
            "drain_days": 1,
            "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
            "departments": [{"name": "team", "units": SERVERS, "setoff_min": 0, "powers": ["job"]}],
            "incident_types": [
                {
                    "name": "job",
                    "rate_per_day": ARRIVALS_PER_MIN * 1440,
                    "service_min": {"dist": "exponential", "mean": SERVICE_MEAN},
                    "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
                }
            ],
            "governance": {"instant": {"report_min": 0, "centre_min": 0}, "modes": {"pooled": {"based_on": "joint"}}},
        }
    )


def cpu_run(scenario: sim.Scenario, mode: str) -> tuple[float, int]:
    """(CPU seconds, incidents) of one run through the project's public path, from a collected heap."""
    gc.collect()
    started = time.process_time()
    output = sim.run(scenario, mode)
    spent = time.process_time() - started
    incidents = len(output.records)
    del output
    return spent, incidents


def raw_simpy_tiles(tiles: int, minutes: float, seed: int = 1, collect: bool = True) -> tuple[float, int]:
    """(CPU seconds, customers) of *tiles* independent raw SimPy M/M/c, in one environment, for *minutes*.

    Each tile is :func:`raw_simpy_mmc`'s M/M/c (its servers, load and service); arrivals come to a tile
    drawn at random. It is the floor of the town-size scaling: a bigger system in one SimPy environment,
    with no model of the project's, so its slope is what SimPy and Python themselves give when the
    queue of events, the resources and the objects alive grow with the size. With *collect* the heap is
    collected first, as :func:`cpu_run` does (not when instructions are counted: a full collection of
    a process that imported the project would count for more than a small run).
    """
    rng = np.random.default_rng(seed)
    count = int(ARRIVALS_PER_MIN * tiles * minutes * 1.1) + 100
    gaps = rng.exponential(1 / (ARRIVALS_PER_MIN * tiles), count)
    services = rng.exponential(SERVICE_MEAN, count)
    which = rng.integers(0, tiles, count)
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=SERVERS) for _ in range(tiles)]
    waits: list[float] = []

    def customer(resource, service):
        arrived = env.now
        with resource.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for gap, service, tile in zip(gaps, services, which):
            yield env.timeout(gap)
            env.process(customer(servers[tile], service))

    if collect:
        gc.collect()
    started = time.process_time()
    env.process(source())
    env.run(until=minutes)
    return time.process_time() - started, len(waits)


def cpu_raw_simpy(customers: int) -> float:
    """CPU seconds of :func:`raw_simpy_mmc` (the raw SimPy floor)."""
    gc.collect()
    started = time.process_time()
    raw_simpy_mmc(customers)
    return time.process_time() - started


def spread(values) -> dict:
    """Median, lowest and highest of *values*, and how many."""
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "low": min(values), "high": max(values), "n": len(values)}


def fmt(stat: dict, digits: int = 2, suffix: str = "") -> str:
    """``median (low–high)``."""
    return f"{stat['median']:.{digits}f}{suffix} ({stat['low']:.{digits}f}–{stat['high']:.{digits}f})"


# --------------------------------------------------------------------------- scenarios


def scaled(path: Path, overrides: list[str], rate: float = 1.0, units: float = 1.0) -> sim.Scenario:
    """A shipped scenario with incident rates and unit counts scaled."""
    data, _ = read_yaml(path)
    for itype in data["incident_types"]:
        itype["rate_per_day"] = itype["rate_per_day"] * rate
    _scale_units(data, units)
    return sim.scenario_from_dict(data, overrides=overrides)


def tiled(path: Path, overrides: list[str], side: int) -> sim.Scenario:
    """A shipped grid town repeated *side* x *side* times: the same town, side*side times over.

    Every tile keeps the town's patches, incident weights, sectors, grids, bases and units, so
    the density of everything is the same at every size and only the amount of work grows.
    """
    data, _ = read_yaml(path)
    town = build_town(sim.scenario_from_dict(data).territory)
    grid = data["territory"]["grid"]
    rows, cols, tiles = grid["rows"], grid["cols"], side * side
    grid["weights"] = np.tile(town.weights.reshape(rows, cols), (side, side)).ravel().tolist()
    grid.pop("centre_peak", None)
    grid["rows"], grid["cols"] = rows * side, cols * side
    for key in ("sectors", "grids"):
        grid[key] = [n * side for n in grid.get(key, (1, 1))]
    for itype in data["incident_types"]:
        itype["rate_per_day"] = itype["rate_per_day"] * tiles
    for dept in data["departments"]:
        bases = dept.get("base", "centre")
        bases = [bases] if isinstance(bases, str) else bases
        names = [town.names[town.index(b)] for b in bases]
        # base by base, tile by tile: unit i of every tile stands where unit i of the town did
        dept["base"] = [_shifted(n, a * rows, b * cols) for n in names for a in range(side) for b in range(side)]
    _scale_units(data, tiles)
    return sim.scenario_from_dict(data, overrides=overrides)


def _shifted(patch: str, down: int, right: int) -> str:
    """The name of grid patch ``r{r}c{c}`` moved *down* rows and *right* columns."""
    r, c = patch[1:].split("c")
    return f"r{int(r) + down}c{int(c) + right}"


def _scale_units(data: dict, factor: float) -> None:
    for dept in data["departments"]:
        dept["units"] = max(1, round(dept["units"] * factor))
        if isinstance(dept.get("shift"), list):
            for window in dept["shift"]:
                window["units"] = max(0, round(window["units"] * factor))


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(wall time) against log(incidents)."""
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def units_scenario(units: int, days: float = 3.0) -> sim.Scenario:
    """*units* units of one department at one base on ``day_night`` shifts, and almost no incidents.

    The cost is the shift changes (half the fleet goes off duty and half comes on, twice a day).
    """
    data = {
        "name": f"units_{units}",
        "seed": 1,
        "days": days,
        "warmup_days": 1,
        "drain_days": 0,
        "territory": {"grid": {"rows": 10, "cols": 10}},
        "departments": [{"name": "enforcement", "units": units, "shift": "day_night", "powers": ["matter"]}],
        "incident_types": [{"name": "matter", "rate_per_day": 2}],
    }
    return sim.scenario_from_dict(data)


def interleaved_cpu(cases: dict, rounds: int) -> dict:
    """CPU seconds of each case's ``run()`` over *rounds* interleaved rounds (order reversed every other round).

    *cases* maps a name to a function returning ``(cpu seconds, size)``. Returns name -> list of
    (seconds, size), one per round.
    """
    out: dict = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            out[name].append(cases[name]())
    return out


def scaling(cases: dict, rounds: int = 3) -> dict:
    """Slope of log(median CPU time) against log(size), sizes interleaved round by round."""
    found = interleaved_cpu(cases, rounds)
    points = [(found[name][0][1], statistics.median(t for t, _ in found[name])) for name in cases]
    return {"points": points, "slope": slope(points), "rounds": rounds}


def units_scaling(sizes=(2_000, 4_000, 8_000, 16_000), days: float = 12.0, mode: str = "unified") -> dict:
    """CPU seconds of :func:`units_scenario` at each fleet size, and the slope of log time against log units.

    A shift change touches each unit whose duty changes once (those coming on with no job waiting,
    and those going off, filed in or out of the map index a bucket at a time), so the cost should
    grow in proportion to the units (slope 1); before the map index kept its buckets as ordered sets, taking one unit out
    of a base holding thousands cost a scan of them all, and the slope was near 2.
    """
    sim.run(units_scenario(100, days), mode)  # the first run of a process pays for caches
    cases = {units: (lambda u=units: (cpu_run(units_scenario(u, days), mode)[0], u)) for units in sizes}
    return {"days": days, "mode": mode, **scaling(cases)}


def shift_change_scaling(units: int = 8_000, days=(6, 12, 24, 48), mode: str = "unified") -> dict:
    """CPU seconds of one fleet over longer horizons (more shift changes, almost no incidents), slope against changes.

    ``day_night`` shifts change twice a day, so the number of changes is twice the days.
    """
    cases = {d: (lambda d=d: (cpu_run(units_scenario(units, d), mode)[0], 2 * d)) for d in days}
    return {"units": units, "mode": mode, **scaling(cases)}


# --------------------------------------------------------------------------- whole processes

CHILD_PROJECT = """
import sys
sys.path.insert(0, {root!r})
import sim
from benchmarks.performance import mmc_scenario
output = sim.run(mmc_scenario({customers}), "pooled")
"""

CHILD_RAW = """
import time
import numpy as np
import simpy
SERVERS, SERVICE_MEAN, ARRIVALS_PER_MIN = {servers!r}, {service!r}, {arrivals!r}
{source}
raw_simpy_mmc({customers})
"""
"""The raw SimPy M/M/c alone in a fresh process: numpy and SimPy imported, nothing of the project."""


PEAK_PROBE = """
import atexit, runpy, sys

def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")

atexit.register(_peak)
if sys.argv[1] == "-m":
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    exec(compile(sys.argv[2], "<benchmark>", "exec"), {"__name__": "__main__"})
"""
"""Runs ``-m module args`` or ``-c code`` and reports the process's own peak resident memory (``VmHWM``) at exit.

``getrusage`` of a child would not do: on Linux a forked child's ``ru_maxrss`` starts from its parent's size."""


def child(args: list[str]) -> dict:
    """Run ``python -m …`` or ``python -c …`` (*args* after the interpreter) in a fresh process.

    Returns its wall seconds, CPU seconds (``os.wait4``) and peak resident memory in MB (its own ``VmHWM``).
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", PEAK_PROBE, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    error = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{args} failed: {error[-2000:]}")
    peak_kb = [int(line.split()[1]) for line in error.splitlines() if line.startswith("PEAK_KB ")]
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb[-1] / 1024.0}


_ONE_RUN = """
import sys
sys.path.insert(0, sys.argv[1])
import sim
scenario = sim.load_scenario(sys.argv[2], ["days=" + sys.argv[3]])
for _ in range(int(sys.argv[5])):
    sim.run(scenario, sys.argv[4])
"""


def instructions(path: Path, days: float, mode: str) -> int | None:
    """Instructions one ``sim.run`` of *path* over *days* in *mode* executes, counted by Valgrind's callgrind.

    The same process is counted with no run and with one (hash seed fixed), and the difference is the run's:
    a count, not a time, so it is the same on a busy machine as on a quiet one. None without ``valgrind``.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    counts = []
    for runs in (0, 1):
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", _ONE_RUN]
            + [str(ROOT), str(path), str(days), mode, str(runs)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or found is None:
            return None
        counts.append(int(found.group(1)))
    return counts[1] - counts[0]


_TILED_RUNS = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from benchmarks.performance import raw_simpy_tiles, tiled
import sim
side, runs = int(sys.argv[3]), int(sys.argv[4])
if sys.argv[2] == "floor":
    for _ in range(runs):
        size = raw_simpy_tiles(side * side, {floor_minutes}, collect=False)[1]
else:
    scenario = tiled(Path(sys.argv[2]), ["days=14"], side)
    for _ in range(runs):
        size = len(sim.run(scenario, "unified").records)
print("size", size)
"""


def tiled_instructions(what: str, side: int) -> tuple[int, int] | None:
    """(instructions, size) of one warm run of the town tiled *side* x *side* (*what*: its file) or of the floor.

    The floor (*what* ``"floor"``) is :func:`raw_simpy_tiles` with *side* x *side* tiles over a quarter of its
    timed horizon; the size is incidents or customers. Counted as :func:`instructions` counts, between one run
    and two in the same process (the first run of a process pays for imports and caches once, which would
    bend a slope). None without ``valgrind``.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    counts = []
    code = _TILED_RUNS.format(floor_minutes=FLOOR_TILE_MINUTES / 4)
    for runs in (1, 2):
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code]
            + [str(ROOT), what, str(side), str(runs)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        size = re.search(r"size (\d+)", done.stdout)
        if done.returncode or found is None or size is None:
            return None
        counts.append(int(found.group(1)))
    return counts[1] - counts[0], int(size.group(1))


def mmc_memory(customers: int, rounds: int = 2) -> dict:
    """Peak memory of the raw SimPy M/M/c and of the project's, each in a fresh process, interleaved."""
    found: dict = {"raw_simpy": [], "project": []}
    for r in range(rounds):
        for name in ("raw_simpy", "project") if r % 2 == 0 else ("project", "raw_simpy"):
            if name == "raw_simpy":
                source = inspect.getsource(raw_simpy_mmc)
                code = CHILD_RAW.format(
                    servers=SERVERS, service=SERVICE_MEAN, arrivals=ARRIVALS_PER_MIN, source=source, customers=customers
                )
            else:
                code = CHILD_PROJECT.format(root=str(ROOT), customers=customers)
            found[name].append(child(["-c", code])["peak_mb"])
    ratios = [p / q for p, q in zip(found["project"], found["raw_simpy"])]
    return {"raw_simpy_mb": spread(found["raw_simpy"]), "project_mb": spread(found["project"]), "ratio": spread(ratios)}


def city_cli(days: float, modes, rounds: int = 1) -> dict:
    """The whole command a user runs for a city year, per mode, each beside a raw SimPy floor of as many customers.

    ``python -m sim run scenarios/jinjiang.yaml --days D --mode M --out DIR`` writes ``summary.json``,
    ``incidents.csv`` and ``jobs.csv``. The floor is a raw SimPy M/M/c with one customer per incident of the
    run, timed (CPU) in this process just before the command; the ratio is the command's CPU over the floor's.
    """
    out: dict = {}
    for mode in modes:
        rows = []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                args = ["-m", "sim", "run", "scenarios/jinjiang.yaml", "--days", f"{days:g}"]
                args += ["--mode", mode, "--out", folder]
                incidents = out.get(mode, {}).get("incidents") or _city_incidents(days)
                floor = cpu_raw_simpy(incidents)
                measured = child(args)
                with open(Path(folder) / "incidents.csv", encoding="utf-8") as handle:
                    incidents = sum(1 for _ in handle) - 1
            rows.append({**measured, "floor_cpu_s": floor, "incidents": incidents})
        out[mode] = {
            "incidents": rows[0]["incidents"],
            "wall_s": spread(r["wall_s"] for r in rows),
            "cpu_s": spread(r["cpu_s"] for r in rows),
            "peak_mb": spread(r["peak_mb"] for r in rows),
            "floor_cpu_s": spread(r["floor_cpu_s"] for r in rows),
            "ratio_to_floor": spread(r["cpu_s"] / r["floor_cpu_s"] for r in rows),
        }
    return out


def _city_incidents(days: float) -> int:
    """About how many incidents a city run of *days* has (for the floor before the first run)."""
    return int(816_192 * days / 365)


def city_statistics(days: float, mode: str = "unified", rounds: int = 3) -> dict:
    """CPU seconds of the statistics of a city run (``summarise`` on its columns), and of the row-by-row summary.

    The row-by-row summary (``tests/stats/rowwise_reference.py``, the code before columns) runs once,
    on the same output; both give the same ``summary.json`` text (checked here too).
    """
    from sim.experiments.runs import type_deadlines, type_targets
    from sim.io.results import _summary_text
    from sim.stats.metrics import summarise

    city = sim.load_scenario(ROOT / "scenarios" / "jinjiang.yaml", [f"days={days}"])
    output = sim.run(city, mode)
    args = (
        city.warmup_days * 1440,
        city.target_min,
        [t.name for t in city.incident_types],
        type_targets(city),
        type_deadlines(city),
    )
    columns = []
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        summary = summarise([output], *args)
        columns.append(time.process_time() - started)
    out = {"incidents": len(output.records), "columns_cpu_s": spread(columns)}
    try:
        from tests.stats.rowwise_reference import summarise as rowwise
    except ImportError:  # an installed copy without the tests
        return out
    gc.collect()
    started = time.process_time()
    reference = rowwise([output], *args)
    out["rowwise_cpu_s"] = time.process_time() - started
    out["same_summary"] = _summary_text(reference) == _summary_text(summary)
    return out


# --------------------------------------------------------------------------- the run


TOWN_ROUNDS = 5
"""Interleaved rounds of the Anhai year, every mode."""

PAIR_ROUNDS = 7
"""Rounds of the Anhai year's unified and fragmented modes run one right after the other, for their ratio."""


def measure(quick: bool = False) -> dict:
    """Every measurement; *quick* shrinks horizons tenfold for a smoke run."""
    customers = 20_000 if quick else 200_000
    town_days = 36.5 if quick else 365
    city_days = 36.5 if quick else 365
    rounds = 3 if quick else 7
    out: dict = {"quick": quick, "load_before": os.getloadavg()[0]}
    out["startup"] = measure_startup(rounds=5 if quick else 15)

    scenario = mmc_scenario(customers)
    cpu_run(scenario, "pooled")  # the first run of a process pays for imports and caches
    found = interleaved_cpu(
        {
            "raw_simpy": lambda: (cpu_raw_simpy(customers), customers),
            "project": lambda: cpu_run(scenario, "pooled"),
        },
        rounds,
    )
    raw = [t / n for t, n in found["raw_simpy"]]
    project = [t / n for t, n in found["project"]]
    out["engine"] = {
        "customers": customers,
        "rounds": rounds,
        "raw_simpy_us_per_customer": spread(1e6 * t for t in raw),
        "project_us_per_customer": spread(1e6 * t for t in project),
        "ratio": spread(p / r for p, r in zip(project, raw)),
        "memory": mmc_memory(customers),
    }

    town = sim.load_scenario(ROOT / "scenarios" / "anhai.yaml", [f"days={town_days}"])
    modes = list(town.governance.modes)
    found = interleaved_cpu({m: (lambda m=m: cpu_run(town, m)) for m in modes}, TOWN_ROUNDS)
    out["town_year"] = {m: {"incidents": found[m][0][1], "cpu_s": spread(t for t, _ in found[m])} for m in modes}
    if "fragmented" in found and "unified" in found:  # side by side, so that each pair meets the same machine
        pairs = interleaved_cpu({m: (lambda m=m: cpu_run(town, m)) for m in ("unified", "fragmented")}, PAIR_ROUNDS)
        ratios = [f / u for (f, _), (u, _) in zip(pairs["fragmented"], pairs["unified"])]
        out["town_year_fragmented_over_unified"] = spread(ratios)
        if not quick:  # the work itself, free of the machine's noise: a quarter of the year under Valgrind
            counted = {m: instructions(ROOT / "scenarios" / "anhai.yaml", 91, m) for m in ("unified", "fragmented")}
            if None not in counted.values():
                out["town_quarter_instructions"] = counted

    out["city_year_cli"] = city_cli(city_days, ("fragmented", "joint", "unified"))
    out["city_statistics"] = city_statistics(city_days)

    base = ROOT / "scenarios" / "anhai_garbage.yaml"
    load = {k: (lambda k=k: cpu_run(scaled(base, ["days=28"], rate=k, units=8), "unified")) for k in (1, 2, 4, 8)}
    size = {side: (lambda side=side: cpu_run(tiled(base, ["days=14"], side), "unified")) for side in (1, 2, 4)}
    beyond = {side: (lambda side=side: cpu_run(tiled(base, ["days=14"], side), "unified")) for side in (4, 8)}
    minutes = FLOOR_TILE_MINUTES / (10 if quick else 1)
    floor = {side: (lambda side=side: raw_simpy_tiles(side * side, minutes)) for side in (1, 2, 4)}
    floor_beyond = {side: (lambda side=side: raw_simpy_tiles(side * side, minutes)) for side in (4, 8)}
    out["scaling"] = {
        "load": scaling(load),
        "patches_and_units": scaling(size),
        "patches_and_units_beyond": scaling(beyond, rounds=2),
        "floor_tiles": scaling(floor),
        "floor_tiles_beyond": scaling(floor_beyond, rounds=2),
        "units": units_scaling(),
        "shift_changes": shift_change_scaling(),
    }
    if not quick:  # the same two scalings in instructions, free of the machine's noise (and of its caches)
        jobs = {(what, side): path for what, path in (("town", str(base)), ("floor", "floor")) for side in (1, 4)}
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # counts, not times: side by side is fine
            found = dict(zip(jobs, pool.map(lambda key: tiled_instructions(jobs[key], key[1]), jobs)))
        counted = {what: [found[what, side] for side in (1, 4)] for what in ("town", "floor")}
        if all(None not in points for points in counted.values()):
            out["scaling"]["instructions_1_to_16"] = {
                what: {
                    "points": [(size, count) for count, size in points],
                    "slope": slope([(size, count) for count, size in points]),
                }
                for what, points in counted.items()
            }
    out["load_after"] = os.getloadavg()[0]
    return out


def machine() -> dict:
    """What this ran on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "sim": sim.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _floor_note(s: dict) -> list[str]:
    """What the floor's rows and the instruction counts say of the town-size slope (nothing if not measured)."""
    if "floor_tiles" not in s:
        return []
    lines = [
        "The floor's rows are a bigger system in SimPy alone: as many independent M/M/c as the town has tiles,",
        "with nothing of the project's. Its slope is what SimPy and Python give as the queue of events, the",
        "resources and the objects alive grow; the town's slope is to be read beside it, measured in the same run.",
    ]
    counted = s.get("instructions_1_to_16")
    if counted:
        town, floor = counted["town"], counted["floor"]
        lines += [
            "In instructions (Valgrind's callgrind, one warm run: a count, free of the machine's noise and of its",
            f"caches), from 1 to 16 tiles: the town {town['slope']:.3f} ({town['points'][0][1] / town['points'][0][0] / 1e3:,.0f}"
            f" to {town['points'][1][1] / town['points'][1][0] / 1e3:,.0f} thousand per incident), the floor"
            f" {floor['slope']:.3f} ({floor['points'][0][1] / floor['points'][0][0] / 1e3:,.1f} to"
            f" {floor['points'][1][1] / floor['points'][1][0] / 1e3:,.1f} thousand per customer). Where a slope in time",
            "is above its slope in instructions, the difference is how fast the processor gets through the same",
            "instructions as what they touch outgrows its caches.",
        ]
    return [*lines, ""]


def report(results: dict, host: dict) -> str:
    """The Markdown report (``docs/performance.md``)."""
    e = results["engine"]
    mem = e["memory"]
    lines = [
        "# Performance",
        "",
        "Written by `python -m benchmarks` (benchmarks/performance.py); do not edit by hand.",
        f"Measured {host['date']} on {host['platform']}, {host['processor']}, {host['cores']} cores; one process,",
        f"Python {host['python']}, SimPy {host['simpy']}, NumPy {host['numpy']}, sim {host['sim']}."
        + (" **Quick run (horizons / 10).**" if results["quick"] else ""),
        f"Load average (1 min) {results['load_before']:.2f} before, {results['load_after']:.2f} after.",
        "",
        "## How this is measured",
        "",
        "The machine may be shared with other work, so absolute times are noisy; what holds is a ratio of two",
        "things measured side by side. Everything compared here runs **interleaved** (A B, B A, A B, …, the order",
        "reversed every other round), each figure is the **median over the rounds with its spread** (lowest–highest)",
        "and each ratio is the **median of the per-round ratios** (paired), never a best-of-N. Work in this process",
        "is timed in CPU seconds (`time.process_time`); a whole command in wall and CPU seconds and peak resident",
        "memory of the child process (`os.wait4`). Absolute figures are those of this machine at this load.",
        "",
        "## Engine floor: M/M/c",
        "",
        f"{e['rounds']} interleaved rounds of a raw SimPy M/M/c (10 servers, ρ 0.8, {e['customers']:,} customers, one",
        "process per customer, `simpy.Resource`) and the same M/M/c as a scenario through `sim.run`.",
        "",
        "| measurement | median (spread) | target |",
        "|---|---|---|",
        f"| raw SimPy, CPU µs per customer | {fmt(e['raw_simpy_us_per_customer'], 1)} | |",
        f"| the scenario through `sim.run`, CPU µs per customer | {fmt(e['project_us_per_customer'], 1)} | |",
        f"| paired ratio project / raw SimPy | **{fmt(e['ratio'], 2, '×')}** | ≤ 1.25× |",
        f"| peak memory, raw SimPy (MB, fresh process) | {fmt(mem['raw_simpy_mb'], 0)} | |",
        f"| peak memory, project (MB, fresh process) | {fmt(mem['project_mb'], 0)} | |",
        f"| paired ratio of peak memory | **{fmt(mem['ratio'], 2, '×')}** | ≤ 3× |",
        "",
        f"## Anhai town, a year per mode (`sim.run`, {TOWN_ROUNDS} interleaved rounds)",
        "",
        "| mode | incidents | CPU s | µs per incident | target |",
        "|---|---|---|---|---|",
    ]
    for mode, r in results["town_year"].items():
        per = {k: 1e6 * v / r["incidents"] if k != "n" else v for k, v in r["cpu_s"].items()}
        lines.append(f"| {mode} | {r['incidents']:,} | {fmt(r['cpu_s'])} | {fmt(per, 1)} | < 1 s |")
    if "town_year_fragmented_over_unified" in results:
        lines += [
            "",
            f"Fragmented over unified, per incident ({PAIR_ROUNDS} rounds of the two side by side, paired by round): "
            f"**{fmt(results['town_year_fragmented_over_unified'], 2, '×')}** (target ≤ 1.2×).",
        ]
    if "town_quarter_instructions" in results:
        counted = results["town_quarter_instructions"]
        lines += [
            "",
            "The work itself, without the machine's noise: instructions executed by one `sim.run` of a quarter of the",
            "year (91 days; Valgrind's callgrind, the process's set-up subtracted): unified "
            f"{counted['unified'] / 1e6:,.0f} M, fragmented {counted['fragmented'] / 1e6:,.0f} M, "
            f"**{counted['fragmented'] / counted['unified']:.2f}×**. Where the time ratio above is larger, the",
            "difference is not more instructions but how fast this processor gets through them (fragmented working",
            "keeps more matters open and more timed calls waiting, over a hundred on the clock's queue against about 16).",
        ]
    lines += [
        "",
        "## Jinjiang city, a year from the command line",
        "",
        "`python -m sim run scenarios/jinjiang.yaml --days 365 --mode MODE --out DIR` as a user runs it (start-up,",
        "simulation, statistics, `summary.json`, `incidents.csv` and `jobs.csv` written). The floor is a raw SimPy",
        "M/M/c with one customer per incident of the run, timed just before the command in the same run.",
        "Peak memory is the process's own `VmHWM`, in MiB (2^20 bytes) with decimal MB (10^6 bytes) after it:",
        "the target's 400 MB is 381 MiB.",
        "",
        "| mode | incidents | wall s | CPU s | peak MiB (MB) | floor CPU s | CPU / floor | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in results["city_year_cli"].items():
        lines.append(
            f"| {mode} | {r['incidents']:,} | {r['wall_s']['median']:.1f} | {r['cpu_s']['median']:.1f} | "
            f"{r['peak_mb']['median']:,.0f} ({r['peak_mb']['median'] * 1.048576:,.0f}) | {r['floor_cpu_s']['median']:.1f} | "
            f"**{r['ratio_to_floor']['median']:.2f}×** | < 15 s, < 400 MB |"
        )
    c = results["city_statistics"]
    lines += [
        "",
        "## Statistics of a city year",
        "",
        f"`summarise` of one unified city year ({c['incidents']:,} incidents), computed with numpy on the columns:",
        f"**{fmt(c['columns_cpu_s'])} CPU s** (target < 1 s)"
        + (
            f"; the row-by-row summary it replaced took {c['rowwise_cpu_s']:.1f} CPU s on the same run "
            f"(same `summary.json` text: {'yes' if c['same_summary'] else '**no**'})."
            if "rowwise_cpu_s" in c
            else "."
        ),
        "",
    ]
    s = results["scaling"]
    lines += [
        "## Scaling (slope of log CPU time against log size; target ≤ 1.03)",
        "",
        "Sizes interleaved round by round (3 rounds), the median CPU time of each.",
        "",
        "| scaling | points (size, CPU s) | slope |",
        "|---|---|---|",
        f"| incident load ×1, ×2, ×4, ×8 (Anhai garbage, 28 days, units ×8; size = incidents) | "
        f"{_points(s['load'])} | **{s['load']['slope']:.2f}** |",
        f"| patches and units ×1, ×4, ×16 (the town tiled 1×1, 2×2, 4×4, 14 days; size = incidents) | "
        f"{_points(s['patches_and_units'])} | **{s['patches_and_units']['slope']:.2f}** |",
        *(
            [
                f"| beyond the target's range: ×16, ×64 (tiled 4×4, 8×8, {s['patches_and_units_beyond']['rounds']} rounds) | "
                f"{_points(s['patches_and_units_beyond'])} | {s['patches_and_units_beyond']['slope']:.2f} |"
            ]
            if "patches_and_units_beyond" in s
            else []
        ),
        *(
            [
                f"| the floor: raw SimPy, 1, 4, 16 independent M/M/c of the engine floor's, one environment, "
                f"{s['floor_tiles']['points'][0][0]:,} customers each (size = customers) | "
                f"{_points(s['floor_tiles'])} | {s['floor_tiles']['slope']:.2f} |",
                f"| the floor beyond: 16, 64 M/M/c ({s['floor_tiles_beyond']['rounds']} rounds) | "
                f"{_points(s['floor_tiles_beyond'])} | {s['floor_tiles_beyond']['slope']:.2f} |",
            ]
            if "floor_tiles" in s
            else []
        ),
        f"| units on `day_night` shifts, one base, almost no incidents, {s['units']['days']:g} days (size = units) | "
        f"{_points(s['units'])} | **{s['units']['slope']:.2f}** |",
        f"| shift changes: {s['shift_changes']['units']:,} units, 6 to 48 days, almost no incidents (size = changes) | "
        f"{_points(s['shift_changes'])} | **{s['shift_changes']['slope']:.2f}** |",
        "",
        *_floor_note(s),
        *(startup_section(results["startup"]) if "startup" in results else []),
        "## Where the time goes, and why it grows with the work only",
        "",
        "- What rises from the town (1×1) to the town tiled 4×4 is the nearest-unit search. In the town no",
        "  department has more than a dozen free units when a job comes: they are compared one by one and no",
        "  map index is kept. Tiled, the fleets grow past that, and 0.37 (2×2) and 0.63 (4×4) of incidents are",
        "  searched through the map index (3–4 cells a search), each job then also filing and taking out its",
        "  unit (counted with `benchmarks/dispatch_work.py counters`). That is a step from one way of searching",
        "  to the other, not a trend: from 4×4 on the calls per incident stay the same. Since the index is kept",
        "  only while it is searched, the town no longer pays for one it never searches (a sixth of its time),",
        "  which raised the slope over 1×1–4×4 (1.06 before) although every size got faster. From 4×4 to",
        "  8×8 each call takes longer (a larger town's units, patches and cached drive times no longer fit the",
        "  processor's caches, most likely): the scaling table's row *beyond the target's range* gives that slope.",
        "- No clock ticks: patrol coverage is a rate per sector and hour, so when a patrol first notices",
        "  a matter is drawn, not stepped to; referral chains and the shared channel are arithmetic on",
        "  office hours; shift changes are the only timed events besides the incidents' own.",
        "- Detection depends only on an incident's own draws and the mode, so it is settled for all",
        "  incidents before the clock starts, on whole arrays a block of matters at a time (campaign finds,",
        "  rounds, the first channel, and where a patrol passes first, its finder and whether it acts:",
        "  `PatrolCoverage.finders`); only a matter the first patrol leaves takes steps of its own. The",
        "  simulation wakes up once per report. A patrol's second look (`WeeklySteps.first_passage` with one",
        "  start and one draw) takes a scalar path in plain floats, bit for bit the array path's answer.",
        "- The clock (`sim/engine/clock.py`) is SimPy's environment with **timed calls**: a callback at a minute,",
        "  put on SimPy's own queue in the place a timeout would have (minute, priority, the next event id), with",
        "  no event object made, and a run loop that takes both (`tests/engine/test_clock.py` checks the order",
        "  against SimPy's). The reports are fed by one timed call at each report minute; a matter's state is made",
        "  once, at its report, with what its handling reads (type, natural end, on-scene work) read a block at",
        "  a time, and let go of when its record is written. Every matter runs as a chain of timed calls, not a",
        "  SimPy process (a grid worker's matter, coordinated jobs and a reopened case's revisit start and end",
        "  where the process would have; only duplicate visits and follow-ups run as generators, driven without",
        "  a process object); travel and on-scene work are one call (units are never pre-empted). Which types",
        "  may take the **short path** is decided once per run (untraced, no single staffed centre or grid",
        "  leaders, one job, no follow-ups; duplicate visits and gaps are taken along, gaps only without centres",
        "  at levels; centres at levels without the closed loop are walked, then a unit is asked for): the general one-job path with the branches",
        "  it cannot take left out (`Simulation._short_paths`; `tests/engine/test_short_path.py` runs every",
        "  shipped scenario and mode both ways and compares the records). Per-type constants and the closed",
        "  loop's samplers are worked out once; the drive home is cached per base, speed and patch.",
        "- A report's walk through staffed centres is a chain of timed calls: an operator free at arrival starts",
        "  at once (no queue round trip), a step's end calls the next step, and the centres' handling is drawn",
        "  ahead for every incident, grouped by centre with one sort; a centre whose count on duty never changes",
        "  schedules no shift wake-ups. A unit may be sent one event after the last handling, as before. A route",
        "  through the centres is looked up once per first centre and type; on the short path the walk is two",
        "  lists, the centres and the matter's handling at each. The shared channel's posting and",
        "  decision minutes, the desks' hand-overs and first misrouting draw and the city's turn are drawn ahead",
        "  for every matter, a vector each (the same in every mode: common random numbers), not one scalar draw",
        "  per report. As a block of hand-overs is drawn, the block's first deliveries through the desks are",
        "  worked out on whole arrays (`WeeklyHours.add_open_minutes_many`, bit for bit the scalar rule), so a",
        "  report made at its minute, through the expected channel, to the expected desks takes its delivery ready.",
        "- Nearest dispatch searches a department's free units through a map index (`sim/engine/dispatch.py`):",
        "  units standing at one patch form one bucket (a unit alone at its patch, as most are at their last job,",
        "  is filed as itself), cells are visited nearest first and the search stops",
        "  when no farther cell can be sooner (in a town of one patch, one unit per pool is compared). A property",
        "  test checks every choice against comparing all free units. The index is kept only while its pool has",
        "  many free units: built at the first search past a dozen, let go of when six or fewer are left, so a",
        "  department whose free units stay few (Anhai's, most of the time) pays nothing per job for it.",
        "- Records are columns (`sim/engine/records.py`, `RecordTable`): one array per field, strings coded,",
        "  written in one place and read-only once the run ends; iterating them still gives named tuples.",
        "  Rows are packed a block at a time (`struct`, one call per column); type, patch, sector and layer go in",
        "  as indices, named when the columns freeze; integer fields are kept 32-bit, a column widened to 64-bit",
        "  if a value needs it (`column()` reads int64). Once detection is settled its draws (each channel's",
        "  minute, the patrols' draws, rounds) are let go of, and once the clock stops the centres' handling",
        "  drawn ahead: the peak comes as the clock stops, the records complete. On-scene work keeps a row of",
        "  its own only for a matter of several parts (`ServiceRows`). The simulating commands fix glibc's",
        "  threshold for giving a block its own mapping at 1 MiB (`return_big_blocks_when_freed`): left to raise",
        "  itself as the arrays drawn before the clock starts are freed, it let the heap keep what they held,",
        "  and the record columns grew on top of that (a city year's peak 382 MiB before, about 330 after).",
        "  Statistics run on the columns with numpy (the counted incidents of a run are a slice, not a copy),",
        "  and `incidents.csv` is formatted a block at a time with numpy (`sim/io/csvcells.py`; the same bytes",
        "  as formatting each value).",
        "  The cyclic garbage collector pauses during a run, which leaves about one cyclic object per incident.",
        "",
        "The same seed gives the same records before and after each of these (`tests/system/test_regression.py`",
        "holds golden records; `tests/stats/test_metrics.py` checks the column statistics against the row-by-row",
        "summary, byte for byte).",
        "",
    ]
    return "\n".join(lines)


def _points(found: dict) -> str:
    return ", ".join(f"({n:,}, {t:.2f})" for n, t in found["points"])


def main(argv=None) -> int:
    """Measure, print, and write the JSON and Markdown reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="horizons / 10, for a smoke run")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "performance.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    results = measure(args.quick)
    host = machine()
    text = report(results, host)
    print(text)
    write_atomic(args.json, json.dumps({"machine": host, **results}, indent=2) + "\n")
    write_atomic(args.markdown, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
