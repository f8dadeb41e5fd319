"""Metric functions by name: what they see, the built-in ones against a count by hand, names and errors."""

from __future__ import annotations

import math

import pytest

import sim
from sim.engine.model import RunOutput
from sim.io.loader import load_scenario
from sim.registry import PluginError
from sim.stats.plugins import MetricInput, find_metric, plugin_value, share_not_reached, share_over_60
from tests.conftest import SCENARIOS

PLUGINS = "tests.experiments.plugins_example:"
NAN = math.nan


@pytest.fixture(scope="module")
def template():
    scenario = load_scenario(SCENARIOS / "classroom.yaml", ["days=2", "warmup_days=0.5"])
    return sim.run(scenario, "fragmented", seed=1).records[0]


def _run(template, *times: tuple[float, float, float], end_min: float = 1000.0) -> MetricInput:
    """A run whose incidents occurred, were detected and reached at the given minutes (nan: never)."""
    records = [
        template._replace(incident=i, occurred_min=occurred, detected_min=detected, on_scene_min=on_scene)
        for i, (occurred, detected, on_scene) in enumerate(times)
    ]
    return MetricInput(RunOutput(records, [], {}, {}, 0, end_min=end_min), warmup_min=100.0, target_min=30.0)


def test_share_over_60_counts_censored_waits_as_over_only_once_past_60(template):
    run = _run(
        template,
        (50.0, 60.0, 200.0),  # warm-up: not measured
        (100.0, 110.0, 150.0),  # 40 min: within
        (200.0, 210.0, 300.0),  # 90 min: over
        (300.0, 310.0, 370.0),  # exactly 60: not over
        (400.0, 400.0, NAN),  # not reached, waited 600 by the end: over
        (960.0, 970.0, NAN),  # not reached, waited 30 by the end: unknown, left out
        (500.0, NAN, NAN),  # never detected: no response at all
    )
    assert len(run.records) == 6
    assert share_over_60(run) == pytest.approx(2 / 4)
    assert share_not_reached(run) == pytest.approx(2 / 5)


def test_a_run_with_nothing_measured_gives_nan_kept_as_null(template):
    run = _run(template, (10.0, 20.0, 30.0))
    assert math.isnan(share_over_60(run))
    assert plugin_value(*find_metric("share_over_60"), run) is None  # type: ignore[misc]


def test_names_resolve_to_functions_and_keys(template):
    assert find_metric("response_min.median") is None  # a summary path
    assert find_metric("within_target") is None
    plugin, keys = find_metric("share_over_60")  # type: ignore[misc]
    assert plugin.obj is share_over_60 and keys == ()
    plugin, keys = find_metric(f"{PLUGINS}shares.patrol")  # type: ignore[misc]
    assert plugin.target == f"{PLUGINS}shares" and keys == ("patrol",)
    run = _run(template, (200.0, 210.0, 300.0), (300.0, 310.0, 320.0))
    assert plugin_value(*find_metric(f"{PLUGINS}shares.over_30"), run) == 0.5  # type: ignore[misc]
    assert plugin_value(*find_metric(f"{PLUGINS}share_over_30"), run) == 0.5  # type: ignore[misc]


def test_a_metric_returning_several_values_must_be_named_with_its_key(template):
    run = _run(template, (200.0, 210.0, 300.0))
    with pytest.raises(ValueError, match=r"name one of them: .*shares\.over_30, .*shares\.patrol"):
        plugin_value(*find_metric(f"{PLUGINS}shares"), run)  # type: ignore[misc]
    with pytest.raises(ValueError, match="returned no entry 'nothing'"):
        plugin_value(*find_metric(f"{PLUGINS}shares.nothing"), run)  # type: ignore[misc]


@pytest.mark.parametrize(
    "name, words",
    [
        ("no_such_module:f", "cannot import module 'no_such_module'"),
        (f"{PLUGINS}nothing_here", "has no attribute 'nothing_here'"),
    ],
)
def test_a_dotted_path_that_does_not_resolve_says_why(name, words):
    with pytest.raises(PluginError, match=words):
        find_metric(name)


CAMPAIGN_SET = (
    "campaigns=[{name: sweep, schedule: {every: week, days: daily, start: '09:00'}, duration_min: 240, "
    "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 2}}]"
)


def test_a_metric_sees_the_incidents_the_summary_counts_campaign_finds_left_out():
    """Campaign finds (response 0 when settled on the spot) are reported apart: a metric must not count them."""
    scenario = load_scenario(SCENARIOS / "classroom.yaml", ["days=3", "warmup_days=0.5", CAMPAIGN_SET])
    comparison = sim.compare(scenario, modes=["fragmented"], seed=4)
    output = comparison.outputs["fragmented"][0]
    run = MetricInput(output, warmup_min=0.5 * 1440, target_min=30.0)
    summary = comparison.summary["modes"]["fragmented"]
    assert sum(summary["campaigns"]["found"].values()) > 0 and any(r.channel == "campaign" for r in output.records)
    assert not any(r.channel == "campaign" for r in run.records)
    assert len(run.records) == summary["incidents"]
