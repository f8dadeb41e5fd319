"""Dispatch rules on hand-made situations with exact answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.department import Unit
from sim.engine.dispatch import Dispatcher, Job
from sim.engine.territory import build_town
from sim.scenario.schema import Territory


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
    env, dispatcher, _units = setup("nearest")
    j = Job(frozenset({"a", "b"}), 5, 3, env.now, finder="a")
    dispatcher.request(j)
    assert j.on_the_spot and j.unit.department == "a"
    assert j.unit.position_patch == 5


# --------------------------------------------------------------------------- nearest = brute force


def _brute_nearest(dispatcher, capable, patch, now, bordered=frozenset()):
    """The rule spelled out: shortest travel, then department name order, then free longest.

    A unit of a *bordered* department may go only within its home sector.
    """
    free = [u for pool in dispatcher.free.values() for u in pool]
    sector = dispatcher.town.patch_sector_names[patch]
    candidates = [
        u for u in free if u.department in capable and (u.department not in bordered or u.home_sector == sector)
    ]
    if not candidates:
        return None
    ranked = sorted(capable)
    return min(
        candidates, key=lambda u: (u.travel_min(dispatcher.town, patch, now), ranked.index(u.department), u.free_seq)
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    manhattan=st.booleans(),
    sizes=st.lists(st.integers(1, 70), min_size=1, max_size=3),
    borders=st.lists(st.booleans(), min_size=3, max_size=3),
    sectors=st.integers(1, 4),
)
def test_nearest_search_equals_comparing_every_free_unit(seed, rows, cols, manhattan, sizes, borders, sectors):
    """Whatever the fleet, the cell index picks exactly the unit a comparison of all free units picks.

    Big departments (over SMALL_FLEET units) go through the map index, small ones through the
    loop; units move, head home and come back, go off duty and return, in random order. Some
    departments may be kept within their units' home sectors (borders closed).
    """
    _nearest_equals_comparing_every_free_unit(seed, rows, cols, manhattan, sizes, borders, sectors)


@pytest.mark.parametrize("seed", range(8))
def test_in_a_town_of_one_patch_nearest_equals_comparing_every_free_unit(seed):
    """A town of one patch takes its own search (the first free unit of each pool): the same units."""
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 30, size=int(rng.integers(1, 4)))]
    _nearest_equals_comparing_every_free_unit(seed, 1, 1, False, sizes, [False] * 3, 1)


def _nearest_equals_comparing_every_free_unit(seed, rows, cols, manhattan, sizes, borders, sectors):
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    town = build_town(
        Territory(
            grid={"rows": rows, "cols": cols, "sectors": [1, min(sectors, cols)]},
            patch_km=float(rng.choice([0.5, 1.0, 2.0])),
            detour_factor=1.3,
            distance="manhattan" if manhattan else "euclidean",
        )
    )
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
            home = town.patch_sector_names[base]
            units.append(
                Unit(
                    f"d{d}-{i}", f"d{d}", i, base, town.centres[base], 0, speed, setoff, 0.0, patrols, home_sector=home
                )
            )
    names = sorted({u.department for u in units})
    bordered = frozenset(name for name, closed in zip(names, borders) if closed)
    keys = [frozenset(c) for k in range(1, len(names) + 1) for c in itertools.combinations(names, k)]
    dispatcher = Dispatcher(env, town, units, "nearest", keys, bordered)
    for unit in units:
        dispatcher.set_on_duty(unit, True)
    busy, now = [], 0.0
    for _ in range(400):
        now += float(rng.exponential(3.0))
        env.run(until=now)
        action = rng.random()
        if action < 0.5:
            capable, patch = keys[int(rng.integers(len(keys)))], int(rng.integers(town.size))
            finder = names[int(rng.integers(len(names)))] if rng.random() < 0.2 else None
            expected = _brute_finder(dispatcher, capable, patch, finder, bordered)
            if expected is None:
                expected = _brute_nearest(dispatcher, capable, patch, now, bordered)
            j = Job(capable, patch, 3, now, finder=finder)
            got = dispatcher.request(j)
            assert got is expected
            if got is not None and j.on_the_spot:
                assert got.position_patch == patch
            elif got is not None:
                assert j.travel_min == got.travel_min(town, patch, now)
            if got is not None:
                busy.append(got)
        elif action < 0.85 and busy:
            unit = busy.pop(int(rng.integers(len(busy))))
            back = now + float(rng.exponential(20.0)) if not unit.patrols else 0.0
            if rng.random() < 0.5:
                dispatcher.move(unit, int(rng.integers(town.size)), back)
                dispatcher.release(unit)
            else:  # the two in one call, as the model does
                dispatcher.release_at(unit, int(rng.integers(town.size)), back)
            if unit.busy:
                busy.append(unit)  # it took a waiting job at once
        else:
            unit = units[int(rng.integers(len(units)))]
            dispatcher.set_on_duty(unit, not unit.on_duty)
            if unit.busy and unit not in busy:
                busy.append(unit)
        for pool, cells in dispatcher._cells.items():  # the list of units heading home stays bounded, searched or not
            assert len(cells.returning) <= 2 * sum(u.pool == pool for u in units) + 9


def _brute_finder(dispatcher, capable, patch, finder, bordered=frozenset()):
    """The unit on the spot: the finder's free unit free longest, if the finder may act (and, borders closed,
    is based in the job's sector); None otherwise."""
    if finder is None or finder not in capable:
        return None
    sector = dispatcher.town.patch_sector_names[patch]
    free = [
        u
        for pool in dispatcher.free.values()
        for u in pool
        if u.department == finder and (finder not in bordered or u.home_sector == sector)
    ]
    return min(free, key=lambda u: u.free_seq, default=None)


