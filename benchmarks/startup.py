"""Start-up of the command line, measured as whole processes against the bare interpreter (issue 13).

Run ``python -m benchmarks startup`` from the repository root (``--rounds 15`` by default). It
prints a table, writes ``benchmarks/results/startup.json`` and rewrites ``docs/performance.md``
with its start-up section (the other sections come from ``benchmarks/results/performance.json``,
as the full run ``python -m benchmarks`` left them). The full run measures start-up too.

Four commands, each a fresh process started from the repository root:

* A ``python -c pass`` -- the bare interpreter (the floor);
* B ``python -c "import sim"`` -- the public API, which is lazy;
* C ``python -m sim --help`` -- building the parser of every command;
* D ``python -m sim validate scenarios/classroom.yaml`` -- yaml, pydantic, the schema, the loader.

They run interleaved (A B C D, A B C D, ...), so that a change in the machine's load falls on
all four alike. Each figure is the median over the rounds, with the spread (25th to 75th
percentile); "over bare" is the median of the per-round differences from A in the same round.
Wall time is what a user waits; CPU time (user + system of the child, from
``resource.getrusage(RUSAGE_CHILDREN)``) is less sensitive to other work on a shared machine.
Targets: C and D within 0.5 s of A.

Python's bytecode caches are on for the children (as for an installed copy), kept in a temporary
folder (``PYTHONPYCACHEPREFIX``) so that nothing is written into the source tree; one untimed
warm-up round fills them. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGET_OVER_BARE_S = 0.5
COMMANDS: dict[str, list[str]] = {
    "bare": ["-c", "pass"],
    "import": ["-c", "import sim"],
    "help": ["-m", "sim", "--help"],
    "validate": ["-m", "sim", "validate", "scenarios/classroom.yaml"],
}
LABELS = {
    "bare": "`python -c pass`",
    "import": '`python -c "import sim"`',
    "help": "`python -m sim --help`",
    "validate": "`python -m sim validate scenarios/classroom.yaml`",
}
TARGETS = {"help": f"< {TARGET_OVER_BARE_S:g} s over bare", "validate": f"< {TARGET_OVER_BARE_S:g} s over bare"}
HEAVY = (
    "numpy",
    "scipy",
    "matplotlib",
    "pandas",
    "simpy",
    "dask",
    "distributed",
    "SALib",
    "pyarrow",
    "tqdm",
    "yaml",
    "pydantic",
)

# Runs a command as ``python -m sim`` or ``-c`` would, then reports the modules it loaded.
MODULES_PROBE = """
import contextlib, io, json, runpy, sys
args = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    try:
        if args[0] == "-m":
            sys.argv = [args[1], *args[2:]]
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""


def child_env(cache: str) -> dict:
    """The environment of the measured processes: bytecode cached in *cache*, the project importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")}
    env["PYTHONPYCACHEPREFIX"] = cache
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_once(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process running ``python *args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def modules_of(args: list[str], env: dict) -> list[str]:
    """The modules a command has loaded when it ends (run in-process in a fresh interpreter)."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES_PROBE, json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def summary(values: list[float]) -> dict:
    """Median, quartiles, min and max of *values* (seconds)."""
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "p25": q[0], "p75": q[2], "min": min(values), "max": max(values)}


def measure_startup(rounds: int = 15) -> dict:
    """Interleaved rounds of the four commands; medians, spreads and differences from the bare interpreter."""
    with tempfile.TemporaryDirectory(prefix="sim-startup-pycache-") as cache:
        env = child_env(cache)
        for args in COMMANDS.values():  # warm-up: fills the bytecode cache, loads the files into the OS cache
            run_once(args, env)
        load_before = os.getloadavg()
        wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(rounds):
            for name, args in COMMANDS.items():
                w, c = run_once(args, env)
                wall[name].append(w)
                cpu[name].append(c)
        load_after = os.getloadavg()
        loaded = {name: modules_of(args, env) for name, args in COMMANDS.items()}
    out: dict = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": rounds,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "bytecode": "cached (PYTHONPYCACHEPREFIX in a temporary folder, one warm-up round)",
        "target_over_bare_s": TARGET_OVER_BARE_S,
        "commands": {},
    }
    for name, args in COMMANDS.items():
        out["commands"][name] = {
            "argv": ["python", *args],
            "wall_s": summary(wall[name]),
            "cpu_s": summary(cpu[name]),
            "wall_over_bare_s": summary([a - b for a, b in zip(wall[name], wall["bare"])]),
            "cpu_over_bare_s": summary([a - b for a, b in zip(cpu[name], cpu["bare"])]),
            "modules": len(loaded[name]),
            "heavy_packages": sorted({m.split(".")[0] for m in loaded[name]} & set(HEAVY)),
            "sim_layers": sorted({".".join(m.split(".")[:2]) for m in loaded[name] if m.startswith("sim.")}),
            "raw_wall_s": wall[name],
            "raw_cpu_s": cpu[name],
        }
    return out


