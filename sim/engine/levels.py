"""Command centres at several levels: which centres a report goes through before a unit is sent.

Each centre (``governance.centres``) serves some patches, by sector or higher-level grid, and has
a parent one level up. A report enters the lowest centre serving its patch (the deepest in the
tree of parents); an operator there handles it and either dispatches a unit or passes the
report up, where it queues again, and so on. A centre passes a report up when its incident type
is among the centre's ``passes_up``, or when one of the matter's jobs can be done by no
department the centre may send (``dispatches``). The route of a report is therefore fixed by
its patch and its jobs: :meth:`Levels.path` gives it, and the model walks it through the
centres' operators (:class:`~sim.engine.centre.Centre`).

The handling times are drawn ahead, per incident and level (:meth:`Levels.draw_handling`), from the
``levels`` stream: a report's path climbs the tree of parents from the centre serving its patch, so
the centre at a given depth of its path is the same in every mode (only how far up it goes may
differ), and the same report gets the same handling at the same centre in every mode (common
random numbers across modes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from sim.engine.centre import Centre
from sim.engine.clock import Clock
from sim.engine.territory import Town
from sim.scenario.distributions import sample, sampler
from sim.scenario.schema import CentreSpec, Governance

__all__ = ["Levels", "centre_key", "centre_levels", "depths"]


def centre_key(spec: CentreSpec) -> str:
    """The name under which a centre's operators appear in utilisation: ``centre:<name>``."""
    return f"centre:{spec.name}"


def centre_levels(specs: list[CentreSpec] | None) -> dict[str, str]:
    """Each centre's utilisation key (:func:`centre_key`) and its level, e.g. to show a level of many centres as one row."""
    return {centre_key(c): c.level for c in specs or ()}


def depths(specs: list[CentreSpec]) -> list[int]:
    """Each centre's depth in the tree of parents (the top centre 0); the specs must be checked (no cycles)."""
    index = {c.name: k for k, c in enumerate(specs)}
    out = []
    for spec in specs:
        depth, parent = 0, spec.parent
        while parent is not None:
            depth += 1
            parent = specs[index[parent]].parent
        out.append(depth)
    return out


def serves_patches(spec: CentreSpec, sector_names: list[str], grid_names: list[str], sector, grid) -> np.ndarray:
    """Whether each patch (by its sector and grid indices) is served by the centre *spec*."""
    if spec.serves == "all":
        return np.ones(len(sector), dtype=bool)
    if spec.serves.sectors is not None:
        wanted = [k for k, name in enumerate(sector_names) if name in set(spec.serves.sectors)]
        return np.isin(sector, wanted)
    wanted = [k for k, name in enumerate(grid_names) if name in set(spec.serves.grids or ())]
    return np.isin(grid, wanted)


