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

SMALL_FLEET = 12
"""Up to this many free candidates, a plain loop beats array arithmetic in the nearest-unit search."""


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
    arrived_min: float = float("nan")
    travel_min: float | None = None


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
        self._freed = itertools.count()
        self._fleet = _Fleet(units, town)
        self._slots = {key: self._fleet.slots(self._departments(key)) for key in self.queues}

    # ------------------------------------------------------------------ requests

    def request(self, job: Job) -> Unit | None:
        """Ask for a unit: the unit if one is free now, else None and ``job.event`` fires with it later."""
        unit = self._finder_unit(job) if job.finder else None
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
            self.move(unit, job.patch, self.env.now)
            return unit
        return None

    def move(self, unit: Unit, patch: int, back_at_base_min: float) -> None:
        """Record that *unit* stands at *patch* (and, if it returns to base, is home at *back_at_base_min*)."""
        unit.position_xy = self.town.xy_km[patch]
        unit.back_at_base_min = back_at_base_min
        self._fleet.moved(unit)

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
        """The free capable unit with the shortest travel time; ties go to the longest free.

        Travel times of all free capable units are computed at once on the fleet's arrays, with
        the same arithmetic as :meth:`sim.department.Unit.travel_min`, so the choice is exactly
        the one a loop over units would make.
        """
        fleet, now = self._fleet, self.env.now
        departments = self._departments(job.capable)
        if sum(len(self.free.get(dept, ())) for dept in departments) <= SMALL_FLEET:
            candidates = [u for dept in departments for u in self.free.get(dept, ())]
            if not candidates:
                return None
            minutes = [u.travel_min(self.town, job.patch, now) for u in candidates]
            best = min(minutes)
            ties = [u for u, m in zip(candidates, minutes) if m == best]
        else:
            slots = self._slots[job.capable]
            free = slots[fleet.free[slots]]
            times = fleet.travel_min(free, job.patch, now)
            best = float(times.min())
            ties = [fleet.units[k] for k in free[times == best]]
        job.travel_min = best
        if len(ties) == 1:
            return ties[0]
        return min(ties, key=lambda u: (fleet.rank[u.department], u.free_seq))

    def _assign(self, unit: Unit, job: Job) -> None:
        del self.free[unit.department][unit]
        self._fleet.free[unit.slot] = False
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
            self._fleet.free[unit.slot] = False

    def _offer(self, unit: Unit) -> None:
        best_key, best_head = None, None
        for key in self.keys_for[unit.department]:
            queue = self.queues[key]
            if queue and (best_head is None or queue[0][:3] < best_head):
                best_key, best_head = key, queue[0][:3]
        if best_key is None:
            self._make_free(unit)
            return
        job = heapq.heappop(self.queues[best_key])[3]
        self._make_free(unit)
        self._assign(unit, job)

    def _make_free(self, unit: Unit) -> None:
        self.free[unit.department][unit] = None
        unit.free_seq = next(self._freed)
        self._fleet.free[unit.slot] = True


class _Fleet:
    """Every unit's position, speed and availability as arrays, for vectorised nearest-unit search.

    Units are numbered (``unit.slot``) by department name, then by their number in the
    department; :meth:`slots` gives the numbers of some departments' units in that order.
    """

    def __init__(self, units, town: Town):
        self.town = town
        self.units = sorted(units, key=lambda u: (u.department, u.index))
        self.rank = {d: r for r, d in enumerate(sorted({u.department for u in self.units}))}
        for slot, unit in enumerate(self.units):
            unit.slot = slot
        n = len(self.units)
        self.free = np.zeros(n, dtype=bool)
        pos = np.array([u.position_xy for u in self.units], dtype=float).reshape(n, 2)
        base = np.array([u.base_xy for u in self.units], dtype=float).reshape(n, 2)
        self.pos_x, self.pos_y = pos[:, 0].copy(), pos[:, 1].copy()
        self.base_x, self.base_y = base[:, 0].copy(), base[:, 1].copy()
        self.back_at = np.array([u.back_at_base_min for u in self.units], dtype=float)
        self.returns = np.array([not u.patrols for u in self.units], dtype=bool)
        self.setoff = np.array([u.setoff_min for u in self.units], dtype=float)
        self.speed = np.array([u.speed_kmh for u in self.units], dtype=float)
        self.department = np.array([u.department for u in self.units], dtype=object)

    def slots(self, departments) -> np.ndarray:
        """Slot numbers of the units of *departments* (in slot order)."""
        return np.flatnonzero(np.isin(self.department, list(departments))) if len(self.units) else np.array([], int)

    def moved(self, unit: Unit) -> None:
        """Copy a unit's new position and return time into the arrays."""
        self.pos_x[unit.slot], self.pos_y[unit.slot] = unit.position_xy
        self.back_at[unit.slot] = unit.back_at_base_min

    def travel_min(self, slots: np.ndarray, patch: int, now: float) -> np.ndarray:
        """Travel times (set-off included) of the units in *slots* to *patch*, from where each is now."""
        home = self.returns[slots] & (self.back_at[slots] <= now)
        px, py = self.town.centres[patch]
        dx = np.abs(np.where(home, self.base_x[slots], self.pos_x[slots]) - px)
        dy = np.abs(np.where(home, self.base_y[slots], self.pos_y[slots]) - py)
        straight = dx + dy if self.town.manhattan else np.hypot(dx, dy)
        return self.setoff[slots] + 60.0 * (straight * self.town.detour_factor) / self.speed[slots]
