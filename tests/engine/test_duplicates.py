"""Duplicated and missing enforcement (交叉重复执法; 多头执法、重复执法、执法缺位).

Known answers on a one-department-pair town: two departments hold power over one matter, reports
travel by referral through round-the-clock desks, units stand where the matters happen (no travel)
and are plentiful (no queue). With duplicate probability p, each matter's other department sends a
unit with probability p: the number of duplicate visits is Binomial(matters, p), and each costs
exactly its stated on-scene time, so the wasted unit-minutes are the count times that time (mean p
times it per matter). With a gap probability g, the share of matters left by all is Binomial(matters, g)
and each of them is taken up exactly the gap time later. A shared channel ends both.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

import sim
from sim.engine.trace import Stage
from sim.errors import ScenarioError
from sim.stats.metrics import summarise

SERVICE_MIN = 12.0
DUPLICATE_MIN = 7.0
HANDOVER_MIN = 5.0


def _pair_town(duplication: dict, days: float = 10.0, modes: dict | None = None) -> sim.Scenario:
    always = {"days": "daily", "times": ["00:00-24:00"]}
    return sim.scenario_from_dict(
        {
            "name": "pair",
            "seed": 5,
            "days": days,
            "warmup_days": 0,
            "drain_days": 2,
            "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
            "departments": [
                {"name": "a", "units": 40, "setoff_min": 0, "powers": ["matter"]},
                {"name": "b", "units": 40, "setoff_min": 0, "powers": ["matter"]},
            ],
            "incident_types": [
                {
                    "name": "matter",
                    "rate_per_day": 60,
                    "service_min": SERVICE_MIN,
                    "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
                    "duplication": duplication,
                }
            ],
            "governance": {
                "referral": {
                    "desk_hours": always,
                    "handover_min": HANDOVER_MIN,
                    "steps": {"hotline": 1},
                    "misroute_probability": 0,
                },
                "instant": {"report_min": 0, "centre_min": 0},
                "modes": modes or {"fragmented": {}, "joint": {}},
            },
        }
    )


def _binomial_interval(n: int, p: float, confidence: float = 0.999) -> tuple[float, float]:
    return stats.binom.interval(confidence, n, p)


@pytest.mark.parametrize("p", [0.1, 0.35])
def test_duplicate_visits_are_binomial_and_each_costs_its_on_scene_time(p):
    scenario = _pair_town({"probability": p, "on_scene_min": DUPLICATE_MIN})
    out = sim.run(scenario, "fragmented")
    matters = [r for r in out.records if not math.isnan(r.on_scene_min)]
    assert len(matters) == len(out.records) > 400  # every matter was reached
    visits = sum(r.duplicate_visits for r in out.records)
    low, high = _binomial_interval(len(matters), p)
    assert low <= visits <= high
    duplicates = [j for j in out.jobs if j.duplicate]
    assert len(duplicates) == visits
    assert {j.department for j in duplicates} == {"a", "b"}
    for job in duplicates:  # no queue, no travel: the stated on-scene time exactly
        assert job.busy_min == pytest.approx(DUPLICATE_MIN)
    summary = summarise([out], 0.0, 30.0, ["matter"])
    assert summary["duplicate_visits"] == visits
    assert summary["handled_more_than_once"] == visits  # one other department: at most one duplicate each
    assert summary["duplicate_unit_min"] == pytest.approx(visits * DUPLICATE_MIN)
    # wasted time per matter: p x on-scene time, within the binomial interval scaled by that time
    per_matter = summary["duplicate_unit_min"] / len(matters)
    assert low * DUPLICATE_MIN / len(matters) <= per_matter <= high * DUPLICATE_MIN / len(matters)
    assert summary["by_type"]["matter"]["duplicate_visits"] == visits


def test_a_duplicate_visit_never_counts_as_the_response_nor_holds_up_the_resolution():
    scenario = _pair_town({"probability": 1.0, "on_scene_min": 500})
    out = sim.run(scenario, "fragmented")
    for record in out.records:
        assert record.response_min == pytest.approx(HANDOVER_MIN)
        assert record.resolution_min == pytest.approx(HANDOVER_MIN + SERVICE_MIN)
        assert "+" not in record.departments  # the duplicate department is not among those that acted


def test_the_duplicate_on_scene_time_defaults_to_the_types_service_time():
    out = sim.run(_pair_town({"probability": 1.0}), "fragmented")
    assert {round(j.busy_min, 9) for j in out.jobs if j.duplicate} == {SERVICE_MIN}


def test_a_shared_channel_ends_duplicate_visits_and_gaps():
    out = sim.run(_pair_town({"probability": 1.0, "gap_probability": 1.0}), "joint")
    assert not any(j.duplicate for j in out.jobs)
    assert not any(r.duplicate_visits or r.left_by_all for r in out.records)


def test_departments_pooled_into_one_team_do_not_duplicate_each_other():
    modes = {"pooled_referral": {"based_on": "fragmented", "authority": {"pooled": ["a", "b"]}}}
    out = sim.run(_pair_town({"probability": 1.0}, modes=modes), "pooled_referral")
    assert not any(j.duplicate for j in out.jobs)


def test_overlapping_mandates_name_the_departments_that_also_visit():
    """A department without the power may still claim the matter: it visits, but never resolves it."""
    data = _pair_town({}).model_dump(mode="json")
    data["departments"][1]["powers"] = []
    data["incident_types"][0]["duplication"] = {"probability": 1.0, "departments": ["b"], "on_scene_min": DUPLICATE_MIN}
    out = sim.run(sim.scenario_from_dict(data), "fragmented")
    assert all(r.departments == "a" for r in out.records)
    assert {j.department for j in out.jobs if j.duplicate} == {"b"}
    assert sum(j.duplicate for j in out.jobs) == len(out.records)


@pytest.mark.parametrize("g", [0.2, 0.5])
def test_a_gap_leaves_a_binomial_share_of_matters_until_the_gap_time_later(g):
    gap_min = 240.0
    out = sim.run(_pair_town({"gap_probability": g, "gap_min": gap_min}), "fragmented")
    left = [r for r in out.records if r.left_by_all]
    low, high = _binomial_interval(len(out.records), g)
    assert low <= len(left) <= high
    for record in out.records:
        expected = HANDOVER_MIN + (gap_min if record.left_by_all else 0.0)
        assert record.response_min == pytest.approx(expected)
    assert summarise([out], 0.0, 30.0, ["matter"])["left_by_all"] == len(left)


def test_a_gap_delays_the_dispatch_after_centres_decide_too():
    """Through centres (Jinjiang's levels, whose last centre runs the closed loop's steps) a unit may be sent only
    once the centres have decided: the gap runs from then. It was once added to a minute nobody read, and a matter
    left by every department was dispatched as soon as the centres decided (a median of 182 min, not 5,000)."""
    from pathlib import Path

    gap_min = 5_000.0
    overrides = [
        "days=2",
        "governance.modes.fragmented.closed_loop=true",
        "incident_types.street_vending.duplication.departments=[police]",
        "incident_types.street_vending.duplication.gap_probability=1",
        f"incident_types.street_vending.duplication.gap_min={gap_min}",
    ]
    scenario = sim.load_scenario(Path(__file__).parents[2] / "scenarios" / "jinjiang.yaml", overrides)
    out = sim.run(scenario, "fragmented", seed=1, trace=True)
    left = [r for r in out.records if r.left_by_all]
    assert len(left) > 100
    sent = [r for r in left if not math.isnan(r.dispatched_min)]
    assert sent and all(r.dispatched_min - r.reached_min >= gap_min for r in sent)
    for r in sent:  # the trace says when every department left it: after the centres, gap_min before the dispatch
        story = out.trace[r.incident]
        at = next(e.at_min for e in story if e.stage == Stage.LEFT_BY_ALL)
        decided = max(e.at_min for e in story if e.stage in (Stage.CENTRE_DECIDES, Stage.CASE_ASSIGNED))
        assert at >= decided - 1e-9 and r.dispatched_min >= at + gap_min - 1e-9  # (the trace adds up the steps)


def test_a_gap_needs_two_departments_claiming_the_matter():
    data = _pair_town({"gap_probability": 1.0}).model_dump(mode="json")
    data["departments"][1]["powers"] = []
    out = sim.run(sim.scenario_from_dict(data), "fragmented")
    assert not any(r.left_by_all for r in out.records)


def test_an_unknown_claiming_department_is_an_error_with_a_suggestion():
    data = _pair_town({}).model_dump(mode="json")
    data["incident_types"][0]["duplication"] = {"probability": 0.5, "departments": ["bb"]}
    with pytest.raises(ScenarioError) as err:
        sim.scenario_from_dict(data)
    assert "incident_types.matter.duplication.departments" in str(err.value) or "duplication" in str(err.value)
    assert "did you mean 'b'" in str(err.value)


@pytest.mark.parametrize("field,value", [("probability", 1.5), ("gap_probability", -0.1)])
def test_a_probability_out_of_range_is_an_error(field, value):
    data = _pair_town({}).model_dump(mode="json")
    data["incident_types"][0]["duplication"] = {field: value}
    with pytest.raises(ScenarioError, match=field):
        sim.scenario_from_dict(data)


@pytest.mark.parametrize("mode", ["fragmented", "joint"])
@pytest.mark.parametrize("spec", [{}, {"probability": 0.3}, {"gap_probability": 0.4, "gap_min": 30}])
def test_the_per_type_flags_say_exactly_when_visits_and_gaps_draw(mode, spec):
    """``duplicating`` and ``gapping`` (worked out once per type) are false exactly when visits() and gap_min()
    return nothing without drawing, so the model may skip the calls and keep every stream where it was."""
    import numpy as np

    from sim.engine.duplicates import Duplication
    from sim.scenario.governance import modes_of

    scenario = _pair_town(spec)
    duplication = Duplication(scenario, modes_of(scenario)[mode])
    for flag, draw in ((duplication.duplicating, lambda rng: duplication.visits(0, frozenset({"a"}), rng)),
                       (duplication.gapping, lambda rng: duplication.gap_min(0, rng))):  # fmt: skip
        rng = np.random.default_rng(1)
        draw(rng)
        drew = rng.random() != np.random.default_rng(1).random()
        assert drew is flag[0]
    assert duplication.duplicating[0] is (mode == "fragmented" and spec.get("probability", 0) > 0)
    assert duplication.gapping[0] is (mode == "fragmented" and spec.get("gap_probability", 0) > 0)
