"""Matters not reached by the end of a run are censored, not dropped; on the spot is reported apart."""

from __future__ import annotations

import json
import math

import numpy as np

import sim
from sim.cli import main
from sim.stats.metrics import measured
from tests.conftest import queue_scenario


def _overloaded(load: float = 1.5) -> sim.Scenario:
    """Two units, offered *load* times what they can do: the queue grows all week."""
    return queue_scenario(
        servers=2, arrivals_per_min=2 * load / 60, service_mean_min=60, days=5, warmup_days=1, drain_days=0.5
    )


def test_an_overloaded_town_reports_a_censored_median_above_the_reached_only_median():
    scenario = _overloaded()
    summary = sim.compare(scenario).summary["modes"]["pooled"]
    response = summary["response_min"]
    output = sim.run(scenario, "pooled")
    records = [r for r in measured(output.records, scenario.warmup_days * 1440) if not math.isnan(r.detected_min)]
    reached_only = np.median([r.response_min for r in records if not math.isnan(r.on_scene_min)])
    assert response["n"] == len(records)
    assert response["not_reached"] == sum(math.isnan(r.on_scene_min) for r in records) > len(records) * 0.2
    assert response["share_not_reached"] == response["not_reached"] / response["n"]
    # the censored median is either a number above the reached-only one, or 'more than' the follow-up
    if response["median"] is None:
        assert response["median_more_than"] > reached_only
    else:
        assert response["median"] > reached_only
    assert response["mean_is_lower_bound"]


def test_the_printed_table_says_more_than_and_not_reached(capsys, tmp_path):
    """Three times the capacity: more than a tenth never reached, so p90 is 'more than' the follow-up."""
    scenario_file = tmp_path / "busy.json"
    scenario_file.write_text(json.dumps(_overloaded(3.0).model_dump(mode="json", exclude_none=True)))
    assert main(["run", str(scenario_file)]) == 0
    out = capsys.readouterr().out
    assert "found, not reached by the end" in out
    line = next(line for line in out.splitlines() if line.startswith("response p90"))
    assert "> " in line  # p90 lies beyond what was observed


def test_night_matters_of_a_day_only_department_are_not_reached_rather_than_missing():
    """Units on duty 08:00-20:00 only; the run ends at 02:00, so the evening's matters wait, censored."""
    scenario = queue_scenario(
        servers=1,
        arrivals_per_min=1 / 120,
        service_mean_min=10,
        days=3,
        warmup_days=1,
        drain_days=0.25,
        departments=[
            {
                "name": "team",
                "units": 1,
                "setoff_min": 0,
                "powers": ["job"],
                "shift": [{"times": ["08:00-20:00"], "units": 1}],
            }
        ],
    )
    output = sim.run(scenario, "pooled")
    late = [r for r in output.records if r.occurred_min > 3 * 1440 - 4 * 60 and not math.isnan(r.detected_min)]
    assert late and all(math.isnan(r.on_scene_min) for r in late)
    response = sim.compare(scenario).summary["modes"]["pooled"]["response_min"]
    assert response["not_reached"] >= len(late)
    assert response["n"] == response["reached"] + response["not_reached"]


def test_on_the_spot_and_dispatched_are_reported_apart():
    summary = sim.compare(sim.load_scenario("scenarios/classroom.yaml")).summary["modes"]
    for stats in summary.values():
        spot = stats["on_the_spot"]
        assert 0 < spot < 1
        everyone, dispatched = stats["response_min"], stats["dispatched_response_min"]
        assert dispatched["n"] < everyone["n"]
        assert dispatched["median"] >= everyone["median"]


def test_response_split_by_detection_channel():
    """Each channel's counts add up to the matters detected, and its median is that of its own matters."""
    scenario = sim.load_scenario("scenarios/anhai_garbage.yaml")
    output = sim.run(scenario, "fragmented")
    summary = sim.compare(scenario, ["fragmented"]).summary["modes"]["fragmented"]
    channels = summary["by_channel"]
    assert sum(c["detected"] for c in channels.values()) == summary["detected"]
    assert {"patrol", "hotline"} <= set(channels)
    records = [r for r in measured(output.records, scenario.warmup_days * 1440) if r.channel == "hotline"]
    reached = sorted(r.response_min for r in records if not math.isnan(r.on_scene_min))
    if len(reached) == len(records):  # nothing censored: the Kaplan-Meier median is the empirical one
        assert channels["hotline"]["response_min"]["median"] == float(np.quantile(reached, 0.5, method="inverted_cdf"))
