"""The dispatcher's work per incident on the tiled town, counted, and a paired A/B against another dispatch.py.

Not a test: the A/B times depend on the machine; the counters do not. The town is the one of the
``patches and units`` scaling of :mod:`benchmarks.performance` (``anhai_garbage.yaml`` tiled 1x1, 2x2,
4x4, 14 days, unified), whose slope should stay near 1 if the work per incident stays flat.

* ``counters``: per incident, searches through the map index, the cells they visit (and how many of
  those are empty) and the buckets they compare; free units compared one by one; units filed into and
  taken out of the index; refiles of units back at base; and, per search, the units filed and the list
  of units heading home (and that list at the end of the run). Counted by wrapping the index's methods.
* ``ab OLD_DISPATCH_PY``: the tree's :mod:`sim.engine.dispatch` against another version of the file
  (e.g. ``git show main:sim/engine/dispatch.py > /tmp/old.py``), swapped into :mod:`sim.engine.model`
  run by run in one process: CPU seconds per case, the median of the per-round new/old ratios with
  their range, the records of both compared (the same seed must give the same records), and the
  slope of the tile sizes for each.

Run: ``python benchmarks/dispatch_work.py counters`` or
``python benchmarks/dispatch_work.py ab /tmp/old.py --rounds 5 --cases tile1 tile2 tile4 anhai_u jj60``
"""

from __future__ import annotations

import argparse
import collections
import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
import sim.engine.dispatch as dispatch  # noqa: E402
import sim.engine.model as model  # noqa: E402
from benchmarks.performance import slope, tiled  # noqa: E402

TOWN = ROOT / "scenarios" / "anhai_garbage.yaml"
COUNTED = (
    "index_searches",
    "cells_visited",
    "cells_empty",
    "buckets_compared",
    "units_compared_one_by_one",
    "filed",
    "taken_out",
    "refiled_back_at_base",
)


def _instrument(counts: collections.Counter, indexes: list) -> None:
    """Wrap the map index and the dispatcher's nearest search of :mod:`sim.engine.dispatch` to count their work."""
    index, dispatcher = dispatch._CellIndex, dispatch.Dispatcher
    init, nearest, settle = index.__init__, index.nearest, index._settle
    add, add_many, remove, remove_many = index.add, index.add_many, index.remove, index.remove_many
    searching = [False]

    class Cells(dict):
        def get(self, key, default=None):
            found = dict.get(self, key, default)
            if searching[0]:
                counts["cells_visited"] += 1
                counts["buckets_compared"] += len(found or ())
                counts["cells_empty"] += not found
            return found

    def init_(self, *args):
        init(self, *args)
        self.cells = Cells()
        indexes.append(self)

    def nearest_(self, patch, now, beat):
        counts["index_searches"] += 1
        counts["heading_home_at_search"] += len(self.returning)
        counts["filed_at_search"] += len(self.filed)
        if self.returning and self.returning[0][0] <= now:
            self._settle(now)
        searching[0] = True
        try:
            return nearest(self, patch, now, beat)
        finally:
            searching[0] = False

    def settle_(self, now):
        for back, _, unit in self.returning:
            patch = self.filed.get(unit)
            if back <= now and patch is not None and unit.back_at_base_min == back and patch != unit.base:
                counts["refiled_back_at_base"] += 1
        settle(self, now)

    def add_(self, unit, now):
        counts["filed"] += 1
        add(self, unit, now)

    def add_many_(self, units, now):
        counts["filed"] += len(units)
        add_many(self, units, now)

    def remove_(self, unit):
        counts["taken_out"] += unit in self.filed
        remove(self, unit)

    def remove_many_(self, units):
        counts["taken_out"] += sum(unit in self.filed for unit in units)
        remove_many(self, units)

    index.__init__, index.nearest, index._settle = init_, nearest_, settle_
    index.add, index.add_many, index.remove, index.remove_many = add_, add_many_, remove_, remove_many_
    one_by_one = dispatcher._nearest

    def _nearest_(self, job):
        for name in self._job_pools(job):
            pool = self.free.get(name)
            if pool and not (self._cells.get(name) is not None and len(pool) > dispatch.SMALL_FLEET):
                counts["units_compared_one_by_one"] += len(pool)
        return one_by_one(self, job)

    dispatcher._nearest = _nearest_


