"""Road travel table of a city-sized town: build time, memory, and the cached start.

Not a test: timings depend on the machine. The town is Jinjiang-sized: 2,500 patches (50 x 50
squares of 200 m, a GeoPackage in UTM zone 50N) over a street lattice every 100 m (10,201 road
nodes, about 40,000 directed road edges; a fifth of the inner streets one-way, classes from
motorway to residential at random, a seeded random network). Reported:

* ``first_load_s``: ``sim.load_scenario`` with an empty cache (read the layer, read the GraphML,
  snap, Dijkstra from every patch's node, write the cache), and its part ``table_build_s``
  (snapping and shortest paths: :func:`sim.io.gis.road_table`);
* ``table_mb``: the table held by the run (float32, 2,500^2 x 4 B), and ``build_peak_mb``: the
  peak of memory allocated while building it (tracemalloc; numpy's arrays included);
* ``cached_start_s``: in a fresh process with the simulator already imported, ``sim.load_scenario``
  of the same file once the cache is there (hashing the files, reading the cached patches and table);
  ``cached_process_s``: the whole fresh process (python start, imports, load).

Run: ``python benchmarks/travel.py [--out benchmarks/results/travel.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROWS = COLS = 50
PATCH_M = 200.0
STREET_M = 100.0
X0, Y0 = 600000.0, 2730000.0


def make_town(folder: Path, seed: int = 1) -> Path:
    """Write the grid layer, the road graph and the scenario into *folder*; return the scenario."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    cells = [
        shapely.box(X0 + c * PATCH_M, Y0 + r * PATCH_M, X0 + (c + 1) * PATCH_M, Y0 + (r + 1) * PATCH_M)
        for r in range(ROWS)
        for c in range(COLS)
    ]
    frame = gpd.GeoDataFrame(
        {
            "code": [f"G{i:04d}" for i in range(len(cells))],
            "community": [f"C{(i // COLS) // 10}{(i % COLS) // 10}" for i in range(len(cells))],
        },
        geometry=cells,
        crs="EPSG:32650",
    )
    frame.to_file(folder / "grids.gpkg", driver="GPKG")
    rng = np.random.default_rng(seed)
    n = int(ROWS * PATCH_M / STREET_M) + 1
    graph = nx.DiGraph(crs="EPSG:32650")
    for r in range(n):
        for c in range(n):
            graph.add_node(f"{r}_{c}", x=X0 + c * STREET_M, y=Y0 + r * STREET_M)
    classes = ["motorway", "primary", "secondary", "tertiary", "residential", "residential", "residential"]
    for r in range(n):
        for c in range(n):
            for rr, cc in ((r, c + 1), (r + 1, c)):
                if rr >= n or cc >= n:
                    continue
                highway = classes[int(rng.integers(len(classes)))] if (r % 10 == 0 or c % 10 == 0) else "residential"
                u, v = f"{r}_{c}", f"{rr}_{cc}"
                graph.add_edge(u, v, highway=highway, length=STREET_M)
                edge = 0 < r < n - 1 and 0 < c < n - 1
                if not (edge and rng.random() < 0.2):
                    graph.add_edge(v, u, highway=highway, length=STREET_M)
    nx.write_graphml(graph, folder / "roads.graphml")
    scenario = {
        "name": "city_roads",
        "territory": {"gis": {"file": "grids.gpkg", "id": "code", "grid": "community"}},
        "travel": {"roads": "roads.graphml"},
        "departments": [{"name": "enforcement", "units": 200, "powers": ["litter"], "base": "G1275"}],
        "incident_types": [{"name": "litter", "rate_per_day": 2000}],
    }
    path = folder / "city.yaml"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    return path


def measure(folder: Path) -> dict:
    """Build the town's table with an empty cache, then start again from the cache."""
    import sim
    from sim.io import gis

    os.environ["SIM_CACHE_DIR"] = str(folder / "cache")
    path = make_town(folder)
    built = {}
    original = gis.road_table

    def timed(*args, **kwargs):
        tracemalloc.start()
        start = time.perf_counter()
        out = original(*args, **kwargs)
        built["table_build_s"] = time.perf_counter() - start
        built["build_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        return out

    gis.road_table = timed
    start = time.perf_counter()
    scenario = sim.load_scenario(path)
    first = time.perf_counter() - start
    gis.road_table = original
    table = scenario.travel.table
    probe = (
        "import time, sim\n"
        "sim.load_scenario(sim.__path__[0] + '/../scenarios/classroom.yaml')\n"
        f"t = time.perf_counter(); s = sim.load_scenario({str(path)!r}); print(time.perf_counter() - t)"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SIM_CACHE_DIR": str(folder / "cache")},
    ).stdout
    process = time.perf_counter() - start
    return {
        "patches": len(table.names),
        "road_nodes": (int(ROWS * PATCH_M / STREET_M) + 1) ** 2,
        "first_load_s": round(first, 2),
        "table_build_s": round(built["table_build_s"], 2),
        "build_peak_mb": round(built["build_peak_mb"], 1),
        "table_mb": round(table.minutes.nbytes / 1e6, 1),
        "longest_min": round(table.longest_min, 1),
        "cached_start_s": round(float(out.strip()), 3),
        "cached_process_s": round(process, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def main(argv=None) -> int:
    """Measure and write the JSON (``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/travel.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        result = measure(Path(folder))
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
