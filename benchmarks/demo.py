"""CPU time and peak memory of the teaching demo, end to end (issue 21).

Run ``python -m benchmarks demo`` from the repository root. Each command is a fresh process
(``python -m sim demo garbage --out TMP`` and the same with ``--animate``), measured from the
outside: CPU time is user + system time of that child (``os.wait4``), peak memory its maximum
resident set size. Wall time is printed too but is not a target (the machine is shared).
Targets: ``demo garbage`` under 5 s of CPU, ``--animate`` under 20 s. Results go to
``benchmarks/results/demo.json``. Nothing here is a pass/fail test; ``--rounds`` repeats each
command and reports the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGETS_CPU_S = {"demo": 5.0, "demo --animate": 20.0}
"""CPU seconds each command should stay under on one core."""


def measure_command(args: list[str], cwd: Path = ROOT) -> dict:
    """Run ``python *args`` as a fresh process; its CPU seconds (user, system, total), peak MB and wall seconds."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    if child.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed ({child.returncode}): {error[-2000:]}")
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    return {
        "argv": ["python", *args],
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "system_s": usage.ru_stime,
        "peak_mb": usage.ru_maxrss * scale / 1e6,
        "wall_s": wall,
    }


def measure_demo(case: str = "garbage", animate: bool = False, extra: list[str] | None = None) -> dict:
    """One run of ``python -m sim demo CASE`` (``--animate``) into a temporary folder, measured."""
    with tempfile.TemporaryDirectory(prefix="sim-demo-bench-") as out:
        args = ["-m", "sim", "demo", case, "--out", out, *(["--animate"] if animate else []), *(extra or [])]
        result = measure_command(args)
        result["files"] = sorted(p.name for p in Path(out).rglob("*") if p.is_file())
    return result


def run(case: str = "garbage", rounds: int = 1, animate: bool = True) -> dict:
    """The demo (and the demo with ``--animate``), *rounds* times each; medians and every round."""
    commands = {"demo": False, **({"demo --animate": True} if animate else {})}
    out: dict = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "case": case, "commands": {}}
    for name, flag in commands.items():
        runs = [measure_demo(case, flag) for _ in range(rounds)]
        out["commands"][name] = {
            "argv": runs[0]["argv"][:4] + (["--animate"] if flag else []),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_mb": statistics.median(r["peak_mb"] for r in runs),
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "target_cpu_s": TARGETS_CPU_S[name],
            "rounds": runs,
        }
    out["load_average"] = list(os.getloadavg())
    return out


def format_table(result: dict) -> str:
    """A plain-text table for the terminal."""
    rows = [f"{'command':<40} {'CPU s':>8} {'target':>8} {'peak MB':>8} {'wall s':>8}"]
    for c in result["commands"].values():
        rows.append(
            f"{' '.join(c['argv']):<40} {c['cpu_s']:>8.2f} {'< ' + format(c['target_cpu_s'], 'g'):>8} "
            f"{c['peak_mb']:>8.0f} {c['wall_s']:>8.2f}"
        )
    return "\n".join(rows)


def main(argv=None) -> int:
    """Measure the demo, print a table and write ``benchmarks/results/demo.json``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks demo", description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="garbage", choices=["garbage", "classroom"])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command (median reported; default 3)")
    parser.add_argument("--no-animate", action="store_true", help="measure only the demo without the animation")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "demo.json"))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    result = run(args.case, args.rounds, animate=not args.no_animate)
    print(format_table(result))
    sys.path.insert(0, str(ROOT))
    from sim.io.results import write_atomic

    write_atomic(args.json, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