# --------------------------------------------------------------------------- borders


def test_with_borders_closed_a_freed_unit_takes_only_its_own_sectors_jobs():
    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 1, "cols": 4, "sectors": [1, 2]}, patch_km=1.0, detour_factor=1.0))
    units = [
        Unit(f"a-{i}", "a", i, base, town.centres[base], i, 30.0, 0.0, 0.0, False, home_sector=town.sector_names[i])
        for i, base in enumerate((0, 3))
    ]
    dispatcher = Dispatcher(env, town, units, "nearest", [frozenset({"a"})], frozenset({"a"}))
    for unit in units:
        dispatcher.set_on_duty(unit, True)
    assert dispatcher.request(job(env, {"a"}, 3)) is units[1]
    waiting = job(env, {"a"}, 2)  # S2's unit is busy; S1's is free but may not cross
    assert dispatcher.request(waiting) is None
    assert dispatcher.request(job(env, {"a"}, 1)) is units[0]
    dispatcher.release(units[0])
    assert not units[0].busy and waiting.unit is None
    dispatcher.release(units[1])
    assert waiting.unit is units[1]


def test_departments_based_by_sector_stay_home_when_the_mode_closes_borders():
    """home: sectors puts a department's units in every sector; a closed border keeps each job in its sector."""
    data = {
        "name": "towns",
        "days": 3,
        "territory": {"grid": {"rows": 6, "cols": 6, "sectors": [2, 2]}},
        "departments": [{"name": "team", "units": 8, "home": "sectors", "powers": ["job"]}],
        "incident_types": [{"name": "job", "rate_per_day": 150, "detection": {"hotline": {"probability": 1}}}],
        "governance": {
            "modes": {
                "open": {"based_on": "joint"},
                "closed": {"based_on": "joint", "dispatch_across_borders": False},
            }
        },
    }
    scenario = sim.scenario_from_dict(data)
    crossed = {}
    for mode in ("open", "closed"):
        jobs = sim.run(scenario, mode).jobs
        assert {j.home_sector for j in jobs} == {"S1", "S2", "S3", "S4"}
        crossed[mode] = sum(j.home_sector != j.sector for j in jobs)
    assert crossed["closed"] == 0
    assert crossed["open"] > 0


def test_a_town_of_two_blocks_is_one_sector_when_borders_are_closed():
    """sector_blocks joins blocks S1 and S2 into town 'west': its units cross the block line, not the town border."""
    env = simpy.Environment()
    grid = {"rows": 1, "cols": 4, "sectors": [1, 4], "sector_blocks": {"west": ["S1", "S2"]}}
    town = build_town(Territory(grid=grid, patch_km=1.0, detour_factor=1.0))
    assert town.sector_names == ("west", "S3", "S4")
    units = [
        Unit(f"a-{i}", "a", i, base, town.centres[base], 0, 30.0, 0.0, 0.0, False, home_sector=town.sector_names[s])
        for i, (base, s) in enumerate(((0, 0), (1, 0), (2, 1)))
    ]
    dispatcher = Dispatcher(env, town, units, "nearest", [frozenset({"a"})], frozenset({"a"}))
    for unit in units:
        dispatcher.set_on_duty(unit, True)
    assert dispatcher.request(job(env, {"a"}, 1)) is units[1]  # block S2's own unit, the nearest
    assert dispatcher.request(job(env, {"a"}, 1)) is units[0]  # then block S1's: the same town
    assert dispatcher.request(job(env, {"a"}, 0)) is None  # S3's unit is free but in another town
    assert dispatcher.request(job(env, {"a"}, 3)) is None  # S4 has no unit, and S3's may not cross
    assert dispatcher.request(job(env, {"a"}, 2)) is units[2]


