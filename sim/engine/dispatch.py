"""Dispatch: which free unit takes a job, and who waits when none is free.

A job is the part of a matter that one unit can do; it names the departments whose units may
legally do it (from :func:`sim.scenario.governance.capable_departments`). The dispatcher keeps, per
department, the free units on duty in the order they became free, and one priority queue per
set of capable departments. The selection rule is the ``dispatch`` lever, a name resolved through
:mod:`sim.registry` to a function of :mod:`sim.engine.rules`' contract; the two built-in values are

* ``own_queue`` -- the department desk's way: the unit that has been free longest takes it;
* ``nearest`` -- the centre's way: the free capable unit with the shortest travel time;

and they run through fast paths here that give exactly what their reference functions in
:mod:`sim.engine.rules` give. Any other rule (``least_loaded``, or one plugged in) is called with a
:class:`~sim.engine.rules.DispatchRequest` listing every free capable unit.

With borders closed (a mode's ``dispatch_across_borders: false``), the units of a department based
by sector (``home: sectors``) form one pool per sector, and a job may take only the pool of its own
patch's sector: the same searches, over fewer units, so ``nearest`` stays exact.

A unit that becomes free takes the most urgent, oldest job it may do. Work per decision does not
grow with the simulated time, and for ``nearest`` not with the size of the fleet either: a
department with many free units keeps them in a grid of map cells (:class:`_CellIndex`), and
the search looks outward from the incident only until no farther unit could be sooner.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.engine import rules
from sim.engine.department import Unit
from sim.engine.territory import Town
from sim.errors import Problem, ScenarioError
from sim.registry import resolve

__all__ = ["Job", "Dispatcher"]

SMALL_FLEET = 12
"""Up to this many free units, a department's units are compared one by one; above, through its cell index."""

FEW_FREE = SMALL_FLEET // 2
"""A map index in use is let go of when its pool is down to this many free units (built again when searched)."""

UNITS_PER_CELL = 2
"""About this many units of a department per cell of its map index."""

MAX_CELLS = 256
"""Most cells in a department's map index (the visiting order of each cell lists every cell)."""

VISIT_BLOCK = 256
"""Patches whose visiting orders are computed together, the first time one of them is searched from."""


@dataclass(eq=False, slots=True)
class Job:
    """A request for one unit to go to *patch* and do some parts of a matter (slotted: one per visit)."""

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
    incident_type: str = ""


class _NeverSeen(set):
    """A set that stays empty: with it, every free unit's travel time is computed."""

    def add(self, _element) -> None:
        """Keep nothing."""


_NEVER_SEEN = _NeverSeen()

