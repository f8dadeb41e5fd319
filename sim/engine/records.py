"""The record of one incident's life, written once, when a run ends.

Like Ciw's data records, an :class:`IncidentRecord` is a small immutable row (a named tuple) and
:func:`write_record` is the only place that writes one. A run keeps its records as columns
(:class:`RecordTable`: a numpy array per field, strings coded 32-bit, read-only once the run ends): a
city year holds about a million incidents, about 130 bytes each as columns (integers 32-bit where they
fit) against about 380 as named tuples, and statistics run on the columns with numpy. A run writes rows a block at a time
(packed with :mod:`struct`, one call per column), and the type, patch, sector and layer as indices
into tables of names (:func:`incident_buffers`), named when the columns freeze. Iterating a table (``for r in
output.records``) still yields :class:`IncidentRecord` named tuples, built a block at a time.
Metrics (:mod:`sim.stats.metrics`) are pure functions of records. Times are minutes since the start
of the run (Monday 00:00); a stage that did not happen before the run ended (``days +
drain_days``) is ``nan``.
"""

from __future__ import annotations

import array
import math
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple, get_type_hints

import numpy as np

from sim.engine.campaigns import CAMPAIGN
from sim.engine.incidents import LAYER_NAMES, IncidentState

__all__ = [
    "IncidentRecord",
    "JobRecord",
    "write_record",
    "in_window",
    "counted",
    "campaign_finds",
    "RECORD_FIELDS",
    "JOB_FIELDS",
    "DERIVED_FIELDS",
    "JOB_DERIVED_FIELDS",
    "ColumnBuffers",
    "incident_buffers",
    "job_buffers",
    "RecordTable",
    "incident_table",
    "job_table",
]


class IncidentRecord(NamedTuple):
    """One incident: when it happened, was found, reached someone able to act, was reached and resolved.

    Response time is detected -> first capable unit on scene; resolution time is
    detected -> resolved (all departments done). Both are minutes. ``layer`` is who could
    settle it (grid workers, the town's departments, or the city centre first); ``closed_min``
    is when the closed loop closed the case (after the fix), if the mode runs the loop;
    ``on_the_spot`` is true when whoever found the matter could act on it and was the first on
    scene (its response is then no dispatch at all). ``duplicate_visits`` counts the finished
    visits of other departments that also took the matter up (:mod:`sim.engine.duplicates`),
    ``left_by_all`` is true when every department claiming it first left it to another,
    ``follow_ups`` counts specialists' second visits after a pooled unit's job
    (:mod:`sim.engine.competence`), and ``ended_min`` is when the matter ended by itself before
    any unit was on scene (:mod:`sim.engine.lifetimes`; ``nan`` otherwise).
    """

    incident: int
    incident_type: str
    patch: str
    sector: str
    priority: int
    occurred_min: float
    detected_min: float
    channel: str
    finder: str
    reached_min: float
    dispatched_min: float
    on_scene_min: float
    resolved_min: float
    departments: str
    units: str
    referrals: int
    bounces: int
    seen_not_handled: int
    layer: str
    closed_min: float
    on_the_spot: bool
    duplicate_visits: int
    left_by_all: bool
    follow_ups: int
    ended_min: float
    reopened: int = 0

    @property
    def response_min(self) -> float:
        """Detected to first capable unit on scene, minutes (nan if not reached)."""
        return self.on_scene_min - self.detected_min

    @property
    def resolution_min(self) -> float:
        """Detected to resolved, minutes (nan if not resolved)."""
        return self.resolved_min - self.detected_min

    @property
    def closure_min(self) -> float:
        """Detected to closed by the closed loop, minutes (nan without the loop)."""
        return self.closed_min - self.detected_min

    @property
    def resolved(self) -> bool:
        """Whether the matter was resolved before the horizon."""
        return not math.isnan(self.resolved_min)

    @property
    def ended(self) -> bool:
        """Whether the matter ended by itself before any unit was on scene (detected or not)."""
        return not math.isnan(self.ended_min)

    @property
    def ended_unattended(self) -> bool:
        """Whether the matter was reported, then ended by itself before any unit was on scene."""
        return self.ended and not math.isnan(self.detected_min)


