"""Golden records: optimisations must not change what the model does.

The classroom scenario's incident records under every mode are stored in
``tests/data/classroom_golden.csv``. A change that alters them is a change of behaviour, not an
optimisation: regenerate deliberately with ``SIM_REGENERATE_GOLDEN=1 python -m pytest
tests/system/test_regression.py`` and say why in the commit.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest

import sim
from sim.engine.records import RECORD_FIELDS
from sim.io.results import write_incidents
from tests.conftest import DATA

GOLDEN = DATA / "classroom_golden.csv"
CITY_GOLDEN = DATA / "jinjiang_dispatch_golden.csv"
CITY_SCENARIO = DATA / "jinjiang_dispatch_golden.yaml"
"""Jinjiang as it was when the golden file was made (one city-wide centre, units at 16 bases): a fixed
configuration, so that the shipped scenarios/jinjiang.yaml may grow (levels, per-town units) without
moving the golden file."""
CITY_COLUMNS = ("mode", "incident", "units", "dispatched_min", "on_scene_min", "resolved_min")


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _same(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(x) and math.isnan(y))


def test_classroom_records_match_golden(classroom, tmp_path):
    comparison = sim.compare(classroom, replications=2)
    fresh = tmp_path / "fresh.csv"
    write_incidents(fresh, comparison.records())
    if os.environ.get("SIM_REGENERATE_GOLDEN") == "1":
        GOLDEN.write_bytes(fresh.read_bytes())
    expected, got = _rows(GOLDEN), _rows(fresh)
    assert len(got) == len(expected)
    for old, new in zip(expected, got):
        for column in ("mode", "replication", *RECORD_FIELDS):
            assert _same(old[column], new[column]), (column, old, new)


def test_city_dispatch_matches_golden(tmp_path):
    """Eighteen hours of Jinjiang: hundreds of free units per department, so nearest dispatch goes
    through the map index. Which unit went, and when, must not change."""
    city = sim.load_scenario(CITY_SCENARIO, ["days=0.75", "warmup_days=0.25", "drain_days=0.5"])
    rows = [
        {
            "mode": mode,
            "incident": r.incident,
            "units": r.units,
            "dispatched_min": r.dispatched_min,
            "on_scene_min": r.on_scene_min,
            "resolved_min": r.resolved_min,
        }
        for mode in ("unified",)
        for r in sim.run(city, mode).records
    ]
    fresh = tmp_path / "city.csv"
    with fresh.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, CITY_COLUMNS)
        writer.writeheader()
        writer.writerows({k: repr(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows)
    if os.environ.get("SIM_REGENERATE_GOLDEN") == "1":
        CITY_GOLDEN.write_bytes(fresh.read_bytes())
    expected, got = _rows(CITY_GOLDEN), _rows(fresh)
    assert len(got) == len(expected) > 1000
    assert len({r["units"] for r in expected}) > 300  # many different units were chosen
    for old, new in zip(expected, got):
        for column in CITY_COLUMNS:
            assert _same(old[column], new[column]), (column, old, new)


@pytest.mark.parametrize("field", ["occurred_min", "resolved_min"])
def test_golden_file_is_not_trivial(field):
    values = [r[field] for r in _rows(GOLDEN)]
    assert len(values) > 100 and len(set(values)) > 50
