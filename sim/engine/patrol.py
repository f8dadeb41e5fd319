"""Patrol coverage: how often a patrolling unit passes through each patch, and whose unit it is.

Patrols are not simulated by moving units minute by minute. A unit patrolling a sector of
``n`` patches passes through a given patch about once every ``n`` patch-traversals, so the
passes through a patch form a Poisson process whose rate is the sum, over the departments that
patrol there, of (units on duty in the sector) / (n x minutes to traverse a patch). A matter is
noticed on each pass with its type's ``notice_probability``; the first noticing pass is found
in one step by inverting the weekly rate (:meth:`sim.scenario.schedule.WeeklySteps.first_passage`), or a rate
that follows the run's own days where campaigns on a monthly or dated calendar take patrolling units
(:class:`sim.scenario.schedule.DatedSteps`: dated up to the last such session, weekly after).
Cost grows with incidents, not with simulated minutes times units.
"""

from __future__ import annotations

import numpy as np

from sim.engine.department import Roster, traverse_min
from sim.engine.territory import Town
from sim.scenario.schedule import DatedSteps, WeeklySteps, combine_steps

__all__ = ["PatrolCoverage"]


class PatrolCoverage:
    """Pass rates per sector (weekly, or dated where campaigns take units on some days), split by department.

    Parameters
    ----------
    rosters:
        Every department's roster (non-patrolling departments contribute nothing).
    on_patrol:
        Per department, the units on patrol where they do not follow a weekly pattern (campaigns on a
        monthly or dated calendar take some): a dated step function in place of the roster's on-duty
        count. A sector's rate is then dated too (:class:`~sim.scenario.schedule.DatedSteps`).
    town:
        The compiled territory.
    """

    def __init__(self, rosters: dict[str, Roster], town: Town, on_patrol: dict[str, DatedSteps] | None = None):
        sectors = len(town.sector_names)
        per_sector = np.maximum(town.patches_in_sector(), 1)
        on_patrol = on_patrol or {}
        self.departments = tuple(name for name, r in rosters.items() if r.department.patrols and r.units)
        self.by_department: list[list[WeeklySteps | DatedSteps]] = []
        for name in self.departments:
            roster = rosters[name]
            minutes = traverse_min(roster.department, town)
            counts = roster.patrol_count_in_sector(sectors, on_patrol.get(name))
            self.by_department.append(
                [c.map(lambda n, s=s, m=minutes: n / (per_sector[s] * m)) for s, c in enumerate(counts)]
            )
        self.rate: list[WeeklySteps | DatedSteps] = [
            combine_steps([d[s] for d in self.by_department], lambda *v: float(sum(v))) for s in range(sectors)
        ]

    def first_notice(self, sector: np.ndarray, start: np.ndarray, unit_exp: np.ndarray, notice: float) -> np.ndarray:
        """Time of the first noticing pass after *start* for each matter (``inf`` when never).

        *unit_exp* are Exp(1) draws, one per matter; thinning by *notice* scales them.
        """
        out = np.full(len(start), np.inf)
        if notice <= 0 or not self.departments:
            return out
        for s, rate in enumerate(self.rate):
            mask = sector == s
            if mask.any():
                out[mask] = rate.first_passage(start[mask], unit_exp[mask] / notice)
        return out

    def finder(self, sector: int, now: float, u: float) -> str | None:
        """The department whose patrol made a pass at *now*, chosen by its share of the rate (uniform *u*)."""
        shares = [d[sector].value(now) for d in self.by_department]
        total = sum(shares)
        if total <= 0:
            return self.departments[0] if self.departments else None
        threshold, running = u * total, 0.0
        for name, share in zip(self.departments, shares):
            running += share
            if threshold < running:
                return name
        return self.departments[-1]