def _ms(s: dict) -> str:
    """``median (p25–p75)`` in whole milliseconds (never "-0")."""

    def ms(v: float) -> str:
        return str(round(1000 * v))

    return f"{ms(s['median'])} ({ms(s['p25'])}–{ms(s['p75'])})"


def section(startup: dict) -> list[str]:
    """The Markdown lines of the start-up section of ``docs/performance.md``."""
    before, after = startup["load_average_before"], startup["load_average_after"]
    lines = [
        "## Start-up of the command line",
        "",
        f"Measured {startup['date']}. Whole processes from the repository root, {startup['rounds']} interleaved rounds (A B C D, A B C D, …); bytecode",
        "cached as in an installed copy. Each figure: median over the rounds in ms (25th–75th percentile);",
        "*over bare* is the median of each round's difference from `python -c pass` in the same round. CPU is",
        "user + system time of the child process, less sensitive than wall time to other work on the machine.",
        f"Load average (1 min) {before[0]:.2f} before, {after[0]:.2f} after, on {os.cpu_count()} cores"
        + (
            " (a busy machine: wall times may be inflated)."
            if max(before[0], after[0]) > 0.5 * (os.cpu_count() or 1)
            else "."
        ),
        "",
        "| command | wall ms | wall over bare | CPU ms | CPU over bare | modules | heavy packages loaded | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in startup["commands"].items():
        over = "" if name == "bare" else _ms(c["wall_over_bare_s"])
        cpu_over = "" if name == "bare" else _ms(c["cpu_over_bare_s"])
        if name in TARGETS:
            over = f"**{over}**"
        heavy = ", ".join(c["heavy_packages"]) or "none"
        lines.append(
            f"| {LABELS[name]} | {_ms(c['wall_s'])} | {over} | {_ms(c['cpu_s'])} | {cpu_over} | {c['modules']} | {heavy} | {TARGETS.get(name, '')} |"
        )
    lines += [
        "",
        "Building the parser imports argparse and `sim.cli` only; each command imports the layers it needs",
        "in its handler (`run` the engine and statistics, `plot` matplotlib, `sweep` the experiments),",
        "so `--help` and `validate` never load scipy, matplotlib, simpy or the experiment, planning,",
        "verification and presentation layers (`tests/cli/test_startup.py` checks the modules, not the time).",
        "`validate` is mostly yaml and pydantic: importing pydantic and building the scenario's models.",
        "",
    ]
    return lines


def format_table(startup: dict) -> str:
    """A plain-text table for the terminal."""
    rows = [f"{'command':<50} {'wall ms':>16} {'over bare':>16} {'CPU ms':>16} {'CPU over bare':>16} {'modules':>8}"]
    for name, c in startup["commands"].items():
        over = "" if name == "bare" else _ms(c["wall_over_bare_s"])
        cpu_over = "" if name == "bare" else _ms(c["cpu_over_bare_s"])
        rows.append(
            f"{' '.join(c['argv']):<50} {_ms(c['wall_s']):>16} {over:>16} {_ms(c['cpu_s']):>16} {cpu_over:>16} {c['modules']:>8}"
        )
    before, after = startup["load_average_before"], startup["load_average_after"]
    rows.append(
        f"{startup['rounds']} interleaved rounds; load average {before[0]:.2f} before, {after[0]:.2f} after; {os.cpu_count()} cores"
    )
    return "\n".join(rows)


def machine() -> dict:
    """What this ran on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main(argv=None) -> int:
    """Measure start-up, print it, write the JSON and the start-up section of docs/performance.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks startup", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds of the four commands (default 15)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "startup.json"))
    parser.add_argument(
        "--performance-json",
        default=str(ROOT / "benchmarks" / "results" / "performance.json"),
        help="the full run's results, for the other sections of the Markdown report",
    )
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    startup = measure_startup(args.rounds)
    print(format_table(startup))

    sys.path.insert(0, str(ROOT))
    from benchmarks.performance import report
    from sim.io.results import write_atomic

    write_atomic(args.json, json.dumps({"machine": machine(), **startup}, indent=2) + "\n")
    full = Path(args.performance_json)
    if full.is_file():
        # the docs are generated: rebuild them from the full run's results with this start-up section
        results = json.loads(full.read_text(encoding="utf-8"))
        host = results.pop("machine")
        results["startup"] = startup
        write_atomic(args.markdown, report(results, host))
        print(f"wrote {args.json} and {args.markdown}")
    else:
        print(f"wrote {args.json}; no {full}, so {args.markdown} is left alone (run python -m benchmarks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
