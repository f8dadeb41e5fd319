"""Patches from a GIS polygon layer: every column mapping, the CRS, the cache, and every error path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
import sim.engine.territory
from sim.cli import main
from sim.errors import ScenarioError
from sim.io import gis
from sim.io.loader import scenario_from_dict
from tests.conftest import ROOT

gpd = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")


UTM = "EPSG:32650"  # UTM zone 50N, where Jinjiang lies
X0, Y0 = 600000.0, 2730000.0


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test reads its files afresh into its own cache."""
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(gis, "_MEMO", {})


def squares(rows=3, cols=4, side=500.0, crs=UTM, **columns):
    """Squares, rows x cols, of *side* m from (X0, Y0), row by row from the south-west, with columns."""
    polygons, data = [], {"code": [], "beat": [], "village": [], "residents": []}
    for r in range(rows):
        for c in range(cols):
            polygons.append(shapely.box(X0 + c * side, Y0 + r * side, X0 + (c + 1) * side, Y0 + (r + 1) * side))
            data["code"].append(f"{r}{c}")
            data["beat"].append(f"S{r % 2}")
            data["village"].append(f"V{c // 2}")
            data["residents"].append(100 + 10 * r + c)
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=polygons, crs=crs)


def scenario(folder: Path, gis_spec: dict, **extra) -> Path:
    data = {
        "name": "gis_town",
        "territory": {"gis": gis_spec},
        "departments": [{"name": "crew", "units": 2, "powers": ["litter"]}],
        "incident_types": [{"name": "litter", "rate_per_day": 20}],
        **extra,
    }
    path = folder / "town.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


def write(frame, path: Path) -> Path:
    frame.to_file(path, driver="GPKG" if path.suffix == ".gpkg" else "GeoJSON")
    return path


def problem_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    assert len(err.value.problems) == 1
    return str(err.value.problems[0])


# --------------------------------------------------------------------------- mappings


