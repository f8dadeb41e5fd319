"""Result files: incidents.csv streamed from the runs' columns is the text written record by record."""

from __future__ import annotations

import math

import sim
from sim.engine.records import IncidentRecord, incident_table
from sim.io.results import _incident_chunks_of_tables, _incidents_text, _jobs_text, write_comparison


def test_incidents_csv_from_columns_equals_the_record_by_record_text(classroom, tmp_path):
    comparison = sim.compare(classroom, replications=2)
    by_records = _incidents_text(comparison.records())
    tables = ((m, r, o.records) for m, outs in comparison.outputs.items() for r, o in enumerate(outs))
    chunks = list(_incident_chunks_of_tables(tables, block=7))
    assert len(chunks) > 10  # streamed in pieces, not built whole
    assert "".join(chunks) == by_records
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
    text = "".join(_incident_chunks_of_tables([("m", 0, incident_table([record]))]))
    assert text == _incidents_text([("m", 0, record)])
    assert '"noise, ""loud"""' in text and ",None," in text and ",inf," in text