_NO_PATCHES: dict = {}
"""What a map cell without free units holds (never written to)."""


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
        The dispatch rule's name: ``"own_queue"``, ``"nearest"``, another registered name or a
        dotted path ``module:function`` (:mod:`sim.registry`).
    queue_keys:
        Every set of capable departments a job can have (one queue each).
    bordered:
        Departments whose units may not cross their home sector's border (empty: borders open).
    """

    def __init__(
        self, env: simpy.Environment, town: Town, units, rule: str, queue_keys, bordered: frozenset[str] = frozenset()
    ):
        self.env = env
        self.town = town
        self.rule = resolve("dispatch_rules", rule).obj
        self.rule_name = rule
        _check_rule_takes_a_request(self.rule, rule)
        fast = {rules.own_queue: self._longest_free, rules.nearest: self._nearest}
        self.select = fast.get(self.rule, self._by_rule)
        self.bordered = bordered
        self.free: dict[str, dict[Unit, None]] = {}
        for unit in units:
            unit.pool = f"{unit.department}@{unit.home_sector}" if unit.department in bordered else unit.department
            self.free.setdefault(unit.pool, {})
        self._sorted: dict[tuple[frozenset[str], str], tuple[str, ...]] = {}
        members: dict[str, list[Unit]] = {pool: [] for pool in self.free}
        for unit in units:
            members[unit.pool].append(unit)
        self._uniform = {pool: _CellIndex.usable(m) for pool, m in members.items()}
        sectors = sorted(set(town.sector_names)) if bordered else [""]
        self.queues: dict[frozenset[str], list] = {
            frozenset(self._pools(key, sector)): [] for key in queue_keys for sector in sectors
        }
        self.keys_for: dict[str, list[frozenset[str]]] = {
            pool: [k for k in self.queues if pool in k] for pool in self.free
        }
        self._queue_of: dict[tuple[str, ...], list] = {}  # a job's pools -> its queue (made once per pools)
        self._queues_for = {pool: [self.queues[key] for key in keys] for pool, keys in self.keys_for.items()}
        self._open_pools: dict[frozenset[str], tuple[str, ...]] = {}  # borders open: capable -> pools
        self._here_min: dict[str, float] | None = None  # a town of one patch: see _nearest_in_one_patch
        if len(town.names) == 1:
            self._here_min = {
                pool: m[0].setoff_min + town.drive_min(0, 0, m[0].speed_kmh)
                for pool, m in members.items()
                if m and self._uniform[pool]
            }
        self._order = itertools.count()
        self._freed = itertools.count()
        self._cells: dict[str, _CellIndex] = {}
        if self.select == self._nearest and self._here_min is not None:
            self.select = self._nearest_in_one_patch
        if self.select == self._nearest:
            indexed = {d: m for d, m in members.items() if len(m) > SMALL_FLEET and _CellIndex.usable(m)}
            if not math.isfinite(town.reach_kmh(1.0)):
                indexed = {}  # a travel table with no straight-line bound: compare every free unit
            if indexed:
                cells = _MapCells(town, sum(map(len, indexed.values())) / len(indexed))
                self._cells = {dept: _CellIndex(cells, m, town) for dept, m in indexed.items()}

    # ------------------------------------------------------------------ requests

    def request(self, job: Job) -> Unit | None:
        """Ask for a unit: the unit if one is free now, else None and ``job.event`` fires with it later."""
        unit = self._finder_unit(job) if job.finder else None
        if unit is None:
            unit = self.select(job)
        else:
            job.on_the_spot = True
        if unit is not None:
            self._assign(unit, job)
            return unit
        job.event = self.env.event()
        pools = self._job_pools(job)
        queue = self._queue_of.get(pools)
        if queue is None:
            queue = self._queue_of[pools] = self.queues[frozenset(pools)]
        heapq.heappush(queue, (job.priority, job.requested_min, next(self._order), job))
        return None

    def waiting(self) -> int:
        """Jobs waiting for a unit."""
        return sum(len(q) for q in self.queues.values())

    def waiting_jobs(self) -> tuple[tuple[frozenset[str], float], ...]:
        """(capable departments, requested minute) of every job waiting for a unit."""
        return tuple((entry[3].capable, entry[1]) for queue in self.queues.values() for entry in queue)

    def _finder_unit(self, job: Job) -> Unit | None:
        """A free unit of the department whose patrol found the matter, if it may act: it is already there."""
        pool = self._pool(job.finder, self._sector(job)) if job.finder in job.capable else None
        if pool is not None and self.free.get(pool):
            unit = next(iter(self.free[pool]))
            cells = self._cells.get(pool)
            if cells is not None:  # out of the map index now rather than refiled at job.patch: it is about to go
                cells.remove(unit)
            unit.position_patch, unit.back_at_base_min = job.patch, self.env._now  # move() without the refiling
            return unit
        return None

    def move(self, unit: Unit, patch: int, back_at_base_min: float) -> None:
        """Record that *unit* stands at *patch* (and, if it returns to base, is home at *back_at_base_min*)."""
        cells = self._cells.get(unit.pool)
        filed = cells is not None and unit in cells.filed
        if filed and cells is not None:
            cells.remove(unit)
        unit.position_patch, unit.back_at_base_min = patch, back_at_base_min
        if filed and cells is not None:
            cells.add(unit, self.env._now)

    def _sector(self, job: Job) -> str:
        """The sector whose pools a job may take ("" with borders open)."""
        return self.town.patch_sector_names[job.patch] if self.bordered else ""

    def _pool(self, department: str, sector: str) -> str:
        """The pool of free units of *department* a job in *sector* may take."""
        return f"{department}@{sector}" if department in self.bordered else department

    def _pools(self, capable: frozenset[str], sector: str) -> tuple[str, ...]:
        """The pools of the capable departments in department name order, so ties break the same way everywhere."""
        ordered = self._sorted.get((capable, sector))
        if ordered is None:
            ordered = self._sorted[capable, sector] = tuple(self._pool(d, sector) for d in sorted(capable))
        return ordered

    def _job_pools(self, job: Job) -> tuple[str, ...]:
        """The pools a job may take (:meth:`_pools` of its capable departments and sector)."""
        if self.bordered:
            return self._pools(job.capable, self.town.patch_sector_names[job.patch])
        ordered = self._open_pools.get(job.capable)
        if ordered is None:
            ordered = self._open_pools[job.capable] = self._pools(job.capable, "")
        return ordered

    def _longest_free(self, job: Job) -> Unit | None:
        best = None
        for dept in self._job_pools(job):
            pool = self.free.get(dept)
            if pool:
                unit = next(iter(pool))
                if best is None or unit.idle_since_min < best.idle_since_min:
                    best = unit
        return best

    def _nearest(self, job: Job) -> Unit | None:
        """The free capable unit with the shortest travel time.

        Ties go to the department first in name order, then to the unit free longest.

        Departments are searched in name order and a later one must be strictly sooner to win.
        Within a department, few free units are compared one by one in the order they became
        free (so the first shortest time found wins the tie); many are searched through the
        department's cell index. Both use :meth:`sim.engine.department.Unit.travel_min`.
        """
        now, town, patch = self.env._now, self.town, job.patch
        best, chosen = math.inf, None
        # Town.drive_min inlined below when there is no travel table: the same operations in the same order
        centres, table, manhattan, detour = town.centres, town.travel_min, town.manhattan, town.detour_factor
        px, py = centres[patch]
        for dept in self._job_pools(job):
            pool = self.free.get(dept)
            if not pool:
                continue
            cells = self._cells.get(dept)
            if cells is not None and len(pool) > SMALL_FLEET:
                if not cells.active:
                    cells.activate(pool, now)
                minutes, unit = cells.nearest(patch, now, best)
                if minutes < best:
                    best, chosen = minutes, unit
                continue
            # Unit.travel_min, once per patch where free units stand when the pool's units share set-off and
            # speed (one department's): units standing at one patch are then equally far, and the first wins.
            seen: set[int] = set() if self._uniform[dept] else _NEVER_SEEN
            for unit in pool:
                here = unit.base if not unit.patrols and now >= unit.back_at_base_min else unit.position_patch
                if here in seen:
                    continue
                seen.add(here)
                if table is None:
                    x, y = centres[here]
                    dx, dy = abs(x - px), abs(y - py)
                    drive = 60.0 * ((dx + dy if manhattan else math.hypot(dx, dy)) * detour) / unit.speed_kmh
                    minutes = unit.setoff_min + drive
                else:
                    minutes = unit.setoff_min + town.drive_min(here, patch, unit.speed_kmh)
                if minutes < best:
                    best, chosen = minutes, unit
        if chosen is not None:
            job.travel_min = best
        return chosen

    def _nearest_in_one_patch(self, job: Job) -> Unit | None:
        """:meth:`_nearest` in a town of one patch, where every unit stands.

        The units of a pool sharing set-off and speed are then equally far (*here_min*, per pool): the
        unit free longest, first in the pool, is its only one to compare (as the cell index's bucket
        has it). A pool of mixed units is compared unit by unit.
        """
        best, chosen, town, free, here_min = math.inf, None, self.town, self.free, self._here_min
        assert here_min is not None  # chosen only in a town of one patch
        for dept in self._job_pools(job):
            pool = free.get(dept)
            if not pool:
                continue
            minutes = here_min.get(dept)
            if minutes is not None:
                if minutes < best:
                    best, chosen = minutes, next(iter(pool))
                continue
            for unit in pool:
                minutes = unit.setoff_min + town.drive_min(0, 0, unit.speed_kmh)
                if minutes < best:
                    best, chosen = minutes, unit
        if chosen is not None:
            job.travel_min = best
        return chosen

    def _by_rule(self, job: Job) -> Unit | None:
        """The unit a rule of :mod:`sim.engine.rules`' contract chooses among every free capable unit."""
        now, town, patch = self.env.now, self.town, job.patch
        departments = tuple(sorted(job.capable))
        free: dict[str, Unit] = {}
        units: list[rules.FreeUnit] = []
        for pool in self._job_pools(job):
            for unit in self.free.get(pool) or ():
                dept = unit.department
                here = unit.patch_at(now)
                x, y = town.centres[here]
                minutes = unit.travel_min(town, patch, now)
                free[unit.uid] = unit
                units.append(
                    rules.FreeUnit(
                        unit.uid,
                        dept,
                        here,
                        float(x),
                        float(y),
                        minutes,
                        unit.idle_since_min,
                        unit.worked_min,
                        unit.free_seq,
                    )
                )
        if not units:
            return None
        job_x, job_y = town.centres[patch]
        request = rules.DispatchRequest(
            job.incident_type, patch, float(job_x), float(job_y), job.priority, departments, now, tuple(units)
        )
        chosen = self.rule(request)
        if chosen is None:
            return None
        picked = free.get(getattr(chosen, "uid", ""))
        if picked is None or chosen not in units:
            message = (
                f"returned {chosen!r}, not one of the free units it was given (a FreeUnit of request.units, or None)"
            )
            raise ScenarioError([Problem(f"dispatch rule '{self.rule_name}'", None, "", message)])
        job.travel_min = chosen.travel_min
        return picked

    def _assign(self, unit: Unit, job: Job) -> None:
        """Send a free unit to *job*: it leaves its pool of free units (and the map index), then :meth:`_hand`.

        A map index whose pool is down to :data:`FEW_FREE` units is let go of: the pool is compared unit by
        unit until it has more than :data:`SMALL_FLEET` again, and the index is built afresh when next searched.
        """
        pool = self.free[unit.pool]
        del pool[unit]
        cells = self._cells.get(unit.pool)
        if cells is not None and cells.active:
            cells.remove(unit)
            if len(pool) <= FEW_FREE:
                cells.deactivate()
        self._hand(unit, job)

    @staticmethod
    def _hand(unit: Unit, job: Job) -> None:
        """Make *unit* busy with *job* and tell whoever waits for it."""
        unit.busy = True
        job.unit = unit
        if job.event is not None:
            job.event.succeed(unit)

    # ------------------------------------------------------------------ units

    def release(self, unit: Unit) -> None:
        """A unit finished a job: give it the next job it may do, or mark it free."""
        now = self.env._now
        unit.busy = False
        unit.worked_min += now - unit.busy_since_min
        unit.idle_since_min = now
        if unit.on_duty:
            self._offer(unit)

    def release_at(self, unit: Unit, patch: int, back_at_base_min: float) -> None:
        """A unit finished a job at *patch*: :meth:`move` there, then :meth:`release` (one call per job)."""
        cells = self._cells.get(unit.pool)
        if cells is not None and unit in cells.filed:  # not while busy: a dispatched unit leaves the map index
            self.move(unit, patch, back_at_base_min)
        else:
            unit.position_patch, unit.back_at_base_min = patch, back_at_base_min
        now = self.env._now
        unit.busy = False
        unit.worked_min += now - unit.busy_since_min
        unit.idle_since_min = now
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
            pool = self.free[unit.pool]
            pool.pop(unit, None)
            cells = self._cells.get(unit.pool)
            if cells is not None and cells.active:
                cells.remove(unit)
                if len(pool) <= FEW_FREE:
                    cells.deactivate()

    def set_on_duty_many(self, units, on_duty: int) -> None:
        """Put the *units* with ``index < on_duty`` on duty and the others off: :meth:`set_on_duty` for each in turn.

        A unit coming on duty while jobs wait for its pool is offered them at once, in the units' order. The
        others only change the pools of free units: they are filed in (or taken out of) the map index in bulk,
        one pass per bucket, which gives the index :meth:`set_on_duty` one unit at a time would give (a bucket
        is ordered by ``free_seq``, handed out here in the units' order).
        """
        now, free, queues, keys_for = self.env.now, self.free, self.queues, self.keys_for
        joining: dict[str, list[Unit]] = {}
        leaving: dict[str, list[Unit]] = {}
        for unit in units:
            duty = unit.index < on_duty
            if unit.on_duty == duty:
                continue
            unit.on_duty = duty
            if unit.busy:
                continue
            pool = unit.pool
            if not duty:
                free[pool].pop(unit, None)
                leaving.setdefault(pool, []).append(unit)
                continue
            unit.idle_since_min = now
            if any(queues[key] for key in keys_for[pool]):  # queues only shrink here: later units find them so
                self._offer(unit)
                continue
            free[pool][unit] = None
            unit.free_seq = next(self._freed)
            joining.setdefault(pool, []).append(unit)
        for pool, gone in leaving.items():
            if (cells := self._cells.get(pool)) is not None and cells.active:
                cells.remove_many(gone)
                if len(free[pool]) <= FEW_FREE:
                    cells.deactivate()
        for pool, come in joining.items():
            if (cells := self._cells.get(pool)) is not None:
                cells.add_many(come, now)

    def _offer(self, unit: Unit) -> None:
        """Give a unit that came free the most urgent, oldest job waiting that it may do, or mark it free.

        A unit that takes a waiting job at once never enters its pool of free units nor the map index
        (being put in and taken out again would leave both as they were); it still draws its ``free_seq``,
        so the numbers handed out stay those of every unit becoming free in turn.
        """
        best, head = None, None
        for queue in self._queues_for[unit.pool]:  # the queues of keys_for[unit.pool], in that order
            # entries (priority, requested, order, job): the order is unique, so the job is never compared
            if queue and (head is None or queue[0] < head):
                best, head = queue, queue[0]
        unit.free_seq = next(self._freed)
        if best is None:
            self.free[unit.pool][unit] = None  # free, last in its pool (the order it became free in)
            cells = self._cells.get(unit.pool)
            if cells is not None and cells.active:
                cells.add(unit, self.env._now)
            return
        job = heapq.heappop(best)[3]
        if self._here_min is not None:  # a town of one patch: the unit's travel is its pool's (or None: mixed)
            job.travel_min = self._here_min.get(unit.pool)
        self._hand(unit, job)


