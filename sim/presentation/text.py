"""Numbers and tables for people: the formatting shared by the report, the guide and the command line.

Light on purpose (the standard library only), so the command line can print without loading the
figures, numpy or the scenario schema; ``tests/cli/test_startup.py`` checks it stays so.
"""

from __future__ import annotations

import math

MINUTES_PER_DAY = 24 * 60  # as sim.scenario.schedule.MINUTES_PER_DAY, without importing the scenario layer

__all__ = ["format_minutes", "format_time_stat", "share", "stat", "text_table"]


def format_minutes(minutes: float | None) -> str:
    """A duration for people: ``12.8 min``, ``18.7 h``, ``2.3 days`` (``-`` for none)."""
    if minutes is None or not math.isfinite(minutes):
        return "-"
    if minutes < 0.05:
        return "0 min"
    if minutes < 90:
        return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
    if minutes < 2 * MINUTES_PER_DAY:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / MINUTES_PER_DAY:.1f} days"


def format_time_stat(stats: dict | None, key: str) -> str:
    """A censored time statistic of a summary for people.

    ``12.8 min``, or ``> 3.2 days`` when the quantile lies beyond the longest follow-up (see
    :mod:`sim.stats.survival`), ``-`` for nothing.
    """
    if stats is None:
        return "-"
    if stats.get(key) is None and stats.get(f"{key}_more_than") is not None:
        return "> " + format_minutes(stats[f"{key}_more_than"])
    return format_minutes(stats.get(key))


def share(value: float | None) -> str:
    """A share as a whole percentage, ``83%`` (``-`` for none)."""
    return "-" if value is None else f"{100 * value:.0f}%"


def stat(stats: dict | None, key: str):
    """``stats[key]``, or ``None`` when there are no statistics (a summary's ``null``)."""
    return None if not stats else stats.get(key)


def text_table(header: list[str], rows: list[list[str]], rule: bool = True) -> str:
    """A plain-text table: the first column left-aligned, the rest right-aligned, with a rule under the header."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(row[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
