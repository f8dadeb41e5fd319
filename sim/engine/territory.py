"""The town's ground: patches, the sectors and grids they belong to, and travel between them.

A patch is the simulation's spatial unit (a grid cell or patrol patch). Incidents happen in
patches in proportion to their weights; units travel between patch centres at their speed,
along roads that are ``detour_factor`` times longer than the straight line, after a set-off
time. Positions are kilometres; times are minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.scenario.schema import Territory

__all__ = ["Town", "build_town"]


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
    # Derived in __post_init__ (not fields): patch centres as plain tuples, each patch's sector name.
    centres: list[tuple[float, float]] = field(init=False, repr=False)
    patch_sector_names: tuple[str, ...] = field(init=False, repr=False)

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

    def patches_in_sector(self) -> np.ndarray:
        """Number of patches in each sector."""
        return np.bincount(self.sector, minlength=len(self.sector_names))


def build_town(territory: Territory) -> Town:
    """Compile a validated :class:`~sim.scenario.schema.Territory` into a :class:`Town`."""
    if territory.patches is not None:
        return _from_patches(territory)
    return _from_grid(territory)


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
    sector, sector_names = _blocks(rows, cols, g.rows, g.cols, g.sectors, "S")
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
