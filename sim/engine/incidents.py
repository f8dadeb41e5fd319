"""Incidents: when and where matters occur, and how soon each channel would report them.

All of an incident's randomness that does not depend on the way of working is drawn here,
up front, from the run's incident streams: the occurrence time (a non-homogeneous Poisson
process with a 24-hour profile), the patch, the on-scene work of each part, and the time each
detection channel would report it. Every mode replays the same :class:`IncidentSet`, which is
what makes the comparison one of common random numbers (as JEMSS replays one call set under
every dispatch policy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.detection import ChannelRequest, check_reports
from sim.engine.patrol import PatrolCoverage
from sim.engine.rounds import RouteRounds
from sim.engine.territory import Town
from sim.engine.trace import Stage, TraceEvent
from sim.registry import resolve
from sim.scenario.distributions import sample
from sim.scenario.governance import parts_of
from sim.scenario.schedule import MINUTES_PER_WEEK, WeeklyHours
from sim.scenario.schema import CHANNELS, Scenario

__all__ = ["IncidentSet", "ServiceRows", "generate_incidents", "IncidentState", "LAYER_NAMES", "GRID", "TOWN", "CITY"]


class ServiceRows(Sequence):
    """The on-scene work per part of every incident: ``rows[i]`` is incident *i*'s, a tuple of floats.

    Most matters have one part, so the first part of every incident is one array (``first``), and only
    the incidents of more parts keep the rest (``rest``, a row each, in incident order, as wide as the
    type with most parts; ``multi`` gives their incident numbers), with the number of parts of each
    (``parts``, one byte). A city year holds about a million incidents: a tuple of floats each would cost
    about ten times as much, and a row as wide as the widest type for every incident twice as much.
    """

    __slots__ = ("first", "multi", "parts", "rest")

    def __init__(self, first: np.ndarray, parts: np.ndarray, multi: np.ndarray, rest: np.ndarray) -> None:
        self.first, self.parts, self.multi, self.rest = first, parts, multi, rest

    @classmethod
    def of_minutes(cls, minutes: np.ndarray, parts: np.ndarray) -> ServiceRows:
        """Rows of a matrix (a row per incident, the first *parts* of each used)."""
        minutes = np.asarray(minutes, dtype=float)
        parts = np.asarray(parts, dtype=np.int8)
        first = minutes[:, 0].copy() if minutes.shape[1] else np.zeros(len(parts))
        multi = np.flatnonzero(parts > 1)
        return cls(first, parts, multi, minutes[multi, 1:])

    @classmethod
    def of_blocks(cls, blocks: Iterable[np.ndarray]) -> ServiceRows:
        """Rows of blocks of shape (incidents, parts), one after another (blocks may differ in parts)."""
        arrays = [np.asarray(block, dtype=float) for block in blocks]
        blocks = [block.reshape(len(block), -1) for block in arrays if len(block)]  # a type with no incidents adds none
        width = max((block.shape[1] for block in blocks), default=0)
        minutes = np.zeros((sum(len(block) for block in blocks), width))
        parts = np.zeros(len(minutes), dtype=np.int8)  # a type has a few parts (one per department it needs)
        start = 0
        for block in blocks:
            minutes[start : start + len(block), : block.shape[1]] = block
            parts[start : start + len(block)] = block.shape[1]
            start += len(block)
        return cls.of_minutes(minutes, parts)

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence[float]]) -> ServiceRows:
        """Rows given one by one (tuples of floats)."""
        return cls.of_blocks([np.asarray([row], dtype=float) for row in rows])

    @property
    def minutes(self) -> np.ndarray:
        """Every row as one matrix, as wide as the widest (parts beyond a row's own are 0): made on demand."""
        out = np.zeros((len(self.parts), self.rest.shape[1] + 1))
        out[:, 0] = self.first
        out[self.multi, 1:] = self.rest
        return out

    def take(self, index) -> ServiceRows:
        """The rows at *index* (indices or a boolean mask), in that order."""
        index = np.asarray(index)
        numbers = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64, copy=False)
        parts = self.parts[numbers]
        kept = np.flatnonzero(parts > 1)
        rest = self.rest[np.searchsorted(self.multi, numbers[kept])]
        return ServiceRows(self.first[numbers], parts, kept, rest)

    def rows_of(self, numbers: np.ndarray) -> list[tuple[float, ...]]:
        """The rows of incidents *numbers* (an array), as tuples of floats: a block at a time, the same as ``rows[i]``."""
        parts = self.parts[numbers]
        first = self.first[numbers].tolist()
        rows: list[tuple[float, ...]] = [(minutes,) for minutes in first]
        others = np.flatnonzero(parts != 1)
        if len(others):  # the rows of several parts (or none) at once: their rest looked up in one search
            numbers = np.asarray(numbers)[others]
            at = np.searchsorted(self.multi, numbers)
            rest = self.rest[np.minimum(at, len(self.multi) - 1)].tolist() if len(self.multi) else [[]] * len(at)
            for j, n, more in zip(others.tolist(), parts[others].tolist(), rest):
                rows[j] = (first[j], *more[: n - 1]) if n else ()
        return rows

    def __add__(self, other: ServiceRows) -> ServiceRows:
        """These rows, then *other*'s."""
        width = max(self.rest.shape[1], other.rest.shape[1])
        rest = np.zeros((len(self.multi) + len(other.multi), width))
        rest[: len(self.multi), : self.rest.shape[1]] = self.rest
        rest[len(self.multi) :, : other.rest.shape[1]] = other.rest
        return ServiceRows(
            np.concatenate([self.first, other.first]),
            np.concatenate([self.parts, other.parts]),
            np.concatenate([self.multi, other.multi + len(self)]),
            rest,
        )

    def __len__(self) -> int:
        """The number of incidents."""
        return len(self.parts)

    def __getitem__(self, i):
        """Incident *i*'s on-scene work per part, a tuple of floats."""
        parts = int(self.parts[i])
        if parts <= 1:
            return (float(self.first[i]),) if parts else ()
        rest = self.rest[int(np.searchsorted(self.multi, i)), : parts - 1].tolist()
        return (float(self.first[i]), *rest)

    def __eq__(self, other) -> bool:
        """The same rows, value by value (rows given as a sequence of tuples compare too)."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class IncidentSet:
    """Every incident of one replication, sorted by occurrence; arrays indexed by incident number.

    Attributes
    ----------
    occurred_min:
        Occurrence times.
    type_index, patch:
        Incident type (index into ``scenario.incident_types``, 16-bit) and patch number.
    service_min:
        On-scene work per part, a tuple of floats per incident (:class:`ServiceRows`).
    channel_min:
        Shape (n, 4): when each channel of :data:`~sim.scenario.schema.CHANNELS` would first report it
        (``inf`` for never); the patrol column is the first *noticing* pass.
    finder_u, leave_u:
        Uniform draws that pick the finding patrol's department and its decision to leave.
    layer:
        The layer that can settle each matter: 0 grid, 1 town, 2 city (8-bit; drawn from the
        ``escalation`` stream, so adding layers leaves every other draw unchanged).
    rounds_min, rounds_by:
        Shape (n, len(rounds_by)): when the rounds of each department in *rounds_by* (those with
        ``rounds``, in file order) would notice each matter (``inf`` for never); drawn from the
        ``rounds`` stream. Which of them may report it depends on the mode (:meth:`first_round`).
    found_by:
        With campaigns: the campaign (index into ``scenario.campaigns``) that found each matter, -1
        for a matter of the arrival stream (:mod:`sim.engine.campaigns`); None without campaigns.
    """

    occurred_min: np.ndarray
    type_index: np.ndarray
    patch: np.ndarray
    service_min: ServiceRows
    channel_min: np.ndarray
    finder_u: np.ndarray
    leave_u: np.ndarray
    layer: np.ndarray
    rounds_min: np.ndarray | None = None
    rounds_by: tuple[str, ...] = ()
    found_by: np.ndarray | None = None

    def first_round(self, i: int, may_act: frozenset[str]) -> tuple[float, str]:
        """The first rounds find of matter *i* by a department in *may_act*: (minute, department), or (inf, "")."""
        if self.rounds_min is None:
            return math.inf, ""
        return first_of(self.rounds_by, self.rounds_min[i].tolist(), may_act)

    def __len__(self) -> int:
        """The number of incidents."""
        return len(self.occurred_min)


def first_of(rounds_by: Sequence[str], minutes: Sequence[float], may_act: frozenset[str]) -> tuple[float, str]:
    """The first of one matter's rounds finds (*minutes*, by the departments *rounds_by*) by a department in *may_act*.

    (minute, department), or (inf, "") when none of them may act.
    """
    best, by = math.inf, ""
    for name, at in zip(rounds_by, minutes):
        if at < best and name in may_act:
            best, by = at, name
    return best, by


def arrival_times(
    rate_per_day: float, profile, days: float, rng: np.random.Generator, day_factors: list[float] | None = None
) -> np.ndarray:
    """Occurrence times (minutes, sorted) of a Poisson process with a repeating 24-hour profile.

    The day is cut into hours with constant rate; each hour gets a Poisson count and uniform
    times within it, which is exact for a piecewise-constant rate. *day_factors* (one per day
    of the run, from the weekly profile and the seasons) multiply each day's rate; without them
    every day is alike (and the draws are exactly those of a flat week).
    """
    hourly = np.ones(24) if profile is None else np.asarray(profile, dtype=float)
    hourly = hourly / hourly.mean() * rate_per_day / 24.0
    hours = int(np.ceil(days * 24))
    lam = np.tile(hourly, hours // 24 + 1)[:hours]
    if day_factors is not None:
        lam = lam * np.repeat(np.asarray(day_factors, dtype=float), 24)[:hours]
    last = days * 24 - (hours - 1)
    lam[-1] *= last
    counts = rng.poisson(lam)
    starts = np.repeat(np.arange(hours) * 60.0, counts)
    widths = np.where(np.arange(hours) == hours - 1, last * 60.0, 60.0)
    times = starts + rng.random(counts.sum()) * np.repeat(widths, counts)
    return np.sort(times)


def generate_incidents(scenario: Scenario, town: Town, coverage: PatrolCoverage, streams) -> IncidentSet:
    """Draw the replication's incidents from the ``arrivals``, ``detection``, ``service`` and ``rounds`` streams."""
    horizon_days = scenario.days
    rounds = RouteRounds(scenario, town, streams.rounds)
    chunks = []
    for k, itype in enumerate(scenario.incident_types):
        factors = scenario.day_factors(itype, int(np.ceil(horizon_days)))
        times = arrival_times(itype.rate_per_day, itype.profile, horizon_days, streams.arrivals, factors)
        patch = streams.arrivals.choice(town.size, size=len(times), p=town.weights)
        service = [sample(itype.service_min, streams.service, len(times)) for _ in parts_of(itype)]
        hours = {name: scenario.channel_hours(itype, name).weekly() for name in CHANNELS[1:]}
        channels = _detect(itype.detection, hours, times, town.sector[patch], coverage, streams.detection)
        _plugged_channels(itype, k, channels, times, patch, town, hours, streams)
        if town.camera_view is not None:  # the same draws, kept only where a camera sees the patch
            channels[~town.camera_view[patch], CAMERA] = np.inf
        finder_u = streams.detection.random(len(times))
        leave_u = streams.detection.random(len(times))
        layer = _layers(itype.escalation, len(times), scenario.grid_management is not None, streams.escalation)
        found = rounds.detect(itype.name, times, patch)
        types = np.full(len(times), k, TYPE_DTYPE)
        chunks.append((times, types, patch, np.column_stack(service), channels, finder_u, leave_u, layer, found))
    return _joined_in_order(chunks, rounds.departments)


