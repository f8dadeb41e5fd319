"""A sweep's tables: CSV and Parquet carry the same values, with the same types whatever happened, and load
back as one DataFrame; the Parquet files carry the provenance as key-value metadata."""

from __future__ import annotations

import csv
import json
import math

import pytest

import sim
from sim.experiments.runs import run_sweep
from sim.io.provenance import PARQUET_KEY
from sim.io.sweepfile import column_types, load_sweep_results, sweep_from_dict
from tests.conftest import SCENARIOS

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the parquet and test extras")
pd = pytest.importorskip("pandas", reason="pandas is in the frames and test extras")

SHORT = ["days=1", "warmup_days=0.2", "drain_days=0.3"]


def _sweep(parameters: dict):
    return sweep_from_dict(
        {
            "name": "tables",
            "scenario": str(SCENARIOS / "classroom.yaml"),
            "set": SHORT,
            "parameters": parameters,
            "modes": ["fragmented", "unified"],
            "replications": 3,
            "metrics": ["response_min.median", "within_target", "resolution_min.mean"],
            "seed": 3,
        }
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One sweep where every run succeeds, one where some fail (a warm-up longer than the horizon)."""
    out = tmp_path_factory.mktemp("sweeps")
    good = run_sweep(_sweep({"departments.sanitation.units": [1, 2]}), out / "good", backend="serial")
    bad = run_sweep(_sweep({"warmup_days": [0.2, 50]}), out / "bad", backend="serial")
    assert not good.failed and bad.failed
    return {"good": good, "bad": bad}


def _csv_cells(path):
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _equal(text: str, value) -> bool:
    """A CSV cell and a Parquet value are the same value: empty is null, numbers equal exactly."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, float):
        return float(text) == value
    if isinstance(value, int):
        return int(text) == value
    return text == value


@pytest.mark.parametrize("which", ["good", "bad"])
@pytest.mark.parametrize("table", ["runs", "summary"])
def test_csv_and_parquet_agree_value_for_value(finished, which, table):
    folder = finished[which].out
    header, rows = _csv_cells(folder / f"{table}.csv")
    parquet = pq.read_table(folder / f"{table}.parquet")
    assert parquet.column_names == header
    data = parquet.to_pydict()
    assert len(rows) == parquet.num_rows > 0
    floats = 0
    for index, row in enumerate(rows):
        for column, text in zip(header, row):
            value = data[column][index]
            assert _equal(text, value), (table, column, index, text, value)
            floats += isinstance(value, float) and value != round(value, 6)
    assert floats > 0  # values with more digits than 12 would keep: the CSV is exact, not rounded


@pytest.mark.parametrize("table", ["runs", "summary"])
def test_column_types_do_not_depend_on_what_happened(finished, table):
    """``error`` (and ``vs``) is a string column even when nothing failed; a metric is a double."""
    schemas = {which: pq.read_schema(finished[which].out / f"{table}.parquet") for which in finished}
    metrics = finished["good"].sweep.metrics
    for column, kind in column_types(metrics, table).items():
        if column in schemas["good"].names:
            expected = {"string": "string", "int64": "int64", "float64": "double"}[kind]
            assert str(schemas["good"].field(column).type) == expected == str(schemas["bad"].field(column).type)
    if table == "runs":
        assert str(schemas["good"].field("error").type) == "string"
        assert all(v is None for v in pq.read_table(finished["good"].out / "runs.parquet")["error"].to_pylist())


def test_parquet_files_carry_the_provenance(finished):
    for table in ("runs", "summary"):
        metadata = pq.read_schema(finished["good"].out / f"{table}.parquet").metadata
        block = json.loads(metadata[PARQUET_KEY.encode()])
        assert block["seed"] == 3 and len(block["code_sha256"]) == 64 and block["versions"]["numpy"]
        assert block["created_utc"].endswith("Z")
    manifest = json.loads((finished["good"].out / "sweep.json").read_text())
    assert manifest["provenance"]["code_sha256"] == block["code_sha256"]


@pytest.mark.parametrize("table", ["runs", "summary"])
def test_a_sweep_loads_back_as_one_frame_from_either_file(finished, tmp_path, table):
    result = finished["bad"]
    from_result = result.to_frame(table)
    from_parquet = load_sweep_results(result.out, table)
    pd.testing.assert_frame_equal(from_result, from_parquet)
    csv_only = tmp_path / "csv_only"
    csv_only.mkdir()
    for name in ("sweep.json", f"{table}.csv"):
        (csv_only / name).write_bytes((result.out / name).read_bytes())
    pd.testing.assert_frame_equal(from_result, sim.load_sweep_results(csv_only, table))
    if table == "runs":
        assert len(from_result) == len(result.runs) == 2 * 2 * 3
        assert from_result["error"].notna().sum() == len(result.failed)


def test_the_long_frame_has_a_row_per_run_and_metric(finished):
    result = finished["good"]
    wide, long = result.to_frame(), result.to_frame(long=True)
    metrics = list(result.sweep.metrics)
    assert len(long) == len(wide) * len(metrics)
    assert list(long["metric"][: len(metrics)]) == metrics
    for row in long.itertuples(index=False):
        match = wide[
            (wide["point"] == row.point) & (wide["mode"] == row.mode) & (wide["replication"] == row.replication)
        ]
        expected = match.iloc[0][row.metric]
        assert (math.isnan(row.value) and math.isnan(expected)) or row.value == expected
