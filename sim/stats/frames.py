"""A comparison's summary as one tidy table: a row per mode × incident type × statistic.

:func:`summary_rows` flattens the ``modes`` of a summary (``summary.json``, or
:attr:`sim.Comparison.summary`) and :func:`summary_frame` makes the rows a pandas DataFrame. Each row
has ``mode``, ``incident_type`` (``"all"`` for the whole of a mode), ``statistic`` (the dotted path
inside the group, such as ``response_min.median`` or ``within_target``), ``estimate``, its interval
``lower`` and ``upper`` (NaN where the summary gives none: see :mod:`sim.stats.metrics` for when
intervals exist) and ``n`` (the matters a time statistic is computed over; NaN for other statistics).
Utilisation and backlog are rows of type ``"all"``; the summary's own values are copied, never
recomputed, so the table says exactly what ``summary.json`` says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["ALL_TYPES", "SUMMARY_FRAME_COLUMNS", "summary_frame", "summary_rows"]

ALL_TYPES = "all"
"""The ``incident_type`` of the rows about every incident of a mode."""
SUMMARY_FRAME_COLUMNS = ("mode", "incident_type", "statistic", "estimate", "lower", "upper", "n")
"""The columns of :func:`summary_frame`, in order."""

_INTERVALS = {"mean": ("ci_low", "ci_high"), "median": ("median_ci_low", "median_ci_high")}
_INTERVALS["p90"] = ("p90_ci_low", "p90_ci_high")
_TIME_STATISTICS = ("mean", "median", "p90", "p95", "share_not_reached")
_SKIPPED = {"by_type", "by_channel", "replications"}


def _number(value: Any) -> float:
    """A summary value as a float (NaN for ``None``)."""
    return math.nan if value is None else float(value)


def _time_rows(mode: str, kind: str, name: str, stats: Mapping) -> list[dict]:
    rows = []
    for key in _TIME_STATISTICS:
        low, high = _INTERVALS.get(key, (None, None))
        rows.append(
            {
                "mode": mode,
                "incident_type": kind,
                "statistic": f"{name}.{key}",
                "estimate": _number(stats.get(key)),
                "lower": _number(stats.get(low)) if low else math.nan,
                "upper": _number(stats.get(high)) if high else math.nan,
                "n": float(stats["n"]),
            }
        )
    return rows


def _group_rows(mode: str, kind: str, group: Mapping, prefix: str = "") -> list[dict]:
    rows: list[dict] = []
    for key, value in group.items():
        if key in _SKIPPED:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and "n" in value and "mean" in value:
            rows += _time_rows(mode, kind, name, value)
        elif isinstance(value, Mapping):
            rows += _group_rows(mode, kind, value, f"{name}.")
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            nan = math.nan
            rows.append(
                {
                    "mode": mode,
                    "incident_type": kind,
                    "statistic": name,
                    "estimate": _number(value),
                    "lower": nan,
                    "upper": nan,
                    "n": nan,
                }
            )
    return rows


def summary_rows(summary: Mapping) -> list[dict]:
    """The rows of :func:`summary_frame` as dicts (no pandas needed).

    Parameters
    ----------
    summary : Mapping
        A comparison's summary (the content of ``summary.json``), or one mode's summary under a
        ``modes`` key.
    """
    rows = []
    for mode, stats in summary["modes"].items():
        rows += _group_rows(mode, ALL_TYPES, stats)
        for kind, group in (stats.get("by_type") or {}).items():
            rows += _group_rows(mode, kind, group)
    return rows


def summary_frame(summary: Mapping) -> pd.DataFrame:
    """A comparison's summary as a tidy pandas DataFrame (columns :data:`SUMMARY_FRAME_COLUMNS`).

    Parameters
    ----------
    summary : Mapping
        A comparison's summary (the content of ``summary.json``).

    Returns
    -------
    pandas.DataFrame
        One row per mode × incident type × statistic, with ``estimate``, ``lower``, ``upper``, ``n``.
    """
    from sim.engine.frames import require_pandas

    return require_pandas().DataFrame(summary_rows(summary), columns=list(SUMMARY_FRAME_COLUMNS))
