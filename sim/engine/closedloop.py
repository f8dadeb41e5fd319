"""The eight-step closed loop (seeds/004_zhewang.md#eight-step-closed-loop).

Collect and report, verify, accept, assign, track, feed back, check and close, evaluate.

When a mode runs the loop, the centre verifies, accepts and assigns a case before a unit is
sent, and after the fix it takes feedback and checks before closing it. So the *fix*
(``resolved_min``) and the *closure* (``closed_min``) are different moments, as on real
platforms where a case can be closed while the problem persists, or fixed long before closing.

Each matter's first pass through the loop (its verify, accept and assign; its feedback, check and
evaluation; whether its check fails) can be drawn ahead for every incident (:meth:`ClosedLoop.draw_ahead`),
so that a matter meets the same loop in every mode whatever the order matters reach it (common random
numbers); a later pass (a hand-over, a reopened case) draws in order from streams of its own.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sample, sampler
from sim.scenario.schema import ClosedLoopSpec

__all__ = ["ClosedLoop"]


class ClosedLoop:
    """Step durations of the loop, drawn from the run's ``loop`` stream."""

    def __init__(self, spec: ClosedLoopSpec):
        self.spec = spec
        # each step's draw made once (the same values as ``sample``, without its dispatch per call)
        self._before = tuple(sampler(getattr(spec, step)) for step, _ in self.STEPS_BEFORE)
        self._after = tuple(sampler(spec_) for spec_ in (spec.feedback_min, spec.check_min, spec.evaluate_min))
        self._ahead: _Ahead | None = None

    def draw_ahead(
        self,
        incidents: int,
        rng: np.random.Generator,
        reopen: np.random.Generator,
        later: np.random.Generator,
        later_reopen: np.random.Generator,
    ) -> None:
        """Draw every incident's first pass through the loop before the run: the same in every mode.

        From *rng*, one vector per step, in the order of the steps (verify, accept, assign, feedback,
        check, evaluate); from *reopen*, each first check's uniform (none when ``reopen_probability``
        is 0). A matter's first pass before dispatch, first pass after the fix and first check take
        its own; later ones draw in order from *later* and *later_reopen*, which take the place of the
        streams the methods are given.
        """
        steps = [getattr(self.spec, step) for step, _ in self.STEPS_BEFORE]
        steps += [self.spec.feedback_min, self.spec.check_min, self.spec.evaluate_min]
        drawn = [sample(spec, rng, size=incidents) for spec in steps]
        checks = reopen.random(incidents) if self.spec.reopen_probability > 0 else None
        self._ahead = _Ahead(
            np.stack(drawn[:3]), np.stack(drawn[3:]), checks, bytearray(incidents), later, later_reopen
        )

    def let_go(self) -> None:
        """Drop the passes drawn ahead (the run is over)."""
        self._ahead = None

    def _first(self, incident: int, flag: int) -> bool:
        """Whether *incident*'s pass marked by *flag* (a bit of :data:`_BEFORE`, :data:`_AFTER`, :data:`_CHECK`) comes first; mark it."""
        ahead = self._ahead
        if ahead is None or incident < 0 or ahead.done[incident] & flag:
            return False
        ahead.done[incident] |= flag
        return True

    STEPS_BEFORE = (
        ("verify_min", Stage.CASE_VERIFIED),
        ("accept_min", Stage.CASE_ACCEPTED),
        ("assign_min", Stage.CASE_ASSIGNED),
    )
    """The steps before a unit is sent, in order, with the stage each ends in."""

    def _three(self, flag: int, rng: np.random.Generator, incident: int) -> tuple[float, float, float]:
        """Three steps' minutes: before dispatch or after the fix, by *flag*.

        *incident*'s first pass is drawn ahead; else the steps are drawn in order (from the later
        stream when the first passes were drawn ahead).
        """
        ahead = self._ahead
        if ahead is not None:
            if self._first(incident, flag):
                one, two, three = (ahead.before if flag == _BEFORE else ahead.after)[:, incident].tolist()
                return one, two, three
            rng = ahead.later
        first, second, third = self._before if flag == _BEFORE else self._after
        return float(first(rng)), float(second(rng)), float(third(rng))

    def before_dispatch_min(self, rng: np.random.Generator, incident: int = -1) -> tuple[float, float, float]:
        """The minutes of verify, accept and assign: *incident*'s first drawn ahead, else drawn in that order."""
        return self._three(_BEFORE, rng, incident)

    def before_dispatch(
        self, now: float, rng: np.random.Generator, incident: int = -1
    ) -> tuple[float, tuple[TraceEvent, ...]]:
        """Verify, accept and assign: when a unit may be sent, and the stages for a trace."""
        t, stages = now, []
        for minutes, (_, stage) in zip(self.before_dispatch_min(rng, incident), self.STEPS_BEFORE):
            t += minutes
            stages.append(TraceEvent(t, stage))
        return t, tuple(stages)

    def ready_min(self, now: float, rng: np.random.Generator, incident: int = -1) -> float:
        """When a unit may be sent after verify, accept and assign: :meth:`before_dispatch` without its stages.

        The same minutes and the same sum, in the same order; for an untraced run, which keeps no stages.
        """
        verify, accept, assign = self.before_dispatch_min(rng, incident)
        t = now + verify
        t += accept
        return t + assign

    def closed_min(self, resolved: float, rng: np.random.Generator, incident: int = -1) -> float:
        """When the case is closed after the fix: :meth:`after_fix` without its stages (evaluation still drawn).

        The same minutes and the same sums, in the same order; for an untraced run, which keeps no stages.
        """
        feedback, check, _ = self._three(_AFTER, rng, incident)
        return resolved + feedback + check

    def check_fails(self, rng: np.random.Generator, incident: int = -1) -> bool:
        """Whether the check finds the matter not fixed (no draw when ``reopen_probability`` is 0)."""
        q = self.spec.reopen_probability
        if q <= 0:
            return False
        ahead = self._ahead
        if ahead is not None:
            if self._first(incident, _CHECK):
                assert ahead.checks is not None  # drawn when q > 0
                return ahead.checks.item(incident) < q
            rng = ahead.later_reopen
        return rng.random() < q

    def after_fix(
        self, resolved: float, rng: np.random.Generator, incident: int = -1
    ) -> tuple[float, tuple[TraceEvent, ...]]:
        """Feedback and check-and-close after the fix: when the case is closed (evaluation follows)."""
        feedback, check, evaluate = self._three(_AFTER, rng, incident)
        fed_back = resolved + feedback
        closed = fed_back + check
        evaluated = closed + evaluate
        events = (
            TraceEvent(fed_back, Stage.FED_BACK),
            TraceEvent(closed, Stage.CLOSED),
            TraceEvent(evaluated, Stage.EVALUATED),
        )
        return closed, events


_BEFORE, _AFTER, _CHECK = 1, 2, 4
"""Bits of :attr:`_Ahead.done`: a matter's first pass before dispatch, after the fix, its first check."""


class _Ahead(NamedTuple):
    """Every incident's first pass through the loop, drawn ahead (:meth:`ClosedLoop.draw_ahead`)."""

    before: np.ndarray  # (3, incidents): verify, accept, assign
    after: np.ndarray  # (3, incidents): feedback, check, evaluate
    checks: np.ndarray | None  # each first check's uniform (None: no reopening)
    done: bytearray  # per incident, the bits of the passes taken
    later: np.random.Generator
    later_reopen: np.random.Generator
