"""The curated public API, and how little ``import sim`` costs."""

import ast
import json
import re
import subprocess
import sys

import sim
from tests.conftest import ROOT

HEAVY = (
    "scipy",
    "matplotlib",
    "pydantic",
    "yaml",
    "dask",
    "distributed",
    "SALib",
    "pandas",
    "pyarrow",
    "simpy",
    "numpy",
)


def test_public_names():
    assert set(sim.__all__) == {
        "__version__",
        "Scenario",
        "ScenarioError",
        "load_scenario",
        "scenario_from_dict",
        "run",
        "replicate",
        "compare",
        "Comparison",
        "RunProgress",
        "RunOutput",
        "IncidentRecord",
        "JobRecord",
        "Precision",
        "Summary",
        "ModeSummary",
        "load_sweep",
        "sweep_from_dict",
        "run_sweep",
        "SweepResult",
        "load_sweep_results",
        "summary_frame",
        "provenance",
        "DispatchRequest",
        "FreeUnit",
        "ChannelRequest",
        "MetricInput",
    }
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert set(dir(sim)) >= set(sim.__all__)


def test_an_unknown_name_is_an_attribute_error():
    try:
        sim.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def _modules_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_import_sim_loads_no_heavy_package():
    loaded = _modules_after("import sim")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []


def test_the_engine_loads_alone():
    """``import sim.engine.model`` loads the engine without files, statistics, figures or the command line."""
    loaded = _modules_after("import sim.engine.model")
    wrong = [
        m
        for m in loaded
        if m.startswith(("sim.io", "sim.experiments", "sim.presentation", "sim.cli", "sim.stats"))
        or m.split(".")[0] in ("matplotlib", "yaml", "dask", "SALib", "scipy")
    ]
    assert wrong == []


def _readme_python() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_every_name_readme_takes_from_sim_is_public():
    """Each ``sim.NAME`` and ``from sim import NAME`` in README's Python examples is in ``sim.__all__``."""
    blocks = _readme_python()
    assert blocks, "README has Python examples"
    used = set()
    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sim":
                used.add(node.attr)
            if isinstance(node, ast.ImportFrom) and node.module == "sim":
                used.update(alias.name for alias in node.names)
    assert {"load_scenario", "compare", "run"} <= used  # the test reads what README shows
    assert sorted(used - set(sim.__all__)) == []
