"""Ways of working are values of four levers; presets and capability."""

from __future__ import annotations

import pytest

import sim
from sim.scenario.governance import PRESETS, Part, capable_departments, jobs_of, modes_of, resolve_mode
from sim.scenario.schema import ModeSpec


def test_presets_differ_only_in_levers():
    frag, joint, unified = PRESETS["fragmented"], PRESETS["joint"], PRESETS["unified"]
    assert (frag.information, frag.dispatch, frag.coordination) == ("referral", "own_queue", "sequential")
    assert (joint.information, joint.dispatch, joint.coordination) == ("instant", "nearest", "concurrent")
    assert not joint.pooled and unified.pooled
    assert (unified.information, unified.dispatch, unified.coordination) == (
        joint.information,
        joint.dispatch,
        joint.coordination,
    )


def test_unified_pools_poolable_departments(anhai):
    modes = modes_of(anhai)
    assert modes["unified"].pooled == {"enforcement", "traffic"}
    assert modes["joint"].pooled == frozenset()


def test_pooled_authority_extends_who_may_act(anhai):
    modes = modes_of(anhai)
    parking = Part("illegal_parking", None)
    assert capable_departments(anhai, modes["fragmented"], parking) == {"traffic"}
    assert capable_departments(anhai, modes["unified"], parking) == {"traffic", "enforcement"}
    garbage = Part("garbage_overflow", None)
    assert capable_departments(anhai, modes["unified"], garbage) == {"sanitation"}


def test_one_team_one_visit(anhai):
    """Under pooling, the team's parts of a multi-department matter become one job."""
    modes = modes_of(anhai)
    locked = next(t for t in anhai.incident_types if t.name == "locked_parking_space")
    assert len(jobs_of(anhai, modes["joint"], locked)) == 3
    jobs = jobs_of(anhai, modes["unified"], locked)
    assert len(jobs) == 2
    assert sorted(len(parts) for _, parts in jobs) == [1, 2]


def test_custom_mode_switches_one_lever(anhai):
    mode = resolve_mode("instant_only", ModeSpec(based_on="fragmented", information="instant"), anhai)
    assert mode.information == "instant"
    assert (mode.dispatch, mode.coordination) == ("own_queue", "sequential")
    assert mode.leave_probability == PRESETS["fragmented"].leave_probability


def test_custom_mode_runs(classroom_data):
    classroom_data["governance"] = {
        "modes": {"fragmented": {}, "desk_24h": {"based_on": "fragmented", "information": "instant"}}
    }
    scenario = sim.scenario_from_dict(classroom_data)
    summary = sim.compare(scenario).summary["modes"]
    assert summary["desk_24h"]["referrals"] == 0
    assert summary["desk_24h"]["response_min"]["median"] < summary["fragmented"]["response_min"]["median"]


def test_mode_without_any_able_unit_is_rejected(classroom_data):
    """A required department with no units leaves a matter no one may act on in non-pooled modes."""
    for d in classroom_data["departments"]:
        if d["name"] == "sanitation":
            d["units"] = 0
    with pytest.raises(sim.ScenarioError) as err:
        sim.scenario_from_dict(classroom_data)
    text = str(err.value)
    assert "garbage_overflow" in text and "fragmented" in text
