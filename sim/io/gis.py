"""A real town: patches from a GIS polygon layer, travel times over a road network.

The loader (:mod:`sim.io.loader`) calls :func:`resolve` when a scenario has ``territory.gis`` or
``travel``. Files are read here and turned into the plain data the engine already consumes:

* ``territory.gis`` -- each polygon of the layer becomes an explicit patch (``name``, ``x_km``,
  ``y_km``, ``weight``, ``sector``, ``grid``): its centroid in a local metric frame, sectors and
  grids from columns or from a second layer (by where the patch lies), weights from a column, from
  a point layer added up per patch, or from a population raster (rasterio; each cell to the patch
  holding its centre). A geographic CRS (degrees) is projected once to an azimuthal equidistant
  projection centred on the layer; a projected CRS is kept (metres, or its unit converted), with
  the origin moved to a whole kilometre below the layer. ``territory.cameras.file``, a point
  layer of cameras, is put on the same map (:func:`read_cameras`).
* ``travel.roads`` -- an OpenStreetMap extract (``.osm.pbf``, read with pyrosm; OSM XML ``.osm``,
  ``.osm.gz``, read with the standard library's ``iterparse``) or a road graph (``.graphml``,
  ``.graphml.gz``, read with networkx) becomes a table of driving minutes between
  patches (:class:`~sim.scenario.schema.TravelTable`): shortest paths by Dijkstra over a CSR
  graph (``scipy.sparse.csgraph``), speeds by road class, one-way streets respected, each patch
  joined to the nearest node of the network's largest strongly connected part, plus the
  straight line from the patch centre to that node at ``access_speed_kmh``.
* ``travel.matrix`` -- a CSV table ``from,to,minutes`` made by another tool (needs no extra).

Reading GIS files needs the optional packages (``pip install 'town-enforcement-sim[geo]'``);
they are imported only here and only when a scenario uses them. What is read is cached on disk,
keyed by a hash of the files' bytes and of every setting that shapes the result, in
:func:`cache_dir` (``$SIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/town-enforcement-sim``, else
``~/.cache/town-enforcement-sim``), so a second run reads two small files and imports no GIS
package. Every problem is a :class:`~sim.errors.Problem` naming the scenario line and key, and in
its message the GIS file, the layer, the feature and the column.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import Problem, ScenarioError, did_you_mean

__all__ = [
    "GEO_HINT",
    "TownMap",
    "cache_dir",
    "resolve",
    "road_table",
    "straight_line_check",
    "town_map",
    "uses_files",
]

GEO_HINT = "pip install 'town-enforcement-sim[geo]'"
"""How to install what reading GIS files needs."""

CACHE_FORMAT = 1
"""Changes when what is cached changes, so that an old cache is never read as new."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_DEGREES = 180.0


class _Fail(Exception):
    """One problem at a key path under the scenario (raised inside readers, turned into a Problem)."""

    def __init__(self, path: tuple, message: str):
        super().__init__(message)
        self.path, self.message = path, message


# --------------------------------------------------------------------------- entry point


def uses_files(data: Any) -> bool:
    """Whether plain scenario *data* names a GIS layer or a travel section (so :func:`resolve` must run)."""
    if not isinstance(data, dict):
        return False
    territory = data.get("territory")
    return (isinstance(territory, dict) and territory.get("gis") is not None) or isinstance(data.get("travel"), dict)


def resolve(data: dict, source: str, lines: dict) -> tuple[dict, Any, list[Problem]]:
    """Read the files a scenario names: (data with explicit patches, travel table or None, problems).

    *data* is the scenario as plain data (overrides applied); it is changed in place: file paths
    become absolute (relative ones are taken from the scenario file's folder), patches read from
    the layer are put in ``territory.patches``, and ``territory.patch_km`` (unless given) becomes
    the side of a square of the patches' median area. A section the schema will refuse anyway is
    left alone: the schema's message is the clearer one.
    """
    from pydantic import ValidationError

    from sim.scenario.schema import GisLayer, Travel

    folder = _folder(source)
    problems: list[Problem] = []

    def problem(path: tuple, message: str) -> Problem:
        line = next((lines[path[:cut]] for cut in range(len(path), 0, -1) if path[:cut] in lines), None)
        return Problem(source, line, ".".join(str(p) for p in path), message)

    read = None
    territory = data.get("territory")
    if isinstance(territory, dict) and territory.get("gis") is not None:
        if territory.get("patches") is not None:
            return data, None, [problem(("territory", "patches"), "give exactly one of 'grid', 'patches' or 'gis'")]
        try:
            spec = GisLayer.model_validate(territory["gis"])
        except ValidationError:
            return data, None, []
        spec = _absolute_layer(spec, folder)
        territory["gis"] = spec.model_dump(exclude_none=True)
        try:
            read = read_territory(spec)
        except _Fail as err:
            return data, None, [problem(("territory", "gis") + err.path, err.message)]
        territory["patches"] = read["patches"]
        territory.setdefault("patch_km", read["patch_km"])
        cameras = territory.get("cameras")
        if isinstance(cameras, dict) and isinstance(cameras.get("file"), str):
            cameras["file"] = str(_absolute(cameras["file"], folder))
            try:
                cameras["points"] = read_cameras(cameras["file"], cameras.get("layer"), read["frame"])
            except _Fail as err:
                return data, None, [problem(("territory", "cameras") + err.path, err.message)]
    travel = data.get("travel")
    if not isinstance(travel, dict):
        return data, None, problems
    try:
        route_spec = Travel.model_validate(travel)
    except ValidationError:
        return data, None, problems
    key = "roads" if route_spec.roads is not None else "matrix"
    route_spec = route_spec.model_copy(update={key: str(_absolute(getattr(route_spec, key), folder))})
    data["travel"] = {**travel, key: getattr(route_spec, key)}
    names, xy = _patches_of(data, read)
    if names is None:
        return data, None, problems
    try:
        if route_spec.matrix is not None:
            table = matrix_table(route_spec, names)
        else:
            table = _cached_road_table(route_spec, names, xy, read["frame"] if read else None)
    except _Fail as err:
        return data, None, [problem(("travel",) + err.path, err.message)]
    return data, table, problems


