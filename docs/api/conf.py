"""Sphinx configuration of the API reference (``python -m sphinx -W -b html docs/api OUT``).

Built by ``tests/system/test_api_reference.py`` with warnings as errors. The docstrings are numpy
style (numpydoc); the public API is what ``sim.__all__`` names.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402

project = "town-enforcement-sim"
author = "the town-enforcement-sim authors"
copyright = "the town-enforcement-sim authors, MIT licence"
release = version = sim.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the signatures show the types; numpydoc sections describe them
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
suppress_warnings: list[str] = []
# Checked: every documented object has a docstring (GL08), documented parameters exist (PR02) and are
# written "name : type" (PR10), summaries end with a period (SS03), return types are given (RT02).
# PR01 (every parameter documented) is checked for the public functions by tests/system/test_api_reference.py:
# the records and dataclasses describe their fields in prose or Attributes, not as Parameters.
numpydoc_validation_checks = {"GL08", "PR02", "PR10", "SS03", "RT02"}
