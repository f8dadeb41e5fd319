"""The shape of a summary, as types: what ``summary.json`` holds and :func:`sim.compare` returns.

A summary stays a plain dict (it is written as JSON as it is); these :class:`~typing.TypedDict`
classes say which keys it has and what each holds, for readers, editors and type checkers. A
statistic of nothing is ``None``. Times are minutes.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "CampaignStats",
    "ChannelStats",
    "GroupStats",
    "ModeSummary",
    "PairedDifference",
    "PairedReport",
    "Summary",
    "TimeStats",
]


class _TimeStatsBase(TypedDict):
    n: int
    reached: int
    not_reached: int
    share_not_reached: float
    mean: float
    mean_is_lower_bound: bool
    median: float | None
    p90: float | None
    p95: float | None


class TimeStats(_TimeStatsBase, total=False):
    """Durations that may be censored, pooled over replications (:func:`sim.stats.metrics.time_stats`).

    Always there: ``n`` (matters), ``reached``, ``not_reached``, ``share_not_reached``, ``mean`` (mean of
    the replications' restricted means), ``mean_is_lower_bound``, and the Kaplan–Meier ``median``,
    ``p90``, ``p95`` (``None`` beyond the longest follow-up). Only when they apply: ``<q>_more_than``
    (the follow-up a missing quantile exceeds), ``ci_low``/``ci_high`` (t-interval on the mean, from 3
    replications), ``median_ci_low``/``median_ci_high`` and ``p90_ci_low``/``p90_ci_high``
    (replication bootstrap, from 5 replications).
    """

    median_more_than: float
    p90_more_than: float
    p95_more_than: float
    ci_low: float
    ci_high: float
    median_ci_low: float | None
    median_ci_high: float | None
    p90_ci_low: float | None
    p90_ci_high: float | None


class GroupStats(TypedDict):
    """The statistics of a group of incidents: a mode's, or one incident type's within it."""

    incidents: int
    detected: int
    undetected: int
    response_min: TimeStats | None
    dispatched_response_min: TimeStats | None
    resolution_min: TimeStats | None
    closure_min: TimeStats | None
    within_target: float | None
    on_the_spot: float | None
    unresolved: int
    ended_unattended: int
    ended_undetected: int
    follow_ups: int
    duplicate_visits: int
    duplicate_unit_min: float
    handled_more_than_once: int
    left_by_all: int
    seen_not_handled: int
    referrals: int
    bounces: int
    layers: dict[str, int]
    closed_on_time: float | None
    closure_overdue: float | None
    reopen_rate: float | None
    checks_per_case: float | None


class ChannelStats(TypedDict):
    """Response by the channel that reported a matter."""

    detected: int
    response_min: TimeStats | None


class CampaignStats(TypedDict):
    """Joint campaigns over replications (:func:`sim.stats.metrics.campaign_stats`), totals like the counts.

    ``unit_hours`` and ``planned_unit_hours`` per department; ``sessions`` per campaign; ``found`` and
    ``deterred`` per incident type; ``found_dispatched_response_min`` the response to the finds the
    campaign could not settle itself (None when it settled them all).
    """

    unit_hours: dict[str, float]
    planned_unit_hours: dict[str, float]
    sessions: dict[str, int]
    found: dict[str, int]
    found_on_the_spot: int
    found_dispatched_response_min: TimeStats | None
    deterred: dict[str, int]


class _ModeSummaryBase(GroupStats):
    replications: int
    utilisation: dict[str, float | None]
    backlog: int
    by_channel: dict[str, ChannelStats]
    by_type: dict[str, GroupStats]


class ModeSummary(_ModeSummaryBase, total=False):
    """One mode's summary (:func:`sim.stats.metrics.summarise`): its group statistics and more.

    ``utilisation`` is busy over on-duty unit time per department; ``backlog`` the jobs still waiting
    at the end, over replications; ``by_channel`` and ``by_type`` the same statistics per channel and
    per incident type; ``campaigns`` only when the scenario has joint campaigns.
    """

    campaigns: CampaignStats


class PairedDifference(TypedDict):
    """Other mode minus baseline, replication by replication (:func:`sim.stats.metrics.paired_difference`)."""

    n: int
    mean_difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


class PairedReport(TypedDict):
    """Each mode's paired differences from the first, per metric."""

    baseline: str
    confidence: float
    test: str
    modes: dict[str, dict[str, PairedDifference]]


class _SummaryBase(TypedDict):
    scenario: str
    seed: int
    version: str
    replications: int
    days: float
    warmup_days: float
    drain_days: float
    target_min: float
    targets_min: dict[str, float]
    modes: dict[str, ModeSummary]


class Summary(_SummaryBase, total=False):
    """A comparison's summary (:func:`sim.experiments.runs.build_summary`; ``summary.json``).

    ``paired`` is there with more than one replication and mode, ``precision`` with a precision rule
    (the rule and the relative half-width reached per mode). In ``summary.json`` a ``provenance``
    block (:class:`sim.io.provenance.Provenance`) stands beside them.
    """

    paired: PairedReport
    precision: dict[str, Any]
