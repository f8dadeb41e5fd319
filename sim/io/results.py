"""Writing results: ``summary.json`` and ``incidents.csv``, atomically.

Every file is written to a temporary name in the same folder and renamed into place, so a
reader (or a run killed half way) never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sim.engine.records import (
    JOB_FIELDS,
    RECORD_FIELDS,
    IncidentRecord,
    JobRecord,
    RecordTable,
    incident_table,
    job_table,
)
from sim.errors import Problem, ScenarioError
from sim.io.csvcells import Piece, csv_block, float_columns, int_columns, text_column, text_table
from sim.io.provenance import provenance
from sim.io.text import float_text

__all__ = [
    "write_atomic",
    "interrupts_held",
    "FolderLock",
    "LOCK_NAME",
    "clean_temporary",
    "folder_problem",
    "COMPARISON_FILES",
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


_BLOCK = 8192
"""Rows of ``incidents.csv`` and ``jobs.csv`` formatted at once (a few megabytes of bytes per block)."""

COMPARISON_FILES = ("summary.json", "incidents.csv", "jobs.csv", "scenario.json")
"""The files :func:`write_comparison` writes into a folder."""

TEMPORARY_NAME = re.compile(r"\.(?P<target>.+?)\.(?:[a-z0-9_]+\.)?tmp(?:\.[A-Za-z0-9]+)?")
"""The name of a temporary file of this project: ``.TARGET.XXXXXXXX.tmp`` (:func:`write_all`),
``.TARGET.tmp`` or ``.STEM.XXXXXXXX.tmp.SUFFIX`` (:func:`save_atomic`)."""


def clean_temporary(folder: str | os.PathLike, is_target: Callable[[str], bool]) -> list[Path]:
    """Remove the temporary files a killed writer left in *folder*; returns them.

    Only files named as this project names its temporary files (:data:`TEMPORARY_NAME`) whose
    target name passes *is_target* are removed: a user's own ``notes.tmp`` is left alone. Call it
    only while holding the folder's :class:`FolderLock`, so that no live writer's file goes.
    """
    folder = Path(folder)
    stray = []
    try:
        names = [p for p in folder.iterdir() if p.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    for path in names:
        match = TEMPORARY_NAME.fullmatch(path.name)
        if match and is_target(match["target"]) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            stray.append(path)
    return stray


def folder_problem(out: str | os.PathLike) -> str | None:
    """Why *out* cannot be an output folder, if it plainly cannot: a NUL byte, a file in the way, no right to write."""
    text = str(out)
    if "\0" in text:
        return f"the folder name {text!r} holds a NUL character; expected a folder name"
    out = Path(out)
    try:
        for folder in (out, *out.parents):
            if folder.exists():
                if not folder.is_dir():
                    return f"{folder} is a file, not a folder; expected a folder to write into"
                if not os.access(folder, os.W_OK | os.X_OK):
                    return f"cannot write in {folder} (permission denied); expected a folder you may write into"
                return None
    except OSError as err:
        return f"cannot use {text} as a folder ({err.strerror or err})"
    return None


LOCK_NAME = ".town-sim.lock"
"""The lock file in an output folder, held (``flock``) by the one process writing there."""

_HELD: dict[int, FolderLock] = {}
"""The locks this process holds, by file descriptor (a forked worker closes its copies)."""


class FolderLock:
    """An output folder owned by one process at a time: an exclusive ``flock`` on ``DIR/.town-sim.lock``.

    The operating system drops the lock when the holder dies, even by ``kill -9``, so a stale
    lock file never blocks anyone; the file holds the holder's process id and what it does, for
    the message another process gets. Acquiring never waits: a folder in use is an error (exit 2).
    On platforms without ``fcntl`` there is no lock.
    """

    def __init__(self, folder: str | os.PathLike, purpose: str = "sweep", option: str = "--out"):
        self.folder, self.purpose, self.option = Path(folder), purpose, option
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock, creating the folder if needed.

        Raises
        ------
        ScenarioError
            When another process holds it (naming the folder and that process), or the folder
            cannot be made.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX
            return self
        if self.fd is not None:
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _holder(fd)
                    os.close(fd)
                    raise ScenarioError(
                        [
                            Problem(
                                self.option,
                                None,
                                "",
                                (
                                    f"{self.folder} is in use by another {holder or 'process'}; two runs writing into one folder would mix "
                                    f"their results. Wait for it to finish (or stop it), or choose another {self.option}"
                                ),
                            )
                        ]
                    ) from None
                except BaseException:
                    os.close(fd)
                    raise
                if _same_file(fd, self.path):  # not unlinked by the holder that released it meanwhile
                    break
                os.close(fd)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {self.purpose} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        except OSError as err:
            raise ScenarioError(
                [Problem(self.option, None, "", f"cannot use {self.folder} ({err.strerror or err})")]
            ) from None
        self.fd = fd
        _HELD[fd] = self
        return self

    def release(self) -> None:
        """Let go of the folder (and remove the lock file)."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        import fcntl

        _HELD.pop(fd, None)
        try:
            if _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)  # while still locked: a waiter then finds it gone and retries
        except OSError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)  # explicitly: a forked worker may still hold a copy of the descriptor
            os.close(fd)

    def __enter__(self) -> FolderLock:
        """Acquire the lock."""
        return self.acquire()

    def __exit__(self, *error) -> None:
        """Release the lock."""
        self.release()

    def __del__(self) -> None:
        """Release the lock if it is still held (never raise from a finaliser)."""
        with contextlib.suppress(Exception):
            self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _holder(fd: int) -> str:
    """``sweep (process 1234, since ...)`` from a lock file's content, or ""."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    pid, _, rest = text.partition(" ")
    if not pid.isdigit():
        return ""
    what, _, since = rest.partition(" since ")
    return f"{what or 'process'} (process {pid}" + (f", since {since}" if since else "") + ")"


def release_held_locks() -> None:
    """Let go of every output folder this process holds, removing its lock file.

    For an exit at once (Ctrl-C during an import, :mod:`sim.__main__`), which skips the ``with``
    blocks that would release them: the folder must not be left with a lock file in it.
    """
    for lock in list(_HELD.values()):
        with contextlib.suppress(Exception):
            lock.release()


def close_inherited_locks() -> None:
    """In a forked worker: close the copies of the parent's lock descriptors (the parent keeps the locks)."""
    for fd, lock in list(_HELD.items()):
        lock.fd = None  # not this process's lock: never released (or its file removed) from here
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write *text* to *path* via a temporary file and a rename."""
    return write_all([(path, text)])[0]


def write_all(files: Iterable[tuple[str | os.PathLike, str | Iterable[str | bytes]]]) -> list[Path]:
    """Write several files so that either every one of them is replaced, or none is.

    Each text (a string, or an iterable of chunks written one by one: strings, or bytes in UTF-8) goes to a temporary file next to its target
    first (a Ctrl-C or a full disk
    then removes the temporary files and leaves the old files as they were); the renames
    follow one after another with Ctrl-C held back for those microseconds, so a folder never
    mixes files of two runs.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            path = Path(path)
            staged.append((_write_temporary(path, text), path))
        with interrupts_held():
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


