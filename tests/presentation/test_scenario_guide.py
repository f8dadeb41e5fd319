"""The scenario guide is generated from the schema and kept current."""

from __future__ import annotations

from sim.presentation.scenario_guide import field_reference, scenario_guide
from sim.scenario.schema import Department, IncidentType, Scenario
from tests.conftest import ROOT


def test_field_reference_lists_every_field():
    text = field_reference()
    for model in (Scenario, Department, IncidentType):
        assert f"### {model.__name__}" in text
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in text
            if field.description:
                assert field.description in text


def test_committed_guide_matches_the_schema():
    """docs/scenarios.md must be regenerated (python -m sim docs) whenever the schema changes."""
    committed = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert committed.endswith(field_reference()), "docs/scenarios.md is stale: run `python -m sim docs`"


def test_guide_without_runs_has_intro_and_reference():
    text = scenario_guide(run=False)
    assert text.startswith("# Writing scenarios") and "## Field reference" in text


def test_every_type_cell_reads_as_a_type():
    """No pydantic sentinel leaks into the table, and every distribution field reads 'duration'."""
    reference = field_reference()
    assert "Undefined" not in reference
    rows = [line for line in reference.splitlines() if line.startswith("| `") and line.count("|") >= 5]
    durations = [
        r for r in rows if r.split("|")[1].strip(" `") in ("service_min", "delay_min", "handover_min", "report_min")
    ]
    assert durations and all(r.split("|")[2].strip() == "duration" for r in durations)
