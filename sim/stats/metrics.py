"""Performance measures as pure functions of incident records, and the statistics of replications.

Response time is detected -> first capable unit on scene; resolution time is detected ->
resolved. Incidents that occurred during the warm-up are left out. A matter detected but not
reached (or not resolved) when the run ends is *censored* at ``end - detected``, never dropped:
medians and percentiles come from the Kaplan–Meier estimate (:mod:`sim.stats.survival`), the share
not reached stands beside them, and a percentile beyond what was observed is ``None`` with
``<key>_more_than`` giving the time it exceeds. Matters found and handled on the spot by the
patrol that found them have a response of 0; ``dispatched_response_min`` gives the response of
the rest, and ``on_the_spot`` their share. Tallies (times) are pooled over replications for
medians and percentiles. Replications are independent, so, with one rule per estimate:

* the mean is the mean of the replication means (each a restricted mean, see
  :func:`sim.stats.survival.restricted_mean`), and its interval a Student-t interval on those
  replication means (from :data:`MIN_INTERVAL_REPLICATIONS` replications; a time's lower bound is
  never below 0);
* the interval on a pooled median or p90 is a *replication bootstrap*: whole replications are
  resampled with replacement and the pooled quantile recomputed. Times within one replication
  are correlated (a queue that is long stays long), so resampling single incidents, or an
  order-statistic interval on the pooled times, would be too narrow;
* two modes run on common random numbers are compared by their paired differences, replication
  by replication: a t-interval on the mean difference and a paired t-test
  (:func:`scipy.stats.ttest_rel`).

A metric of one run is named by its dotted path in the summary of that run
(``response_min.median``, ``by_type.garbage_overflow.response_min.p90``, ``within_target``,
``utilisation.sanitation``); :func:`metric_value` reads it and :func:`metric_paths` lists them.
A statistic of nothing is ``None`` (``null`` in JSON), never NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.engine.incidents import LAYER_NAMES
from sim.engine.records import (
    IncidentRecord,
    JobRecord,
    RecordTable,
    campaign_finds,
    counted,
    in_window,
    incident_table,
    job_table,
)
from sim.stats.summary_types import ModeSummary
from sim.stats.survival import CensoredTimes, km_quantiles, restricted_mean, weighted_km_quantiles

__all__ = [
    "CONFIDENCE",
    "Precision",
    "describe",
    "in_window",
    "measured",
    "reported",
    "metric_paths",
    "metric_value",
    "censored_times",
    "duplicate_stats",
    "paired_difference",
    "relative_half_width",
    "replication_bootstrap",
    "summarise",
    "closure_deadlines",
    "reopens",
    "summarise_runs",
    "t_interval",
    "time_stats",
]

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601
MIN_BOOTSTRAP_REPLICATIONS = 5
"""Fewer replications than this give no bootstrap interval (too few distinct resamples)."""
MIN_INTERVAL_REPLICATIONS = 3
"""Fewer replications than this give no t-interval (two values say almost nothing about spread)."""

TIME_KEYS = ("n", "mean", "median", "p90", "p95", "share_not_reached")
GROUP_KEYS = (
    "incidents",
    "detected",
    "undetected",
    "within_target",
    "on_the_spot",
    "unresolved",
    "seen_not_handled",
    "referrals",
    "bounces",
    "closed_on_time",
    "closure_overdue",
    "reopen_rate",
    "checks_per_case",
    "duplicate_visits",
    "duplicate_unit_min",
    "handled_more_than_once",
    "left_by_all",
    "follow_ups",
    "ended_unattended",
    "ended_undetected",
)
TIME_GROUPS = ("response_min", "dispatched_response_min", "resolution_min")


# --------------------------------------------------------------------------- intervals


def _finite(values: Iterable) -> np.ndarray:
    """The values that are numbers (None and NaN dropped), as floats."""
    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return np.asarray(kept, dtype=float)


def t_interval(values: Iterable[float | None], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student-t confidence interval for the mean of independent *values* (None and NaN left out).

    ``None`` with fewer than :data:`MIN_INTERVAL_REPLICATIONS` values.
    """
    finite = _finite(values)
    if len(finite) < MIN_INTERVAL_REPLICATIONS:
        return None
    mean = float(finite.mean())
    from scipy import stats  # on first use: importing scipy.stats takes about a second (the demo needs none)

    half = float(stats.t.ppf(0.5 + confidence / 2, len(finite) - 1) * finite.std(ddof=1) / math.sqrt(len(finite)))
    return mean - half, mean + half


