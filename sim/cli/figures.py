"""Commands that show results: ``plot``, ``report`` and the teaching ``demo``.

``plot RESULTS_DIR`` writes every figure of a results folder as PNG and SVG; ``report
RESULTS_DIR`` writes one self-contained HTML page; ``demo garbage`` runs the Anhai garbage case,
tells its story and writes both. :func:`add_plots_option` and :func:`write_plots` let other
commands (``run``, ``compare``, ``sweep``) offer ``--plots``. This is the only place that saves
figures to files.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

from sim.cli.common import user_error
from sim.results import save_atomic

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")  # figures are bare Figure objects; never open a window from the command line

__all__ = ["ORDER", "register", "add_plots_option", "write_plots", "save_figures"]

ORDER = 30
FORMATS = ("png", "svg")


def register(sub) -> None:
    """Add plot, report and demo."""
    p_plot = sub.add_parser("plot", help="write the figures of a results folder (PNG and SVG)")
    p_plot.add_argument("results", metavar="RESULTS_DIR", help="folder written by run, compare or sweep --out")
    p_plot.add_argument("--out", help="folder for the figures (default RESULTS_DIR/figures)")
    p_plot.set_defaults(handler=_cmd_plot)
    p_report = sub.add_parser("report", help="write one self-contained HTML report of a results folder")
    p_report.add_argument("results", metavar="RESULTS_DIR", help="folder written by run, compare or sweep --out")
    p_report.add_argument("--out", help="HTML file to write (default RESULTS_DIR/report.html)")
    p_report.set_defaults(handler=_cmd_report)
    p_demo = sub.add_parser("demo", help="the teaching demo: run a case, tell its story, write figures and a report")
    p_demo.add_argument("case", choices=["garbage", "classroom"], help="garbage: the Anhai garbage case")
    p_demo.add_argument("--out", help="folder for results, figures and report (default ./demo-CASE)")
    p_demo.add_argument("--seed", type=int, help="base random seed (default: the scenario's)")
    p_demo.add_argument("--animate", action="store_true", help="also write an animation of a day, two modes side by side")
    p_demo.add_argument("--frame-min", type=float, default=10.0, help="minutes of simulated time per animation frame")
    p_demo.set_defaults(handler=_cmd_demo)


def add_plots_option(parser: argparse.ArgumentParser) -> None:
    """Give a command ``--plots``: after writing its results to ``--out``, call :func:`write_plots`."""
    parser.add_argument(
        "--plots", action="store_true", help="also write the figures (PNG and SVG) to OUT/figures (needs --out)"
    )


def write_plots(out_dir: str | os.PathLike, figures_dir: str | os.PathLike | None = None, story=None) -> list[Path]:
    """Write every figure of a results folder as PNG and SVG; returns the files written.

    A comparison folder (``summary.json`` with ``modes``) gives the response, map, load and
    timeline figures; a sweep folder (``summary.csv``) gives sweep curves; a folder with both
    gives both.

    Parameters
    ----------
    out_dir:
        The results folder.
    figures_dir:
        Where to write (default ``out_dir/figures``).
    story:
        A :class:`sim.plots.Story` to draw the timeline from (default: chosen and rerun here).

    Raises
    ------
    FileNotFoundError
        If the folder holds neither kind of results.
    """
    from sim.report import figures_of

    out_dir = Path(out_dir)
    target = Path(figures_dir) if figures_dir else out_dir / "figures"
    figures = figures_of(out_dir, story=story)
    return save_figures({stem: fig for stem, (_, fig) in figures.items()}, target)


def save_figures(figures: dict, folder: Path, formats=FORMATS, dpi: int = 110) -> list[Path]:
    """Save figures (stem -> Figure) in each format, atomically; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures.items():
        for fmt in formats:
            path = folder / f"{stem}.{fmt}"
            _save_atomic(fig, path, fmt, dpi)
            paths.append(path)
    return paths


def _save_atomic(fig, path: Path, fmt: str, dpi: int) -> None:
    """Save to a temporary file and rename it into place."""

    def save(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi, metadata=_metadata(fmt))

    save_atomic(path, save)


def _metadata(fmt: str) -> dict:
    """No creation date in the files, so that the same results give the same bytes."""
    return {"Date": None} if fmt == "svg" else {}


def _results_folder(path: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise user_error("RESULTS_DIR", f"{path}: no such folder")
    if not any((folder / name).exists() for name in ("summary.json", "summary.csv")):
        raise user_error("RESULTS_DIR", f"{path}: no summary.json or summary.csv; write one with compare --out or sweep --out")
    return folder


def _cmd_plot(args) -> int:
    folder = _results_folder(args.results)
    paths = write_plots(folder, args.out)
    print(f"wrote {len(paths)} files to {paths[0].parent if paths else args.out}")
    for path in paths:
        print(f"  {path}")
    return 0


def _cmd_report(args) -> int:
    from sim.report import write_report

    folder = _results_folder(args.results)
    path = write_report(folder, args.out)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args) -> int:
    from sim.demo import run_demo

    if args.frame_min <= 0:
        raise user_error("--frame-min", f"must be more than 0, got {args.frame_min}")
    if args.seed is not None and args.seed < 0:
        raise user_error("--seed", f"must be 0 or more, got {args.seed}")
    out = Path(args.out or f"demo-{args.case}")
    run_demo(args.case, out, seed=args.seed, animate=args.animate, frame_min=args.frame_min)
    return 0