def _write_temporary(path: Path, text: str | Iterable[str | bytes]) -> str:
    """*text* (a string, or chunks of one: strings or UTF-8 bytes) in a new temporary file beside *path*, flushed to disk; its name.

    The temporary file is named ``.NAME.XXXX.tmp``. It is written as bytes: chunks already in UTF-8
    (the CSV blocks of :mod:`sim.io.csvcells`) go in as they are, without a decode and an encode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            for chunk in (text,) if isinstance(text, str) else text:  # streamed: never the whole file in memory
                handle.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


@contextmanager
def interrupts_held():
    """Hold back Ctrl-C (SIGINT) and SIGTERM inside the block; one that arrived is acted on right after it.

    Blocks nest (each restores the mask it found).
    """
    if not hasattr(signal, "pthread_sigmask"):  # not on POSIX: the window is a few renames
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
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


def write_incidents(path: str | os.PathLike, rows: Iterable[tuple[str, int, IncidentRecord]]) -> Path:
    """Write one CSV row per (mode, replication, record); empty cells where a stage did not happen."""
    return write_atomic(path, _incidents_text(rows))


def _incidents_text(rows: Iterable[tuple[str, int, IncidentRecord]]) -> str:
    return "".join(_incident_chunks(rows))


def _incident_chunks(rows: Iterable[tuple[str, int, IncidentRecord]], block: int = 4096) -> Iterator[str]:
    """``incidents.csv`` as chunks of text, one per block of (mode, replication, record) rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INCIDENT_COLUMNS)
    for i, (mode, replication, record) in enumerate(rows, 1):
        values = [getattr(record, name) for name in RECORD_FIELDS]
        writer.writerow(
            [mode, replication, *map(_cell, values), _cell(record.response_min), _cell(record.resolution_min)]
        )
        if i % block == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    """The text written to *buffer* so far; the buffer is emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _incident_chunks_of_tables(tables: Iterable[tuple[str, int, RecordTable]], block: int = _BLOCK) -> Iterator[bytes]:
    """``incidents.csv`` from the runs' columns, a block at a time: the same text as :func:`_incident_chunks`."""

    def derived(table: RecordTable, start: int, stop: int) -> list[np.ndarray]:
        detected = table.stored("detected_min")[start:stop]
        return [
            table.stored("on_scene_min")[start:stop] - detected,
            table.stored("resolved_min")[start:stop] - detected,
        ]

    return _chunks_of_tables(INCIDENT_COLUMNS, RECORD_FIELDS, tables, block, derived)


