"""Detection channels by name: a plugged draw changes its own reports and nothing else, on common random numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.cli import main
from sim.engine.model import Simulation
from sim.engine.rng import replication_seed
from sim.errors import ScenarioError
from sim.io.loader import load_scenario
from sim.scenario.governance import modes_of
from sim.scenario.schema import CHANNELS
from tests.conftest import SCENARIOS

PLUGINS = "tests.experiments.plugins_example:"
HOTLINE, CAMERA = CHANNELS.index("hotline"), CHANNELS.index("camera")
BASE = ["days=4", "warmup_days=0.5", "drain_days=0.5"]


def _incidents(*overrides: str, mode: str = "unified"):
    scenario = load_scenario(SCENARIOS / "anhai.yaml", [*BASE, *overrides])
    simulation = Simulation(scenario, modes_of(scenario)[mode], replication_seed(5, 1))
    return simulation.incidents, simulation.town


def test_a_plugged_channel_changes_its_own_reports_and_nothing_else():
    default, _ = _incidents()
    plugged, _ = _incidents("incident_types.0.detection.hotline.draw=delayed")
    mine = plugged.type_index == 0
    for name in ("occurred_min", "type_index", "patch", "finder_u", "leave_u", "layer", "rounds_min"):
        assert np.array_equal(getattr(plugged, name), getattr(default, name)), name
    assert plugged.service_min == default.service_min
    untouched = np.ones(default.channel_min.shape, dtype=bool)
    untouched[mine, HOTLINE] = False
    assert np.array_equal(plugged.channel_min[untouched], default.channel_min[untouched])
    assert not np.array_equal(plugged.channel_min[mine, HOTLINE], default.channel_min[mine, HOTLINE])


def test_the_builtin_delayed_draw_follows_its_law():
    """Reports with the probability given, after the exponential delay given (within 4 standard errors)."""
    p, mean = 0.4, 50.0
    incidents, _ = _incidents(
        "incident_types.0.detection.hotline.draw=delayed",
        f"incident_types.0.detection.hotline.probability={p}",
        f"incident_types.0.detection.hotline.delay_min={{dist: exponential, mean: {mean}}}",
    )
    mine = incidents.type_index == 0
    at = incidents.channel_min[mine, HOTLINE]
    n = int(mine.sum())
    fired = np.isfinite(at)
    assert n > 200
    assert abs(fired.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    delays = at[fired] - incidents.occurred_min[mine][fired]
    assert abs(delays.mean() - mean) < 4 * mean / math.sqrt(fired.sum())


def test_a_channel_from_outside_reports_exactly_what_it_computes():
    incidents, town = _incidents(
        f"incident_types.1.detection.camera.draw={PLUGINS}camera_near",
        "incident_types.1.detection.camera.options={radius_km: 1.5, delay_min: 7, x_km: 2.0, y_km: 2.0}",
    )
    mine = incidents.type_index == 1
    xy = np.asarray(town.centres)[incidents.patch[mine]]
    near = np.hypot(xy[:, 0] - 2.0, xy[:, 1] - 2.0) <= 1.5
    expected = np.where(near, incidents.occurred_min[mine] + 7.0, np.inf)
    assert 0 < near.sum() < near.size
    assert np.array_equal(incidents.channel_min[mine, CAMERA], expected)


def test_a_plugged_channel_gives_every_mode_the_same_reports():
    plug = "incident_types.0.detection.hotline.draw=delayed"
    one, _ = _incidents(plug, mode="fragmented")
    two, _ = _incidents(plug, mode="unified")
    assert np.array_equal(one.channel_min, two.channel_min)


def test_reports_outside_the_channel_hours_wait_for_them():
    incidents, _ = _incidents(
        "incident_types.0.detection.grid_worker.draw=delayed",
        "incident_types.0.detection.grid_worker.hours={days: daily, times: ['08:00-12:00']}",
    )
    at = incidents.channel_min[incidents.type_index == 0, CHANNELS.index("grid_worker")]
    at = at[np.isfinite(at)]
    assert at.size and np.all((at % 1440 >= 480) & (at % 1440 <= 720))


def test_a_draw_that_reports_before_the_occurrence_fails_clearly():
    with pytest.raises(ValueError, match="reported a matter before it occurred"):
        _incidents(f"incident_types.0.detection.camera.draw={PLUGINS}camera_too_early")


def test_an_unknown_channel_is_a_user_error(capsys):
    path = "incident_types.0.detection.camera.draw"
    with pytest.raises(ScenarioError, match=r"unknown detection channel 'delayd'; did you mean 'delayed'\?"):
        load_scenario(SCENARIOS / "anhai.yaml", [f"{path}=delayd"])
    assert main(["validate", str(SCENARIOS / "anhai.yaml"), "--set", f"{path}=no_such.module:f"]) == 2
    err = capsys.readouterr().err
    assert (
        "incident_types.garbage_overflow.detection.camera.draw" in err
        and "cannot import module 'no_such.module'" in err
    )
