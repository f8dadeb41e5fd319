"""Dispatch rules on hand-made situations with exact answers."""

from __future__ import annotations

import numpy as np
import simpy

from sim.department import Unit
from sim.dispatch import Dispatcher, Job
from sim.scenario import Territory
from sim.territory import build_town


def setup(rule: str):
    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 1, "cols": 10}, patch_km=1.0, detour_factor=1.0))
    units = [
        Unit(f"{d}-{i}", d, i, base, town.xy_km[base], 0, 30.0, 0.0, 0.0, False)
        for d, i, base in [("a", 0, 0), ("a", 1, 9), ("b", 0, 5)]
    ]
    keys = [frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    dispatcher = Dispatcher(env, town, units, rule, keys)
    for t, unit in enumerate(units):
        dispatcher.set_on_duty(unit, True)
        unit.idle_since_min = t
    return env, dispatcher, units


def job(env, capable, patch, priority=3):
    return Job(frozenset(capable), patch, priority, env.now)


def test_nearest_takes_the_closest_capable_unit():
    env, dispatcher, units = setup("nearest")
    j = job(env, {"a", "b"}, 6)
    dispatcher.request(j)
    assert j.unit is units[2]
    j = job(env, {"a"}, 6)
    dispatcher.request(j)
    assert j.unit is units[1]


def test_own_queue_takes_the_longest_free():
    env, dispatcher, units = setup("own_queue")
    j = job(env, {"a", "b"}, 9)
    dispatcher.request(j)
    assert j.unit is units[0]


def test_queue_serves_urgent_then_oldest_when_a_unit_frees():
    env, dispatcher, units = setup("nearest")
    for patch in (1, 2, 3):
        dispatcher.request(job(env, {"a", "b"}, patch))
    waiting = [job(env, {"a"}, 4, priority=3), job(env, {"a", "b"}, 4, priority=1), job(env, {"a"}, 4, priority=3)]
    for j in waiting:
        dispatcher.request(j)
    assert dispatcher.waiting() == 3
    dispatcher.release(units[2])
    assert waiting[1].unit is units[2]
    dispatcher.release(units[0])
    assert waiting[0].unit is units[0] and waiting[2].unit is None


def test_off_duty_unit_is_not_dispatched_and_returns_to_the_queue():
    env, dispatcher, units = setup("nearest")
    dispatcher.set_on_duty(units[2], False)
    j = job(env, {"b"}, 5)
    assert dispatcher.request(j) is None
    assert j.unit is None and not j.event.triggered
    dispatcher.set_on_duty(units[2], True)
    assert j.unit is units[2] and j.event.value is units[2]


def test_finder_on_the_spot_has_priority():
    env, dispatcher, units = setup("nearest")
    j = Job(frozenset({"a", "b"}), 5, 3, env.now, finder="a")
    dispatcher.request(j)
    assert j.on_the_spot and j.unit.department == "a"
    assert np.allclose(j.unit.position_xy, dispatcher.town.xy_km[5])