class _MapCells:
    """The map cut into square cells, and from each patch the order to visit them in.

    The cells cover the box around all patch centres, about :data:`UNITS_PER_CELL` units of a
    department per cell (for the departments that use them) and at most :data:`MAX_CELLS` cells.
    From a patch, cells are visited in order of the least road distance from the patch centre
    to any point of the cell (a lower bound: road distance is never shorter than the straight
    line, nor than the Manhattan distance). The bound is shrunk by a nanometre so that rounding
    can only make a search look further, never miss a unit.
    """

    def __init__(self, town: Town, units_per_department: float):
        xy = np.asarray(town.centres, dtype=float).reshape(-1, 2)
        self.x0, self.y0 = xy.min(axis=0)
        width, height = xy.max(axis=0) - (self.x0, self.y0)
        cells = min(max(1.0, units_per_department / UNITS_PER_CELL), MAX_CELLS)
        side = max(math.sqrt(width * height / cells), max(width, height) / cells)
        self.side = float(side) if side > 0 else 1.0
        self.nx, self.ny = int(width / self.side) + 1, int(height / self.side) + 1
        self.centres, self.detour = town.centres, town.detour_factor
        self.patch_cell = [self._cell(x, y) for x, y in town.centres]
        i, j = np.divmod(np.arange(self.nx * self.ny), self.ny)
        self._lo_x, self._lo_y = self.x0 + i * self.side, self.y0 + j * self.side
        self.xy = xy
        self.visits: list[tuple[list[float], list[int]] | None] = [None] * len(xy)  # filled by visiting()

    def _cell(self, x: float, y: float) -> int:
        i = min(max(int((x - self.x0) / self.side), 0), self.nx - 1)
        j = min(max(int((y - self.y0) / self.side), 0), self.ny - 1)
        return i * self.ny + j

    def visiting(self, patch: int) -> tuple[list[float], list[int]]:
        """(least road km, cell) of every cell from *patch*, nearest first (then kept in ``visits``).

        Computed for a block of :data:`VISIT_BLOCK` patches at a time, one numpy pass for them all:
        a pass per patch cost more than the searches of a town with many cells. The operations are
        element by element, so each patch gets the numbers a pass of its own would give.
        """
        order = self.visits[patch]
        if order is None:
            start = patch - patch % VISIT_BLOCK
            px, py = self.xy[start : start + VISIT_BLOCK, :1], self.xy[start : start + VISIT_BLOCK, 1:]
            lo_x, lo_y, side = self._lo_x, self._lo_y, self.side
            gap_x = np.maximum(0.0, np.maximum(lo_x - px, px - (lo_x + side)))
            gap_y = np.maximum(0.0, np.maximum(lo_y - py, py - (lo_y + side)))
            km = np.maximum(0.0, np.hypot(gap_x, gap_y) * (1 - 1e-9) - 1e-9) * self.detour
            nearest_first = np.argsort(km, axis=1, kind="stable")
            least = np.take_along_axis(km, nearest_first, axis=1)
            self.visits[start : start + len(km)] = zip(least.tolist(), nearest_first.tolist())
            order = self.visits[patch]
            assert order is not None
        return order