def _joined_in_order(chunks: list[tuple], rounds_by: tuple[str, ...]) -> IncidentSet:
    """The incident types' blocks (one tuple of fields each) as one set sorted by occurrence (stable).

    Field by field, each field's blocks let go of as soon as they are joined, so the peak holds one
    field twice, not every field (the heap keeps what a peak took: it sets the run's memory).
    """
    fields = [list(column) for column in zip(*chunks)]
    chunks.clear()
    sort = np.argsort(np.concatenate(fields[0]), kind="stable")
    order = None if np.array_equal(sort, np.arange(len(sort))) else sort  # None: already in order (one type)

    def joined(f: int) -> np.ndarray:
        blocks, fields[f] = fields[f], []
        whole = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        del blocks
        return whole if order is None else whole[order]

    occurred, types, patches = joined(0), joined(1), joined(2)
    service = ServiceRows.of_blocks(fields[3])
    fields[3] = []
    return IncidentSet(
        occurred_min=occurred,
        type_index=types,
        patch=patches,
        service_min=service if order is None else service.take(order),
        channel_min=joined(4),
        finder_u=joined(5),
        leave_u=joined(6),
        layer=joined(7),
        rounds_min=joined(8),
        rounds_by=rounds_by,
    )


CAMERA = CHANNELS.index("camera")
"""The camera channel's column of :attr:`IncidentSet.channel_min`."""

