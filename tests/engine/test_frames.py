"""Records as DataFrames: every field, every derived field, the warm-up flag; round trip with the CSV files,
and every summary figure recomputed from the frame's columns alone."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import sim
from sim.engine.frames import INCIDENT_FRAME_COLUMNS, JOB_FRAME_COLUMNS
from sim.engine.records import DERIVED_FIELDS, JOB_DERIVED_FIELDS, JOB_FIELDS, RECORD_FIELDS
from sim.io.results import write_comparison
from sim.scenario.schedule import MINUTES_PER_DAY
from sim.stats.metrics import metric_value
from sim.stats.survival import CensoredTimes, km_quantiles, restricted_mean
from tests.conftest import SCENARIOS

pd = pytest.importorskip("pandas", reason="pandas is in the frames and test extras")

# Short drain: some matters are still open at the end, so censoring matters to the medians.
SHORT = ["days=3", "warmup_days=1", "drain_days=0.2"]


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario(SCENARIOS / "classroom.yaml", SHORT)


@pytest.fixture(scope="module")
def comparison(scenario):
    return sim.compare(scenario, replications=3, seed=11)


@pytest.fixture(scope="module")
def frame(comparison):
    return comparison.to_frame()


def test_a_runs_frame_has_every_field_and_every_derived_field(scenario):
    output = sim.run(scenario, "joint", seed=4, replication=2)
    frame = output.to_frame()
    assert tuple(frame.columns) == INCIDENT_FRAME_COLUMNS
    assert {"response_min", "resolution_min", "closure_min", "resolved"} <= set(DERIVED_FIELDS)
    assert len(frame) == len(output.records) > 0
    assert set(frame["mode"]) == {"joint"} and set(frame["replication"]) == {2}
    for row, record in zip(frame.itertuples(index=False), output.records):
        for name in RECORD_FIELDS + DERIVED_FIELDS:
            value, expected = getattr(row, name), getattr(record, name)
            assert value == expected or (math.isnan(value) and math.isnan(expected)), name


def test_measured_is_the_warm_up_rule_of_the_summaries(scenario, frame):
    warmup = scenario.warmup_days * MINUTES_PER_DAY
    assert frame["measured"].dtype == bool
    assert list(frame["measured"]) == list(frame["occurred_min"] >= warmup)
    assert 0 < frame["measured"].sum() < len(frame)  # some incidents fall in the warm-up, some after it


def test_a_jobs_frame_has_every_field_and_the_incidents_flag(comparison):
    jobs = comparison.jobs_frame()
    incidents = comparison.to_frame().set_index(["mode", "replication", "incident"])
    assert tuple(jobs.columns) == JOB_FRAME_COLUMNS
    assert len(jobs) == sum(len(o.jobs) for outs in comparison.outputs.values() for o in outs) > 0
    flags = incidents.loc[list(zip(jobs["mode"], jobs["replication"], jobs["incident"])), "measured"]
    assert list(jobs["measured"]) == list(flags)
    assert np.allclose(jobs["busy_min"], jobs["done_min"] - jobs["dispatched_min"])
    assert set(JOB_DERIVED_FIELDS) == {"wait_min", "travel_min", "busy_min"}


def _cell(text: str, value):
    """A value of the frame as ``incidents.csv`` writes it (times to six decimal places, NaN empty)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)) == text
    if isinstance(value, (float, np.floating)):
        return text == "" if math.isnan(value) else float(text) == round(float(value), 6)
    return str(value) == text


@pytest.mark.parametrize("name,columns", [("incidents.csv", RECORD_FIELDS), ("jobs.csv", JOB_FIELDS)])
def test_the_frames_round_trip_against_the_csv_files(comparison, tmp_path, name, columns):
    write_comparison(tmp_path, comparison)
    rows = list(csv.DictReader((tmp_path / name).open(encoding="utf-8")))
    frame = comparison.to_frame() if name == "incidents.csv" else comparison.jobs_frame()
    assert len(rows) == len(frame) > 0
    extra = ("response_min", "resolution_min") if name == "incidents.csv" else ()
    for row, values in zip(rows, frame.to_dict("records")):
        for column in ("mode", "replication", *columns, *extra):
            assert _cell(row[column], values[column]), (column, row[column], values[column])


def _censored(group, end: float, stage: str) -> CensoredTimes:
    """Detected-to-*stage* times from the frame's columns, censored at the end (or at a natural end)."""
    detected = group[group["detected_min"].notna()]
    ends = detected[stage].to_numpy(float)
    observed = ~np.isnan(ends)
    natural = detected["ended_min"].to_numpy(float)
    censor = np.where(np.isnan(natural), end, np.minimum(natural, end))
    return CensoredTimes(np.where(observed, ends, censor) - detected["detected_min"].to_numpy(float), observed)


def _within(group, targets) -> float | None:
    detected = group[group["detected_min"].notna()]
    hits = []
    for row in detected.itertuples(index=False):
        target = targets[row.incident_type]
        if row.ended:
            if row.ended_min - row.detected_min > target:
                hits.append(False)
        else:
            hits.append(row.response_min <= target)
    return float(np.mean(hits)) if hits else None


def _same(value, expected) -> bool:
    if value is None or expected is None:
        return value is None and expected is None
    return math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-12)