def test_units_of_a_two_block_town_serve_both_blocks_and_no_other_town():
    """End to end: home sectors_by_load over a town of two blocks; borders closed keep every job in its town."""
    data = {
        "name": "joined",
        "days": 3,
        "territory": {"grid": {"rows": 4, "cols": 6, "sectors": [1, 3], "sector_blocks": {"west": ["S1", "S2"]}}},
        "departments": [{"name": "team", "units": 6, "home": "sectors_by_load", "powers": ["job"]}],
        "incident_types": [{"name": "job", "rate_per_day": 200, "detection": {"hotline": {"probability": 1}}}],
        "governance": {"modes": {"closed": {"based_on": "joint", "dispatch_across_borders": False}}},
    }
    scenario = sim.scenario_from_dict(data)
    jobs = sim.run(scenario, "closed").jobs
    assert {j.home_sector for j in jobs} == {"west", "S3"}
    assert all(j.home_sector == j.sector for j in jobs)
    west_columns = {int(j.patch.split("c")[1]) for j in jobs if j.sector == "west"}
    assert west_columns == {0, 1, 2, 3}  # jobs in both blocks (columns 0-1 and 2-3), all by the town's own units


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_a_small_pool_computes_each_standing_patchs_travel_once_and_still_picks_the_nearest(seed, uniform):
    """Few free units, many sharing a patch: one travel time per patch when the pool's units share set-off
    and speed, every unit's own when they do not (mixed crews); either way the unit comparing all would pick."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 3, "cols": 4}, patch_km=1.0, detour_factor=1.3))
    bases = [0, 0, 5, 5, 11, 11, 11]
    units = []
    for i, base in enumerate(bases):
        speed, setoff = (30.0, 1.0) if uniform else (float(rng.uniform(10, 40)), float(rng.choice([0.0, 3.0])))
        units.append(Unit(f"a-{i}", "a", i, base, town.centres[base], 0, speed, setoff, 0.0, bool(i % 2)))
    dispatcher = Dispatcher(env, town, units, "nearest", [frozenset({"a"})])
    assert dispatcher._uniform["a"] is uniform
    for unit in units:
        dispatcher.set_on_duty(unit, True)
    busy, now = [], 0.0
    for _ in range(200):
        now += float(rng.exponential(3.0))
        env.run(until=now)
        if rng.random() < 0.55:
            patch = int(rng.integers(town.size))
            expected = _brute_nearest(dispatcher, frozenset({"a"}), patch, now)
            got = dispatcher.request(Job(frozenset({"a"}), patch, 3, now))
            assert got is expected
            if got is not None:
                busy.append(got)
        elif busy:
            unit = busy.pop(int(rng.integers(len(busy))))
            dispatcher.move(unit, int(rng.integers(town.size)), now + float(rng.exponential(10.0)))
            dispatcher.release(unit)
            if unit.busy:
                busy.append(unit)


# --------------------------------------------------------------------------- shift changes in bulk


def _fleet(seed: int, rule: str):
    """A town of 6x6 patches, three departments (two big enough for the map index) with units at few bases."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 6, "cols": 6}, patch_km=1.0, detour_factor=1.3))
    units = []
    for d, size in enumerate((60, 25, 5)):
        bases = rng.integers(0, town.size, size=int(rng.integers(1, 3)))
        patrols = d == 1
        for i in range(size):
            base = int(bases[i % len(bases)])
            units.append(Unit(f"d{d}-{i}", f"d{d}", i, base, town.centres[base], 0, 20.0, 2.0, 0.0, patrols))
    names = sorted({u.department for u in units})
    keys = [frozenset(c) for k in range(1, 4) for c in itertools.combinations(names, k)]
    return env, town, Dispatcher(env, town, units, rule, keys), units, keys


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rule=st.sampled_from(["nearest", "own_queue"]))
def test_shift_changes_in_bulk_match_one_unit_at_a_time(seed, rule):
    """set_on_duty_many over a department's units gives what set_on_duty gives unit by unit, in that order.

    Two identical fleets live through the same random jobs, moves, returns home and shift changes
    (each a new on-duty count per department, with jobs waiting or not); after every step both
    chose the same units and hold the same free units in the same order, with the same ``free_seq``.
    """
    rng = np.random.default_rng(seed)
    one, many = _fleet(seed, rule), _fleet(seed, rule)
    departments = sorted({u.department for u in one[3]})
    counts = dict.fromkeys(departments, 0)
    busy: list[int] = []
    now = 0.0
    for _ in range(300):
        now += float(rng.exponential(3.0))
        for env, *_ in (one, many):
            env.run(until=now)
        action = rng.random()
        if action < 0.45:
            capable, patch = one[4][int(rng.integers(len(one[4])))], int(rng.integers(one[1].size))
            priority = int(rng.integers(1, 4))
            got = [d.request(Job(capable, patch, priority, now)) for _, _, d, _, _ in (one, many)]
            assert (got[0] and got[0].uid) == (got[1] and got[1].uid)
            if got[0] is not None:
                busy.append(one[3].index(got[0]))
        elif action < 0.75 and busy:
            k = busy.pop(int(rng.integers(len(busy))))
            patch, back = int(rng.integers(one[1].size)), now + float(rng.exponential(20.0))
            for _, _, dispatcher, units, _ in (one, many):
                dispatcher.move(units[k], patch, back)
                dispatcher.release(units[k])
            if one[3][k].busy:
                busy.append(k)
        else:
            dept = departments[int(rng.integers(len(departments)))]
            size = sum(u.department == dept for u in one[3])
            was, counts[dept] = counts[dept], int(rng.integers(0, size + 1))
            lo, hi = sorted((was, counts[dept]))
            changed = [[u for u in units if u.department == dept][lo:hi] for _, _, _, units, _ in (one, many)]
            for unit in changed[0]:
                one[2].set_on_duty(unit, unit.index < counts[dept])
            many[2].set_on_duty_many(changed[1], counts[dept])
            busy += [one[3].index(u) for u in changed[0] if u.busy and one[3].index(u) not in busy]
        for pool in one[2].free:
            assert [(u.uid, u.free_seq) for u in one[2].free[pool]] == [(u.uid, u.free_seq) for u in many[2].free[pool]]
        _index_files_exactly_the_free_units(one[2])
        _index_files_exactly_the_free_units(many[2])
        assert [(u.uid, u.on_duty, u.busy) for u in one[3]] == [(u.uid, u.on_duty, u.busy) for u in many[3]]
        assert one[2].waiting() == many[2].waiting()


