"""A town with a table of driving minutes: travel uses it, and the nearest search stays exact."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.department import Unit
from sim.engine.dispatch import Dispatcher, Job
from sim.engine.territory import build_town
from sim.scenario.schema import Territory, Travel, TravelTable
from tests.engine.test_dispatch import _brute_nearest

pytest.importorskip("scipy")


def road_town(rng, rows: int, cols: int, patch_km: float, zero_trip: bool = False):
    """A grid town whose travel table comes from a random road network: a lattice of streets
    through the patch centres with random speeds, random one-way streets and random missing
    streets (kept strongly connected by a two-way ring road round the edge)."""
    from sim.io.gis import _Roads, road_table

    territory = Territory(
        grid={"rows": rows, "cols": cols}, patch_km=patch_km, detour_factor=float(rng.choice([1.0, 1.3]))
    )
    plain = build_town(territory)
    index = {(r, c): r * cols + c for r in range(rows) for c in range(cols)}
    tail, head, minutes = [], [], []
    for (r, c), a in index.items():
        for rr, cc in ((r, c + 1), (r + 1, c)):
            b = index.get((rr, cc))
            if b is None:
                continue
            ring = r in (0, rows - 1) or c in (0, cols - 1)
            ring = ring and (rr in (0, rows - 1) or cc in (0, cols - 1))
            if not ring and rng.random() < 0.2:
                continue  # no street here
            km = float(np.hypot(*(plain.xy_km[a] - plain.xy_km[b]))) * float(rng.uniform(1.0, 1.6))
            speed = float(rng.choice([15.0, 30.0, 50.0]))
            one_way = not ring and rng.random() < 0.3
            pairs = [(a, b)] if one_way else [(a, b), (b, a)]
            for u, v in pairs:
                tail.append(u)
                head.append(v)
                minutes.append(60 * km / speed)
    roads = _Roads(plain.xy_km, np.array(tail, dtype=int), np.array(head, dtype=int), np.array(minutes))
    table, snap = road_table(roads, plain.xy_km, access_speed_kmh=10.0)
    if zero_trip and plain.size > 1:
        table[0, 1] = 0.0  # a trip of no time: no straight-line bound exists
    table.setflags(write=False)
    travel = Travel(matrix="roads.csv").with_table(
        TravelTable(minutes=table, names=plain.names, snapped=plain.size, snap_km=snap)
    )
    return build_town(territory, travel)


def test_travel_takes_the_table_minutes_after_set_off():
    territory = Territory(
        patches=[{"name": "a", "x_km": 0, "y_km": 0}, {"name": "b", "x_km": 3, "y_km": 4}], detour_factor=1.0
    )
    table = np.array([[0.0, 7.0], [9.0, 0.0]], dtype=np.float32)
    table.setflags(write=False)
    town = build_town(territory, Travel(matrix="t.csv").with_table(TravelTable(minutes=table, names=("a", "b"))))
    unit = Unit("u", "d", 0, 0, town.centres[0], 0, 25.0, 2.0, 0.0, False)
    assert unit.travel_min(town, 1, 0.0) == 2.0 + 7.0
    assert town.drive_min(1, 0, 25.0) == 9.0
    # 5 km in 7 minutes is the fastest straight-line speed the table implies
    assert town.bound_kmh == pytest.approx(5 / (7 / 60), rel=1e-5) and town.bound_kmh >= 5 / (7 / 60)
    plain = build_town(territory)
    assert plain.drive_min(0, 1, 25.0) == 60.0 * 5.0 / 25.0 and plain.reach_kmh(25.0) == 25.0


def test_a_table_for_other_patches_is_refused():
    from sim.errors import ScenarioError

    territory = Territory(patches=[{"name": "a", "x_km": 0, "y_km": 0}, {"name": "b", "x_km": 1, "y_km": 0}])
    table = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(ScenarioError, match="travel table has not been built for these patches"):
        build_town(territory, Travel(matrix="t.csv").with_table(TravelTable(minutes=table, names=("a", "c"))))


def test_a_zero_minute_trip_leaves_no_bound_and_no_map_index():
    rng = np.random.default_rng(3)
    town = road_town(rng, 4, 5, 1.0, zero_trip=True)
    assert math.isinf(town.bound_kmh) and math.isinf(town.reach_kmh(30.0))
    units = [
        Unit(f"d-{i}", "d", i, i % town.size, town.centres[i % town.size], 0, 30.0, 1.0, 0.0, False) for i in range(30)
    ]
    dispatcher = Dispatcher(simpy.Environment(), town, units, "nearest", [frozenset({"d"})])
    assert dispatcher._cells == {}  # every free unit is compared


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(2, 10),
    cols=st.integers(2, 10),
    sizes=st.lists(st.integers(1, 60), min_size=1, max_size=3),
    zero_trip=st.booleans(),
)
def test_nearest_search_on_a_road_network_equals_comparing_every_free_unit(seed, rows, cols, sizes, zero_trip):
    """The property test of tests/test_dispatch.py on a town whose travel comes from a road network
    (one-way streets, missing streets, mixed speeds): the map index, pruning with the table's
    straight-line bound, picks exactly the unit a comparison of all free units picks."""
    rng = np.random.default_rng(seed)
    town = road_town(rng, rows, cols, float(rng.choice([0.5, 1.0, 2.0])), zero_trip=zero_trip and rng.random() < 0.5)
    env = simpy.Environment()
    units = []
    for d, size in enumerate(sizes):
        speed, setoff, patrols = (
            float(rng.uniform(10, 40)),
            float(rng.choice([0.0, 2.0, 5.0])),
            bool(rng.random() < 0.5),
        )
        bases = rng.integers(0, town.size, size=int(rng.integers(1, 4)))
        for i in range(size):
            base = int(bases[i % len(bases)])
            units.append(Unit(f"d{d}-{i}", f"d{d}", i, base, town.centres[base], 0, speed, setoff, 0.0, patrols))
    names = sorted({u.department for u in units})
    keys = [frozenset(c) for k in range(1, len(names) + 1) for c in itertools.combinations(names, k)]
    dispatcher = Dispatcher(env, town, units, "nearest", keys)
    for unit in units:
        dispatcher.set_on_duty(unit, True)
    busy, now = [], 0.0
    for _ in range(300):
        now += float(rng.exponential(3.0))
        env.run(until=now)
        action = rng.random()
        if action < 0.5:
            capable, patch = keys[int(rng.integers(len(keys)))], int(rng.integers(town.size))
            expected = _brute_nearest(dispatcher, sorted(capable), patch, now)
            j = Job(capable, patch, 3, now)
            got = dispatcher.request(j)
            assert got is expected
            if got is not None:
                assert j.travel_min == got.travel_min(town, patch, now)
                busy.append(got)
        elif action < 0.85 and busy:
            unit = busy.pop(int(rng.integers(len(busy))))
            back = now + float(rng.exponential(20.0)) if not unit.patrols else 0.0
            dispatcher.move(unit, int(rng.integers(town.size)), back)
            dispatcher.release(unit)
            if unit.busy:
                busy.append(unit)
        else:
            unit = units[int(rng.integers(len(units)))]
            dispatcher.set_on_duty(unit, not unit.on_duty)
            if unit.busy and unit not in busy:
                busy.append(unit)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_drive_minutes_are_the_road_distance_at_the_speed_bit_for_bit(metric):
    """The inlined distance in ``drive_min`` gives exactly ``60 * road_km_between / speed``."""
    town = build_town(Territory(grid={"rows": 7, "cols": 9}, patch_km=0.37, distance=metric, detour_factor=1.31))
    rng = np.random.default_rng(5)
    for a, b, speed in zip(rng.integers(0, 63, 500), rng.integers(0, 63, 500), rng.uniform(3, 80, 500)):
        a, b, speed = int(a), int(b), float(speed)
        assert town.drive_min(a, b, speed) == 60.0 * town.road_km_between(a, b) / speed
