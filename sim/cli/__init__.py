"""Command line: a thin layer over the library (``python -m sim`` or ``town-sim``).

Each module of this package adds its commands: it defines ``register(subparsers)``, which adds
sub-parsers whose ``handler`` default is a function ``(args) -> exit code``. Modules are found
by name, so a new group of commands is a new file here. A user's mistake ends with exit code 2
and a message per problem, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from sim.errors import USER_ERROR_EXIT, ScenarioError

__all__ = ["main", "build_parser"]


def _command_modules() -> list:
    """The command modules of this package, in the order of their ``ORDER`` (then name)."""
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name != "common"
    ]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of every command module."""
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Simulate a town's enforcement under fragmented, joint and unified ways of working (minutes).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Ctrl-C from the first line on (while the command modules import, as well as during the work)
    returns 130 after a line on stderr that starts with ``interrupted``.
    """
    try:
        args = build_parser().parse_args(argv)
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (``python -m sim schema | head -1``): stop quietly, as Unix tools do.
        # Point stdout at devnull so the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except ScenarioError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("interrupted: files of unfinished work were not written", file=sys.stderr)
        return 130
