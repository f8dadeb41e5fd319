"""The town's ground: patches, the sectors and grids they belong to, and travel between them.

A patch is the simulation's spatial unit (a grid cell or patrol patch). Incidents happen in
patches in proportion to their weights; units travel between patch centres at their speed,
along roads that are ``detour_factor`` times longer than the straight line, after a set-off
time. Positions are kilometres; times are minutes.

A town may instead carry a table of driving minutes between patches (built from a road network
by :mod:`sim.io.gis`, handed in as plain data with the scenario's ``travel``); travel then takes
the table's minutes after the set-off time, and a department's ``speed_kmh`` is not used for
driving. :attr:`Town.bound_kmh` is the fastest straight-line speed the table implies, so that the
nearest-unit search can still rule out far cells (see :meth:`Town.reach_kmh`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.scenario.schema import Territory, Travel

__all__ = ["Town", "build_town", "camera_view"]


@dataclass(frozen=True, eq=False)
class Town:
    """Compiled territory: arrays indexed by patch number.

    Attributes
    ----------
    names:
        Patch names.
    xy_km:
        Patch centres, shape (n, 2), km.
    weights:
        Incident shares per patch, summing to 1.
    sector, grid:
        Index of each patch's patrol sector and higher-level grid.
    sector_names, grid_names:
        Names of the sectors and grids.
    patch_km:
        Side of a patch, km.
    detour_factor:
        Road distance over straight-line distance.
    manhattan:
        Whether straight-line distance is measured along the axes.
    travel_min:
        Driving minutes between patches (n x n, read-only), or None for straight line x detour.
    camera_view:
        Whether a camera sees each patch (``territory.cameras``), or None: no camera locations
        given, the camera channel reaches every patch.
    """

    names: tuple[str, ...]
    xy_km: np.ndarray
    weights: np.ndarray
    sector: np.ndarray
    grid: np.ndarray
    sector_names: tuple[str, ...]
    grid_names: tuple[str, ...]
    patch_km: float
    detour_factor: float
    manhattan: bool
    travel_min: np.ndarray | None = None
    camera_view: np.ndarray | None = None
    # Derived in __post_init__ (not fields): patch centres as plain tuples, each patch's sector name.
    centres: list[tuple[float, float]] = field(init=False, repr=False)
    patch_sector_names: tuple[str, ...] = field(init=False, repr=False)
    bound_kmh: float = field(init=False, repr=False)

    @property
    def size(self) -> int:
        """Number of patches."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Patch number of the patch called *name* (``'centre'``: the patch nearest the centroid)."""
        if name == "centre":
            centroid = self.xy_km.mean(axis=0)
            return int(np.argmin(((self.xy_km - centroid) ** 2).sum(axis=1)))
        return self.names.index(name)

    def road_km_from(self, x: float, y: float, patch: int) -> float:
        """Road distance (km) from the point (x, y) to a patch centre, for one unit (no arrays)."""
        px, py = self.centres[patch]
        dx, dy = abs(x - px), abs(y - py)
        return (dx + dy if self.manhattan else math.hypot(dx, dy)) * self.detour_factor

    def road_km_between(self, a: int, b: int) -> float:
        """Road distance (km) between two patch centres."""
        x, y = self.centres[a]
        return self.road_km_from(x, y, b)

    def __post_init__(self):
        """Derive the per-patch tables once."""
        # Patch centres as plain tuples and each patch's sector name: fast to index one at a time.
        object.__setattr__(self, "centres", [(float(x), float(y)) for x, y in self.xy_km])
        object.__setattr__(self, "patch_sector_names", tuple(self.sector_names[s] for s in self.sector.tolist()))
        object.__setattr__(self, "bound_kmh", _bound_kmh(self.xy_km, self.travel_min))

    def drive_min(self, a: int, b: int, speed_kmh: float) -> float:
        """Driving minutes from patch *a* to patch *b* at *speed_kmh* (set-off not included).

        With a travel table, the table's minutes (the speed is the road network's); else
        ``60 * road km / speed``.
        """
        if self.travel_min is not None:
            return float(self.travel_min[a, b])
        # road_km_between inlined (called several times per job): the same operations in the same order
        (x, y), (px, py) = self.centres[a], self.centres[b]
        dx, dy = abs(x - px), abs(y - py)
        return 60.0 * ((dx + dy if self.manhattan else math.hypot(dx, dy)) * self.detour_factor) / speed_kmh

    def reach_kmh(self, speed_kmh: float) -> float:
        """The speed that turns a lower bound of road km into a lower bound of driving minutes.

        Road km are straight-line km x :attr:`detour_factor` at least; without a table a unit
        covers them at *speed_kmh*. With a table, driving from *a* to *b* takes at least
        ``60 * straight km / bound_kmh`` minutes, so at least road km / (bound_kmh x detour).
        """
        if self.travel_min is None:
            return speed_kmh
        return self.bound_kmh * self.detour_factor

    def patches_in_sector(self) -> np.ndarray:
        """Number of patches in each sector."""
        return np.bincount(self.sector, minlength=len(self.sector_names))


def build_town(territory: Territory, travel: Travel | None = None) -> Town:
    """Compile a validated :class:`~sim.scenario.schema.Territory` into a :class:`Town`.

    With *travel*, its table (built by the loader) gives the driving minutes between patches.

    Raises
    ------
    ScenarioError
        If the territory's GIS layer or the travel table has not been read (the scenario was not
        loaded through :func:`sim.load_scenario` or :func:`sim.scenario_from_dict`).
    """
    if territory.patches is None and territory.gis is not None:
        message = "the GIS layer has not been read; load the scenario with sim.load_scenario or sim.scenario_from_dict"
        raise ScenarioError([Problem("<scenario>", None, "territory.gis", message)])
    town = _from_patches(territory) if territory.patches is not None else _from_grid(territory)
    if territory.cameras is not None:
        town = Town(**{**_fields(town), "camera_view": camera_view(town.xy_km, territory.cameras)})
    if travel is None:
        return town
    table = travel.table
    if table is None or tuple(table.names) != town.names:
        message = "the travel table has not been built for these patches; load the scenario with sim.load_scenario"
        raise ScenarioError([Problem("<scenario>", None, "travel", message)])
    minutes = np.asarray(table.minutes)
    if minutes.flags.writeable:
        minutes = minutes.copy()
        minutes.setflags(write=False)
    return Town(**{**_fields(town), "travel_min": minutes})


