"""``staff`` sizes the command centre's operators: an M/M/c centre whose answer Erlang C gives."""

from __future__ import annotations

import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.planning.staffing import CENTRE_OPERATORS, MET, NOT_MET, Rule, centre_operators, staff, staffed_scenario
from tests.engine.test_centre import centre_scenario
from tests.engine.test_levels import two_levels
from tests.system.test_theory import erlang_c_wait


def test_centre_staffing_matches_erlang_c():
    """Plentiful units, no travel: the mean response is the centre's wait plus its handling time."""
    arrivals, handling, wait_target = 0.5, 10.0, 2.0
    exact = min(c for c in range(6, 20) if erlang_c_wait(c, arrivals, handling) <= wait_target)
    assert erlang_c_wait(exact - 1, arrivals, handling) > 1.5 * wait_target, "choose a target the noise can decide"
    scenario = centre_scenario(9, arrivals, handling, days=5)
    result = staff(
        scenario,
        f"mean response <= {handling + wait_target}",
        mode="pooled",
        centre=True,
        rule=Rule(min_replications=4, max_replications=12, batch=4),
    )
    assert result.departments == (CENTRE_OPERATORS,)
    assert result.answer == exact
    assert result.at_answer.verdict == MET and result.one_fewer.verdict == NOT_MET
    assert result.at_answer.allocation == {CENTRE_OPERATORS: exact}


def test_staffed_scenario_sets_the_operators_only():
    data = centre_scenario(3, 0.1, 5.0).model_dump(mode="json")
    out = staffed_scenario(data, {CENTRE_OPERATORS: 7})
    assert out["governance"]["instant"]["operators"] == 7
    assert out["governance"]["instant"]["centre_min"] == data["governance"]["instant"]["centre_min"]
    assert out["departments"] == data["departments"] and data["governance"]["instant"]["operators"] == 3


def test_an_unstaffed_centre_or_a_mode_without_it_cannot_be_sized(classroom):
    with pytest.raises(ScenarioError, match="unstaffed"):
        staff(classroom, "p90 response <= 30", mode="joint", centre=True)
    with pytest.raises(ScenarioError, match="does not go through the centre"):
        staff(classroom, "p90 response <= 30", mode="fragmented", centre=True)


def test_staff_command_sizes_the_centre(tmp_path, capsys):
    scenario = tmp_path / "centre.yaml"
    scenario.write_text(yaml.safe_dump(centre_scenario(4, 0.3, 10.0, days=3).model_dump(mode="json")))
    code = main(
        [
            "staff",
            str(scenario),
            "--centre",
            "--mode",
            "pooled",
            "--target",
            "mean response <= 14",
            "--backend",
            "serial",
            "--min-replications",
            "3",
            "--max-replications",
            "6",
            "--max-units",
            "10",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Staffing centre.operators" in out and "pooled:" in out


def test_centres_at_several_levels_are_not_sized_as_the_one_centre():
    with pytest.raises(ScenarioError, match=r"--set governance.centres.city.operators=3"):
        centre_operators(two_levels(0.1, (1, 1.0), (1, 1.0), days=3), "pooled")
