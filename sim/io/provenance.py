"""Provenance: what produced a result file, in one block written beside the results.

:func:`provenance` is the one function that builds it; ``summary.json`` and ``sweep.json`` carry it
under the key ``provenance`` and every Parquet table as key–value metadata (:data:`PARQUET_KEY`, the
block as JSON). The block is kept apart from the results: fields that differ from one run to the
next (:data:`VARYING`: the timestamp, the host, the command line) never enter a table, a checksum or
the sweep's fingerprint, so identical runs still give byte-identical tables.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import socket
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TypedDict

from sim.version import __version__

__all__ = [
    "DEPENDENCIES",
    "PARQUET_KEY",
    "VARYING",
    "Provenance",
    "code_fingerprint",
    "git_commit",
    "provenance",
    "stable_part",
]

DEPENDENCIES = ("simpy", "numpy", "scipy", "pydantic")
"""The key dependencies whose versions are recorded (with Python's)."""

PARQUET_KEY = "sim.provenance"
"""The key of the provenance block (as JSON) in a Parquet file's key–value metadata."""

VARYING = ("created_utc", "host", "command")
"""Provenance fields that vary from one run to the next, however identical the runs."""

PACKAGE = Path(__file__).resolve().parents[1]
"""The folder of the ``sim`` package whose source is fingerprinted."""


class Provenance(TypedDict):
    """What produced a result.

    ``code_sha256`` is the SHA-256 of the ``sim`` package's Python source (every ``.py`` file, by
    relative path, in order); ``git_commit`` the commit when the package runs from a git checkout
    (``None`` otherwise, or when git is absent); ``versions`` the package's version and those of
    Python and :data:`DEPENDENCIES` (``None`` for one not installed); ``created_utc`` an ISO 8601
    UTC timestamp; ``host`` the machine's name; ``command`` the command line; ``seed`` the resolved
    base seed (``None`` when the output has no single seed).
    """

    sim_version: str
    code_sha256: str
    git_commit: str | None
    versions: dict[str, str | None]
    created_utc: str
    host: str
    command: str
    seed: int | None


@lru_cache(maxsize=1)
def code_fingerprint(package: Path = PACKAGE) -> str:
    """SHA-256 of the package's Python source: each ``.py`` file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def git_commit(package: Path = PACKAGE) -> str | None:
    """The commit checked out where the package lives, or ``None`` (no checkout, no git, or git failed)."""
    if not (package.parent / ".git").exists():
        return None
    try:
        found = subprocess.run(
            ["git", "-C", str(package.parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = found.stdout.strip()
    return text if found.returncode == 0 and len(text) in (40, 64) else None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"sim": __version__, "python": platform.python_version()}
    versions.update({name: _version(name) for name in DEPENDENCIES})
    return versions


def provenance(seed: int | None = None, command: list[str] | None = None) -> Provenance:
    """The provenance block of an output made now, with base seed *seed*.

    Parameters
    ----------
    seed : int or None
        The resolved base seed of the runs (``None`` when they have no single seed).
    command : list of str or None
        The command line; default ``sys.argv`` (of the process writing the output).
    """
    argv = sys.argv if command is None else command
    return {
        "sim_version": __version__,
        "code_sha256": code_fingerprint(),
        "git_commit": git_commit(),
        "versions": _versions(),
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "host": socket.gethostname() or os.environ.get("HOSTNAME", ""),
        "command": shlex.join(str(a) for a in argv),
        "seed": seed,
    }


def stable_part(block: dict) -> dict:
    """The block without the fields that vary between identical runs (:data:`VARYING`), for comparisons."""
    return {key: value for key, value in block.items() if key not in VARYING}
