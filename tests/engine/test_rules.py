"""Dispatch rules by name: the contract, the built-in reference rules against the fast paths, least_loaded."""

from __future__ import annotations

import pytest

import sim
from sim.cli import main
from sim.engine import rules
from sim.engine.model import Simulation
from sim.engine.rng import replication_seed
from sim.errors import ScenarioError
from sim.io.loader import load_scenario
from sim.scenario.governance import modes_of
from tests.conftest import DATA, SCENARIOS

PLUGINS = "tests.experiments.plugins_example:"
SHORT = ["warmup_days=0.25", "drain_days=0.5"]


def _unit(uid: str, dept: str = "police", travel: float = 10.0, worked: float = 0.0, order: int = 0) -> rules.FreeUnit:
    return rules.FreeUnit(
        uid, dept, 0, 0.0, 0.0, travel, idle_since_min=float(order), worked_min=worked, free_order=order
    )


def _request(*units: rules.FreeUnit) -> rules.DispatchRequest:
    return rules.DispatchRequest("dispute", 3, 1.0, 2.0, 1, ("police",), 100.0, tuple(units))


def _output(name: str, days: float, rule: str):
    path = DATA / f"{name}.yaml" if name.endswith("_golden") else SCENARIOS / f"{name}.yaml"
    scenario = load_scenario(path, [f"days={days}", *SHORT, f"governance.modes.unified.dispatch={rule}"])
    return sim.run(scenario, "unified", seed=7, replication=0)


@pytest.mark.parametrize(
    "name, days", [("jinjiang", 0.5), ("anhai", 3)]
)  # jinjiang: 187 enforcement units, searched through the map index
@pytest.mark.parametrize("builtin", ["nearest", "own_queue"])
def test_reference_rules_through_the_plugin_path_give_the_fast_paths_results(name, days, builtin):
    """The functions in sim.engine.rules define the built-in rules; the dispatcher's fast paths give exactly their results."""
    fast = _output(name, days, builtin)
    plugged = _output(name, days, f"{PLUGINS}{builtin}_again")
    assert len(fast.records) > 100
    assert plugged.records == fast.records and plugged.jobs == fast.jobs


def test_rules_differ_where_they_should():
    """A plugged rule is really used: straight-line and least-loaded choices change who goes on a big town.

    Jinjiang with units at 16 bases shared by the city (the dispatch golden's configuration): in the
    shipped scenario each town's units share one base, where straight-line and road distances rank alike.
    Even here they rank two units differently only now and then (about once in a thousand jobs, where
    two bases are at nearly the same distance), so the run is three days long.
    """
    nearest = _output("jinjiang_dispatch_golden", 3, "nearest")
    for rule in ("least_loaded", f"{PLUGINS}straight_line"):
        other = _output("jinjiang_dispatch_golden", 3, rule)
        assert [j.unit for j in other.jobs] != [j.unit for j in nearest.jobs]
        assert [r.occurred_min for r in other.records] == [r.occurred_min for r in nearest.records]  # same incidents


def test_least_loaded_takes_the_least_worked_then_the_nearest():
    a = _unit("a", travel=5.0, worked=30.0, order=0)
    b = _unit("b", travel=20.0, worked=10.0, order=1)
    c = _unit("c", travel=12.0, worked=10.0, order=2)
    assert rules.least_loaded(_request(a, b, c)) is c
    assert rules.least_loaded(_request(a)) is a
    assert rules.least_loaded(_request()) is None
    tie = _unit("d", travel=12.0, worked=10.0, order=3)
    assert rules.least_loaded(_request(a, c, tie)) is c  # a full tie: the unit listed first (free longest)


def test_reference_rules_break_ties_as_documented():
    early, late = _unit("early", travel=10.0, order=0), _unit("late", travel=10.0, order=1)
    assert rules.nearest(_request(early, late)) is early
    assert rules.own_queue(_request(late, _unit("x", order=5))) is late


def test_worked_minutes_add_up_to_the_jobs():
    """What least_loaded sees: a unit's worked minutes are the sum of its finished jobs, dispatch to done."""
    scenario = load_scenario(SCENARIOS / "anhai.yaml", ["days=2", *SHORT])
    simulation = Simulation(scenario, modes_of(scenario)["unified"], replication_seed(3, 0))
    output = simulation.run()
    units = {u.uid: u for roster in simulation.rosters.values() for u in roster.units}
    worked = dict.fromkeys(units, 0.0)
    for job in output.jobs:
        if job.unit in units:  # not the grid workers, who are no dispatcher's units
            worked[job.unit] += job.done_min - job.dispatched_min
    assert sum(worked.values()) > 0 and all(
        units[uid].worked_min == pytest.approx(minutes, abs=1e-6) for uid, minutes in worked.items()
    )


def test_a_rule_that_returns_a_unit_it_was_not_given_fails_clearly():
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="not one of the free units it was given"):
        _output("anhai", 1, f"{PLUGINS}wrong_unit")


def test_a_rule_that_cannot_take_a_request_is_refused_before_the_run(capsys):
    """A user's mistake (a function of no arguments named as the rule) exits 2 with a message, no traceback."""
    from sim.cli import main

    argv = ["compare", str(SCENARIOS / "classroom.yaml"), "--days", "2", "--modes", "joint"]
    assert main([*argv, "--set", "governance.modes.joint.dispatch=os:getcwd"]) == 2
    err = capsys.readouterr().err
    assert "dispatch rule 'os:getcwd': must take one argument" in err and "Traceback" not in err
    assert main([*argv, "--set", f"governance.modes.joint.dispatch={PLUGINS}wrong_unit"]) == 2
    assert "not one of the free units it was given" in capsys.readouterr().err


@pytest.mark.parametrize(
    "rule, words",
    [
        ("nearst", "unknown dispatch rule 'nearst'; did you mean 'nearest'?"),
        ("least_load", "did you mean 'least_loaded'?"),
        ("no_such_pkg.rules:x", "cannot import module 'no_such_pkg.rules'"),
        (f"{PLUGINS}nowhere", "has no attribute 'nowhere'"),
    ],
)
def test_an_unknown_rule_is_a_user_error_with_its_key_path(rule, words, capsys):
    path = "governance.modes.unified.dispatch"
    with pytest.raises(ScenarioError, match=words.replace("?", r"\?").replace("(", r"\(")):
        load_scenario(SCENARIOS / "classroom.yaml", [f"{path}={rule}"])
    assert main(["run", str(SCENARIOS / "classroom.yaml"), "--set", f"{path}={rule}"]) == 2
    err = capsys.readouterr().err
    assert path in err and words in err and "Traceback" not in err


def test_a_rule_named_in_a_scenario_file_is_reported_at_its_line(tmp_path, capsys):
    text = (SCENARIOS / "classroom.yaml").read_text().rstrip("\n") + "\n"
    block = "governance:\n  modes:\n    balanced:\n      based_on: unified\n      dispatch: leest_loaded\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + block)
    line = text.count("\n") + 5
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{line}: governance.modes.balanced.dispatch: unknown dispatch rule 'leest_loaded'" in err
    assert "did you mean 'least_loaded'?" in err
