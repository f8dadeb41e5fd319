"""Build the shipped real-town example from the OpenStreetMap extract pyrosm carries (no network needed).

Writes, into ``scenarios/real_town/`` (or the folder given):

* ``helsinki_grids.geojson`` -- patch polygons: Voronoi cells of a jittered 130 m lattice over the
  extract, clipped to the extract's roads' hull, with columns ``code`` (patch id), ``district``
  (higher-level grid) and ``pois`` (shops, amenities and offices in the cell, from OpenStreetMap);
* ``helsinki_sectors.geojson`` -- four patrol sectors (quarters of the extract), joined to patches
  by where each patch lies;
* ``helsinki_roads.graphml.gz`` -- the driving network (one-way streets as single directed edges,
  two-way streets both ways), node x/y in longitude/latitude, edge ``length`` in metres and ``highway``.

The extract is the centre of Helsinki (``pyrosm.get_data("helsinki_pbf")``, OpenStreetMap
contributors, ODbL). It is a stand-in for a planner's own town: a real street plan with one-way
streets and a harbour, not a Chinese town. Run: ``python examples/make_real_town.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyrosm
import shapely

SPACING_M = 130.0
SEED = 17


def build(out: Path) -> None:
    """Write the grid layer, the sector layer and the road graph into *out*."""
    out.mkdir(parents=True, exist_ok=True)
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    nodes, edges = osm.get_network(network_type="driving", nodes=True)
    local = edges.estimate_utm_crs()
    hull = shapely.concave_hull(shapely.MultiPoint(nodes.to_crs(local).geometry.values), ratio=0.3).buffer(20)
    x0, y0, x1, y1 = hull.bounds
    rng = np.random.default_rng(SEED)
    xs, ys = np.meshgrid(np.arange(x0, x1 + SPACING_M, SPACING_M), np.arange(y0, y1 + SPACING_M, SPACING_M))
    seeds = np.column_stack([xs.ravel(), ys.ravel()]) + rng.uniform(-0.3, 0.3, (xs.size, 2)) * SPACING_M
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=hull)
    polygons = [c.intersection(hull) for c in cells.geoms]
    polygons = [p for p in polygons if p.geom_type == "Polygon" and p.area > 0.25 * SPACING_M**2]
    grids = gpd.GeoDataFrame(geometry=polygons, crs=local)
    grids["geometry"] = shapely.set_precision(grids.geometry.values, 0.01)
    centre = grids.geometry.centroid
    order = np.lexsort((centre.x.round(-1), -centre.y.round(-1)))
    grids = grids.iloc[order].reset_index(drop=True)
    grids["code"] = [f"H{i + 1:03d}" for i in range(len(grids))]
    cx, cy = grids.geometry.centroid.x, grids.geometry.centroid.y
    grids["district"] = [
        f"D{1 + int(3 * (x - x0) / (x1 - x0)) + 3 * int(2 * (y - y0) / (y1 - y0))}" for x, y in zip(cx, cy)
    ]
    pois = osm.get_pois(custom_filter={"shop": True, "amenity": True, "office": True})
    points = pois.to_crs(local).geometry.representative_point()
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=points.values, crs=local), grids[["geometry"]], predicate="within")
    counts = np.bincount(joined["index_right"].to_numpy(), minlength=len(grids))
    grids["pois"] = counts + 1  # every patch has some street life
    grids.to_crs("EPSG:4326").to_file(out / "helsinki_grids.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    quarters = [
        shapely.box(a, b, c, d)
        for a, b, c, d in [
            (x0 - 50, my, mx, y1 + 50),
            (mx, my, x1 + 50, y1 + 50),
            (x0 - 50, y0 - 50, mx, my),
            (mx, y0 - 50, x1 + 50, my),
        ]
    ]
    sectors = gpd.GeoDataFrame(
        {"sector": ["north_west", "north_east", "south_west", "south_east"]}, geometry=quarters, crs=local
    )
    sectors.to_crs("EPSG:4326").to_file(out / "helsinki_sectors.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)
    graph = nx.DiGraph(crs="EPSG:4326")
    for node in nodes.itertuples():
        graph.add_node(str(node.id), x=round(float(node.lon), 7), y=round(float(node.lat), 7))
    for edge in edges.itertuples():
        u, v, length, highway = str(edge.u), str(edge.v), round(float(edge.length), 2), str(edge.highway)
        tags = str(edge.tags or "")
        oneway = str(edge.oneway).lower()
        if oneway in ("-1", "reverse"):
            u, v = v, u
        graph.add_edge(u, v, length=length, highway=highway)
        if oneway not in ("yes", "true", "1", "-1", "reverse") and "roundabout" not in tags:
            graph.add_edge(v, u, length=length, highway=highway)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    nx.write_graphml(graph, out / "helsinki_roads.graphml.gz")
    print(
        f"{len(grids)} patches, {graph.number_of_nodes()} road nodes, {graph.number_of_edges()} directed road edges -> {out}"
    )


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "scenarios" / "real_town")
