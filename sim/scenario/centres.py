"""Centres declared once for many areas (``each: sector`` or ``each: grid``), expanded into plain centres.

A planner does not write 440 village centres by hand: one entry of ``governance.centres`` with
``each: grid`` stands for one centre per higher-level grid (``each: sector``: per sector, a town
or street), each a copy of the entry named ``<name>_<area>`` and serving that area. Its parent is
the entry's ``parent`` when given; else the lowest of the centres listed *before* the entry that
serves the area's patches. An area whose patches have different lowest centres there (a grid
across a town border) goes to the centre serving most of its patches, a tie to the one listed
first: the stated rule. :func:`straddling` lists such areas per entry; ``validate`` counts the centres
serving a grid across a sector border.

The expansion happens at the scenario's edge (:func:`sim.io.loader.scenario_from_dict`, after the
checks), so the engine sees only plain centres. The checks expand too, and map every problem of
a generated centre back to the entry it came from (:func:`expand` returns the origins).
:func:`operators_on_duty` gives a staffed centre's operators on duty over the week (what the engine's
centre follows, and what ``validate`` notes when none are).
"""

from __future__ import annotations

import re
from collections import Counter

from sim.scenario.schedule import WeeklySteps
from sim.scenario.schema import CentreSpec, InstantSpec, Scenario, Serves, Territory

__all__ = ["expand", "expand_centres", "operators_on_duty", "patch_areas", "straddling"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def patch_areas(territory: Territory) -> tuple[list[str], list[str], list[str], list[str]]:
    """Each patch's sector and grid, and the sector and grid names (as :func:`sim.engine.territory.build_town`).

    The territory's patches must be known: a grid, or explicit patches (a GIS layer read into them).
    """
    if territory.patches is not None:
        sectors, grids = [p.sector for p in territory.patches], [p.grid for p in territory.patches]
        return sectors, grids, list(dict.fromkeys(sectors)), list(dict.fromkeys(grids))
    g = territory.grid
    assert g is not None  # the schema requires a grid or patches
    blocks = []
    for block_rows, block_cols in (g.sectors, g.grids):
        blocks.append(
            [
                (r * block_rows // g.rows) * block_cols + c * block_cols // g.cols
                for r in range(g.rows)
                for c in range(g.cols)
            ]
        )
    sector_names, sector_of_block = g.sector_layout()
    grid_names = [f"G{k + 1}" for k in range(g.grids[0] * g.grids[1])]
    sectors = [sector_names[sector_of_block[b]] for b in blocks[0]]
    return sectors, [grid_names[b] for b in blocks[1]], list(sector_names), grid_names


def expand(centres: list[CentreSpec], territory: Territory) -> tuple[list[CentreSpec], list[int]]:
    """The centres with every ``each`` entry replaced by its centres, and each one's entry index.

    Tolerant of mistakes the checks report (unknown parents, clashes): it expands what it can.
    """
    if all(c.each is None for c in centres):
        return list(centres), list(range(len(centres)))
    sector_of, grid_of, sector_names, grid_names = patch_areas(territory)
    out: list[CentreSpec] = []
    origin: list[int] = []
    for i, entry in enumerate(centres):
        if entry.each is None:
            out.append(entry)
            origin.append(i)
            continue
        area_of, names = (sector_of, sector_names) if entry.each == "sector" else (grid_of, grid_names)
        lowest = _lowest(out, sector_of, grid_of) if entry.parent is None else []
        patches: dict[str, list[int]] = {name: [] for name in names}
        for p, area in enumerate(area_of):
            patches[area].append(p)
        made = []
        for k, area in enumerate(names):
            parent = entry.parent if entry.parent is not None else _most([lowest[p] for p in patches[area]], out)
            name = f"{entry.name}_{area}" if _NAME.match(f"{entry.name}_{area}") else f"{entry.name}_{k + 1}"
            serves = Serves(sectors=[area]) if entry.each == "sector" else Serves(grids=[area])
            made.append(entry.model_copy(update={"name": name, "each": None, "serves": serves, "parent": parent}))
        out += made
        origin += [i] * len(made)
    return out, origin


def expand_centres(scenario: Scenario) -> Scenario:
    """*scenario* with its ``each`` centres expanded into plain ones (itself when it has none)."""
    centres = scenario.governance.centres
    territory = scenario.territory
    if centres is None or all(c.each is None for c in centres):
        return scenario
    if territory.patches is None and territory.grid is None:
        return scenario  # a GIS layer not read yet: build_town refuses to run it
    plain, _ = expand(centres, territory)
    governance = scenario.governance.model_copy(update={"centres": plain})
    return scenario.model_copy(update={"governance": governance})


def straddling(centres: list[CentreSpec], territory: Territory) -> dict[int, list[str]]:
    """Per ``each`` entry without a parent (by index), the areas whose patches have several lowest centres above.

    Such an area goes to the centre serving most of its patches (the rule of :func:`expand`).
    """
    if all(c.each is None or c.parent is not None for c in centres):
        return {}
    sector_of, grid_of, _, _ = patch_areas(territory)
    plain, origin = expand(centres, territory)
    out: dict[int, list[str]] = {}
    for i, entry in enumerate(centres):
        if entry.each is None or entry.parent is not None:
            continue
        before = [c for c, o in zip(plain, origin) if o < i]
        lowest = _lowest(before, sector_of, grid_of)
        area_of = sector_of if entry.each == "sector" else grid_of
        above: dict[str, set[str | None]] = {}
        for p, area in enumerate(area_of):
            above.setdefault(area, set()).add(lowest[p])
        out[i] = [area for area, parents in above.items() if len(parents) > 1]
    return {i: areas for i, areas in out.items() if areas}


def _lowest(centres: list[CentreSpec], sector_of: list[str], grid_of: list[str]) -> list[str | None]:
    """Each patch's lowest serving centre among *centres* (the deepest; a tie to the one listed first)."""
    parent = {c.name: c.parent for c in centres}

    def depth(name: str) -> int:
        d, seen = 0, {name}
        while parent.get(name) is not None and parent[name] in parent and parent[name] not in seen:
            name = str(parent[name])
            seen.add(name)
            d += 1
        return d

    best: list[str | None] = [None] * len(sector_of)
    best_depth = [-1] * len(sector_of)
    for c in centres:
        d = depth(c.name)
        serves = c.serves
        wanted_sectors = set(serves.sectors or ()) if serves != "all" else set()
        wanted_grids = set(serves.grids or ()) if serves != "all" else set()
        for p, (sector, grid) in enumerate(zip(sector_of, grid_of)):
            if d > best_depth[p] and (serves == "all" or sector in wanted_sectors or grid in wanted_grids):
                best[p], best_depth[p] = c.name, d
    return best


def _most(names: list[str | None], centres: list[CentreSpec]) -> str | None:
    """The centre named most often (a tie: the one listed first in *centres*); None when none is named."""
    counts = Counter(name for name in names if name is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(c.name for c in centres if counts.get(c.name) == top)


def operators_on_duty(spec: InstantSpec | CentreSpec) -> WeeklySteps:
    """Operators on duty over the week: their shift windows, and none while the centre is closed."""
    assert spec.operators is not None  # only a staffed centre has operators on duty
    shift = WeeklySteps.from_hours(
        [(w.hours().weekly(), float(w.units)) for w in spec.operator_windows()], cap=float(spec.operators)
    )
    open_ = WeeklySteps.from_hours([(spec.centre_hours.weekly(), 1.0)])
    return WeeklySteps.combine([shift, open_], lambda n, is_open: n if is_open else 0.0)
