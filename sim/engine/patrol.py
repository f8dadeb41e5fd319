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

import bisect

import numpy as np

from sim.engine.department import Roster, traverse_min
from sim.engine.territory import Town
from sim.scenario.schedule import MINUTES_PER_WEEK, DatedSteps, WeeklySteps, combine_steps

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
        self._weekly_shares = [_weekly_shares([d[s] for d in self.by_department]) for s in range(sectors)]

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
        """The department whose patrol made a pass at *now*, chosen by its share of the rate (uniform *u*).

        Where every department's rate in the sector is weekly, the shares at *now* and their sum are one
        look-up (:func:`_weekly_shares`), the values each department's :meth:`WeeklySteps.value` gives.
        """
        weekly = self._weekly_shares[sector]
        if weekly is not None:
            breaks, rows = weekly
            shares, total = rows[bisect.bisect_right(breaks, now % MINUTES_PER_WEEK) - 1]
        else:
            shares = tuple(d[sector].value(now) for d in self.by_department)
            total = sum(shares)
        if total <= 0:
            return self.departments[0] if self.departments else None
        threshold, running = u * total, 0.0
        for name, share in zip(self.departments, shares):
            running += share
            if threshold < running:
                return name
        return self.departments[-1]

    def finders(self, sector: np.ndarray, now: np.ndarray, u: np.ndarray) -> np.ndarray:
        """:meth:`finder` of each matter, on whole arrays: the department's place in :attr:`departments`.

        Where a sector's rates are weekly, its matters are looked up together: the same shares, the same running
        sums (``np.cumsum`` adds in order, as :meth:`finder` does) and the same comparisons, so each answer is the
        one :meth:`finder` gives. A sector with a dated rate is asked matter by matter. Needs a patrolling department.
        """
        out = np.zeros(len(now), dtype=np.int64)
        place: dict[str | None, int] = {name: j for j, name in enumerate(self.departments)}
        for s in np.unique(sector).tolist():
            at = np.flatnonzero(sector == s)
            weekly = self._weekly_shares[s]
            if weekly is None:
                out[at] = [place[self.finder(s, t, v)] for t, v in zip(now[at].tolist(), u[at].tolist())]
                continue
            breaks, rows = weekly
            shares = np.asarray([row[0] for row in rows], dtype=float)
            totals = np.asarray([row[1] for row in rows], dtype=float)
            segment = np.searchsorted(np.asarray(breaks), now[at] % MINUTES_PER_WEEK, side="right") - 1
            total = totals[segment]
            passed = (u[at] * total)[:, None] < np.cumsum(shares[segment], axis=1)
            found = np.where(passed.any(axis=1), passed.argmax(axis=1), len(self.departments) - 1)
            out[at] = np.where(total <= 0, 0, found)
        return out


_Shares = tuple[tuple[float, ...], tuple[tuple[tuple[float, ...], float], ...]]
"""A sector's weekly segments: their starts (minute of the week) and, per segment, each department's rate and the sum."""


def _weekly_shares(steps: list[WeeklySteps | DatedSteps]) -> _Shares | None:
    """Each department's rate (*steps*, in order) and their sum on every segment of the week; None if one is dated.

    The segments start at every department's breaks (and minute 0), so on each of them every rate is the one
    its own :meth:`WeeklySteps.value` gives anywhere in it; the sum is taken as :meth:`PatrolCoverage.finder`
    took it, in order.
    """
    weekly = [s for s in steps if isinstance(s, WeeklySteps)]
    if len(weekly) < len(steps):
        return None
    breaks = tuple(sorted({b for s in weekly for b in s.breaks} | {0.0}))
    rows = []
    for b in breaks:
        shares = tuple(s.value(b) for s in weekly)
        rows.append((shares, sum(shares)))
    return breaks, tuple(rows)