def counters(sides=(1, 2, 4)) -> list[dict]:
    """Work counters per incident (and per index search) of the tree's dispatcher at each tile size."""
    counts: collections.Counter = collections.Counter()
    indexes: list = []
    _instrument(counts, indexes)
    rows = []
    for side in sides:
        counts.clear()
        indexes.clear()
        incidents = len(sim.run(tiled(TOWN, ["days=14"], side), "unified").records)
        searches = counts["index_searches"] or 1
        row = {"side": side, "incidents": incidents}
        row.update({f"{k}_per_incident": counts[k] / incidents for k in COUNTED})
        row["cells_per_search"] = counts["cells_visited"] / searches
        row["empty_cells_per_search"] = counts["cells_empty"] / searches
        row["buckets_per_search"] = counts["buckets_compared"] / searches
        row["filed_per_search"] = counts["filed_at_search"] / searches
        row["heading_home_per_search"] = counts["heading_home_at_search"] / searches
        row["heading_home_at_end"] = sum(len(i.returning) for i in indexes)
        rows.append(row)
    return rows


def _case(name: str):
    """(scenario, mode) of a named case: tileN, anhai_u, anhai_f (a year of Anhai), jj60 (60 days of Jinjiang)."""
    if name.startswith("tile"):
        return tiled(TOWN, ["days=14"], int(name[4:])), "unified"
    if name in ("anhai_u", "anhai_f"):
        mode = "unified" if name.endswith("u") else "fragmented"
        return sim.load_scenario(ROOT / "scenarios" / "anhai.yaml", ["days=365"]), mode
    if name == "jj60":
        return sim.load_scenario(ROOT / "scenarios" / "jinjiang.yaml", ["days=60"]), "unified"
    raise SystemExit(f"unknown case {name!r}")


def _same(a, b) -> bool:
    """Whether two record tables hold the same records (NaN equal to NaN: compared by their text)."""
    return len(a) == len(b) and all(x == y or repr(x) == repr(y) for x, y in zip(a, b))


def ab(old_path: Path, cases: list[str], rounds: int = 5) -> dict:
    """Paired, interleaved CPU seconds of each case with the dispatcher of *old_path* and the tree's."""
    spec = importlib.util.spec_from_file_location("old_dispatch", old_path)
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_dispatch"] = old
    spec.loader.exec_module(old)
    versions = {"old": old.Dispatcher, "new": dispatch.Dispatcher}
    scenarios = {name: _case(name) for name in cases}
    times: dict = {(c, v): [] for c in cases for v in versions}
    sizes, same = {}, {}
    for r in range(rounds):
        for name in cases:
            outputs = {}
            for version in ("old", "new") if r % 2 == 0 else ("new", "old"):
                model.Dispatcher = versions[version]
                gc.collect()
                started = time.process_time()
                output = sim.run(*scenarios[name])
                times[name, version].append(time.process_time() - started)
                if r == 0:
                    outputs[version] = output
            if r == 0:
                sizes[name] = len(outputs["old"].records)
                same[name] = _same(outputs["old"].records, outputs["new"].records) and _same(
                    outputs["old"].jobs, outputs["new"].jobs
                )
    model.Dispatcher = dispatch.Dispatcher
    out: dict = {"rounds": rounds, "cases": {}}
    for name in cases:
        ratios = [n / o for n, o in zip(times[name, "new"], times[name, "old"])]
        out["cases"][name] = {
            "incidents": sizes[name],
            "same_records": same[name],
            "old_s": statistics.median(times[name, "old"]),
            "new_s": statistics.median(times[name, "new"]),
            "ratio": {"median": statistics.median(ratios), "low": min(ratios), "high": max(ratios)},
        }
    tiles = [c for c in cases if c.startswith("tile")]
    if len(tiles) >= 2:
        out["slope"] = {v: slope([(sizes[c], statistics.median(times[c, v])) for c in tiles]) for v in versions}
    return out


def main(argv=None) -> int:
    """``counters`` or ``ab OLD_DISPATCH_PY``, printed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("counters")
    compare = sub.add_parser("ab")
    compare.add_argument("old", type=Path, help="another version of sim/engine/dispatch.py")
    compare.add_argument("--rounds", type=int, default=5)
    compare.add_argument("--cases", nargs="+", default=["tile1", "tile2", "tile4"])
    args = parser.parse_args(argv)
    if args.what == "counters":
        for row in counters():
            print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        return 0
    found = ab(args.old, args.cases, args.rounds)
    for name, case in found["cases"].items():
        ratio = case["ratio"]
        print(
            f"{name}: {case['incidents']} incidents, same records {case['same_records']}; old {case['old_s']:.3f} s, "
            f"new {case['new_s']:.3f} s; new/old {ratio['median']:.3f} ({ratio['low']:.3f}-{ratio['high']:.3f}, "
            f"{found['rounds']} rounds)"
        )
    for version, value in found.get("slope", {}).items():
        print(f"slope {version}: {value:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
