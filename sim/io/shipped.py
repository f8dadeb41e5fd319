"""Where the shipped scenarios are: the project's ``scenarios/`` folder or the installed copy.

A source checkout keeps them in ``scenarios/`` beside the package; an installed package carries a
copy as ``sim/scenarios``. Commands that name a shipped scenario (``demo garbage``, the
verification checks, the scenario guide) find it here, the one place that knows the folders.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["scenario_folders", "shipped_scenario"]


def scenario_folders() -> list[Path]:
    """The folders searched for shipped scenarios, in order: the checkout's, the installed copy, ``./scenarios``."""
    package = Path(__file__).resolve().parents[1]
    return [package.parent / "scenarios", package / "scenarios", Path.cwd() / "scenarios"]


def shipped_scenario(file_name: str) -> Path | None:
    """The path of a shipped scenario file (``anhai_garbage.yaml``), or ``None`` if none is found."""
    for folder in scenario_folders():
        if (folder / file_name).is_file():
            return folder / file_name
    return None
