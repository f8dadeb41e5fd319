"""Errors a user can cause, with enough context to fix them.

Every mistake in a scenario file, a sweep file or a command-line override becomes a
:class:`Problem` naming the file, the line where known, the key path, and what was expected.
:class:`ScenarioError` carries all the problems found at once; the command line prints them
and exits with code 2, never with a traceback.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "Problem",
    "ScenarioError",
    "USER_ERROR_EXIT",
    "Terminated",
    "interrupt_exit_code",
    "printable",
    "closest",
    "did_you_mean",
    "terminate_as_interrupt",
]

USER_ERROR_EXIT = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``kill``, Slurm, Docker and systemd send), raised like Ctrl-C.

    Work stops the same way: finished runs kept, no half-written file, exit code 143 (128 + 15).
    """


def interrupt_exit_code(err: BaseException) -> int:
    """130 for Ctrl-C (SIGINT), 143 for SIGTERM: the shell's 128 + signal number."""
    return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        """``file:line: key.path: message``, safe to print."""
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return printable(text)


def printable(text: str) -> str:
    r"""*text* on one line and safe for a terminal.

    Control characters (a newline inside a key, an escape sequence), line separators and lone
    surrogates are shown as escapes (``\n``, ``\x1b``, ``\ud800``) rather than acted on.
    """
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text
    )


class ScenarioError(ValueError):
    """Invalid input; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name most like *name* (a likely typo), or ``None`` when none is close."""
    import difflib

    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str], otherwise: str = "", cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` when a known name is close to *name*, else *otherwise*.

    The one wording of the hint, for every message about an unknown name.
    """
    match = closest(name, known, cutoff)
    return f"; did you mean '{match}'?" if match else otherwise
