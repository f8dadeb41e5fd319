"""Commands that run experiments at scale: ``sweep``."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

from sim.cli.common import BACKENDS, user_error

if TYPE_CHECKING:
    from sim.experiments.runs import SweepResult

ORDER = 20
SHOWN_POINTS = 20
SHOWN_DAMAGED = 5


def __getattr__(name: str):
    """``run_sweep`` is imported when first asked for, not when the parser is built (tests may replace it)."""
    if name == "run_sweep":
        from sim.experiments.runs import run_sweep

        return run_sweep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(sub) -> None:
    """Add sweep."""
    p = sub.add_parser(
        "sweep",
        help="run a sweep file: parameters x modes x replications, in parallel, resumable",
        description="Run every point, mode and replication of a sweep file; each finished run is kept in DIR/runs, "
        "and DIR/runs.csv and DIR/summary.csv are written at the end. Killed or interrupted, run it again with --resume.",
    )
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument(
        "--backend", choices=BACKENDS, help="where runs execute (default: processes; dask if --scheduler is given)"
    )
    p.add_argument("--workers", type=int, help="worker processes (default: all cores; for dask, of the local cluster)")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    p.add_argument(
        "--resume", action="store_true", help="finish the sweep in the output folder: redo only the missing runs"
    )
    p.add_argument("--retry-failed", action="store_true", help="with --resume, also redo runs that failed")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the sweep file's out, else results/NAME)")
    p.add_argument(
        "--progress", action="store_true", default=None, help="show the progress bar even when not on a terminal"
    )
    p.add_argument("--plots", action="store_true", help="also write sweep curves (PNG and SVG) to OUT/figures")
    p.set_defaults(handler=_cmd_sweep)


def _cmd_sweep(args) -> int:
    from sim.experiments.backends import BackendError
    from sim.experiments.runs import SweepInterrupted
    from sim.io.sweepfile import load_sweep

    backend = args.backend or ("dask" if args.scheduler else "processes")
    if args.workers is not None and args.workers < 1:
        raise user_error("--workers", f"expected 1 or more; got {args.workers}")
    if args.retry_failed and not args.resume:
        raise user_error("--retry-failed", "only makes sense with --resume")
    sweep = load_sweep(args.sweep, out=args.out)
    run_sweep = sys.modules[__name__].run_sweep  # this module's attribute, so that a test can replace it
    try:
        result = run_sweep(
            sweep,
            sweep.out,
            backend=backend,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            retry_failed=args.retry_failed,
            progress=args.progress,
        )
    except SweepInterrupted as stop:
        folder = stop.out or sweep.out  # run_sweep was given sweep.out, so it kept its runs there
        print(
            f"{'terminated (SIGTERM)' if stop.terminated else 'interrupted'}: kept {stop.done} finished run(s) in "
            f"{folder / 'runs'} ({stop.ran} from this session); "
            f"no half-written file was left. Run the same command with --resume to finish.",
            file=sys.stderr,
        )
        gc.freeze()  # exiting: spare the interpreter's last full collection over scipy's objects (~0.3 s), so Ctrl-C is prompt
        return 143 if stop.terminated else 130
    except BackendError as err:
        print(f"error: {err}; run the same command with --resume to finish", file=sys.stderr)
        return 1
    except OSError as err:
        raise user_error("--out", f"cannot write there ({err.strerror or err}): {err.filename or sweep.out}") from None
    print(format_result(result))
    if args.plots:
        from sim.presentation.files import write_plots

        print("wrote " + ", ".join(str(p) for p in write_plots(sweep.out)))
    return 1 if result.failed else 0


def format_result(result: SweepResult) -> str:
    """What the command prints: counts, files, a table of the first metric, and any failures."""
    sweep = result.sweep
    lines = [
        (
            f"Sweep '{sweep.name}': {len(sweep.points)} point(s) x {len(sweep.modes)} mode(s), {len(result.runs)} run(s): "
            f"{result.ran} run now on {result.backend}, {result.kept} kept from before, {len(result.failed)} failed; "
            f"{result.runtime_s:.1f} s."
        ),
    ]
    if result.damaged:
        shown = "; ".join(f"{name} ({why})" for name, why in result.damaged[:SHOWN_DAMAGED])
        more = f"; and {len(result.damaged) - SHOWN_DAMAGED} more" if len(result.damaged) > SHOWN_DAMAGED else ""
        lines.append(f"redid {len(result.damaged)} damaged run file(s): {shown}{more}")
    if result.files:
        lines.append("wrote " + ", ".join(str(p) for p in result.files))
    lines += ["", _first_metric_table(result)]
    if result.failed:
        first = result.failed[0]
        lines.append(
            f"\n{len(result.failed)} run(s) failed (see the error column of runs.csv); the first, point {first['point']} "
            f"{first['mode']} replication {first['replication']}: {first['error']}"
        )
    return "\n".join(lines)


def _first_metric_table(result: SweepResult) -> str:
    """Mean [95% CI] of the first metric per point (rows) and mode (columns)."""
    sweep = result.sweep
    metric = sweep.metrics[0]
    cells: dict[int, dict[str, str]] = {}
    for row in result.summary:
        mean, low, high = (row.get(f"{metric}.{k}") for k in ("mean", "ci_low", "ci_high"))
        text = "-" if mean is None else f"{mean:,.3g}" + (f" [{low:,.3g}, {high:,.3g}]" if low is not None else "")
        cells.setdefault(row["point"], {})[row["mode"]] = text
    header = ["point", *sweep.parameters, *sweep.modes]
    rows = [
        [str(p), *(_short(sweep.points[p][k]) for k in sweep.parameters), *(cells[p].get(m, "") for m in sweep.modes)]
        for p in sorted(cells)[:SHOWN_POINTS]
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"{metric}: mean over replications [95% CI]"]
    lines += [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in [header, *rows]
    ]
    if len(cells) > SHOWN_POINTS:
        lines.append(f"... {len(cells) - SHOWN_POINTS} more point(s) in summary.csv")
    return "\n".join(lines)


def _short(value) -> str:
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 30 else text[:27] + "..."
