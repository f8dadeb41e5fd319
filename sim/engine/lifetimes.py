"""Violations that end by themselves: a street vendor moves on, a parked car drives away.

An incident type may have a natural lifetime (``natural_end_min``, counted from occurrence). The
lifetimes are drawn up front for every incident from the ``lifetime`` stream, so every mode of a
replication faces the same ends (common random numbers). What the model does with them
(:class:`~sim.engine.model.Simulation`):

* a matter that ends before any channel reports it is never detected (its record keeps
  ``ended_min``; it is among the undetected);
* a matter that ends after it is reported but before a unit is on scene is *ended unattended*:
  ``ended_min`` is its end, it is neither reached nor resolved, and its response (and
  resolution) is censored at that end in the statistics -- neither a fast response nor a slow one;
* nobody is told: a unit already sent goes on, finds nothing on arrival and is free again at once
  (its visit is logged with ``ended``); a job still waiting for a unit is served the same way;
* once a unit is on scene the matter no longer ends by itself (the officer has stopped it).
"""

from __future__ import annotations

import numpy as np

from sim.scenario.distributions import sample
from sim.scenario.schema import Scenario

__all__ = ["natural_end_times"]


def natural_end_times(
    scenario: Scenario, occurred_min: np.ndarray, type_index: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """When each incident would end by itself, minutes (``inf`` for types that persist).

    Drawn per incident type in scenario order, as one block per type, so adding a lifetime to one
    type leaves the others' draws unchanged.
    """
    ends = np.full(len(occurred_min), np.inf)
    for k, itype in enumerate(scenario.incident_types):
        if itype.natural_end_min is None:
            continue
        mine = np.flatnonzero(type_index == k)
        ends[mine] = occurred_min[mine] + np.asarray(sample(itype.natural_end_min, rng, len(mine)), dtype=float)
    return ends
