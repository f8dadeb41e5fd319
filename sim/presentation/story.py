"""Trace events in words: the only place where an incident's stages become sentences.

The engine records each stage as a typed :class:`~sim.engine.trace.TraceEvent`. Figures,
reports and the demo ask this module for words — a full sentence (:func:`stage_sentence`) or a
few words for a timeline label (:func:`short_stage`) — and select stages by their
:class:`~sim.engine.trace.Stage`, never by reading text back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.engine.trace import Stage, TraceEvent

__all__ = ["stage_sentence", "short_stage", "wait_reason", "first_of", "count_of", "is_detection", "is_arrival"]


def _channel(event: TraceEvent) -> str:
    return event.channel.replace("_", " ")


_SENTENCES: dict[Stage, Callable[[TraceEvent], str]] = {
    Stage.OCCURRED: lambda e: "occurs",
    Stage.SEEN_NOT_HANDLED: lambda e: f"seen by {e.department} on patrol, who may not act and leave it",
    Stage.FOUND_ON_PATROL: lambda e: f"found by {e.department} on patrol",
    Stage.REPORTED: lambda e: f"reported by {_channel(e)}",
    Stage.ON_THE_SPOT: lambda e: f"{e.department} may act: handles it on the spot",
    Stage.HANDED_OVER: lambda e: f"hand-over {e.step} of {e.steps} done",
    Stage.SENT_BACK: lambda e: "wrong department sends it back",
    Stage.FORWARDED_AGAIN: lambda e: "forwarded again",
    Stage.POSTED: lambda e: "posted in the shared channel",
    Stage.CENTRE_DECIDES: lambda e: "centre decides",
    Stage.CITY_CENTRE_DECIDES: lambda e: "city centre decides",
    Stage.CASE_VERIFIED: lambda e: "case verified",
    Stage.CASE_ACCEPTED: lambda e: "case accepted",
    Stage.CASE_ASSIGNED: lambda e: "case assigned",
    Stage.GRID_WORKER_SETTLES: lambda e: "the grid worker settles it herself",
    Stage.DISPATCHED: lambda e: f"{e.unit} dispatched",
    Stage.ON_SCENE: lambda e: f"{e.unit} on scene",
    Stage.DONE: lambda e: f"{e.unit} done",
    Stage.RESOLVED: lambda e: "resolved",
    Stage.FED_BACK: lambda e: "result fed back",
    Stage.CLOSED: lambda e: "case checked and closed",
    Stage.EVALUATED: lambda e: "case evaluated",
}

_SHORT: dict[Stage, Callable[[TraceEvent], str]] = {
    Stage.OCCURRED: lambda e: "happens",
    Stage.SEEN_NOT_HANDLED: lambda e: f"seen by {e.department}: may not act, leaves it",
    Stage.FOUND_ON_PATROL: lambda e: f"found by {e.department} patrol",
    Stage.ON_THE_SPOT: lambda e: f"{e.department} handles it on the spot",
    Stage.HANDED_OVER: lambda e: f"desk hand-over {e.step} of {e.steps}",
    Stage.SENT_BACK: lambda e: "wrong desk: sent back",
    Stage.POSTED: lambda e: "posted in shared group",
}


def stage_sentence(event: TraceEvent) -> str:
    """The stage as a plain sentence fragment (``"hand-over 2 of 3 done"``)."""
    return _SENTENCES[event.stage](event)


def short_stage(event: TraceEvent) -> str:
    """The stage in a few words for a timeline label (``"desk hand-over 2 of 3"``)."""
    short = _SHORT.get(event.stage)
    return short(event) if short else stage_sentence(event)


def is_detection(event: TraceEvent) -> bool:
    """The matter became known: found on patrol or reported through a channel."""
    return event.stage in (Stage.FOUND_ON_PATROL, Stage.REPORTED)


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
        return "the report sits with a desk"
    if next_event.stage is Stage.DISPATCHED:
        return "no free unit"
    if is_detection(next_event):
        return "nobody has noticed yet"
    return "until " + short_stage(next_event)
