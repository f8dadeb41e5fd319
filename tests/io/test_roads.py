"""Travel times on a road network or from a table: exact answers on hand-made graphs, the OSM extract,
one-way streets, road classes, the cache, the shipped example and every error of a CSV table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.engine.territory import build_town
from sim.errors import ScenarioError
from sim.io import gis
from tests.conftest import SCENARIOS

nx = pytest.importorskip("networkx")
gpd = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(gis, "_MEMO", {})


def line_patches(xs):
    return [{"name": f"a{i}", "x_km": float(x), "y_km": 0.0} for i, x in enumerate(xs)]


def scenario(folder: Path, territory: dict, travel: dict, speed=30.0) -> Path:
    data = {
        "name": "roads",
        "territory": territory,
        "travel": travel,
        "departments": [{"name": "crew", "units": 2, "speed_kmh": speed, "setoff_min": 0, "powers": ["litter"]}],
        "incident_types": [{"name": "litter", "rate_per_day": 20}],
    }
    path = folder / "town.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def graph_file(folder: Path, nodes: dict, edges, directed=True, crs=None, name="roads.graphml") -> Path:
    graph = nx.DiGraph() if directed else nx.Graph()
    if crs:
        graph.graph["crs"] = crs
    for node, (x, y) in nodes.items():
        graph.add_node(node, x=x, y=y)
    for u, v, attrs in edges:
        graph.add_edge(u, v, **attrs)
    path = folder / name
    nx.write_graphml(graph, path)
    return path


def test_a_straight_road_gives_exactly_the_straight_line_times(tmp_path):
    """Patches on a straight road, no detour: the road table equals straight-line travel to the last bit."""
    xs = [0.0, 0.5, 1.0, 2.0, 3.5]
    graph_file(
        tmp_path,
        {f"n{i}": (x, 0.0) for i, x in enumerate(xs)},
        [(f"n{i}", f"n{i + 1}", {"highway": "residential"}) for i in range(len(xs) - 1)],
        directed=False,
    )
    path = scenario(
        tmp_path,
        {"patches": line_patches(xs), "detour_factor": 1.0},
        {"roads": "roads.graphml", "speeds_kmh": {"residential": 30}},
    )
    loaded = sim.load_scenario(path)
    road = build_town(loaded.territory, loaded.travel)
    straight = build_town(loaded.territory)
    for a in range(len(xs)):
        for b in range(len(xs)):
            assert road.drive_min(a, b, 30.0) == straight.drive_min(a, b, 30.0) == 2.0 * abs(xs[a] - xs[b])
    assert road.bound_kmh == pytest.approx(30.0, rel=1e-5) and road.bound_kmh >= 30.0


def test_verification_helper_straight_line_is_exact():
    road, straight = gis.straight_line_check()
    assert np.array_equal(road, straight) and road.max() == 8.0  # 4 km at 30 km/h


def test_one_way_streets_and_road_classes(tmp_path):
    """From a to b is a one-way primary (1 km at 60 km/h: 1 min); b -> a goes round by c on residential roads."""
    nodes = {"a": (0.0, 0.0), "b": (1.0, 0.0), "c": (0.5, 1.0)}
    edges = [
        ("a", "b", {"highway": "primary", "length": 1000.0}),
        ("b", "c", {"highway": "residential", "length": 1500.0}),
        ("c", "b", {"highway": "residential", "length": 1500.0}),
        ("c", "a", {"highway": "residential", "length": 1500.0}),
        ("a", "c", {"highway": "residential", "length": 1500.0}),
    ]
    graph_file(tmp_path, nodes, edges)
    patches = [{"name": n, "x_km": x, "y_km": y} for n, (x, y) in nodes.items()]
    path = scenario(
        tmp_path, {"patches": patches}, {"roads": "roads.graphml", "speeds_kmh": {"primary": 60, "residential": 30}}
    )
    minutes = sim.load_scenario(path).travel.table.minutes
    assert minutes[0, 1] == 1.0  # along the one-way street
    assert minutes[1, 0] == 6.0  # round by c: 3 km at 30 km/h
    assert minutes[0, 2] == minutes[2, 0] == 3.0
    assert not minutes.flags.writeable


def test_a_patch_off_the_road_walks_to_its_nearest_node(tmp_path):
    graph_file(tmp_path, {"a": (0.0, 0.0), "b": (1.0, 0.0)}, [("a", "b", {"highway": "x"})], directed=False)
    patches = [{"name": "p", "x_km": 0.0, "y_km": 0.5}, {"name": "q", "x_km": 1.0, "y_km": 0.0}]
    path = scenario(
        tmp_path, {"patches": patches}, {"roads": "roads.graphml", "default_speed_kmh": 60, "access_speed_kmh": 10}
    )
    table = sim.load_scenario(path).travel.table
    assert table.minutes[0, 1] == pytest.approx(3.0 + 1.0)  # 0.5 km at 10 km/h, then 1 km at 60 km/h
    assert table.snap_km[0] == 0.5 and table.snapped == 2


def test_road_table_is_cached_and_read_back_without_the_graph(tmp_path, monkeypatch):
    graph_file(tmp_path, {"a": (0.0, 0.0), "b": (1.0, 0.0)}, [("a", "b", {})], directed=False)
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"roads": "roads.graphml"})
    first = sim.load_scenario(path).travel.table
    assert len(list((tmp_path / "cache").glob("travel-*.npz"))) == 1
    monkeypatch.setattr(gis, "_MEMO", {})
    monkeypatch.setattr(gis, "read_roads", lambda *a: pytest.fail("the road file was read again"))
    second = sim.load_scenario(path).travel.table
    assert np.array_equal(first.minutes, second.minutes) and first.key == second.key


def test_openstreetmap_extract_with_a_gis_layer(tmp_path):
    """The test extract pyrosm carries: every patch reaches every other, one-way streets make some trips longer one way."""
    pyrosm = pytest.importorskip("pyrosm")
    pbf = pyrosm.get_data("test_pbf")
    x0, y0, x1, y1 = 26.935, 60.522, 26.965, 60.538
    cells = [
        shapely.box(
            x0 + i * (x1 - x0) / 5, y0 + j * (y1 - y0) / 4, x0 + (i + 1) * (x1 - x0) / 5, y0 + (j + 1) * (y1 - y0) / 4
        )
        for j in range(4)
        for i in range(5)
    ]
    gpd.GeoDataFrame(geometry=cells, crs="EPSG:4326").to_file(tmp_path / "grids.geojson", driver="GeoJSON")
    path = scenario(tmp_path, {"gis": {"file": "grids.geojson"}}, {"roads": pbf})
    loaded = sim.load_scenario(path)
    table = loaded.travel.table
    assert table.minutes.shape == (20, 20) and np.isfinite(table.minutes).all() and table.snapped == 20
    assert (table.minutes + np.eye(20) > 0).all()
    assert not np.array_equal(table.minutes, table.minutes.T)  # one-way streets
    town = build_town(loaded.territory, loaded.travel)
    km = np.hypot(*(town.xy_km[:, None, :] - town.xy_km[None, :, :]).transpose(2, 0, 1))
    assert (table.minutes >= 60 * km / town.bound_kmh - 1e-9).all()
    assert sim.compare(loaded).summary["modes"]["unified"]["incidents"] > 0


def test_road_map_coordinates_need_patches_from_a_gis_layer(tmp_path):
    graph_file(tmp_path, {"a": (24.9, 60.1), "b": (24.91, 60.1)}, [("a", "b", {})], crs="EPSG:4326")
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"roads": "roads.graphml"})
    with pytest.raises(
        ScenarioError, match=r"travel\.roads: the road network has map coordinates but the patches have none"
    ):
        sim.load_scenario(path)


def test_unknown_road_file_kind(tmp_path):
    (tmp_path / "roads.shp").write_text("x")
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"roads": "roads.shp"})
    with pytest.raises(ScenarioError, match="unknown kind of road file"):
        sim.load_scenario(path)


# --------------------------------------------------------------------------- a table from another tool


def test_travel_table_from_csv(tmp_path):
    (tmp_path / "od.csv").write_text("from,to,minutes\na0,a1,4.5\na1,a0,6\n", encoding="utf-8")
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"matrix": "od.csv"})
    loaded = sim.load_scenario(path)
    assert loaded.travel.table.minutes.tolist() == [[0.0, 4.5], [6.0, 0.0]]
    town = build_town(loaded.territory, loaded.travel)
    assert town.drive_min(1, 0, 99.0) == 6.0 and town.bound_kmh == pytest.approx(60 / 6.0 * 6 / 4.5 * 1, rel=1e-5)


@pytest.mark.parametrize(
    "text, message",
    [
        ("from,to,min\n", "od.csv: line 1: no column 'minutes'; expected a header from,to,minutes"),
        ("from,to,minutes\na0,a1,4\n", "od.csv: 1 pair(s) have no time, e.g. from 'a1' to 'a0'"),
        ("from,to,minutes\na01,a1,4\n", "od.csv: line 2: no patch named 'a01'; did you mean 'a1'?"),
        ("from,to,minutes\na0,a1,-4\n", "od.csv: line 2: minutes '-4'; expected a number of 0 or more"),
        ("from,to,minutes\na0,a1,4\na0,a1,5\n", "od.csv: line 3: a second time from 'a0' to 'a1'"),
    ],
)
def test_travel_table_errors_name_the_line(tmp_path, text, message):
    (tmp_path / "od.csv").write_text(text, encoding="utf-8")
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"matrix": "od.csv"})
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    assert f"town.yaml:1: travel.matrix: {message}" in str(err.value)


def test_roads_and_matrix_together_are_refused(tmp_path):
    path = scenario(tmp_path, {"patches": line_patches([0.0, 1.0])}, {"matrix": "od.csv", "roads": "r.graphml"})
    with pytest.raises(ScenarioError, match="give exactly one of 'roads' or 'matrix'"):
        sim.load_scenario(path)


# --------------------------------------------------------------------------- the shipped example


def test_shipped_real_town_validates_runs_and_draws_its_polygons(tmp_path, capsys):
    path = SCENARIOS / "real_town_example.yaml"
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  territory: 100 patches, 4 sectors, 6 grids from " in out
    assert "  roads: 100 of 100 patches snapped to the road network " in out
    assert "\n  longest travel time: " in out
    assert main(["compare", str(path), "--days", "3", "--out", str(tmp_path / "out")]) == 0
    from matplotlib.collections import LineCollection, PolyCollection

    from sim.presentation.figures import load_results, plot_response_map

    results = load_results(tmp_path / "out")
    ax = plot_response_map(results, "unified")
    polygons = [c for c in ax.collections if isinstance(c, PolyCollection)]
    roads = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(polygons[0].get_paths()) == 100 and len(roads[0].get_segments()) > 1000


# --------------------------------------------------------------------------- OpenStreetMap XML

UTM = "EPSG:32650"
X0, Y0 = 600000.0, 2730000.0
OSM_NODES = {"1": (0.5, 0.5), "2": (1.5, 0.5), "3": (2.5, 0.5), "4": (1.5, 1.5)}  # km east and north of (X0, Y0)
OSM_WAYS = [
    ("10", ["1", "2"], {"highway": "primary", "oneway": "yes"}),  # 1 km at 60 km/h, 1 -> 2 only
    ("11", ["2", "3"], {"highway": "residential"}),  # 1 km at 30 km/h, both ways
    ("12", ["2", "4", "1"], {"highway": "residential"}),  # the way back from 2 to 1: 1 + 1.414 km at 30 km/h
    ("13", ["4", "3"], {"highway": "secondary", "oneway": "-1"}),  # drawn 4 -> 3, driven 3 -> 4 only: 1.414 km at 60
    ("14", ["1", "3"], {"highway": "footway"}),  # a shortcut on foot: left out
    ("15", ["3", "1"], {"highway": "service", "access": "private"}),  # private: left out
    ("16", ["1", "3"], {"building": "yes"}),  # not a road at all
]
OSM_SPEEDS = {"primary": 60, "residential": 30, "secondary": 60, "footway": 300, "service": 300}


def osm_xml(nodes=None, ways=None) -> str:
    """OpenStreetMap XML of *nodes* (km on the UTM map, written as longitude/latitude) and *ways*."""
    import pyproj

    to_degrees = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node, (x, y) in (nodes or OSM_NODES).items():
        lon, lat = to_degrees.transform(X0 + 1000 * x, Y0 + 1000 * y)
        lines.append(f'  <node id="{node}" lat="{lat:.10f}" lon="{lon:.10f}"/>')
    for way, refs, tags in OSM_WAYS if ways is None else ways:
        lines.append(f'  <way id="{way}">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    return "\n".join([*lines, "</osm>", ""])


def osm_town(folder: Path, text: str, name: str = "roads.osm") -> Path:
    """Three 1 km squares in a row (UTM) as the patches, and the roads of *text* in OSM XML."""
    cells = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)]
    gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=cells, crs=UTM).to_file(folder / "grids.geojson")
    data = text.encode("utf-8")
    if name.endswith(".gz"):
        import gzip

        data = gzip.compress(data)
    (folder / name).write_bytes(data)
    return scenario(folder, {"gis": {"file": "grids.geojson", "id": "code"}}, {"roads": name, "speeds_kmh": OSM_SPEEDS})


@pytest.mark.parametrize("name", ["roads.osm", "roads.osm.gz"])
def test_openstreetmap_xml_roads_one_way_streets_and_classes(tmp_path, name):
    table = sim.load_scenario(osm_town(tmp_path, osm_xml(), name)).travel.table
    diagonal = 60 * math.sqrt(2) / 30  # 1.414 km of residential road at 30 km/h
    expected = [
        [0.0, 1.0, 1.0 + 2.0],  # a -> b on the one-way primary, then on to c
        [2.0 + diagonal, 0.0, 2.0],  # b -> a cannot take the one-way: round by node 4
        [math.sqrt(2) + diagonal, 2.0, 0.0],  # c -> a: up the reversed one-way to 4 (60 km/h), then down to a
    ]
    assert table.minutes == pytest.approx(np.array(expected), abs=1e-4)
    assert table.snapped == 3 and float(np.max(table.snap_km)) < 1e-6  # each patch centre is a road node


@pytest.mark.parametrize(
    "text, message",
    [
        (
            lambda: osm_xml().replace("</way>", "", 1),
            "roads.osm: line 46, column 2: not well-formed XML (mismatched tag)",
        ),
        (lambda: osm_xml(ways=[("7", ["1", "99"], {"highway": "primary"})]), "roads.osm, way 7: refers to node 99"),
        (lambda: osm_xml(ways=[("7", ["1"], {"highway": "primary"})]), "roads.osm, way 7: has 1 node reference(s)"),
        (lambda: osm_xml().replace('lat="', 'lat="x', 1), "roads.osm, node 1: lon="),
        (lambda: osm_xml(ways=[("7", ["1", "2"], {"highway": "footway"})]), "roads.osm: holds no ways with a highway"),
        (lambda: '<?xml version="1.0"?><gpx><trk/></gpx>', "roads.osm: the document is <gpx>; expected OpenStreetMap"),
    ],
)
def test_openstreetmap_xml_mistakes_name_the_file_and_element(tmp_path, text, message, capsys):
    path = osm_town(tmp_path, text())
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "town.yaml:1: travel.roads: " + message in err and "Traceback" not in err
