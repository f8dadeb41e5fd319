"""The model's lifecycle: invariants every record must satisfy, determinism, common random numbers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import sim
from sim.engine.trace import Stage
from sim.scenario.governance import capable_departments, modes_of, parts_of
from tests.conftest import SCENARIOS, queue_scenario


def _ordered(*times) -> bool:
    present = [t for t in times if not math.isnan(t)]
    return all(a <= b + 1e-9 for a, b in itertools.pairwise(present))


@pytest.fixture(scope="module")
def anhai_runs(anhai):
    return {mode: sim.run(anhai, mode) for mode in modes_of(anhai)}


def test_timestamps_in_order(anhai_runs):
    for mode, output in anhai_runs.items():
        for r in output.records:
            assert _ordered(
                r.occurred_min, r.detected_min, r.reached_min, r.dispatched_min, r.on_scene_min, r.resolved_min
            ), (mode, r)


def test_stages_do_not_skip(anhai_runs):
    """A later stage never happens without the earlier ones."""
    for output in anhai_runs.values():
        for r in output.records:
            if not math.isnan(r.on_scene_min):
                assert not math.isnan(r.dispatched_min) and not math.isnan(r.reached_min)
            if not math.isnan(r.reached_min):
                assert not math.isnan(r.detected_min) and r.channel


def test_resolved_only_by_departments_with_the_power(anhai, anhai_runs):
    types = {t.name: t for t in anhai.incident_types}
    for mode_name, output in anhai_runs.items():
        mode = modes_of(anhai)[mode_name]
        for r in (r for r in output.records if r.resolved):
            handlers = set(r.departments.split("+"))
            for part in parts_of(types[r.incident_type]):
                assert handlers & capable_departments(anhai, mode, part), (mode_name, r)
            allowed = set().union(*(capable_departments(anhai, mode, p) for p in parts_of(types[r.incident_type])))
            assert handlers <= allowed, (mode_name, r)


def test_fragmented_units_act_only_on_their_own_powers(anhai, anhai_runs):
    powers = {d.name: set(d.powers) for d in anhai.departments}
    for r in anhai_runs["fragmented"].records:
        if r.resolved:
            for dept in r.departments.split("+"):
                assert r.incident_type in powers[dept]


def test_multi_department_matters_need_every_department(anhai_runs):
    for r in anhai_runs["joint"].records:
        if r.incident_type == "locked_parking_space" and r.resolved:
            assert set(r.departments.split("+")) == {"police", "traffic", "enforcement"}


def test_referrals_only_where_information_is_referred(anhai_runs):
    assert sum(r.referrals for r in anhai_runs["fragmented"].records) > 0
    assert sum(r.bounces for r in anhai_runs["fragmented"].records) > 0
    for mode in ("joint", "unified"):
        assert sum(r.referrals + r.bounces for r in anhai_runs[mode].records) == 0


def test_seen_not_handled_needs_a_leave_probability(anhai_runs):
    assert sum(r.seen_not_handled for r in anhai_runs["fragmented"].records) > 0
    assert sum(r.seen_not_handled for r in anhai_runs["unified"].records) == 0


def test_same_seed_same_records(classroom):
    first = sim.run(classroom, "fragmented", seed=5)
    second = sim.run(classroom, "fragmented", seed=5)
    assert first.records == second.records
    assert first.busy_min == second.busy_min


def test_different_seed_different_incidents(classroom):
    a = sim.run(classroom, "joint", seed=1).records
    b = sim.run(classroom, "joint", seed=2).records
    assert [r.occurred_min for r in a] != [r.occurred_min for r in b]


def test_modes_see_the_same_incidents(anhai_runs):
    """Common random numbers: identical occurrence times, places and types under every mode."""

    def incidents(output):
        return [(r.incident, r.incident_type, r.patch, r.occurred_min) for r in output.records]

    reference = incidents(anhai_runs["fragmented"])
    assert len(reference) > 1000
    for output in anhai_runs.values():
        assert incidents(output) == reference


def test_replications_are_independent(classroom):
    reps = sim.replicate(classroom, "joint", replications=3)
    counts = [tuple(r.occurred_min for r in o.records) for o in reps]
    assert len(set(counts)) == 3


def test_each_record_is_written_once(anhai_runs):
    for output in anhai_runs.values():
        numbers = [r.incident for r in output.records]
        assert numbers == sorted(set(numbers))


def test_on_the_spot_patrol_needs_no_travel(anhai_runs):
    """A patrol able to act on what it finds handles it where it stands."""
    spot = [
        r
        for r in anhai_runs["unified"].records
        if r.channel == "patrol" and r.incident_type == "street_vending" and r.resolved
    ]
    assert spot
    assert any(r.response_min == 0 for r in spot)


def test_office_hours_desk_delays_referrals(classroom_data):
    """A matter reported between Friday evening and Sunday night waits for Monday's desk when information is referred.

    Only matters reached count: one that ended by itself first (a vendor gone) was never reached.
    """
    data = classroom_data
    data["days"] = 15  # two weekends, so that some reports fall in them whatever the draws
    scenario = sim.scenario_from_dict(data)
    output = sim.run(scenario, "fragmented")
    weekend = [
        r
        for r in output.records
        if r.channel not in ("patrol", "rounds")
        and 4 * 1440 + 18 * 60 <= r.detected_min < 7 * 1440
        and r.reached_min == r.reached_min
    ]
    assert weekend
    for r in weekend:
        assert r.reached_min >= 7 * 1440 + 8 * 60 + 30 - 1e-6, r


def test_utilisation_matches_offered_load():
    """Busy unit-minutes over on-duty unit-minutes approach the offered load of an M/M/c."""
    scenario = queue_scenario(3, 0.2, 10.0, days=30)
    outputs = sim.replicate(scenario, "pooled", 4)
    summary = sim.experiments.runs.build_summary(scenario, scenario.seed, 4, {"pooled": outputs})
    assert summary["modes"]["pooled"]["utilisation"]["team"] == pytest.approx(2.0 / 3.0, rel=0.03)


def test_load_above_capacity_ends_with_a_backlog():
    scenario = queue_scenario(1, 0.2, 10.0, days=3, warmup_days=0)
    output = sim.run(scenario, "pooled")
    assert output.backlog > 50
    assert any(not r.resolved for r in output.records)


def test_records_are_immutable(classroom):
    output = sim.run(classroom, "joint")
    with pytest.raises(AttributeError):
        output.records[0].resolved_min = 0.0
    with pytest.raises(AttributeError):
        output.jobs[0].done_min = 0.0


def test_trace_tells_the_story_in_order(anhai):
    output = sim.run(anhai, "fragmented", trace=True)
    referred = next(r for r in output.records if r.referrals >= 3 and r.resolved)
    story = output.trace[referred.incident]
    times = [e.at_min for e in story]
    assert times == sorted(times)
    stages = [e.stage for e in story]
    assert stages[0] is Stage.OCCURRED and Stage.RESOLVED in stages
    handovers = [e for e in story if e.stage is Stage.HANDED_OVER]
    assert len(handovers) >= 3 and [e.step for e in handovers[:3]] == [1, 2, 3]
    assert story[0].at_min == referred.occurred_min
    arrivals = [e for e in story if e.stage is Stage.ON_SCENE]
    assert arrivals and arrivals[0].at_min == referred.on_scene_min and arrivals[0].unit in referred.units
    untraced = sim.run(anhai, "fragmented")
    assert untraced.trace is None and untraced.records == output.records


@pytest.mark.parametrize("mode", ["fragmented", "unified", "joint"])
def test_finished_matters_let_go_of_their_state(anhai, mode):
    """A matter's state lives while it is open, not until the run ends (peak memory of a long run).

    Counted by objects, not time: halfway through, the live states are those of the open matters
    (and of the next to be reported), far fewer than the matters that occurred by then.
    """
    import gc

    from sim.engine.incidents import IncidentState
    from sim.engine.model import Simulation
    from sim.experiments.runs import replication_seed

    scenario = anhai.model_copy(update={"days": 28.0})
    simulation = Simulation(scenario, modes_of(scenario)[mode], replication_seed(scenario.seed, 0))
    seen = {}

    def probe():
        yield simulation.env.timeout(simulation.horizon / 2)
        seen["occurred"] = int((simulation.incidents.occurred_min < simulation.env.now).sum())
        seen["open"] = len(simulation.states)
        seen["live"] = sum(isinstance(o, IncidentState) for o in gc.get_objects())

    gc.collect()
    simulation.env.process(probe())
    output = simulation.run()
    assert seen["occurred"] > 1000
    assert seen["open"] <= seen["live"] <= seen["open"] + 1 < seen["occurred"] / 5  # + the next one to be reported
    assert len(output.records) == len(simulation.incidents) and not simulation.states


@pytest.mark.parametrize("mode", ["fragmented", "unified_closed_loop"])
def test_a_matters_state_is_made_once_and_detections_draws_are_let_go_of(mode, monkeypatch):
    """Counted, not timed: one state per matter (reported or not), and once detection is settled the
    incidents keep what the handling reads (type, patch, on-scene work), not each channel's minutes."""
    from sim.engine.model import Simulation
    from sim.experiments.runs import replication_seed

    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=14"])  # grid workers, rounds, campaigns, loop
    made = []
    original = Simulation._state

    def counted(self, i, *args, **kwargs):
        made.append(i)
        return original(self, i, *args, **kwargs)

    monkeypatch.setattr(Simulation, "_state", counted)
    simulation = Simulation(scenario, modes_of(scenario)[mode], replication_seed(scenario.seed, 0))
    n, service = len(simulation.incidents), simulation.incidents.service_min.minutes.copy()
    output = simulation.run()
    assert sorted(made) == list(range(n)) == output.records.column("incident").tolist()
    assert simulation.incidents.channel_min.size == simulation.incidents.finder_u.size == 0
    assert simulation.incidents.rounds_min is None and len(simulation.incidents) == n
    assert np.array_equal(simulation.incidents.service_min.minutes, service)