GRID, TOWN, CITY = 0, 1, 2
LAYER_NAMES = ("grid", "town", "city")

TYPE_DTYPE, LAYER_DTYPE = np.int16, np.int8
"""The types of :attr:`IncidentSet.type_index` and :attr:`IncidentSet.layer`: a scenario has a few incident types
and three layers, and a city year's arrays are held to the run's end, where its peak memory is (11 MB less
than 64-bit ones)."""


def _layers(escalation, n: int, has_grid_management: bool, rng) -> np.ndarray:
    """Which layer settles each matter; without grid management every matter is the town's."""
    u = rng.random(n)
    if not has_grid_management:
        return np.full(n, TOWN, LAYER_DTYPE)
    return np.where(u < escalation.grid, GRID, np.where(u >= 1.0 - escalation.city, CITY, TOWN)).astype(LAYER_DTYPE)


def _detect(detection, hours_of, times, sector, coverage: PatrolCoverage, rng) -> np.ndarray:
    """When each channel would report each matter; drawn in a fixed order so streams stay aligned.

    A channel reports only while the people behind it work (*hours_of*, by channel name): a
    report that would fall outside their hours is made when they next come on duty.
    """
    n = len(times)
    out = np.empty((n, len(CHANNELS)))
    out[:, 0] = coverage.first_notice(sector, times, rng.exponential(1.0, n), detection.patrol.notice_probability)
    for j, name in enumerate(CHANNELS[1:], start=1):
        spec = getattr(detection, name)
        fires = rng.random(n) < spec.probability
        at = times + sample(spec.delay_min, rng, n)
        hours = hours_of[name]
        if not hours.is_always and fires.any():
            at[fires] = next_open(hours, at[fires])
        out[:, j] = np.where(fires, at, np.inf)
    return out


