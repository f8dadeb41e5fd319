"""Departments and their field units: where they are based, when they are on duty, how fast they go.

A unit is a team or vehicle of one department. Its legal powers come from its department (and,
under pooled authority, from the whole team: see :mod:`sim.scenario.governance`). Units are numbered
within their department; the lowest-numbered ones are on duty when a shift holds fewer than
all, so that a shift change is one count per department, not a timetable per unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.engine.territory import Town
from sim.scenario.schedule import DatedSteps, WeeklySteps
from sim.scenario.schema import Department

__all__ = ["Unit", "Roster", "build_roster"]


@dataclass(eq=False)
class Unit:
    """One field unit and its state during a run (mutated only by the dispatcher and the model)."""

    uid: str
    department: str
    index: int
    base: int
    base_xy: tuple[float, float]
    sector: int
    speed_kmh: float
    setoff_min: float
    travel_cv: float
    patrols: bool
    position_patch: int = -1
    back_at_base_min: float = 0.0
    on_duty: bool = False
    busy: bool = False
    idle_since_min: float = 0.0
    busy_since_min: float = 0.0
    busy_min: float = 0.0
    home_sector: str = ""
    free_seq: int = -1
    pool: str = ""
    worked_min: float = 0.0

    def __post_init__(self):
        """A unit that has not moved yet stands at its base."""
        if self.position_patch < 0:
            self.position_patch = self.base
        if not self.pool:
            self.pool = self.department  # the dispatcher's pool of free units (per sector with borders closed)

    def patch_at(self, now: float) -> int:
        """The patch the unit stands in at *now*.

        That is its last job's patch, or its base once a unit that returns home (one that does
        not patrol) is back there.
        """
        if not self.patrols and now >= self.back_at_base_min:
            return self.base
        return self.position_patch

    def travel_min(self, town: Town, patch: int, now: float) -> float:
        """Mean travel time to *patch* from where the unit is, set-off included (minutes)."""
        return self.setoff_min + town.drive_min(self.patch_at(now), patch, self.speed_kmh)


@dataclass(frozen=True, eq=False)
class Roster:
    """A department's units and its duty schedule."""

    department: Department
    units: tuple[Unit, ...]
    on_duty: WeeklySteps

    def on_duty_count(self, now: float) -> int:
        """Units on duty at *now*."""
        return int(self.on_duty.value(now))

    def patrol_count_in_sector(
        self, sectors: int, on_patrol: WeeklySteps | DatedSteps | None = None
    ) -> list[WeeklySteps | DatedSteps]:
        """On-duty patrolling units per sector over the week (units are assigned to sectors in turn).

        Units based by sector (``home``) patrol their own sector: the first *n* units' sectors.
        *on_patrol* (default the units on duty) is how many patrol: a step function with ``map``,
        weekly or dated (:class:`~sim.scenario.schedule.DatedSteps`, when campaigns on a monthly or
        dated calendar take some).
        """
        on: WeeklySteps | DatedSteps = self.on_duty if on_patrol is None else on_patrol
        if not self.department.patrols:
            return [on.map(lambda n: 0.0) for _ in range(sectors)]
        if self.department.home != "bases":
            homes = [u.sector for u in self.units]
            return [on.map(lambda n, s=s: float(homes[: int(n)].count(s))) for s in range(sectors)]
        return [on.map(lambda n, s=s: float(n // sectors + (1 if s < n % sectors else 0))) for s in range(sectors)]


def build_roster(department: Department, town: Town) -> Roster:
    """Create a department's units at their bases and compile its shift into on-duty counts."""
    sectors = len(town.sector_names)
    if department.home != "bases":
        centres = sector_centres(town)
        weights = np.bincount(town.sector, weights=town.weights, minlength=sectors)
        homes = sector_sequence(department.units, weights if department.home == "sectors_by_load" else None, sectors)
        base_patches = [centres[s] for s in homes]
    else:
        bases = [department.base] if isinstance(department.base, str) else list(department.base)
        base_patches = [town.index(b) for b in bases]
        homes = [i % sectors for i in range(department.units)]
    units = []
    for i in range(department.units):
        base = base_patches[i % len(base_patches)]
        units.append(
            Unit(
                uid=f"{department.name}-{i + 1}",
                department=department.name,
                index=i,
                base=base,
                base_xy=town.centres[base],
                sector=homes[i],
                speed_kmh=department.speed_kmh,
                setoff_min=department.setoff_min,
                travel_cv=department.travel_cv,
                patrols=department.patrols,
                home_sector=town.patch_sector_names[base],
            )
        )
    windows = [(w.hours().weekly(), float(w.units)) for w in department.shift_windows()]
    on_duty = WeeklySteps.from_hours(windows, cap=float(department.units))
    return Roster(department, tuple(units), on_duty)


def sector_centres(town: Town) -> list[int]:
    """Each sector's central patch: the patch of the sector nearest the mean of its patch centres."""
    out = []
    for s in range(len(town.sector_names)):
        members = np.flatnonzero(town.sector == s)
        xy = town.xy_km[members]
        out.append(int(members[np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1))]))
    return out


def sector_sequence(units: int, weights, sectors: int) -> list[int]:
    """The home sector of each unit in turn, so that the first *n* units are shared out by *weights* for every *n*.

    Sainte-Lague's divisor sequence: each next unit goes to the sector with the most weight per
    ``2 x units so far + 1`` (ties to the lower sector). With *weights* None, in turn: 0, 1, 2, ...
    Since the lowest-numbered units are the ones on duty, every shift is shared out by load too.
    """
    if weights is None:
        return [i % sectors for i in range(units)]
    counts = [0] * sectors
    out = []
    for _ in range(units):
        best = max(range(sectors), key=lambda k: (weights[k] / (2 * counts[k] + 1), -k))
        counts[best] += 1
        out.append(best)
    return out


def traverse_min(department: Department, town: Town) -> float:
    """Minutes a patrolling unit needs to pass through one patch."""
    if not department.patrols:
        return math.inf
    return 60.0 * town.patch_km * town.detour_factor / department.patrol_speed_kmh
