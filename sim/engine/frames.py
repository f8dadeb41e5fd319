"""Records as pandas DataFrames: one row per incident, or per unit visit, of one or more runs.

This is the one place that turns records into columns (:func:`incident_columns`, :func:`job_columns`);
the DataFrames are built from those columns. The columns are read through the documented record
iteration (``output.records``, ``output.jobs``, each a sequence of named tuples), so a faster,
columnar store of the records can later be read here without changing what comes out.

Every row carries ``mode`` and ``replication`` (from the :class:`~sim.engine.model.RunOutput`),
``measured`` (whether the incident is counted by the summaries: the warm-up rule
:func:`~sim.engine.records.in_window`), every record field, and every derived field that
``_asdict()`` leaves out (``response_min``, ``resolution_min``, ``closure_min``, ``resolved``,
``ended``, ``ended_unattended``; for jobs ``wait_min``, ``travel_min``, ``busy_min``). A stage that
did not happen is NaN.

pandas is not needed to run the simulator: it is the ``frames`` extra (``pip install '.[frames]'``),
imported only when a frame is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sim.engine.records import (
    DERIVED_FIELDS,
    JOB_DERIVED_FIELDS,
    JOB_FIELDS,
    RECORD_FIELDS,
    IncidentRecord,
    JobRecord,
    in_window,
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


def incident_columns(outputs: Iterable[RunLike]) -> dict[str, list]:
    """The incidents of *outputs* as a dict of columns (:data:`INCIDENT_FRAME_COLUMNS`)."""
    columns: dict[str, list] = {name: [] for name in INCIDENT_FRAME_COLUMNS}
    for output in outputs:
        records = list(output.records)
        columns["mode"] += [output.mode] * len(records)
        columns["replication"] += [output.replication] * len(records)
        columns["measured"] += [bool(in_window(r.occurred_min, output.warmup_min)) for r in records]
        _add_fields(columns, records, RECORD_FIELDS, DERIVED_FIELDS)
    return columns


def job_columns(outputs: Iterable[RunLike]) -> dict[str, list]:
    """The unit visits of *outputs* as a dict of columns (:data:`JOB_FRAME_COLUMNS`).

    A visit is ``measured`` when its incident is (incident numbers are per run).
    """
    columns: dict[str, list] = {name: [] for name in JOB_FRAME_COLUMNS}
    for output in outputs:
        occurred = {r.incident: r.occurred_min for r in output.records}
        jobs = list(output.jobs)
        columns["mode"] += [output.mode] * len(jobs)
        columns["replication"] += [output.replication] * len(jobs)
        columns["measured"] += [bool(in_window(occurred[j.incident], output.warmup_min)) for j in jobs]
        _add_fields(columns, jobs, JOB_FIELDS, JOB_DERIVED_FIELDS)
    return columns


def _add_fields(columns: dict[str, list], rows: Sequence, fields: tuple[str, ...], derived: tuple[str, ...]) -> None:
    """Append the named-tuple *rows* field by field (one transpose), then their derived fields (properties)."""
    if not rows:
        return
    for name, values in zip(fields, zip(*rows)):
        columns[name] += values
    for name in derived:
        columns[name] += [getattr(row, name) for row in rows]


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
