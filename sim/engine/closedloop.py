"""The eight-step closed loop (seeds/004_zhewang.md#eight-step-closed-loop).

Collect and report, verify, accept, assign, track, feed back, check and close, evaluate.

When a mode runs the loop, the centre verifies, accepts and assigns a case before a unit is
sent, and after the fix it takes feedback and checks before closing it. So the *fix*
(``resolved_min``) and the *closure* (``closed_min``) are different moments, as on real
platforms where a case can be closed while the problem persists, or fixed long before closing.
"""

from __future__ import annotations

import numpy as np

from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sampler
from sim.scenario.schema import ClosedLoopSpec

__all__ = ["ClosedLoop"]


class ClosedLoop:
    """Step durations of the loop, drawn from the run's ``loop`` stream."""

    def __init__(self, spec: ClosedLoopSpec):
        self.spec = spec
        # each step's draw made once (the same values as ``sample``, without its dispatch per call)
        self._before = tuple(sampler(getattr(spec, step)) for step, _ in self.STEPS_BEFORE)
        self._after = tuple(sampler(spec_) for spec_ in (spec.feedback_min, spec.check_min, spec.evaluate_min))

    STEPS_BEFORE = (
        ("verify_min", Stage.CASE_VERIFIED),
        ("accept_min", Stage.CASE_ACCEPTED),
        ("assign_min", Stage.CASE_ASSIGNED),
    )
    """The steps before a unit is sent, in order, with the stage each ends in."""

    def before_dispatch_min(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """The minutes of verify, accept and assign, drawn in that order."""
        verify, accept, assign = self._before
        return float(verify(rng)), float(accept(rng)), float(assign(rng))

    def before_dispatch(self, now: float, rng: np.random.Generator) -> tuple[float, tuple[TraceEvent, ...]]:
        """Verify, accept and assign: when a unit may be sent, and the stages for a trace."""
        t, stages = now, []
        for minutes, (_, stage) in zip(self.before_dispatch_min(rng), self.STEPS_BEFORE):
            t += minutes
            stages.append(TraceEvent(t, stage))
        return t, tuple(stages)

    def ready_min(self, now: float, rng: np.random.Generator) -> float:
        """When a unit may be sent after verify, accept and assign: :meth:`before_dispatch` without its stages.

        The same draws and the same sum, in the same order; for an untraced run, which keeps no stages.
        """
        verify, accept, assign = self._before
        t = now + float(verify(rng))
        t += float(accept(rng))
        return t + float(assign(rng))

    def closed_min(self, resolved: float, rng: np.random.Generator) -> float:
        """When the case is closed after the fix: :meth:`after_fix` without its stages (evaluation still drawn).

        The same draws and the same sums, in the same order; for an untraced run, which keeps no stages.
        """
        feedback, check, evaluate = self._after
        closed = resolved + float(feedback(rng)) + float(check(rng))
        evaluate(rng)  # drawn as after_fix draws it, so later draws of the stream stay aligned
        return closed

    def check_fails(self, rng: np.random.Generator) -> bool:
        """Whether the check finds the matter not fixed (no draw when ``reopen_probability`` is 0)."""
        q = self.spec.reopen_probability
        return q > 0 and rng.random() < q

    def after_fix(self, resolved: float, rng: np.random.Generator) -> tuple[float, tuple[TraceEvent, ...]]:
        """Feedback and check-and-close after the fix: when the case is closed (evaluation follows)."""
        feedback, check, evaluate = self._after
        fed_back = resolved + float(feedback(rng))
        closed = fed_back + float(check(rng))
        evaluated = closed + float(evaluate(rng))
        events = (
            TraceEvent(fed_back, Stage.FED_BACK),
            TraceEvent(closed, Stage.CLOSED),
            TraceEvent(evaluated, Stage.EVALUATED),
        )
        return closed, events
