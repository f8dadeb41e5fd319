"""Trace events in words: the only place where an incident's stages become sentences.

The engine records each stage as a typed :class:`~sim.engine.trace.TraceEvent`. Figures,
reports and the demo ask this module for words — a full sentence (:func:`stage_sentence`) or a
few words for a timeline label (:func:`short_stage`) — and select stages by their
:class:`~sim.engine.trace.Stage`, never by reading text back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.engine.trace import Stage, TraceEvent
from sim.presentation.i18n import _, term

__all__ = ["stage_sentence", "short_stage", "wait_reason", "first_of", "count_of", "is_detection", "is_arrival"]


def _channel(event: TraceEvent) -> str:
    return term(event.channel)


def _centre(event: TraceEvent) -> str:
    return event.centre or _("the centre")


def _who(event: TraceEvent) -> str:
    return term(event.department) if event.department else ""


_SENTENCES: dict[Stage, Callable[[TraceEvent], str]] = {
    Stage.OCCURRED: lambda e: _("occurs"),
    Stage.SEEN_NOT_HANDLED: lambda e: _("seen by {department} on patrol, who may not act and leave it").format(
        department=_who(e)
    ),
    Stage.FOUND_ON_PATROL: lambda e: _("found by {department} on patrol").format(department=_who(e)),
    Stage.FOUND_ON_ROUNDS: lambda e: _("found by {department} on its rounds").format(department=_who(e)),
    Stage.REPORTED: lambda e: _("reported by {channel}").format(channel=_channel(e)),
    Stage.ON_THE_SPOT: lambda e: _("{department} may act: handles it on the spot").format(department=_who(e)),
    Stage.HANDED_OVER: lambda e: _("hand-over {step} of {steps} done").format(step=e.step, steps=e.steps),
    Stage.SENT_BACK: lambda e: _("wrong department sends it back"),
    Stage.FORWARDED_AGAIN: lambda e: _("forwarded again"),
    Stage.POSTED: lambda e: _("posted in the shared channel"),
    Stage.CENTRE_DECIDES: lambda e: _("centre decides"),
    Stage.CITY_CENTRE_DECIDES: lambda e: _("city centre decides"),
    Stage.CASE_VERIFIED: lambda e: _("case verified"),
    Stage.CASE_ACCEPTED: lambda e: _("case accepted"),
    Stage.CASE_ASSIGNED: lambda e: _("case assigned"),
    Stage.GRID_WORKER_SETTLES: lambda e: _("the grid worker settles it herself"),
    Stage.DISPATCHED: lambda e: _("{unit} dispatched").format(unit=e.unit),
    Stage.ON_SCENE: lambda e: _("{unit} on scene").format(unit=e.unit),
    Stage.DONE: lambda e: _("{unit} done").format(unit=e.unit),
    Stage.RESOLVED: lambda e: _("resolved"),
    Stage.FED_BACK: lambda e: _("result fed back"),
    Stage.CLOSED: lambda e: _("case checked and closed"),
    Stage.EVALUATED: lambda e: _("case evaluated"),
    Stage.REOPENED: lambda e: _("check failed: case reopened and sent back"),
    Stage.LEFT_BY_ALL: lambda e: _("every department claiming it leaves it to another"),
    Stage.DUPLICATE_VISIT: lambda e: _("{unit} of {department} visits it too (duplicated enforcement)").format(
        unit=e.unit, department=_who(e)
    ),
    Stage.FOLLOW_UP: lambda e: _("{unit} of {department} comes back to finish the job (specialist follow-up)").format(
        unit=e.unit, department=_who(e)
    ),
    Stage.ENDED_UNATTENDED: lambda e: _("ends by itself before anyone is on scene"),
    Stage.WAITING_FOR_OPERATOR: lambda e: _("waits for a free operator at {centre}").format(centre=_centre(e)),
    Stage.PASSED_UP: lambda e: _("{centre} passes it up to the next level").format(centre=_centre(e)),
    Stage.GRID_LEADER_HANDLES: lambda e: _("the grid leader handles it and sends it to the centre"),
}

_SHORT: dict[Stage, Callable[[TraceEvent], str]] = {
    Stage.OCCURRED: lambda e: _("happens"),
    Stage.SEEN_NOT_HANDLED: lambda e: _("seen by {department}: may not act, leaves it").format(department=_who(e)),
    Stage.FOUND_ON_PATROL: lambda e: _("found by {department} patrol").format(department=_who(e)),
    Stage.FOUND_ON_ROUNDS: lambda e: _("found on {department} rounds").format(department=_who(e)),
    Stage.ON_THE_SPOT: lambda e: _("{department} handles it on the spot").format(department=_who(e)),
    Stage.HANDED_OVER: lambda e: _("desk hand-over {step} of {steps}").format(step=e.step, steps=e.steps),
    Stage.SENT_BACK: lambda e: _("wrong desk: sent back"),
    Stage.POSTED: lambda e: _("posted in shared group"),
}


def stage_sentence(event: TraceEvent) -> str:
    """The stage as a plain sentence fragment (``"hand-over 2 of 3 done"``)."""
    return _SENTENCES[event.stage](event)


def short_stage(event: TraceEvent) -> str:
    """The stage in a few words for a timeline label (``"desk hand-over 2 of 3"``)."""
    short = _SHORT.get(event.stage)
    return short(event) if short else stage_sentence(event)


def is_detection(event: TraceEvent) -> bool:
    """The matter became known: found on patrol or rounds, or reported through a channel."""
    return event.stage in (Stage.FOUND_ON_PATROL, Stage.FOUND_ON_ROUNDS, Stage.REPORTED)


def is_arrival(event: TraceEvent) -> bool:
    """Someone able to act is with the matter: a unit on scene, or the finder acting on the spot."""
    return event.stage in (Stage.ON_SCENE, Stage.ON_THE_SPOT)


def first_of(events: Sequence[TraceEvent], test: Callable[[TraceEvent], bool]) -> TraceEvent | None:
    """The first event that passes *test*, or ``None``."""
    return next((e for e in events if test(e)), None)


def count_of(events: Sequence[TraceEvent], stage: Stage) -> int:
    """How many events are of *stage*."""
    return sum(e.stage is stage for e in events)


def wait_reason(next_event: TraceEvent) -> str:
    """Why a matter waited before *next_event*, in a few words for the longest gap of a timeline."""
    if next_event.stage in (Stage.HANDED_OVER, Stage.SENT_BACK, Stage.FORWARDED_AGAIN):
        return _("the report sits with a desk")
    if next_event.stage is Stage.DISPATCHED:
        return _("no free unit")
    if is_detection(next_event):
        return _("nobody has noticed yet")
    return _("until {stage}").format(stage=short_stage(next_event))
