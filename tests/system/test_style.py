"""The settings in pyproject.toml are enforced, not just declared: ruff and mypy pass.

``ruff check`` covers the package, the tests and the benchmarks with the rules selected in
``[tool.ruff.lint]``; ``ruff format --check`` holds the layout and the line length of 120; ``mypy`` checks
what ``[tool.mypy]`` lists: the whole package, every layer (less the modules its ``exclude`` names
for now). Both, and the type stubs mypy needs, come with the ``test`` extra (``pip install '.[test]'``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed; pip install '.[test]' installs it")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", "--no-cache", "sim", "tests", "benchmarks")
    assert done.returncode == 0, f"ruff check failed:\n{done.stdout}{done.stderr}"


def test_the_code_is_formatted():
    # the notebook is generated from examples/make_classroom_notebook.py (tests check it is current)
    done = _run(
        "ruff", "format", "--check", "--no-cache", "sim", "tests", "benchmarks", "examples/make_classroom_notebook.py"
    )
    assert done.returncode == 0, f"ruff format would change files (run `ruff format`):\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing():
    done = _run("mypy")
    assert done.returncode == 0, f"mypy failed:\n{done.stdout}{done.stderr}"
