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

from sim.errors import USER_ERROR_EXIT, ScenarioError, Terminated, interrupt_exit_code, terminate_as_interrupt

__all__ = ["main", "build_parser", "LANG_COMMANDS"]

LANG_COMMANDS = ("run", "compare", "demo", "report", "app", "sweep", "sensitivity", "plot")
"""Commands that take ``--lang en|zh`` (the language of what they print and write)."""


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
    for name in LANG_COMMANDS:
        if name in sub.choices:
            sub.choices[name].add_argument(
                "--lang",
                choices=["en", "zh"],
                default="en",
                help="language of the summary, report and figures: en (default) or zh (Chinese)",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Ctrl-C from the first line on (while the command modules import, as well as during the work)
    returns 130 after a line on stderr that starts with ``interrupted``.
    """
    try:
        args = build_parser().parse_args(argv)
        with terminate_as_interrupt():  # SIGTERM stops work as Ctrl-C does (exit 143)
            if getattr(args, "lang", None):
                from sim.presentation.i18n import use_language

                with use_language(args.lang):
                    code = args.handler(args)
            else:
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
    except KeyboardInterrupt as err:
        how = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"{how}: files of unfinished work were not written", file=sys.stderr)
        return interrupt_exit_code(err)
