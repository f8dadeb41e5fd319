"""The record of one incident's life, written once, when a run ends.

Like Ciw's data records, an :class:`IncidentRecord` is a small immutable row (a named tuple:
a city year holds about a million of them, and a tuple is built several times faster than a
frozen dataclass) and :func:`write_record` is the only place that creates one. Metrics (:mod:`sim.stats.metrics`) are pure
functions of lists of records. Times are minutes since the start of the run (Monday 00:00);
a stage that did not happen before the horizon is ``nan``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from sim.engine.incidents import LAYER_NAMES, IncidentState

__all__ = ["IncidentRecord", "JobRecord", "write_record", "RECORD_FIELDS", "JOB_FIELDS"]


class IncidentRecord(NamedTuple):
    """One incident: when it happened, was found, reached someone able to act, was reached and resolved.

    Response time is detected -> first capable unit on scene; resolution time is
    detected -> resolved (all departments done). Both are minutes. ``layer`` is who could
    settle it (grid workers, the town's departments, or the city centre first); ``closed_min``
    is when the closed loop closed the case (after the fix), if the mode runs the loop;
    ``on_the_spot`` is true when whoever found the matter could act on it and was the first on
    scene (its response is then no dispatch at all).
    """

    incident: int
    incident_type: str
    patch: str
    sector: str
    priority: int
    occurred_min: float
    detected_min: float
    channel: str
    finder: str
    reached_min: float
    dispatched_min: float
    on_scene_min: float
    resolved_min: float
    departments: str
    units: str
    referrals: int
    bounces: int
    seen_not_handled: int
    layer: str
    closed_min: float
    on_the_spot: bool

    @property
    def response_min(self) -> float:
        """Detected to first capable unit on scene, minutes (nan if not reached)."""
        return self.on_scene_min - self.detected_min

    @property
    def resolution_min(self) -> float:
        """Detected to resolved, minutes (nan if not resolved)."""
        return self.resolved_min - self.detected_min

    @property
    def closure_min(self) -> float:
        """Detected to closed by the closed loop, minutes (nan without the loop)."""
        return self.closed_min - self.detected_min

    @property
    def resolved(self) -> bool:
        """Whether the matter was resolved before the horizon."""
        return not math.isnan(self.resolved_min)


RECORD_FIELDS = IncidentRecord._fields


class JobRecord(NamedTuple):
    """One unit's visit to one incident: requested, dispatched, arrived, done (minutes).

    An incident needing several departments has several jobs. ``home_sector`` is the sector of
    the unit's base, ``sector`` the incident's; a job with ``queued`` waited for a free unit.
    Written by the model when the unit finishes (jobs unfinished at the end are not written).
    """

    incident: int
    incident_type: str
    unit: str
    department: str
    home_sector: str
    patch: str
    sector: str
    requested_min: float
    dispatched_min: float
    arrived_min: float
    done_min: float
    on_the_spot: bool

    @property
    def wait_min(self) -> float:
        """Requested to dispatched: time waiting for a free unit."""
        return self.dispatched_min - self.requested_min

    @property
    def travel_min(self) -> float:
        """Dispatched to arrived, set-off included."""
        return self.arrived_min - self.dispatched_min

    @property
    def busy_min(self) -> float:
        """Dispatched to done: the unit's time on this job."""
        return self.done_min - self.dispatched_min


JOB_FIELDS = JobRecord._fields


def write_record(state: IncidentState, patch_names, patch_sector_names) -> IncidentRecord:
    """Freeze an incident's final state into its record (the only constructor used by the model).

    *patch_names* and *patch_sector_names* give each patch's name and its sector's name.
    """
    return IncidentRecord(
        state.number,
        state.type_name,
        patch_names[state.patch],
        patch_sector_names[state.patch],
        state.priority,
        state.occurred_min,
        state.detected_min,
        state.channel,
        state.finder,
        state.reached_min,
        state.dispatched_min,
        state.on_scene_min,
        state.resolved_min,
        "+".join(dict.fromkeys(state.departments)),
        "+".join(state.units),
        state.referrals,
        state.bounces,
        state.seen_not_handled,
        LAYER_NAMES[state.layer],
        state.closed_min,
        state.on_the_spot,
    )
