"""Writing results: ``summary.json`` and ``incidents.csv``, atomically.

Every file is written to a temporary name in the same folder and renamed into place, so a
reader (or a run killed half way) never sees a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from sim.engine.records import JOB_FIELDS, RECORD_FIELDS
from sim.io.text import float_text

__all__ = [
    "write_atomic",
    "write_all",
    "write_summary",
    "write_incidents",
    "write_jobs",
    "write_scenario",
    "write_comparison",
    "INCIDENT_COLUMNS",
    "JOB_COLUMNS",
]

INCIDENT_COLUMNS = ("mode", "replication") + RECORD_FIELDS + ("response_min", "resolution_min")
JOB_COLUMNS = ("mode", "replication") + JOB_FIELDS


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write *text* to *path* via a temporary file and a rename."""
    return write_all([(path, text)])[0]


def write_all(files: Iterable[tuple[str | os.PathLike, str]]) -> list[Path]:
    """Write several files so that either every one of them is replaced, or none is.

    Each text goes to a temporary file next to its target first (a Ctrl-C or a full disk
    then removes the temporary files and leaves the old files as they were); the renames
    follow one after another with Ctrl-C held back for those microseconds, so a folder never
    mixes files of two runs.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            path = Path(path)
            staged.append((_write_temporary(path, text), path))
        with _interrupts_held():
            for tmp, path in staged:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    return [path for _, path in staged]


def save_atomic(path: str | os.PathLike, save: Callable[[str], None]) -> Path:
    """Let *save* write a file under a temporary name beside *path*, then rename it into place.

    For files written by other libraries (figures, animations): a Ctrl-C or an error leaves the
    old file as it was and no partial file behind. The temporary name keeps *path*'s suffix, for
    writers that choose the format by it; the file gets ordinary permissions (as the umask allows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_temporary(path: Path, text: str) -> str:
    """*text* in a new temporary file beside *path* (``.NAME.XXXX.tmp``), flushed to disk; its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


@contextmanager
def _interrupts_held():
    """Hold back Ctrl-C (SIGINT) inside the block; one that arrived is raised right after it."""
    if not hasattr(signal, "pthread_sigmask"):  # not on POSIX: the window is a few renames
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _umask() -> int:
    """The process's umask (read by setting and restoring it), so files get ordinary permissions."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clean(value):
    """JSON has no NaN: an absent statistic is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_summary(path: str | os.PathLike, summary: dict) -> Path:
    """Write the summary as JSON (stable key order, no NaN)."""
    return write_atomic(path, _summary_text(summary))


def _summary_text(summary: dict) -> str:
    return json.dumps(_clean(summary), indent=2, allow_nan=False) + "\n"


def _cell(value) -> str:
    """A cell of ``incidents.csv`` or ``jobs.csv``: times to six decimal places, anything else as ``str``."""
    return float_text(value, decimals=6) if isinstance(value, float) else str(value)


def write_incidents(path: str | os.PathLike, rows: Iterable[tuple[str, int, object]]) -> Path:
    """Write one CSV row per (mode, replication, record); empty cells where a stage did not happen."""
    return write_atomic(path, _incidents_text(rows))


def _incidents_text(rows: Iterable[tuple[str, int, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INCIDENT_COLUMNS)
    for mode, replication, record in rows:
        values = [getattr(record, name) for name in RECORD_FIELDS]
        writer.writerow([mode, replication, *map(_cell, values), _cell(record.response_min), _cell(record.resolution_min)])
    return buffer.getvalue()


def write_jobs(path: str | os.PathLike, rows: Iterable[tuple[str, int, object]]) -> Path:
    """Write one CSV row per (mode, replication, unit visit)."""
    return write_atomic(path, _jobs_text(rows))


def _jobs_text(rows: Iterable[tuple[str, int, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JOB_COLUMNS)
    for mode, replication, job in rows:
        writer.writerow([mode, replication, *(_cell(getattr(job, name)) for name in JOB_FIELDS)])
    return buffer.getvalue()


def write_scenario(path: str | os.PathLike, scenario) -> Path:
    """Write the fully resolved scenario (every default filled in) as JSON, to rerun or plot later."""
    return write_atomic(path, _scenario_text(scenario))


def _scenario_text(scenario) -> str:
    return json.dumps(scenario.model_dump(mode="json"), indent=2) + "\n"


def write_comparison(out_dir: str | os.PathLike, comparison) -> list[Path]:
    """Write ``summary.json``, ``incidents.csv``, ``jobs.csv`` and ``scenario.json`` of a comparison.

    ``scenario.json`` is the resolved scenario: with the seed in ``summary.json`` it reruns the
    exact same runs (``sim.scenario_from_dict(json.load(...))``). The four files are replaced
    together or not at all (:func:`write_all`): an interrupted write leaves the folder as it was.
    """
    out_dir = Path(out_dir)
    jobs = (
        (mode, rep, job)
        for mode, outputs in comparison.outputs.items()
        for rep, output in enumerate(outputs)
        for job in output.jobs
    )
    texts = (  # made one at a time, each written to its temporary file before the next is built
        (out_dir / name, make())
        for name, make in (
            ("summary.json", lambda: _summary_text(comparison.summary)),
            ("incidents.csv", lambda: _incidents_text(comparison.records())),
            ("jobs.csv", lambda: _jobs_text(jobs)),
            ("scenario.json", lambda: _scenario_text(comparison.scenario)),
        )
    )
    return write_all(texts)
