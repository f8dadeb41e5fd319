"""Golden records: optimisations must not change what the model does.

The classroom scenario's incident records under every mode are stored in
``tests/data/classroom_golden.csv``. A change that alters them is a change of behaviour, not an
optimisation: regenerate deliberately with ``SIM_REGENERATE_GOLDEN=1 python -m pytest
tests/test_regression.py`` and say why in the commit.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest

import sim
from sim.records import RECORD_FIELDS
from sim.results import write_incidents

GOLDEN = Path(__file__).parent / "data" / "classroom_golden.csv"


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


@pytest.mark.parametrize("field", ["occurred_min", "resolved_min"])
def test_golden_file_is_not_trivial(field):
    values = [r[field] for r in _rows(GOLDEN)]
    assert len(values) > 100 and len(set(values)) > 50