def next_open(hours: WeeklyHours, times: np.ndarray) -> np.ndarray:
    """:meth:`WeeklyHours.next_open` of each of *times*, on the whole array: the same numbers.

    The same arithmetic in the same order (the week and the offset in it by ``divmod``, the window
    by ``bisect_right``), done by numpy: a city year's reports outside the grid workers' hours were
    600,000 calls. Hours of any other kind are asked one time at a time.
    """
    if type(hours) is not WeeklyHours or not hours.starts:
        return np.asarray([hours.next_open(t) for t in times.tolist()], dtype=float)
    starts, ends = np.asarray(hours.starts), np.asarray(hours.ends)
    week, offset = np.divmod(times, MINUTES_PER_WEEK)
    base = week * MINUTES_PER_WEEK
    i = np.searchsorted(starts, offset, side="right") - 1
    is_open = (i >= 0) & (offset < ends[np.maximum(i, 0)])
    later = np.where(i + 1 < len(starts), base + starts[np.minimum(i + 1, len(starts) - 1)], np.nan)
    wrapped = base + MINUTES_PER_WEEK + starts[0]
    return np.where(is_open, times, np.where(i + 1 < len(starts), later, wrapped))


def _plugged_channels(itype, k: int, out: np.ndarray, times, patch, town: Town, hours_of, streams) -> None:
    """Replace the column of each channel with a ``draw`` by that draw's reports (:mod:`sim.engine.detection`).

    Each draw has a generator of its own (``channels`` stream, key: type *k*, channel), so the
    other columns and every other stream are exactly what they are without it.
    """
    for j, name in enumerate(CHANNELS[1:], start=1):
        spec = getattr(itype.detection, name)
        if spec.draw is None:
            continue
        xy = np.asarray(town.centres, dtype=float).reshape(-1, 2)[patch]
        request = ChannelRequest(
            name, itype.name, times, patch, xy[:, 0], xy[:, 1], spec.probability, spec.delay_min,
            dict(spec.options), streams.child("channels", k, j),
        )  # fmt: skip
        at = check_reports(spec.draw, resolve("detection_channels", spec.draw).obj(request), times)
        hours = hours_of[name]
        fires = np.isfinite(at)
        if not hours.is_always and fires.any():
            at[fires] = next_open(hours, at[fires])
        out[:, j] = at