class _CellIndex:
    """The free units of one department, filed by where they stand, for nearest-unit search.

    Units only ever stand at patch centres (a base, or their last job). The free units at one
    patch form a :class:`_Bucket`, ordered by when they became free: they are equally far from
    anything, so only the first can win a search. A unit alone at its patch (most units at their
    last job) is filed as itself, without a bucket. Every operation on a bucket costs O(log n) or
    less, whatever the number of units at one base (a shift change moves thousands at once).
    Patches are grouped into the cells of a :class:`_MapCells` (``cells``: cell -> patch -> bucket,
    only the occupied ones). A unit that heads home after a job counts as standing at its last job
    until it is back at base (as :meth:`sim.engine.department.Unit.patch_at` has it); a heap of
    those return times (``returning``) refiles it, lazily, before each search. The clock only moves
    forward, so each return is handled once; entries of units since dispatched are dropped in bulk
    when they outnumber the units filed, so the heap stays bounded however rarely the index is searched.

    A search visits cells nearest first and stops at the first cell that no unit could reach
    as soon as the best unit found: no unit beyond can be sooner or equal. All units of the
    department share set-off time and speed (:meth:`usable`), so the search finds exactly the
    unit a comparison of every free unit would.

    The index is kept up only while it is in use (``active``): it is built from the pool's free units
    at the first search of a pool grown past :data:`SMALL_FLEET` (:meth:`activate`) and let go of when
    the pool is down to :data:`FEW_FREE` (:meth:`deactivate`, as a unit is sent or goes off duty). A department whose free units stay few
    (most towns' fleets, most of the time) then pays nothing per job for it, and each build files at
    most the units freed since the last let-go plus :data:`FEW_FREE`: its cost is spread over the jobs.
    While inactive, :meth:`add` and :meth:`add_many` file nothing and the structures stay empty.
    """

    def __init__(self, cells: _MapCells, units: list[Unit], town: Town):
        self.map = cells
        self.patch_cell = cells.patch_cell
        self.setoff, self.speed = units[0].setoff_min, units[0].speed_kmh
        self.town = town
        self.reach = town.reach_kmh(self.speed)  # turns least road km into least minutes (a travel table's bound)
        self.cells: dict[int, dict[int, Unit | _Bucket]] = {}
        self.filed: dict[Unit, int] = {}
        self.returning: list[tuple[float, int, Unit]] = []
        self._order = itertools.count()
        self.active = False

    def activate(self, pool: dict[Unit, None], now: float) -> None:
        """Start keeping the index: file every free unit of *pool* (in the order they became free)."""
        self.active = True
        self.add_many(list(pool), now)

    def deactivate(self) -> None:
        """Stop keeping the index and let go of what it holds (:meth:`activate` builds it again)."""
        self.active = False
        self.cells.clear()
        self.filed.clear()
        self.returning.clear()

    @staticmethod
    def usable(units: list[Unit]) -> bool:
        """Whether *units* share set-off time and speed (as the units of one department do)."""
        return len({(u.setoff_min, u.speed_kmh) for u in units}) == 1

    def add(self, unit: Unit, now: float) -> None:
        """File a free unit under the patch where it stands at *now* (:meth:`Unit.patch_at`; nothing while inactive)."""
        if not self.active:
            return
        if unit.patrols:
            self._file(unit, unit.position_patch)
        elif now >= unit.back_at_base_min:
            self._file(unit, unit.base)
        else:  # heading home: at its last job until back_at_base_min
            self._file(unit, unit.position_patch)
            returning = self.returning
            heapq.heappush(returning, (unit.back_at_base_min, next(self._order), unit))
            if len(returning) > 2 * len(self.filed) + 8:
                self._drop_dispatched()

    def _file(self, unit: Unit, patch: int) -> None:
        """Put *unit* in the bucket of *patch*."""
        cell = self.patch_cell[patch]
        patches = self.cells.get(cell)
        if patches is None:
            patches = self.cells[cell] = {}
        held = patches.get(patch)
        if held is None:
            patches[patch] = unit  # alone at its patch, as most units at their last job are: no bucket
        elif isinstance(held, _Bucket):
            held.add(unit)
        else:
            patches[patch] = _Bucket.of(held, unit)
        self.filed[unit] = patch

    def _unfile(self, unit: Unit, patch: int) -> None:
        """Take *unit* out of the bucket of *patch* (it must be there), and drop emptied buckets and cells."""
        cell = self.patch_cell[patch]
        patches = self.cells[cell]
        held = patches[patch]
        if isinstance(held, _Bucket):
            held.remove(unit)
            if held.live:
                return
        del patches[patch]
        if not patches:
            del self.cells[cell]

    def add_many(self, units: list[Unit], now: float) -> None:
        """:meth:`add` for each of *units* (free in this order), a bucket at a time."""
        if not self.active:
            return
        at: dict[int, list[Unit]] = {}
        for unit in units:
            at.setdefault(unit.patch_at(now), []).append(unit)
        patch_cell, filed = self.patch_cell, self.filed
        for patch, group in at.items():
            patches = self.cells.setdefault(patch_cell[patch], {})
            held = patches.get(patch)
            if held is None and len(group) == 1:
                patches[patch] = group[0]
            else:
                if not isinstance(held, _Bucket):
                    held = patches[patch] = _Bucket.of(held) if held is not None else _Bucket()
                held.add_many(group)
            filed.update(dict.fromkeys(group, patch))
        for unit in units:
            if not unit.patrols and now < unit.back_at_base_min:
                heapq.heappush(self.returning, (unit.back_at_base_min, next(self._order), unit))
        if len(self.returning) > 2 * len(filed) + 8:
            self._drop_dispatched()

    def remove_many(self, units: list[Unit]) -> None:
        """:meth:`remove` for each of *units*, a bucket at a time."""
        at: dict[int, list[Unit]] = {}
        filed = self.filed
        for unit in units:
            patch = filed.pop(unit, None)
            if patch is not None:
                at.setdefault(patch, []).append(unit)
        for patch, group in at.items():
            cell = self.patch_cell[patch]
            patches = self.cells[cell]
            held = patches[patch]
            if isinstance(held, _Bucket):
                held.remove_many(group)
                if held:
                    continue
            del patches[patch]  # emptied (a lone unit: the group is that unit)
            if not patches:
                del self.cells[cell]

    def remove(self, unit: Unit) -> None:
        """Take a unit out (dispatched, or off duty)."""
        patch = self.filed.pop(unit, None)
        if patch is not None:
            self._unfile(unit, patch)

    def _settle(self, now: float) -> None:
        """Refile the free units that are back at base by *now* (still first in their order: ``free_seq`` stays)."""
        returning, filed = self.returning, self.filed
        while returning and returning[0][0] <= now:
            back_at, _, unit = heapq.heappop(returning)
            patch = filed.get(unit)
            if patch is not None and unit.back_at_base_min == back_at and patch != unit.base:
                self._unfile(unit, patch)
                self._file(unit, unit.base)

    def _drop_dispatched(self) -> None:
        """Drop the return times of units no longer filed, or filed since with another return time.

        Such entries would be skipped by :meth:`_settle` anyway; without a search to pop them (a
        department whose free units stay few is compared unit by unit) they would pile up.
        """
        filed = self.filed
        kept = {e[2]: e for e in self.returning if e[2] in filed and e[2].back_at_base_min == e[0]}  # one per unit
        self.returning = list(kept.values())
        heapq.heapify(self.returning)

    def nearest(self, patch: int, now: float, beat: float) -> tuple[float, Unit | None]:
        """The soonest free unit to *patch* if it takes at most *beat* minutes: (minutes, unit).

        Ties go to the unit free longest. Returns ``(inf, None)`` when no unit is that soon.
        Without a travel table, Town.drive_min is inlined: the same operations in the same order,
        so the minutes are :meth:`sim.engine.department.Unit.travel_min`'s to the last bit. Ties
        are rare, so a bucket's first unit is looked up only when its patch is as soon as the best.
        """
        returning = self.returning
        if returning and returning[0][0] <= now:
            self._settle(now)
        town = self.town
        least_km, order = self.map.visits[patch] or self.map.visiting(patch)
        cells, best, chosen, setoff, speed, reach = self.cells, math.inf, None, self.setoff, self.speed, self.reach
        reach_km = (beat - setoff) * reach / 60.0  # road km a unit may cover to be no later than beat
        table, drive_min = town.travel_min, town.drive_min
        centres, manhattan, detour, hypot = town.centres, town.manhattan, town.detour_factor, math.hypot
        px, py = centres[patch]
        for km, cell in zip(least_km, order):
            if km > reach_km:
                break
            for here, held in cells.get(cell, _NO_PATCHES).items():  # a unit, or a bucket of units, at *here*
                if table is None:
                    x, y = centres[here]
                    dx, dy = abs(x - px), abs(y - py)
                    minutes = setoff + 60.0 * ((dx + dy if manhattan else hypot(dx, dy)) * detour) / speed
                else:
                    minutes = setoff + drive_min(here, patch, speed)
                if minutes < best:
                    best, chosen = minutes, held.first()[1] if isinstance(held, _Bucket) else held
                    reach_km = (min(best, beat) - setoff) * reach / 60.0
                elif minutes == best and chosen is not None:
                    first = held.first() if isinstance(held, _Bucket) else (held.free_seq, held)
                    if first[0] < chosen.free_seq:
                        chosen = first[1]
        if best > beat:
            return math.inf, None
        return best, chosen


