"""The API reference (docs/api, Sphinx + numpydoc) builds with warnings as errors, and README links to it."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest

import sim
from tests.conftest import ROOT


@pytest.mark.timeout(300)
def test_the_api_reference_builds_without_a_warning(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html"]
    done = subprocess.run(
        [*command, "-d", str(tmp_path / "doctrees"), str(ROOT / "docs" / "api"), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"sphinx-build failed:\n{done.stdout}\n{done.stderr}"
    page = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    public = [name for name in sim.__all__ if name != "__version__"]
    assert [name for name in public if f'id="sim.{name}"' not in page] == []  # every public name is documented


def test_every_public_name_is_in_the_reference_source():
    source = (ROOT / "docs" / "api" / "index.rst").read_text(encoding="utf-8")
    assert [name for name in sim.__all__ if name != "__version__" and f"sim.{name}" not in source] == []


def test_readme_links_to_the_api_reference():
    assert "docs/api" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_parameter_of_a_public_function_is_documented():
    """The validation of numpydoc itself (PR01 undocumented, PR02 unknown, PR10 "name : type") of each public function."""
    validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is in the docs and test extras")
    functions = [name for name in sim.__all__ if inspect.isfunction(getattr(sim, name))]
    assert {"run", "compare", "load_scenario", "run_sweep", "summary_frame", "load_sweep_results"} <= set(functions)
    found = {}
    for name in functions:
        module = getattr(sim, name).__module__
        errors = validate.validate(f"{module}.{name}")["errors"]
        found[name] = [f"{code}: {text}" for code, text in errors if code in ("PR01", "PR02", "PR10")]
    assert {name: errors for name, errors in found.items() if errors} == {}
