"""How a report travels from whoever found a matter to someone able to dispatch it.

Two channels, one per value of the ``information`` lever:

* :class:`ReferralChain` -- the fragmented way. The report passes from desk to desk; each
  hand-over takes working minutes that only elapse while desks are open, and a forward may go
  to the wrong department, which sends it back (a bounce). This is where half a day goes.
  Whose hours a step keeps: the last step of the chain -- the owning department's desk giving
  the job to its unit -- and the forward again after a bounce, which lands on that desk, keep
  the owning department's ``desk_hours``; the first step of a hotline report keeps the hotline
  back office's hours; every other step (and the wrong desk sending a report back) keeps the
  town's ``desk_hours``. When several departments may act, the report goes to the desk that
  would pass it on first.
* :class:`SharedChannel` -- the joint and unified way. The finder posts in a shared group; a
  centre that works round the clock decides within minutes.

Both compute a :class:`Delivery` arithmetically from the clock, with no simulated events. The
stages of the story (typed :class:`~sim.engine.trace.TraceEvent` s) are kept only when the run is
traced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import numpy as np

from sim.engine.trace import Stage, TraceEvent
from sim.scenario.calendar import OpenHours
from sim.scenario.distributions import sample, sampler
from sim.scenario.schedule import WeeklyHours
from sim.scenario.schema import InstantSpec, ReferralSpec

__all__ = ["Delivery", "ReferralChain", "SharedChannel", "channel_for"]


class Delivery(NamedTuple):
    """When a report reached someone able to act, and when a unit could be dispatched.

    Through a staffed centre the decision waits for an operator: the channel then gives the
    operator's ``handling_min`` still to come (``ready_min`` is the arrival at the centre), and the
    model turns the delivery into an event, ``ready``, that fires when a unit may be sent.
    """

    reached_min: float
    ready_min: float
    referrals: int = 0
    bounces: int = 0
    stages: tuple[TraceEvent, ...] = ()
    handling_min: float | None = None
    ready: Any = None


def delivery_of(fields: tuple) -> Delivery:
    """A :class:`Delivery` of all its *fields* in order, without the named tuple's own ``__new__`` (sooner, once per report).

    Every field must be given: a field added to :class:`Delivery` must be added where this is called.
    """
    return _tuple_new(Delivery, fields)


_tuple_new = tuple.__new__


class ReferralChain:
    """Desk-to-desk referral with office hours, hand-over times and misrouting.

    Parameters
    ----------
    spec:
        The referral chain's parameters.
    trace:
        Keep the stages (typed events) of each delivery.
    desks:
        Desk hours by department (``Scenario.desk_hours``); a department not named keeps the
        town's ``desk_hours``.
    """

    def __init__(
        self,
        spec: ReferralSpec,
        trace: bool = False,
        desks: Mapping[str, OpenHours] | None = None,
        dated: Callable[[WeeklyHours], OpenHours] = lambda hours: hours,
    ):
        self.spec = spec
        self.desk = dated(spec.desk_hours.weekly())
        self.hotline = self.desk if spec.hotline_hours is None else dated(spec.hotline_hours.weekly())
        self.desks = dict(desks or {})
        self.handover_min = sampler(spec.handover_min)
        self.trace = trace
        self._steps: dict[str, int] = dict(cast(dict[str, int], spec.steps))  # keyed by channel name
        self._owners: dict[frozenset[str], tuple[OpenHours, ...]] = {}
        self._ahead: tuple[dict, Callable[[int], np.random.Generator], bytearray, np.random.Generator, int] | None = (
            None
        )
        self._reports: tuple[np.ndarray, ...] | None = None  # each incident's report: (minute, kind, desks)
        self._expected: list[tuple[OpenHours, ...]] = []  # the desks a report goes to, by the code of its departments

    BLOCK = 4096
    """Incidents whose first hand-overs are drawn together, from a stream of their own (:meth:`draw_ahead`)."""

    ROW = 4
    """Hand-overs drawn ahead per incident, whatever the chains' lengths (a longer chain's further steps come
    from the later stream): a variant of the town with another number of steps keeps each matter's first ones."""

    KEPT = 16
    """Blocks of draws kept at once; one let go of is drawn again, the same, if a later report needs it."""

    def draw_ahead(
        self, incidents: int, block_stream: Callable[[int], np.random.Generator], later: np.random.Generator
    ) -> None:
        """Give each incident's first delivery hand-overs and a misrouting draw of its own (common random numbers).

        Incident *i*'s first delivery takes its own row of :data:`ROW` hand-overs and its own uniform for the
        misrouting test, whatever the mode and whatever came before it: those of block
        ``i // BLOCK``, drawn from ``block_stream(block)`` when a report of the block first needs them (a
        vector of rows, then a vector of uniforms). What a misrouted report draws after that, and every later
        delivery of the same matter (a sequential matter's hand-over to the next department), comes from
        *later*, in order. Drawn in order instead, a report that skips the desks in one variant of a town (its
        finder may act) would shift the draws of every report after it, and two runs would not face the same
        minutes. Only the last :data:`KEPT` blocks are kept (reports come roughly in the order of the
        incidents): a city year holds a few blocks, not a row per incident.
        """
        self._ahead = ({}, block_stream, bytearray(incidents), later, self.ROW)

    def expect_reports(
        self,
        numbers: np.ndarray,
        minutes: np.ndarray,
        sources: np.ndarray,
        names: Sequence[str | None],
        to: np.ndarray,
        tos: Sequence[frozenset[str]],
    ) -> None:
        """Learn each incident's report, to work out first deliveries ahead, a block at a time.

        *numbers*, *minutes*, *sources* (codes into *names*) and *to* (codes into *tos*, the departments
        the report would go to) give each reported incident's report. A block's first deliveries are then worked
        out on whole arrays as its hand-overs are drawn (:meth:`_block`, :meth:`_worked_out`), and
        :meth:`deliver` takes one where the report comes at that minute, through a channel of the same steps,
        to the same desks (else it works the steps out one by one: the same floats either way). Only while
        drawn ahead and untraced, with weekly desk hours (not dated ones).
        """
        hours = (self.desk, self.hotline, *self.desks.values())
        if self._ahead is None or self.trace or not all(isinstance(h, WeeklyHours) for h in hours):
            return
        kinds = np.asarray([self._kind(name) for name in names], dtype=np.int16)
        n = len(self._ahead[2])
        minute, kind, owners = np.full(n, math.nan), np.full(n, -1, dtype=np.int16), np.zeros(n, dtype=np.int16)
        minute[numbers] = minutes
        kind[numbers] = kinds[sources]
        owners[numbers] = to
        self._reports = (minute, kind, owners)
        self._expected = [self.owners(frozenset(d)) for d in tos]

    def _kind(self, source: str | None) -> int:
        """What the desks make of a report through *source* before its last: its steps, and whether a hotline's."""
        return 2 * self._steps.get(source or "", 1) + (source == "hotline")

    def _block(self, block: int) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """(hand-over rows, misrouting uniforms, first deliveries) of the incidents of *block*, drawn from its stream.

        Kept (the last :data:`KEPT` blocks). The first deliveries are :meth:`_worked_out`'s, or None.
        """
        assert self._ahead is not None  # only while drawn ahead
        blocks, block_stream, _, _, width = self._ahead
        rng = block_stream(block)
        handovers, misroutes = sample(self.spec.handover_min, rng, size=self.BLOCK * width), rng.random(self.BLOCK)
        drawn = (handovers, misroutes, self._worked_out(block, handovers, misroutes, width))
        blocks[block] = drawn
        if len(blocks) > self.KEPT:
            del blocks[next(iter(blocks))]  # the block drawn longest ago
        return drawn

    def _worked_out(self, block: int, handovers: np.ndarray, misroutes: np.ndarray, width: int) -> tuple | None:
        """The first deliveries of the incidents of *block* made at their reports (:meth:`expect_reports`).

        (report minute, kind, desks, minute at the last desk, minute reached) per incident: what
        :meth:`deliver` gives a first delivery made at the report's minute through a channel of that
        kind to those desks, with the block's draws: the same operations on the same floats
        (:meth:`WeeklyHours.add_open_minutes_many`, the earliest desk as :func:`_earliest` takes it). The
        minute at the last desk is NaN where there is no report or its steps outrun a row; the minute
        reached is NaN there and where the report is misrouted (its further draws come in order).
        """
        if self._reports is None:
            return None
        lo = block * self.BLOCK
        minute, kind, owners = (column[lo : lo + self.BLOCK] for column in self._reports)
        n = len(minute)
        rows = handovers.reshape(self.BLOCK, width)[:n]
        steps, hotline = kind >> 1, (kind & 1).astype(bool)
        worked = (kind >= 0) & (steps >= 1) & (steps <= width)
        t = minute.copy()
        desk, first_desk = cast(WeeklyHours, self.desk), cast(WeeklyHours, self.hotline)
        for k in range(width - 1):
            handed = worked & (steps - 1 > k)
            if not handed.any():
                break
            for hours, these in (
                ((first_desk, handed & hotline), (desk, handed & ~hotline)) if k == 0 else ((desk, handed),)
            ):
                at = np.flatnonzero(these)
                t[at] = hours.add_open_minutes_many(t[at], rows[at, k])
        t[~worked] = math.nan
        reached = np.full(n, math.nan)
        last = rows[np.arange(n), np.clip(steps - 1, 0, width - 1)]
        kept = worked & ~(misroutes[:n] < self.spec.misroute_probability)
        for code, desks in enumerate(self._expected):
            at = np.flatnonzero(kept & (owners == code))
            if at.size:
                ends = [cast(WeeklyHours, d).add_open_minutes_many(t[at], last[at]) for d in desks]
                reached[at] = ends[0] if len(ends) == 1 else np.minimum.reduce(ends)
        return minute, kind, owners, t, reached

    def let_go(self) -> None:
        """Drop the minutes drawn ahead (the run is over)."""
        self._ahead = None
        self._reports = None

    def owners(self, to: frozenset[str]) -> tuple[OpenHours, ...]:
        """The distinct desk hours of the departments in *to* (the town's desk when *to* is empty).

        Made once per set of departments: a run asks for the same few sets on every delivery.
        """
        owners = self._owners.get(to)
        if owners is None:
            distinct = {id(desk): desk for desk in (self.desks.get(d, self.desk) for d in sorted(to))}
            owners = self._owners[to] = tuple(distinct.values()) or (self.desk,)
        return owners

    def deliver(
        self, now: float, source: str, rng: np.random.Generator, to: frozenset[str] = frozenset(), incident: int = -1
    ) -> Delivery:
        """Pass a report found through channel *source* (or ``coordination``) to the desk of a department in *to*.

        With *to* empty (a report for the grid, or for several departments at once) the last step
        keeps the town's desk hours. The hand-overs of *incident*'s first delivery
        and its first misrouting draw are those drawn ahead (:meth:`draw_ahead`), if they were; every other
        draw comes from *rng* (or, drawn ahead, from the later stream) in order.
        """
        steps = self._steps.get(source, 1)
        owners = self._owners.get(to) or self.owners(to)
        handover, trace = self.handover_min, self.trace
        ahead = self._ahead
        row = last = -1  # the first delivery's hand-overs: items row..last-1 of its block's draws (none: in order)
        t, worked = now, 0  # worked: the steps before the last already worked out ahead (_worked_out)
        if ahead is not None:
            blocks, _, posted, rng, width = ahead
            if incident >= 0 and not posted[incident]:
                posted[incident] = 1
                block, j = divmod(incident, self.BLOCK)
                handovers, misroutes, reports = blocks.get(block) or self._block(block)
                # the report worked out ahead: at this minute, through a channel of these steps (_kind, with the
                # steps already looked up), to these desks
                # (arrays read an item at a time: as lists, the 16 blocks kept would hold 10 MB more of a city's year)
                if (
                    reports is not None
                    and now == reports[0].item(j)
                    and reports[1].item(j) == 2 * steps + (source == "hotline")
                ):
                    if (reached := reports[4].item(j)) == reached and owners is self._expected[reports[2].item(j)]:
                        return delivery_of((reached, reached, steps, 0, (), None, None))  # worked out, not misrouted
                    if (before := reports[3].item(j)) == before:  # NaN: not worked out (a chain longer than a row)
                        t, worked = before, steps - 1
                row, last = j * width, j * width + width  # a chain longer than a row: its further steps in order
        stages: list[TraceEvent] = []
        for k in range(worked, steps - 1):
            minutes = handovers.item(row + k) if row + k < last else handover(rng)
            t = (self.hotline if k == 0 and source == "hotline" else self.desk).add_open_minutes(t, minutes)
            if trace:
                stages.append(TraceEvent(t, Stage.HANDED_OVER, step=k + 1, steps=steps))
        if steps:
            k = steps - 1
            t = _earliest(owners, t, handovers.item(row + k) if row + k < last else handover(rng))
            if trace:
                stages.append(TraceEvent(t, Stage.HANDED_OVER, step=steps, steps=steps))
        bounces, misroute = 0, self.spec.misroute_probability
        if steps and row >= 0:  # the first misrouting draw was drawn ahead; any further come in order
            if not misroutes.item(j) < misroute:  # most reports: Delivery(t, t, steps, 0, stages), sooner
                return delivery_of((t, t, steps, 0, tuple(stages) if stages else (), None, None))
            sent_back = self.desk.add_open_minutes(t, handover(rng))
            t = _earliest(owners, sent_back, handover(rng))
            bounces += 1
            if trace:
                stages += [TraceEvent(sent_back, Stage.SENT_BACK), TraceEvent(t, Stage.FORWARDED_AGAIN)]
        while steps and rng.random() < misroute:
            sent_back = self.desk.add_open_minutes(t, handover(rng))
            t = _earliest(owners, sent_back, handover(rng))
            bounces += 1
            if trace:
                stages += [TraceEvent(sent_back, Stage.SENT_BACK), TraceEvent(t, Stage.FORWARDED_AGAIN)]
        return Delivery(t, t, steps + 2 * bounces, bounces, tuple(stages))