def _folder(source: str) -> Path:
    path = Path(source)
    return path.parent.resolve() if path.suffix in (".yaml", ".yml") or path.is_file() else Path.cwd()


def _absolute(name: str, folder: Path) -> Path:
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else (folder / path).resolve()


def _absolute_layer(spec, folder: Path):
    update = {"file": str(_absolute(spec.file, folder))}
    for key in ("sectors_from", "grids_from", "weight_points", "weight_raster"):
        sub = getattr(spec, key)
        if sub is not None:
            update[key] = sub.model_copy(update={"file": str(_absolute(sub.file, folder))})
    return spec.model_copy(update=update)


def _patches_of(data: dict, read: dict | None) -> tuple[tuple[str, ...] | None, np.ndarray | None]:
    """Patch names and centres (km) of the scenario's territory, or (None, None) if it is not valid."""
    from pydantic import ValidationError

    if read is not None:
        patches = read["patches"]
        return tuple(p["name"] for p in patches), np.array([[p["x_km"], p["y_km"]] for p in patches], dtype=float)

    from sim.engine.territory import build_town
    from sim.scenario.schema import Territory

    try:
        town = build_town(Territory.model_validate(data.get("territory")))
    except (ValidationError, ScenarioError, ValueError, TypeError):
        return None, None
    return town.names, town.xy_km


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """Where read layers and travel tables are kept.

    ``$SIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/town-enforcement-sim``, else ``~/.cache/town-enforcement-sim``.
    """
    if os.environ.get("SIM_CACHE_DIR"):
        return Path(os.environ["SIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "town-enforcement-sim"


_MEMO: dict[str, Any] = {}
"""What was read in this process, by cache key (a sweep's runs share one table)."""


def _file_hash(path: Path, role: tuple) -> str:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except FileNotFoundError:
        raise _Fail(role, f"{path}: file not found (relative paths start from the scenario file's folder)") from None
    except IsADirectoryError:
        raise _Fail(role, f"{path}: is a folder; expected a file") from None
    except (OSError, ValueError) as err:
        raise _Fail(role, f"{path}: cannot read the file ({getattr(err, 'strerror', None) or err})") from None


def _key(*parts: Any) -> str:
    digest = hashlib.sha256(str(CACHE_FORMAT).encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def _write_atomic(path: Path, write) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.part")
        write(partial)
        os.replace(partial, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


# --------------------------------------------------------------------------- the GIS extra


def _geo():
    """(geopandas, shapely, pyproj), or a problem saying how to install them."""
    try:
        import geopandas
        import pyproj
        import shapely
    except ImportError as err:
        raise _Fail((), f"reading GIS files needs the geo extra ({err.name} is not installed): {GEO_HINT}") from None
    return geopandas, shapely, pyproj


def _read_layer(path: str, layer: str | None, role: tuple):
    """A GeoDataFrame of one layer of a GIS file, or a problem naming the file and layer."""
    gpd, _, _ = _geo()
    import pyogrio

    where = Path(path).name
    if not Path(path).exists():
        raise _Fail(role + ("file",), f"{path}: file not found (relative paths start from the scenario file's folder)")
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as err:
        raise _Fail(
            role + ("file",),
            f"{where}: cannot read it as a GIS layer ({_short(err)}); expected GeoPackage, GeoJSON or Shapefile",
        ) from None
    if layer is not None and layer not in layers:
        raise _Fail(
            role + ("layer",), f"{where}: no layer '{layer}'{did_you_mean(layer, layers)} (layers: {', '.join(layers)})"
        )
    name = layer if layer is not None else (layers[0] if layers else None)
    try:
        frame = gpd.read_file(path, layer=name, engine="pyogrio")
    except Exception as err:
        raise _Fail(role + ("file",), f"{where}, layer '{name}': cannot read it ({_short(err)})") from None
    return frame, f"{where}, layer '{name}'"


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _column(frame, column: str, where: str, role: tuple) -> Any:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if column not in columns:
        raise _Fail(
            role,
            f"{where}: no column '{column}'{did_you_mean(column, columns)} (columns: {', '.join(map(str, columns)) or 'none'})",
        )
    return frame[column]


# --------------------------------------------------------------------------- territory


def read_territory(spec) -> dict:
    """Patches, patch side, frame and outlines from the polygon layer *spec* (cached by content).

    Returns a dict with ``patches`` (explicit patch dicts), ``patch_km``, ``frame`` (the CRS
    as WKT, the origin in metres and the unit in metres), ``outlines`` (each patch's rings, km),
    ``neighbours`` (how many patches touch each) and ``area_km2``.
    """
    files = [(spec.file, ("file",))] + [
        (getattr(spec, k).file, (k, "file"))
        for k in ("sectors_from", "grids_from", "weight_points", "weight_raster")
        if getattr(spec, k)
    ]
    key = _key("territory", [_file_hash(Path(f), role) for f, role in files], spec.model_dump(mode="json"))
    if key in _MEMO:
        return _MEMO[key]
    path = cache_dir() / f"territory-{key}.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = _read_territory(spec)
        _write_atomic(path, lambda p: p.write_text(json.dumps(result), encoding="utf-8"))
    _MEMO[key] = result
    return result


def _read_territory(spec) -> dict:
    _, shapely, pyproj = _geo()
    frame, where = _read_layer(spec.file, spec.layer, ())
    if len(frame) == 0:
        raise _Fail(("file",), f"{where}: has no features; expected one polygon per patch")
    ids = _ids(frame, spec, where)
    geometry = frame.geometry
    for i, geom in enumerate(geometry):
        if geom is None or geom.is_empty:
            raise _Fail(("file",), f"{where}, feature '{ids[i]}': has an empty geometry; expected a polygon")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise _Fail(("file",), f"{where}, feature '{ids[i]}': is a {geom.geom_type}; expected a polygon per patch")
    valid = shapely.is_valid(geometry.values)
    if not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        reason = shapely.is_valid_reason(geometry.values[i])
        raise _Fail(
            ("file",),
            f"{where}, feature '{ids[i]}': invalid polygon ({reason}); expected a valid polygon (fix it, e.g. with QGIS 'Fix geometries')",
        )
    crs, frame = _crs_of(frame, spec, where)
    projected, crs_out, origin, unit = _project(frame, crs, pyproj)
    geoms = projected.geometry.values
    xy_m = np.column_stack([shapely.get_x(shapely.centroid(geoms)), shapely.get_y(shapely.centroid(geoms))]) * unit
    area_km2 = shapely.area(geoms) * unit * unit / 1e6
    _check_degrees(crs, area_km2, xy_m, where)
    neighbours = _overlaps_and_neighbours(geoms, area_km2 * 1e6 / (unit * unit), ids, where, shapely)
    inside = projected.geometry.representative_point()
    sector = _labels(frame, spec.sector, spec.sectors_from, "sector", "sectors_from", ids, inside, crs_out, where)
    grid = _labels(frame, spec.grid, spec.grids_from, "grid", "grids_from", ids, inside, crs_out, where)
    weight = _weights(frame, spec, ids, projected, crs_out, unit, where)
    xy_km = (xy_m - origin) / 1000.0
    patches = [
        {"name": n, "x_km": float(x), "y_km": float(y), "weight": float(w), "sector": s, "grid": g}
        for n, (x, y), w, s, g in zip(ids, xy_km, weight, sector, grid)
    ]
    outlines = [_rings(g, unit, origin) for g in geoms]
    return {
        "patches": patches,
        "patch_km": float(math.sqrt(max(float(np.median(area_km2)), 1e-12))),
        "frame": {"crs": crs_out.to_wkt(), "origin_m": [float(origin[0]), float(origin[1])], "unit_m": unit},
        "outlines": outlines,
        "neighbours": neighbours,
        "area_km2": float(area_km2.sum()),
        "source": where,
    }


def _ids(frame, spec, where) -> list[str]:
    """Patch names: the id column made into usable names (``p`` put before one not starting with a letter)."""
    if spec.id is None:
        return [f"p{i + 1}" for i in range(len(frame))]
    values = _column(frame, spec.id, where, ("id",))
    names = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
            raise _Fail(
                ("id",), f"{where}, feature {i + 1}: column '{spec.id}' is empty; expected a name for every patch"
            )
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
        if not _NAME.match(text):
            text = re.sub(r"[^A-Za-z0-9_\-]", "_", text)
            text = text if _NAME.match(text) else f"p{text}"
        names.append(text)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise _Fail(
                ("id",),
                f"{where}: features {seen[name] + 1} and {i + 1} share the id '{name}' in column '{spec.id}'; expected unique ids",
            )
        seen[name] = i
    return names


def _crs_of(frame, spec, where):
    if spec.crs is not None:
        try:
            frame = frame.set_crs(spec.crs, allow_override=True)
        except Exception as err:
            raise _Fail(
                ("crs",),
                f"'{spec.crs}' is not a coordinate reference system ({_short(err)}); expected e.g. 'EPSG:4326'",
            ) from None
    crs = frame.crs
    if crs is None:
        x0, y0, x1, y1 = frame.total_bounds
        if -_DEGREES <= x0 <= x1 <= _DEGREES and -90 <= y0 <= y1 <= 90:
            raise _Fail(
                ("crs",),
                f"{where}: names no coordinate reference system and its coordinates look like "
                "longitude/latitude degrees; add crs: 'EPSG:4326' (or the file's real CRS)",
            )
        raise _Fail(
            ("crs",),
            f"{where}: names no coordinate reference system; add crs: with the file's CRS, "
            "e.g. 'EPSG:32650' (UTM zone 50N)",
        )
    return crs, frame


def _project(frame, crs, pyproj):
    """The layer in a local metric frame: (frame, CRS, origin in metres, metres per unit)."""
    if crs.is_geographic:
        lon0, lat0 = frame.to_crs("EPSG:4326").geometry.union_all().centroid.coords[0]
        local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")
        return frame.to_crs(local), local, np.zeros(2), 1.0
    unit = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
    x0, y0, _, _ = frame.total_bounds
    origin = np.floor(np.array([x0, y0]) * unit / 1000.0) * 1000.0
    return frame, crs, origin, unit


def _check_degrees(crs, area_km2, xy_m, where) -> None:
    """A projected CRS whose town is smaller than a room: longitude/latitude saved under a metric CRS."""
    span = np.ptp(xy_m, axis=0).max() if len(xy_m) > 1 else 0.0
    if not crs.is_geographic and (area_km2.sum() < 1e-4 or (len(xy_m) > 1 and span < 10.0)):
        raise _Fail(
            ("crs",),
            f"{where}: its CRS ({crs.name}) is in metres but the whole layer spans {span:.4g} m "
            f"({area_km2.sum() * 1e6:.3g} m²); the coordinates look like degrees saved without their CRS; "
            "set crs: 'EPSG:4326' if they are longitude/latitude",
        )


def _overlaps_and_neighbours(geoms, areas, ids, where, shapely) -> list[int]:
    """Refuse overlapping patches (more than 0.1% of the smaller); count each patch's neighbours."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    neighbours = np.zeros(len(geoms), dtype=int)
    if len(left):
        shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
        smaller = np.minimum(areas[left], areas[right])
        bad = shared > 1e-3 * smaller
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            a, b = int(left[k]), int(right[k])
            share = 100 * shared[k] / smaller[k]
            raise _Fail(
                ("file",),
                f"{where}: features '{ids[a]}' and '{ids[b]}' overlap ({share:.1f}% of the smaller); "
                "expected patches that do not overlap (they may share edges)",
            )
        np.add.at(neighbours, left, 1)
        np.add.at(neighbours, right, 1)
    return neighbours.tolist()


def _labels(frame, column, join, key, join_key, ids, inside, crs, where) -> list[str]:
    if column is not None:
        values = _column(frame, column, where, (key,))
        out = []
        for i, value in enumerate(values):
            if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
                raise _Fail(
                    (key,), f"{where}, feature '{ids[i]}': column '{column}' is empty; expected the patch's {key} name"
                )
            out.append(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip())
        return out
    if join is None:
        return ["all"] * len(ids)
    gpd, _, _ = _geo()
    other, other_where = _read_layer(join.file, join.layer, (join_key,))
    names = _column(other, join.column, other_where, (join_key, "column"))
    if other.crs is None:
        raise _Fail(
            (join_key, "file"),
            f"{other_where}: names no coordinate reference system; expected one (as the patches' layer has)",
        )
    other = other.to_crs(crs)
    points = gpd.GeoDataFrame({"patch": range(len(ids))}, geometry=inside.values, crs=crs)
    joined = gpd.sjoin(
        points,
        gpd.GeoDataFrame({"label": names.values}, geometry=other.geometry.values, crs=crs),
        how="left",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    out = []
    for i, value in enumerate(joined["label"].tolist()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise _Fail(
                (join_key,),
                f"{other_where}: feature '{ids[i]}' of the patches lies in no polygon of this layer; "
                f"expected every patch inside one (column '{join.column}')",
            )
        out.append(str(value))
    return out


def _weights(frame, spec, ids, projected, crs, unit, where) -> np.ndarray:
    if spec.weight is not None:
        values = _column(frame, spec.weight, where, ("weight",))
        out = np.empty(len(ids))
        for i, value in enumerate(values):
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number) or number < 0:
                raise _Fail(
                    ("weight",),
                    f"{where}, feature '{ids[i]}': column '{spec.weight}' is {value!r}; expected a number of 0 or more",
                )
            out[i] = number
    elif spec.weight_points is not None:
        gpd, _, _ = _geo()
        points, points_where = _read_layer(spec.weight_points.file, spec.weight_points.layer, ("weight_points",))
        if points.crs is None:
            raise _Fail(
                ("weight_points", "file"), f"{points_where}: names no coordinate reference system; expected one"
            )
        amounts = np.ones(len(points))
        if spec.weight_points.column is not None:
            col = _column(points, spec.weight_points.column, points_where, ("weight_points", "column"))
            amounts = np.asarray(col.astype(float).fillna(math.nan))
            bad = ~np.isfinite(amounts) | (amounts < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _Fail(
                    ("weight_points", "column"),
                    f"{points_where}, feature {i + 1}: column "
                    f"'{spec.weight_points.column}' is {col.iloc[i]!r}; expected a number of 0 or more",
                )
        points = gpd.GeoDataFrame({"amount": amounts}, geometry=points.to_crs(crs).geometry.values, crs=crs)
        patches = gpd.GeoDataFrame({"patch": range(len(ids))}, geometry=projected.geometry.values, crs=crs)
        joined = gpd.sjoin(points, patches, how="inner", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out = np.bincount(
            joined["patch"].to_numpy(dtype=int), weights=joined["amount"].to_numpy(), minlength=len(ids)
        ).astype(float)
    elif spec.weight_raster is not None:
        out = _raster_weights(spec.weight_raster, projected, crs, len(ids))
    else:
        return np.ones(len(ids))
    if out.sum() <= 0:
        key = (
            ("weight",) if spec.weight is not None else ("weight_points",) if spec.weight_points else ("weight_raster",)
        )
        raise _Fail(key, f"{where}: the weights add up to 0; expected some patch with a positive weight")
    return out


def read_cameras(path: str, layer: str | None, frame: dict) -> list[dict]:
    """Camera points from a GIS point layer, in the patches' km frame: ``[{name, x_km, y_km}, ...]``.

    Names come from a ``name`` column when the layer has one, else ``c1, c2, ...``.
    """
    points, where = _read_layer(path, layer, ())
    if len(points) == 0:
        raise _Fail(("file",), f"{where}: has no features; expected one point per camera")
    if points.crs is None:
        raise _Fail(
            ("file",),
            f"{where}: names no coordinate reference system; expected one (the cameras are put on the patches' map)",
        )
    names = [str(v) for v in points["name"]] if "name" in points.columns else None
    xy = []
    for i, geom in enumerate(points.geometry):
        label = f"'{names[i]}'" if names else str(i + 1)
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            kind = "an empty geometry" if geom is None or geom.is_empty else f"a {geom.geom_type}"
            raise _Fail(("file",), f"{where}, feature {label}: is {kind}; expected a point per camera")
        xy.append((geom.x, geom.y))
    km = _to_frame(np.array(xy, dtype=float), points.crs, frame)
    lost = ~np.isfinite(km).all(axis=1)
    if lost.any():
        i = int(np.flatnonzero(lost)[0])
        label = f"'{names[i]}'" if names else str(i + 1)
        raise _Fail(
            ("file",),
            f"{where}, feature {label}: cannot be put on the patches' map from its CRS ({points.crs.name}); "
            "check the layer's CRS",
        )
    return [
        {"name": names[i] if names else f"c{i + 1}", "x_km": float(x), "y_km": float(y)} for i, (x, y) in enumerate(km)
    ]


def _raster_weights(spec, projected, crs, patches: int) -> np.ndarray:
    """A raster's counts added up per patch: each cell with a value goes to the patch holding its centre.

    Only the part of the raster over the patches is read (a window of the band); cells marked
    nodata are left out. The cell centres are projected onto the patches' map, so the raster
    may be in any CRS.
    """
    role = ("weight_raster",)
    try:
        import rasterio  # type: ignore[import-untyped]
        from rasterio.windows import Window  # type: ignore[import-untyped]
    except ImportError:
        raise _Fail(role, f"reading a raster needs rasterio: {GEO_HINT}") from None
    gpd, _, _ = _geo()
    path = Path(spec.file)
    if not path.exists():
        raise _Fail(role + ("file",), f"{path}: file not found (relative paths start from the scenario file's folder)")
    try:
        dataset = rasterio.open(path)
    except Exception as err:
        raise _Fail(
            role + ("file",), f"{path.name}: cannot read it as a raster ({_short(err)}); expected e.g. a GeoTIFF"
        ) from None
    with dataset:
        if dataset.crs is None:
            raise _Fail(
                role + ("file",),
                f"{path.name}: names no coordinate reference system; expected one (a GeoTIFF keeps its CRS)",
            )
        if spec.band > dataset.count:
            raise _Fail(role + ("band",), f"{path.name}: has {dataset.count} band(s); there is no band {spec.band}")
        x0, y0, x1, y1 = projected.to_crs(dataset.crs).total_bounds
        box = dataset.bounds
        if x1 <= box.left or x0 >= box.right or y1 <= box.bottom or y0 >= box.top:
            raise _Fail(
                role + ("file",),
                f"{path.name}: covers none of the patches (raster {box.left:.6g}..{box.right:.6g} x "
                f"{box.bottom:.6g}..{box.top:.6g}, patches {x0:.6g}..{x1:.6g} x {y0:.6g}..{y1:.6g} in the raster's "
                f"CRS, {dataset.crs.to_string()}); check the raster's and the layer's CRS",
            )
        r0, c0 = dataset.index(max(x0, box.left), min(y1, box.top))
        r1, c1 = dataset.index(min(x1, box.right), max(y0, box.bottom))
        (r0, r1), (c0, c1) = sorted((r0, r1)), sorted((c0, c1))
        r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, dataset.height - 1), min(c1, dataset.width - 1)
        window = Window(c0, r0, c1 - c0 + 1, r1 - r0 + 1)
        values = dataset.read(spec.band, window=window, masked=True)
        transform, raster_crs = dataset.window_transform(window), dataset.crs
    data = np.ma.filled(values.astype(float), 0.0)
    counted = ~np.ma.getmaskarray(values) & (data != 0)
    rows, cols = np.nonzero(counted)
    amounts = data[rows, cols]
    bad = ~np.isfinite(amounts) | (amounts < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _Fail(
            role + ("file",),
            f"{path.name}, band {spec.band}, row {r0 + rows[i]}, column {c0 + cols[i]}: {amounts[i]:g}; "
            "expected counts of 0 or more (or the raster's nodata value)",
        )
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    points = gpd.GeoDataFrame(
        {"amount": amounts}, geometry=gpd.points_from_xy(np.atleast_1d(xs), np.atleast_1d(ys)), crs=raster_crs
    ).to_crs(crs)
    cells = gpd.GeoDataFrame({"patch": range(patches)}, geometry=projected.geometry.values, crs=crs)
    joined = gpd.sjoin(points, cells, how="inner", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    if len(amounts) and joined.empty:
        raise _Fail(
            role + ("file",),
            f"{path.name}: none of its {len(amounts):,} cells with a value has its centre inside a patch; "
            "check the raster's CRS, or use a raster finer than the patches",
        )
    return np.bincount(
        joined["patch"].to_numpy(dtype=int), weights=joined["amount"].to_numpy(), minlength=patches
    ).astype(float)


def _rings(geom, unit, origin) -> list[list[list[float]]]:
    """A polygon's exterior rings in km, rounded to a metre: [[xs, ys], ...]."""
    parts = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    out = []
    for part in parts:
        coords = np.asarray(part.exterior.coords)[:, :2] * unit - origin
        out.append([np.round(coords[:, 0] / 1000, 3).tolist(), np.round(coords[:, 1] / 1000, 3).tolist()])
    return out


# --------------------------------------------------------------------------- travel: a table from a file


def matrix_table(spec, names: tuple[str, ...]):
    """A travel table from a CSV ``from,to,minutes`` file (every ordered pair of distinct patches)."""
    from sim.scenario.schema import TravelTable

    path = Path(spec.matrix)
    key = _key("matrix", _file_hash(path, ("matrix",)), list(names))
    if key in _MEMO:
        return _MEMO[key]
    where, index, n = path.name, {name: i for i, name in enumerate(names)}, len(names)
    minutes = np.full((n, n), np.nan, dtype=np.float32)
    np.fill_diagonal(minutes, 0.0)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in ("from", "to", "minutes") if c not in header]
            if missing:
                raise _Fail(
                    ("matrix",),
                    f"{where}: line 1: no column {', '.join(repr(m) for m in missing)}; "
                    "expected a header from,to,minutes",
                )
            cols = [header.index(c) for c in ("from", "to", "minutes")]
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                try:
                    a, b, value = (row[c].strip() for c in cols)
                except IndexError:
                    raise _Fail(
                        ("matrix",), f"{where}: line {line}: {len(row)} fields; expected from,to,minutes"
                    ) from None
                for name in (a, b):
                    if name not in index:
                        raise _Fail(
                            ("matrix",), f"{where}: line {line}: no patch named '{name}'{did_you_mean(name, names)}"
                        )
                try:
                    number = float(value)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number) or number < 0:
                    raise _Fail(("matrix",), f"{where}: line {line}: minutes {value!r}; expected a number of 0 or more")
                i, j = index[a], index[b]
                if i != j and not math.isnan(minutes[i, j]):
                    raise _Fail(
                        ("matrix",), f"{where}: line {line}: a second time from '{a}' to '{b}'; expected each pair once"
                    )
                minutes[i, j] = 0.0 if i == j else number
    except FileNotFoundError:
        raise _Fail(
            ("matrix",), f"{path}: file not found (relative paths start from the scenario file's folder)"
        ) from None
    except (OSError, ValueError, csv.Error) as err:
        raise _Fail(("matrix",), f"{where}: cannot read it as CSV text ({_short(err)})") from None
    gaps = np.argwhere(np.isnan(minutes))
    if len(gaps):
        i, j = gaps[0]
        raise _Fail(
            ("matrix",),
            f"{where}: {len(gaps):,} pair(s) have no time, e.g. from '{names[i]}' to '{names[j]}'; "
            "expected a row for every ordered pair of distinct patches",
        )
    minutes.setflags(write=False)
    table = TravelTable(minutes=minutes, names=tuple(names), source=str(path), key=key)
    _MEMO[key] = table
    return table


# --------------------------------------------------------------------------- travel: roads


@dataclass
class _Roads:
    """A directed road graph in the patches' frame: node positions (km) and edges with minutes."""

    xy_km: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    minutes: np.ndarray
    lines: list = field(default_factory=list)


def _cached_road_table(spec, names, xy_km, frame):
    from sim.scenario.schema import TravelTable

    path = Path(spec.roads)
    settings = spec.model_dump(mode="json", exclude={"roads", "matrix", "cache"})
    key = _key(
        "roads", _file_hash(path, ("roads",)), settings, frame, list(names), np.asarray(xy_km, dtype=float).tobytes()
    )
    if key in _MEMO:
        return _MEMO[key]
    cached = cache_dir() / f"travel-{key}.npz"
    cached_minutes = cached.with_suffix(".npy")
    try:
        with np.load(cached) as stored:
            snap_km = stored["snap_km"]
        minutes = np.load(cached_minutes, mmap_mode="r")  # read-only, paged in as used
        if minutes.shape != (len(names), len(names)):
            raise ValueError("stale cache")
    except (OSError, KeyError, ValueError):
        roads = read_roads(spec, frame)
        minutes, snap_km = road_table(roads, xy_km, spec.access_speed_kmh, names)
        if spec.cache:
            lines = _road_lines(roads)
            _write_atomic(cached_minutes, lambda p: _save_npy(p, minutes))
            _write_atomic(cached, lambda p: _save_npz(p, snap_km=snap_km, lines=lines))
    if minutes.flags.writeable:
        minutes.setflags(write=False)
    table = TravelTable(
        minutes=minutes, names=tuple(names), snapped=len(names), snap_km=snap_km, source=str(path), key=key
    )
    _MEMO[key] = table
    return table


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def _save_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def road_table(roads: _Roads, xy_km: np.ndarray, access_speed_kmh: float, names=None) -> tuple[np.ndarray, np.ndarray]:
    """Driving minutes between patches over *roads*: (n x n float32 minutes, km from each patch to its node).

    Each patch is joined to the nearest node of the largest strongly connected part of the
    network (so every patch can reach every other), at *access_speed_kmh* in a straight line.
    Shortest paths come from Dijkstra's algorithm over a CSR matrix, a batch of sources at a
    time so that memory stays near ``n x nodes_needed`` rather than ``n x all nodes``.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra
    from scipy.spatial import cKDTree

    names = names or [str(i) for i in range(len(xy_km))]
    nodes = len(roads.xy_km)
    if nodes == 0 or len(roads.tail) == 0:
        raise _Fail(("roads",), "the road network has no roads a vehicle can drive on")
    graph = _csr(roads, nodes, csr_matrix)
    _, labels = connected_components(graph, directed=True, connection="strong")
    main = np.flatnonzero(labels == np.bincount(labels).argmax())
    snap_km, which = cKDTree(roads.xy_km[main]).query(np.asarray(xy_km, dtype=float))
    node_of = main[which]
    sources, position = np.unique(node_of, return_inverse=True)
    between = np.empty((len(sources), len(sources)), dtype=np.float32)
    batch = max(1, min(len(sources), 2_000_000 // max(nodes, 1)))
    for start in range(0, len(sources), batch):
        rows = dijkstra(graph, directed=True, indices=sources[start : start + batch])
        between[start : start + batch] = rows[:, sources]
        del rows
    access = (60.0 * snap_km / access_speed_kmh).astype(np.float32)
    minutes = (
        between
        if len(sources) == len(node_of) and np.array_equal(position, np.arange(len(node_of)))
        else between[np.ix_(position, position)]
    )
    del between
    minutes += access[:, None]
    minutes += access[None, :]
    np.fill_diagonal(minutes, 0.0)
    unreachable = np.argwhere(~np.isfinite(minutes))
    if len(unreachable):
        i, j = unreachable[0]
        raise _Fail(
            ("roads",),
            f"{len(unreachable):,} pair(s) of patches cannot be reached by road, e.g. from "
            f"'{names[i]}' to '{names[j]}'; expected a connected road network",
        )
    return minutes, snap_km.astype(np.float32)


def _csr(roads: _Roads, nodes: int, csr_matrix):
    """The graph as a CSR matrix of minutes, keeping the quickest of parallel edges (zero made tiny)."""
    order = np.lexsort((roads.minutes, roads.head, roads.tail))
    tail, head, minutes = roads.tail[order], roads.head[order], roads.minutes[order]
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    keep = first & (tail != head)
    weights = np.maximum(minutes[keep], 1e-12)
    return csr_matrix((weights, (tail[keep], head[keep])), shape=(nodes, nodes))


def read_roads(spec, frame) -> _Roads:
    """The road network of ``travel.roads`` in the patches' frame."""
    name = Path(spec.roads).name.lower()
    if name.endswith(".pbf"):
        return _roads_from_pbf(spec, frame)
    if name.endswith((".osm", ".osm.xml", ".osm.gz", ".osm.bz2")):
        return _roads_from_osm_xml(spec, frame)
    if name.endswith((".graphml", ".graphml.gz", ".xml.gz", ".graphml.bz2")):
        return _roads_from_graphml(spec, frame)
    raise _Fail(
        ("roads",),
        f"{Path(spec.roads).name}: unknown kind of road file; expected an OpenStreetMap extract "
        "(.osm.pbf, or XML: .osm, .osm.gz) or a road graph (.graphml, .graphml.gz), or give travel.matrix for a CSV table",
    )


_ONEWAY = {"yes": 1, "true": 1, "1": 1, "-1": -1, "reverse": -1}


def _directed(u, v, length_km, classes, oneway, spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    speed = np.array([spec.speed_of(c) for c in classes], dtype=float)
    minutes = 60.0 * length_km / speed
    tail, head, time = [], [], []
    for direction, (a, b) in ((1, (u, v)), (-1, (v, u))):
        use = np.array([o == 0 or o == direction for o in oneway], dtype=bool)
        tail.append(a[use])
        head.append(b[use])
        time.append(minutes[use])
    return np.concatenate(tail), np.concatenate(head), np.concatenate(time)


def _to_frame(lon_lat_or_xy: np.ndarray, source_crs, frame) -> np.ndarray:
    """Coordinates in *source_crs* as km in the patches' frame."""
    if frame is None:
        if source_crs is not None:
            raise _Fail(
                ("roads",),
                "the road network has map coordinates but the patches have none; "
                "give the patches as territory.gis (a polygon layer) so that both are on one map",
            )
        return np.asarray(lon_lat_or_xy, dtype=float)
    _, _, pyproj = _geo()
    transformer = pyproj.Transformer.from_crs(source_crs, pyproj.CRS.from_wkt(frame["crs"]), always_xy=True)
    x, y = transformer.transform(lon_lat_or_xy[:, 0], lon_lat_or_xy[:, 1])
    xy_m = np.column_stack([x, y]) * frame["unit_m"] - np.asarray(frame["origin_m"])
    return xy_m / 1000.0


def _roads_from_pbf(spec, frame) -> _Roads:
    _geo()
    try:
        import pyrosm
    except ImportError:
        raise _Fail(("roads",), f"reading an OpenStreetMap extract needs pyrosm: {GEO_HINT}") from None
    try:
        nodes, edges = pyrosm.OSM(spec.roads).get_network(network_type="driving", nodes=True)
    except Exception as err:
        raise _Fail(
            ("roads",), f"{Path(spec.roads).name}: cannot read it as an OpenStreetMap extract ({_short(err)})"
        ) from None
    if nodes is None or edges is None or len(edges) == 0:
        raise _Fail(("roads",), f"{Path(spec.roads).name}: holds no roads a vehicle can drive on")
    index = {int(n): i for i, n in enumerate(nodes["id"].to_numpy())}
    xy = _to_frame(np.column_stack([nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float)]), "EPSG:4326", frame)
    u = np.array([index[int(a)] for a in edges["u"].to_numpy()])
    v = np.array([index[int(b)] for b in edges["v"].to_numpy()])
    tags = edges["tags"].fillna("").astype(str).to_numpy() if "tags" in edges else [""] * len(edges)
    oneway = [
        1
        if '"junction": "roundabout"' in t or '"junction":"roundabout"' in t
        else _ONEWAY.get(str(o).strip().lower(), 0)
        for o, t in zip(edges["oneway"].to_numpy() if "oneway" in edges else [None] * len(edges), tags)
    ]
    length_km = edges["length"].to_numpy(float) / 1000.0
    classes = [str(h) for h in edges["highway"].to_numpy()]
    tail, head, minutes = _directed(u, v, length_km, classes, oneway, spec)
    return _Roads(xy, tail, head, minutes)


NOT_DRIVEN = frozenset(
    {
        "footway",
        "cycleway",
        "path",
        "pedestrian",
        "steps",
        "bridleway",
        "corridor",
        "platform",
        "construction",
        "proposed",
        "abandoned",
        "raceway",
        "bus_guideway",
        "escape",
        "elevator",
        "via_ferrata",
    }
)
"""OpenStreetMap ``highway`` values no vehicle drives on (an OSM XML way with one of them is left out)."""

_NO_ACCESS = frozenset({"no", "private"})


def _roads_from_osm_xml(spec, frame) -> _Roads:
    """Roads from OpenStreetMap XML (``.osm``; ``.osm.gz`` and ``.osm.bz2`` unpacked on the fly), standard library only.

    Ways with a ``highway`` tag a vehicle drives on (not :data:`NOT_DRIVEN`, not ``access`` or
    ``motor_vehicle`` ``no``/``private``, not ``area=yes``) become edges between consecutive nodes,
    of the straight-line length between them on the patches' map; ``oneway=yes|true|1`` (and
    roundabouts) one way, ``oneway=-1|reverse`` the other way; speeds by ``highway`` class.
    """
    nodes, ways = _read_osm_xml(Path(spec.roads))
    where = Path(spec.roads).name
    if not ways:
        raise _Fail(("roads",), f"{where}: holds no ways with a highway tag a vehicle can drive on")
    used = sorted({n for _, refs, _, _ in ways for n in refs})
    index = {n: i for i, n in enumerate(used)}
    xy = _to_frame(np.array([nodes[n] for n in used], dtype=float).reshape(-1, 2), "EPSG:4326", frame)
    u, v, classes, oneway = [], [], [], []
    for _, refs, highway, direction in ways:
        for a, b in itertools.pairwise(refs):
            if a != b:
                u.append(index[a])
                v.append(index[b])
                classes.append(highway)
                oneway.append(direction)
    u_arr, v_arr = np.array(u, dtype=int), np.array(v, dtype=int)
    length_km = np.hypot(*(xy[v_arr] - xy[u_arr]).T)
    tail, head, minutes = _directed(u_arr, v_arr, length_km, classes, oneway, spec)
    return _Roads(xy, tail, head, minutes)


def _read_osm_xml(path: Path) -> tuple[dict[str, tuple[float, float]], list[tuple[str, list[str], str, int]]]:
    """(node id -> (lon, lat), driven ways as (way id, node ids, highway, oneway)) read with ``iterparse``."""
    import bz2
    import gzip
    import xml.etree.ElementTree as ET

    where = path.name
    if not path.exists():
        raise _Fail(("roads",), f"{path}: file not found (relative paths start from the scenario file's folder)")
    opener = gzip.open if where.endswith(".gz") else bz2.open if where.endswith(".bz2") else open
    nodes: dict[str, tuple[float, float]] = {}
    ways: list[tuple[str, list[str], str, int]] = []
    root = None
    try:
        with opener(path, "rb") as handle:
            for event, element in ET.iterparse(handle, events=("start", "end")):
                if event == "start":
                    root = element if root is None else root
                    continue
                if element.tag == "node":
                    nodes[_osm_id(element, where)] = _lon_lat(element, where)
                elif element.tag == "way":
                    way = _driven_way(element, where)
                    if way is not None:
                        ways.append(way)
                if element.tag in ("node", "way", "relation") and root is not None:
                    root.clear()  # keep memory flat: each element is dropped once read
    except ET.ParseError as err:
        line, column = err.position
        raise _Fail(
            ("roads",),
            f"{where}: line {line}, column {column}: not well-formed XML ({str(err).split(':')[0]}); expected OSM XML",
        ) from None
    except (OSError, EOFError) as err:
        raise _Fail(("roads",), f"{where}: cannot read it ({_short(err)})") from None
    if root is None or root.tag != "osm":
        raise _Fail(
            ("roads",), f"{where}: the document is <{getattr(root, 'tag', '')}>; expected OpenStreetMap XML <osm>"
        )
    for way_id, refs, _, _ in ways:
        missing = next((n for n in refs if n not in nodes), None)
        if missing is not None:
            raise _Fail(
                ("roads",),
                f"{where}, way {way_id}: refers to node {missing}, which the file does not hold; "
                "expected every node of a road in the file (export the extract with complete ways)",
            )
    return nodes, ways


def _osm_id(element, where: str) -> str:
    value = element.get("id")
    if not value:
        raise _Fail(("roads",), f'{where}: a <{element.tag}> has no id; expected id="…" on every node and way')
    return value


def _lon_lat(element, where: str) -> tuple[float, float]:
    node = _osm_id(element, where)
    try:
        lon, lat = float(element.get("lon")), float(element.get("lat"))
    except (TypeError, ValueError):
        raise _Fail(
            ("roads",),
            f"{where}, node {node}: lon={element.get('lon')!r}, lat={element.get('lat')!r}; expected numbers (degrees)",
        ) from None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise _Fail(("roads",), f"{where}, node {node}: lon={lon:g}, lat={lat:g}; expected longitude and latitude")
    return lon, lat


def _driven_way(element, where: str) -> tuple[str, list[str], str, int] | None:
    """A way's (id, node ids, highway, oneway) if a vehicle drives on it, else None."""
    tags = {t.get("k"): (t.get("v") or "").strip().lower() for t in element.iter("tag")}
    highway = tags.get("highway", "")
    if not highway or highway in NOT_DRIVEN or tags.get("area") == "yes":
        return None
    if tags.get("access") in _NO_ACCESS or tags.get("motor_vehicle") in _NO_ACCESS:
        return None
    way_id = _osm_id(element, where)
    refs = [nd.get("ref") for nd in element.iter("nd")]
    if len(refs) < 2 or any(not r for r in refs):
        raise _Fail(
            ("roads",), f"{where}, way {way_id}: has {len(refs)} node reference(s); expected at least two <nd ref=…>"
        )
    oneway = 1 if tags.get("junction") in ("roundabout", "circular") else _ONEWAY.get(tags.get("oneway", ""), 0)
    return way_id, [str(r) for r in refs], highway, oneway


def _roads_from_graphml(spec, frame) -> _Roads:
    try:
        import networkx as nx
    except ImportError:
        raise _Fail(("roads",), f"reading a GraphML road graph needs networkx: {GEO_HINT}") from None
    where = Path(spec.roads).name
    try:
        graph = nx.read_graphml(spec.roads)
    except Exception as err:
        raise _Fail(("roads",), f"{where}: cannot read it as GraphML ({_short(err)})") from None
    ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(ids)}
    try:
        xy = np.array([[float(graph.nodes[n]["x"]), float(graph.nodes[n]["y"])] for n in ids]).reshape(-1, 2)
    except (KeyError, TypeError, ValueError):
        bad = next(n for n in ids if not _has_xy(graph.nodes[n]))
        raise _Fail(
            ("roads",), f"{where}: node '{bad}' has no numeric x and y; expected node attributes x, y"
        ) from None
    crs = graph.graph.get("crs")
    xy = _to_frame(xy, crs, frame)
    u, v, length_km, classes = [], [], [], []
    for a, b, data in graph.edges(data=True):
        i, j = index[a], index[b]
        u.append(i)
        v.append(j)
        if data.get("length") is not None:
            length_km.append(float(data["length"]) / 1000.0)
        else:
            length_km.append(float(np.hypot(*(xy[i] - xy[j]))))
        highway = str(data.get("highway", "")).strip("[]'\" ").split("'")[0].split(",")[0]
        classes.append(highway)
    tails, heads = np.array(u, dtype=int), np.array(v, dtype=int)
    oneway = [1 if graph.is_directed() else 0] * len(tails)
    tail, head, minutes = _directed(tails, heads, np.array(length_km, dtype=float), classes, oneway, spec)
    return _Roads(xy, tail, head, minutes)


def _has_xy(attributes) -> bool:
    try:
        float(attributes["x"]), float(attributes["y"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _road_lines(roads: _Roads) -> np.ndarray:
    """Road segments for drawing: (m, 2, 2) float32, each segment once."""
    pairs = np.unique(np.sort(np.column_stack([roads.tail, roads.head]), axis=1), axis=0)
    return np.stack([roads.xy_km[pairs[:, 0]], roads.xy_km[pairs[:, 1]]], axis=1).astype(np.float32)


# --------------------------------------------------------------------------- maps


@dataclass(frozen=True)
class TownMap:
    """What a map of a real town draws: patch outlines and roads, in the patches' km frame."""

    outlines: list
    roads: np.ndarray | None
    neighbours: list
    area_km2: float


def town_map(scenario) -> TownMap | None:
    """The outlines (and roads) of a scenario read from a GIS layer, or None for a grid town."""
    spec = scenario.territory.gis
    if spec is None:
        return None
    try:
        read = read_territory(spec)
    except (_Fail, OSError):
        return None
    roads = None
    table = scenario.travel.table if scenario.travel is not None else None
    if table is not None and table.key:
        try:
            with np.load(cache_dir() / f"travel-{table.key}.npz") as stored:
                roads = stored["lines"]
        except (OSError, KeyError, ValueError):
            roads = None
    return TownMap(read["outlines"], roads, read["neighbours"], read["area_km2"])


# --------------------------------------------------------------------------- exact check


def straight_line_check(
    points: int = 9, spacing_km: float = 0.5, speed_kmh: float = 30.0
) -> tuple[np.ndarray, np.ndarray]:
    """Travel minutes over a road that is one straight line through every patch centre, and in a straight line.

    Patches stand at ``0, spacing, 2 spacing, ...`` km on the x axis; the road joins each to the
    next (both ways) at *speed_kmh*. The defaults are exact in binary, so the two tables must be
    equal to the last bit: (road minutes, straight-line minutes ``60 * |x_a - x_b| / speed``).
    """
    xy = np.column_stack([np.arange(points) * spacing_km, np.zeros(points)])
    u, v = np.arange(points - 1), np.arange(1, points)
    length = np.hypot(*(xy[v] - xy[u]).T)
    minutes = 60.0 * length / speed_kmh
    roads = _Roads(xy, np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([minutes, minutes]))
    table, _ = road_table(roads, xy, access_speed_kmh=speed_kmh)
    straight = (60.0 * np.abs(xy[:, None, 0] - xy[None, :, 0]) / speed_kmh).astype(np.float32)
    return table, straight