def relative_half_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the t-interval on the mean of *values*, divided by ``|mean|``.

    Returns None with fewer than :data:`MIN_INTERVAL_REPLICATIONS` values; 0 when every value is
    the same; ``inf`` when the mean is 0 but the values vary.
    """
    interval = t_interval(values, confidence)
    if interval is None:
        return None
    half = (interval[1] - interval[0]) / 2
    mean = (interval[1] + interval[0]) / 2
    if half == 0:
        return 0.0
    return math.inf if mean == 0 else abs(half / mean)


@dataclass(frozen=True)
class Precision:
    """Sequential stopping: replicate until the interval of *metric* is narrow enough.

    The rule holds when the t-interval's half-width is at most ``relative_half_width`` times
    the absolute mean of the replication values, in every mode; replications are added
    ``batch`` at a time up to ``max_replications``. Decided on replication values only, so the
    same seed stops at the same count wherever the runs execute.
    """

    metric: str = "response_min.mean"
    relative_half_width: float = 0.05
    max_replications: int = 100
    batch: int = 1
    confidence: float = CONFIDENCE

    def reached(self, values: Sequence) -> bool:
        """Whether replication *values* of the metric (one mode) are precise enough."""
        width = relative_half_width(values, self.confidence)
        return width is not None and width <= self.relative_half_width

    def as_dict(self) -> dict:
        """The rule as plain data."""
        return asdict(self)


def replication_bootstrap(
    samples_by_replication: Sequence[Sequence[float] | np.ndarray],
    percentiles: Sequence[float] = (50, 90),
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[float, tuple[float, float]] | None:
    """Percentile-bootstrap intervals for pooled percentiles, resampling whole replications.

    Parameters
    ----------
    samples_by_replication:
        One array of times per replication (NaN = did not happen, ignored).
    percentiles:
        The pooled percentiles (0-100) to give intervals for.
    confidence:
        Coverage of each interval.
    resamples:
        Bootstrap resamples; the generator is seeded with *seed*, so the interval is reproducible.

    Returns
    -------
    dict or None
        ``{percentile: (low, high)}``; None with fewer than :data:`MIN_BOOTSTRAP_REPLICATIONS`
        replications or no times at all.
    """
    groups = [np.asarray(s, dtype=float) for s in samples_by_replication]
    groups = [g[~np.isnan(g)] for g in groups]
    if len(groups) < MIN_BOOTSTRAP_REPLICATIONS or not any(len(g) for g in groups):
        return None
    values = np.concatenate(groups)
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    order = np.argsort(values, kind="stable")
    values, owner = values[order], owner[order]
    counts = np.random.default_rng(seed).multinomial(len(groups), [1 / len(groups)] * len(groups), size=resamples)
    estimates = _weighted_percentiles(values, owner, counts, percentiles)
    tail = 100 * (1 - confidence) / 2
    out = {}
    for p, column in zip(percentiles, estimates.T):
        column = column[~np.isnan(column)]
        if column.size:
            low, high = np.percentile(column, [tail, 100 - tail])
            out[p] = (float(low), float(high))
    return out or None


def _weighted_percentiles(values: np.ndarray, owner: np.ndarray, counts: np.ndarray, percentiles) -> np.ndarray:
    """Pooled percentiles of sorted *values* when replication ``r`` is drawn ``counts[b, r]`` times.

    One row per resample, one column per percentile: the smallest value whose cumulative weight
    reaches the share, found by bisection on the per-replication running counts (so the work is
    ``resamples x replications x log(values)``, not ``resamples x values``). NaN for a resample
    that drew only empty replications.
    """
    running = np.cumsum(np.eye(counts.shape[1], dtype=np.int64)[owner], axis=0)  # values up to j, per replication
    total = counts @ running[-1]
    out = np.full((len(counts), len(percentiles)), np.nan)
    for j, p in enumerate(percentiles):
        target = np.maximum((p / 100) * total, 1)
        low, high = np.zeros(len(counts), dtype=np.int64), np.full(len(counts), len(values) - 1)
        while np.any(low < high):
            mid = (low + high) // 2
            reached = np.einsum("br,br->b", running[mid], counts) >= target
            active = low < high
            high, low = np.where(active & reached, mid, high), np.where(active & ~reached, mid + 1, low)
        out[:, j] = np.where(total > 0, values[low], np.nan)
    return out


def paired_difference(baseline: Sequence, other: Sequence, confidence: float = CONFIDENCE) -> dict:
    """Mean of ``other - baseline`` over paired replications, its t-interval and a paired t-test.

    Pairs where either value is missing are dropped. Returns ``n``, ``mean_difference``,
    ``ci_low``, ``ci_high`` and ``p_value`` (two-sided, :func:`scipy.stats.ttest_rel`). The interval
    and the test are one rule (Student's t on the differences) and come together, from
    :data:`MIN_INTERVAL_REPLICATIONS` pairs; a statistic that cannot be computed (fewer pairs, or a
    test of differences that never vary) is None.
    """
    pairs = [(float(a), float(b)) for a, b in zip(baseline, other) if _is_number(a) and _is_number(b)]
    out: dict[str, float | None] = {
        "n": len(pairs),
        "mean_difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
    }
    if not pairs:
        return out
    base, alt = np.array(pairs).T
    differences = alt - base
    out["mean_difference"] = float(differences.mean())
    interval = t_interval(differences, confidence)
    if interval is not None:
        out["ci_low"], out["ci_high"] = interval
    if len(pairs) >= MIN_INTERVAL_REPLICATIONS and np.ptp(differences) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            from scipy import stats

            p_value = float(stats.ttest_rel(alt, base).pvalue)
        out["p_value"] = p_value if math.isfinite(p_value) else None
    return out


def describe(values: Sequence, confidence: float = CONFIDENCE) -> dict:
    """``n``, ``mean``, ``ci_low``, ``ci_high`` of replication values (missing values left out)."""
    finite = _finite(values)
    interval = t_interval(finite, confidence)
    return {
        "n": int(finite.size),
        "mean": float(finite.mean()) if finite.size else None,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
    }


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- one mode's summary


def measured(
    records: Iterable[IncidentRecord], warmup_min: float, end_min: float = math.inf, incident_type: str | None = None
) -> RecordTable:
    """The records of incidents in the measured window (:func:`in_window`), of one type if given.

    Records given one by one (named tuples) or as a :class:`~sim.engine.records.RecordTable`; the
    answer is a table (iterate it for the records).
    """
    table = incident_table(records)
    keep = in_window(table.column("occurred_min"), warmup_min, end_min)
    if incident_type is not None:
        keep &= _is(table, "incident_type", incident_type)
    return table.select(keep)


def reported(records: Iterable[IncidentRecord], warmup_min: float) -> RecordTable:
    """The measured incidents whose times the response figures count: campaign finds left out.

    A matter a joint campaign found (channel ``campaign``) is reported apart, in the summary's
    ``campaigns`` block; :func:`summarise` leaves it out of every response figure, and so do plug-in
    metrics (:class:`sim.stats.plugins.MetricInput`).
    """
    table = incident_table(records)
    return table.select(counted(table, warmup_min))


def _is(table: RecordTable, name: str, value) -> np.ndarray:
    """Where string field *name* of *table* equals *value* (a boolean mask)."""
    return table.codes(name) == table.code_of(name, value)


def time_stats(times_by_replication: Sequence[CensoredTimes], confidence: float = CONFIDENCE) -> dict | None:
    """Statistics of durations that may be censored, pooled over replications, with intervals.

    Keys: ``n`` (matters: reached and not), ``reached``, ``not_reached`` and ``share_not_reached``;
    ``mean`` (mean of the replications' restricted means; ``mean_is_lower_bound`` when something
    is censored); ``median``, ``p90``, ``p95`` (Kaplan–Meier quantiles of the pooled durations; a
    quantile beyond the longest follow-up is ``None`` and ``<key>_more_than`` holds that follow-up).
    From :data:`MIN_INTERVAL_REPLICATIONS` replications, ``ci_low``/``ci_high`` is the t-interval
    on the mean (lower bound at least 0); from :data:`MIN_BOOTSTRAP_REPLICATIONS`,
    ``median_ci_low``/``median_ci_high`` and ``p90_ci_low``/``p90_ci_high`` are replication
    bootstrap intervals of the same quantiles (a high end beyond what was observed is ``None``).
    ``None`` when there are no matters at all.
    """
    reps = [t for t in times_by_replication if t.n]
    if not reps:
        return None
    pooled = (  # one replication is its own pool (then sorted once, for the quantiles and the mean alike)
        reps[0]
        if len(reps) == 1
        else CensoredTimes(np.concatenate([t.minutes for t in reps]), np.concatenate([t.observed for t in reps]))
    )
    censored = pooled.censored
    out: dict = {
        "n": pooled.n,
        "reached": pooled.n - censored,
        "not_reached": censored,
        "share_not_reached": censored / pooled.n,
    }
    means = [m for m in map(restricted_mean, reps) if m is not None]  # every rep has matters: none is None
    out["mean"] = float(np.mean(means))
    out["mean_is_lower_bound"] = censored > 0
    for key, value in zip(("median", "p90", "p95"), km_quantiles(pooled, (0.5, 0.9, 0.95))):
        out[key] = value
        if value is None:
            out[f"{key}_more_than"] = pooled.followed_min
    interval = t_interval(means, confidence) if len(times_by_replication) >= MIN_INTERVAL_REPLICATIONS else None
    if interval:
        out["ci_low"], out["ci_high"] = max(0.0, interval[0]), interval[1]
    for key, (low, high) in _quantile_intervals(times_by_replication, confidence).items():
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = low, high
    return out


def _quantile_intervals(times_by_replication: Sequence[CensoredTimes], confidence: float) -> dict:
    """Replication-bootstrap intervals of the pooled median and p90 (censoring respected)."""
    if len(times_by_replication) < MIN_BOOTSTRAP_REPLICATIONS or not any(t.n for t in times_by_replication):
        return {}
    if all(t.censored == 0 for t in times_by_replication):
        found = replication_bootstrap([t.minutes for t in times_by_replication], (50, 90), confidence)
        return {key: found[p] for key, p in (("median", 50), ("p90", 90)) if found and p in found}
    r = len(times_by_replication)
    counts = np.random.default_rng(BOOTSTRAP_SEED).multinomial(r, [1 / r] * r, size=BOOTSTRAP_RESAMPLES)
    estimates = weighted_km_quantiles(times_by_replication, counts, (0.5, 0.9))
    tail = 100 * (1 - confidence) / 2
    out = {}
    for key, column in zip(("median", "p90"), estimates.T):
        column = column[~np.isnan(column)]
        if column.size:
            low, high = np.percentile(column, [tail, 100 - tail], method="inverted_cdf")
            out[key] = (None if math.isinf(low) else float(low), None if math.isinf(high) else float(high))
    return out


def censored_times(records: Iterable[IncidentRecord], end_min: float, stage: str) -> CensoredTimes:
    """Detected-to-*stage* durations of detected matters, censored when not reached.

    *stage* is the record field that ends the duration: ``on_scene_min``, ``resolved_min`` or
    ``closed_min``. A matter not reached is censored at the run's end, or, if it ended by itself
    before anyone was on scene (``ended_min``), at that end: after it, nobody could reach it.
    """
    table = incident_table(records)
    starts = table.column("detected_min")
    detected = ~np.isnan(starts)
    starts = starts[detected]
    ends = table.column(stage)[detected]
    natural = table.column("ended_min")[detected]
    observed = ~np.isnan(ends)
    censor_at = np.where(np.isnan(natural), end_min, np.minimum(natural, end_min))
    return CensoredTimes(np.where(observed, ends, censor_at) - starts, observed)


def _per_type(table: RecordTable, values: Mapping[str, float | None], default: float = math.nan) -> np.ndarray:
    """Each record's value of a per-type mapping (*default* for a type missing or ``None``), as floats."""
    lookup = [values.get(name, default) for name in table.categories("incident_type")]
    lookup = [default if v is None else float(v) for v in lookup]
    return np.asarray(lookup + [default], dtype=float)[table.codes("incident_type")]


def closure_deadlines(
    per_rep: Sequence[Iterable[IncidentRecord]], ends: Sequence[float], deadlines: Mapping[str, float | None]
) -> tuple[float | None, float | None]:
    """Shares of closed-loop cases closed by their type's deadline, and overdue (on time + overdue = 1).

    A case is judged once its deadline has passed within the run: closed by ``detected +
    deadline`` is on time; closed later, or still open when the deadline passed, is overdue. A case
    still open at the end of the run before its deadline came is not judged (neither). Types without
    a deadline, undetected matters and modes without the loop (no case ever closed) give ``None``.
    """
    on_time = judged = 0
    any_closed = False
    for recs, end in zip(per_rep, ends):
        table = incident_table(recs)
        closed, detected = table.column("closed_min"), table.column("detected_min")
        any_closed = any_closed or bool((~np.isnan(closed)).any())
        deadline = _per_type(table, deadlines)
        with np.errstate(invalid="ignore"):
            considered = ~np.isnan(deadline) & ~np.isnan(detected)
            closure = closed - detected
            in_time = considered & (closure <= deadline)
            late = considered & ~(closure <= deadline) & (~np.isnan(closure) | (end - detected >= deadline))
        on_time += int(np.count_nonzero(in_time))
        judged += int(np.count_nonzero(in_time)) + int(np.count_nonzero(late))
    if judged == 0 or not any_closed:
        return None, None
    return on_time / judged, (judged - on_time) / judged


def reopens(records: Iterable[IncidentRecord]) -> tuple[float | None, float | None]:
    """Reopen rate (share of checked cases reopened at least once) and checks per case (1 + reopens, mean).

    A case counts once it has been checked: closed, or reopened at least once.
    """
    table = incident_table(records)
    return _reopens(table.column("closed_min"), table.column("reopened"))


def _reopens(closed: np.ndarray, reopened: np.ndarray) -> tuple[float | None, float | None]:
    checked = reopened[~np.isnan(closed) | (reopened > 0)]
    if not checked.size:
        return None, None
    return int(np.count_nonzero(checked)) / checked.size, 1.0 + int(checked.sum()) / checked.size


def _within_target(table: RecordTable, targets: Mapping[str, float]) -> np.ndarray:
    """Whether each detected matter was reached within its type's target, leaving out what cannot be known.

    A matter that ended by itself before anyone came missed the target if it lasted longer than
    the target after it was found; if it ended sooner, nobody knows whether the target would have
    been met, so it is left out.
    """
    target = np.asarray([targets.get(name, math.nan) for name in table.categories("incident_type")] + [math.nan])[
        table.codes("incident_type")
    ]
    detected_at = table.column("detected_min")
    ended_at = table.column("ended_min")
    detected, ended = ~np.isnan(detected_at), ~np.isnan(ended_at)
    with np.errstate(invalid="ignore"):
        lasted_long = ended_at - detected_at > target
        met = table.column("on_scene_min") - detected_at <= target
    known = detected & (~ended | lasted_long)
    return np.where(ended, False, met)[known]


def duplicate_stats(records: Iterable[IncidentRecord], jobs: Sequence[JobRecord]) -> dict:
    """Duplicated enforcement of *records*: visits, the unit-minutes they took, matters handled twice.

    ``duplicate_visits`` counts finished duplicate visits, ``duplicate_unit_min`` their unit time
    (dispatched to done, from *jobs*, the job records of these matters) and ``handled_more_than_once``
    the matters with at least one; ``left_by_all`` counts matters every claiming department first
    left to another.
    """
    table = incident_table(records)
    return _duplicates(table.column("duplicate_visits"), table.column("left_by_all"), jobs)


def _duplicates(visits: np.ndarray, left_by_all: np.ndarray, jobs: Sequence[JobRecord]) -> dict:
    return {
        "duplicate_visits": int(visits.sum()),
        "duplicate_unit_min": float(sum(j.busy_min for j in jobs if j.duplicate)),
        "handled_more_than_once": int(np.count_nonzero(visits > 0)),
        "left_by_all": int(np.count_nonzero(left_by_all)),
    }


def _pooled(per_rep: Sequence[RecordTable], name: str) -> np.ndarray:
    """A numeric field of every replication, one after another (one replication's as it is, not copied)."""
    if len(per_rep) == 1:
        return per_rep[0].column(name)
    return np.concatenate([t.column(name) for t in per_rep]) if per_rep else np.zeros(0)


def _group_stats(
    per_rep: Sequence[Iterable[IncidentRecord]],
    ends: Sequence[float],
    targets: Mapping[str, float],
    jobs: Sequence[JobRecord] = (),
    deadlines: Mapping[str, float | None] | None = None,
) -> dict:
    tables = [incident_table(recs) for recs in per_rep]
    incidents = sum(len(t) for t in tables)
    detected_at = _pooled(tables, "detected_min")
    detected = ~np.isnan(detected_at)
    ended = ~np.isnan(_pooled(tables, "ended_min"))
    reached = detected & ~np.isnan(_pooled(tables, "on_scene_min"))
    on_the_spot = detected & _pooled(tables, "on_the_spot").astype(bool)
    resolved = ~np.isnan(_pooled(tables, "resolved_min"))
    within = np.concatenate([_within_target(t, targets) for t in tables]) if tables else np.zeros(0, dtype=bool)
    dispatched = [t.select(~t.column("on_the_spot")) for t in tables]
    has_loop = bool((~np.isnan(_pooled(tables, "closed_min"))).any())
    on_time, overdue = closure_deadlines(tables, ends, deadlines or {})
    reopen_rate, checks = _reopens(_pooled(tables, "closed_min"), _pooled(tables, "reopened"))
    layer_counts = {layer: sum(int(np.count_nonzero(_is(t, "layer", layer))) for t in tables) for layer in LAYER_NAMES}
    n_reached = int(np.count_nonzero(reached))
    return {
        "incidents": incidents,
        "detected": int(np.count_nonzero(detected)),
        "undetected": incidents - int(np.count_nonzero(detected)),
        "response_min": time_stats([censored_times(t, end, "on_scene_min") for t, end in zip(tables, ends)]),
        "dispatched_response_min": time_stats(
            [censored_times(t, end, "on_scene_min") for t, end in zip(dispatched, ends)]
        ),
        "resolution_min": time_stats([censored_times(t, end, "resolved_min") for t, end in zip(tables, ends)]),
        "closure_min": time_stats([censored_times(t, end, "closed_min") for t, end in zip(tables, ends)])
        if has_loop
        else None,
        "within_target": float(np.mean(within)) if within.size else None,
        "on_the_spot": int(np.count_nonzero(on_the_spot)) / n_reached if n_reached else None,
        "unresolved": int(np.count_nonzero(detected & ~resolved & ~ended)),
        "ended_unattended": int(np.count_nonzero(detected & ended)),
        "ended_undetected": int(np.count_nonzero(ended & ~detected)),
        "follow_ups": int(_pooled(tables, "follow_ups").sum()),
        **_duplicates(_pooled(tables, "duplicate_visits"), _pooled(tables, "left_by_all"), jobs),
        "seen_not_handled": int(_pooled(tables, "seen_not_handled").sum()),
        "referrals": int(_pooled(tables, "referrals").sum()),
        "bounces": int(_pooled(tables, "bounces").sum()),
        "layers": layer_counts,
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
) -> ModeSummary:
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
    tables = [incident_table(o.records) for o in outputs]
    per_rep = [t.select(counted(t, warmup_min)) for t in tables]  # campaign finds are reported apart
    ends = [o.end_min for o in outputs]
    with_campaigns = any(getattr(o, "campaigns", None) is not None for o in outputs)
    if with_campaigns:
        found = [t.select(in_window(t.column("occurred_min"), warmup_min) & campaign_finds(t)) for t in tables]
    targets = {name: (targets or {}).get(name, target_min) for name in type_names}
    jobs = _measured_jobs(outputs, per_rep)
    summary: Any = {"replications": len(outputs), **_group_stats(per_rep, ends, targets, jobs, deadlines)}
    departments = outputs[0].busy_min.keys() if outputs else ()
    summary["utilisation"] = {
        d: _ratio(sum(o.busy_min[d] for o in outputs), sum(o.on_duty_min[d] for o in outputs)) for d in departments
    }
    summary["backlog"] = sum(o.backlog for o in outputs)
    summary["by_channel"] = _channel_stats(per_rep, ends)
    summary["by_type"] = {
        name: _group_stats(
            [t.select(_is(t, "incident_type", name)) for t in per_rep],
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


def campaign_stats(outputs: Sequence, found: Sequence[Iterable[IncidentRecord]], ends: Sequence[float]) -> dict:
    """Joint campaigns over replications (totals, like the summary's counts): their time, finds and deterrence.

    ``unit_hours`` per department are the hours its units spent on campaigns (off response duty);
    ``found`` per incident type the matters campaigns found, of which ``found_on_the_spot`` were
    settled by the campaign and the rest dispatched (their response in ``found_dispatched_response_min``);
    ``deterred`` per type the arrivals deterrence prevented. All within the measured window.
    """
    runs = [o.campaigns for o in outputs if getattr(o, "campaigns", None) is not None]
    records = [r for recs in found for r in recs]
    dispatched = [[r for r in recs if not r.on_the_spot] for recs in found]
    types = sorted({r.incident_type for r in records} | {k for run in runs for k in run.deterred})

    def total(attribute: str) -> dict:
        keys = dict.fromkeys(k for run in runs for k in getattr(run, attribute))
        return {k: sum(getattr(run, attribute).get(k, 0) for run in runs) for k in keys}

    return {
        "unit_hours": {k: v / 60.0 for k, v in total("unit_min").items()},
        "planned_unit_hours": {k: v / 60.0 for k, v in total("planned_unit_min").items()},
        "sessions": total("sessions"),
        "found": {t: sum(1 for r in records if r.incident_type == t) for t in types},
        "found_on_the_spot": sum(1 for r in records if r.on_the_spot),
        "found_dispatched_response_min": time_stats(
            [censored_times(recs, end, "on_scene_min") for recs, end in zip(dispatched, ends)]
        )
        if any(dispatched)
        else None,
        "deterred": {t: sum(run.deterred.get(t, 0) for run in runs) for t in types},
    }


def _measured_jobs(outputs: Sequence, per_rep: Sequence[RecordTable]) -> list[JobRecord]:
    """The duplicate visits to measured matters, over replications (incident numbers are per replication)."""
    out = []
    for output, records in zip(outputs, per_rep):
        jobs = job_table(output.jobs)
        duplicates = list(jobs.select(jobs.column("duplicate")))
        if duplicates:
            numbers = set(records.column("incident").tolist())
            out += [j for j in duplicates if j.incident in numbers]
    return out


def _channel_stats(per_rep: Sequence[RecordTable], ends: Sequence[float]) -> dict:
    """Response by the channel that reported the matter (patrol, grid worker, hotline, camera, …).

    A planner sees which channel the reform speeds up: patrol finds handled on the spot have a
    response of 0, while reports through the hotline wait for the referral chain.
    """
    present: set[str] = set()
    for t in per_rep:
        names = t.categories("channel")
        present.update(names[c] for c in np.unique(t.codes("channel")).tolist())
    channels = sorted(c for c in present if c)
    out = {}
    for channel in channels:
        picked = [t.select(_is(t, "channel", channel)) for t in per_rep]
        out[channel] = {
            "detected": sum(len(t) for t in picked),
            "response_min": time_stats([censored_times(t, end, "on_scene_min") for t, end in zip(picked, ends)]),
        }
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


# --------------------------------------------------------------------------- metrics by path


def metric_value(summary: Mapping, path: str) -> float | None:
    """The number at dotted *path* in a mode's summary (None where the statistic is of nothing).

    Raises
    ------
    KeyError
        If *path* names nothing a summary can hold.
    """
    node = summary
    for part in path.split("."):
        if node is None:
            return None
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"no metric '{path}' ('{part}' is not in the summary)")
        node = node[part]
    if isinstance(node, Mapping):
        raise KeyError(f"'{path}' is a group of metrics, not one; e.g. '{path}.{next(iter(node), 'mean')}'")
    return None if node is None else float(node)


def metric_paths(type_names: Sequence[str], department_names: Sequence[str]) -> list[str]:
    """Every metric a run's summary holds, as dotted paths (for validation and "did you mean")."""

    def group(prefix: str) -> list[str]:
        times = [f"{prefix}{t}.{k}" for t in TIME_GROUPS for k in TIME_KEYS]
        return times + [f"{prefix}{k}" for k in GROUP_KEYS]

    paths = group("") + ["backlog"] + [f"utilisation.{d}" for d in department_names]
    for name in type_names:
        paths += group(f"by_type.{name}.")
    return paths


# --------------------------------------------------------------------------- tables of runs


def summarise_runs(
    runs: Sequence[Mapping], parameters: Sequence[str], metrics: Sequence[str], confidence: float = CONFIDENCE
) -> list[dict]:
    """One row per (point, mode) from rows of single runs, in the order the runs come.

    Each row holds ``point``, the parameters, ``mode``, ``replications`` (runs that did not
    fail), ``failed``, and for each metric its ``.mean``, ``.ci_low`` and ``.ci_high`` over
    replications. Rows of a mode other than the first of the point also hold ``vs`` (the first
    mode) and, per metric, the paired difference from it, replication by replication:
    ``.diff``, ``.diff_ci_low``, ``.diff_ci_high``, ``.p_value``.
    """
    groups: dict[tuple, list[Mapping]] = {}
    for row in runs:
        groups.setdefault((row["point"], row["mode"]), []).append(row)
    baselines: dict = {}
    out = []
    for (point, mode), rows in groups.items():
        baseline = baselines.setdefault(point, (mode, rows))
        out.append(_summary_row(point, mode, rows, baseline, parameters, metrics, confidence))
    return out


def _summary_row(point, mode, rows, baseline, parameters, metrics, confidence) -> dict:
    ok = [r for r in rows if not r.get("error")]
    row = {"point": point, **{p: rows[0].get(p) for p in parameters}, "mode": mode}
    row.update(replications=len(ok), failed=len(rows) - len(ok), vs=None if baseline[0] == mode else baseline[0])
    base_ok = {r["replication"]: r for r in baseline[1] if not r.get("error")}
    for metric in metrics:
        stats_ = describe([r.get(metric) for r in ok], confidence)
        row.update(
            {
                f"{metric}.mean": stats_["mean"],
                f"{metric}.ci_low": stats_["ci_low"],
                f"{metric}.ci_high": stats_["ci_high"],
            }
        )
        paired = [(base_ok[r["replication"]].get(metric), r.get(metric)) for r in ok if r["replication"] in base_ok]
        diff = paired_difference([a for a, _ in paired], [b for _, b in paired], confidence) if row["vs"] else {}
        row.update(
            {
                f"{metric}.diff": diff.get("mean_difference"),
                f"{metric}.diff_ci_low": diff.get("ci_low"),
                f"{metric}.diff_ci_high": diff.get("ci_high"),
                f"{metric}.p_value": diff.get("p_value"),
            }
        )
    return row