def _job_chunks_of_tables(tables: Iterable[tuple[str, int, RecordTable]], block: int = _BLOCK) -> Iterator[bytes]:
    """``jobs.csv`` from the runs' job columns, a block at a time: the same text as :func:`_jobs_text`."""
    return _chunks_of_tables(JOB_COLUMNS, JOB_FIELDS, tables, block)


def _chunks_of_tables(header, fields, tables, block: int, derived=None) -> Iterator[bytes]:
    """CSV text (UTF-8) of (mode, replication, table) runs: the header, then a chunk per block of rows.

    Each block is laid out at once with numpy (:mod:`sim.io.csvcells`), as :func:`_cell` formats one
    value (times to six places, empty where a stage did not happen); *derived* adds computed float
    columns at the end. The rows are joined directly, without :mod:`csv`: numbers never need quoting,
    and each string (a mode, a category of a text field) is quoted once, as the csv writer quotes it
    (:func:`_quoted`).
    """
    yield _quoted_row(header).encode("utf-8")
    for mode, replication, table in tables:
        labels = [[text_table([_quoted(str(mode))], ",")], [text_table([str(replication)], ",")]]
        layout = _Layout(table, fields, derived is not None)
        for start in range(0, len(table), block):
            stop = min(start + block, len(table))
            extra = derived(table, start, stop) if derived is not None else []
            yield csv_block(labels + layout.columns(start, stop, extra), stop - start)


