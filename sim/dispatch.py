"""Dispatch: which free unit takes a job, and who waits when none is free.

A job is the part of a matter that one unit can do; it names the departments whose units may
legally do it (from :func:`sim.governance.capable_departments`). The dispatcher keeps, per
department, the free units on duty in the order they became free, and one priority queue per
set of capable departments. Two selection rules are the two values of the ``dispatch`` lever:

* ``own_queue`` -- the department desk's way: the unit that has been free longest takes it;
* ``nearest`` -- the centre's way: the free capable unit with the shortest travel time.

A unit that becomes free takes the most urgent, oldest job it may do. Work per decision grows
with the free capable units and the number of queues, never with the simulated time.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.department import Unit
from sim.territory import Town

__all__ = ["Job", "Dispatcher"]


@dataclass(eq=False)
class Job:
    """A request for one unit to go to *patch* and do some parts of a matter."""

    capable: frozenset[str]
    patch: int
    priority: int
    requested_min: float
    finder: str | None = None
    unit: Unit | None = field(default=None)
    on_the_spot: bool = False
    event: simpy.Event | None = None


class Dispatcher:
    """Matches jobs with free units under one selection rule.

    Parameters
    ----------
    env:
        The simulation environment (for the jobs' events).
    town:
        The territory, for travel times.
    units:
        All units of all departments.
    rule:
        ``"own_queue"`` or ``"nearest"``.
    queue_keys:
        Every set of capable departments a job can have (one queue each).
    """

    def __init__(self, env: simpy.Environment, town: Town, units, rule: str, queue_keys):
        self.env = env
        self.town = town
        self.select = {"own_queue": self._longest_free, "nearest": self._nearest}[rule]
        self.free: dict[str, dict[Unit, None]] = {}
        for unit in units:
            self.free.setdefault(unit.department, {})
        self.queues: dict[frozenset[str], list] = {key: [] for key in queue_keys}
        self.keys_for: dict[str, list[frozenset[str]]] = {
            dept: [k for k in self.queues if dept in k] for dept in self.free
        }
        self._order = itertools.count()
        self._sorted: dict[frozenset[str], tuple[str, ...]] = {}

    # ------------------------------------------------------------------ requests

    def request(self, job: Job) -> Unit | None:
        """Ask for a unit: the unit if one is free now, else None and ``job.event`` fires with it later."""
        unit = self._finder_unit(job)
        job.on_the_spot = unit is not None
        unit = unit or self.select(job)
        if unit is not None:
            self._assign(unit, job)
            return unit
        job.event = self.env.event()
        heapq.heappush(self.queues[job.capable], (job.priority, job.requested_min, next(self._order), job))
        return None

    def waiting(self) -> int:
        """Jobs waiting for a unit."""
        return sum(len(q) for q in self.queues.values())

    def _finder_unit(self, job: Job) -> Unit | None:
        """A free unit of the department whose patrol found the matter, if it may act: it is already there."""
        if job.finder in job.capable and self.free.get(job.finder):
            unit = next(iter(self.free[job.finder]))
            unit.position_xy = self.town.xy_km[job.patch]
            unit.back_at_base_min = self.env.now
            return unit
        return None

    def _departments(self, capable: frozenset[str]) -> tuple[str, ...]:
        """The capable departments in a fixed order, so ties break the same way in every process."""
        ordered = self._sorted.get(capable)
        if ordered is None:
            ordered = self._sorted[capable] = tuple(sorted(capable))
        return ordered

    def _longest_free(self, job: Job) -> Unit | None:
        best = None
        for dept in self._departments(job.capable):
            pool = self.free.get(dept)
            if pool:
                unit = next(iter(pool))
                if best is None or unit.idle_since_min < best.idle_since_min:
                    best = unit
        return best

    def _nearest(self, job: Job) -> Unit | None:
        candidates = [u for dept in self._departments(job.capable) for u in self.free.get(dept, ())]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        now = self.env.now
        if len(candidates) < 32:
            return min(candidates, key=lambda u: u.travel_min(self.town, job.patch, now))
        xy = np.array([u.xy_at(now) for u in candidates])
        km = self.town.road_km(xy, job.patch)
        minutes = np.array([u.setoff_min for u in candidates]) + 60.0 * km / np.array([u.speed_kmh for u in candidates])
        return candidates[int(np.argmin(minutes))]

    def _assign(self, unit: Unit, job: Job) -> None:
        del self.free[unit.department][unit]
        unit.busy = True
        job.unit = unit
        if job.event is not None:
            job.event.succeed(unit)

    # ------------------------------------------------------------------ units

    def release(self, unit: Unit) -> None:
        """A unit finished a job: give it the next job it may do, or mark it free."""
        unit.busy = False
        unit.idle_since_min = self.env.now
        if unit.on_duty:
            self._offer(unit)

    def set_on_duty(self, unit: Unit, on_duty: bool) -> None:
        """Start or end a unit's shift; a busy unit finishes its job first."""
        if unit.on_duty == on_duty:
            return
        unit.on_duty = on_duty
        if unit.busy:
            return
        if on_duty:
            unit.idle_since_min = self.env.now
            self._offer(unit)
        else:
            self.free[unit.department].pop(unit, None)

    def _offer(self, unit: Unit) -> None:
        best_key, best_head = None, None
        for key in self.keys_for[unit.department]:
            queue = self.queues[key]
            if queue and (best_head is None or queue[0][:3] < best_head):
                best_key, best_head = key, queue[0][:3]
        if best_key is None:
            self.free[unit.department][unit] = None
            return
        job = heapq.heappop(self.queues[best_key])[3]
        self.free[unit.department][unit] = None
        self._assign(unit, job)