def _index_files_exactly_the_free_units(dispatcher) -> None:
    """Every active map index files each free unit of its pool once, where ``filed`` says, and holds nothing else.

    A patch holds a lone unit or a bucket (which may keep one unit once others left it), never an empty bucket
    nor an empty cell (a search reaching one would fail); a bucket's first unit is its least ``free_seq``.
    """
    from sim.engine.dispatch import _Bucket

    for pool, index in dispatcher._cells.items():
        if not index.active:
            continue
        held: dict = {}
        for cell, patches in index.cells.items():
            assert patches, f"empty cell {cell} kept"
            for patch, entry in patches.items():
                assert index.patch_cell[patch] == cell
                if isinstance(entry, _Bucket):
                    assert entry.live, f"empty bucket kept at patch {patch}"
                    assert entry.first() == min((seq, u) for u, seq in entry.live.items())
                    held.update(dict.fromkeys(entry.live, patch))
                else:
                    held[entry] = patch
        assert held == index.filed
        assert set(held) == set(dispatcher.free[pool])


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.lists(st.integers(0, 60), max_size=6)), max_size=40))
def test_a_bucket_filed_in_bulk_always_puts_first_the_unit_free_longest(steps):
    """Whatever the free_seq of units filed together (rising above every entry, or falling below some) and
    whatever was taken out, the bucket's first unit has the least free_seq of those in it."""
    from sim.engine.dispatch import _Bucket

    bucket = _Bucket()
    units = [Unit(f"u{i}", "a", i, 0, (0.0, 0.0), 0, 20.0, 0.0, 0.0, False) for i in range(61)]
    falling, rising = itertools.count(10_000, -1), itertools.count(20_000)
    for kind, picks in steps:
        chosen = list(dict.fromkeys(units[i] for i in picks))
        if kind == 2:
            bucket.remove_many([u for u in chosen if u in bucket.live])
        else:
            fresh = [u for u in chosen if u not in bucket.live]
            for unit in fresh:
                unit.free_seq = next(falling if kind else rising)
            bucket.add_many(fresh)
        if bucket:
            seq, unit = min((seq, unit.index) for unit, seq in bucket.live.items())
            assert bucket.first() == (seq, units[unit])


