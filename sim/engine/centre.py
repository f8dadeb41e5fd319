"""The command centre as a resource with people: operators, a handling time per report, a queue.

A staffed centre (``governance.instant.operators``) has a number of operators on duty that
follows their shift (within the centre's hours). Each operator handles one report at a time; a
report that arrives while every operator on duty is busy waits in one queue, served in order of
the incident's priority (lower number first) and then first come, first served (or strictly
first come, first served with ``queue: fifo``). Operators are never interrupted: one whose
shift ends finishes the report in hand, and nobody starts a new one until the count on duty
allows it. Reports that wait when the centre closes are taken when it opens again.

An unstaffed centre (``operators: null``) is not built at all: the shared channel then computes
the decision as a fixed delay after opening (:class:`sim.engine.channel.SharedChannel`).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Callable

import simpy
from simpy.events import NORMAL

from sim.engine.clock import Clock
from sim.scenario.centres import operators_on_duty
from sim.scenario.schema import CentreSpec, InstantSpec

__all__ = ["Centre", "CENTRE", "operators_on_duty"]

CENTRE = "command_centre"
"""The name under which the centre's operators appear in utilisation."""


class Centre:
    """Operators taking reports from one queue.

    Parameters
    ----------
    env:
        The simulation's clock (operators' handling ends are timed calls on it).
    spec:
        The shared channel's spec, or one centre of several levels, with ``operators`` given.
    end_min:
        When the run ends (no shift changes are scheduled after it).
    window:
        (start, end) of the measured period, for busy operator-minutes.
    """

    def __init__(self, env: Clock, spec: InstantSpec | CentreSpec, end_min: float, window: tuple[float, float]):
        self.env = env
        self.on_duty = operators_on_duty(spec)
        self.by_priority = spec.queue == "priority"
        self.end_min = end_min
        self.window = window
        self.waiting: list[tuple[int, float, int, float, Callable[[float], object]]] = []
        self.busy = 0
        self.busy_min = 0.0
        self._order = itertools.count()
        self._capacity, self._capacity_until = 0.0, -math.inf  # the count on duty, valid until its next change
        if self.on_duty.next_change(env.now) < end_min:  # a count that never changes needs no wake-ups
            self._follow_shifts()

    def take(self, priority: int, handling_min: float) -> simpy.Event:
        """A report arrives now and needs *handling_min* of an operator's time.

        Returns an event that succeeds when an operator has finished with it; its value is the
        minute the operator started (so the wait is ``start - arrival``).
        """
        done = self.env.event()
        self.take_then(priority, handling_min, done.succeed)
        return done

    def take_then(self, priority: int, handling_min: float, then: Callable[[float], object]) -> None:
        """As :meth:`take`, without an event: ``then(start)`` is called when the operator has finished.

        The operator set free first takes the next waiting report, then *then* is called. A report
        that finds the queue empty and an operator free starts at once, without going through the
        queue (it would be the only one in it).
        """
        now = self.env._now
        if not self.waiting and self.busy < (self._capacity if now < self._capacity_until else self._on_duty(now)):
            self._start(now, handling_min, then)
            return
        key = priority if self.by_priority else 0
        heapq.heappush(self.waiting, (key, now, next(self._order), handling_min, then))
        self._serve()

    def on_duty_min(self, start: float, end: float) -> float:
        """Operator-minutes on duty in [start, end]."""
        return self.on_duty.integral(start, end)

    def _on_duty(self, now: float) -> float:
        """The count on duty at *now*: the schedule is read again only once its next change has come."""
        if now >= self._capacity_until:
            self._capacity = self.on_duty.value(now)
            self._capacity_until = self.on_duty.next_change(now)
        return self._capacity

    def _serve(self) -> None:
        """Give waiting reports to free operators, best first."""
        now = self.env._now
        capacity = self._on_duty(now)
        waiting = self.waiting
        while waiting and self.busy < capacity:
            _, _, _, minutes, then = heapq.heappop(waiting)
            self._start(now, minutes, then)

    def _start(self, now: float, minutes: float, then: Callable[[float], object]) -> None:
        """An operator starts a report of *minutes* now; :meth:`_finish` runs when it is done."""
        self.busy += 1
        low, high = self.window
        end = now + minutes
        busy = (end if end < high else high) - (now if now > low else low)  # the part within the window
        if busy > 0.0:
            self.busy_min += busy
        if minutes < 0:
            raise ValueError(f"Negative delay {minutes}")  # as Clock.call_in, inlined below (once per report)
        env = self.env
        heapq.heappush(env._queue, (end, NORMAL, next(env._eid), (functools.partial(self._finish, then, now),)))  # type: ignore[misc]

    def _finish(self, then: Callable[[float], object], start: float, _call: None) -> None:
        """The operator is free: the next waiting report first (if any), then the finished one's *then*."""
        self.busy -= 1
        if self.waiting:
            self._serve()
        then(start)

    def _follow_shifts(self) -> None:
        """Wake at every change of the count on duty, so that operators coming on take waiting reports.

        A chain of timed calls, one per change, not a process: it starts with an urgent event at
        the present minute, where a process would have started, so every event keeps its place in the
        order of events (ties at a change are common: shifts change on the hour).
        """
        start = simpy.Event(self.env)
        start._ok, start._value = True, None  # succeeded, scheduled below as a process's start would be
        start.callbacks.append(self._next_shift)
        self.env.schedule(start, simpy.core.URGENT)

    def _shift_change(self, _event: simpy.Event | None) -> None:
        """The count on duty changes now: operators coming on take waiting reports; wait for the next change."""
        if self.waiting:
            self._serve()
        self._next_shift(_event)

    def _next_shift(self, _event: simpy.Event | None) -> None:
        """Wake again at the next change of the count on duty, if it comes before the end of the run."""
        env = self.env
        change = self.on_duty.next_change(env._now)
        if change < self.end_min:
            env.call_in(change - env._now, self._shift_change)