RECORD_FIELDS = IncidentRecord._fields
DERIVED_FIELDS = tuple(name for name, value in vars(IncidentRecord).items() if isinstance(value, property))
"""The derived fields of an incident record (``response_min``, ``resolution_min``, ...): properties, not in ``_asdict()``."""


class JobRecord(NamedTuple):
    """One unit's visit to one incident: requested, dispatched, arrived, done (minutes).

    An incident needing several departments has several jobs. ``home_sector`` is the sector of
    the unit's base, ``sector`` the incident's; a job with ``queued`` waited for a free unit.
    Written by the model when the unit finishes (jobs unfinished at the end are not written).
    ``duplicate`` marks another department's duplicate visit (it never counts as the response),
    ``follow_up`` a specialist's second visit after a pooled unit's job, and ``ended`` a visit that
    found the matter already ended by itself (no on-scene work).
    """

    incident: int
    incident_type: str
    unit: str
    department: str
    home_sector: str
    patch: str
    sector: str
    requested_min: float
    dispatched_min: float
    arrived_min: float
    done_min: float
    on_the_spot: bool
    duplicate: bool = False
    follow_up: bool = False
    ended: bool = False

    @property
    def wait_min(self) -> float:
        """Requested to dispatched: time waiting for a free unit."""
        return self.dispatched_min - self.requested_min

    @property
    def travel_min(self) -> float:
        """Dispatched to arrived, set-off included."""
        return self.arrived_min - self.dispatched_min

    @property
    def busy_min(self) -> float:
        """Dispatched to done: the unit's time on this job."""
        return self.done_min - self.dispatched_min


JOB_FIELDS = JobRecord._fields
JOB_DERIVED_FIELDS = tuple(name for name, value in vars(JobRecord).items() if isinstance(value, property))
"""The derived fields of a job record (``wait_min``, ``travel_min``, ``busy_min``)."""


def in_window(occurred_min, warmup_min: float, end_min: float = math.inf):
    """Whether incidents that occurred at *occurred_min* are measured: after the warm-up, before *end_min*.

    The one warm-up rule (the summaries of :mod:`sim.stats.metrics` and the ``measured`` column of
    :mod:`sim.engine.frames` both use it, through :func:`counted`), for one time or a numpy array of
    times (then a boolean mask). Arrivals stop at the horizon, so *end_min* only matters to a caller
    that passes one.
    """
    return (occurred_min >= warmup_min) & (occurred_min < end_min)


def campaign_finds(records) -> np.ndarray:
    """Whether each record is a joint campaign's find (channel ``campaign``): a boolean mask.

    *records* is a :class:`RecordTable` (its coded ``channel`` compared as a code) or a mapping of
    columns with a ``channel`` column of names (:mod:`sim.engine.frames`).
    """
    if isinstance(records, RecordTable):
        return records.codes("channel") == records.code_of("channel", CAMPAIGN)
    return np.asarray(records["channel"], dtype=object) == CAMPAIGN


def counted(records, warmup_min: float, end_min: float = math.inf) -> np.ndarray:
    """Whether each record is counted by the response figures: a boolean mask (the one "counted" rule).

    A record is counted when its incident is measured (:func:`in_window`: after the warm-up, before
    *end_min*) and is not a joint campaign's find (:func:`campaign_finds`; those are reported apart,
    in the summary's ``campaigns`` block). :func:`sim.stats.metrics.summarise`,
    :func:`sim.stats.metrics.reported` (so plug-in metrics) and the ``measured`` column of
    :mod:`sim.engine.frames` all use it. *records* as for :func:`campaign_finds`, with an
    ``occurred_min`` column.
    """
    if isinstance(records, RecordTable):
        occurred = records.column("occurred_min")
    else:
        occurred = np.asarray(records["occurred_min"], dtype=float)
    return np.asarray(in_window(occurred, warmup_min, end_min), dtype=bool) & ~campaign_finds(records)


