"""Records as pandas DataFrames: one row per incident, or per unit visit, of one or more runs.

This is the one place that turns records into columns (:func:`incident_columns`, :func:`job_columns`);
the DataFrames are built from those columns. A run's records are a columnar store
(:class:`~sim.engine.records.RecordTable`), read here column by column; any other sequence of the
named tuples (the documented record iteration) gives the same frame, row by row.

Every row carries ``mode`` and ``replication`` (from the :class:`~sim.engine.model.RunOutput`),
``measured`` (whether the incident is counted by the summaries' response figures, the one rule
:func:`~sim.engine.records.counted`: after the warm-up and not a find of a joint campaign, which the
summary reports apart in its ``campaigns`` block), every record field, and every derived field that
``_asdict()`` leaves out (``response_min``, ``resolution_min``, ``closure_min``, ``resolved``,
``ended``, ``ended_unattended``; for jobs ``wait_min``, ``travel_min``, ``busy_min``). A stage that
did not happen is NaN.

pandas is not needed to run the simulator: it is the ``frames`` extra (``pip install '.[frames]'``),
imported only when a frame is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.engine.records import (
    DERIVED_FIELDS,
    JOB_DERIVED_FIELDS,
    JOB_FIELDS,
    RECORD_FIELDS,
    IncidentRecord,
    JobRecord,
    RecordTable,
    counted,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd  # type: ignore[import-untyped]


class RunLike(Protocol):
    """What a frame needs of a :class:`sim.engine.model.RunOutput` (named here without importing the model)."""

    @property
    def records(self) -> Sequence[IncidentRecord]: ...

    @property
    def jobs(self) -> Sequence[JobRecord]: ...

    @property
    def mode(self) -> str: ...

    @property
    def replication(self) -> int: ...

    @property
    def warmup_min(self) -> float: ...


__all__ = [
    "INCIDENT_FRAME_COLUMNS",
    "JOB_FRAME_COLUMNS",
    "incident_columns",
    "incidents_frame",
    "job_columns",
    "jobs_frame",
    "require_pandas",
]

LABELS = ("mode", "replication", "measured")
INCIDENT_FRAME_COLUMNS = LABELS + RECORD_FIELDS + DERIVED_FIELDS
"""The columns of :func:`incidents_frame`, in order."""
JOB_FRAME_COLUMNS = LABELS + JOB_FIELDS + JOB_DERIVED_FIELDS
"""The columns of :func:`jobs_frame`, in order."""


def require_pandas() -> Any:
    """The pandas module, or an :class:`ImportError` that says how to install it."""
    try:
        import pandas
    except ImportError as err:  # pragma: no cover - pandas is in the test extra
        raise ImportError(
            "DataFrames need pandas, which the simulator itself does not: pip install 'town-enforcement-sim[frames]'"
        ) from err
    return pandas


def incident_columns(outputs: Iterable[RunLike]) -> dict[str, Any]:
    """The incidents of *outputs* as a dict of columns (:data:`INCIDENT_FRAME_COLUMNS`)."""
    parts = []
    for output in outputs:
        part = _fields(output.records, RECORD_FIELDS, DERIVED_FIELDS)
        part["measured"] = _measured(part, output.warmup_min)
        parts.append(_labelled(part, output))
    return _joined(parts, INCIDENT_FRAME_COLUMNS)


def job_columns(outputs: Iterable[RunLike]) -> dict[str, Any]:
    """The unit visits of *outputs* as a dict of columns (:data:`JOB_FRAME_COLUMNS`).

    A visit is ``measured`` when its incident is (incident numbers are per run).
    """
    parts = []
    for output in outputs:
        part = _fields(output.jobs, JOB_FIELDS, JOB_DERIVED_FIELDS)
        incidents = _fields(output.records, ("incident", "occurred_min", "channel"), ())
        counted = dict(
            zip(np.asarray(incidents["incident"]).tolist(), _measured(incidents, output.warmup_min).tolist())
        )
        part["measured"] = np.array([counted[i] for i in np.asarray(part["incident"]).tolist()], dtype=bool)
        parts.append(_labelled(part, output))
    return _joined(parts, JOB_FRAME_COLUMNS)


def _measured(columns: dict[str, Any], warmup_min: float) -> np.ndarray:
    """Whether each incident is counted by the summaries' response figures (:func:`~sim.engine.records.counted`)."""
    return counted(columns, warmup_min)