class Levels:
    """The centres of a town, their operators and the route of each report through them.

    Parameters
    ----------
    env:
        The simulation's environment.
    governance:
        The scenario's governance, with ``centres`` given (and checked).
    town:
        The territory, for each patch's sector and grid.
    end_min, window:
        As for :class:`~sim.engine.centre.Centre`.
    """

    def __init__(self, env: Clock, governance: Governance, town: Town, end_min: float, window: tuple[float, float]):
        specs = governance.centres
        assert specs is not None  # only a town with centres has levels
        self.specs = specs
        index = {c.name: k for k, c in enumerate(specs)}
        self.parent = [None if c.parent is None else index[c.parent] for c in specs]
        self.keys = [centre_key(c) for c in specs]
        self.centres = [Centre(env, c, end_min, window) if c.operators is not None else None for c in specs]
        self._default = governance.instant.centre_min
        self.handling: list[Callable[[np.random.Generator], float]] = [
            sampler(governance.instant.centre_min if c.handling_min is None else c.handling_min) for c in specs
        ]
        self.passes_all = [c.passes_up == "all" for c in specs]
        self.passes_types = [frozenset(()) if c.passes_up == "all" else frozenset(c.passes_up) for c in specs]
        self.dispatches = [None if c.dispatches is None else frozenset(c.dispatches) for c in specs]
        self.depth = depths(specs)
        self.entry = self._entries(town)

    def draw_handling(self, patches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Every incident's handling at each centre above its patch, drawn ahead: ``out[depth, incident]``.

        Row *d* holds the minutes at the centre of depth *d* on the chain of parents from the
        centre serving the incident's patch (NaN below that centre). The draws depend only on the
        incidents (their patches), never on the mode or on the order in which reports come: the
        depths from the deepest up, at each the centres in the order of ``governance.centres``, each
        one vector of its own handling distribution for the incidents under it, in order of occurrence.
        """
        levels = max(self.depth) + 1
        entry = np.asarray(self.entry, dtype=np.int64)[patches]
        out = np.full((levels, len(patches)), np.nan)
        parents = np.asarray([-1 if p is None else p for p in self.parent] + [-1], dtype=np.int64)
        above = entry  # the centre at the current depth of each incident's chain (-1: none)
        for d in range(levels - 1, -1, -1):
            at_depth = np.where(self._depth_of(above) == d, above, -1)
            self._draw_at_depth(out[d], at_depth, d, rng)
            above = np.where(at_depth >= 0, parents[at_depth], above)
        return out

    def _draw_at_depth(self, row: np.ndarray, at_depth: np.ndarray, d: int, rng: np.random.Generator) -> None:
        """Fill *row* with the handling of each incident at its centre of depth *d* (*at_depth*; -1: none).

        The centres of depth *d* in the order of ``governance.centres``, each one vector for the incidents
        under it in order of occurrence. The incidents are grouped by centre with one stable sort, not
        one pass over every incident per centre (a city has hundreds of centres at its lowest level).
        """
        order = np.argsort(at_depth, kind="stable")  # by centre, each centre's incidents in order of occurrence
        ends = np.cumsum(np.bincount(at_depth + 1, minlength=len(self.specs) + 1)).tolist()  # bin 0: none
        for k in (k for k, depth in enumerate(self.depth) if depth == d):
            start, stop = ends[k], ends[k + 1]  # centre k's incidents: order[start:stop]
            if stop > start:
                spec = self.specs[k].handling_min
                row[order[start:stop]] = sample(self._default if spec is None else spec, rng, size=stop - start)

    def _depth_of(self, centres: np.ndarray) -> np.ndarray:
        """The depth of each centre index (-1 for none)."""
        return np.asarray([*self.depth, -1], dtype=np.int64)[centres]

    def _entries(self, town: Town) -> list[int]:
        """The lowest centre serving each patch (the checks make it unique and make one exist)."""
        depth = depths(self.specs)
        best = np.full(town.size, -1)
        best_depth = np.full(town.size, -1)
        for k, spec in enumerate(self.specs):
            served = serves_patches(spec, list(town.sector_names), list(town.grid_names), town.sector, town.grid)
            better = served & (depth[k] > best_depth)
            best[better], best_depth[better] = k, depth[k]
        return best.tolist()

    def passes_up(self, k: int, type_name: str, jobs: Iterable[frozenset[str]]) -> bool:
        """Whether centre *k* passes a matter of *type_name* with jobs *jobs* (capable departments) up."""
        if self.parent[k] is None:
            return False
        if self.passes_all[k] or type_name in self.passes_types[k]:
            return True
        may_send = self.dispatches[k]
        return may_send is not None and any(not (capable & may_send) for capable in jobs)

    def path(self, patch: int, type_name: str, jobs: Iterable[frozenset[str]]) -> tuple[int, ...]:
        """The centres a report goes through, lowest first: it is dispatched by the last one."""
        jobs = tuple(jobs)
        k = self.entry[patch]
        out = [k]
        while self.passes_up(k, type_name, jobs):
            k = self.parent[k]  # type: ignore[assignment]  # passes_up is False at the top
            out.append(k)
        return tuple(out)

    def busy_min(self) -> dict[str, float]:
        """Operator-minutes busy in the measured window, per staffed centre."""
        return {key: c.busy_min for key, c in zip(self.keys, self.centres) if c is not None}

    def on_duty_min(self, start: float, end: float) -> dict[str, float]:
        """Operator-minutes on duty in [start, end], per staffed centre."""
        return {key: c.on_duty_min(start, end) for key, c in zip(self.keys, self.centres) if c is not None}