class _Bucket:
    """The free units standing at one patch, first the one free longest (least ``free_seq``).

    A heap of ``(free_seq, unit)`` with lazy deletion: :meth:`add` and :meth:`remove` cost
    O(log n) amortised and :meth:`first` O(1) amortised, however many units share the patch.
    ``live`` maps each unit in the bucket to the ``free_seq`` it was filed with; a heap entry
    that does not match it is stale and is dropped when it reaches the top, and the heap is
    rebuilt when stale entries outnumber live ones, so it never holds more than about twice
    the units. A plain sorted list made taking one unit out of a base of n units cost O(n), and
    a shift change at a base O(n^2).
    """

    __slots__ = ("heap", "live", "top")

    def __init__(self) -> None:
        self.live: dict[Unit, int] = {}
        self.heap: list[tuple[int, Unit]] = []
        self.top = -1  # no entry of the heap, stale or live, has a greater free_seq

    def __len__(self) -> int:
        return len(self.live)

    @classmethod
    def of(cls, *units: Unit) -> _Bucket:
        """A bucket holding *units*, each under its current ``free_seq``."""
        bucket = cls()
        for unit in units:
            bucket.add(unit)
        return bucket

    def add(self, unit: Unit) -> None:
        """File *unit* (under its current ``free_seq``)."""
        seq = self.live[unit] = unit.free_seq
        if seq > self.top:
            self.top = seq
        heap = self.heap
        heapq.heappush(heap, (seq, unit))
        if len(heap) > 2 * len(self.live) + 8:  # _compact_if_stale, tested here: once per job
            self._compact_if_stale()

    def remove(self, unit: Unit) -> None:
        """Take *unit* out."""
        live = self.live
        del live[unit]
        if len(self.heap) > 2 * len(live) + 8:
            self._compact_if_stale()

    def add_many(self, units: list[Unit]) -> None:
        """:meth:`add` for each of *units*.

        Units freed after every entry of the heap, in order (rising ``free_seq``), extend the heap as they
        are: each lands below entries earlier than itself, so the heap needs no sifting.
        """
        live, heap = self.live, self.heap
        seqs = [unit.free_seq for unit in units]
        if seqs and seqs[0] > self.top and all(a < b for a, b in itertools.pairwise(seqs)):
            live.update(zip(units, seqs))
            heap.extend(zip(seqs, units))
            self.top = seqs[-1]
            self._compact_if_stale()
            return
        for unit in units:
            self.add(unit)

    def remove_many(self, units: list[Unit]) -> None:
        """:meth:`remove` for each of *units*."""
        live = self.live
        for unit in units:
            del live[unit]
        self._compact_if_stale()

    def first(self) -> tuple[int, Unit]:
        """``(free_seq, unit)`` of the unit free longest (the bucket must not be empty)."""
        heap, live = self.heap, self.live
        while live.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0]

    def _compact_if_stale(self) -> None:
        if len(self.heap) > 2 * len(self.live) + 8:
            self.heap = [(seq, unit) for unit, seq in self.live.items()]
            heapq.heapify(self.heap)


def _check_rule_takes_a_request(rule, name: str) -> None:
    """A dispatch rule is called with one argument, the request: refuse at once a function that cannot be."""
    try:
        signature = inspect.signature(rule)
    except (TypeError, ValueError):  # a callable without a signature to read: it will tell when called
        return
    try:
        signature.bind(None)
    except TypeError:
        message = f"must take one argument (a sim.engine.rules.DispatchRequest); it takes {signature}"
        raise ScenarioError([Problem(f"dispatch rule '{name}'", None, "", message)]) from None
