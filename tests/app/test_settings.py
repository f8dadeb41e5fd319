"""The app's controls are a scenario plus overrides: the YAML they make validates and reproduces compare."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.app.settings import (
    Settings,
    controls_of,
    load_settings,
    open_source,
    overrides_of,
    preset_levers,
    scaled_operators,
    scenario_yaml,
)
from sim.app.worker import run_comparison
from sim.cli import main
from sim.errors import ScenarioError
from tests.conftest import SCENARIOS


def _settings(**extra) -> Settings:
    raw = {
        "levers": preset_levers("joint") | {"pooled": "all"},
        "units": {"sanitation": 6},
        "handover_min": 45,
        "misroute_probability": 0.2,
        "days": 3,
        "seed": 11,
        "replications": 2,
    }
    return Settings.from_json(raw | extra)


def test_the_custom_mode_and_every_changed_number_are_overrides():
    source = open_source("anhai_garbage.yaml")
    overrides = overrides_of(_settings(), source.data)
    assert "governance.modes.custom.information=instant" in overrides
    # pooling pools the scenario's own unified team (pooling names its departments)
    assert 'governance.modes.custom.authority={"pooled": ["enforcement", "traffic"]}' in overrides
    assert "departments.sanitation.units=6" in overrides
    assert not any(o.startswith("departments.sanitation.shift=") for o in overrides)  # the team size scales the rota
    assert {
        "governance.referral.handover_min.mean=45",
        "governance.referral.misroute_probability=0.2",
        "days=3",
        "seed=11",
    } <= set(overrides)
    assert not any(o.startswith("departments.police") for o in overrides)  # unchanged: not overridden


def test_downloaded_yaml_validates_and_compare_reproduces_the_app_exactly(tmp_path, capsys):
    source = open_source("anhai_garbage.yaml")
    settings = _settings()
    path = tmp_path / "mine.yaml"
    path.write_text(scenario_yaml(source, settings), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "modes fragmented, joint, unified, custom" in capsys.readouterr().out
    app = run_comparison(source, settings)
    cli = sim.compare(sim.load_scenario(path), replications=settings.replications)
    assert app.summary == cli.summary  # same seed, same numbers, every statistic
    garbage = app.summary["modes"]["custom"]["by_type"]["garbage_overflow"]["response_min"]["median"]
    assert garbage == cli.summary["modes"]["custom"]["by_type"]["garbage_overflow"]["response_min"]["median"]


def test_the_app_reports_progress_within_each_run_and_the_numbers_do_not_change():
    """The bar moves a simulated day at a time, not only as each run ends, and reaches the total at the end."""
    source = open_source("classroom.yaml")
    settings = Settings.from_json({"days": 3, "replications": 2})
    told: list = []
    watched = run_comparison(source, settings, lambda done, total, mode: told.append((done, total, mode)))
    total = told[0][1]
    assert total == 2 * len(watched.outputs) and {t for _, t, _ in told} == {total}
    done = [d for d, _, _ in told]
    assert done == sorted(done) and done[-1] == total
    assert any(d != int(d) for d in done), "a share of the running run, not only whole runs"
    modes = [m for _, _, m in told]
    assert modes == sorted(modes, key=list(watched.outputs).index)  # each mode's runs in turn, in the page's order
    assert watched.summary == run_comparison(source, settings).summary


def test_the_app_run_is_the_compare_run_of_scenario_plus_overrides():
    source = open_source("classroom.yaml")
    settings = Settings.from_json({"levers": preset_levers("fragmented"), "days": 2})
    _scenario, overrides = load_settings(source, settings)
    from sim.app.settings import with_custom_mode
    from sim.io.loader import scenario_from_dict

    direct = scenario_from_dict(with_custom_mode(source.data), overrides=overrides)
    assert run_comparison(source, settings).summary == sim.compare(direct).summary
    # the custom mode built from the fragmented preset's levers behaves as fragmented on the same incidents
    summary = run_comparison(source, settings).summary["modes"]
    assert summary["custom"]["response_min"] == summary["fragmented"]["response_min"]


@pytest.mark.parametrize(
    "raw, where",
    [
        ({"levers": {"information": "telepathy"}}, "levers.information"),
        ({"levers": {"leave_probability": 2}}, "levers.leave_probability"),
        ({"units": {"sanitation": -1}}, "units.sanitation"),
        ({"days": "many"}, "days"),
        ({"replications": 0}, "replications"),
    ],
)
def test_bad_controls_are_problems_with_their_key(raw, where):
    with pytest.raises(ScenarioError) as err:
        Settings.from_json(raw)
    assert [p.path for p in err.value.problems] == [where]


def test_a_setting_the_scenario_refuses_names_its_key_path():
    source = open_source("anhai_garbage.yaml")
    with pytest.raises(ScenarioError) as err:
        load_settings(source, Settings.from_json({"days": 0.5}))  # shorter than the warm-up
    assert any("days" in str(p) or "warmup" in str(p) for p in err.value.problems)


def test_an_uploaded_file_with_a_mistake_is_refused_with_its_line_and_key_path():
    text = (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8")
    broken = text.replace("units: 2", "units: -2", 1)
    assert broken != text
    with pytest.raises(ScenarioError) as err:
        controls_of(open_source(name="mine.yaml", text=broken))
    problem = err.value.problems[0]
    assert problem.source == "mine.yaml" and problem.line is not None and problem.path.endswith(".units")


# --------------------------------------------------------------------------- centres, town borders, campaigns


def _flat(value, path=()) -> dict:
    """A scenario's data as {key path: value}, lists by index."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, (*path, key)).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, (*path, i)).items()}
    return {path: value}


