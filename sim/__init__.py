"""Town enforcement simulator: fragmented, joint and unified ways of working, in minutes.

A scenario file describes a town (patches, departments, incident types) and the ways of
working to compare. :func:`load_scenario` validates it, :func:`run` simulates one mode,
:func:`compare` runs several on the same incidents, and the records and summaries that come
back are plain data.
"""

__version__ = "0.1.0"

from sim.errors import ScenarioError  # noqa: E402
from sim.experiment import Comparison, compare, replicate, run  # noqa: E402
from sim.loader import load_scenario, scenario_from_dict  # noqa: E402
from sim.records import IncidentRecord  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

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
    "IncidentRecord",
]
