"""Numbers and tables for people: the formatting shared by the report, the guide and the command line.

Light on purpose (the standard library and the message catalog only), so the command line can print without loading the
figures, numpy or the scenario schema; ``tests/cli/test_startup.py`` checks it stays so.
"""

from __future__ import annotations

import math

from sim.presentation.i18n import _, display_width, pad, term

MINUTES_PER_DAY = 24 * 60  # as sim.scenario.schedule.MINUTES_PER_DAY, without importing the scenario layer

__all__ = ["format_minutes", "format_time_stat", "share", "stat", "text_table"]


def format_minutes(minutes: float | None) -> str:
    """A duration for people: ``12.8 min``, ``18.7 h``, ``2.3 days`` (``-`` for none)."""
    if minutes is None or not math.isfinite(minutes):
        return "-"
    if minutes < 0.05:
        return _("0 min")
    if minutes < 90:
        return _("{value} min").format(value=f"{minutes:.1f}" if minutes < 10 else f"{minutes:.0f}")
    if minutes < 2 * MINUTES_PER_DAY:
        return _("{value} h").format(value=f"{minutes / 60:.1f}")
    return _("{value} days").format(value=f"{minutes / MINUTES_PER_DAY:.1f}")


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
    widths = [max(display_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [pad(str(row[0]), widths[0])] + [pad(str(c), w, right=True) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


MANY_CENTRES = 20
"""A centre level with more centres than this is one row of utilisation tables, not a row per centre."""


def utilisation_rows(
    by_mode: list[dict[str, float | None]], centre_levels: dict[str, str] | None = None, many: int = MANY_CENTRES
) -> list[tuple[str, list[str]]]:
    """The rows of a utilisation table: (resource key or level label, a cell per mode).

    Departments and centres each get a row of their share busy (as :func:`share`). A level of more
    than *many* centres (*centre_levels*: ``centre:<name>`` -> level, e.g. Jinjiang's 440 village
    sub-centres) gets one row instead, whose cell is the median share over its centres with the
    lowest and highest, ``1% (0-5%)``: a table a person reads, not one of hundreds of rows. Keys keep
    their order of first appearance across modes (centres appear only in modes that use them).
    """
    keys = list(dict.fromkeys(key for util in by_mode for key in util))
    levels = centre_levels or {}
    members: dict[str, list[str]] = {}
    for key in keys:
        if key in levels:
            members.setdefault(levels[key], []).append(key)
    grouped = {level: group for level, group in members.items() if len(group) > many}
    rows: list[tuple[str, list[str]]] = []
    for key in keys:
        level = levels.get(key)
        if level not in grouped:
            rows.append((key, [share(util.get(key)) for util in by_mode]))
        elif grouped[level][0] == key:  # the level's row, where its first centre would be
            label = _("centre:{level} ({count} centres): median (lowest-highest)").format(
                level=term(level), count=len(grouped[level])
            )
            rows.append((label, [_spread_of_shares([util.get(k) for k in grouped[level]]) for util in by_mode]))
    return rows


def _spread_of_shares(values: list[float | None]) -> str:
    """The median of the shares present with their range, ``1% (0-5%)``; ``-`` when there are none."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return "-"
    n = len(present)
    median = present[n // 2] if n % 2 else (present[n // 2 - 1] + present[n // 2]) / 2
    return f"{share(median)} ({100 * present[0]:.0f}-{share(present[-1])})"


def progress_label(mode: str, replication: int) -> str:
    """Which run a progress bar is of: its mode and replication (from 1)."""
    return _("{mode}, replication {replication}").format(mode=mode, replication=replication + 1)


def progress_text(mode: str, replication: int, minute: float, end_min: float) -> str:
    """How far a run has got, in words: its mode, replication (from 1), simulated day of days and share."""
    days = max(1, math.ceil(end_min / MINUTES_PER_DAY))
    day = min(days, int(minute // MINUTES_PER_DAY))
    return _("{mode}, replication {replication}: day {day} of {days} ({share}%)").format(
        mode=mode,
        replication=replication + 1,
        day=day,
        days=days,
        share=round(100 * minute / end_min) if end_min > 0 else 100,
    )
