"""Trace events in words: every stage has a sentence, and labels follow the event's fields."""

from __future__ import annotations

import pytest

from sim.engine.trace import Stage, TraceEvent
from sim.presentation.story import (
    count_of,
    first_of,
    is_arrival,
    is_detection,
    short_stage,
    stage_sentence,
    wait_reason,
)


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_words(stage):
    event = TraceEvent(
        10.0, stage, department="sanitation", unit="sanitation-3", channel="grid_worker", step=2, steps=3
    )
    assert stage_sentence(event) and short_stage(event)


def test_words_come_from_the_fields():
    assert stage_sentence(TraceEvent(0.0, Stage.HANDED_OVER, step=2, steps=3)) == "hand-over 2 of 3 done"
    assert short_stage(TraceEvent(0.0, Stage.HANDED_OVER, step=2, steps=3)) == "desk hand-over 2 of 3"
    assert short_stage(TraceEvent(0.0, Stage.FOUND_ON_PATROL, department="traffic")) == "found by traffic patrol"
    assert stage_sentence(TraceEvent(0.0, Stage.REPORTED, channel="grid_worker")) == "reported by grid worker"
    assert short_stage(TraceEvent(0.0, Stage.ON_SCENE, unit="sanitation-7")) == "sanitation-7 on scene"


def test_wait_reasons_follow_the_kind_of_the_next_stage():
    assert wait_reason(TraceEvent(0.0, Stage.HANDED_OVER, step=1, steps=3)) == "the report sits with a desk"
    assert wait_reason(TraceEvent(0.0, Stage.SENT_BACK)) == "the report sits with a desk"
    assert wait_reason(TraceEvent(0.0, Stage.DISPATCHED, unit="u")) == "no free unit"
    assert wait_reason(TraceEvent(0.0, Stage.REPORTED, channel="hotline")) == "nobody has noticed yet"
    assert wait_reason(TraceEvent(0.0, Stage.RESOLVED)) == "until resolved"


def test_selection_by_kind():
    events = [
        TraceEvent(0.0, Stage.OCCURRED),
        TraceEvent(5.0, Stage.SEEN_NOT_HANDLED, department="police"),
        TraceEvent(9.0, Stage.FOUND_ON_PATROL, department="enforcement"),
        TraceEvent(9.0, Stage.ON_THE_SPOT, department="enforcement"),
        TraceEvent(30.0, Stage.RESOLVED),
    ]
    assert first_of(events, is_detection).at_min == 9.0
    assert first_of(events, is_arrival).stage is Stage.ON_THE_SPOT
    assert first_of(events, lambda e: e.stage is Stage.DISPATCHED) is None
    assert count_of(events, Stage.RESOLVED) == 1 and count_of(events, Stage.HANDED_OVER) == 0


def test_the_text_module_knows_the_minutes_of_a_day():
    from sim.presentation import text
    from sim.scenario.schedule import MINUTES_PER_DAY

    assert text.MINUTES_PER_DAY == MINUTES_PER_DAY
