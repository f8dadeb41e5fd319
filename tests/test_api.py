"""The curated public API."""

import sim


def test_public_names():
    assert set(sim.__all__) == {
        "__version__", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict",
        "run", "replicate", "compare", "Comparison", "IncidentRecord",
    }
    for name in sim.__all__:
        assert hasattr(sim, name)


def test_model_core_does_not_import_cli_or_io():
    import ast
    from pathlib import Path

    core = ["model", "dispatch", "incident", "governance", "territory", "department", "patrol", "channel", "metrics", "scenario", "schedule", "records"]
    for name in core:
        tree = ast.parse((Path(sim.__file__).parent / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not imported & {"sim.cli", "sim.results", "sim.loader", "yaml", "matplotlib", "sim.plots"}, name
