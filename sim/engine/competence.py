"""What a generalist unit can and cannot do outside its own department's powers.

Pooling authority lets any unit of the team act on any pooled power, but the sources doubt that
a merged team does every job as well as the specialists: the town's staff can hardly take on
the delegated powers (承接能力有限, 003), and the team mixes sworn officers with auxiliaries
(专辅结合, 004). Per department and incident type (:class:`~sim.scenario.schema.Competence`):

* ``on_scene_factor`` multiplies the on-scene time of a part the unit does outside its own
  department's powers;
* ``follow_up_probability`` is the chance that such a part needs a specialist follow-up: once the
  unit is done, a unit of a department that owns the power (:func:`~sim.scenario.governance.own_holders`)
  is requested and does the part at its own pace (the part's drawn on-scene time); the matter is
  resolved when the follow-up is done. The response stays the first unit's arrival.

Crew composition (``sworn_per_unit``, ``sworn_officer``) is not here: a unit without a sworn
officer is simply not capable (:func:`~sim.scenario.governance.capable_departments`).

A department's own powers never pay the penalty, so only a mode that pools authority does:
pooling brings the penalty with it, and ``decompose`` counts it in the ``authority`` lever.
Follow-up draws come from the ``competence`` stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.scenario.governance import own_holders, parts_of
from sim.scenario.schema import Competence, Scenario

__all__ = ["CompetenceTable"]

_NEUTRAL = Competence()


class CompetenceTable:
    """Each part's owners and each department's competence outside them.

    Parameters
    ----------
    scenario:
        The scenario (``departments[*].competence``).
    """

    def __init__(self, scenario: Scenario):
        self.owners = [tuple(own_holders(scenario, part) for part in parts_of(t)) for t in scenario.incident_types]
        self.table = [
            {d.name: d.competence.get(t.name, d.competence.get("*", _NEUTRAL)) for d in scenario.departments}
            for t in scenario.incident_types
        ]

        self._plans: dict[tuple[int, tuple[int, ...], str], tuple[tuple[int, float | None], ...]] = {}
        self._follows: dict[tuple[int, tuple[int, ...], str], bool] = {}

    def keys(self) -> set[frozenset[str]]:
        """The dispatch queues a follow-up can use (the owners of each part that may need one)."""
        return {
            owners
            for k, parts in enumerate(self.owners)
            if any(c.follow_up_probability > 0 for c in self.table[k].values())
            for owners in parts
        }

    def _outside(self, k: int, part: int, department: str) -> Competence | None:
        """The competence of *department* on part *part* of type *k*, or None when it owns the power."""
        return None if department in self.owners[k][part] else self.table[k][department]

    def _plan(self, k: int, parts: tuple[int, ...], department: str) -> tuple[tuple[int, float | None], ...]:
        """Each part with its on-scene factor (None: the department's own power), worked out once per job kind."""
        key = (k, parts, department)
        plan = self._plans.get(key)
        if plan is None:
            outside = [(p, self._outside(k, p, department)) for p in parts]
            plan = self._plans[key] = tuple((p, None if c is None else c.on_scene_factor) for p, c in outside)
        return plan

    def on_scene_min(self, k: int, parts: tuple[int, ...], department: str, service: Sequence[float]) -> float:
        """On-scene minutes of a unit of *department* doing *parts* of a matter of type *k*."""
        total = 0.0
        for p, factor in self._plan(k, parts, department):
            total += service[p] if factor is None else service[p] * factor
        return total

    def may_follow_up(self, k: int, parts: tuple[int, ...], department: str) -> bool:
        """Whether any of *parts* may need a specialist's second visit (else :meth:`follow_ups` draws nothing)."""
        key = (k, parts, department)
        may = self._follows.get(key)
        if may is None:
            outside = (self._outside(k, p, department) for p in parts)
            may = self._follows[key] = any(c is not None and c.follow_up_probability > 0 for c in outside)
        return may

    def follow_ups(
        self, k: int, parts: Sequence[int], department: str, rng: np.random.Generator
    ) -> list[tuple[frozenset[str], int]]:
        """The parts that need a specialist's second visit: (owning departments, part index) each."""
        out = []
        for p in parts:
            competence = self._outside(k, p, department)
            if competence is None or competence.follow_up_probability <= 0:
                continue
            if rng.random() < competence.follow_up_probability:
                out.append((self.owners[k][p], p))
        return out
