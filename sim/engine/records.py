"""The record of one incident's life, written once, when a run ends.

Like Ciw's data records, an :class:`IncidentRecord` is a small immutable row (a named tuple:
a city year holds about a million of them, and a tuple is built several times faster than a
frozen dataclass) and :func:`write_record` is the only place that creates one. Metrics (:mod:`sim.stats.metrics`) are pure
functions of lists of records. Times are minutes since the start of the run (Monday 00:00);
a stage that did not happen before the run ended (``days + drain_days``) is ``nan``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from sim.engine.incidents import LAYER_NAMES, IncidentState

__all__ = [
    "IncidentRecord",
    "JobRecord",
    "write_record",
    "in_window",
    "RECORD_FIELDS",
    "JOB_FIELDS",
    "DERIVED_FIELDS",
    "JOB_DERIVED_FIELDS",
]


class IncidentRecord(NamedTuple):
    """One incident: when it happened, was found, reached someone able to act, was reached and resolved.

    Response time is detected -> first capable unit on scene; resolution time is
    detected -> resolved (all departments done). Both are minutes. ``layer`` is who could
    settle it (grid workers, the town's departments, or the city centre first); ``closed_min``
    is when the closed loop closed the case (after the fix), if the mode runs the loop;
    ``on_the_spot`` is true when whoever found the matter could act on it and was the first on
    scene (its response is then no dispatch at all). ``duplicate_visits`` counts the finished
    visits of other departments that also took the matter up (:mod:`sim.engine.duplicates`),
    ``left_by_all`` is true when every department claiming it first left it to another,
    ``follow_ups`` counts specialists' second visits after a pooled unit's job
    (:mod:`sim.engine.competence`), and ``ended_min`` is when the matter ended by itself before
    any unit was on scene (:mod:`sim.engine.lifetimes`; ``nan`` otherwise).
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
    duplicate_visits: int
    left_by_all: bool
    follow_ups: int
    ended_min: float
    reopened: int = 0

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

    @property
    def ended(self) -> bool:
        """Whether the matter ended by itself before any unit was on scene (detected or not)."""
        return not math.isnan(self.ended_min)

    @property
    def ended_unattended(self) -> bool:
        """Whether the matter was reported, then ended by itself before any unit was on scene."""
        return self.ended and not math.isnan(self.detected_min)


RECORD_FIELDS = IncidentRecord._fields
DERIVED_FIELDS = tuple(name for name, value in vars(IncidentRecord).items() if isinstance(value, property))
"""The derived fields of an incident record (``response_min``, ``resolution_min``, ...): properties, not in ``_asdict()``."""


class JobRecord(NamedTuple):
    """One unit's visit to one incident: requested, dispatched, arrived, done (minutes).

    An incident needing several departments has several jobs. ``home_sector`` is the sector of
    the unit's base, ``sector`` the incident's; a job with ``queued`` waited for a free unit.
    Written by the model when the unit finishes (jobs unfinished at the end are not written).
    ``duplicate`` marks another department's duplicate visit (it never counts as the response),
    ``follow_up`` a specialist's second visit after a pooled unit's job, and ``ended`` a visit that
    found the matter already ended by itself (no on-scene work).
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
    duplicate: bool = False
    follow_up: bool = False
    ended: bool = False

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
JOB_DERIVED_FIELDS = tuple(name for name, value in vars(JobRecord).items() if isinstance(value, property))
"""The derived fields of a job record (``wait_min``, ``travel_min``, ``busy_min``)."""


def in_window(occurred_min, warmup_min: float, end_min: float = math.inf):
    """Whether incidents that occurred at *occurred_min* are measured: after the warm-up, before *end_min*.

    The one warm-up rule (the summaries of :mod:`sim.stats.metrics` and the ``measured`` column of
    :mod:`sim.engine.frames` both use it), for one time or a numpy array of times (then a boolean
    mask). Arrivals stop at the horizon, so *end_min* only matters to a caller that passes one.
    """
    return (occurred_min >= warmup_min) & (occurred_min < end_min)


def write_record(state: IncidentState, patch_names, patch_sector_names, end: float = math.inf) -> IncidentRecord:
    """Freeze an incident's final state into its record (the only constructor used by the model).

    *patch_names* and *patch_sector_names* give each patch's name and its sector's name. *end* is
    the minute the run ended (``days + drain_days``): a stage whose time is known but falls at or
    after it (a unit dispatched before the end that would arrive after it; a report still on its
    way; a case the closed loop would close later) did not happen in the run, and is ``nan``.
    """
    nan = math.nan
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
        state.reached_min if state.reached_min < end else nan,
        state.dispatched_min if state.dispatched_min < end else nan,
        state.on_scene_min if state.on_scene_min < end else nan,
        state.resolved_min if state.resolved_min < end else nan,
        "+".join(dict.fromkeys(state.departments)),
        "+".join(state.units),
        state.referrals,
        state.bounces,
        state.seen_not_handled,
        LAYER_NAMES[state.layer],
        state.closed_min if state.closed_min < end else nan,
        state.on_the_spot,
        state.duplicate_visits,
        state.left_by_all,
        state.follow_ups,
        state.ended_min,
        state.reopened,
    )
