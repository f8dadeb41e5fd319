"""Times that may be censored: the Kaplan–Meier estimator, its quantiles and restricted mean.

A matter found before the run ends but not reached by then has a response time of *at least*
``end - detected``: its time is right-censored, not missing. Dropping such matters would make the
worse-coping way of working look better (its slowest matters vanish from its median), so every
time statistic here treats them as censored:

* quantiles come from the Kaplan–Meier estimate of the distribution: the p-quantile is the
  smallest time ``t`` with ``F(t) >= p`` (with no censoring this is the empirical quantile,
  numpy's ``method="inverted_cdf"``). When fewer than a share ``p`` of matters were reached by the
  longest time anyone was followed, the quantile is *beyond what was observed*: it is reported as
  "more than" that time, never as a number computed from the reached ones;
* the mean is the restricted mean (the area under the survival curve up to the longest follow-up):
  the sample mean when nothing is censored, and a lower bound of the mean when something is.

With weights (a bootstrap resample that draws replication ``r`` ``k`` times gives its matters
weight ``k``), the same estimator is computed for many weightings at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["CensoredTimes", "km_quantiles", "reached_curve", "restricted_mean", "weighted_km_quantiles"]

_EPS = 1e-12


@dataclass(frozen=True)
class CensoredTimes:
    """Durations, each either observed (the stage happened) or censored (still waiting at the end).

    Attributes
    ----------
    minutes:
        Durations in minutes: the observed time, or the time until the run ended.
    observed:
        True where the stage happened, False where the duration is censored.
    """

    minutes: np.ndarray
    observed: np.ndarray

    @classmethod
    def of(cls, minutes: Sequence[float], observed: Sequence[bool]) -> CensoredTimes:
        """Build from sequences (copied into float and bool arrays)."""
        return cls(np.asarray(minutes, dtype=float), np.asarray(observed, dtype=bool))

    @property
    def n(self) -> int:
        """How many durations (observed and censored)."""
        return int(self.minutes.size)

    @property
    def censored(self) -> int:
        """How many are censored."""
        return int(self.minutes.size - np.count_nonzero(self.observed))

    @property
    def followed_min(self) -> float:
        """The longest time anyone was followed (observed or censored), minutes."""
        return float(self.minutes.max()) if self.minutes.size else 0.0


def _sorted(times: CensoredTimes) -> tuple[np.ndarray, np.ndarray]:
    """Durations in increasing order; at a tie, observed before censored (censored are still at risk).

    Sorted once per set of times (quantiles and the restricted mean both need it).
    """
    cached = times.__dict__.get("_sorted")
    if cached is None:
        cached = _merged(times.minutes, times.observed)
        times.__dict__["_sorted"] = cached
    return cached


def _merged(minutes: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """*minutes* sorted, each with its *observed*; at a tie, observed first: what ``np.lexsort((~observed, minutes))`` orders.

    The observed and the censored durations are sorted apart (numpy sorts values several times quicker
    than it sorts indices by two keys) and merged: a censored duration goes after every observed one
    not longer. Durations that are equal are the same number, so their order does not show, except
    between 0.0 and -0.0 and among NaNs: with those a stable sort keeps them in their order, as
    ``lexsort`` does.
    """
    kind: Literal["stable", "quicksort"] = "quicksort"
    if np.isnan(minutes).any() or np.signbit(minutes[minutes == 0]).any():
        kind = "stable"
    found = np.sort(minutes[observed], kind=kind)
    waiting = np.sort(minutes[~observed], kind=kind)
    at = np.searchsorted(found, waiting, side="right") + np.arange(len(waiting))
    merged_observed = np.ones(len(minutes), dtype=bool)
    merged_observed[at] = False
    merged = np.empty(len(minutes), dtype=minutes.dtype)
    merged[at] = waiting
    merged[merged_observed] = found
    return merged, merged_observed


def _survival_steps(minutes: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """S after each sorted duration (the product-limit, one factor per observed matter).

    Processing tied events one at a time gives the same product as one factor per distinct time:
    ``(n-1)/n * (n-2)/(n-1) * ... = (n-d)/n``.
    """
    at_risk = np.arange(minutes.size, 0, -1, dtype=float)
    factors = np.where(observed, 1.0 - 1.0 / at_risk, 1.0)
    return np.cumprod(factors)


def km_quantiles(times: CensoredTimes, shares: Sequence[float]) -> list[float | None]:
    """The Kaplan–Meier quantiles at *shares* (0–1); ``None`` where beyond what was observed.

    Parameters
    ----------
    times:
        The durations and whether each was observed.
    shares:
        The quantiles wanted, e.g. ``(0.5, 0.9)``.

    Returns
    -------
    list
        For each share, the smallest duration ``t`` with ``1 - S(t) >= share``, or ``None`` when
        the estimate never reaches the share (then the quantile is more than
        :attr:`CensoredTimes.followed_min`).
    """
    if times.n == 0:
        return [None for _ in shares]
    minutes, observed = _sorted(times)
    reached = 1.0 - _survival_steps(minutes, observed)
    out: list[float | None] = []
    for share in shares:
        hits = np.flatnonzero(observed & (reached >= share - _EPS))
        out.append(float(minutes[hits[0]]) if hits.size else None)
    return out


def reached_curve(times: CensoredTimes) -> tuple[np.ndarray, np.ndarray]:
    """The estimated share reached, ``1 - S(t)``, after each sorted duration (for a step plot).

    Returns
    -------
    tuple of numpy.ndarray
        Durations in increasing order (minutes) and the share reached just after each. It stays
        below 1 at the end when matters were still waiting when the run ended.
    """
    minutes, observed = _sorted(times)
    return minutes, 1.0 - _survival_steps(minutes, observed)


def restricted_mean(times: CensoredTimes) -> float | None:
    """The area under the survival curve up to the longest follow-up, minutes.

    With nothing censored this is the sample mean; with censoring it is a lower bound of the
    mean (the matters still waiting would add more). ``None`` for no durations.
    """
    if times.n == 0:
        return None
    minutes, observed = _sorted(times)
    survival = _survival_steps(minutes, observed)
    edges = np.concatenate(([0.0], minutes))
    levels = np.concatenate(([1.0], survival[:-1]))
    return float(np.sum(levels * np.diff(edges)))


def weighted_km_quantiles(
    times_by_replication: Sequence[CensoredTimes],
    counts: np.ndarray,
    shares: Sequence[float],
    chunk: int = 64,
) -> np.ndarray:
    """Kaplan–Meier quantiles when replication ``r`` is drawn ``counts[b, r]`` times.

    Parameters
    ----------
    times_by_replication:
        Each replication's durations.
    counts:
        Shape (resamples, replications): how often each replication is drawn.
    shares:
        The quantiles wanted (0–1).
    chunk:
        Resamples computed together (bounds memory at ``chunk x matters`` floats).

    Returns
    -------
    numpy.ndarray
        Shape (resamples, len(shares)): the quantile, ``inf`` where beyond what was observed, and
        ``nan`` for a resample that drew no matters.
    """
    pooled = CensoredTimes(
        np.concatenate([t.minutes for t in times_by_replication]),
        np.concatenate([t.observed for t in times_by_replication]),
    )
    owner = np.repeat(np.arange(len(times_by_replication)), [t.n for t in times_by_replication])
    order = np.lexsort((~pooled.observed, pooled.minutes))
    minutes, observed, owner = pooled.minutes[order], pooled.observed[order], owner[order]
    out = np.full((len(counts), len(shares)), np.nan)
    if minutes.size == 0:
        return out
    for start in range(0, len(counts), chunk):
        weights = counts[start : start + chunk][:, owner].astype(float)  # (b, matters)
        at_risk = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            factors = np.where(observed & (weights > 0), 1.0 - weights / at_risk, 1.0)
        reached = 1.0 - np.cumprod(factors, axis=1)
        total = weights.sum(axis=1)
        for j, share in enumerate(shares):
            hit = (reached >= share - _EPS) & observed & (weights > 0)
            first = hit.argmax(axis=1)
            value = np.where(hit.any(axis=1), minutes[first], np.inf)
            out[start : start + chunk, j] = np.where(total > 0, value, np.nan)
    return out
