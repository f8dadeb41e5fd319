"""The eight-step closed loop: its step times add up, in order, from the ``loop`` stream."""

from __future__ import annotations

import math

import numpy as np

from sim.engine.closedloop import ClosedLoop
from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sample
from sim.scenario.schema import ClosedLoopSpec

FIXED = {"verify_min": 10, "accept_min": 3, "assign_min": 4, "feedback_min": 7, "check_min": 20, "evaluate_min": 30}


def test_fixed_steps_add_up_to_hand_computed_times():
    loop = ClosedLoop(ClosedLoopSpec.model_validate(FIXED))
    rng = np.random.default_rng(0)
    ready, stages = loop.before_dispatch(100.0, rng)
    assert ready == 117.0  # 100 + 10 + 3 + 4
    assert stages == (
        TraceEvent(110.0, Stage.CASE_VERIFIED),
        TraceEvent(113.0, Stage.CASE_ACCEPTED),
        TraceEvent(117.0, Stage.CASE_ASSIGNED),
    )
    closed, stages = loop.after_fix(200.0, rng)
    assert closed == 227.0  # 200 + 7 + 20; evaluation comes after closing
    assert stages == (
        TraceEvent(207.0, Stage.FED_BACK),
        TraceEvent(227.0, Stage.CLOSED),
        TraceEvent(257.0, Stage.EVALUATED),
    )


def test_random_steps_are_drawn_in_order_from_the_stream():
    """Each stage time is the running sum of the step draws, verify-accept-assign then feedback-check-evaluate."""
    spec = ClosedLoopSpec()
    loop = ClosedLoop(spec)
    rng, twin = np.random.default_rng(42), np.random.default_rng(42)
    ready, stages = loop.before_dispatch(0.0, rng)
    expected = running_sum(0.0, [sample(getattr(spec, s), twin) for s in ("verify_min", "accept_min", "assign_min")])
    assert [e.at_min for e in stages] == expected and ready == expected[-1]
    closed, stages = loop.after_fix(1000.0, rng)
    expected = running_sum(
        1000.0, [sample(getattr(spec, s), twin) for s in ("feedback_min", "check_min", "evaluate_min")]
    )
    assert [e.at_min for e in stages] == expected and closed == expected[1]


def running_sum(start: float, steps: list[float]) -> list[float]:
    """The clock after each step, added one at a time as the loop adds them."""
    out = []
    for step in steps:
        start += step
        out.append(start)
    return out


def test_the_wait_before_dispatch_has_the_mean_and_spread_of_three_independent_steps():
    """Defaults: lognormal means 10, 3, 3 with cv 0.5. The sum has mean 16 and variance the sum of
    the steps' variances (independent draws); both within 5 standard errors over 40,000 cases
    (the variance's standard error from the sum's fourth moment, estimated from the sample)."""
    loop = ClosedLoop(ClosedLoopSpec())
    rng = np.random.default_rng(9)
    n = 40_000
    waits = np.array([loop.before_dispatch(0.0, rng)[0] for _ in range(n)])
    mean, var = 16.0, sum((0.5 * m) ** 2 for m in (10, 3, 3))
    assert abs(waits.mean() - mean) <= 5 * math.sqrt(var / n)
    mu4 = np.mean((waits - waits.mean()) ** 4)
    assert abs(waits.var(ddof=1) - var) <= 5 * math.sqrt((mu4 - var**2) / n)
    # one draw reused for all three steps would have variance (10+3+3)^2 * 0.25 = 64, not 29.5
    assert waits.var(ddof=1) < 40


def test_a_matters_first_pass_is_drawn_ahead_and_a_later_one_in_order():
    spec = ClosedLoopSpec.model_validate({"reopen_probability": 0.5})
    loop = ClosedLoop(spec)
    loop.draw_ahead(
        4, np.random.default_rng(1), np.random.default_rng(2), np.random.default_rng(3), np.random.default_rng(4)
    )
    ahead, reopen = np.random.default_rng(1), np.random.default_rng(2)
    steps = [spec.verify_min, spec.accept_min, spec.assign_min, spec.feedback_min, spec.check_min, spec.evaluate_min]
    drawn = [sample(s, ahead, size=4) for s in steps]
    checks = reopen.random(4)
    other = np.random.default_rng(9)  # the stream given is not read while the passes are drawn ahead
    assert loop.before_dispatch_min(other, 2) == tuple(float(d[2]) for d in drawn[:3])
    assert loop.closed_min(100.0, other, 2) == 100.0 + float(drawn[3][2]) + float(drawn[4][2])
    assert loop.check_fails(other, 2) == (checks[2] < 0.5)
    later, later_reopen = np.random.default_rng(3), np.random.default_rng(4)
    again = tuple(float(sample(s, later)) for s in steps[:3])
    assert loop.before_dispatch_min(other, 2) == again  # a second pass of matter 2: in order, from *later*
    assert loop.check_fails(other, 2) == (later_reopen.random() < 0.5)
    assert loop.ready_min(0.0, other, 0) == float(drawn[0][0]) + float(drawn[1][0]) + float(drawn[2][0])
