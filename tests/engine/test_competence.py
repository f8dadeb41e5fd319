"""What a generalist team can and cannot do (承接能力有限, 003; 专辅结合, 004).

Known answers on a two-department town where only ``a`` holds the power and a mode pools ``a``
and ``b``: a unit of ``b`` acts outside its own powers, so its on-scene time is exactly the
competence factor f times the drawn service time, while ``a``'s units keep the service time; each
such job needs a specialist follow-up with probability q, so the follow-ups are Binomial(b's jobs, q),
each done by a unit of ``a`` in the service time. A department's own powers, and modes that do not
pool, never pay the penalty; a unit without a sworn officer may not take a matter that needs one.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

import sim
from sim.engine.model import Simulation
from sim.engine.rng import replication_seed
from sim.errors import ScenarioError
from sim.scenario.governance import modes_of
from sim.stats.metrics import summarise

SERVICE_MIN = 20.0


def _run(scenario: sim.Scenario, mode: str):
    """The run and each incident's drawn on-scene time (its only part)."""
    simulation = Simulation(scenario, modes_of(scenario)[mode], replication_seed(scenario.seed, 0))
    return simulation.run(), [service[0] for service in simulation.incidents.service_min]


def _town(
    competence: dict | None = None, sworn_officer: bool = False, sworn_per_unit: int | None = None
) -> sim.Scenario:
    b = {"name": "b", "units": 30, "setoff_min": 0, "powers": [], "competence": competence or {}}
    if sworn_per_unit is not None:
        b["sworn_per_unit"] = sworn_per_unit
    return sim.scenario_from_dict(
        {
            "name": "generalists",
            "seed": 9,
            "days": 10,
            "warmup_days": 0,
            "drain_days": 2,
            "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
            "departments": [{"name": "a", "units": 2, "setoff_min": 0, "powers": ["matter"]}, b],
            "incident_types": [
                {
                    "name": "matter",
                    "rate_per_day": 80,
                    "service_min": {"dist": "uniform", "low": 10, "high": 30}
                    if sworn_per_unit is None
                    else SERVICE_MIN,
                    "sworn_officer": sworn_officer,
                    "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
                }
            ],
            "governance": {
                "instant": {"report_min": 0, "centre_min": 0},
                "modes": {"fragmented": {}, "unified": {"authority": {"pooled": ["a", "b"]}}},
            },
        }
    )


@pytest.mark.parametrize("f", [0.5, 1.0, 1.7])
def test_a_competence_factor_multiplies_on_scene_time_exactly(f):
    scenario = _town({"matter": {"on_scene_factor": f}})
    pooled, service = _run(scenario, "unified")
    by_b = [j for j in pooled.jobs if j.department == "b"]
    by_a = [j for j in pooled.jobs if j.department == "a"]
    assert len(by_b) > 100 and len(by_a) > 100  # a's two units are often busy: b's take the rest
    for job in by_b:
        assert job.done_min - job.arrived_min == pytest.approx(f * service[job.incident])
    for job in by_a:
        assert job.done_min - job.arrived_min == pytest.approx(service[job.incident])


def test_the_star_entry_covers_every_type_outside_the_departments_powers():
    scenario = _town({"*": {"on_scene_factor": 2.0}})
    pooled, service = _run(scenario, "unified")
    assert {j.department for j in pooled.jobs} == {"a", "b"}
    for job in pooled.jobs:
        factor = 2.0 if job.department == "b" else 1.0
        assert job.done_min - job.arrived_min == pytest.approx(factor * service[job.incident])


@pytest.mark.parametrize("q", [0.15, 0.6])
def test_a_follow_up_probability_gives_a_binomial_count_of_second_visits_by_the_owner(q):
    out = sim.run(_town({"matter": {"follow_up_probability": q}}), "unified")
    first = [j for j in out.jobs if j.department == "b" and not j.follow_up]
    follow_ups = [j for j in out.jobs if j.follow_up]
    low, high = stats.binom.interval(0.999, len(first), q)
    assert low <= len(follow_ups) <= high
    assert {j.department for j in follow_ups} == {"a"}
    assert sum(r.follow_ups for r in out.records) == len(follow_ups)
    assert summarise([out], 0.0, 30.0, ["matter"])["follow_ups"] == len(follow_ups)
    finished = {j.incident: j.done_min for j in follow_ups}
    for record in out.records:  # resolved when the follow-up is done; the response is the first arrival
        if record.follow_ups:
            assert record.resolved_min == pytest.approx(finished[record.incident])
            assert record.departments == "b+a"


def test_a_mode_that_does_not_pool_never_pays_the_penalty():
    scenario = _town({"matter": {"on_scene_factor": 3.0, "follow_up_probability": 1.0}})
    own = sim.run(scenario, "fragmented")
    assert not any(j.follow_up for j in own.jobs)
    assert all(j.department == "a" for j in own.jobs)


def test_a_unit_without_a_sworn_officer_may_not_take_a_matter_that_needs_one():
    pooled = sim.run(_town(sworn_officer=True, sworn_per_unit=0), "unified")
    assert {j.department for j in pooled.jobs} == {"a"}
    mixed = sim.run(_town(sworn_officer=False, sworn_per_unit=0), "unified")
    assert {j.department for j in mixed.jobs} == {"a", "b"}
    sworn = sim.run(_town(sworn_officer=True, sworn_per_unit=1), "unified")
    assert {j.department for j in sworn.jobs} == {"a", "b"}
    assert all(not math.isnan(r.on_scene_min) for r in pooled.records)


def test_more_sworn_officers_than_crew_is_an_error():
    with pytest.raises(ScenarioError, match="sworn_per_unit"):
        _town(sworn_per_unit=3)


def test_an_unknown_incident_type_in_competence_is_an_error_with_a_suggestion():
    with pytest.raises(ScenarioError, match="did you mean 'matter'"):
        _town({"mattr": {"on_scene_factor": 1.2}})


@pytest.mark.parametrize("entry", [{"on_scene_factor": 0}, {"follow_up_probability": 1.2}])
def test_competence_out_of_range_is_an_error(entry):
    with pytest.raises(ScenarioError, match=next(iter(entry))):
        _town({"matter": entry})


@pytest.mark.parametrize("q", [0.0, 0.4])
def test_a_job_kinds_factors_and_follow_up_chance_worked_out_once_give_the_same_minutes_and_draws(q):
    """The table works out each (type, parts, department) once; the minutes are the formula's, and a job
    kind that may need no follow-up draws nothing, while one that may draws one uniform per part."""
    import numpy as np

    from sim.engine.competence import CompetenceTable

    table = CompetenceTable(_town({"matter": {"on_scene_factor": 1.7, "follow_up_probability": q}}))
    for _ in range(2):  # the second call reads the worked-out plan
        assert table.on_scene_min(0, (0,), "b", (20.0,)) == 0.0 + 20.0 * 1.7
        assert table.on_scene_min(0, (0,), "a", (20.0,)) == 20.0
    assert not table.may_follow_up(0, (0,), "a")
    assert table.may_follow_up(0, (0,), "b") is (q > 0)
    for department in ("a", "b"):
        rng = np.random.default_rng(3)
        table.follow_ups(0, (0,), department, rng)
        drew = rng.random() != np.random.default_rng(3).random()
        assert drew is table.may_follow_up(0, (0,), department)
