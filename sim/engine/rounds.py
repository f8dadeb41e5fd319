"""A department's own rounds: fixed routes that pass each patch at a fixed period.

Sanitation crews drive the same route past the same bins every day; a full bin is seen when the
crew next passes it. Unlike a patrol (passes at random, a Poisson process: :mod:`sim.engine.patrol`),
a route passes a patch on a lattice: each open window of the rounds' hours starts the route afresh,
and the patch is passed at window start + phase, + period, ... while the window lasts. The phase
is the patch's place on the route, drawn once per replication, uniform within the period, so a
matter occurring at a random moment waits on average half a period (the uniform residual) when
the rounds run round the clock. Each pass notices the matter with ``notice_probability``, so the
number of passes until it is noticed is geometric and is drawn up front, with the matter.

Everything here is arithmetic on the clock (no ticking), and every draw comes from the
``rounds`` stream, so adding rounds leaves every other draw of a replication unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.territory import Town
from sim.scenario.schedule import WeeklyHours
from sim.scenario.schema import Scenario

__all__ = ["RouteRounds", "first_round_min", "passes_needed"]


def first_round_min(t: float, passes: int, phase_min: float, period_min: float, hours: WeeklyHours) -> float:
    """The time of the *passes*-th pass of a route past a patch at or after clock time *t*.

    Parameters
    ----------
    t:
        The matter's occurrence, minutes.
    passes:
        Which pass notices it (1 = the first pass at or after *t*).
    phase_min:
        The patch's place on the route: minutes after a window opens that the route first passes it.
    period_min:
        Minutes between passes.
    hours:
        When the rounds run; each open window starts the route afresh (round the clock: one
        lattice ``phase + k * period`` from minute 0).

    Returns
    -------
    float
        The minute of that pass; ``inf`` when the route never passes the patch (every window
        shorter than the phase, or no hours).
    """
    if passes <= 0:
        return t
    if hours.is_always:
        first = phase_min + math.ceil((t - phase_min) / period_min) * period_min
        return first + (passes - 1) * period_min
    empty = 0
    while True:
        s = hours.next_open(t)
        if math.isinf(s):
            return math.inf
        start, end = hours.window_at(s)
        k = max(0, math.ceil((s - start - phase_min) / period_min))
        p = start + phase_min + k * period_min
        if p < end:
            available = math.ceil((end - p) / period_min)
            if passes <= available:
                return p + (passes - 1) * period_min
            passes -= available
            empty = 0
        else:
            empty += 1
            if empty > len(hours.starts) + 1:  # a whole week of windows without a pass: never
                return math.inf
        t = end


def passes_needed(u: np.ndarray, notice_probability: float) -> np.ndarray:
    """The pass that first notices each matter: geometric on 1, 2, ... from uniforms *u* in (0, 1].

    ``0`` stands for never (a notice probability of 0).
    """
    if notice_probability <= 0:
        return np.zeros(len(u), dtype=np.int64)
    if notice_probability >= 1:
        return np.ones(len(u), dtype=np.int64)
    return np.floor(np.log(u) / math.log1p(-notice_probability)).astype(np.int64) + 1


class RouteRounds:
    """The rounds of every department that has them, compiled for one replication.

    Parameters
    ----------
    scenario:
        The scenario (departments with ``rounds``).
    town:
        The compiled territory (patch names and count).
    rng:
        The ``rounds`` stream: each department's phases per patch are drawn here, in department order.
    """

    def __init__(self, scenario: Scenario, town: Town, rng: np.random.Generator):
        self.departments = tuple(d.name for d in scenario.departments if d.rounds is not None)
        self.rng = rng
        self._specs = []
        names = {name: i for i, name in enumerate(town.names)}
        for d in scenario.departments:
            spec = d.rounds
            if spec is None:
                continue
            on_route = np.ones(town.size, dtype=bool)
            if spec.patches != "all":
                on_route[:] = False
                on_route[[names[p] for p in spec.patches]] = True
            phase = rng.random(town.size) * spec.period_min
            self._specs.append((spec, d.rounds_hours(), frozenset(d.rounds_see()), on_route, phase))

    def detect(self, type_name: str, times: np.ndarray, patch: np.ndarray) -> np.ndarray:
        """When each department's rounds would notice each matter of type *type_name*: shape (n, departments).

        ``inf`` where the department's rounds do not see the type, do not pass the patch, or never
        notice it. Draws one uniform per matter for every department whose rounds see the type.
        """
        out = np.full((len(times), len(self.departments)), np.inf)
        for j, (spec, hours, sees, on_route, phase) in enumerate(self._specs):
            if type_name not in sees:
                continue
            passes = passes_needed(1.0 - self.rng.random(len(times)), spec.notice_probability)
            for i, (t, p, n) in enumerate(zip(times.tolist(), patch.tolist(), passes.tolist())):
                if on_route[p] and n > 0:
                    out[i, j] = first_round_min(t, n, float(phase[p]), spec.period_min, hours)
        return out
