"""The command centre as a resource with operators: queueing theory, priorities, shifts, defaults.

A degenerate town where units are plentiful and nothing else takes time: the time from the report
reaching the centre to dispatch is then the centre's time in system (the wait for an operator plus
the operator's handling), which queueing theory gives exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.engine.centre import CENTRE, Centre, operators_on_duty
from sim.engine.clock import Clock
from sim.engine.territory import build_town
from sim.scenario.schema import InstantSpec
from sim.stats.metrics import t_interval
from tests.conftest import queue_scenario, ties_scenario
from tests.system.test_theory import erlang_c_wait


def centre_scenario(
    operators: int | None, arrivals_per_min: float, handling_mean_min: float, days: float = 30.0, **instant
):
    """Poisson reports, exponential handling at a centre of *operators*; 400 units, so none waits for a unit."""
    return queue_scenario(
        400,
        arrivals_per_min,
        1.0,
        days=days,
        warmup_days=2,
        service={"dist": "fixed", "value": 1.0},
        governance={
            "instant": {
                "report_min": 0,
                "centre_min": {"dist": "exponential", "mean": handling_mean_min},
                "operators": operators,
                **instant,
            },
            "modes": {"pooled": {"based_on": "joint"}},
        },
    )


def centre_times(scenario, replications: int, by_priority: bool = False) -> list:
    """Per replication, the mean of dispatched - reached (the centre's time in system), per priority if asked."""
    warm = scenario.warmup_days * 1440
    out = []
    for output in sim.replicate(scenario, "pooled", replications):
        rows = [r for r in output.records if r.occurred_min >= warm and not math.isnan(r.dispatched_min)]
        if by_priority:
            out.append(
                {p: float(np.mean([r.dispatched_min - r.reached_min for r in rows if r.priority == p])) for p in (1, 2)}
            )
        else:
            out.append(float(np.mean([r.dispatched_min - r.reached_min for r in rows])))
    return out


@pytest.mark.parametrize("operators, utilisation", [(1, 0.7), (3, 0.8)])
def test_centre_wait_matches_erlang_c(operators, utilisation):
    handling = 10.0
    arrivals = utilisation * operators / handling
    means = centre_times(centre_scenario(operators, arrivals, handling), 10)
    low, high = t_interval(means, confidence=0.99)
    wait = erlang_c_wait(operators, arrivals, handling)
    theory = wait + handling  # time in system: the wait for an operator, then the handling
    assert low <= theory <= high, f"Erlang C {theory:.2f} min outside the 99% interval [{low:.2f}, {high:.2f}]"
    assert (high - low) / 2 < 0.2 * wait, "interval too wide to tell the wait from no wait"


def test_priority_queue_matches_cobham():
    """Two priorities at one operator (M/M/1, non-pre-emptive): Cobham's waits per class."""
    handling, lam = 10.0, 0.035  # per class, per minute: utilisation 0.7 in all
    base = centre_scenario(1, lam, handling)
    data = base.model_dump(mode="json")
    job = data["incident_types"][0]
    data["incident_types"] = [
        {**job, "name": "urgent", "priority": 1},
        {**job, "name": "routine", "priority": 2},
    ]
    data["departments"][0]["powers"] = ["urgent", "routine"]
    scenario = sim.scenario_from_dict(data)
    rho1, rho = lam * handling, 2 * lam * handling
    residual = rho * handling  # sum of lambda_i E[S^2] / 2 with E[S^2] = 2 m^2
    theory = {1: residual / (1 - rho1) + handling, 2: residual / ((1 - rho1) * (1 - rho)) + handling}
    reps = centre_times(scenario, 10, by_priority=True)
    for p in (1, 2):
        low, high = t_interval([r[p] for r in reps], confidence=0.99)
        assert low <= theory[p] <= high, (p, theory[p], low, high)
    fifo = centre_times(
        sim.scenario_from_dict(
            {
                **data,
                "governance": {**data["governance"], "instant": {**data["governance"]["instant"], "queue": "fifo"}},
            }
        ),
        5,
        by_priority=True,
    )
    assert np.mean([r[1] for r in fifo]) > theory[1] + 3, "first come, first served makes urgent reports wait longer"


def with_loop(scenario):
    """The same scenario with the closed loop in its one mode."""
    data = scenario.model_dump(mode="json")
    data["governance"]["modes"] = {"pooled": {"based_on": "joint", "closed_loop": True}}
    return sim.scenario_from_dict(data)


def test_unlimited_operators_keep_todays_times():
    """operators: null is the fixed delay; so many operators that none is ever waited for gives the same minutes."""
    runs = [sim.run(with_loop(centre_scenario(n, 0.05, 10.0, days=4)), "pooled") for n in (None, 10_000)]
    a, b = (run.records for run in runs)
    assert len(a) == len(b) > 100
    for x, y in zip(a, b):
        for field in ("reached_min", "dispatched_min", "on_scene_min", "resolved_min", "closed_min"):
            assert getattr(x, field) == pytest.approx(getattr(y, field), abs=1e-6), (field, x, y)
    assert CENTRE not in runs[0].busy_min
    assert 0 < runs[1].busy_min[CENTRE] / runs[1].on_duty_min[CENTRE] < 0.01


def test_operators_change_response_and_show_in_utilisation():
    """Fewer operators, longer waits: the centre's staffing shows in the response time and its utilisation."""
    means = {}
    for operators in (2, 8):
        output = sim.run(centre_scenario(operators, 0.15, 10.0, days=4), "pooled")
        means[operators] = float(np.mean([r.response_min for r in output.records if r.occurred_min >= 2 * 1440]))
        load = 0.15 * 10.0 / operators
        assert output.busy_min[CENTRE] / output.on_duty_min[CENTRE] == pytest.approx(load, rel=0.15)
    assert means[2] > means[8] + 5


def test_operators_follow_their_shift_and_the_centre_hours():
    spec = InstantSpec(
        operators=4,
        operator_shift=[{"times": ["08:00-20:00"], "units": 3}, {"times": ["20:00-08:00"], "units": 1}],
        centre_hours={"times": ["07:00-23:00"]},
    )
    steps = operators_on_duty(spec)
    assert [steps.value(h * 60) for h in (3, 7.5, 9, 21, 23.5)] == [0, 1, 3, 1, 0]
    assert steps.integral(0, 1440) == pytest.approx(60 * (1 * 1 + 12 * 3 + 3 * 1))


def test_a_report_waits_for_the_next_shift_and_operators_finish_the_report_in_hand():
    env = Clock()
    spec = InstantSpec(operators=1, centre_hours={"times": ["00:00-01:00"]})
    centre = Centre(env, spec, 3000.0, (0.0, 3000.0))
    starts = {}

    def report(name, at, minutes):
        yield env.timeout(at)
        starts[name] = yield centre.take(3, minutes)
        starts[name + "_done"] = env.now

    env.process(report("a", 50, 30))  # starts at 50, runs past closing (60) to 80
    env.process(report("b", 55, 5))  # waits for the operator, then for the next opening
    env.run(until=3000)
    assert (starts["a"], starts["a_done"]) == (50, 80)
    assert (starts["b"], starts["b_done"]) == (1440, 1445)


def test_operator_shift_needs_operators():
    with pytest.raises(ValueError, match="operator_shift needs operators"):
        InstantSpec(operator_shift="day_night")


def test_a_unit_freed_as_the_centre_decides_is_free_for_the_report():
    """On an exact tie, a unit freed at the minute the centre's decision ends is free for the report.

    With fixed handling and service, ties are common: the report asks for a unit after the events
    already due at that minute, as a SimPy event succeeding then would (a shortcut that asked at once
    sent a farther unit).
    """
    scenario = ties_scenario(
        {"instant": {"report_min": 0, "centre_min": {"dist": "fixed", "value": 5}, "operators": 2}}
    )
    output = sim.run(scenario, "pooled", seed=2)
    town = build_town(scenario.territory, scenario.travel)
    speed = scenario.departments[0].speed_kmh
    jobs = list(output.jobs)
    ties = 0
    for sent in jobs:
        freed = [j for j in jobs if j.done_min == sent.requested_min and j.unit != sent.unit]
        if not freed or sent.dispatched_min != sent.requested_min:
            continue
        ties += 1
        # nearest: no unit freed right then, where it stands, was sooner than the unit sent
        soonest = min(town.drive_min(town.index(j.patch), town.index(sent.patch), speed) for j in freed)
        assert sent.arrived_min - sent.dispatched_min <= soonest + 1e-9, (sent, freed)
    assert ties > 0
