"""Performance measures as pure functions of incident records.

Response time is detected -> first capable unit on scene; resolution time is detected ->
resolved. Incidents that occurred during the warm-up are left out. Tallies (times) are pooled
over replications for medians and percentiles; the confidence interval on a mean is a
t-interval on the replication means (independent replications). A statistic of nothing is
``None`` (``null`` in JSON), never NaN.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

from sim.records import IncidentRecord

__all__ = ["time_stats", "summarise", "t_interval"]

CONFIDENCE = 0.95


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student-t confidence interval for the mean of independent *values* (None if fewer than 2)."""
    values = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(values) < 2:
        return None
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean - half, mean + half


def _measured(records: Iterable[IncidentRecord], warmup_min: float) -> list[IncidentRecord]:
    return [r for r in records if r.occurred_min >= warmup_min]


def time_stats(samples_by_replication: Sequence[np.ndarray]) -> dict | None:
    """Mean, median, p90, p95 (minutes) of pooled samples, with a CI on the mean over replications."""
    pooled = np.concatenate([np.asarray(s, dtype=float) for s in samples_by_replication]) if samples_by_replication else np.array([])
    pooled = pooled[~np.isnan(pooled)]
    if pooled.size == 0:
        return None
    out = {
        "n": int(pooled.size),
        "mean": float(pooled.mean()),
        "median": float(np.median(pooled)),
        "p90": float(np.percentile(pooled, 90)),
        "p95": float(np.percentile(pooled, 95)),
    }
    means = [float(np.nanmean(s)) for s in samples_by_replication if np.any(~np.isnan(np.asarray(s, dtype=float)))]
    interval = t_interval(means) if len(samples_by_replication) > 1 else None
    if interval:
        out["ci_low"], out["ci_high"] = interval
    return out


def _group_stats(per_rep: Sequence[list[IncidentRecord]], target_min: float) -> dict:
    response = [np.array([r.response_min for r in recs]) for recs in per_rep]
    resolution = [np.array([r.resolution_min for r in recs]) for recs in per_rep]
    detected = [r for recs in per_rep for r in recs if not math.isnan(r.detected_min)]
    within = [r.response_min <= target_min for r in detected]
    all_records = [r for recs in per_rep for r in recs]
    return {
        "incidents": len(all_records),
        "detected": len(detected),
        "response_min": time_stats(response),
        "resolution_min": time_stats(resolution),
        "within_target": float(np.mean(within)) if within else None,
        "unresolved": sum(1 for r in detected if not r.resolved),
        "seen_not_handled": sum(r.seen_not_handled for r in all_records),
        "referrals": sum(r.referrals for r in all_records),
        "bounces": sum(r.bounces for r in all_records),
    }


def summarise(outputs: Sequence, warmup_min: float, target_min: float, type_names: Sequence[str]) -> dict:
    """The ``summary.json`` entry of one mode from its replications' :class:`~sim.model.RunOutput`.

    Parameters
    ----------
    outputs:
        One run output per replication, all of the same mode.
    warmup_min:
        Incidents occurring before this are not measured.
    target_min:
        Response target for ``within_target``.
    type_names:
        Incident type names, in scenario order, for ``by_type``.
    """
    per_rep = [_measured(o.records, warmup_min) for o in outputs]
    summary = {"replications": len(outputs), **_group_stats(per_rep, target_min)}
    departments = outputs[0].busy_min.keys() if outputs else ()
    summary["utilisation"] = {
        d: _ratio(sum(o.busy_min[d] for o in outputs), sum(o.on_duty_min[d] for o in outputs)) for d in departments
    }
    summary["backlog"] = sum(o.backlog for o in outputs)
    summary["by_type"] = {
        name: _group_stats([[r for r in recs if r.incident_type == name] for recs in per_rep], target_min)
        for name in type_names
    }
    return summary


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None