def test_units_heading_home_do_not_pile_up_when_the_map_index_is_never_searched():
    """A department big enough for the map index whose free units stay few (compared one by one): returns home
    were once listed for every job and dropped only by a search, so the list grew with the run."""
    from sim.engine.dispatch import SMALL_FLEET

    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 4, "cols": 4}, patch_km=1.0, detour_factor=1.3))
    units = [Unit(f"a-{i}", "a", i, 0, town.centres[0], 0, 20.0, 2.0, 0.0, False) for i in range(SMALL_FLEET + 8)]
    dispatcher = Dispatcher(env, town, units, "nearest", [frozenset({"a"})])
    index = dispatcher._cells["a"]
    dispatcher.set_on_duty_many(units, SMALL_FLEET // 2)
    rng = np.random.default_rng(1)
    for step in range(2_000):
        env.run(until=step + 1)
        unit = dispatcher.request(job(env, {"a"}, int(rng.integers(town.size))))
        assert unit is not None
        dispatcher.release_at(unit, int(rng.integers(town.size)), env.now + float(rng.exponential(30.0)))
        assert len(index.returning) <= 2 * len(units) + 9


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 30),
    cols=st.integers(1, 30),
    units=st.floats(1, 2_000),
    manhattan=st.booleans(),
    patch_km=st.sampled_from([0.3, 1.0, 2.5]),
)
def test_every_patch_visits_every_cell_once_nearest_first_by_a_lower_bound(rows, cols, units, manhattan, patch_km):
    """The map's visiting order (computed for blocks of patches at once): every cell once, least km rising, and no
    patch of a cell is nearer by road than the cell's least km (so a search may stop there)."""
    from sim.engine.dispatch import _MapCells

    town = build_town(
        Territory(
            grid={"rows": rows, "cols": cols},
            patch_km=patch_km,
            detour_factor=1.3,
            distance="manhattan" if manhattan else "euclidean",
        )
    )
    cells = _MapCells(town, units)
    for patch in range(town.size):
        least_km, order = cells.visiting(patch)
        assert sorted(order) == list(range(cells.nx * cells.ny))
        assert all(a <= b for a, b in itertools.pairwise(least_km))
        km_of = dict(zip(order, least_km))
        for other in range(0, town.size, max(1, town.size // 40)):
            road_km = town.drive_min(patch, other, 60.0)  # at 60 km/h, minutes are road km
            assert km_of[cells.patch_cell[other]] <= road_km


def test_the_map_index_is_let_go_of_when_few_units_are_free_and_built_again_when_many_are():
    """The index is kept only while its pool has many free units; built afresh, it picks what comparing all would."""
    from sim.engine.dispatch import FEW_FREE, SMALL_FLEET

    env = simpy.Environment()
    town = build_town(Territory(grid={"rows": 6, "cols": 6}, patch_km=1.0, detour_factor=1.3))
    rng = np.random.default_rng(4)
    units = [
        Unit(f"a-{i}", "a", i, int(b), town.centres[int(b)], 0, 20.0, 2.0, 0.0, False)
        for i, b in enumerate(rng.integers(0, town.size, size=3 * SMALL_FLEET))
    ]
    dispatcher = Dispatcher(env, town, units, "nearest", [frozenset({"a"})])
    index = dispatcher._cells["a"]
    dispatcher.set_on_duty_many(units, len(units))
    assert not index.active and not index.filed  # nothing filed before the first search
    busy, seen = [], []
    for step in range(600):
        env.run(until=step + 1)
        asking = 0.85 if (step // 50) % 2 == 0 else 0.15  # spells of many jobs, then of units coming back
        if rng.random() < asking or not busy:
            patch = int(rng.integers(town.size))
            expected = _brute_nearest(dispatcher, {"a"}, patch, env.now)
            got = dispatcher.request(job(env, {"a"}, patch))
            assert got is expected
            if got is not None:
                busy.append(got)
        else:
            unit = busy.pop(int(rng.integers(len(busy))))
            dispatcher.release_at(unit, int(rng.integers(town.size)), env.now + float(rng.exponential(5.0)))
        _index_files_exactly_the_free_units(dispatcher)
        free = len(dispatcher.free["a"])
        if index.active:
            assert len(index.filed) == free > FEW_FREE  # every free unit filed while in use
        else:
            assert not index.filed and not index.returning
        seen.append(index.active)
    assert any(a and not b for a, b in itertools.pairwise(seen))  # let go of ...
    assert any(b and not a for a, b in itertools.pairwise(seen))  # ... and built again