@pytest.mark.parametrize("mode", ["fragmented", "joint", "unified_closed_loop"])
def test_detection_on_whole_arrays_reports_what_one_matter_at_a_time_reports(mode, monkeypatch):
    """The block-wise detection (campaign finds, rounds, channels, patrols that leave a matter) gives, matter
    by matter, the minute, channel, finder and patrols-left of the scalar rule, drawing later passes in order."""
    from sim.engine.campaigns import CAMPAIGN
    from sim.engine.incidents import first_of
    from sim.engine.model import Simulation
    from sim.experiments.runs import replication_seed

    monkeypatch.setattr(Simulation, "BLOCK", 64)  # several blocks
    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=21"])
    fast, slow = (Simulation(scenario, modes_of(scenario)[mode], replication_seed(4, 0)) for _ in range(2))
    inc = slow.incidents
    expected = []
    for i in range(len(inc)):
        k, until = int(inc.type_index[i]), min(slow.end, float(slow.natural_end[i]))
        if inc.found_by is not None and inc.found_by[i] >= 0:
            report = (float(inc.occurred_min[i]), CAMPAIGN, "", 0)
        else:
            rounds = first_of(inc.rounds_by, inc.rounds_min[i].tolist(), slow.may_act[k])
            times = inc.channel_min[i].tolist()
            report = slow._detection(i, int(inc.patch[i]), times, k, until, None, rounds)
        if report[0] < until:
            expected.append((report[0], i, *report[1:]))
    minutes, numbers, channels, finders, seen = fast._detect_all()
    labels = list(fast._labels)
    got = [
        (at, i, labels[c], labels[f], left)
        for at, i, c, f, left in zip(*(column.tolist() for column in (minutes, numbers, channels, finders, seen)))
    ]
    assert got == sorted(expected, key=lambda report: report[:2])
    assert {"rounds", "patrol", CAMPAIGN} <= {r[2] for r in got}
    assert any(report[4] > 0 for report in got) is (mode == "fragmented")  # only there may a patrol leave it
    assert len(fast.record_log) == len(inc) - len(got)  # the never reported, written at once


