"""Result files: incidents.csv streamed from the runs' columns is the text written record by record."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.records import IncidentRecord, incident_table
from sim.io.csvcells import csv_block, float_columns, int_columns, text_column, text_table
from sim.io.results import _incident_chunks_of_tables, _incidents_text, _jobs_text, write_comparison
from sim.io.text import float_text


def _float_cells(values) -> list[str]:
    """The cells :func:`sim.io.csvcells.float_columns` makes of *values*, as strings, one per value."""
    values = np.asarray(values, dtype=np.float64)
    return csv_block(float_columns(values[None, :], ["\n"]), len(values)).decode("utf-8").split("\n")[:-1]


def test_incidents_csv_from_columns_equals_the_record_by_record_text(classroom, tmp_path):
    comparison = sim.compare(classroom, replications=2)
    by_records = _incidents_text(comparison.records())
    tables = ((m, r, o.records) for m, outs in comparison.outputs.items() for r, o in enumerate(outs))
    chunks = list(_incident_chunks_of_tables(tables, block=7))
    assert len(chunks) > 10  # streamed in pieces, not built whole
    assert b"".join(chunks).decode("utf-8") == by_records
    write_comparison(tmp_path, comparison)
    assert (tmp_path / "incidents.csv").read_text(encoding="utf-8") == by_records
    assert by_records.count("\n") == 1 + sum(len(o.records) for outs in comparison.outputs.values() for o in outs)
    jobs = ((m, r, j) for m, outs in comparison.outputs.items() for r, o in enumerate(outs) for j in o.jobs)
    assert (tmp_path / "jobs.csv").read_text(encoding="utf-8") == _jobs_text(jobs)


def test_awkward_cells_are_quoted_the_same_way():
    fields = dict.fromkeys(IncidentRecord._fields, 0)
    fields.update(
        incident_type='noise, "loud"',
        patch="p",
        sector="s",
        occurred_min=1 / 3,
        detected_min=2.0000004,
        channel="hotline",
        finder=None,
        reached_min=math.nan,
        dispatched_min=math.inf,
        on_scene_min=1e9 + 0.1234567,
        resolved_min=math.nan,
        departments="a+b",
        units="u\n1",
        layer="town",
        closed_min=math.nan,
        on_the_spot=True,
        left_by_all=False,
        ended_min=-0.0,
    )
    record = IncidentRecord(**fields)
    text = b"".join(
        _incident_chunks_of_tables([("m", 0, incident_table([record])), ('a, "b"', 1, incident_table([record]))])
    ).decode("utf-8")
    assert text == _incidents_text([("m", 0, record), ('a, "b"', 1, record)])
    assert '"noise, ""loud"""' in text and ",None," in text and ",inf," in text and '\n"a, ""b""",1,' in text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=50))
def test_float_cells_are_exactly_float_text_with_six_places(values):
    """The fast formatting of a column gives, cell for cell, the text of :func:`float_text` (six places)."""
    assert _float_cells(np.array(values)) == [float_text(v, decimals=6) for v in values]


def test_float_cells_on_edges_and_a_million_times():
    """Halves at the sixth place, tiny and huge values, zeros and minutes of a year: the same text as float_text."""
    rng = np.random.default_rng(5)
    edges = [0.0, -0.0, 5e-7, 1.5e-6, 2.5e-6, -1e-7, 4.99999e-5, 5e-5, 9.99995e-5, 1e-4, 999999999.9999995, 1e9, 1e16]
    values = np.concatenate(
        [edges, rng.uniform(0, 525_600, 200_000), np.round(rng.exponential(60, 50_000), 6) + 5e-7, [math.nan, math.inf]]
    )
    assert _float_cells(values) == [float_text(v, decimals=6) for v in values.tolist()]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1), min_size=1, max_size=40),
    st.sampled_from([np.int32, np.int64]),
)
def test_int_cells_are_exactly_str(values, dtype):
    """Integer columns (32-bit where they fit, several side by side) give, cell for cell, ``str`` of each value."""
    if dtype is np.int32:
        values = [v % 2**32 - 2**31 for v in values]  # every 32-bit value, the smallest included
    column = np.array(values, dtype=dtype)
    columns = np.stack([column, column[::-1]])
    text = csv_block(int_columns(columns, [",", "\n"]), len(values)).decode("utf-8")
    assert text == "".join(f"{a},{b}\n" for a, b in zip(values, values[::-1]))


def test_int_cells_beyond_eighteen_digits_and_awkward_texts():
    """Integers of 19 digits are written one by one; texts keep every character (a NUL, é, ÿ, CJK), none dropped."""
    big = np.array([[10**18, -(2**63), 2**63 - 1]])
    assert csv_block(int_columns(big, ["\n"]), 3) == f"{10**18}\n{-(2**63)}\n{2**63 - 1}\n".encode()
    texts = ["a\x00b", "é", "ÿ", "城市", ""]
    cells = text_column(text_table(texts, "\n"), np.array([4, 3, 2, 1, 0, 0]))
    assert csv_block([cells], 6).decode("utf-8") == "\n城市\nÿ\né\na\x00b\na\x00b\n"