def _earliest(owners: tuple[OpenHours, ...], t: float, minutes: float) -> float:
    """The earliest end of *minutes* of open time after *t* at any of the *owners*' desks."""
    if len(owners) == 1:
        return owners[0].add_open_minutes(t, minutes)
    return min(desk.add_open_minutes(t, minutes) for desk in owners)


class SharedChannel:
    """A post in the shared group, read by a command centre that dispatches."""

    def __init__(self, spec: InstantSpec, trace: bool = False):
        self.spec = spec
        self.centre = spec.centre_hours.weekly()
        self.report_min = sampler(spec.report_min)
        self.centre_min = sampler(spec.centre_min)
        self.staffed = spec.operators is not None
        self.trace = trace
        self._ahead: tuple[np.ndarray, np.ndarray | None, bytearray, np.random.Generator] | None = None

    def draw_ahead(
        self, incidents: int, rng: np.random.Generator, later: np.random.Generator, decisions: bool = True
    ) -> None:
        """Draw every incident's posting and decision minutes before the run: the same in every mode.

        Incident *i*'s first delivery takes the *i*-th of each (the postings first, then the
        decisions, one vector each from *rng*), whatever the mode and whatever came before it; a later
        delivery of the same matter (the hand-over to the next department of a sequential matter) draws
        both from *later*, in order. Drawn in order instead, a
        report that skips the channel in one mode (its finder may act) would shift the draws of every
        report after it, and the modes would not face the same minutes (common random numbers).

        Without *decisions* (centres at levels, each with handling of its own) the decisions are not
        drawn ahead: a first delivery's ``handling_min`` is then NaN, read by nobody.
        """
        report = sample(self.spec.report_min, rng, size=incidents)
        centre = sample(self.spec.centre_min, rng, size=incidents) if decisions else None
        self._ahead = (report, centre, bytearray(incidents), later)

    def let_go(self) -> None:
        """Drop the minutes drawn ahead (the run is over)."""
        self._ahead = None

    def _minutes(self, rng: np.random.Generator, incident: int) -> tuple[float, float]:
        """(posting, decision) minutes of a delivery of *incident*: drawn ahead for its first, else in order."""
        ahead = self._ahead
        if ahead is not None:
            report, centre, posted, later = ahead
            if incident >= 0 and not posted[incident]:
                posted[incident] = 1
                return report.item(incident), math.nan if centre is None else centre.item(incident)
            rng = later
        return self.report_min(rng), self.centre_min(rng)

    def deliver(
        self, now: float, source: str, rng: np.random.Generator, to: frozenset[str] = frozenset(), incident: int = -1
    ) -> Delivery:
        """Post the report, then let the centre decide once it is open (whoever it is for).

        With a staffed centre the same draws are made, and the decision is left to an operator:
        the delivery carries the handling time (``handling_min``) instead of a decision minute.
        The minutes of *incident*'s first delivery are those drawn ahead (:meth:`draw_ahead`), if they were.
        """
        report_min, handling = self._minutes(rng, incident)
        reached = now + report_min
        if self.staffed:
            if not self.trace:
                return delivery_of((reached, reached, 0, 0, (), handling, None))  # Delivery(..., handling_min=), sooner
            return Delivery(reached, reached, stages=(TraceEvent(reached, Stage.POSTED),), handling_min=handling)
        ready = (reached if self.centre.is_always else self.centre.next_open(reached)) + handling
        if not self.trace:
            return delivery_of((reached, ready, 0, 0, (), None, None))  # Delivery(reached, ready), sooner
        return Delivery(
            reached, ready, stages=(TraceEvent(reached, Stage.POSTED), TraceEvent(ready, Stage.CENTRE_DECIDES))
        )


_CHANNELS = {"referral": (ReferralChain, "referral"), "instant": (SharedChannel, "instant")}


def channel_for(
    information: str,
    governance,
    trace: bool = False,
    desks: Mapping[str, OpenHours] | None = None,
    dated: Callable[[WeeklyHours], OpenHours] = lambda hours: hours,
) -> ReferralChain | SharedChannel:
    """The channel object for a value of the ``information`` lever (writing stages if *trace*).

    *desks* gives departments' own desk hours to the referral chain; *dated* turns weekly desk
    hours into the run's dated hours (holidays, summer hours: ``Scenario.desk_calendar``).
    """
    if information == "referral":
        return ReferralChain(governance.referral, trace, desks, dated)
    cls, attribute = _CHANNELS[information]
    return cls(getattr(governance, attribute), trace)