def write_record(into: ColumnBuffers, state: IncidentState, end: float = math.inf) -> None:
    """Freeze an incident's final state into its record, a row of the columns *into* (the only writer).

    *into* is made by :func:`incident_buffers`: the type, patch, sector and layer go in as indices into
    its tables of names (``state.type_index``, ``state.patch`` twice, ``state.layer``), named when the
    columns freeze. *end* is the minute the run ended (``days + drain_days``): a stage whose time is
    known but falls at or after it (a unit dispatched before the end that would arrive after it; a
    report still on its way; a case the closed loop would close later) did not happen in the run, and is ``nan``.
    """
    nan = math.nan
    departments, units = state.departments, state.units
    rows = into.rows  # ColumnBuffers.append inlined: one call less per incident
    rows.append(
        (
            state.number,
            state.type_index,
            state.patch,
            state.patch,
            state.priority,
            state.occurred_min,
            state.detected_min,
            state.channel,
            state.finder,
            state.reached_min if state.reached_min < end else nan,
            state.dispatched_min if state.dispatched_min < end else nan,
            state.on_scene_min if state.on_scene_min < end else nan,
            state.resolved_min if state.resolved_min < end else nan,
            departments[0] if len(departments) == 1 else "+".join(dict.fromkeys(departments)),  # one: as joined
            units[0] if len(units) == 1 else "+".join(units),
            state.referrals,
            state.bounces,
            state.seen_not_handled,
            state.layer,
            state.closed_min if state.closed_min < end else nan,
            state.on_the_spot,
            state.duplicate_visits,
            state.left_by_all,
            state.follow_ups,
            state.ended_min,
            state.reopened,
        )
    )
    if len(rows) >= into.BLOCK:
        into._flush()


def incident_buffers(type_names: Sequence[str], patch_names: Sequence[str], patch_sector_names: Sequence[str]):
    """The growing columns of a run's incident records, for :func:`write_record`.

    The type, patch, sector and layer are written as indices: into *type_names*, *patch_names*,
    *patch_sector_names* (each patch's sector) and :data:`LAYER_NAMES`.
    """
    named = {"incident_type": type_names, "patch": patch_names, "sector": patch_sector_names, "layer": LAYER_NAMES}
    return ColumnBuffers(IncidentRecord, named)


def job_buffers(type_names: Sequence[str], patch_names: Sequence[str], patch_sector_names: Sequence[str]):
    """The growing columns of a run's job records: type, patch and sector written as indices (as :func:`incident_buffers`)."""
    return ColumnBuffers(JobRecord, {"incident_type": type_names, "patch": patch_names, "sector": patch_sector_names})


def incident_table(records: Iterable[IncidentRecord]) -> RecordTable:
    """Incident records as a :class:`RecordTable` (a table is returned as it is)."""
    return RecordTable.from_records(IncidentRecord, records)


def job_table(records: Iterable[JobRecord]) -> RecordTable:
    """Job records as a :class:`RecordTable` (a table is returned as it is)."""
    return RecordTable.from_records(JobRecord, records)


# --------------------------------------------------------------------------- columns

_KINDS = {float: "f", int: "i", bool: "b", str: "s"}
"""How each field of a record is kept as a column: floats, integers, booleans, coded strings."""


def _kinds(record_type) -> tuple[tuple[str, str], ...]:
    hints = get_type_hints(record_type)
    return tuple((name, _KINDS[hints[name]]) for name in record_type._fields)


_TYPECODES = {"f": "d", "i": "i", "b": "b", "s": "i"}
"""Each kind's ``array`` typecode: an integer field starts 32-bit (:meth:`ColumnBuffers._packed` widens it if need be)."""
_PACKED = {"d": "d", "q": "q", "i": "i", "b": "?"}
"""Each typecode's ``struct`` format: the same bytes (native sizes; a boolean as one byte 0 or 1)."""
_DTYPES = {"d": np.float64, "q": np.int64, "i": np.int32, "b": np.bool_}
"""Each typecode's column type. A string field's codes are 32-bit (a run has far fewer distinct strings than
2**31), and so is an integer field whose values all fit (incident numbers, priorities, counts): a city year's
eight integer fields take 26 MB less at the run's end, where its peak memory is."""


