"""An incident's life as typed events: what happened, when, and who was involved.

When a run is traced (``run(..., trace=True)``), every incident keeps the stages of its life as
:class:`TraceEvent` records: the :class:`Stage` (an ``Enum``), the minute, and the unit,
department, channel or desk step involved. The engine writes only these; it never writes
sentences. The presentation layer (:mod:`sim.presentation.story`) turns events into words for
timelines, stories and reports, so rewording a sentence cannot break a figure, and a figure
selects stages by kind, never by matching text.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

__all__ = ["Stage", "TraceEvent", "HANDLING_STAGES"]


class Stage(Enum):
    """The kinds of stage in an incident's life, roughly in the order they happen."""

    OCCURRED = "occurred"
    """The matter happens (not yet known to anyone)."""
    SEEN_NOT_HANDLED = "seen_not_handled"
    """A patrol of ``department`` sees it, may not act on it, and leaves it."""
    FOUND_ON_PATROL = "found_on_patrol"
    """A patrol of ``department`` finds it and reports it."""
    FOUND_ON_ROUNDS = "found_on_rounds"
    """A crew of ``department`` finds it on its rounds (a fixed route) and may act on it."""
    REPORTED = "reported"
    """It is reported through a detection ``channel`` (hotline, camera, grid worker)."""
    ON_THE_SPOT = "on_the_spot"
    """The finder's ``department`` may act, so it handles the matter where it found it."""
    HANDED_OVER = "handed_over"
    """Desk hand-over ``step`` of ``steps`` of the referral chain is done."""
    SENT_BACK = "sent_back"
    """The wrong department received it and sends it back."""
    FORWARDED_AGAIN = "forwarded_again"
    """After a wrong desk, the report is forwarded again."""
    POSTED = "posted"
    """Posted in the shared channel (the joint work group)."""
    CENTRE_DECIDES = "centre_decides"
    """The 24-hour centre decides whom to send."""
    CITY_CENTRE_DECIDES = "city_centre_decides"
    """A matter beyond the town goes to the city centre, which decides."""
    CASE_VERIFIED = "case_verified"
    """Closed loop: the centre verifies the report."""
    CASE_ACCEPTED = "case_accepted"
    """Closed loop: the case is accepted."""
    CASE_ASSIGNED = "case_assigned"
    """Closed loop: the case is assigned."""
    GRID_WORKER_SETTLES = "grid_worker_settles"
    """A grid worker settles a simple matter herself."""
    DISPATCHED = "dispatched"
    """``unit`` of ``department`` is sent."""
    ON_SCENE = "on_scene"
    """``unit`` of ``department`` arrives."""
    DONE = "done"
    """``unit`` of ``department`` finishes its part."""
    LEFT_BY_ALL = "left_by_all"
    """Every department claiming it leaves it to another (a gap) until it is taken up."""
    DUPLICATE_VISIT = "duplicate_visit"
    """``unit`` of ``department``, another claiming department, visits it too (duplicated enforcement)."""
    FOLLOW_UP = "follow_up"
    """``unit`` of ``department``, the owning specialists, comes back to finish a pooled unit's job."""
    ENDED_UNATTENDED = "ended_unattended"
    """It ended by itself before any unit was on scene (a vendor moved on, a car drove away)."""
    RESOLVED = "resolved"
    """Every part is done: the matter is fixed."""
    FED_BACK = "fed_back"
    """Closed loop: the result is fed back."""
    CLOSED = "closed"
    """Closed loop: the case is checked and closed."""
    EVALUATED = "evaluated"
    """Closed loop: the case is evaluated."""
    REOPENED = "reopened"
    """Closed loop: the check finds the matter not fixed; the case is reopened and sent back."""
    WAITING_FOR_OPERATOR = "waiting_for_operator"
    """Every operator on duty at ``centre`` is busy: the report waits in its queue."""
    PASSED_UP = "passed_up"
    """An operator of ``centre`` passes the report up to the centre one level higher."""
    GRID_LEADER_HANDLES = "grid_leader_handles"
    """The grid leader (``centre``) handles what the grid worker reported and sends it on to the centre."""


HANDLING_STAGES = frozenset({Stage.DISPATCHED, Stage.ON_SCENE, Stage.DONE})
"""Stages that name a unit doing the work."""


class TraceEvent(NamedTuple):
    """One stage of an incident's life.

    Attributes
    ----------
    at_min:
        When it happened, minutes from Monday 00:00 of the first week.
    stage:
        What happened.
    department:
        The department involved (finder, actor), or ``""``.
    unit:
        The unit involved (``sanitation-7``), or ``""``.
    channel:
        The detection channel (``hotline``), for :attr:`Stage.REPORTED`.
    step, steps:
        For :attr:`Stage.HANDED_OVER`: which hand-over of how many.
    centre:
        The command centre involved (centres at several levels), or ``""``.
    """

    at_min: float
    stage: Stage
    department: str = ""
    unit: str = ""
    channel: str = ""
    step: int = 0
    steps: int = 0
    centre: str = ""
