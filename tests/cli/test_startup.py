"""Start-up of the command line: building the parser and ``validate`` import only what they need.

Each check runs the command line in a fresh interpreter (``sim.cli.main`` in a subprocess) and
reads the modules it loaded. No check measures time: ``python -m benchmarks startup`` does, and
writes the figures to docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim.cli.common import BACKENDS
from tests.conftest import ROOT, SCENARIOS

# Packages no start-up path may load: they cost seconds together, and only running, plotting,
# sweeping or analysing needs them.
HEAVY = ("scipy", "matplotlib", "simpy", "dask", "distributed", "SALib", "pandas", "pyarrow", "tqdm")
LAYERS = ("sim.experiments", "sim.planning", "sim.verification", "sim.presentation")

PROBE = """
import contextlib, io, json, sys
from sim.cli import build_parser, main

argv = json.loads(sys.argv[1])
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(argv) if argv else (build_parser(), 0)[1]
    except SystemExit as stop:
        code = stop.code
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run(argv: list[str]) -> dict:
    """Run ``sim.cli.main(argv)`` (or only build the parser, for ``[]``) in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


LIGHT = ("sim.presentation", "sim.presentation.text", "sim.presentation.i18n")
"""Text formatting for tables (standard library only), which the command line prints with."""


def _unwanted(modules: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    return [
        m
        for m in modules
        if m not in LIGHT
        and (m.split(".")[0] in HEAVY + extra or any(m == layer or m.startswith(layer + ".") for layer in LAYERS))
    ]


@pytest.mark.parametrize("argv", [[], ["--help"]], ids=["build_parser", "help"])
def test_building_the_parser_loads_no_heavy_package_nor_upper_layer(argv):
    result = _run(argv)
    assert result["code"] == 0
    # Not even the scenario file's machinery: the parser is argparse and sim.cli alone.
    assert _unwanted(result["modules"], extra=("numpy", "yaml", "pydantic")) == []
    assert not any(m.startswith(("sim.io", "sim.scenario", "sim.engine", "sim.stats")) for m in result["modules"])
    if argv:
        assert "validate" in result["out"] and "sweep" in result["out"]


BUILDS = ("sim.presentation.overview",)
"""What ``validate`` of a valid file adds: the overview of what the file builds (town, rosters, offered load)."""


def test_validate_loads_the_loader_schema_and_what_builds_the_town_only():
    path = SCENARIOS / "classroom.yaml"
    result = _run(["validate", str(path)])
    assert result["code"] == 0, result["err"]
    assert "valid scenario 'classroom'" in result["out"]
    modules = result["modules"]
    assert [m for m in _unwanted(modules) if m not in BUILDS] == []  # no SimPy, SciPy, matplotlib; no upper layer
    assert "sim.engine.model" not in modules and "sim.stats.metrics" not in modules  # nothing is simulated
    assert {"yaml", "pydantic", "sim.io.loader", "sim.scenario.schema", "sim.stats.capacity"} <= set(modules)


def test_an_invalid_scenario_is_reported_without_heavy_packages(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8") + "\nno_such_field: 1\n", encoding="utf-8"
    )
    result = _run(["validate", str(bad)])
    assert result["code"] == 2
    assert "no_such_field" in result["err"]
    assert _unwanted(result["modules"]) == []


def test_the_backend_choices_match_the_experiment_layer():
    """The parser's --backend choices are written out in sim.cli.common so as not to import the experiments."""
    from sim.experiments.backends import BACKENDS as REAL

    assert BACKENDS == REAL