class ColumnBuffers:
    """Growing columns of one record type, one ``array.array`` per field, while a run goes on.

    Rows are taken as plain tuples and moved into the columns a block at a time (one C loop per
    field, instead of one call per field and row). A string field keeps a code per row and the
    distinct strings once (``categories``): a city year holds about a million incidents but a few
    thousand distinct unit lists. :meth:`freeze` turns the buffers into a :class:`RecordTable` whose
    numpy columns cannot be written to.
    """

    BLOCK = 4096

    def __init__(
        self, record_type: type[IncidentRecord] | type[JobRecord], named: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.record_type = record_type
        self.kinds = _kinds(record_type)
        self.named = dict(named or {})  # a string field given as an index into its table of names
        self.buffers = [array.array(_TYPECODES[kind]) for _, kind in self.kinds]
        self.codes: list[dict | None] = [
            {} if kind == "s" and name not in self.named else None for name, kind in self.kinds
        ]
        self.rows: list[tuple] = []
        self.defaults = tuple(record_type._field_defaults.values())

    def append(self, values: tuple) -> None:
        """Add one row: a tuple of values in field order (trailing fields with defaults may be left out)."""
        rows = self.rows
        rows.append(values)
        if len(rows) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        """Move the rows waiting in :attr:`rows` into the columns: one C call per column, none per cell.

        The rows are transposed with ``zip(*rows)`` (quicker than slicing them laid end to end while the
        cyclic collector is paused, as in a run); a string column's values become codes through one
        ``map`` over its dictionary (twice as quick as a list comprehension).
        """
        rows, self.rows = self.rows, []
        if not rows:
            return
        if min(map(len, rows)) < len(self.kinds):  # some rows leave trailing fields to their defaults
            rows = list(map(self._whole_row, rows))
        for j, (values, codes) in enumerate(zip(zip(*rows), self.codes)):
            if codes is not None:
                for value in dict.fromkeys(values):  # new strings coded in order of first appearance
                    if value not in codes:
                        codes[value] = len(codes)
                values = tuple(map(codes.__getitem__, values))
            # one C call per column and block: packing is several times quicker than array.extend's item loop
            data = self._packed(j, values)  # first: it may replace the buffer by a wider one
            self.buffers[j].frombytes(data)

    def _whole_row(self, row: tuple) -> tuple:
        """*row* with the trailing fields it leaves out given their defaults."""
        width = len(self.kinds)
        return row if len(row) == width else row + self.defaults[len(row) - width :]

    def _packed(self, j: int, values: Sequence) -> bytes:
        """The bytes of *values* for column *j*; a 32-bit integer column meeting a value beyond 32 bits becomes 64-bit.

        Incident numbers, priorities and counts fit in 32 bits in any run that fits in memory, so their
        columns take half the room; a value that does not (a record built by hand) widens its column,
        which then keeps every value exactly.
        """
        buffer = self.buffers[j]
        try:
            return struct.pack(f"{len(values)}{_PACKED[buffer.typecode]}", *values)
        except struct.error:
            if buffer.typecode != "i" or self.kinds[j][1] != "i":
                raise
        self.buffers[j] = array.array("q", buffer)
        return struct.pack(f"{len(values)}q", *values)

    def __len__(self) -> int:
        """Rows written so far."""
        return len(self.buffers[0]) + len(self.rows)

    def freeze(self, sort_by: str | None = None) -> RecordTable:
        """The finished columns as read-only numpy arrays (the buffers are not copied unless sorted).

        With *sort_by* (an integer field of distinct values, e.g. ``incident``), the rows are put in
        its order, and each string field's categories in order of first appearance in that order: the
        table is exactly the one that writing the rows in that order would have made.
        """
        self._flush()
        order = None
        if sort_by is not None:
            buffer = self.buffers[self.record_type._fields.index(sort_by)]
            key: np.ndarray = np.frombuffer(buffer, dtype=_DTYPES[buffer.typecode])
            if len(key) and not (key[1:] > key[:-1]).all():
                order = np.argsort(key, kind="stable")
        columns = {}
        categories = {}
        for j, ((name, kind), buffer, codes) in enumerate(zip(self.kinds, self.buffers, self.codes)):
            dtype = _DTYPES[buffer.typecode]
            column = (
                np.frombuffer(buffer, dtype=np.int8).view(np.bool_)
                if kind == "b"
                else np.frombuffer(buffer, dtype=dtype)
            )
            if len(buffer) == 0:
                column = np.zeros(0, dtype=dtype)
            names = tuple(codes) if codes is not None else None
            table = self.named.get(name)
            if table is not None:  # indices into the table: as codes of its distinct names
                column, names = _distinct(column, table)
            if order is not None:
                column = column[order]
                self.buffers[j] = array.array(_TYPECODES[kind])  # let go of the unsorted column
            if names is not None and (order is not None or table is not None):
                column, names = _recoded(column, names)
            column.flags.writeable = False
            columns[name] = column
            if names is not None:
                categories[name] = names
        return RecordTable(self.record_type, columns, categories)


def _distinct(indices: np.ndarray, table: Sequence[str]) -> tuple[np.ndarray, tuple]:
    """Indices into *table* (which may name a thing twice) as codes of its distinct names, and those names."""
    ids = {text: j for j, text in enumerate(dict.fromkeys(table))}
    canonical = np.asarray([ids[text] for text in table], dtype=indices.dtype)
    return canonical[indices], tuple(ids)


def _recoded(codes: np.ndarray, names: tuple) -> tuple[np.ndarray, tuple]:
    """Codes and categories renumbered in order of first appearance in *codes*.

    Each category's first row is found in one pass (``np.minimum.at``), not by sorting the codes: a city
    year's eleven text columns were a third of a second of sorting.
    """
    rows = len(codes)
    first = np.full(len(names), rows, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(rows))
    appear = np.flatnonzero(first < rows)
    appear = appear[np.argsort(first[appear])]
    renumber = np.zeros(len(names), dtype=codes.dtype)
    renumber[appear] = np.arange(len(appear))
    return renumber[codes], tuple(names[c] for c in appear.tolist())


class _Columns(dict):
    """Read-only columns by field name; in a selection, each is picked out of its source on first use."""

    def __init__(self, source, where=None, rows: int = 0):
        super().__init__(source if where is None else {})
        self.source, self.where = source, where
        if where is None:
            self.rows = len(next(iter(source.values()))) if source else 0
        elif isinstance(where, slice):
            self.rows = len(range(rows)[where])
        elif np.asarray(where).dtype == np.bool_:
            self.rows = int(np.count_nonzero(where))
        else:
            self.rows = len(where)

    def __missing__(self, name: str) -> np.ndarray:
        column = self.source[name][self.where]
        column.flags.writeable = False
        self[name] = column
        return column


def _as_slice(mask, rows_count: int):
    """A boolean mask true on one run of rows as that slice; any other selection as it is.

    A mask of another length than the table's *rows_count* is left as it is, so that reading it fails as before.
    """
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.ndim != 1 or len(mask) != rows_count:
        return mask
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return slice(0, 0)
    first, last = int(rows[0]), int(rows[-1])
    return slice(first, last + 1) if last - first + 1 == len(rows) else mask


class RecordTable(Sequence):
    """Records of one run as columns: a numpy array per field, strings coded (read-only).

    It is also the documented way to iterate records: ``for r in output.records`` yields the named
    tuples (:class:`IncidentRecord` or :class:`JobRecord`, same fields, same order), built a block at
    a time from the columns; ``table[i]`` is one record, ``len(table)`` their number. Statistics read
    :meth:`column`, :meth:`codes` and :meth:`categories` directly, with numpy.
    """

    BLOCK = 4096

    def __init__(self, record_type, columns: dict[str, np.ndarray], categories: dict[str, tuple]):
        self.record_type = record_type
        self._columns = _Columns(columns)
        self._categories = categories
        self._n = self._columns.rows

    @classmethod
    def from_records(cls, record_type, records: Iterable) -> RecordTable:
        """A table of records given one by one (as named tuples), e.g. built by hand in a test."""
        if isinstance(records, RecordTable):
            return records
        buffers = ColumnBuffers(record_type)
        for record in records:
            buffers.append(record)
        return buffers.freeze()

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in record order."""
        return self.record_type._fields

    def __len__(self) -> int:
        """How many records."""
        return self._n

    def is_text(self, name: str) -> bool:
        """Whether field *name* holds strings (kept as codes)."""
        return name in self._categories

    def codes(self, name: str) -> np.ndarray:
        """A string field's codes (an index into :meth:`categories`)."""
        return self._columns[name]

    def categories(self, name: str) -> tuple:
        """A string field's distinct values, in order of first appearance."""
        return self._categories[name]

    def code_of(self, name: str, value) -> int:
        """The code of *value* in string field *name* (-1 when it never occurs)."""
        try:
            return self._categories[name].index(value)
        except ValueError:
            return -1

    def column(self, name: str) -> np.ndarray:
        """A field as a read-only numpy array (strings decoded into an object array, integers as 64-bit).

        An integer field kept 32-bit (:class:`ColumnBuffers`) is read as a 64-bit copy, the type it always
        had; :meth:`stored` gives it as kept.
        """
        column = self._columns[name]
        if name in self._categories:
            column = np.asarray(self._categories[name] + (None,), dtype=object)[:-1][column]
        elif column.dtype == np.int32:
            column = column.astype(np.int64)
            column.flags.writeable = False
        return column

    def stored(self, name: str) -> np.ndarray:
        """A field as kept, read-only: floats, booleans, integers (32-bit where they fit) or a string field's codes."""
        return self._columns[name]

    def select(self, mask) -> RecordTable:
        """The rows where *mask* is true (or at the given indices, or in a slice), as a new table.

        A column of the new table is picked out of this one when it is first read, so a selection
        that reads three fields costs three fields, not all of them. A mask true on one run of rows
        (the incidents after the warm-up: records are in order of occurrence) selects a slice, whose
        columns are views, not copies: a city year's summary read about fifteen columns of its
        counted incidents, 100 MB of copies at the peak of the command's memory.
        """
        table = RecordTable(self.record_type, {}, self._categories)
        table._columns = _Columns(self._columns, _as_slice(mask, self._n), self._n)
        table._n = table._columns.rows
        return table

    def _block(self, start: int, stop: int) -> list:
        lists = []
        for name in self.record_type._fields:
            values = self._columns[name][start:stop].tolist()
            if name in self._categories:
                decode = self._categories[name]
                values = [decode[c] for c in values]
            lists.append(values)
        make = self.record_type._make
        return [make(row) for row in zip(*lists)]

    def __iter__(self) -> Iterator:
        """The records as named tuples, in order, built a block of rows at a time."""
        for start in range(0, self._n, self.BLOCK):
            yield from self._block(start, min(start + self.BLOCK, self._n))

    def __getitem__(self, index):
        """Record *index* as a named tuple (a slice gives a table of those rows)."""
        if isinstance(index, slice):
            return self.select(index)
        i = range(self._n)[index]
        return self._block(i, i + 1)[0]

    def __eq__(self, other) -> bool:
        """Same record type and the same values field by field (a stage that did not happen, NaN, equals NaN)."""
        if isinstance(other, (list, tuple)):
            other = RecordTable.from_records(self.record_type, other)
        if not isinstance(other, RecordTable):
            return NotImplemented
        if other.record_type is not self.record_type or len(other) != len(self):
            return False
        for name in self.fields:
            a, b = self.column(name), other.column(name)
            if a.dtype.kind == "f":
                if not np.array_equal(a, b, equal_nan=True):
                    return False
            elif not (a == b).all():
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        """Pickle as the columns themselves (a selection's columns picked out); read-only again when unpickled."""
        columns = {name: self._columns[name] for name in self.fields}
        return _frozen_table, (self.record_type, columns, self._categories)

    def __repr__(self) -> str:
        """The record type and the number of rows."""
        return f"RecordTable({self.record_type.__name__}, {self._n} rows)"


def _frozen_table(record_type, columns: dict[str, np.ndarray], categories: dict[str, tuple]) -> RecordTable:
    """A table of unpickled columns, made read-only."""
    for column in columns.values():
        column.flags.writeable = False
    return RecordTable(record_type, columns, categories)