def test_columns_give_names_positions_weights_sectors_and_grids(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    path = scenario(
        tmp_path, {"file": "grids.geojson", "id": "code", "sector": "beat", "grid": "village", "weight": "residents"}
    )
    town = sim.load_scenario(path).territory
    first = town.patches[0]
    # codes '00' start with a digit: made into usable names with a 'p' in front
    assert (first.name, first.x_km, first.y_km, first.weight, first.sector, first.grid) == (
        "p00",
        0.25,
        0.25,
        100.0,
        "S0",
        "V0",
    )
    last = town.patches[-1]
    assert (last.name, last.x_km, last.y_km, last.weight, last.sector, last.grid) == (
        "p23",
        1.75,
        1.25,
        123.0,
        "S0",
        "V1",
    )
    assert town.patch_km == 0.5
    assert sorted({p.sector for p in town.patches}) == ["S0", "S1"]


def test_defaults_number_the_patches_and_make_one_sector_and_grid(tmp_path):
    write(squares(rows=1, cols=3), tmp_path / "grids.gpkg")
    town = sim.load_scenario(scenario(tmp_path, {"file": "grids.gpkg"})).territory
    assert [(p.name, p.weight, p.sector, p.grid) for p in town.patches] == [
        (f"p{i}", 1.0, "all", "all") for i in (1, 2, 3)
    ]


def test_patch_km_given_in_the_file_wins(tmp_path):
    write(squares(rows=1, cols=2), tmp_path / "grids.geojson")
    path = scenario(tmp_path, {"file": "grids.geojson"})
    data = json.loads(path.read_text())
    data["territory"]["patch_km"] = 0.3
    path.write_text(json.dumps(data))
    assert sim.load_scenario(path).territory.patch_km == 0.3


def test_sectors_and_grids_from_second_layers_by_where_patches_lie(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    west_east = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[
            shapely.box(X0 - 10, Y0 - 10, X0 + 1000, Y0 + 2000),
            shapely.box(X0 + 1000, Y0 - 10, X0 + 2010, Y0 + 2000),
        ],
        crs=UTM,
    ).to_crs("EPSG:4326")  # another CRS: projected onto the patches'
    write(west_east, tmp_path / "sectors.geojson")
    south = gpd.GeoDataFrame(
        {"g": ["south", "north"]},
        geometry=[
            shapely.box(X0 - 10, Y0 - 10, X0 + 2010, Y0 + 500),
            shapely.box(X0 - 10, Y0 + 500, X0 + 2010, Y0 + 2000),
        ],
        crs=UTM,
    )
    write(south, tmp_path / "grids_layer.gpkg")
    path = scenario(
        tmp_path,
        {
            "file": "grids.geojson",
            "id": "code",
            "sectors_from": {"file": "sectors.geojson", "column": "name"},
            "grids_from": {"file": "grids_layer.gpkg", "column": "g"},
        },
    )
    patches = {p.name: p for p in sim.load_scenario(path).territory.patches}
    assert [patches[f"p0{c}"].sector for c in range(4)] == ["west", "west", "east", "east"]
    assert [patches[f"p{r}0"].grid for r in range(3)] == ["south", "north", "north"]


def test_weights_from_points_counted_or_added_up_per_patch(tmp_path):
    write(squares(rows=1, cols=3), tmp_path / "grids.geojson")
    points = gpd.GeoDataFrame(
        {"people": [5, 7, 11, 13]},
        geometry=gpd.points_from_xy([X0 + 100, X0 + 200, X0 + 1200, X0 + 9000], [Y0 + 100] * 4),
        crs=UTM,
    )
    write(points, tmp_path / "people.geojson")
    counted = sim.load_scenario(
        scenario(tmp_path, {"file": "grids.geojson", "weight_points": {"file": "people.geojson"}})
    )
    assert [p.weight for p in counted.territory.patches] == [2.0, 0.0, 1.0]  # the point outside every patch is left out
    summed = sim.load_scenario(
        scenario(tmp_path, {"file": "grids.geojson", "weight_points": {"file": "people.geojson", "column": "people"}})
    )
    assert [p.weight for p in summed.territory.patches] == [12.0, 0.0, 11.0]


def test_longitude_latitude_are_projected_to_local_kilometres(tmp_path):
    write(squares().to_crs("EPSG:4326"), tmp_path / "grids.geojson")
    patches = sim.load_scenario(scenario(tmp_path, {"file": "grids.geojson", "id": "code"})).territory.patches
    by = {p.name: p for p in patches}
    east = by["p01"].x_km - by["p00"].x_km
    north = by["p10"].y_km - by["p00"].y_km
    # 500 m in UTM is 500 m on the ground to within the UTM scale error (< 0.1%)
    assert east == pytest.approx(0.5, rel=1e-3) and north == pytest.approx(0.5, rel=1e-3)


def test_relative_paths_start_from_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "town"
    folder.mkdir()
    write(squares(rows=1, cols=2), folder / "grids.geojson")
    path = scenario(folder, {"file": "grids.geojson"})
    monkeypatch.chdir(tmp_path)
    loaded = sim.load_scenario(Path("town") / "town.yaml")
    assert loaded.territory.gis.file == str((folder / "grids.geojson").resolve())
    assert len(loaded.territory.patches) == 2 and path.exists()


def test_written_scenario_keeps_the_layer_not_the_patches_and_reads_back(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    loaded = sim.load_scenario(scenario(tmp_path, {"file": "grids.geojson", "id": "code", "weight": "residents"}))
    dumped = loaded.model_dump(mode="json")
    assert "patches" not in dumped["territory"]
    again = scenario_from_dict(json.loads(json.dumps(dumped)))
    assert again.territory.patches == loaded.territory.patches


def test_a_run_on_a_gis_town(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    loaded = sim.load_scenario(scenario(tmp_path, {"file": "grids.geojson", "id": "code", "sector": "beat"}))
    summary = sim.compare(loaded).summary
    assert all(stats["incidents"] > 0 for stats in summary["modes"].values())


# --------------------------------------------------------------------------- cache and the extra


def test_second_load_reads_the_cache_and_imports_no_gis_package(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    path = scenario(tmp_path, {"file": "grids.geojson", "id": "code"})
    sim.load_scenario(path)
    cached = list((tmp_path / "cache").glob("territory-*.json"))
    assert len(cached) == 1
    probe = (
        "import sys, sim\n"
        f"s = sim.load_scenario({str(path)!r})\n"
        "print(len(s.territory.patches), sorted(m for m in ('geopandas', 'pyogrio', 'shapely', 'pyproj') if m in sys.modules))"
    )
    env = {**__import__("os").environ, "SIM_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    ).stdout
    assert out.strip() == "12 []"


def test_a_changed_file_is_read_again(tmp_path):
    write(squares(rows=1, cols=2), tmp_path / "grids.geojson")
    path = scenario(tmp_path, {"file": "grids.geojson"})
    assert len(sim.load_scenario(path).territory.patches) == 2
    write(squares(rows=1, cols=3), tmp_path / "grids.geojson")
    assert len(sim.load_scenario(path).territory.patches) == 3


def test_without_the_geo_extra_the_message_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    write(squares(rows=1, cols=2), tmp_path / "grids.geojson")
    path = scenario(tmp_path, {"file": "grids.geojson"})
    monkeypatch.setitem(sys.modules, "geopandas", None)  # import geopandas now fails
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'town-enforcement-sim[geo]'" in err and "territory.gis" in err


def test_import_sim_and_a_plain_scenario_load_no_gis_module():
    probe = (
        "import sys, sim\n"
        "sim.load_scenario('scenarios/classroom.yaml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('geopandas', 'pyogrio', 'shapely', 'pyproj', 'pyrosm', 'networkx') or m == 'sim.io.gis'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- errors


def test_missing_column_names_file_layer_and_column_with_a_suggestion(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson", "weight": "resident"}))
    assert (
        "town.yaml:1: territory.gis.weight: grids.geojson, layer 'grids': no column 'resident'; did you mean 'residents'?"
        in text
    )


def test_missing_file_and_unknown_layer(tmp_path):
    text = problem_of(scenario(tmp_path, {"file": "nowhere.gpkg"}))
    assert "territory.gis.file" in text and "nowhere.gpkg: file not found" in text
    write(squares(), tmp_path / "grids.gpkg")
    text = problem_of(scenario(tmp_path, {"file": "grids.gpkg", "layer": "grid"}))
    assert "territory.gis.layer: grids.gpkg: no layer 'grid'; did you mean 'grids'?" in text


def test_invalid_polygon_names_the_feature(tmp_path):
    frame = squares(rows=1, cols=3)
    frame.loc[1, "geometry"] = shapely.Polygon(
        [(X0, Y0), (X0 + 500, Y0 + 500), (X0 + 500, Y0), (X0, Y0 + 500)]
    )  # a bow tie
    write(frame, tmp_path / "grids.geojson")
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson", "id": "code"}))
    assert "grids.geojson, layer 'grids', feature 'p01': invalid polygon (Self-intersection" in text


def test_empty_and_non_polygon_geometries_name_the_feature(tmp_path):
    frame = squares(rows=1, cols=3)
    frame.loc[2, "geometry"] = shapely.Polygon()
    write(frame, tmp_path / "grids.gpkg")
    assert "feature 'p02': has an empty geometry" in problem_of(
        scenario(tmp_path, {"file": "grids.gpkg", "id": "code"})
    )
    frame = squares(rows=1, cols=3)
    frame.loc[0, "geometry"] = shapely.Point(X0, Y0)
    write(frame, tmp_path / "points.geojson")
    assert "feature 'p00': is a Point; expected a polygon" in problem_of(
        scenario(tmp_path, {"file": "points.geojson", "id": "code"})
    )


def test_overlapping_patches_are_refused(tmp_path):
    frame = squares(rows=1, cols=2)
    frame.loc[1, "geometry"] = shapely.box(X0 + 400, Y0, X0 + 1000, Y0 + 500)  # 100 m into its neighbour
    write(frame, tmp_path / "grids.geojson")
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson", "id": "code"}))
    assert "features 'p00' and 'p01' overlap (20.0% of the smaller)" in text


def test_degrees_under_a_metric_crs_and_no_crs_are_caught(tmp_path):
    frame = squares().to_crs("EPSG:4326").set_crs(UTM, allow_override=True)  # lon/lat saved as if metres
    write(frame, tmp_path / "grids.geojson")
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson"}))
    assert "territory.gis.crs" in text and "look like degrees" in text
    fixed = sim.load_scenario(scenario(tmp_path, {"file": "grids.geojson", "crs": "EPSG:4326"}))
    assert len(fixed.territory.patches) == 12
    with pytest.warns(UserWarning):
        write(squares().set_crs(None, allow_override=True), tmp_path / "nocrs.gpkg")
    assert "names no coordinate reference system" in problem_of(scenario(tmp_path, {"file": "nocrs.gpkg"}))


def test_bad_values_name_feature_and_column(tmp_path):
    frame = squares(rows=1, cols=3)
    frame["residents"] = [3.0, -1.0, 2.0]
    frame.loc[2, "beat"] = None
    write(frame, tmp_path / "grids.geojson")
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson", "id": "code", "weight": "residents"}))
    assert "feature 'p01': column 'residents' is -1.0; expected a number of 0 or more" in text
    text = problem_of(scenario(tmp_path, {"file": "grids.geojson", "id": "code", "sector": "beat"}))
    assert "territory.gis.sector: grids.geojson, layer 'grids', feature 'p02': column 'beat' is empty" in text
    frame = squares(rows=1, cols=2)
    frame["code"] = ["A", "A"]
    write(frame, tmp_path / "dupes.geojson")
    assert "features 1 and 2 share the id 'A' in column 'code'" in problem_of(
        scenario(tmp_path, {"file": "dupes.geojson", "id": "code"})
    )


def test_a_patch_outside_every_sector_polygon_is_named(tmp_path):
    write(squares(rows=1, cols=2), tmp_path / "grids.geojson")
    write(
        gpd.GeoDataFrame({"name": ["west"]}, geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 500, Y0 + 510)], crs=UTM),
        tmp_path / "s.geojson",
    )
    text = problem_of(
        scenario(
            tmp_path, {"file": "grids.geojson", "id": "code", "sectors_from": {"file": "s.geojson", "column": "name"}}
        )
    )
    assert "territory.gis.sectors_from: s.geojson, layer 's': feature 'p01' of the patches lies in no polygon" in text


def test_gis_and_patches_together_are_refused(tmp_path):
    write(squares(rows=1, cols=2), tmp_path / "grids.geojson")
    path = scenario(tmp_path, {"file": "grids.geojson"})
    data = json.loads(path.read_text())
    data["territory"]["patches"] = [{"name": "a", "x_km": 0, "y_km": 0}]
    path.write_text(json.dumps(data))
    assert "territory.patches: give exactly one of 'grid', 'patches' or 'gis'" in problem_of(path)


# --------------------------------------------------------------------------- cameras


def with_cameras(path: Path, cameras: dict) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["territory"]["cameras"] = cameras
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def cameras_layer(points_m, crs=UTM, to_crs=None, **columns):
    frame = gpd.GeoDataFrame(dict(columns), geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in points_m], crs=crs)
    return frame.to_crs(to_crs) if to_crs else frame


def test_cameras_from_a_point_layer_in_another_crs_land_on_the_patches_map(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    # camera 'gate' on the centre of patch 00, camera 'port' 100 m east of patch 23's centre; saved in degrees
    layer = cameras_layer([(250.0, 250.0), (1850.0, 1250.0)], to_crs="EPSG:4326", name=["gate", "port"])
    write(layer, tmp_path / "cameras.geojson")
    cameras = {"file": "cameras.geojson", "view_radius_km": 0.3}
    loaded = sim.load_scenario(with_cameras(scenario(tmp_path, {"file": "grids.geojson", "id": "code"}), cameras))
    points = loaded.territory.cameras.points
    assert [p.name for p in points] == ["gate", "port"]
    assert [(round(p.x_km, 6), round(p.y_km, 6)) for p in points] == [(0.25, 0.25), (1.85, 1.25)]
    town = sim.engine.territory.build_town(loaded.territory)
    assert [n for n, seen in zip(town.names, town.camera_view) if seen] == ["p00", "p23"]
    written = loaded.model_dump(mode="json", exclude_none=True)["territory"]["cameras"]
    assert "points" not in written and written["file"].endswith("cameras.geojson")


@pytest.mark.parametrize(
    "layer, words",
    [
        (lambda: cameras_layer([(250.0, 250.0)], crs=None), "names no coordinate reference system"),
        (
            lambda: gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)], crs=UTM),
            "feature 1: is a Polygon; expected a point per camera",
        ),
        # metres mistaken for another UTM zone: the cameras land hundreds of km away
        (lambda: cameras_layer([(250.0, 250.0)]).set_crs("EPSG:32651", allow_override=True), "check the layer's CRS"),
    ],
)
def test_camera_layer_mistakes_name_the_file_feature_or_crs(tmp_path, layer, words):
    write(squares(), tmp_path / "grids.geojson")
    write(layer(), tmp_path / "cameras.gpkg")  # GeoPackage: a layer may have no CRS (GeoJSON means degrees)
    cameras = {"file": "cameras.gpkg", "view_radius_km": 0.3}
    text = problem_of(with_cameras(scenario(tmp_path, {"file": "grids.geojson"}), cameras))
    assert "territory.cameras" in text and words in text


def test_a_camera_file_without_a_gis_layer_is_refused(tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text(
        json.dumps(
            {
                "name": "t",
                "territory": {"grid": {"rows": 2, "cols": 2}, "cameras": {"file": "c.geojson", "view_radius_km": 1}},
                "departments": [{"name": "crew", "units": 1, "powers": ["litter"]}],
                "incident_types": [{"name": "litter", "rate_per_day": 2}],
            }
        ),
        encoding="utf-8",
    )
    assert "cameras.file needs territory.gis" in problem_of(path)


# --------------------------------------------------------------------------- a population raster


def raster(path: Path, values, cell_m=250.0, x0=X0, y0=None, crs=UTM, nodata=None, bands=1) -> Path:
    """A GeoTIFF of *values* (rows from the north) with cells of *cell_m* from (x0, top) in *crs*."""
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    values = np.asarray(values, dtype="float32")
    top = (Y0 if y0 is None else y0) + values.shape[0] * cell_m
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=bands,
        dtype="float32",
        crs=crs,
        transform=from_origin(x0, top, cell_m, cell_m),
        nodata=nodata,
    ) as out:
        for band in range(1, bands + 1):
            out.write(values, band)
    return path


def test_weights_from_a_population_raster_added_up_per_patch(tmp_path):
    """3 x 4 patches of 500 m and a 6 x 8 raster of 250 m cells: four cells per patch, nodata left out."""
    write(squares(), tmp_path / "grids.geojson")
    values = np.arange(48, dtype=float).reshape(6, 8)  # row 0 is the north edge
    values[5, 0] = -9999.0  # nodata: in patch 00 (south-west corner)
    raster(tmp_path / "people.tif", values, nodata=-9999.0)
    spec = {"file": "grids.geojson", "id": "code", "weight_raster": {"file": "people.tif"}}
    patches = sim.load_scenario(scenario(tmp_path, spec)).territory.patches
    weights = {p.name: p.weight for p in patches}
    south_up = values[::-1]  # row r of patches (from the south) holds raster rows 2r and 2r + 1 from the south
    for r in range(3):
        for c in range(4):
            cells = south_up[2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
            expected = cells[cells != -9999.0].sum()
            assert weights[f"p{r}{c}"] == expected, (r, c)
    assert weights["p00"] == 41 + 32 + 33  # the nodata cell (40 before) is not counted


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: raster(p, np.ones((6, 8)), x0=X0 + 100_000), "covers none of the patches"),
        (lambda p: raster(p, np.ones((6, 8)), crs="EPSG:32651"), "covers none of the patches"),
        (lambda p: raster(p, -np.ones((6, 8))), "row 0, column 0: -1; expected counts of 0 or more"),
        (lambda p: raster(p, np.ones((6, 8)), crs=None), "names no coordinate reference system"),
        (lambda p: p.write_text("not a raster") or p, "cannot read it as a raster"),
    ],
)
def test_population_raster_mistakes_are_clear(tmp_path, make, words):
    write(squares(), tmp_path / "grids.geojson")
    make(tmp_path / "people.tif")
    spec = {"file": "grids.geojson", "weight_raster": {"file": "people.tif"}}
    text = problem_of(scenario(tmp_path, spec))
    assert "territory.gis.weight_raster" in text and "people.tif" in text and words in text


def test_a_missing_band_and_two_weight_sources(tmp_path):
    write(squares(), tmp_path / "grids.geojson")
    raster(tmp_path / "people.tif", np.ones((6, 8)))
    spec = {"file": "grids.geojson", "weight_raster": {"file": "people.tif", "band": 2}}
    assert "people.tif: has 1 band(s); there is no band 2" in problem_of(scenario(tmp_path, spec))
    spec = {"file": "grids.geojson", "weight": "residents", "weight_raster": {"file": "people.tif"}}
    assert "weight and weight_raster all give weights; expected one of them" in problem_of(scenario(tmp_path, spec))
