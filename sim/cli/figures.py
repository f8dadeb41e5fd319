"""Commands that show results: ``plot``, ``report`` and the teaching ``demo``.

``plot RESULTS_DIR`` writes every figure of a results folder as PNG and SVG; ``report
RESULTS_DIR`` writes one self-contained HTML page; ``demo garbage`` runs the Anhai garbage case,
tells its story and writes both. :func:`add_plots_option` and :func:`write_plots` let other
commands (``run``, ``compare``, ``sweep``) offer ``--plots``; the figures are saved by
:mod:`sim.presentation.files`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import check_counts, user_error

__all__ = ["ORDER", "register", "add_plots_option"]

ORDER = 30


def register(sub) -> None:
    """Add plot, report and demo."""
    p_plot = sub.add_parser("plot", help="write the figures of a results folder (PNG and SVG)")
    p_plot.add_argument(
        "results", metavar="RESULTS_DIR", help="folder written by run, compare, sweep, decompose or staff --out"
    )
    p_plot.add_argument("--out", help="folder for the figures (default RESULTS_DIR/figures)")
    p_plot.set_defaults(handler=_cmd_plot)
    p_report = sub.add_parser("report", help="write one self-contained HTML report of a results folder")
    p_report.add_argument(
        "results", metavar="RESULTS_DIR", help="folder written by run, compare, sweep, decompose or staff --out"
    )
    p_report.add_argument("--out", help="HTML file to write (default RESULTS_DIR/report.html)")
    p_report.set_defaults(handler=_cmd_report)
    p_demo = sub.add_parser("demo", help="the teaching demo: run a case, tell its story, write figures and a report")
    p_demo.add_argument("case", choices=["garbage", "classroom"], help="garbage: the Anhai garbage case")
    p_demo.add_argument("--out", help="folder for results, figures and report (default ./demo-CASE)")
    p_demo.add_argument("--seed", type=int, help="base random seed (default: the scenario's)")
    p_demo.add_argument(
        "--animate", action="store_true", help="also write an animation of a day, every way of working side by side"
    )
    p_demo.add_argument("--frame-min", type=float, default=5.0, help="minutes of simulated time per animation frame")
    p_demo.add_argument("--svg", action="store_true", help="also save every figure as SVG (PNG only by default)")
    p_demo.set_defaults(handler=_cmd_demo)


def add_plots_option(parser: argparse.ArgumentParser) -> None:
    """Give a command ``--plots``: after writing its results to ``--out``, call :func:`write_plots`."""
    parser.add_argument(
        "--plots", action="store_true", help="also write the figures (PNG and SVG) to OUT/figures (needs --out)"
    )


def _results_folder(path: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise user_error("RESULTS_DIR", f"{path}: no such folder")
    from sim.presentation.report import RESULT_FILES

    if not any((folder / name).exists() for name in RESULT_FILES):
        raise user_error(
            "RESULTS_DIR",
            f"{path}: no summary.json or summary.csv (compare --out, sweep --out), decompose.json (decompose --out) "
            "or staffing.json (staff --out)",
        )
    return folder


def _cmd_plot(args) -> int:
    from sim.presentation.files import write_plots

    folder = _results_folder(args.results)
    paths = write_plots(folder, args.out)
    print(f"wrote {len(paths)} files to {paths[0].parent if paths else args.out}")
    for path in paths:
        print(f"  {path}")
    return 0


def _cmd_report(args) -> int:
    from sim.presentation.report import write_report

    folder = _results_folder(args.results)
    path = write_report(folder, args.out)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args) -> int:
    from sim.presentation.demo import run_demo

    if args.frame_min <= 0:
        raise user_error("--frame-min", f"must be more than 0, got {args.frame_min}")
    check_counts(args)
    out = Path(args.out or f"demo-{args.case}")
    formats = ("png", "svg") if args.svg else ("png",)
    run_demo(args.case, out, seed=args.seed, animate=args.animate, frame_min=args.frame_min, formats=formats)
    return 0