def test_a_matter_left_by_patrols_is_passed_again_at_the_same_minutes_whatever_other_matters_do():
    """Common random numbers for patrols that leave a matter: its later passes come from draws of its own.

    With a lower leave probability fewer matters are left, and fewer passes drawn. A matter that the same
    number of patrols left under both (within the passes drawn per matter, ``REPASSES``) was passed at the
    same minutes and is reported the same way. Drawn in order from one stream (as before), every matter
    left less often would shift the passes of every matter after it.
    """
    from sim.engine.model import Simulation

    path = SCENARIOS / "anhai.yaml"
    runs = {
        leave: sim.run(
            sim.load_scenario(path, ["days=21", f"governance.modes.fragmented.leave_probability={leave}"]), "fragmented"
        )
        for leave in (0.5, 0.25)
    }
    seen = {
        leave: {r.incident: (r.seen_not_handled, r.detected_min, r.channel, r.finder) for r in out.records}
        for leave, out in runs.items()
    }
    half, quarter = seen[0.5], seen[0.25]
    both = [n for n in half if 1 <= half[n][0] == quarter[n][0] <= Simulation.REPASSES]
    assert len(both) > 100
    assert sum(half[n][0] != quarter[n][0] for n in half) > 100  # left less often under the lower probability
    assert all(str(half[n]) == str(quarter[n]) for n in both)  # str: a matter never reported has NaN minutes