_VECTOR_FLAGS = {
    # the derived flags of IncidentRecord, on whole columns (a property's own code works on one row only)
    "resolved": lambda v: ~np.isnan(v.resolved_min),
    "ended": lambda v: ~np.isnan(v.ended_min),
    "ended_unattended": lambda v: ~np.isnan(v.ended_min) & ~np.isnan(v.detected_min),
}


def _fields(rows: Sequence, fields: tuple[str, ...], derived: tuple[str, ...]) -> dict[str, Any]:
    """Every field of *rows* and every derived field, as columns.

    A columnar store (:class:`~sim.engine.records.RecordTable`) gives its columns as they are, and a
    derived field that is arithmetic on fields (``response_min`` = ``on_scene_min - detected_min``)
    is the property's own code run on those columns; any other sequence of named tuples is
    transposed once and its derived fields read row by row.
    """
    if isinstance(rows, RecordTable):
        columns: dict[str, Any] = {name: rows.column(name) for name in fields}
        view = SimpleNamespace(**{name: rows.column(name) for name in rows.fields})
        for name in derived:
            columns[name] = _derived_column(rows, name, view)
        return columns
    rows = list(rows)
    transposed = dict(zip(rows[0]._fields, zip(*rows))) if rows else {}
    columns = {name: list(transposed.get(name, ())) for name in fields}
    for name in derived:
        columns[name] = [getattr(row, name) for row in rows]
    return columns


def _derived_column(table: RecordTable, name: str, view: SimpleNamespace) -> Any:
    """A derived field of a whole table: vectorised when its formula allows, else row by row."""
    if name in _VECTOR_FLAGS:
        return _VECTOR_FLAGS[name](view)
    try:
        values = getattr(table.record_type, name).fget(view)
    except (TypeError, ValueError):  # not arithmetic on whole columns
        values = None
    if isinstance(values, np.ndarray) and values.shape == (len(table),):
        return values
    return [getattr(row, name) for row in table]


def _labelled(part: dict[str, Any], output: RunLike) -> dict[str, Any]:
    """A run's columns with its ``mode`` and ``replication`` on every row."""
    n = len(next(iter(part.values()))) if part else 0
    return {"mode": [output.mode] * n, "replication": np.full(n, output.replication, dtype=np.int64), **part}


def _joined(parts: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    """The runs' columns one after the other, in the frame's column order."""
    if not parts:
        return {name: [] for name in names}
    out: dict[str, Any] = {}
    for name in names:
        pieces = [part[name] for part in parts]
        if all(isinstance(p, np.ndarray) and p.dtype != object for p in pieces):
            out[name] = np.concatenate(pieces)
        else:
            out[name] = [
                value for piece in pieces for value in (piece.tolist() if isinstance(piece, np.ndarray) else piece)
            ]
    return out


def incidents_frame(outputs: Iterable[RunLike]) -> pd.DataFrame:
    """One row per incident of every run in *outputs*, in run order then occurrence order.

    Parameters
    ----------
    outputs : iterable of RunLike
        The runs (each labelled with its ``mode`` and ``replication``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INCIDENT_FRAME_COLUMNS`; times in minutes, NaN where a stage did not happen.
    """
    return require_pandas().DataFrame(incident_columns(outputs))


def jobs_frame(outputs: Iterable[RunLike]) -> pd.DataFrame:
    """One row per finished unit visit of every run in *outputs*, in run order then order of completion.

    Parameters
    ----------
    outputs : iterable of RunLike
        The runs (each labelled with its ``mode`` and ``replication``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`JOB_FRAME_COLUMNS`; a visit is ``measured`` when its incident is.
    """
    return require_pandas().DataFrame(job_columns(outputs))