def test_every_summary_figure_comes_back_from_the_frame(scenario, comparison, frame):
    """Median, p90, p95, mean and share not reached of response and resolution, and within target, per mode,
    overall and per type, from the measured rows with the summary's censoring rule (Kaplan-Meier)."""
    end = (scenario.days + scenario.drain_days) * MINUTES_PER_DAY
    assert all(o.end_min == end for outs in comparison.outputs.values() for o in outs)
    targets = {t.name: scenario.target_for(t.name) for t in scenario.incident_types}
    measured = frame[frame["measured"]]
    censored_somewhere = False
    checked = 0
    for mode, rows in measured.groupby("mode", sort=False):
        summary = comparison.summary["modes"][mode]
        groups = [("", rows)] + [
            (f"by_type.{t}.", rows[rows["incident_type"] == t]) for t in (t.name for t in scenario.incident_types)
        ]
        for prefix, group in groups:
            for stage, key in (("on_scene_min", "response_min"), ("resolved_min", "resolution_min")):
                reps = [_censored(group[group["replication"] == r], end, stage) for r in range(3)]
                reps = [t for t in reps if t.n]
                if not reps:
                    assert metric_value(summary, f"{prefix}{key}.n") is None
                    continue
                pooled = CensoredTimes(
                    np.concatenate([t.minutes for t in reps]), np.concatenate([t.observed for t in reps])
                )
                censored_somewhere |= pooled.censored > 0
                median, p90, p95 = km_quantiles(pooled, (0.5, 0.9, 0.95))
                mean = float(np.mean([restricted_mean(t) for t in reps]))
                for stat, value in (("median", median), ("p90", p90), ("p95", p95), ("mean", mean)):
                    assert _same(value, metric_value(summary, f"{prefix}{key}.{stat}")), (mode, prefix, key, stat)
                    checked += 1
                share = pooled.censored / pooled.n
                assert _same(share, metric_value(summary, f"{prefix}{key}.share_not_reached"))
            assert _same(_within(group, targets), metric_value(summary, f"{prefix}within_target")), (mode, prefix)
            checked += 1
    assert censored_somewhere, "the short drain leaves some matters unreached: the censoring rule is exercised"
    assert checked > 30


def test_the_summary_frame_is_the_summary(comparison):
    table = comparison.summary_frame()
    assert list(table.columns) == ["mode", "incident_type", "statistic", "estimate", "lower", "upper", "n"]
    types = ["all"] + [t.name for t in comparison.scenario.incident_types]
    assert set(table["mode"]) == set(comparison.outputs) and set(table["incident_type"]) == set(types)
    for row in table.itertuples(index=False):
        mode = comparison.summary["modes"][row.mode]
        path = row.statistic if row.incident_type == "all" else f"by_type.{row.incident_type}.{row.statistic}"
        expected = metric_value(mode, path)
        assert (math.isnan(row.estimate) and expected is None) or row.estimate == expected, path
    rows = table.set_index(["mode", "incident_type", "statistic"])
    fragmented = comparison.summary["modes"]["fragmented"]["response_min"]
    mean = rows.loc[("fragmented", "all", "response_min.mean")]
    assert (mean["lower"], mean["upper"], mean["n"]) == (fragmented["ci_low"], fragmented["ci_high"], fragmented["n"])
    # one row per mode x type x statistic: no duplicates
    assert not rows.index.duplicated().any()
    assert {"within_target", "response_min.median", "response_min.p90"} <= set(table["statistic"])
    assert table.equals(sim.summary_frame(comparison.summary))


def test_the_columns_of_a_record_table_give_the_frame_its_rows_give(comparison):
    """The column path (a RecordTable, vectorised derived fields) and the row path (named tuples) agree exactly."""
    import dataclasses

    import pandas as pd

    from sim.engine.frames import incidents_frame, jobs_frame
    from sim.engine.records import RecordTable

    outputs = [o for runs in comparison.outputs.values() for o in runs]
    assert all(isinstance(o.records, RecordTable) for o in outputs)
    as_rows = [dataclasses.replace(o, records=list(o.records), jobs=list(o.jobs)) for o in outputs]
    for build in (incidents_frame, jobs_frame):
        pd.testing.assert_frame_equal(build(outputs), build(as_rows), check_dtype=False)
    assert incidents_frame(outputs)["resolved"].dtype == bool


def test_campaign_finds_are_not_measured_as_the_summary_leaves_them_out():
    """``measured`` means counted by the summaries' response figures: a campaign's finds are reported apart."""
    campaign = (
        "campaigns=[{name: sweep, schedule: {every: week, days: daily, start: '09:00'}, duration_min: 240, "
        "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 2}}]"
    )
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", [*SHORT, campaign])
    comparison = sim.compare(scenario, modes=["joint"], seed=4)
    frame = comparison.to_frame()
    summary = comparison.summary["modes"]["joint"]
    finds = frame[frame["channel"] == "campaign"]
    assert len(finds) > 0 and not finds["measured"].any()
    assert int(frame["measured"].sum()) == summary["incidents"]
    counted = frame[frame["measured"] & frame["detected_min"].notna()]
    assert len(counted) == summary["response_min"]["n"]
    jobs = comparison.jobs_frame()
    find_numbers = set(finds["incident"])
    assert not jobs[jobs["incident"].isin(find_numbers)]["measured"].any()