def _every_unit_each_change(self, roster):
    """Shift changes as a pass over every unit of the department (the rule before only the changed units moved)."""
    env, plan = self.env, self.campaign_plan
    demand = plan.demand.get(roster.department.name) if plan is not None else None
    while True:
        on_duty = roster.on_duty_count(env.now)
        if demand is not None:
            on_duty = max(0, on_duty - demand.value(env.now))
        for unit in roster.units:
            self.dispatcher.set_on_duty(unit, unit.index < on_duty)
        change = roster.on_duty.next_change(env.now)
        if demand is not None:
            change = min(change, demand.next_change(env.now))
        if change >= self.end:
            return
        yield self._until(change)


@pytest.mark.parametrize("mode", ["fragmented", "unified"])
def test_shift_changes_moving_only_the_changed_units_change_nothing(mode, monkeypatch):
    """Shifts and campaigns taking units off duty: moving the units between the old and the new count gives the
    records and jobs of a pass over every unit."""
    from sim.engine import model

    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=9"])
    fast = sim.run(scenario, mode)
    monkeypatch.setattr(model.Simulation, "_shifts", _every_unit_each_change)
    slow = sim.run(scenario, mode)
    assert scenario.campaigns and any(d.shift != "24h" for d in scenario.departments)
    assert list(map(repr, fast.records)) == list(map(repr, slow.records))  # repr: a NaN equals itself
    assert list(map(repr, fast.jobs)) == list(map(repr, slow.jobs))
    assert fast.on_duty_min == slow.on_duty_min and fast.busy_min == slow.busy_min


def _city_turns(out) -> dict[int, float]:
    """Per city matter: the minutes of the city centre's turn (its decision less the stage before it), from the trace."""
    turns: dict[int, float] = {}
    for number, story in out.trace.items():
        for before, event in itertools.pairwise(story):
            if event.stage == Stage.CITY_CENTRE_DECIDES:
                turns[number] = event.at_min - before.at_min
                break
    return turns


def test_a_city_matter_gets_the_same_city_turn_in_every_mode():
    """Common random numbers: each matter's turn at the city centre is drawn ahead, not in order of escalation.

    The Anhai town's city-layer matters reach the city in a different order under joint and unified
    working (some are found by a unit that may act in one mode only); drawn in order, their turns differed.
    """
    scenario = sim.load_scenario(SCENARIOS / "anhai.yaml", ["days=10"])
    joint, unified = (_city_turns(sim.run(scenario, mode, seed=3, trace=True)) for mode in ("joint", "unified"))
    both = joint.keys() & unified.keys()
    assert len(both) >= 15
    assert all(math.isclose(joint[n], unified[n], rel_tol=1e-9, abs_tol=1e-9) for n in both)


@pytest.mark.parametrize("name", ["classroom.yaml", "anhai.yaml", "zhewang.yaml", "jinjiang.yaml"])
def test_a_watched_run_gives_the_records_of_a_run_straight_through(name):
    """Stopping the clock at each day's end to say how far a run has got changes nothing in it.

    Every mode of a town with centres at levels (Jinjiang), grid leaders and a staffed centre (Zhewang),
    closed loops (Anhai) and a traced run: the same records, jobs and busy minutes, and the watcher is told
    each day's end in turn, then the end.
    """
    scenario = sim.load_scenario(SCENARIOS / name, ["days=4", "warmup_days=1", "drain_days=1"])
    for mode in modes_of(scenario):
        for trace in (False, True) if name == "classroom.yaml" else (False,):
            seen: list = []
            watched = sim.run(scenario, mode, trace=trace, progress=seen.append)
            straight = sim.run(scenario, mode, trace=trace)
            assert list(map(repr, watched.records)) == list(map(repr, straight.records)), (name, mode)  # NaN too
            assert list(map(repr, watched.jobs)) == list(map(repr, straight.jobs)), (name, mode)
            assert watched.busy_min == straight.busy_min and repr(watched.trace) == repr(straight.trace)
            end = straight.end_min
            assert [p.minute for p in seen] == [1440.0 * d for d in range(1, math.ceil(end / 1440))] + [end]
            assert {(p.mode, p.replication, p.end_min) for p in seen} == {(mode, 0, end)}
            assert seen[-1].share == 1.0
