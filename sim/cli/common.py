"""Options and helpers shared by the command modules (defined once).

Start-up stays fast: building the parser imports only argparse and this package. The layers a
command needs (the loader, the experiments, the figures) are imported by its handler, so
``python -m sim --help`` and ``validate`` never load scipy, matplotlib or simpy.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = [
    "BACKENDS",
    "scenario_options",
    "run_options",
    "load",
    "check_counts",
    "user_error",
    "write_outputs",
    "output_folder",
    "return_big_blocks_when_freed",
]

# The choices of --backend: the same as sim.experiments.backends.BACKENDS (a test checks), written
# out here so that building the parser does not import the experiment layer.
BACKENDS = ("serial", "processes", "dask")


def scenario_options() -> argparse.ArgumentParser:
    """A scenario file and ``--set`` overrides."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a value, e.g. departments.sanitation.units=4 (repeatable)",
    )
    return parser


def run_options() -> argparse.ArgumentParser:
    """Seed, horizon, replications and output folder."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--seed", type=int, help="base random seed (default: the scenario's)")
    parser.add_argument("--days", type=float, help="simulated days (default: the scenario's)")
    parser.add_argument("--replications", "-r", type=int, default=1, help="independent replications (default 1)")
    parser.add_argument("--out", help="folder for summary.json and incidents.csv")
    parser.add_argument("--plots", action="store_true", help="also write the figures (PNG and SVG) to OUT/figures")
    return parser


def write_outputs(args, write) -> list:
    """Call ``write()`` (which writes into ``args.out``) and, with ``--plots``, the figures.

    A folder that cannot be written is the user's mistake (exit 2), not a traceback.
    """
    try:
        paths = list(write())
        if getattr(args, "plots", False):
            from sim.presentation.files import write_plots

            paths += write_plots(args.out)
    except OSError as err:
        where = err.filename or args.out
        raise user_error("--out", f"cannot write there ({err.strerror or err}): {where}") from None
    return paths


def load(args) -> Scenario:
    """Load the scenario named on the command line, with ``--set`` and ``--days`` applied.

    ``--days`` goes in as the last override; a problem with the horizon it sets is reported as
    a problem of ``--days``, not of ``--set``.
    """
    from sim.io.loader import load_scenario

    overrides = list(args.overrides)
    days = getattr(args, "days", None)
    if days is not None:
        overrides.append(f"days={days}")
    try:
        return load_scenario(args.scenario, overrides)
    except ScenarioError as err:
        if days is None:
            raise
        problems = [
            Problem("--days", None, "", p.message) if p.source == "--set" and p.path == "days" else p
            for p in err.problems
        ]
        raise ScenarioError(problems) from None


@contextmanager
def output_folder(args, purpose: str):
    """Own ``args.out`` (if given) for the whole command.

    Checked before any simulation, locked against a second writer, this project's stray temporary
    files of an earlier interrupted write removed.
    """
    if not getattr(args, "out", None):
        yield
        return
    from sim.io.results import COMPARISON_FILES, FolderLock, clean_temporary, folder_problem

    out = Path(args.out)
    problem = folder_problem(out)
    if problem:
        raise user_error("--out", problem)
    created = not out.exists()
    with FolderLock(out, purpose):
        clean_temporary(out, COMPARISON_FILES.__contains__)
        try:
            yield
        finally:
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()  # only if nothing was written


def user_error(option: str, message: str) -> ScenarioError:
    """An error about a command-line option (exit code 2)."""
    return ScenarioError([Problem(option, None, "", message)])


MAX_SEED = 2**63 - 1
"""The largest seed (the scenario schema's bound on ``seed``)."""


def check_counts(args) -> None:
    """Refuse impossible replication counts, seeds and horizons."""
    if getattr(args, "replications", 1) < 1:
        raise user_error("--replications", f"must be at least 1, got {args.replications}")
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise user_error(
            "--seed", f"expected a whole number from 0 to {MAX_SEED:,} (as the scenario's seed); got {seed}"
        )
    days = getattr(args, "days", None)
    if days is not None and not (math.isfinite(days) and days > 0):
        raise user_error("--days", f"expected a positive number of days, got {days}")


MMAP_THRESHOLD_BYTES = 1 << 20
"""Blocks from this size up get mappings of their own (:func:`return_big_blocks_when_freed`)."""


def return_big_blocks_when_freed() -> bool:
    """Have glibc's malloc give every block of 1 MiB or more a mapping of its own, returned to the system when freed.

    By default glibc raises that threshold each time such a block is freed (up to 32 MiB): the arrays a run
    draws before its clock starts are freed, and from then on blocks of their size come from the heap, which
    keeps what they held; the record columns growing through the run then add to that. A fixed threshold
    keeps the heap to small objects: the peak of a Jinjiang city year (``run --days 365``) falls from about
    382 to 327 MiB, at no measurable cost in time. Only on Linux with glibc, and not when the user set the
    threshold (``MALLOC_MMAP_THRESHOLD_``); returns whether it was set. The simulating commands call it
    first; a program using :func:`sim.run` may set the environment variable instead.
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library
        return False
    m_mmap_threshold = -3  # <malloc.h>
    return bool(mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(MMAP_THRESHOLD_BYTES)))
