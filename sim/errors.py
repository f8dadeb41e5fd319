"""Errors a user can cause, with enough context to fix them.

Every mistake in a scenario file, a sweep file or a command-line override becomes a
:class:`Problem` naming the file, the line where known, the key path, and what was expected.
:class:`ScenarioError` carries all the problems found at once; the command line prints them
and exits with code 2, never with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "USER_ERROR_EXIT", "printable"]

USER_ERROR_EXIT = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return printable(text)


def printable(text: str) -> str:
    """*text* on one line and safe for a terminal: control characters (a newline inside a key,
    an escape sequence), line separators and lone surrogates are shown as escapes (``\\n``,
    ``\\x1b``, ``\\ud800``) rather than acted on."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text)


class ScenarioError(ValueError):
    """Invalid input; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
