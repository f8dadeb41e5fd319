"""The summaries as they were computed before records became columns: Python loops over named tuples.

Kept only as the reference the column statistics of :mod:`sim.stats.metrics` are checked against
(``tests/stats/test_columnar.py``): the same summary, to the byte, from the same runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from sim.engine.campaigns import CAMPAIGN
from sim.engine.incidents import LAYER_NAMES
from sim.engine.records import IncidentRecord, JobRecord
from sim.stats.metrics import campaign_stats, in_window, time_stats
from sim.stats.survival import CensoredTimes


def measured(
    records: Iterable[IncidentRecord], warmup_min: float, end_min: float = math.inf, incident_type: str | None = None
) -> list[IncidentRecord]:
    """The records of incidents in the measured window (:func:`in_window`), of one type if given."""
    return [
        r
        for r in records
        if in_window(r.occurred_min, warmup_min, end_min)
        and (incident_type is None or r.incident_type == incident_type)
    ]


def censored_times(records: Sequence[IncidentRecord], end_min: float, stage: str) -> CensoredTimes:
    """Detected-to-*stage* durations of detected matters, censored when not reached.

    *stage* is the record field that ends the duration: ``on_scene_min``, ``resolved_min`` or
    ``closed_min``. A matter not reached is censored at the run's end, or, if it ended by itself
    before anyone was on scene (``ended_min``), at that end: after it, nobody could reach it.
    """
    detected = [r for r in records if not math.isnan(r.detected_min)]
    ends = np.array([getattr(r, stage) for r in detected], dtype=float)
    starts = np.array([r.detected_min for r in detected], dtype=float)
    natural = np.array([r.ended_min for r in detected], dtype=float)
    observed = ~np.isnan(ends)
    censor_at = np.where(np.isnan(natural), end_min, np.minimum(natural, end_min))
    return CensoredTimes(np.where(observed, ends, censor_at) - starts, observed)


def closure_deadlines(
    per_rep: Sequence[list[IncidentRecord]], ends: Sequence[float], deadlines: Mapping[str, float | None]
) -> tuple[float | None, float | None]:
    """Shares of closed-loop cases closed by their type's deadline, and overdue (on time + overdue = 1).

    A case is judged once its deadline has passed within the run: closed by ``detected +
    deadline`` is on time; closed later, or still open when the deadline passed, is overdue. A case
    still open at the end of the run before its deadline came is not judged (neither). Types without
    a deadline, undetected matters and modes without the loop (no case ever closed) give ``None``.
    """
    on_time = judged = 0
    for recs, end in zip(per_rep, ends):
        for r in recs:
            deadline = deadlines.get(r.incident_type)
            if deadline is None or math.isnan(r.detected_min):
                continue
            closure = r.closed_min - r.detected_min
            if closure <= deadline:
                on_time += 1
                judged += 1
            elif not math.isnan(closure) or end - r.detected_min >= deadline:
                judged += 1
    if judged == 0 or not any(not math.isnan(r.closed_min) for recs in per_rep for r in recs):
        return None, None
    return on_time / judged, (judged - on_time) / judged


def reopens(records: Sequence[IncidentRecord]) -> tuple[float | None, float | None]:
    """Reopen rate (share of checked cases reopened at least once) and checks per case (1 + reopens, mean).

    A case counts once it has been checked: closed, or reopened at least once.
    """
    checked = [r.reopened for r in records if not math.isnan(r.closed_min) or r.reopened > 0]
    if not checked:
        return None, None
    return sum(1 for n in checked if n > 0) / len(checked), 1.0 + sum(checked) / len(checked)


def _within_target(record: IncidentRecord, target_min: float) -> bool | None:
    """Whether a detected matter was reached within *target_min*; None when it cannot be known.

    A matter that ended by itself before anyone came missed the target if it lasted longer than
    the target after it was found; if it ended sooner, nobody knows whether the target would have
    been met, so it is left out.
    """
    if record.ended:
        return False if record.ended_min - record.detected_min > target_min else None
    return record.response_min <= target_min


def duplicate_stats(records: Sequence[IncidentRecord], jobs: Sequence[JobRecord]) -> dict:
    """Duplicated enforcement of *records*: visits, the unit-minutes they took, matters handled twice.

    ``duplicate_visits`` counts finished duplicate visits, ``duplicate_unit_min`` their unit time
    (dispatched to done, from *jobs*, the job records of these matters) and ``handled_more_than_once``
    the matters with at least one; ``left_by_all`` counts matters every claiming department first
    left to another.
    """
    return {
        "duplicate_visits": sum(r.duplicate_visits for r in records),
        "duplicate_unit_min": float(sum(j.busy_min for j in jobs if j.duplicate)),
        "handled_more_than_once": sum(1 for r in records if r.duplicate_visits > 0),
        "left_by_all": sum(1 for r in records if r.left_by_all),
    }


def _group_stats(
    per_rep: Sequence[list[IncidentRecord]],
    ends: Sequence[float],
    targets: Mapping[str, float],
    jobs: Sequence[JobRecord] = (),
    deadlines: Mapping[str, float | None] | None = None,
) -> dict:
    all_records = [r for recs in per_rep for r in recs]
    detected = [r for r in all_records if not math.isnan(r.detected_min)]
    within = [w for w in (_within_target(r, targets[r.incident_type]) for r in detected) if w is not None]
    on_the_spot = [r for r in detected if r.on_the_spot]
    reached = [r for r in detected if not math.isnan(r.on_scene_min)]
    dispatched = [[r for r in recs if not r.on_the_spot] for recs in per_rep]
    has_loop = any(not math.isnan(r.closed_min) for r in all_records)
    on_time, overdue = closure_deadlines(per_rep, ends, deadlines or {})
    reopen_rate, checks = reopens(all_records)
    return {
        "incidents": len(all_records),
        "detected": len(detected),
        "undetected": len(all_records) - len(detected),
        "response_min": time_stats([censored_times(recs, end, "on_scene_min") for recs, end in zip(per_rep, ends)]),
        "dispatched_response_min": time_stats(
            [censored_times(recs, end, "on_scene_min") for recs, end in zip(dispatched, ends)]
        ),
        "resolution_min": time_stats([censored_times(recs, end, "resolved_min") for recs, end in zip(per_rep, ends)]),
        "closure_min": time_stats([censored_times(recs, end, "closed_min") for recs, end in zip(per_rep, ends)])
        if has_loop
        else None,
        "within_target": float(np.mean(within)) if within else None,
        "on_the_spot": len(on_the_spot) / len(reached) if reached else None,
        "unresolved": sum(1 for r in detected if not r.resolved and not r.ended),
        "ended_unattended": sum(1 for r in detected if r.ended),
        "ended_undetected": sum(1 for r in all_records if r.ended and math.isnan(r.detected_min)),
        "follow_ups": sum(r.follow_ups for r in all_records),
        **duplicate_stats(all_records, jobs),
        "seen_not_handled": sum(r.seen_not_handled for r in all_records),
        "referrals": sum(r.referrals for r in all_records),
        "bounces": sum(r.bounces for r in all_records),
        "layers": {layer: sum(1 for r in all_records if r.layer == layer) for layer in LAYER_NAMES},
        "closed_on_time": on_time,
        "closure_overdue": overdue,
        "reopen_rate": reopen_rate,
        "checks_per_case": checks,
    }


def summarise(
    outputs: Sequence,
    warmup_min: float,
    target_min: float,
    type_names: Sequence[str],
    targets: Mapping[str, float] | None = None,
    deadlines: Mapping[str, float | None] | None = None,
) -> dict:
    """The ``summary.json`` entry of one mode from its replications' :class:`~sim.engine.model.RunOutput`.

    Parameters
    ----------
    outputs:
        One run output per replication, all of the same mode.
    warmup_min:
        Incidents occurring before this are not measured.
    target_min:
        Response target for ``within_target`` of types without a target of their own.
    type_names:
        Incident type names, in scenario order, for ``by_type``.
    targets:
        Response target per incident type, minutes (default: *target_min* for every type).
    deadlines:
        The closed loop's closure deadline per incident type, minutes (a type missing or ``None``: no deadline).
    """
    per_rep = [measured(o.records, warmup_min) for o in outputs]
    ends = [o.end_min for o in outputs]
    with_campaigns = any(getattr(o, "campaigns", None) is not None for o in outputs)
    if with_campaigns:  # campaign finds are reported apart: the response figures stay those of reported matters
        found = [[r for r in recs if r.channel == CAMPAIGN] for recs in per_rep]
        per_rep = [[r for r in recs if r.channel != CAMPAIGN] for recs in per_rep]
    targets = {name: (targets or {}).get(name, target_min) for name in type_names}
    jobs = _measured_jobs(outputs, per_rep)
    summary = {"replications": len(outputs), **_group_stats(per_rep, ends, targets, jobs, deadlines)}
    departments = outputs[0].busy_min.keys() if outputs else ()
    summary["utilisation"] = {
        d: _ratio(sum(o.busy_min[d] for o in outputs), sum(o.on_duty_min[d] for o in outputs)) for d in departments
    }
    summary["backlog"] = sum(o.backlog for o in outputs)
    summary["by_channel"] = _channel_stats(per_rep, ends)
    summary["by_type"] = {
        name: _group_stats(
            [[r for r in recs if r.incident_type == name] for recs in per_rep],
            ends,
            targets,
            [j for j in jobs if j.incident_type == name],
            deadlines,
        )
        for name in type_names
    }
    if with_campaigns:
        summary["campaigns"] = campaign_stats(outputs, found, ends)
    return summary


def _measured_jobs(outputs: Sequence, per_rep: Sequence[list[IncidentRecord]]) -> list[JobRecord]:
    """The duplicate visits to measured matters, over replications (incident numbers are per replication)."""
    out = []
    for output, records in zip(outputs, per_rep):
        numbers = {r.incident for r in records}
        out += [j for j in output.jobs if j.duplicate and j.incident in numbers]
    return out


def _channel_stats(per_rep: Sequence[list[IncidentRecord]], ends: Sequence[float]) -> dict:
    """Response by the channel that reported the matter (patrol, grid worker, hotline, camera, …).

    A planner sees which channel the reform speeds up: patrol finds handled on the spot have a
    response of 0, while reports through the hotline wait for the referral chain.
    """
    channels = sorted({r.channel for recs in per_rep for r in recs if r.channel})
    return {
        channel: {
            "detected": sum(1 for recs in per_rep for r in recs if r.channel == channel),
            "response_min": time_stats(
                [
                    censored_times([r for r in recs if r.channel == channel], end, "on_scene_min")
                    for recs, end in zip(per_rep, ends)
                ]
            ),
        }
        for channel in channels
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None
