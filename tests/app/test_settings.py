"""The app's controls are a scenario plus overrides: the YAML they make validates and reproduces compare."""

from __future__ import annotations

import pytest

import sim
from sim.app.settings import (
    Settings,
    controls_of,
    load_settings,
    open_source,
    overrides_of,
    preset_levers,
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
