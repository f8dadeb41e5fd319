"""The record of one incident's life, written once, when a run ends.

Like Ciw's data records, an :class:`IncidentRecord` is a small immutable row and
:func:`write_record` is the only place that creates one. Metrics (:mod:`sim.metrics`) are pure
functions of lists of records. Times are minutes since the start of the run (Monday 00:00);
a stage that did not happen before the horizon is ``nan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sim.incident import IncidentState

__all__ = ["IncidentRecord", "write_record", "RECORD_FIELDS"]


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One incident: when it happened, was found, reached someone able to act, was reached and resolved.

    Response time is detected -> first capable unit on scene; resolution time is
    detected -> resolved (all departments done). Both are minutes.
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

    @property
    def response_min(self) -> float:
        """Detected to first capable unit on scene, minutes (nan if not reached)."""
        return self.on_scene_min - self.detected_min

    @property
    def resolution_min(self) -> float:
        """Detected to resolved, minutes (nan if not resolved)."""
        return self.resolved_min - self.detected_min

    @property
    def resolved(self) -> bool:
        """Whether the matter was resolved before the horizon."""
        return not math.isnan(self.resolved_min)


RECORD_FIELDS = tuple(f.name for f in fields(IncidentRecord))


def write_record(state: IncidentState, patch_names, sector_names, sector_of) -> IncidentRecord:
    """Freeze an incident's final state into its record (the only constructor used by the model)."""
    return IncidentRecord(
        incident=state.number,
        incident_type=state.type_name,
        patch=patch_names[state.patch],
        sector=sector_names[sector_of[state.patch]],
        priority=state.priority,
        occurred_min=state.occurred_min,
        detected_min=state.detected_min,
        channel=state.channel,
        finder=state.finder,
        reached_min=state.reached_min,
        dispatched_min=state.dispatched_min,
        on_scene_min=state.on_scene_min,
        resolved_min=state.resolved_min,
        departments="+".join(dict.fromkeys(state.departments)),
        units="+".join(state.units),
        referrals=state.referrals,
        bounces=state.bounces,
        seen_not_handled=state.seen_not_handled,
    )