class _Layout:
    """How a table's fields become CSV cells: each field's kind and separator, its categories' cells laid out once.

    Float fields (and the derived ones, last) are formatted together, a matrix of a block's rows at a
    time, and so are integer fields: one numpy call per step for all of them, not one per field.
    """

    def __init__(self, table: RecordTable, fields: tuple[str, ...], derived: bool) -> None:
        self.table, self.fields = table, fields
        count = len(fields) + (2 if derived else 0)
        ends = {name: "," if i < count - 1 else "\n" for i, name in enumerate(fields)}
        self.derived_ends = [",", "\n"] if derived else []
        self.cells: dict[str, np.ndarray] = {}
        self.floats: list[str] = []
        self.ints: list[str] = []
        for name in fields:
            stored = table.stored(name)
            if table.is_text(name):
                self.cells[name] = text_table([_quoted(str(value)) for value in table.categories(name)], ends[name])
            elif stored.dtype == np.bool_:
                self.cells[name] = text_table(["False", "True"], ends[name])
            elif stored.dtype.kind == "f":
                self.floats.append(name)
            else:
                self.ints.append(name)
        self.float_ends = [ends[name] for name in self.floats] + self.derived_ends
        self.int_ends = [ends[name] for name in self.ints]

    def columns(self, start: int, stop: int, derived: list[np.ndarray]) -> list[list[Piece]]:
        """The pieces of every field (then the *derived* float columns) of rows *start* to *stop*."""
        table = self.table
        out: dict[str, list[Piece]] = {}
        derived_cells: list[list[Piece]] = []
        floats = [table.stored(name)[start:stop] for name in self.floats] + derived
        if floats:
            cells = float_columns(np.stack(floats), self.float_ends)
            out.update(zip(self.floats, cells))
            derived_cells = cells[len(self.floats) :]
        if self.ints:
            ints = np.stack([table.stored(name)[start:stop] for name in self.ints])
            out.update(zip(self.ints, int_columns(ints, self.int_ends)))
        for name, cells_of in self.cells.items():
            codes = table.stored(name)[start:stop]
            out[name] = text_column(cells_of, codes.view(np.int8) if codes.dtype == np.bool_ else codes)
        return [out[name] for name in self.fields] + derived_cells


def _quoted_row(cells) -> str:
    """One CSV line of *cells* as the csv writer writes it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _quoted(text: str) -> str:
    """*text* as a cell among others of a CSV row written by the csv writer (quoted only where needed)."""
    if not _SPECIAL.search(text):
        return text
    return _quoted_row([text, ""])[:-2]


_SPECIAL = re.compile('[,"\r\n]')
"""What makes the csv writer quote a cell (the delimiter, the quote character, line ends)."""


def write_jobs(path: str | os.PathLike, rows: Iterable[tuple[str, int, JobRecord]]) -> Path:
    """Write one CSV row per (mode, replication, unit visit)."""
    return write_atomic(path, _jobs_text(rows))


def _jobs_text(rows: Iterable[tuple[str, int, JobRecord]]) -> str:
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


def _tables(comparison, what: str = "records") -> Iterator[tuple[str, int, RecordTable]]:
    """(mode, replication, the run's incident records or job records as a table) of every run of a comparison."""
    for mode, outputs in comparison.outputs.items():
        for rep, output in enumerate(outputs):
            yield mode, rep, incident_table(output.records) if what == "records" else job_table(output.jobs)


def write_comparison(out_dir: str | os.PathLike, comparison) -> list[Path]:
    """Write ``summary.json``, ``incidents.csv``, ``jobs.csv`` and ``scenario.json`` of a comparison.

    ``summary.json`` is the comparison's summary with a ``provenance`` block added
    (:func:`sim.io.provenance.provenance`: code fingerprint, versions, time, host, command line, seed).

    ``scenario.json`` is the resolved scenario: with the seed in ``summary.json`` it reruns the
    exact same runs (``sim.scenario_from_dict(json.load(...))``). The four files are replaced
    together or not at all (:func:`write_all`): an interrupted write leaves the folder as it was.
    """
    out_dir = Path(out_dir)
    texts = (  # made one at a time, each written to its temporary file before the next is built
        (out_dir / name, make())
        for name, make in (
            ("summary.json", lambda: _summary_text({**comparison.summary, "provenance": provenance(comparison.seed)})),
            ("incidents.csv", lambda: _incident_chunks_of_tables(_tables(comparison))),
            ("jobs.csv", lambda: _job_chunks_of_tables(_tables(comparison, "jobs"))),
            ("scenario.json", lambda: _scenario_text(comparison.scenario)),
        )
    )
    return write_all(texts)
