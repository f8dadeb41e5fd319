"""Grid management: workers who settle simple matters in their own grid.

Every higher-level grid of the territory has a few grid workers on duty during their hours.
A matter a grid can settle (mediation, advice) waits for the first free worker of its grid;
workers take matters first come, first served. Because requests reach the pool in time order,
the pool is kept as one heap of "free again at" times per grid: no events, no ticking.
"""

from __future__ import annotations

import heapq

import numpy as np

from sim.engine.centre import Centre
from sim.engine.clock import Clock
from sim.scenario.distributions import sample, sampler
from sim.scenario.schema import CentreSpec, GridManagement

__all__ = ["GridWorkers", "GridLeaders", "GRID_LEADERS"]

GRID_LEADERS = "grid_leaders"
"""The name under which grid leaders appear in utilisation."""


class GridWorkers:
    """The grid workers of every grid.

    Parameters
    ----------
    spec:
        The scenario's grid management.
    grids:
        Number of higher-level grids in the territory.
    """

    def __init__(self, spec: GridManagement, grids: int):
        self.spec = spec
        self.hours = spec.hours.weekly()
        self._solve = sampler(spec.solve_min)  # the same draws as ``sample``, made once
        self.free_at = [[0.0] * spec.workers_per_grid for _ in range(grids)]
        self.busy_min = 0.0
        self._ahead: tuple[np.ndarray, bytearray, np.random.Generator] | None = None

    def draw_ahead(self, incidents: int, rng: np.random.Generator, later: np.random.Generator) -> None:
        """Draw every incident's first solving minutes before the run (one vector from *rng*): the same in every mode.

        A matter's first visit by a grid worker takes its own; a later one (a reopened case sent back
        to the grid) draws from *later*, in order, in place of the stream :meth:`take` is given.
        """
        self._ahead = (sample(self.spec.solve_min, rng, size=incidents), bytearray(incidents), later)

    def let_go(self) -> None:
        """Drop the minutes drawn ahead (the run is over)."""
        self._ahead = None

    def take(
        self, grid: int, now: float, rng: np.random.Generator, window: tuple[float, float], incident: int = -1
    ) -> tuple[float, float, int]:
        """Give the matter (*incident*) to the grid's first free worker.

        Returns (start, done, worker index); *window* bounds the busy time counted for utilisation.
        """
        pool = self.free_at[grid]
        free = heapq.heappop(pool)
        start = self.hours.next_open(max(now, free))
        done = start + self._solve_min(rng, incident)
        heapq.heappush(pool, done)
        low, high = window
        self.busy_min += max(0.0, min(done, high) - max(start, low))
        return start, done, self.spec.workers_per_grid - len(pool)

    def _solve_min(self, rng: np.random.Generator, incident: int) -> float:
        """The minutes of a visit: *incident*'s first drawn ahead, else drawn in order."""
        ahead = self._ahead
        if ahead is not None:
            minutes, visited, later = ahead
            if incident >= 0 and not visited[incident]:
                visited[incident] = 1
                return minutes.item(incident)
            rng = later
        return float(self._solve(rng))

    def on_duty_min(self, start: float, end: float) -> float:
        """Worker-minutes on duty in [start, end] over all grids."""
        return self.hours.open_minutes_between(start, end) * self.spec.workers_per_grid * len(self.free_at)


class GridLeaders:
    """Grid leaders, one per ``grids_per_leader`` consecutive grids, each handling one report at a time.

    Each leader is a :class:`~sim.engine.centre.Centre` of one operator working the leaders' hours:
    reports wait in order of priority while the leader is busy or off duty.

    Parameters
    ----------
    env:
        The simulation's environment.
    spec:
        The scenario's grid management, with ``leaders`` given.
    grids:
        Number of higher-level grids in the territory.
    end_min, window:
        As for :class:`~sim.engine.centre.Centre`.
    """

    def __init__(self, env: Clock, spec: GridManagement, grids: int, end_min: float, window: tuple[float, float]):
        leaders = spec.leaders
        assert leaders is not None  # only a town with grid leaders builds them
        self.per = leaders.grids_per_leader
        one = CentreSpec(name="grid_leader", operators=1, centre_hours=leaders.hours or spec.hours)
        self.leaders = [Centre(env, one, end_min, window) for _ in range(-(-grids // self.per))]
        self.handling_min = sampler(leaders.handling_min)

    def of_grid(self, grid: int) -> tuple[Centre, str]:
        """The leader answering for *grid*, and its name (``grid-leader-3``)."""
        k = grid // self.per
        return self.leaders[k], f"grid-leader-{k + 1}"

    def busy_min(self) -> float:
        """Leader-minutes busy in the measured window, all leaders."""
        return sum(leader.busy_min for leader in self.leaders)

    def on_duty_min(self, start: float, end: float) -> float:
        """Leader-minutes on duty in [start, end], all leaders."""
        return sum(leader.on_duty_min(start, end) for leader in self.leaders)