@dataclass(eq=False, slots=True)
class IncidentState:
    """One incident's progress during a run; turned into a record once, at the end.

    The model makes one per matter with its first nine fields given in order (positional arguments
    are matched sooner than keywords among this many fields).
    """

    number: int
    type_name: str
    patch: int
    priority: int
    occurred_min: float
    type_index: int = 0  # the matter's type (index into the scenario's incident types)
    layer: int = 1  # who may settle it: GRID, TOWN or CITY
    natural_end_min: float = math.inf  # when the matter ends by itself if nobody is on scene before
    service: tuple[float, ...] = ()  # on-scene work per part (the row of IncidentSet.service_min)
    detected_min: float = np.nan
    channel: str = ""
    finder: str = ""
    reached_min: float = np.nan
    dispatched_min: float = np.nan
    on_scene_min: float = np.nan
    resolved_min: float = np.nan
    departments: list = field(default_factory=list)
    units: list = field(default_factory=list)
    referrals: int = 0
    bounces: int = 0
    seen_not_handled: int = 0
    escalated: bool = False
    closed_min: float = np.nan
    on_the_spot: bool = False
    duplicate_visits: int = 0
    left_by_all: bool = False
    follow_ups: int = 0
    ended_min: float = np.nan
    duplicates_decided: bool = False
    trace: list[TraceEvent] | None = None
    reopened: int = 0
    holds: int = 0  # pieces of work still running on the matter (the model writes the record after the last)

    def note(self, at: float, stage: Stage, **detail: Any) -> None:
        """Add a stage to the incident's story when it is being traced.

        Parameters
        ----------
        at:
            Minute of the stage.
        stage:
            What happened.
        **detail:
            The department, unit, channel or hand-over step involved (see :class:`TraceEvent`).
        """
        if self.trace is not None:
            self.trace.append(TraceEvent(float(at), stage, **detail))

    def keep(self, events) -> None:
        """Add already built events (a channel's or the closed loop's) when traced."""
        if self.trace is not None:
            self.trace.extend(events)

    def first(self, attribute: str, now: float) -> None:
        """Set a timestamp the first time it happens (several units may arrive, only the first counts)."""
        if np.isnan(getattr(self, attribute)):
            setattr(self, attribute, now)
