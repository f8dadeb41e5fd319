"""Command centres at several levels: two levels in series against a Jackson network, routing, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.clock import Clock
from sim.engine.levels import Levels, depths
from sim.engine.model import Simulation
from sim.engine.rng import replication_seed
from sim.engine.territory import build_town
from sim.engine.trace import Stage
from sim.errors import ScenarioError
from sim.scenario.distributions import sample
from sim.scenario.governance import modes_of
from sim.scenario.schema import Governance, Territory
from sim.stats.metrics import t_interval
from tests.conftest import DATA, queue_scenario
from tests.system.test_theory import erlang_c_wait


def two_levels(arrivals_per_min: float, town: tuple[int, float], city: tuple[int, float], days: float = 30.0):
    """Poisson reports, a town centre that passes every report up to a city centre; 400 units, none waited for."""
    (c1, m1), (c2, m2) = town, city
    return queue_scenario(
        400,
        arrivals_per_min,
        1.0,
        days=days,
        warmup_days=2,
        service={"dist": "fixed", "value": 1.0},
        governance={
            "instant": {"report_min": 0, "centre_min": 0},
            "centres": [
                {"name": "city", "level": "city", "operators": c2, "handling_min": {"dist": "exponential", "mean": m2}},
                {
                    "name": "town",
                    "parent": "city",
                    "passes_up": "all",
                    "operators": c1,
                    "handling_min": {"dist": "exponential", "mean": m1},
                },
            ],
            "modes": {"pooled": {"based_on": "joint"}},
        },
    )


def test_two_levels_in_series_match_a_jackson_network():
    """Every report passes up: two M/M/c queues in series (Burke), the wait is the sum of two Erlang C waits."""
    lam, town, city = 0.22, (3, 10.0), (2, 6.0)  # utilisation 0.73 at the town, 0.66 at the city
    scenario = two_levels(lam, town, city, days=20)
    warm = scenario.warmup_days * 1440
    means, counts = [], []
    for output in sim.replicate(scenario, "pooled", 10):
        rows = [r for r in output.records if r.occurred_min >= warm and not math.isnan(r.dispatched_min)]
        means.append(float(np.mean([r.dispatched_min - r.reached_min for r in rows])))
        counts.append(len(rows))
        load = {key: output.busy_min[key] / output.on_duty_min[key] for key in ("centre:town", "centre:city")}
        assert load["centre:town"] == pytest.approx(lam * 10.0 / 3, rel=0.1)
        assert load["centre:city"] == pytest.approx(lam * 6.0 / 2, rel=0.1)
    waits = erlang_c_wait(3, lam, 10.0) + erlang_c_wait(2, lam, 6.0)
    theory = waits + 10.0 + 6.0  # time before dispatch: both waits and both handlings
    low, high = t_interval(means, confidence=0.99)
    assert low <= theory <= high, f"Jackson {theory:.2f} min outside the 99% interval [{low:.2f}, {high:.2f}]"
    assert (high - low) / 2 < 0.2 * waits, "interval too wide to tell the waits apart from none"
    assert min(counts) > 5000


def test_a_report_is_traced_through_exactly_the_centres_on_its_path():
    """Traced reports: a wait (if any), a hand-up at each lower centre, the decision at the last one."""
    scenario = two_levels(0.2, (2, 8.0), (2, 6.0), days=3)
    output = sim.run(scenario, "pooled", trace=True)
    assert output.trace is not None
    seen_wait = False
    for events in output.trace.values():
        centred = [(e.stage, e.centre) for e in events if e.stage in (Stage.PASSED_UP, Stage.CENTRE_DECIDES)]
        if not centred:
            continue
        assert centred == [(Stage.PASSED_UP, "town"), (Stage.CENTRE_DECIDES, "city")]
        seen_wait |= any(e.stage is Stage.WAITING_FOR_OPERATOR for e in events)
    assert seen_wait


# --------------------------------------------------------------------------- routing as a property


def _brute_path(specs, sector_names, patch_sector, type_name, jobs):
    """The routing rule spelled out: the deepest centre serving the patch, then up while it must pass."""
    by_name = {c.name: c for c in specs}

    def depth(c):
        return 0 if c.parent is None else 1 + depth(by_name[c.parent])

    serving = [c for c in specs if c.serves == "all" or sector_names[patch_sector] in c.serves.sectors]
    at = max(serving, key=depth)
    path = [at.name]
    while at.parent is not None:
        must = at.passes_up == "all" or type_name in at.passes_up
        must |= at.dispatches is not None and any(not (set(j) & set(at.dispatches)) for j in jobs)
        if not must:
            break
        at = by_name[at.parent]
        path.append(at.name)
    return path


@settings(max_examples=60, deadline=None)
@given(data=st.data(), sectors=st.integers(1, 6), towns=st.integers(1, 4))
def test_routing_follows_the_rule(data, sectors, towns):
    """Random trees (city, towns over sectors, villages under towns): each report's path is the rule's path."""
    territory = Territory(grid={"rows": 3, "cols": sectors * 2, "sectors": [1, sectors]}, patch_km=1.0)
    town = build_town(territory)
    names = list(town.sector_names)
    types, depts = ["a", "b", "c"], ["x", "y"]
    subset = st.lists(st.sampled_from(types), unique=True)
    centres = [{"name": "city", "level": "city"}]
    owner = [data.draw(st.integers(0, towns - 1)) for _ in names]
    for t in range(towns):
        served = [n for n, o in zip(names, owner) if o == t]
        if not served:
            continue
        centres.append(
            {
                "name": f"t{t}",
                "parent": "city",
                "serves": {"sectors": served},
                "passes_up": data.draw(st.one_of(st.just("all"), subset)),
                "dispatches": data.draw(st.one_of(st.none(), st.lists(st.sampled_from(depts), unique=True))),
            }
        )
        village = data.draw(st.lists(st.sampled_from(served), unique=True, max_size=2))
        if village:
            centres.append(
                {"name": f"v{t}", "parent": f"t{t}", "serves": {"sectors": village}, "passes_up": data.draw(subset)}
            )
    governance = Governance(centres=centres)
    specs = governance.centres
    assert specs is not None
    assert max(depths(specs)) <= 2
    levels = Levels(Clock(), governance, town, 100.0, (0.0, 100.0))
    jobs = [frozenset(j) for j in data.draw(st.lists(st.lists(st.sampled_from(depts), min_size=1), max_size=2))]
    for patch in range(town.size):
        for type_name in types:
            got = [specs[k].name for k in levels.path(patch, type_name, jobs)]
            assert got == _brute_path(specs, names, int(town.sector[patch]), type_name, jobs)


# --------------------------------------------------------------------------- defaults and validation


def test_without_centres_nothing_changes_and_one_centre_matches_the_single_centre():
    """A single staffed centre written as governance.centres gives the very minutes of instant.operators."""
    base = two_levels(0.1, (2, 8.0), (2, 6.0), days=3).model_dump(mode="json")
    single = {**base["governance"], "centres": None}
    single["instant"] = {"report_min": 0, "centre_min": {"dist": "exponential", "mean": 8.0}, "operators": 2}
    one = {**base["governance"]}
    one["centres"] = [{"name": "only", "operators": 2}]
    one["instant"] = {"report_min": 0, "centre_min": {"dist": "exponential", "mean": 8.0}}
    a = sim.run(sim.scenario_from_dict({**base, "governance": single}), "pooled")
    b = sim.run(sim.scenario_from_dict({**base, "governance": one}), "pooled")
    waits_a = [r.dispatched_min - r.reached_min for r in a.records]
    waits_b = [r.dispatched_min - r.reached_min for r in b.records]
    assert len(waits_a) == len(waits_b) > 200
    # the handling times come from different streams, so compare the distributions, not minute for minute
    assert np.nanmean(waits_a) == pytest.approx(np.nanmean(waits_b), rel=0.25)
    assert b.busy_min["centre:only"] / b.on_duty_min["centre:only"] == pytest.approx(0.1 * 8.0 / 2, rel=0.2)


def _problems(centres, **instant) -> str:
    data = two_levels(0.1, (1, 1.0), (1, 1.0), days=3).model_dump(mode="json")
    data["territory"] = {"grid": {"rows": 2, "cols": 2, "sectors": [1, 2]}}
    data["governance"]["centres"] = centres
    data["governance"]["instant"].update(instant)
    with pytest.raises(ScenarioError) as err:
        sim.scenario_from_dict(data)
    return str(err.value)


@pytest.mark.parametrize(
    "centres, expected",
    [
        ([{"name": "a", "parent": "nowhere"}], "unknown centre 'nowhere'"),
        ([{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], "in a circle: a -> b -> a"),
        ([{"name": "a", "serves": {"sectors": ["S1"]}}], "2 patches are served by no centre: r0c1, r1c1"),
        ([{"name": "a", "serves": {"sectors": ["S9"]}}], "unknown sector 'S9'"),
        ([{"name": "a"}, {"name": "b"}], "served by a and b at the same level"),
        ([{"name": "a", "passes_up": ["job"]}], "no parent to pass matters up to"),
        ([{"name": "a"}, {"name": "b", "parent": "a", "passes_up": ["jbo"]}], "unknown incident type 'jbo'"),
        ([{"name": "a"}, {"name": "a", "parent": "a"}], "name 'a' is already used"),
    ],
)
def test_bad_centres_are_refused_with_their_key_path(centres, expected):
    assert expected in _problems(centres)


def test_centres_and_instant_operators_together_are_refused():
    assert "give operators per centre" in _problems([{"name": "a"}], operators=2)


# --------------------------------------------------------------------------- common random numbers across modes


def _centre_handling(output) -> dict[tuple[int, str], float]:
    """(incident, centre) -> the minutes its operator spent on the report, from a traced run with no waits.

    A report reaches its first centre when posted and each later one when passed up; with operators
    never all busy, the handling is the time from arriving to passing up (or deciding).
    """
    handling = {}
    for number, events in output.trace.items():
        arrived = None
        for event in events:
            if event.stage == Stage.POSTED:
                arrived = event.at_min
            elif event.stage in (Stage.PASSED_UP, Stage.CENTRE_DECIDES) and arrived is not None:
                handling.setdefault((number, event.centre), event.at_min - arrived)
                arrived = event.at_min
            assert event.stage != Stage.WAITING_FOR_OPERATOR
    return handling


def test_the_same_report_gets_the_same_handling_at_the_same_centre_in_every_mode():
    """Jinjiang's joint and unified modes route reports differently (who is found on the spot, which
    centre passes what up), yet a report handled at a centre in both modes gets the same minutes there."""
    data = sim.load_scenario(DATA.parent.parent / "scenarios" / "jinjiang.yaml", ["days=1", "warmup_days=0"])
    data = data.model_dump(mode="json")
    for centre in data["governance"]["centres"]:
        centre["operators"] = 500  # nobody waits, so the handling shows in the trace
    scenario = sim.scenario_from_dict(data)
    joint, unified = (_centre_handling(sim.run(scenario, mode, trace=True)) for mode in ("joint", "unified"))
    both = joint.keys() & unified.keys()
    assert len(both) > 500 and len(both) < len(joint.keys() | unified.keys()), "modes must differ in routing"
    assert {centre for _, centre in both} > {"jinjiang", "town1"}
    for key in both:
        assert joint[key] == pytest.approx(unified[key], abs=1e-6), key


def test_a_report_through_two_centres_costs_one_event_per_centre():
    """Work bound by events, not time: a report's walk through two staffed centres schedules one event per
    handling and one when a unit may be sent (after the events already due at that minute: a unit freed
    then is free for it); with its detection and its unit's visit, five in all.

    Counted as the event ids the clock hands out: every entry of its queue takes one, a SimPy event or
    a timed call alike."""
    scenario = two_levels(0.2, (3, 10.0), (2, 6.0), days=4)
    simulation = Simulation(scenario, modes_of(scenario)["pooled"], replication_seed(1, 0))
    first = next(simulation.env._eid)
    output = simulation.run()
    scheduled = next(simulation.env._eid) - first - 1
    reports = len(output.records)
    assert reports > 1000 and all(r.dispatched_min == r.dispatched_min for r in output.records)
    assert scheduled <= 5 * reports + 100, scheduled / reports  # + the shift processes' few wake-ups


def _leader_handling(output) -> dict[int, float]:
    """Each incident's grid leader minutes: a leader's minutes on its report, where the leader was free when it came (traced)."""
    handling = {}
    for number, events in output.trace.items():
        posted = next((e.at_min for e in events if e.stage == Stage.POSTED), None)
        led = next((e for e in events if e.stage == Stage.GRID_LEADER_HANDLES), None)
        waited = any(e.stage == Stage.WAITING_FOR_OPERATOR and e.centre == getattr(led, "centre", "") for e in events)
        if posted is not None and led is not None and not waited:
            handling[number] = led.at_min - posted
    return handling


def test_the_same_report_gets_the_same_grid_leader_handling_in_every_mode():
    """Zhewang's grid leaders: a grid worker's report that reaches a free leader in joint working and in
    joint working whose patrols leave half of what they see (so grid workers report other matters) takes
    that leader the same minutes in both."""
    data = sim.load_scenario(DATA.parent.parent / "scenarios" / "zhewang.yaml", ["days=8", "warmup_days=0"])
    data = data.model_dump(mode="json")
    data["governance"]["modes"]["leaving"] = {"based_on": "joint", "leave_probability": 0.5}
    scenario = sim.scenario_from_dict(data)
    joint, leaving = (_leader_handling(sim.run(scenario, mode, trace=True)) for mode in ("joint", "leaving"))
    assert joint.keys() != leaving.keys(), "the modes must send different reports to the leaders"
    both = joint.keys() & leaving.keys()
    assert len(both) > 100
    for number in both:
        assert joint[number] == pytest.approx(leaving[number], abs=1e-6), number


def _handling_by_masks(levels: Levels, patches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The handling drawn ahead as first written: one pass over every incident per centre (the reference)."""
    depth_of = np.asarray([*levels.depth, -1], dtype=np.int64)
    parents = np.asarray([-1 if p is None else p for p in levels.parent] + [-1], dtype=np.int64)
    out = np.full((max(levels.depth) + 1, len(patches)), np.nan)
    above = np.asarray(levels.entry, dtype=np.int64)[patches]
    for d in range(max(levels.depth), -1, -1):
        at_depth = np.where(depth_of[above] == d, above, -1)
        for k in (k for k, depth in enumerate(levels.depth) if depth == d):
            under = at_depth == k
            if under.any():
                spec = levels.specs[k].handling_min or levels._default
                out[d, under] = sample(spec, rng, size=int(under.sum()))
        above = np.where(at_depth >= 0, parents[at_depth], above)
    return out


@pytest.mark.parametrize("city", [True, False])
def test_handling_drawn_ahead_matches_one_pass_per_centre(city):
    """The handling drawn ahead with the incidents grouped by one sort is, bit for bit, the handling drawn
    with one pass over every incident per centre: Jinjiang (460 centres at three depths, some incidents
    below none of the villages), and two centres in series."""
    if city:
        scenario = sim.load_scenario(DATA.parent.parent / "scenarios" / "jinjiang.yaml")
    else:
        scenario = two_levels(0.1, (2, 8.0), (2, 6.0), days=3)
    town = build_town(scenario.territory, scenario.travel)
    levels = Levels(Clock(), scenario.governance, town, 100.0, (0.0, 100.0))
    patches = np.random.default_rng(3).integers(0, town.size, 50_000)
    got = levels.draw_handling(patches, np.random.default_rng(11))
    expected = _handling_by_masks(levels, patches, np.random.default_rng(11))
    assert got.tobytes() == expected.tobytes()
    assert np.isnan(got).all(axis=0).sum() == 0  # every incident has a centre