def camera_view(xy_km: np.ndarray, cameras) -> np.ndarray:
    """Whether each patch centre lies within ``cameras.view_radius_km`` (straight line) of a camera.

    Raises
    ------
    ScenarioError
        If the cameras' points have not been read from their layer.
    """
    if cameras.points is None:
        message = "the cameras' layer has not been read; load the scenario with sim.load_scenario"
        raise ScenarioError([Problem("<scenario>", None, "territory.cameras", message)])
    at = np.array([[c.x_km, c.y_km] for c in cameras.points], dtype=float)
    km = np.hypot(xy_km[:, None, 0] - at[None, :, 0], xy_km[:, None, 1] - at[None, :, 1])
    view = (km <= cameras.view_radius_km).any(axis=1)
    view.setflags(write=False)
    return view


def _fields(town: Town) -> dict:
    return {name: getattr(town, name) for name, spec in Town.__dataclass_fields__.items() if spec.init}


def _bound_kmh(xy_km: np.ndarray, minutes: np.ndarray | None) -> float:
    """The least speed V with ``minutes[a, b] >= 60 * |xy[a] - xy[b]| / V`` for every pair (inf if none).

    Computed from the table itself, so it holds by construction: it is the fastest straight-line
    speed any trip in the table implies. A trip of 0 minutes between distinct places gives inf
    (no bound: a nearest search must then compare every unit). Rows are taken in blocks to bound
    memory; the result is raised by one part in a million so that rounding cannot break it.
    """
    if minutes is None or len(xy_km) < 2:
        return math.inf
    n, fastest = len(xy_km), 0.0
    block = max(1, 2_000_000 // n)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        km = np.hypot(xy_km[rows, None, 0] - xy_km[None, :, 0], xy_km[rows, None, 1] - xy_km[None, :, 1])
        hours = np.asarray(minutes[rows], dtype=float) / 60.0
        apart = km > 0
        if np.any(apart & (hours <= 0)):
            return math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(apart, km / np.where(apart, hours, 1.0), 0.0)
        fastest = max(fastest, float(ratio.max()))
    return fastest * (1 + 1e-6) if fastest > 0 else math.inf


def _from_patches(territory: Territory) -> Town:
    patches = territory.patches
    assert patches is not None
    sector_names = tuple(dict.fromkeys(p.sector for p in patches))
    grid_names = tuple(dict.fromkeys(p.grid for p in patches))
    weights = np.array([p.weight for p in patches], dtype=float)
    return Town(
        names=tuple(p.name for p in patches),
        xy_km=np.array([[p.x_km, p.y_km] for p in patches], dtype=float),
        weights=weights / weights.sum(),
        sector=np.array([sector_names.index(p.sector) for p in patches]),
        grid=np.array([grid_names.index(p.grid) for p in patches]),
        sector_names=sector_names,
        grid_names=grid_names,
        patch_km=territory.patch_km,
        detour_factor=territory.detour_factor,
        manhattan=territory.distance == "manhattan",
    )


def _from_grid(territory: Territory) -> Town:
    g = territory.grid
    assert g is not None  # the schema requires a grid or patches
    size = territory.patch_km
    rows, cols = np.divmod(np.arange(g.rows * g.cols), g.cols)
    xy = np.column_stack([(cols + 0.5) * size, (g.rows - rows - 0.5) * size])
    block, _ = _blocks(rows, cols, g.rows, g.cols, g.sectors, "S")
    sector_names, sector_of_block = g.sector_layout()  # blocks joined into towns (sector_blocks)
    sector = np.asarray(sector_of_block, dtype=int)[block]
    grid, grid_names = _blocks(rows, cols, g.rows, g.cols, g.grids, "G")
    weights = _grid_weights(g, xy, size)
    return Town(
        names=tuple(f"r{r}c{c}" for r, c in zip(rows, cols)),
        xy_km=xy,
        weights=weights / weights.sum(),
        sector=sector,
        grid=grid,
        sector_names=sector_names,
        grid_names=grid_names,
        patch_km=size,
        detour_factor=territory.detour_factor,
        manhattan=territory.distance == "manhattan",
    )


def _blocks(rows, cols, n_rows, n_cols, blocks, prefix) -> tuple[np.ndarray, tuple[str, ...]]:
    """Split the grid into blocks[0] x blocks[1] nearly equal rectangles, numbered row by row."""
    block_rows, block_cols = blocks
    br = rows * block_rows // n_rows
    bc = cols * block_cols // n_cols
    index = br * block_cols + bc
    names = tuple(f"{prefix}{i + 1}" for i in range(block_rows * block_cols))
    return index.astype(int), names


def _grid_weights(g, xy, size) -> np.ndarray:
    if g.weights is not None:
        return np.asarray(g.weights, dtype=float)
    weights = np.ones(len(xy))
    if g.centre_peak > 0:
        centre = np.array([g.cols * size / 2, g.rows * size / 2])
        spread = max(g.rows, g.cols) * size / 6
        weights += g.centre_peak * np.exp(-((xy - centre) ** 2).sum(axis=1) / (2 * spread**2))
    return weights
