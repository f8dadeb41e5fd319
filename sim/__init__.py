"""Town enforcement simulator: fragmented, joint and unified ways of working, in minutes.

A scenario file describes a town (patches, departments, incident types) and the ways of
working to compare. :func:`load_scenario` validates it, :func:`run` simulates one mode,
:func:`compare` runs several on the same incidents, and the records and summaries that come
back are plain data (or pandas DataFrames: ``output.to_frame()``, ``comparison.to_frame()``,
:func:`summary_frame`). :func:`load_sweep` and :func:`run_sweep` run many of them, and
:func:`load_sweep_results` reads a finished sweep's tables back as one DataFrame.

The names below are loaded when first used (PEP 562), so ``import sim`` is cheap and the
command line answers ``--help`` at once; ``ARCHITECTURE.md`` says where each thing lives.
"""

from __future__ import annotations

import importlib
import signal  # noqa: F401  # loaded with the package: see below
from typing import TYPE_CHECKING, Any

from sim.version import __version__

# ``signal`` (a small standard module) is loaded with the package so that the command line's entry point,
# ``sim.__main__``, imports nothing new before it handles Ctrl-C: without it, a Ctrl-C just after
# ``import sim`` (the ``town-sim`` script's next line imports ``sim.__main__``) landed in ``import signal``,
# before the handler, and ended in a traceback (tests/system/test_interrupt.py, seen under load).

# Public name -> the module that defines it.
_WHERE = {
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.errors",
    "load_scenario": "sim.io.loader",
    "scenario_from_dict": "sim.io.loader",
    "run": "sim.experiments.runs",
    "replicate": "sim.experiments.runs",
    "compare": "sim.experiments.runs",
    "Comparison": "sim.experiments.runs",
    "RunProgress": "sim.experiments.runs",
    "RunOutput": "sim.engine.model",
    "IncidentRecord": "sim.engine.records",
    "JobRecord": "sim.engine.records",
    "Precision": "sim.stats.metrics",
    "Summary": "sim.stats.summary_types",
    "ModeSummary": "sim.stats.summary_types",
    "load_sweep": "sim.io.sweepfile",
    "sweep_from_dict": "sim.io.sweepfile",
    "run_sweep": "sim.experiments.runs",
    "SweepResult": "sim.experiments.runs",
    "load_sweep_results": "sim.io.sweepfile",
    "summary_frame": "sim.stats.frames",
    "provenance": "sim.io.provenance",
    "DispatchRequest": "sim.engine.rules",
    "FreeUnit": "sim.engine.rules",
    "ChannelRequest": "sim.engine.detection",
    "MetricInput": "sim.stats.plugins",
}

__all__ = [
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
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from sim.engine.detection import ChannelRequest
    from sim.engine.model import RunOutput
    from sim.engine.records import IncidentRecord, JobRecord
    from sim.engine.rules import DispatchRequest, FreeUnit
    from sim.errors import ScenarioError
    from sim.experiments.runs import (
        Comparison,
        RunProgress,
        SweepResult,
        compare,
        replicate,
        run,
        run_sweep,
    )
    from sim.io.loader import load_scenario, scenario_from_dict
    from sim.io.provenance import provenance
    from sim.io.sweepfile import load_sweep, load_sweep_results, sweep_from_dict
    from sim.scenario.schema import Scenario
    from sim.stats.frames import summary_frame
    from sim.stats.metrics import Precision
    from sim.stats.plugins import MetricInput
    from sim.stats.summary_types import ModeSummary, Summary


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
