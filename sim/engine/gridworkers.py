"""Grid management: workers who settle simple matters in their own grid.

Every higher-level grid of the territory has a few grid workers on duty during their hours.
A matter a grid can settle (mediation, advice) waits for the first free worker of its grid;
workers take matters first come, first served. Because requests reach the pool in time order,
the pool is kept as one heap of "free again at" times per grid: no events, no ticking.
"""

from __future__ import annotations

import heapq

import numpy as np

from sim.scenario.distributions import sample
from sim.scenario.schema import GridManagement

__all__ = ["GridWorkers"]


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
        self.free_at = [[0.0] * spec.workers_per_grid for _ in range(grids)]
        self.busy_min = 0.0

    def take(
        self, grid: int, now: float, rng: np.random.Generator, window: tuple[float, float]
    ) -> tuple[float, float, int]:
        """Give the matter to the grid's first free worker.

        Returns (start, done, worker index); *window* bounds the busy time counted for utilisation.
        """
        pool = self.free_at[grid]
        free = heapq.heappop(pool)
        start = self.hours.next_open(max(now, free))
        done = start + sample(self.spec.solve_min, rng)
        heapq.heappush(pool, done)
        low, high = window
        self.busy_min += max(0.0, min(done, high) - max(start, low))
        return start, done, self.spec.workers_per_grid - len(pool)

    def on_duty_min(self, start: float, end: float) -> float:
        """Worker-minutes on duty in [start, end] over all grids."""
        return self.hours.open_minutes_between(start, end) * self.spec.workers_per_grid * len(self.free_at)
