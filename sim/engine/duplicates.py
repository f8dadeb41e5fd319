"""Duplicated and missing enforcement while reports travel by referral.

The sources' main complaint about fragmented working is not only delay: several departments
visit, inspect or fine the same matter (交叉重复执法, 000; 多头执法、重复执法, "一条马路多家管、一起违章几家罚",
004), and a matter every department assumes another will handle is left by all (执法缺位, 004).
Without a shared channel each department that claims a matter hears of it on its own, so:

* **duplicate visits** -- when the first unit is assigned to a matter, each other claiming
  department (:attr:`~sim.scenario.schema.Duplication.departments`, by default the other holders
  of the power) also sends a unit with probability ``probability``. That unit waits for a free
  unit of its own department, travels and spends ``on_scene_min`` there. It never counts as the
  response and the matter does not wait for it: it is pure cost, unit time taken from other
  matters. Departments that are one pooled team never duplicate each other.
* **gaps** -- when two or more departments claim the matter, with probability
  ``gap_probability`` every one leaves it to another: the report has reached the desks but
  nobody takes it up until ``gap_min`` later (a repeat report or a supervisor's chase). A gap
  past the end of the run leaves the matter not reached, censored there.

Both happen only when the ``information`` lever is ``referral``: a shared channel, where every
department sees who has taken a matter, ends them. Draws come from the ``duplicates`` stream.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.distributions import sampler
from sim.scenario.governance import Mode, own_holders, parts_of
from sim.scenario.schema import Scenario

__all__ = ["Duplication"]


class Duplication:
    """Who else claims each incident type, and the draws of duplicate visits and gaps.

    Parameters
    ----------
    scenario:
        The scenario (``incident_types[k].duplication``).
    mode:
        The way of working: only ``information == "referral"`` duplicates; pooled departments are
        one team.
    """

    def __init__(self, scenario: Scenario, mode: Mode):
        self.active = mode.information == "referral"
        self.pooled = mode.pooled
        staffed = [d.name for d in scenario.departments if d.units > 0]
        self.specs = [t.duplication for t in scenario.incident_types]
        self.service = [t.service_min for t in scenario.incident_types]
        self.claimants: list[tuple[str, ...]] = []
        for itype in scenario.incident_types:
            owners = frozenset().union(*(own_holders(scenario, part) for part in parts_of(itype)))
            named = set(itype.duplication.departments or ()) | owners
            self.claimants.append(tuple(d for d in staffed if d in named))
        # per type, whether visits() and gap_min() may draw at all (else they return nothing, drawing nothing)
        self.duplicating = [self.active and spec.probability > 0 for spec in self.specs]
        self.gapping = [
            self.active and spec.gap_probability > 0 and len(names) >= 2
            for spec, names in zip(self.specs, self.claimants)
        ]
        # per type, one draw of a duplicate visit's on-scene minutes and of a gap (as sample() draws it), made once
        self._on_scene = [sampler(spec.on_scene_min or service) for spec, service in zip(self.specs, self.service)]
        self._gap = [sampler(spec.gap_min) for spec in self.specs]

    def keys(self) -> set[frozenset[str]]:
        """The dispatch queues a duplicate visit can use (one per claiming department)."""
        return {
            frozenset({d}) for k, names in enumerate(self.claimants) if self.specs[k].probability > 0 for d in names
        }

    def visits(self, k: int, acting: frozenset[str], rng: np.random.Generator) -> list[tuple[str, float]]:
        """Departments that also send a unit to a matter of type *k*, with each visit's on-scene minutes.

        *acting* are the departments that act on the matter anyway (the first unit's and those
        the matter requires); a claimant in one pooled team with any of them does not duplicate.
        """
        spec = self.specs[k]
        if not self.active or spec.probability <= 0:
            return []
        out = []
        for dept in self.claimants[k]:
            if dept in acting or (dept in self.pooled and acting & self.pooled):
                continue
            if rng.random() < spec.probability:
                out.append((dept, float(self._on_scene[k](rng))))
        return out

    def gap_min(self, k: int, rng: np.random.Generator) -> float:
        """Minutes a report of type *k* lies untaken because every claimant left it to another (0: no gap)."""
        spec = self.specs[k]
        if not self.active or spec.gap_probability <= 0 or len(self.claimants[k]) < 2:
            return 0.0
        if rng.random() < spec.gap_probability:
            return float(self._gap[k](rng))
        return 0.0
