"""A real town in words and on the map.

What ``validate`` says of a GIS layer and road network, and the patches' own polygons (and the
roads, faintly) for the response map; the cameras (``territory.cameras``) and what they see.

Grid towns keep their squares (:func:`sim.presentation.figures.plot_response_map`); a town read
from a GIS layer (``territory.gis``) is drawn from the outlines :func:`sim.io.gis.town_map` keeps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_cameras", "draw_outlines", "territory_lines"]


def territory_lines(scenario) -> list[str]:
    """Lines for ``validate`` about a town read from files (none for a grid or explicit patches).

    Patches, sectors, grids, the area and patches without neighbours from a GIS layer; from a
    road network, how many patches were joined to it and how far, and the longest travel time.
    """
    territory, travel = scenario.territory, scenario.travel
    if territory.gis is None and travel is None:
        return _camera_lines(territory)
    patches = territory.patches or []
    lines = []
    if territory.gis is not None:
        from sim.io.gis import town_map

        shape = town_map(scenario)
        sectors = len({p.sector for p in patches})
        grids = len({p.grid for p in patches})
        text = f"  territory: {len(patches):,} patches, {sectors:,} sectors, {grids:,} grids from {territory.gis.file}"
        if shape is not None:
            alone = sum(1 for n in shape.neighbours if n == 0)
            text += f"; {shape.area_km2:,.2f} km², patch side {territory.patch_km:.3f} km, {alone} patch(es) with no neighbour"
        lines.append(text)
    table = travel.table if travel is not None else None
    if table is not None:
        if travel.roads is not None:
            snap = np.asarray(table.snap_km, dtype=float)
            far = int(np.argmax(snap)) if snap.size else 0
            lines.append(
                f"  roads: {table.snapped:,} of {len(table.names):,} patches snapped to the road network ({travel.roads}); "
                f"farthest {1000 * float(snap.max()) if snap.size else 0:,.0f} m from a road ({table.names[far]})"
            )
        else:
            lines.append(f"  travel table: {len(table.names):,} patches from {travel.matrix}")
        minutes = np.asarray(table.minutes)
        a, b = np.unravel_index(int(np.argmax(minutes)), minutes.shape)
        lines.append(
            f"  longest travel time: {float(minutes[a, b]):,.1f} min (from {table.names[a]} to {table.names[b]}); "
            "departments' speed_kmh is not used for driving"
        )
    return lines + _camera_lines(territory)


def _camera_lines(territory) -> list[str]:
    """How many cameras, and how many patches they see (none without ``territory.cameras``)."""
    cameras = territory.cameras
    if cameras is None or not cameras.points:
        return []
    from sim.engine.territory import build_town

    town = build_town(territory)
    seen = int(town.camera_view.sum()) if town.camera_view is not None else 0
    source = f" from {cameras.file}" if cameras.file else ""
    return [
        f"  cameras: {len(cameras.points):,}{source}, seeing {seen:,} of {town.size:,} patches "
        f"(centre within {cameras.view_radius_km:g} km); the camera channel reports only there"
    ]


def draw_outlines(ax, shape, values, cmap, norm):
    """Draw each patch's polygon coloured by *values* (one per patch) and the roads faintly; return the collection."""
    from matplotlib.collections import LineCollection, PolyCollection

    polygons, colour = [], []
    for value, rings in zip(values, shape.outlines):
        for xs, ys in rings:
            polygons.append(np.column_stack([xs, ys]))
            colour.append(value)
    tiles = PolyCollection(polygons, cmap=cmap, norm=norm, edgecolor="white", linewidth=0.4)
    tiles.set_array(np.ma.masked_invalid(np.asarray(colour, dtype=float)))
    ax.add_collection(tiles)
    if shape.roads is not None and len(shape.roads):
        ax.add_collection(LineCollection(shape.roads, colors="black", linewidths=0.4, alpha=0.25))
    everything = np.concatenate(polygons)
    low, high = everything.min(axis=0), everything.max(axis=0)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    return tiles


def draw_cameras(ax, cameras) -> None:
    """Each camera as a black triangle with its view (a dashed circle of ``view_radius_km``); nothing without cameras."""
    from matplotlib import patheffects
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Circle

    from sim.presentation.i18n import figure_text as _

    if cameras is None or not cameras.points:
        return
    at = np.array([[c.x_km, c.y_km] for c in cameras.points], dtype=float)
    halo: list[patheffects.AbstractPathEffect] = [patheffects.withStroke(linewidth=2.6, foreground="white")]
    views = [Circle((x, y), cameras.view_radius_km) for x, y in at]
    circles = PatchCollection(views, facecolor="none", edgecolor="black", linewidth=1.0, linestyle="--")
    circles.set_path_effects(halo)
    ax.add_collection(circles)
    label = _("camera (sees {radius} km around)").format(radius=f"{cameras.view_radius_km:g}")
    ax.plot(
        at[:, 0],
        at[:, 1],
        "^",
        color="black",
        markeredgecolor="white",
        markersize=8,
        linestyle="none",
        label=label,
        clip_on=False,
    )
