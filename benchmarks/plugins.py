"""What a dispatch rule plugged in by name costs, as ratios measured in one run.

Run ``python -m benchmarks.plugins`` from the repository root. The Jinjiang-sized city (540 units)
runs a few days in the unified mode under:

* ``nearest`` -- the built-in rule through the dispatcher's fast path (a map index of free units);
* the same rule through the plug-in path (``benchmarks.plugins:nearest_again``: every free capable
  unit listed in a :class:`~sim.engine.rules.DispatchRequest`), which gives the same records;
* ``least_loaded`` -- a built-in rule that has no fast path.

CPU time (best of three) of each, as a ratio to the fast path. Nothing here is a pass/fail test:
the plug-in path is expected to cost more per decision (it lists every free unit); the fast path
must not have become slower, which ``benchmarks.performance`` watches.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import sim
from sim.engine import rules
from sim.io.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def nearest_again(request: rules.DispatchRequest) -> rules.FreeUnit | None:
    """The built-in nearest rule, through the plug-in path."""
    return rules.nearest(request)


def _cpu_s(days: float, rule: str) -> tuple[float, str]:
    """Best CPU seconds of three runs of the city under *rule*, and the records' hash."""
    scenario = load_scenario(
        ROOT / "scenarios" / "jinjiang.yaml",
        [f"days={days}", "warmup_days=0.25", "drain_days=0.5", f"governance.modes.unified.dispatch={rule}"],
    )
    best, digest = float("inf"), ""
    for _ in range(3):
        started = time.process_time()
        output = sim.run(scenario, "unified", seed=1)
        best = min(best, time.process_time() - started)
        digest = hashlib.sha256(repr(output.records).encode()).hexdigest()
    return best, digest


def main(argv: list[str] | None = None) -> int:
    """Print the CPU time of each rule and its ratio to the fast path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=4.0, help="simulated days (default 4)")
    days = parser.parse_args(argv).days
    fast, fast_digest = _cpu_s(days, "nearest")
    print(f"Jinjiang city, {days:g} days, unified mode; CPU seconds, best of three")
    print(f"{'rule':45} {'CPU s':>8} {'ratio':>6}")
    print(f"{'nearest (fast path)':45} {fast:8.3f} {1.0:6.2f}")
    for label, rule in (
        ("nearest through the plug-in path", "benchmarks.plugins:nearest_again"),
        ("least_loaded (plug-in path)", "least_loaded"),
    ):
        seconds, digest = _cpu_s(days, rule)
        same = " (same records)" if rule.endswith("nearest_again") and digest == fast_digest else ""
        print(f"{label:45} {seconds:8.3f} {seconds / fast:6.2f}{same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
