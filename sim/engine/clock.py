"""The simulation's clock: SimPy's environment that also runs *timed calls* on its own event queue.

Most of a run's events are a timeout that one callback waits on and nothing else refers to: a unit's
job, an operator's handling, a report's wait for its minute. SimPy makes each of them an event object,
schedules it, and when it comes walks its list of callbacks. A timed call (:meth:`Clock.call_in`) puts
only ``(minute, NORMAL, id, (callback,))`` on the same queue, with the id SimPy's next event would have
taken, so it has exactly the place in the order of events that the timeout would have had (SimPy orders
by minute, then priority, then id); when it comes, the callback is called with ``None`` where a SimPy
callback gets the event. A *task* (:meth:`Clock.start`) is a generator run as SimPy runs a process, its
start and end timed calls where the process's start and end events would have been, with no process
object made. Everything else (events that several wait on, conditions) stays a SimPy event and runs as
:meth:`simpy.Environment.step` runs it.

:meth:`Clock.run` with a minute is SimPy's :meth:`simpy.Environment.run` with the step written into its
loop: the same stop (an urgent entry at that minute, scheduled when the run starts), the same failure of
an event nobody defused. ``tests/engine/test_clock.py`` checks the order of events against SimPy's. One
difference: SimPy leaves the spent stop event in its queue, so right after ``run(until=t)`` its
:meth:`~simpy.Environment.peek` says *t* and one :meth:`~simpy.Environment.step` runs nothing; the clock
takes its stop out, so ``peek`` gives the next real entry and ``step`` runs it (a run resumed with
``run(until=...)`` is the same in both).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import Any, cast

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, EventPriority

Callback = Callable[[Any], object]


def _stop(_: object) -> None:
    """The end of :meth:`Clock.run`'s horizon, reached through :meth:`Clock.step` (``run(until=event)``)."""
    raise StopSimulation(None)


_STOP = (_stop,)
_AFTER_STOP = EventPriority(-1)  # where SimPy puts an event whose callbacks a stop cut short


class Clock(simpy.Environment):
    """A SimPy environment whose queue also holds timed calls (:meth:`call_in`, :meth:`call_at`).

    Components of the engine that schedule timed calls need this environment (a plain
    :class:`simpy.Environment` cannot run them); SimPy's events and processes run in it unchanged.
    """

    def call_in(self, delay: float, callback: Callback) -> None:
        """Call ``callback(None)`` *delay* minutes from now, where ``Timeout(delay)`` would have fired.

        A negative delay is refused, as by :class:`simpy.Timeout` (a plugged rule's travel minutes reach here).
        """
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), (callback,)))  # type: ignore[misc]

    def call_at(self, moment: float, callback: Callback) -> None:
        """Call ``callback(None)`` at clock time *moment* (now, if it has passed through rounding).

        The minute is reached as a timeout of ``max(0, moment - now)`` reaches it, to the last bit.
        """
        now = self._now
        delay = moment - now
        heappush(self._queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(self._eid), (callback,)))  # type: ignore[misc]

    def call_first(self, callback: Callback) -> None:
        """Call ``callback(None)`` now, before the normal events already due now: where a process's start would run.

        SimPy starts a process with an urgent event at the present minute (``Initialize``); this takes its place
        (urgent entries already due now, such as the end of a run, still come first).
        """
        heappush(self._queue, (self._now, URGENT, next(self._eid), (callback,)))  # type: ignore[misc]

    def start(self, generator: Generator[simpy.Event, Any, Any], then: Callback | None = None) -> None:
        """Run *generator* as :meth:`simpy.Environment.process` would, with no process object.

        It starts where the process would (:meth:`call_first`), waits on each event it yields as the process
        would (an event already processed gives its value at once; a failed one is thrown into it), and when it
        returns, ``then(None)`` is called where the process's end would have fired (a timed call of no delay).
        Nothing else can wait on a task, and an exception it raises stops the run at once.
        """
        _Task(self, generator, then).start()

    def drive(self, generator: Generator[simpy.Event, Any, Any], then: Callable[[], object]) -> None:
        """Run *generator* now, as a process runs a generator it yields from: at once, then ``then()`` at its return.

        The part of a task's work that is a generator (follow-up visits after a callback chain's job) goes on
        in the same place in the order of events as ``yield from`` in the process would; ``then()`` is called
        as soon as it returns, as the code after the ``yield from`` would run.
        """
        _Task(self, generator, then, at_once=True)._resume(None)

    def step(self) -> None:
        """Process the next entry: a timed call, or a SimPy event as :meth:`simpy.Environment.step` does."""
        try:
            self._now, _, _, event = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        if type(event) is tuple:
            event[0](None)
            return
        _process(self, event)

    def run(self, until: Any = None) -> Any:
        """Run until the minute *until* (as :meth:`simpy.Environment.run`), timed calls included.

        With an event or nothing to run until, SimPy's own loop runs (through :meth:`step`).
        """
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        queue = _entries(self)
        heappush(queue, (self._now + (at - self._now), URGENT, next(self._eid), _STOP))
        try:
            while queue:
                self._now, _, _, event = heappop(queue)
                if type(event) is tuple:
                    if event is _STOP:
                        return None
                    event[0](None)
                    continue
                callbacks, event.callbacks = event.callbacks, None  # _process inlined: once per event
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    _crash(event)
        except StopSimulation as stop:  # a callback stopped the run (as in SimPy's loop)
            if type(event) is not tuple:
                event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                self.schedule(event, _AFTER_STOP)
            return stop.args[0]
        raise RuntimeError(f'No scheduled events left but "until" ({at}) was not reached')  # pragma: no cover


class _Task:
    """A generator driven as :class:`simpy.Process` drives it (:meth:`Clock.start`)."""

    __slots__ = ("at_once", "env", "generator", "then")

    def __init__(self, env: Clock, generator: Generator[simpy.Event, Any, Any], then, at_once: bool = False):
        self.env, self.generator, self.then, self.at_once = env, generator, then, at_once

    def start(self) -> None:
        """Start where a process would (:meth:`Clock.call_first`)."""
        self.env.call_first(self._resume)

    def _resume(self, event: simpy.Event | None) -> None:
        """Go on with *event*'s value (None at the start) until the generator waits on an event or returns."""
        generator = self.generator
        while True:
            try:
                if event is None:
                    event = generator.send(None)
                elif event._ok:
                    event = generator.send(event._value)
                else:  # as simpy.Process: the task handles the failed event, or fails with it
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = generator.throw(exc)
            except StopIteration:
                if self.at_once:  # driven (Clock.drive): go on at once
                    self.then()
                elif self.then is not None:  # else nothing: an entry nobody waits on changes no other's order
                    self.env.call_in(0.0, self.then)
                return
            if event.callbacks is not None:
                event.callbacks.append(self._resume)
                return


def _entries(env: simpy.Environment) -> list[Any]:
    """The environment's queue, whose entries are SimPy's events and timed calls."""
    return cast("list[Any]", env._queue)


def _process(env: Clock, event: simpy.Event) -> None:
    """Run a SimPy event's callbacks, as :meth:`simpy.Environment.step` does."""
    callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
    assert callbacks is not None  # an event is processed once
    for callback in callbacks:
        try:
            callback(event)
        except StopSimulation:
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]
            env.schedule(event, _AFTER_STOP)  # as SimPy reschedules it, to go on when the run resumes
            raise
    if not event._ok and not hasattr(event, "_defused"):
        _crash(event)


def _crash(event: simpy.Event) -> None:
    """An event failed and nobody defused it: stop the run with a copy of its exception (as SimPy does)."""
    exc = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    raise exc