def _changed(source_name: str, raw: dict) -> dict:
    """The key paths (and new values) in which the settings *raw* change the scenario from the same settings without them."""
    source = open_source(source_name)
    base = {"levers": preset_levers("unified"), "days": 2}
    before, _ = load_settings(source, Settings.from_json(base))
    after, _ = load_settings(source, Settings.from_json(base | raw))
    old, new = _flat(before.model_dump(mode="json")), _flat(after.model_dump(mode="json"))
    assert old.keys() == new.keys()  # a control changes values, never which fields there are
    return {k: new.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def test_operators_per_town_centre_scale_every_town_centre_and_nothing_else():
    scenario, _ = load_settings(open_source("jinjiang.yaml"), Settings.from_json({"days": 2}))
    town = {k: c for k, c in enumerate(scenario.governance.centres) if c.level == "town"}
    smallest = min(c.operators for c in town.values())
    assert len(town) > 1 and smallest < max(c.operators for c in town.values())  # some town centres have more seats
    changed = _changed("jinjiang.yaml", {"centre_operators": {"town": 3 * smallest}})
    expected = {("governance", "centres", k, "operators"): 3 * c.operators for k, c in town.items()}
    assert changed == expected  # every town centre three times its seats; the city centre and the rest as they were
    own = {c.level: c.operators for c in reversed(scenario.governance.centres)}  # each level's first centre
    assert (
        own["city"] and _changed("jinjiang.yaml", {"centre_operators": {"town": smallest, "city": own["city"]}}) == {}
    )
    assert [scaled_operators(n, 2, 3) for n in (2, 3, 4)] == [3, 5, 6]  # in proportion, rounded half up


def test_the_border_lever_is_the_custom_modes_alone():
    for across in (True, False):
        changed = _changed("jinjiang.yaml", {"levers": preset_levers("unified") | {"dispatch_across_borders": across}})
        path = ("governance", "modes", "custom", "dispatch_across_borders")
        assert changed == ({} if across else {path: False})  # from the unified preset's open borders
        scenario, _ = load_settings(
            open_source("jinjiang.yaml"),
            Settings.from_json({"levers": preset_levers("unified") | {"dispatch_across_borders": across}}),
        )
        modes = sim.scenario.governance.modes_of(scenario)
        assert modes["custom"].across_borders is across and modes["unified_open"].across_borders is True
        assert not modes["unified"].across_borders
    # a scenario whose modes never mention borders gets no new override from the default
    assert not any("borders" in o for o in overrides_of(_settings(), open_source("anhai_garbage.yaml").data))


def test_a_campaign_switched_off_is_gone_and_its_units_change_only_it():
    changed = _changed("anhai.yaml", {"campaigns": {"joint_operation": {"units": {"police": 2}}}})
    assert changed == {("campaigns", 0, "departments", "police"): 2}
    source = open_source("anhai.yaml")
    off, _ = load_settings(source, Settings.from_json({"campaigns": {"joint_operation": {"on": False}}}))
    on, _ = load_settings(source, Settings.from_json({}))
    assert off.campaigns == [] and len(on.campaigns) == 1
    assert off.model_dump(exclude={"campaigns"}) == on.model_dump(exclude={"campaigns"})


def test_the_yaml_of_new_controls_is_the_scenario_the_app_runs(tmp_path):
    cases = [
        ("jinjiang.yaml", {"centre_operators": {"town": 2}, "levers": preset_levers("joint")}),
        ("anhai.yaml", {"campaigns": {"joint_operation": {"on": False}}}),
        ("anhai.yaml", {"campaigns": {"joint_operation": {"units": {"enforcement": 4}}}}),
    ]
    for k, (name, raw) in enumerate(cases):
        source, settings = open_source(name), Settings.from_json(raw | {"days": 2})
        path = tmp_path / f"mine{k}.yaml"
        path.write_text(scenario_yaml(source, settings), encoding="utf-8")
        assert main(["validate", str(path)]) == 0
        assert sim.load_scenario(path) == load_settings(source, settings)[0]


@pytest.mark.parametrize(
    "raw, where",
    [
        ({"centre_operators": {"town": "many"}}, "centre_operators.town"),
        ({"centre_operators": {"town": 2.5}}, "centre_operators.town"),
        ({"centre_operators": 3}, "centre_operators"),
        ({"campaigns": {"joint_operation": {"on": "yes"}}}, "campaigns.joint_operation.on"),
        ({"campaigns": {"joint_operation": {"units": {"police": -1}}}}, "campaigns.joint_operation.units.police"),
        ({"campaigns": {"joint_operation": {"team": 3}}}, "campaigns.joint_operation.team"),
        ({"levers": {"dispatch_across_borders": "no"}}, "levers.dispatch_across_borders"),
    ],
)
def test_bad_new_controls_are_problems_with_their_key(raw, where):
    with pytest.raises(ScenarioError) as err:
        Settings.from_json(raw)
    assert [p.path for p in err.value.problems] == [where]


@pytest.mark.parametrize(
    "name, raw, where, words",
    [
        ("jinjiang.yaml", {"centre_operators": {"town": 0}}, ".operators", "greater than 0"),
        ("jinjiang.yaml", {"centre_operators": {"twon": 2}}, "centre_operators.twon", "did you mean 'town'"),
        ("anhai_garbage.yaml", {"centre_operators": {"town": 2}}, "centre_operators.town", "no staffed centres"),
        (
            "jinjiang.yaml",
            {"campaigns": {"joint_operation": {"on": False}}},
            "campaigns.joint_operation",
            "no campaigns",
        ),
        (
            "anhai.yaml",
            {"campaigns": {"joint_operation": {"units": {"police": 0}}}},
            "departments.police",
            "greater than 0",
        ),
        (
            "anhai.yaml",
            {"campaigns": {"joint_operation": {"units": {"police": 99}}}},
            "departments.police",
            "which has 5",
        ),
        ("anhai.yaml", {"campaigns": {"joint_operation": {"units": {"fire": 1}}}}, "departments.fire", "unknown"),
    ],
)
def test_values_the_scenario_refuses_are_problems_naming_their_key_path(name, raw, where, words):
    """The controls' values go through the scenario's own checks (as a YAML file's would): a message, not a traceback."""
    with pytest.raises(ScenarioError) as err:
        load_settings(open_source(name), Settings.from_json(raw))
    assert any(p.path.endswith(where) and words in p.message for p in err.value.problems), err.value.problems


def test_controls_offer_centres_borders_and_campaigns_only_where_the_scenario_has_them():
    plain = controls_of(open_source("anhai_garbage.yaml"))
    assert (plain["borders"], plain["centres"], plain["campaigns"]) == (False, [], [])
    city = controls_of(open_source("jinjiang.yaml"))
    assert city["borders"] and city["campaigns"] == []
    scenario, _ = load_settings(open_source("jinjiang.yaml"), Settings.from_json({}))
    for level in ("city", "town"):
        staffed = [c.operators for c in scenario.governance.centres if c.level == level and c.operators]
        offered = next(c for c in city["centres"] if c["level"] == level)
        assert (offered["centres"], offered["operators"]) == (len(staffed), min(staffed))
    assert city["presets"]["unified"]["dispatch_across_borders"] is False  # the scenario's unified keeps to its town
    anhai = controls_of(open_source("anhai.yaml"))
    assert not anhai["borders"] and anhai["centres"] == []
    team = {d["name"]: d["units"] for d in anhai["campaigns"][0]["departments"]}
    assert team == {"enforcement": 2, "police": 1, "traffic": 1, "market": 1, "environment": 1}


def test_the_results_give_centre_busy_shares_and_campaign_hours_from_the_summary():
    from sim.app.views import campaigns_view, centres_view, comparison_view, dispatch_wait
    from sim.presentation.figures import Results

    app = run_comparison(open_source("jinjiang.yaml"), Settings.from_json({"days": 1.5}))
    results = Results.from_comparison(app)
    view = centres_view(results)
    busy = app.summary["modes"]["joint"]["utilisation"]
    town = [v for k, v in busy.items() if k.startswith("centre:town")]
    levels = {v["level"]: v for v in view["levels"]}
    assert levels["town"]["centres"] == sum(1 for c in app.scenario.governance.centres if c.level == "town")
    offered = {c["level"]: c["centres"] for c in controls_of(open_source("jinjiang.yaml"))["centres"]}
    assert offered == {level: v["centres"] for level, v in levels.items()}  # `each: grid` counted as loaded (440)
    assert any(r.layer == "grid" for r in app.outputs["unified"][0].records)  # some left out of the wait below
    assert levels["town"]["utilisation"]["joint"] == {"low": min(town), "high": max(town)}
    assert levels["town"]["utilisation"]["fragmented"] is None  # referral desks: no centre in that mode
    assert not any(d.startswith("centre:") for d in comparison_view(results)["utilisation"])
    # found to a unit sent: the matters that needed sending someone, record by record
    warmup = app.scenario.warmup_days * 24 * 60
    sent = sorted(
        r.dispatched_min - r.detected_min
        for r in app.outputs["unified"][0].records
        if r.occurred_min >= warmup
        and r.channel != "campaign"
        and r.detected_min == r.detected_min
        and not r.on_the_spot
        and r.dispatched_min == r.dispatched_min
        and r.layer != "grid"  # settled by grid workers: not through a centre
    )
    times = dispatch_wait(results, "unified")
    assert np.sort(times.minutes[times.observed]).tolist() == pytest.approx(sent)
    if times.censored == 0:
        assert view["dispatch_wait"]["unified"]["median"] == pytest.approx(
            np.quantile(sent, 0.5, method="inverted_cdf")
        )

    def hours(police: int) -> dict:
        raw = {"days": 3, "campaigns": {"joint_operation": {"units": {"police": police}}}}
        return campaigns_view(
            Results.from_comparison(run_comparison(open_source("anhai.yaml"), Settings.from_json(raw)))
        )

    one, two = hours(1), hours(2)
    # one Wednesday session of 150 min in the measured window: 6 units, then 7: k·h unit-hours exactly
    assert one["custom"]["unit_hours"] == pytest.approx(6 * 2.5) and two["custom"]["unit_hours"] == pytest.approx(
        7 * 2.5
    )
    assert one["custom"]["sessions"] == two["custom"]["sessions"] == 1
    no_campaigns = run_comparison(
        open_source("anhai.yaml"), Settings.from_json({"days": 3, "campaigns": {"joint_operation": {"on": False}}})
    )
    assert campaigns_view(Results.from_comparison(no_campaigns)) is None
