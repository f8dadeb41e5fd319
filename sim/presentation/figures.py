"""Figures that let people see half a day become minutes.

Every plotting function draws on one matplotlib :class:`~matplotlib.axes.Axes`: it takes the
data and an optional ``ax`` and returns the axes (as SALib's plotting modules do). Nothing here
touches pyplot's global state or saves a file; a new figure is a bare
:class:`matplotlib.figure.Figure`, and only :mod:`sim.presentation.files` writes
PNG and SVG files.

The data is a results folder (what ``python -m sim compare SCENARIO --out DIR`` writes) loaded
with :func:`load_results`, or a :class:`~sim.experiments.runs.Comparison` in memory
(:meth:`Results.from_comparison`). Times are minutes throughout; axes say so. A mode has the same
colour in every figure (:func:`mode_colours`, from the colour-blind-safe Okabe-Ito palette).

Figures
-------
:func:`plot_response_ecdf`
    Share of incidents reached within a time, per mode, on a log time axis, target marked.
:func:`plot_response_by_type`
    Median and p90 response per incident type, modes side by side.
:func:`plot_response_map`
    The town's patches coloured by mean response, with bases and sectors.
:func:`plot_utilisation`, :func:`plot_queue`
    A department's busy share and waiting jobs by hour of day.
:func:`plot_timeline`
    One incident's life under each mode, against the desks' office hours.
:func:`plot_sweep`
    A metric against a swept parameter, one line per mode, with confidence bands.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter
from matplotlib.transforms import ScaledTranslation

from sim.engine.campaigns import CAMPAIGN, CampaignPlan
from sim.engine.department import build_roster
from sim.engine.records import JOB_FIELDS, RECORD_FIELDS
from sim.engine.territory import Town, build_town
from sim.engine.trace import Stage, TraceEvent
from sim.presentation import text
from sim.presentation.i18n import N_, figure_language, figure_mode, figure_term, use_language
from sim.presentation.i18n import figure_text as _
from sim.presentation.story import (
    first_of,
    is_arrival,
    is_detection,
    short_stage,
    wait_reason,
)
from sim.presentation.townmap import draw_cameras, draw_outlines
from sim.scenario.schedule import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklyHours
from sim.stats.metrics import in_window
from sim.stats.survival import CensoredTimes, km_quantiles, reached_curve

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = [
    "OKABE_ITO",
    "mode_colours",
    "Results",
    "load_results",
    "read_table",
    "Story",
    "find_story",
    "response_times",
    "hourly_load",
    "plot_response_ecdf",
    "plot_response_by_type",
    "plot_response_map",
    "response_norm",
    "plot_utilisation",
    "plot_queue",
    "plot_timeline",
    "plot_sweep",
    "sweep_columns",
    "comparison_figures",
    "sweep_figures",
    "format_minutes",
    "format_time_stat",
]

# --------------------------------------------------------------------------- colours

OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}
"""The Okabe-Ito palette, distinguishable with every common colour-vision deficiency."""

_PRESET_COLOURS = {"fragmented": "#D55E00", "joint": "#0072B2", "unified": "#009E73"}
_OTHER_COLOURS = ("#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
_DEPARTMENT_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "<", ">")


def mode_colours(modes: Sequence[str]) -> dict[str, str]:
    """The colour of each mode: fixed for the presets, the rest of the palette in order for others.

    Parameters
    ----------
    modes:
        Mode names in the order of the results (``summary.json``).

    Returns
    -------
    dict
        Mode name -> hex colour; the same modes always get the same colours.
    """
    others = iter(_OTHER_COLOURS * (1 + len(modes) // len(_OTHER_COLOURS)))
    return {m: _PRESET_COLOURS[m] if m in _PRESET_COLOURS else next(others) for m in modes}


# --------------------------------------------------------------------------- units


def format_minutes(minutes: float | None) -> str:
    """:func:`sim.presentation.text.format_minutes` in the language figures are drawn in.

    English when Chinese is asked for but no CJK font is installed (:func:`figure_language`).
    """
    with use_language(figure_language()):
        return text.format_minutes(minutes)


def format_time_stat(stats: dict | None, key: str) -> str:
    """:func:`sim.presentation.text.format_time_stat` in the language figures are drawn in."""
    with use_language(figure_language()):
        return text.format_time_stat(stats, key)


_TIME_TICKS = (1, 3, 10, 30, 60, 240, 720, 1440, 4320, 10080, 43200)


def _tick_label(minutes: float) -> str:
    labels: dict[float, str] = {
        1: N_("1 min"),
        60: N_("1 h"),
        1440: N_("1 day"),
        10080: N_("1 week"),
        43200: N_("30 days"),
    }
    if minutes in labels:
        return _(labels[minutes])
    if minutes < 60:
        return _("{value} min").format(value=f"{minutes:g}")
    return (
        _("{value} h").format(value=f"{minutes / 60:g}")
        if minutes < 1440
        else _("{value} days").format(value=f"{minutes / 1440:g}")
    )


def _log_time_axis(axis, low: float, high: float, floor_label: bool = False) -> None:
    """Log-scale minutes with ticks people read: 1 min, 10 min, 1 h, 12 h, 1 day...

    With *floor_label*, the 1-minute tick reads "≤1 min" (values below were drawn at 1).
    """
    ticks = [t for t in _TIME_TICKS if low <= t <= high]
    axis.set_major_locator(FixedLocator(ticks))
    first = _("≤1 min") if floor_label else _("1 min")
    axis.set_major_formatter(FuncFormatter(lambda v, _: first if v == 1 else _tick_label(v)))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _pretty(name: str) -> str:
    return figure_term(name)


def _new_axes(ax: Axes | None, figsize=(8, 5)) -> Axes:
    """The given axes, or the axes of a new bare figure (no pyplot)."""
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


# --------------------------------------------------------------------------- results


RESULT_JSON_BYTES = 100_000_000
"""Largest ``summary.json`` or ``scenario.json`` read from a results folder."""


def read_table(path: str | Path) -> dict[str, np.ndarray]:
    """A CSV file as columns: numbers as float arrays (empty cell = nan), text as object arrays."""
    from sim.io.loader import open_user_file

    with open_user_file(path, "a CSV table of results") as handle:  # a regular file: never a pipe or a device
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    columns = {name: [row[i] for row in body] for i, name in enumerate(header)}
    return {name: _column(values) for name, values in columns.items()}


def _column(values: list[str]) -> np.ndarray:
    if values and all(v in ("True", "False") for v in values):
        return np.array([v == "True" for v in values])
    try:
        return np.array([float(v) if v != "" else math.nan for v in values], dtype=float)
    except ValueError:
        return np.array(values, dtype=object)


@dataclass(frozen=True, eq=False)
class Results:
    """The outputs of a comparison, as columns.

    Attributes
    ----------
    summary:
        ``summary.json``: scenario name, seed, days, warm-up, target, per-mode statistics.
    incidents:
        ``incidents.csv`` as columns (one entry per incident, mode and replication).
    jobs:
        ``jobs.csv`` as columns (one entry per unit visit).
    scenario:
        The resolved scenario (``scenario.json``), or None when the folder has none.
    folder:
        Where the results were read from (None when built in memory).
    """

    summary: dict
    incidents: dict[str, np.ndarray]
    jobs: dict[str, np.ndarray]
    scenario: Scenario | None = None
    folder: Path | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def modes(self) -> list[str]:
        """Mode names in the order of the summary."""
        return list(self.summary["modes"])

    @property
    def colours(self) -> dict[str, str]:
        """Mode -> colour, the same in every figure."""
        return mode_colours(self.modes)

    @property
    def warmup_min(self) -> float:
        """Start of the measured window, minutes."""
        return float(self.summary["warmup_days"]) * MINUTES_PER_DAY

    @property
    def end_min(self) -> float:
        """When the runs ended (horizon plus drain), minutes: unreached matters are censored there."""
        drain = self.summary.get("drain_days")
        if drain is None:
            drain = self.scenario.drain_days if self.scenario is not None else 0.0
        return (float(self.summary["days"]) + float(drain)) * MINUTES_PER_DAY

    @property
    def horizon_min(self) -> float:
        """End of arrivals (and of the measured window), minutes."""
        return float(self.summary["days"]) * MINUTES_PER_DAY

    @property
    def town(self) -> Town:
        """The compiled territory (needs the scenario)."""
        if "town" not in self._cache:
            self._cache["town"] = build_town(self._need_scenario().territory)
        return self._cache["town"]

    def _need_scenario(self) -> Scenario:
        if self.scenario is None:
            raise ValueError("this figure needs the scenario: the results folder has no scenario.json")
        return self.scenario

    @classmethod
    def from_comparison(cls, comparison) -> Results:
        """Results of a :class:`~sim.experiments.runs.Comparison` held in memory (nothing written)."""
        incidents = _columns(
            ("mode", "replication", *RECORD_FIELDS, "response_min", "resolution_min"),
            (
                (m, rep, *(getattr(r, f) for f in RECORD_FIELDS), r.response_min, r.resolution_min)
                for m, rep, r in comparison.records()
            ),
        )
        jobs = _columns(
            ("mode", "replication", *JOB_FIELDS),
            (
                (m, rep, *(getattr(j, f) for f in JOB_FIELDS))
                for m, outs in comparison.outputs.items()
                for rep, o in enumerate(outs)
                for j in o.jobs
            ),
        )
        return cls(comparison.summary, incidents, jobs, comparison.scenario)


def _columns(names: Sequence[str], rows: Iterable[tuple]) -> dict[str, np.ndarray]:
    rows = list(rows)
    columns = {}
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        columns[name] = np.array(values, dtype=float if numeric else object)
    return columns


def load_results(folder: str | Path) -> Results:
    """Read a results folder: ``summary.json``, ``incidents.csv``, ``jobs.csv``, ``scenario.json``.

    Raises
    ------
    ScenarioError
        If the folder has no ``summary.json`` or ``incidents.csv``, or one is not a regular file.
    """
    from sim.io.loader import read_user_text

    folder = Path(folder)
    summary = json.loads(read_user_text(folder / "summary.json", "a summary.json of results", RESULT_JSON_BYTES))
    incidents = read_table(folder / "incidents.csv")
    jobs = read_table(folder / "jobs.csv") if (folder / "jobs.csv").exists() else {}
    scenario = None
    if (folder / "scenario.json").exists():
        from sim.io.loader import scenario_from_dict

        scenario = scenario_from_dict(
            json.loads(read_user_text(folder / "scenario.json", "a scenario.json of results", RESULT_JSON_BYTES))
        )
    return Results(summary, incidents, jobs, scenario, folder)


def _measured(results: Results, mode: str, incident_type: str | None = None) -> np.ndarray:
    """Boolean mask of the incidents of *mode* (and type) that occurred after the warm-up.

    Matters found by joint campaigns are left out, as in the summary's response figures.
    """
    inc = results.incidents
    mask = (inc["mode"] == mode) & in_window(inc["occurred_min"], results.warmup_min)
    if "channel" in inc:
        mask &= inc["channel"] != CAMPAIGN
    if incident_type is not None:
        mask &= inc["incident_type"] == incident_type
    return mask


def response_times(results: Results, mode: str, incident_type: str | None = None) -> CensoredTimes:
    """Response times (minutes) of the measured incidents of *mode* that were found, pooled.

    A matter found but not reached when the run ended is censored at the end (see
    :mod:`sim.stats.survival`), so the worse-coping mode's slowest matters are not dropped.
    """
    inc = results.incidents
    mask = _measured(results, mode, incident_type) & ~np.isnan(inc["detected_min"].astype(float))
    detected = inc["detected_min"][mask].astype(float)
    on_scene = inc["on_scene_min"][mask].astype(float)
    observed = ~np.isnan(on_scene)
    return CensoredTimes(np.where(observed, on_scene, results.end_min) - detected, observed)


# --------------------------------------------------------------------------- response distributions


def plot_response_ecdf(results: Results, ax: Axes | None = None, incident_type: str | None = None) -> Axes:
    """Share of incidents reached within a given time, one curve per mode, log time axis.

    The target is a dashed vertical line; each curve's median and p90 are marked on it (circle,
    triangle) and given in the legend. Responses of 0 (a patrol that may act handles the matter
    on the spot) are drawn at 1 minute, the left edge of the axis.

    Parameters
    ----------
    results:
        A comparison's results.
    ax:
        Axes to draw on; default a new figure's.
    incident_type:
        Only this type of incident (default every type).
    """
    ax = _new_axes(ax)
    colours = results.colours
    high, spot = 1.0, {}
    for k, mode in enumerate(results.modes):
        times = response_times(results, mode, incident_type)
        if times.n == 0:
            continue
        high = max(high, times.followed_min)
        _ecdf_curve(ax, mode, times, colours[mode], mode_linestyle(k))
        spot[mode] = float(np.mean(times.observed & (times.minutes <= 0)))
    target = float(results.summary["target_min"])
    ax.axvline(
        target,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=_("target: {time}").format(time=format_minutes(target)),
    )
    ax.set_xscale("log")
    ax.set_xlim(1.0, high * 1.3)
    _log_time_axis(ax.xaxis, 1.0, high * 1.3, floor_label=True)
    for share, name in ((0.5, _("median ●")), (0.9, _("p90 ▲"))):
        ax.axhline(share, color="#777777", linestyle=":", linewidth=1)
        ax.text(1.05, share, name, va="bottom", ha="left", fontsize=10, color="#555555")
    note = _on_the_spot_note(ax, spot, colours)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_("Response time: found → first able unit on scene (minutes, log scale)"))
    ax.set_ylabel(_("Share of matters found that were reached (%)"))
    what = _pretty(incident_type) if incident_type else _("all incidents")
    ax.set_title(_("How long until someone able to act arrives: {what}").format(what=what))
    ax.grid(True, which="major", alpha=0.3)
    legend = ax.legend(
        loc="upper left",
        bbox_to_anchor=(0.0, -0.13),
        fontsize=11,
        title=_incidents_title(results, incident_type),
        title_fontsize=11,
        frameon=False,
    )
    legend.set_alignment("left")
    set_apart(ax, [note] if note is not None else [])  # the note clear of the median and p90 labels
    return ax


def mode_linestyle(k: int) -> dict:
    """How the k-th way of working's curve is drawn, so that curves lying on each other still show both.

    The second (joint) dashed and on top, the third (unified) a wide solid line under it.
    """
    styles = (
        {"linestyle": "-", "linewidth": 3.5, "zorder": 2},
        {"linestyle": (0, (4, 2)), "linewidth": 3.2, "zorder": 4},
        {"linestyle": "-", "linewidth": 7.0, "zorder": 3, "alpha": 0.75},
        {"linestyle": ":", "linewidth": 2.6, "zorder": 2},
    )
    return styles[k % len(styles)]


def _incidents_title(results: Results, incident_type: str | None) -> str:
    """The legend's title: what each entry gives, and how many incidents every way of working faced."""
    counts = {
        m: (results.summary["modes"][m]["by_type"][incident_type] if incident_type else results.summary["modes"][m])[
            "incidents"
        ]
        for m in results.modes
    }
    head = _("way of working: median, p90 (n found)")
    if len(set(counts.values())) == 1:
        n = next(iter(counts.values()))
        return (
            head + "\n" + _("the same {n} incidents in every way of working (common random numbers)").format(n=f"{n:,}")
        )
    return head


def _on_the_spot_note(ax: Axes, spot: dict[str, float], colours: dict[str, str]):
    """Explain a curve's flat start: matters the finder handled on the spot have a response of 0 minutes.

    Returns the note (None when no curve starts flat).
    """
    shown = {m: v for m, v in spot.items() if v >= 0.02}
    if not shown:
        return None
    top = max(shown.values())
    note = ax.annotate(
        _("flat start: {share} handled on the spot\nby the patrol that found it (0 min)").format(
            share=_(" / ").join(f"{100 * v:.0f}%" for v in shown.values())
        ),
        (1.0, top),
        xytext=(30, 18),
        textcoords="offset points",
        fontsize=10,
        color="#333333",
        arrowprops=dict(arrowstyle="->", color="#555555"),
        bbox=dict(facecolor="white", alpha=0.9, linewidth=0),
    )
    return note


def _ecdf_curve(ax: Axes, mode: str, times: CensoredTimes, colour: str, style: dict | None = None) -> None:
    """The Kaplan–Meier share reached by each time (flat at the end when matters were never reached)."""
    curve_min, share = reached_curve(times)
    median, p90 = km_quantiles(times, (0.5, 0.9))

    def text(value: float | None) -> str:
        return format_minutes(value) if value is not None else f"> {format_minutes(times.followed_min)}"

    waiting = _(", {n} not reached").format(n=f"{times.censored:,}") if times.censored else ""
    label = f"{figure_mode(mode)}: {text(median)}, {text(p90)} (n={times.n:,}{waiting})"
    ax.step(np.maximum(curve_min, 1.0), share, where="post", color=colour, label=label, **(style or {"linewidth": 2.6}))
    if median is not None:
        ax.plot([max(median, 1.0)], [0.5], "o", color=colour, markersize=8, markeredgecolor="white", zorder=5)
    if p90 is not None:
        ax.plot([max(p90, 1.0)], [0.9], "^", color=colour, markersize=9, markeredgecolor="white", zorder=5)


def plot_response_by_type(results: Results, ax: Axes | None = None, focus: str | None = None) -> Axes:
    """Median (dot) and p90 (bar mark) response per incident type, modes one above the other.

    Reads the per-type statistics of ``summary.json``. The time axis is logarithmic, in minutes,
    limited to the data; a thin line joins each median to its p90. A median of 0 (the finder
    handled most on the spot) is an open circle at the axis' left edge. The *focus* type (default
    garbage overflow, when there is one) is highlighted. Each row's figures are written in a
    column right of the plot, clear of the target line.
    """
    types = list(results.summary["modes"][results.modes[0]]["by_type"])
    focus = focus if focus is not None else ("garbage_overflow" if "garbage_overflow" in types else None)
    ax = _new_axes(ax, figsize=(10, 1.0 + 0.35 * len(types) * len(results.modes)))
    step = 0.8 / len(results.modes)
    lows, highs = [], []
    for i, name in enumerate(types):
        y0 = len(types) - 1 - i
        if name == focus:
            ax.axhspan(y0 - 0.48, y0 + 0.48, color="#fff2a8", zorder=0, linewidth=0)
        for k, mode in enumerate(results.modes):
            stats = results.summary["modes"][mode]["by_type"][name]["response_min"]
            if stats:
                y = y0 + ((len(results.modes) - 1) / 2 - k) * step
                _type_marks(ax, y, stats, results.colours[mode], mode)
                lows.append(_bound(stats, "median")[0])
                highs.append(_bound(stats, "p90")[0])
    _finish_type_axes(ax, results, types, lows, highs, focus)
    return ax


def _bound(stats: dict, key: str) -> tuple[float, str]:
    """A quantile, or the time it is known to exceed (censored beyond the follow-up), and its label."""
    value = stats.get(key)
    if value is not None:
        return float(value), format_minutes(value)
    more_than = stats.get(f"{key}_more_than") or 1.0
    return float(more_than), f"> {format_minutes(more_than)}"


def _type_marks(ax: Axes, y: float, stats: dict, colour: str, mode: str) -> None:
    """A median dot and a p90 bar mark joined by a thin line; the figures in a column right of the axes."""
    (median_min, median_text), (p90_min, p90_text) = _bound(stats, "median"), _bound(stats, "p90")
    median, p90 = max(median_min, 1.0), max(p90_min, 1.0)
    ax.plot([median, p90], [y, y], color=colour, linewidth=1.5, alpha=0.7, zorder=2)
    on_the_spot = median_min <= 0
    ax.plot(
        [median],
        [y],
        "o",
        color="white" if on_the_spot else colour,
        markeredgecolor=colour,
        markeredgewidth=1.8,
        markersize=9,
        zorder=4,
        gid=f"median:{mode}",
    )
    ax.plot([p90], [y], "|", color=colour, markersize=14, markeredgewidth=3, zorder=4, gid=f"p90:{mode}")
    words = _("on the spot") if on_the_spot else median_text
    ax.text(
        1.01,
        y,
        f"{words} / {p90_text}",
        transform=ax.get_yaxis_transform(),
        va="center",
        ha="left",
        fontsize=10,
        color=colour,
    )


def slow_unpooled_types(results: Results, slow_factor: float = 4.0) -> dict[str, list[str]]:
    """Types still slow under every way of working whose owners no mode pools: type -> its owning departments.

    "Slow" is a median above *slow_factor* times the target in every mode. No reform of the
    channel or the dispatch helps them much: only their own department may act, and no way of
    working pools its powers with a team that is out in the streets.
    """
    scenario: Any = results.scenario
    if scenario is None:
        return {}
    from sim.scenario.governance import modes_of, own_holders, parts_of

    pooled = set().union(*(m.pooled for m in modes_of(scenario).values()))
    limit = slow_factor * float(results.summary["target_min"])
    out = {}
    for t in scenario.incident_types:
        stats = [results.summary["modes"][m]["by_type"].get(t.name, {}).get("response_min") for m in results.modes]
        slow = all(st and _bound(st, "median")[0] > limit for st in stats)
        owners = sorted(set().union(*(own_holders(scenario, part) for part in parts_of(t))))
        if slow and not set(owners) & pooled:
            out[t.name] = owners
    return out


def _finish_type_axes(ax: Axes, results: Results, types, lows, highs, focus: str | None = None) -> None:
    ax.set_xscale("log")
    low, high = 0.8, max(highs or [60.0]) * 1.6
    ax.set_xlim(low, high)
    _log_time_axis(ax.xaxis, 1.0, high, floor_label=True)
    labels = [_pretty(t) for t in reversed(types)]
    ax.set_yticks(range(len(types)), labels, fontsize=11)
    for label, name in zip(ax.get_yticklabels(), reversed(types)):
        if name == focus:
            label.set_fontweight("bold")
    ax.set_ylim(-0.6, len(types) - 0.4)
    target = float(results.summary["target_min"])
    ax.axvline(target, color="black", linestyle="--", linewidth=1.2, zorder=1)
    handles = [
        Line2D([], [], color=results.colours[m], marker="o", linewidth=0, label=figure_mode(m)) for m in results.modes
    ]
    handles += [
        Line2D([], [], color="#555555", marker="o", linewidth=0, markersize=8, label=_("median")),
        Line2D([], [], color="#555555", marker="|", markersize=12, markeredgewidth=3, linewidth=0, label=_("p90")),
        Line2D([], [], color="black", linestyle="--", label=_("target: {time}").format(time=format_minutes(target))),
    ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.1), ncols=len(handles), fontsize=10, frameon=False
    )
    ax.set_xlabel(_("Response time, minutes (log scale); right: median / p90"), fontsize=11)
    ax.set_title(_("Median and 90th-percentile response by incident type"), fontsize=13)
    ax.set_ylabel(_("Incident type"), fontsize=11)
    ax.grid(True, axis="x", alpha=0.3)
    unpooled = slow_unpooled_types(results)
    if unpooled:
        note = _(
            "Still slow in every way of working: {types}. Only {owners} may act on them, and no way of working "
            "pools their powers."
        ).format(
            types=_(", ").join(_pretty(t) for t in unpooled),
            owners=_(", ").join(sorted({_pretty(d) for owners in unpooled.values() for d in owners})),
        )
        ax.figure.supxlabel(note, fontsize=11, style="italic", color="#333333")


# --------------------------------------------------------------------------- map


def _patch_means(results: Results, mode: str, incident_type: str | None = None) -> np.ndarray:
    """Median response (minutes) per patch of the town among matters reached, nan where nothing was reached."""
    town = results.town
    mask = _measured(results, mode, incident_type)
    patches = results.incidents["patch"][mask]
    response = results.incidents["response_min"][mask].astype(float)
    means = np.full(town.size, np.nan)
    for i, name in enumerate(town.names):
        values = response[(patches == name) & ~np.isnan(response)]
        if values.size:
            means[i] = np.median(values)
    return means


def response_norm(results: Results, incident_type: str | None = None) -> LogNorm:
    """One log colour scale (minutes) for every mode's map, so colours compare across panels."""
    values = np.concatenate([_patch_means(results, m, incident_type) for m in results.modes])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return LogNorm(1, 60)
    low, high = max(float(values.min()), 1.0), float(values.max())
    return LogNorm(low, max(high, low * 2))


def plot_response_map(
    results: Results, mode: str, ax: Axes | None = None, norm: LogNorm | None = None, incident_type: str | None = None
) -> Axes:
    """The town's patches coloured by the median response time of *mode*, bases and sectors drawn.

    With *incident_type*, only matters of that type (the lesson's garbage overflow): a mean over
    every type mixes minutes and days.

    Patches with nothing reached are grey and hatched. Thick black lines separate patrol
    sectors (labelled at their centre); each department's base is a white marker. Pass the same
    *norm* (:func:`response_norm`) to every mode's map to share the colour scale; the colour
    mapping is the collection's (``ax.collections[0]``), for a colour bar.
    """
    ax = _new_axes(ax, figsize=(6, 5.5))
    town = results.town
    norm = norm or response_norm(results, incident_type)
    means = _patch_means(results, mode, incident_type)
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    shape = _real_town(results)
    if shape is not None:  # a town read from a GIS layer: its own polygons, roads faintly
        draw_outlines(ax, shape, means, cmap, norm)
        _draw_sector_names(ax, town)
    else:
        squares = [Rectangle(xy - town.patch_km / 2, town.patch_km, town.patch_km) for xy in town.xy_km]
        tiles = PatchCollection(squares, cmap=cmap, norm=norm, edgecolor="white", linewidth=0.5)
        tiles.set_array(np.ma.masked_invalid(means))
        ax.add_collection(tiles)
        _draw_sectors(ax, town)
        low, high = town.xy_km.min(axis=0) - town.patch_km / 2, town.xy_km.max(axis=0) + town.patch_km / 2
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    _draw_bases(ax, results)
    draw_cameras(ax, _town_cameras(results))
    ax.set_aspect("equal")
    ax.set_xlabel("x, km")
    ax.set_ylabel("y, km")
    overall = response_times(results, mode, incident_type)
    (median,) = km_quantiles(overall, (0.5,))
    time = format_minutes(median) if median is not None else f"> {format_minutes(overall.followed_min)}"
    title = _("{mode}: median {time}").format(mode=figure_mode(mode), time=time)
    ax.set_title(title, color=results.colours[mode], fontweight="bold", fontsize=13)
    return ax


def _town_cameras(results: Results):
    """The scenario's cameras (``territory.cameras``), or None."""
    territory = getattr(results.scenario, "territory", None)
    return getattr(territory, "cameras", None)


def _real_town(results: Results):
    """The outlines and roads of a town read from a GIS layer (:func:`sim.io.gis.town_map`), else None."""
    scenario = results.scenario
    if scenario is None or scenario.territory.gis is None:
        return None
    from sim.io.gis import town_map

    return town_map(scenario)


def _draw_sector_names(ax: Axes, town: Town) -> None:
    for s, name in enumerate(town.sector_names):
        centre = town.xy_km[town.sector == s].mean(axis=0) + np.array([0.0, town.patch_km * 0.45])
        ax.text(
            centre[0],
            centre[1],
            name,
            ha="center",
            va="center",
            fontsize=11,
            fontweight="bold",
            color="white",
            bbox=dict(boxstyle="round,pad=0.15", facecolor="black", alpha=0.45, linewidth=0),
        )


def _draw_sectors(ax: Axes, town: Town) -> None:
    """Sector borders (edges between neighbouring patches of different sectors) and labels."""
    half, segments = town.patch_km / 2, []
    xy = town.xy_km
    for i in range(town.size):
        for j in range(i + 1, town.size):
            if town.sector[i] == town.sector[j]:
                continue
            dx, dy = xy[j] - xy[i]
            if math.isclose(abs(dx), town.patch_km) and math.isclose(dy, 0, abs_tol=1e-9):
                x = (xy[i][0] + xy[j][0]) / 2
                segments.append([(x, xy[i][1] - half), (x, xy[i][1] + half)])
            elif math.isclose(abs(dy), town.patch_km) and math.isclose(dx, 0, abs_tol=1e-9):
                y = (xy[i][1] + xy[j][1]) / 2
                segments.append([(xy[i][0] - half, y), (xy[i][0] + half, y)])
    ax.add_collection(LineCollection(segments, colors="black", linewidths=2.2))
    _draw_sector_names(ax, town)


def base_offsets(results: Results) -> dict[str, np.ndarray]:
    """Where each department's base markers go (km): each base, moved apart from others in the same patch.

    Departments sharing a patch are set on a small circle around its centre, one angle each, so
    that no marker hides another.
    """
    town = results.town
    bases = {}
    for dept in results._need_scenario().departments:
        roster = build_roster(dept, town)
        bases[dept.name] = np.unique(np.array([u.base for u in roster.units], dtype=int))
    sharing: dict[int, list[str]] = {}
    for name, patches in bases.items():
        for b in patches:
            sharing.setdefault(int(b), []).append(name)
    radius = town.patch_km * 0.3
    out = {}
    for name, patches in bases.items():
        pts = []
        for b in patches:
            others = sharing[int(b)]
            k, n = others.index(name), len(others)
            angle = 2 * math.pi * k / n + math.pi / 2
            r = radius if n > 1 else 0.0
            pts.append(town.xy_km[b] + r * np.array([math.cos(angle), math.sin(angle)]))
        out[name] = np.array(pts).reshape(-1, 2)
    return out


def _draw_bases(ax: Axes, results: Results) -> None:
    offsets = base_offsets(results)
    for k, dept in enumerate(results._need_scenario().departments):
        pts = offsets[dept.name]
        if pts.size == 0:
            continue
        ax.plot(
            pts[:, 0],
            pts[:, 1],
            _DEPARTMENT_MARKERS[k % len(_DEPARTMENT_MARKERS)],
            color="white",
            markeredgecolor="black",
            markersize=10,
            linestyle="none",
            zorder=5,
            label=_("{department} base").format(department=_pretty(dept.name)),
        )


# --------------------------------------------------------------------------- load over the day


def _hour_minutes(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Minutes of the intervals [start, end) falling in each hour of the day, summed (length 24)."""
    if starts.size == 0:
        return np.zeros(24)
    hours = np.arange(24) * 60.0

    def cumulative(t):
        day, offset = np.divmod(t[:, None], MINUTES_PER_DAY)
        return day * 60 + np.clip(offset - hours, 0, 60)

    return (cumulative(ends) - cumulative(starts)).sum(axis=0)


def _on_duty_by_hour(results: Results, department: str) -> np.ndarray:
    """On-duty unit-minutes per hour of day within the measured window, one replication."""
    key = ("on_duty", department)
    if key not in results._cache:
        results._cache[key] = _integrate_on_duty(results, department)
    return results._cache[key]


def _integrate_on_duty(results: Results, department: str) -> np.ndarray:
    """On response duty, as the run counts it: the shift, less the units joint campaigns take."""
    scenario = results._need_scenario()
    steps = build_roster(scenario.department(department), results.town).on_duty
    demand = CampaignPlan(scenario, results.town).demand.get(department) if scenario.campaigns else None
    total = np.zeros(24)
    t = results.warmup_min
    while t < results.horizon_min:
        end = min((math.floor(t / 60) + 1) * 60.0, results.horizon_min)
        on_duty = steps.integral(t, end) if demand is None else demand.split_min(steps, t, end)[0]
        total[int(t % MINUTES_PER_DAY // 60)] += on_duty
        t = end
    return total


def hourly_load(results: Results, mode: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per department: utilisation and mean queue length by hour of day (arrays of 24).

    Utilisation is busy unit-minutes (jobs, dispatched -> done) over on-duty unit-minutes
    (nan in hours with nobody on duty); queue length is the time-average number of jobs
    waiting for a unit (requested -> dispatched), counted for the department of the unit that
    took the job. Both within the measured window, over every replication.
    """
    key = ("load", mode)
    if key not in results._cache:
        results._cache[key] = _hourly_load(results, mode)
    return results._cache[key]


def _hourly_load(results: Results, mode: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    jobs = results.jobs
    reps = int(results.summary.get("replications", 1))
    window = np.array([results.warmup_min]), np.array([results.horizon_min])
    exposure = _hour_minutes(*window) * reps
    out = {}
    for dept in (d.name for d in results._need_scenario().departments):
        mask = (jobs["mode"] == mode) & (jobs["department"] == dept) if jobs else np.array([], dtype=bool)
        busy = _clipped_hours(results, jobs, mask, "dispatched_min", "done_min")
        wait = _clipped_hours(results, jobs, mask, "requested_min", "dispatched_min")
        on_duty = _on_duty_by_hour(results, dept) * reps
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(on_duty > 0, busy / on_duty, np.nan)
        out[dept] = util, wait / exposure
    return out


def desk_waiting(results: Results, mode: str) -> dict[str, np.ndarray]:
    """Per department: mean number of matters waiting at the desks by hour of day (arrays of 24).

    A matter waits at the desks from being found until the first unit is asked for
    (the earliest ``requested_min`` of its jobs), and counts for that job's department. Under the
    shared channel this is about zero; under referral it is where the fragmented waiting is.
    Within the measured window, over every replication.
    """
    key = ("desks", mode)
    if key in results._cache:
        return results._cache[key]
    jobs, inc = results.jobs, results.incidents
    departments = [d.name for d in results._need_scenario().departments]
    out = {d: np.zeros(24) for d in departments}
    if jobs and inc:
        first: dict[tuple, tuple[float, str]] = {}
        mask = jobs["mode"] == mode
        for rep, incident, asked, dept in zip(
            jobs["replication"][mask], jobs["incident"][mask], jobs["requested_min"][mask], jobs["department"][mask]
        ):
            k = (int(rep), int(incident))
            if k not in first or asked < first[k][0]:
                first[k] = (float(asked), str(dept))
        reps = int(results.summary.get("replications", 1))
        exposure = _hour_minutes(np.array([results.warmup_min]), np.array([results.horizon_min])) * reps
        imask = inc["mode"] == mode
        for dept in departments:
            starts, ends = [], []
            for rep, incident, found in zip(
                inc["replication"][imask], inc["incident"][imask], inc["detected_min"][imask]
            ):
                hit = first.get((int(rep), int(incident)))
                if hit is not None and hit[1] == dept and np.isfinite(found):
                    starts.append(float(found))
                    ends.append(hit[0])
            if starts:
                a = np.clip(np.array(starts), results.warmup_min, results.horizon_min)
                b = np.clip(np.array(ends), results.warmup_min, results.horizon_min)
                keep = b > a
                out[dept] = _hour_minutes(a[keep], b[keep]) / exposure
    results._cache[key] = out
    return out


def _clipped_hours(results: Results, jobs, mask, start: str, end: str) -> np.ndarray:
    if not mask.any():
        return np.zeros(24)
    a = np.clip(jobs[start][mask].astype(float), results.warmup_min, results.horizon_min)
    b = np.clip(jobs[end][mask].astype(float), results.warmup_min, results.horizon_min)
    keep = b > a
    return _hour_minutes(a[keep], b[keep])


def _hour_steps(ax: Axes, values_by_mode: dict[str, np.ndarray], colours: dict[str, str], linestyle="-") -> None:
    hours = np.arange(25)
    for mode, values in values_by_mode.items():
        ax.step(
            hours,
            np.append(values, values[-1]),
            where="post",
            color=colours[mode],
            linewidth=2,
            linestyle=linestyle,
            label=figure_mode(mode) if linestyle == "-" else None,
        )
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel(_("Hour of day"))
    ax.grid(True, alpha=0.3)


def _shade_off_duty(ax: Axes, results: Results, department: str) -> None:
    on_duty = _on_duty_by_hour(results, department)
    for h in np.flatnonzero(on_duty <= 0).tolist():
        ax.axvspan(h, h + 1, color="#bbbbbb", alpha=0.35, linewidth=0)


def plot_utilisation(results: Results, department: str, ax: Axes | None = None) -> Axes:
    """Share of a department's on-duty unit time spent on jobs, by hour of day, one line per mode.

    Grey hours have no unit on duty. A share above 100% means units finishing jobs after
    their shift ended.
    """
    ax = _new_axes(ax, figsize=(6, 3))
    lines = {m: hourly_load(results, m)[department][0] for m in results.modes}
    _hour_steps(ax, lines, results.colours)
    _shade_off_duty(ax, results, department)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, max(1.0, max((np.nanmax(v) for v in lines.values() if np.isfinite(v).any()), default=1.0) * 1.1))
    ax.set_ylabel(_("Busy, % of on-duty time"))
    ax.set_title(_("{department}: utilisation").format(department=_pretty(department)))
    return ax


def plot_queue(results: Results, department: str, ax: Axes | None = None, desks: bool = False) -> Axes:
    """Mean number of jobs waiting for a free unit of a department, by hour of day, one line per mode.

    With *desks*, also (dashed) the matters waiting at the desks before the department's unit is
    asked for (referral): found, not yet passed to a unit (:func:`desk_waiting`).
    """
    ax = _new_axes(ax, figsize=(6, 3))
    lines = {m: hourly_load(results, m)[department][1] for m in results.modes}
    _hour_steps(ax, lines, results.colours)
    _shade_off_duty(ax, results, department)
    peak = max(float(np.nanmax(v)) for v in lines.values())
    if desks:
        waiting = {m: desk_waiting(results, m)[department] for m in results.modes}
        waiting = {m: v for m, v in waiting.items() if v.max() > 0.01}
        _hour_steps(ax, waiting, results.colours, linestyle="--")
        peak = max([peak, *(float(v.max()) for v in waiting.values())])
    ax.set_ylim(0, max(0.1, peak * 1.15))
    if peak <= 0:
        ax.text(12, 0.05, _("no job waited for a unit"), ha="center", va="center", color="#555555", style="italic")
    ax.set_ylabel(_("Matters waiting (mean)") if desks else _("Jobs waiting (mean)"))
    title = _("{department}: waiting for a unit and at the desks") if desks else _("{department}: queue for a unit")
    ax.set_title(title.format(department=_pretty(department)))
    return ax


# --------------------------------------------------------------------------- one incident's life

_DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _clock(minute: float) -> str:
    """Clock time of a simulation minute: ``Tue 15:19``."""
    day, rest = divmod(round(minute), MINUTES_PER_DAY)
    return f"{_(_DAY_NAMES[day % 7])} {rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class Story:
    """One incident, rerun with tracing under every mode (common random numbers).

    Attributes
    ----------
    incident:
        Incident number (the same in every mode).
    incident_type, patch, finder, channel:
        What it was, where, who found it and how (in the mode it was chosen from).
    occurred_min:
        When it happened, minutes since Monday 00:00.
    events:
        Mode -> its story, the :class:`~sim.engine.trace.TraceEvent` s the model traced.
    desk_hours:
        The referral desks' weekly office hours.
    seed, replication:
        The rerun's seed and replication.
    """

    incident: int
    incident_type: str
    patch: str
    finder: str
    channel: str
    occurred_min: float
    events: dict[str, list[TraceEvent]]
    desk_hours: WeeklyHours
    seed: int
    replication: int = 0


def _slow_mode(results: Results) -> str:
    """The mode to choose the incident in: ``fragmented``, else the first referral mode, else the first."""
    if "fragmented" in results.modes:
        return "fragmented"
    from sim.scenario.governance import modes_of

    defined = modes_of(results._need_scenario())
    referral = [m for m in results.modes if m in defined and defined[m].information == "referral"]
    return (referral or results.modes)[0]


def _story_candidates(results: Results, mode: str, incident_type: str) -> list[int]:
    """Row numbers of candidates, best first: patrol finds on a weekday late afternoon, crossing a night."""
    inc = results.incidents
    candidates = np.flatnonzero(_measured(results, mode, incident_type) & (inc["replication"].astype(float) == 0))
    rows = [r for r in candidates.tolist() if math.isfinite(inc["resolved_min"][r])]

    def score(r):
        detected, resolved = inc["detected_min"][r], inc["resolved_min"][r]
        day, minute = divmod(detected, MINUTES_PER_DAY)
        return (
            inc["channel"][r] != "patrol",
            not (day % 7 < 5 and 15 * 60 <= minute < 17.5 * 60),
            resolved // MINUTES_PER_DAY == day,
            detected - inc["occurred_min"][r] > 60,
            detected,
        )

    return sorted(rows, key=score)


def _traced_run(scenario, mode: str, seed: int, replication: int):
    """One replication of one mode with every incident's story kept (``RunOutput.trace``)."""
    from sim.experiments.runs import run

    return run(scenario, mode, seed=seed, replication=replication, trace=True)


def find_story(results: Results, incident_type: str = "garbage_overflow") -> Story:
    """Pick one incident and rerun replication 0 of every mode with tracing to tell its story.

    The incident is chosen in the slowest mode (``fragmented``): of type *incident_type* (else
    the first type), found by a patrol on a weekday late afternoon, and resolved on a later day,
    so that the referral desks close overnight; failing that, the nearest match. Needs the
    scenario (``scenario.json``); the seed is the summary's.

    Raises
    ------
    ValueError
        If the results have no scenario, no incident to tell, or the rerun does not reproduce
        the recorded incident.
    """
    scenario = results._need_scenario()
    types = [t.name for t in scenario.incident_types]
    incident_type = incident_type if incident_type in types else types[0]
    chosen_mode = _slow_mode(results)
    rows = _story_candidates(results, chosen_mode, incident_type)
    if not rows:
        raise ValueError(f"no resolved {incident_type} incident in mode {chosen_mode} to tell the story of")
    row, inc = rows[0], results.incidents
    number, seed = int(inc["incident"][row]), int(results.summary["seed"])
    events = {m: _traced_run(scenario, m, seed, 0).trace[number] for m in results.modes}
    occurred = events[chosen_mode][0].at_min
    if abs(occurred - float(inc["occurred_min"][row])) > 1e-3:
        raise ValueError(
            f"rerunning seed {seed} does not reproduce incident {number} (it occurred at {inc['occurred_min'][row]:.3f}, "
            f"the rerun says {occurred:.3f}): were the results written by another version of the simulator?"
        )
    return Story(
        number,
        incident_type,
        str(inc["patch"][row]),
        str(inc["finder"][row]),
        str(inc["channel"][row]),
        occurred,
        events,
        scenario.governance.referral.desk_hours.weekly(),
        seed,
    )


def _open_spans(hours: WeeklyHours, start: float, end: float) -> list[tuple[float, float]]:
    """The open intervals of weekly *hours* within [start, end] (absolute minutes)."""
    spans, t = [], hours.next_open(start)
    while t < end:
        offset = t % MINUTES_PER_WEEK
        i = bisect.bisect_right(hours.starts, offset) - 1
        close = t + hours.ends[i] - offset
        spans.append((t, min(close, end)))
        t = hours.next_open(close + 1e-6) if close < end else end
    return spans


def _merge_stages(events: list[TraceEvent]) -> list[TraceEvent]:
    """Drop a unit's 'done' when 'resolved' follows at the same minute."""
    kept = []
    for k, event in enumerate(events):
        nxt = events[k + 1] if k + 1 < len(events) else None
        if event.stage is Stage.DONE and nxt and nxt.stage is Stage.RESOLVED and nxt.at_min - event.at_min < 0.5:
            continue
        kept.append(event)
    return kept


def _groups(events: list[TraceEvent], gap_h: float, position=None) -> list[list[TraceEvent]]:
    """Consecutive stages closer than *gap_h* hours, so that each group gets one stacked label.

    *position* maps an event's minute to where it is drawn (default: hours), for a stretched axis.
    """
    position = position or (lambda minute: minute / 60)
    groups: list[list[TraceEvent]] = []
    for event in events:
        if groups and position(event.at_min) - position(groups[-1][-1].at_min) < gap_h:
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _number_word(n: int) -> str:
    words = {1: N_("one way"), 2: N_("two ways"), 3: N_("three ways"), 4: N_("four ways"), 5: N_("five ways")}
    return _(words[n]) if n in words else _("{n} ways").format(n=n)


def plot_timeline(story: Story, ax: Axes | None = None, colours: dict[str, str] | None = None) -> Axes:
    """One incident's life under each mode: a row per mode against the desks' office hours.

    The x axis is hours since the matter happened (clock time on top). Pale green bands are
    the referral desks' office hours; grey is when they are closed (nights, weekends), which is
    where the fragmented report waits. Each stage is a marker; stages close together share one
    label listing their clock times. The thick part of a row is a unit travelling and working.
    """
    modes = list(story.events)
    colours = colours or mode_colours(modes)
    ax = _new_axes(ax, figsize=(13, 2.3 + 2.0 * len(modes)))
    span_h = _timeline_span_h(story)
    forward, inverse = timeline_scale(span_h)
    ax.set_xscale("function", functions=(forward, inverse))
    with use_language(figure_language()):  # the story's words in a language the figure can draw
        _shade_desks(ax, story, span_h)
        for row, mode in enumerate(modes):
            _timeline_row(ax, story, mode, len(modes) - 1 - row, colours[mode], span_h)
        _finish_timeline(ax, story, modes, span_h)
    _set_labels_apart(ax)
    return ax


FIRST_HOUR_SHARE = 0.35
"""On a timeline longer than three hours, the first hour takes this share of the width (in minutes), the rest is
in hours: the minutes of joint and unified working stay readable beside the fragmented day."""


def timeline_scale(span_h: float):
    """The timeline's x scale (hours): the first hour stretched to :data:`FIRST_HOUR_SHARE` of the axis.

    Returns (forward, inverse) for ``set_xscale("function")``; both map [0, span_h] onto
    itself, so positions and lengths can be compared in either. Short timelines are linear.
    """
    if span_h <= 3:
        return (lambda h: np.asarray(h, dtype=float)), (lambda x: np.asarray(x, dtype=float))
    a = FIRST_HOUR_SHARE * span_h
    b = (span_h - a) / (span_h - 1)

    def forward(h):
        h = np.asarray(h, dtype=float)
        return np.where(h <= 1, h * a, a + (h - 1) * b)

    def inverse(x):
        x = np.asarray(x, dtype=float)
        return np.where(x <= a, x / a, 1 + (x - a) / b)

    return forward, inverse


def _timeline_span_h(story: Story) -> float:
    last = max(ev[-1].at_min for ev in story.events.values())
    return max(2.0, (last - story.occurred_min) / 60 * 1.45)


def _shade_desks(ax: Axes, story: Story, span_h: float) -> None:
    start, end = story.occurred_min, story.occurred_min + span_h * 60
    open_spans = _open_spans(story.desk_hours, start, end)
    ax.axvspan(0, span_h, color="#d9d9d9", alpha=0.6, linewidth=0, label=_("desks closed (nights, weekends)"))
    for k, (a, b) in enumerate(open_spans):
        ax.axvspan(
            (a - start) / 60,
            (b - start) / 60,
            color="#c7e9c0",
            alpha=1.0,
            linewidth=0,
            label=_("desk office hours") if k == 0 else None,
        )
    closed = _closed_gaps(open_spans, start, end)
    for a, b in closed:
        if (b - a) / 60 > span_h * 0.12:
            ax.text(
                (a + b) / 2 / 60 - start / 60,
                0.015,
                _("desks closed"),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=13,
                color="#444444",
                style="italic",
            )
    for a, b in closed:
        if b - a < 180:  # a lunch break: shaded, not named
            continue
        for t, words in ((a, _("desks close {clock}")), (b, _("desks open {clock}"))):
            if start + 1 < t < end - 1 and (t - start) / 60 > 1:
                x = (t - start) / 60
                ax.axvline(x, color="#333333", linewidth=1.2, linestyle="-", zorder=1)
                ax.text(
                    x,
                    0.985,
                    " " + words.format(clock=_clock(t).split(" ")[-1]) + " ",
                    transform=ax.get_xaxis_transform(),
                    ha="right" if t == a else "left",
                    va="top",
                    fontsize=11,
                    fontweight="bold",
                    color="#333333",
                    gid=_DESK,
                )


def _closed_gaps(open_spans, start, end) -> list[tuple[float, float]]:
    edges = [start] + [x for span in open_spans for x in span] + [end]
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > a]


def _timeline_row(ax: Axes, story: Story, mode: str, y: float, colour: str, span_h: float) -> None:
    events = _merge_stages(story.events[mode])
    hours = [(e.at_min - story.occurred_min) / 60 for e in events]
    ax.plot([hours[0], hours[-1]], [y, y], color=colour, linewidth=5, solid_capstyle="butt", label=mode)
    _work_segment(ax, events, story.occurred_min, y, colour)
    ax.plot(hours, [y] * len(hours), "o", color=colour, markeredgecolor="black", markersize=11, zorder=4)
    forward = timeline_scale(span_h)[0]
    for k, group in enumerate(_groups(events, span_h * 0.06, lambda m: float(forward((m - story.occurred_min) / 60)))):
        _group_label(ax, group, story.occurred_min, y, above=k % 2 == 0)
    _longest_wait(ax, events, story, y, colour, span_h)
    near_end = float(forward(hours[-1])) > 0.7 * span_h
    outcome = ax.annotate(
        _outcome(events) if near_end else "  " + _outcome(events),
        (hours[-1], y),
        xytext=(0, 44) if near_end else (8, 0),
        textcoords="offset points",
        va="bottom" if near_end else "center",
        ha="right" if near_end else "left",
        fontsize=13,
        fontweight="bold",
        color=colour,
        bbox=dict(facecolor="white", alpha=0.8, linewidth=0, pad=1),
    )
    outcome.set_gid(_OUTCOME)


def _outcome(events: list[TraceEvent]) -> str:
    """'on scene 19.3 h after it was found' (the response time), or how far it got."""
    found = first_of(events, is_detection) or events[0]
    on_scene = first_of(events, is_arrival)
    if on_scene is None:
        return _("nobody on scene by the end of the run")
    return _("on scene {time} after it was found").format(time=format_minutes(on_scene.at_min - found.at_min))


def _longest_wait(ax: Axes, events, story: Story, y: float, colour: str, span_h: float) -> None:
    """Name the longest wait between two stages on the row, if it is a large part of the picture.

    When the desks were closed for part of it, say so: the report waits for a desk to open.
    """
    gaps = [(b.at_min - a.at_min, a, b) for a, b in pairwise(events)]
    if not gaps:
        return
    length, a, b = max(gaps, key=lambda g: g[0])
    if length / 60 < span_h * 0.25:
        return
    occurred = story.occurred_min
    forward, inverse = timeline_scale(span_h)
    ends = forward([(a.at_min - occurred) / 60, (b.at_min - occurred) / 60])
    middle = float(inverse(ends.mean()))
    words = _("waiting {time}: {reason}").format(time=format_minutes(length), reason=wait_reason(b))
    closed = _closed_gaps(_open_spans(story.desk_hours, a.at_min, b.at_min), a.at_min, b.at_min)
    if sum(e - s for s, e in closed) > 120:
        words += "\n" + _("the desk closed: the report waits overnight until it opens")
    ax.text(
        middle,
        y - 0.12,
        words,
        ha="center",
        va="top",
        fontsize=13,
        style="italic",
        color=colour,
        bbox=dict(facecolor="white", alpha=0.85, linewidth=0, boxstyle="round,pad=0.2"),
        gid=_WAIT,
    )


def _work_segment(ax: Axes, events, occurred: float, y: float, colour: str) -> None:
    """The unit's travel and work, from the first dispatch to the last event, drawn thick."""
    dispatched = first_of(events, lambda e: e.stage is Stage.DISPATCHED)
    if dispatched is not None:
        a, b = (dispatched.at_min - occurred) / 60, (events[-1].at_min - occurred) / 60
        ax.plot([a, b], [y, y], color="#333333", linewidth=11, alpha=0.45, solid_capstyle="butt", zorder=3)


def _group_label(ax: Axes, group, occurred: float, y: float, above: bool) -> None:
    lines = [f"{_clock(e.at_min)}  {short_stage(e)}" for e in group]
    x = (group[0].at_min - occurred) / 60
    ax.annotate(
        "\n".join(lines),
        (x, y),
        xytext=(4, 12 if above else -12),
        textcoords="offset points",
        va="bottom" if above else "top",
        ha="left",
        fontsize=10.5,
        bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="#888888", alpha=0.92),
        arrowprops=dict(arrowstyle="-", color="#888888", linewidth=0.8),
        gid=_STAGES,
    )


_DESK, _STAGES, _WAIT, _OUTCOME = "timeline-desk", "timeline-stages", "timeline-wait", "timeline-outcome"
"""The timeline's notes that may be moved to keep clear of each other, in the order they are set down."""


def _set_labels_apart(ax: Axes) -> None:
    """Move the timeline's notes up or down until no two of them overlap (:func:`set_apart`).

    Where the notes go depends on the story: a stage's label, the longest wait and the outcome of a row
    can land on each other (a desk hand-over late in the afternoon, a wait of a night), and the notes of
    a desk's opening and closing on each other when its hours are short beside the picture's days. They
    are set down in that order: the desks' notes, the stages' labels, the waits, the outcomes.
    """
    set_apart(ax, [t for gid in (_DESK, _STAGES, _WAIT, _OUTCOME) for t in ax.texts if t.get_gid() == gid])


def set_apart(ax: Axes, movable: Sequence) -> None:
    """Move each note of *movable* (texts of *ax*, in order) up or down until it covers no other note of *ax*.

    The figure is laid out once to measure the notes. Each note is then set down in turn, moved away from
    what it belongs to (up when set above it, ``va`` other than ``top``; down when hung below it) past every
    note already set down or not movable that it covers, with :data:`NOTE_GAP_PT` between them, as long as
    it stays inside the axes; if it cannot, the other way; a note that cannot move clear either way stays
    where it was. Every move is an offset in points from where the note was put (an annotation's offset, a
    text's transform), so the notes keep their places at any resolution. Call it after the last change to
    the figure's size or layout: a note set apart for one layout may meet another in a different one.
    """
    if not movable:
        return
    root = ax.figure.figure  # the figure itself, or the figure holding the subfigure the axes are in
    with _measuring(root) as renderer:
        px_per_pt = root.dpi / 72.0
        gap = NOTE_GAP_PT * px_per_pt
        frame = ax.get_window_extent(renderer)
        moving = {id(t) for t in movable}
        placed = [box for t in ax.texts if id(t) not in moving and (box := _label_box(t, renderer)) is not None]
        for label in movable:
            start = _label_box(label, renderer)
            if start is None:
                continue
            away = -1.0 if label.get_verticalalignment() == "top" else 1.0  # hung below its row, or set above it
            for direction in (away, -away):
                box, moved = start, 0.0
                while (hits := [p for p in placed if box.overlaps(p)]) and moved * direction < frame.height:
                    step = (
                        (max(p.y1 for p in hits) - box.y0 + gap)
                        if direction > 0
                        else (min(p.y0 for p in hits) - box.y1 - gap)
                    )
                    moved += step
                    box = box.translated(0, step)
                if not hits and frame.y0 <= box.y0 and box.y1 <= frame.y1 and _shift_label(label, moved / px_per_pt):
                    break
            else:
                box = start
            placed.append(box)


NOTE_GAP_PT = 4.0
"""Room left between two notes :func:`set_apart` sets apart, in points."""


@contextmanager
def _measuring(fig: Figure):
    """A renderer of *fig* after its layout has run, to measure its texts.

    A figure whose canvas cannot give one (a bare :class:`Figure`, a PDF, SVG or PostScript canvas) is given
    an Agg canvas for the measuring and its own back afterwards, with its pyplot window manager.
    """
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        fig.draw_without_rendering()
        yield canvas.get_renderer()
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    agg = FigureCanvasAgg(fig)
    try:
        fig.draw_without_rendering()
        yield agg.get_renderer()
    finally:
        fig.set_canvas(canvas)


def _label_box(label, renderer):
    """The box a label takes on the canvas (its frame, if it has one), or None if it is not drawn."""
    if not label.get_visible() or not label.get_text().strip():
        return None
    frame = label.get_bbox_patch()
    return frame.get_window_extent(renderer) if frame is not None else label.get_window_extent(renderer)


def _shift_label(label, points: float) -> bool:
    """Move a note *points* up (down when negative) from where it is: an annotation's offset, else its transform.

    Returns whether it could (an annotation placed otherwise than by an offset in points is not moved).
    """
    if points == 0:
        return True
    if hasattr(label, "xyann"):
        if label.anncoords != "offset points":
            return False
        dx, dy = label.xyann
        label.xyann = (dx, dy + points)
        return True
    fig = label.figure.figure
    label.set_transform(label.get_transform() + ScaledTranslation(0.0, points / 72.0, fig.dpi_scale_trans))
    return True


def _finish_timeline(ax: Axes, story: Story, modes: list[str], span_h: float) -> None:
    ax.set_xlim(0, span_h)
    ax.set_ylim(-0.75, len(modes) - 0.1)
    ax.set_yticks(range(len(modes)), [figure_mode(m) for m in reversed(modes)], fontsize=14, fontweight="bold")
    for label, mode in zip(ax.get_yticklabels(), reversed(modes)):
        label.set_color(mode_colours(modes)[mode] if mode in _PRESET_COLOURS else label.get_color())
    _timeline_ticks(ax, span_h)
    ax.set_ylabel(_("Way of working"), fontsize=12)
    top = ax.secondary_xaxis("top", functions=timeline_scale(span_h))
    top.set_xscale("linear")
    step = 60 if span_h <= 8 else 360 if span_h <= 48 else MINUTES_PER_DAY
    first = math.ceil((story.occurred_min + 60) / step) * step
    ticks = [(t - story.occurred_min) / 60 for t in np.arange(first, story.occurred_min + span_h * 60, step)]
    top.xaxis.set_major_locator(FixedLocator([float(timeline_scale(span_h)[0](t)) for t in ticks]))
    top.xaxis.set_major_formatter(
        FuncFormatter(
            lambda x, _: _clock(story.occurred_min + float(timeline_scale(span_h)[1](x)) * 60).replace(" ", "\n")
        )
    )
    top.tick_params(labelsize=11)
    top.set_xlabel(_("Clock time"), fontsize=11)
    thing = _("full bin") if "garbage" in story.incident_type else _pretty(story.incident_type)
    headline = (
        _("The same {thing} under {ways} of working").format(thing=thing, ways=_number_word(len(modes)))
        if len(modes) > 1
        else _("One {thing}, step by step").format(thing=thing)
    )
    ax.set_title(
        f"{headline}\n"
        + _("{type} in patch {patch}, {clock}").format(
            type=_pretty(story.incident_type), patch=story.patch, clock=_clock(story.occurred_min)
        ),
        fontsize=16,
    )
    ax.legend(
        handles=[
            Patch(color="#c7e9c0", label=_("desk office hours")),
            Patch(color="#d9d9d9", label=_("desks closed (nights, weekends)")),
            Line2D([], [], color="#333333", linewidth=11, alpha=0.45, label=_("unit travelling and on scene")),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncols=3,
        fontsize=12,
        frameon=False,
    )


def _timeline_ticks(ax: Axes, span_h: float) -> None:
    """Minutes in the stretched first hour, hours after it, and a line where the scale changes."""
    ax.tick_params(axis="x", labelsize=11)
    if span_h <= 3:
        ax.set_xlabel(_("Time since the matter happened, hours"), fontsize=12)
        return
    step = 2 if span_h <= 24 else 6 if span_h <= 72 else 24
    hours = [h for h in range(step, int(span_h) + 1, step) if h > 2]
    ticks = [0, 10 / 60, 20 / 60, 30 / 60, 45 / 60, 1.0, *hours]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.xaxis.set_major_formatter(
        FuncFormatter(
            lambda h, _p: (
                "0" if h == 0 else _("{value} min").format(value=f"{h * 60:.0f}") if h < 1 else _tick_label(h * 60)
            )
        )
    )
    ax.axvline(1.0, color="black", linestyle=":", linewidth=1.2, zorder=1)
    ax.set_xlabel(_("Time since the matter happened: the first hour in minutes (stretched), then hours"), fontsize=12)


# --------------------------------------------------------------------------- sweeps

_BOOKKEEPING = {
    "mode",
    "point",
    "run_id",
    "replication",
    "replications",
    "failed",
    "vs",
    "seed",
    "error",
    "runtime_s",
    "n",
    "version",
}
_CI_SUFFIXES = (("_ci_low", "_ci_high"), (".ci_low", ".ci_high"))


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _metrics_with_ci(columns: list[str]) -> dict[str, tuple[str, str]]:
    """Metric column -> its (low, high) CI columns: ``m`` with ``m_ci_low``/``m.ci_low``, or ``m.mean`` with ``m.ci_low``."""
    names, found = set(columns), {}
    for low in columns:
        for low_suffix, high_suffix in _CI_SUFFIXES:
            if not low.endswith(low_suffix) or low[: -len(low_suffix)] + high_suffix not in names:
                continue
            base = low[: -len(low_suffix)]
            value = base if base in names else f"{base}.mean" if f"{base}.mean" in names else None
            if value:
                found[value] = (low, base + high_suffix)
    return found


def sweep_columns(rows: Sequence[dict]) -> tuple[list[str], dict[str, tuple[str, str] | None]]:
    """The swept parameters and the metrics (with their CI columns, if any) of a sweep table.

    Metrics are the columns with confidence-interval companions: ``m`` with ``m_ci_low`` and
    ``m_ci_high`` or ``m.ci_low`` and ``m.ci_high``, or ``m.mean`` with ``m.ci_low`` and
    ``m.ci_high`` (what ``sweep`` writes); paired differences (``m.diff``) only when nothing else
    has an interval. Parameters are the other numeric columns that vary and are not bookkeeping
    (mode, point, seed, replications...), preferring key paths (``departments.sanitation.units``).
    With no intervals at all, every other varying numeric column is a metric.
    """
    columns = list(rows[0]) if rows else []
    found = _metrics_with_ci(columns)
    primary = {m: ci for m, ci in found.items() if not re.search(r"[._]diff(\.mean)?$", m)}
    metrics: dict = primary or found
    taken = {c for m, ci in found.items() for c in (m, *ci)}
    statistic = re.compile(r"\.(mean|diff|diff_ci_low|diff_ci_high|p_value|ci_low|ci_high)$")
    numeric = [
        c
        for c in columns
        if c not in _BOOKKEEPING
        and c not in taken
        and not statistic.search(c)
        and any(math.isfinite(_number(r.get(c))) for r in rows)
    ]
    varying = [c for c in numeric if len({_number(r.get(c)) for r in rows}) > 1]
    parameters = [c for c in varying if "." in c] or varying[:1]
    if not metrics:
        metrics = {c: None for c in varying if c not in parameters}
    return parameters, metrics


def _metric_base(metric: str, low: str | None) -> str:
    """The metric's own path: ``response_min.median`` for column ``response_min.median.mean``."""
    for low_suffix, _high in _CI_SUFFIXES:
        if low and low.endswith(low_suffix):
            return low[: -len(low_suffix)]
    return metric


def _metric_name(base: str) -> str:
    """A metric path in words: ``by_type.garbage_overflow.response_min.median`` -> ``garbage overflow: median response time``."""
    prefix = ""
    if base.startswith("by_type.") and base.count(".") >= 2:
        kind, base = base.split(".", 2)[1:]
        prefix = f"{_pretty(kind)}: "
    parts = base.split(".")
    if len(parts) == 2 and parts[0].endswith("_min"):
        name = _("{statistic} {quantity} time").format(statistic=_(parts[1]), quantity=_pretty(parts[0][:-4]))
    elif len(parts) == 2 and parts[0] == "utilisation":
        name = _("{department} utilisation").format(department=_pretty(parts[1]))
    elif base == "within_target":
        name = _("share reached within target")
    else:
        name = _pretty(base.replace(".", " "))
    return prefix + name


_UNIT_WORDS = (N_("minutes"), N_("share, 0-1"), N_("log scale"))
"""The words of :func:`_metric_label`'s units, for the catalog (the unit itself stays English: it is compared)."""


def _metric_unit(base: str) -> str:
    if re.search(r"(_min\b|_min[._]|minutes|\(min\))", base):
        return "minutes"
    if any(word in base for word in ("within", "utilisation", "share")):
        return "share, 0-1"
    return ""


def _metric_label(base: str, log: bool = False) -> str:
    """The y-axis label: the metric without its incident type (the title has it), with its unit."""
    name = _metric_name(base).split(": ", 1)[-1]
    unit = _(", ").join(_(u) for u in (_metric_unit(base), "log scale" if log else "") if u)
    return _("{name} ({unit})").format(name=name, unit=unit) if unit else name


def plot_sweep(
    rows: Sequence[dict],
    parameter: str,
    metric: str,
    low: str | None = None,
    high: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A metric against a swept parameter, one line per mode, the confidence band shaded.

    Parameters
    ----------
    rows:
        The sweep table, one dict per (point, mode): the *parameter* column, ``mode`` and the
        metric columns (values may be strings, as read from CSV; blanks are skipped).
    parameter, metric:
        Column names of the x and y values.
    low, high:
        Columns of the confidence interval's bounds (no band when None).
    ax:
        Axes to draw on; default a new figure's.
    """
    ax = _new_axes(ax, figsize=(7, 4.5))
    by_mode: dict[str, list] = {}
    for row in rows:
        by_mode.setdefault(str(row.get("mode", "all")), []).append(row)
    colours = mode_colours(list(by_mode))
    values = np.array([_number(r.get(metric)) for r in rows])
    values = values[np.isfinite(values)]
    log = values.size > 0 and values.min() > 0 and values.max() / values.min() > 30
    base = _metric_base(metric, low)
    limits = (values.min() / 2 if log else -math.inf, 1.0 if _metric_unit(base).startswith("share") else math.inf)
    if limits[1] == 1.0:
        limits = (0.0, 1.0)
    for k, (mode, mode_rows) in enumerate(by_mode.items()):
        style = dict(color=colours[mode], marker=_SWEEP_MARKERS[k % len(_SWEEP_MARKERS)], markersize=max(4, 10 - 2 * k))
        _sweep_line(ax, mode, mode_rows, (parameter, metric, low, high), style, limits)
    if log:
        ax.set_yscale("log")
    xs = [_number(r.get(parameter)) for r in rows]
    if all(math.isfinite(x) and x == round(x) for x in xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(parameter)
    ax.set_ylabel(_metric_label(base, log))
    ax.set_title(_("{metric} against {parameter}").format(metric=_metric_name(base), parameter=parameter), fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(title=_("mode (band: 95% CI)") if low and high else _("mode"), fontsize=9)
    return ax


_SWEEP_MARKERS = ("o", "s", "^", "D", "v", "P")


def _sweep_line(ax: Axes, mode: str, rows, columns, style: dict, limits: tuple[float, float]) -> None:
    """One mode's line and its confidence band (clipped to *limits*: a share stays in 0-1)."""
    parameter, metric, low, high = columns
    data = sorted(
        (
            _number(r.get(parameter)),
            _number(r.get(metric)),
            _number(r.get(low)) if low else math.nan,
            _number(r.get(high)) if high else math.nan,
        )
        for r in rows
    )
    x, y, lo, hi = (np.array(col, dtype=float) for col in zip(*data))
    keep = np.isfinite(x) & np.isfinite(y)
    ax.plot(x[keep], y[keep], linewidth=2, label=figure_mode(mode), **style)
    band = keep & np.isfinite(lo) & np.isfinite(hi)
    if band.any():
        lo, hi = np.clip(lo, *limits), np.clip(hi, *limits)
        ax.fill_between(x[band], lo[band], hi[band], color=style["color"], alpha=0.2, linewidth=0)


# --------------------------------------------------------------------------- whole figures


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def focus_type(results: Results) -> str | None:
    """The incident type the lesson is about: garbage overflow when the results have it, else None (every type)."""
    types = results.summary["modes"][results.modes[0]]["by_type"]
    return "garbage_overflow" if "garbage_overflow" in types else None


def figure_response_ecdf(results: Results) -> Figure:
    """The response-time distribution of the lesson's type (garbage overflow; every incident when there is none)."""
    fig = _figure(11, 7.5)
    plot_response_ecdf(results, ax=fig.add_subplot(), incident_type=focus_type(results))
    return fig


def figure_response_by_type(results: Results) -> Figure:
    """Median and p90 response by incident type."""
    types = len(results.summary["modes"][results.modes[0]]["by_type"])
    fig = _figure(12, 2.2 + 0.3 * types * len(results.modes))
    plot_response_by_type(results, ax=fig.add_subplot())
    return fig


def figure_response_map(results: Results) -> Figure:
    """One map per mode on one colour scale (the lesson's type), with a shared colour bar and base legend."""
    n = len(results.modes)
    focus = focus_type(results)
    fig = _figure(4.6 * n + 1.5, 5.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    norm = response_norm(results, focus)
    for ax, mode in zip(axes, results.modes):
        plot_response_map(results, mode, ax=ax, norm=norm, incident_type=focus)
    bar = fig.colorbar(axes[0].collections[0], ax=list(axes), shrink=0.85)
    bar.set_label(_("Median response time, minutes (log scale)"), fontsize=11)
    assert norm.vmin is not None and norm.vmax is not None  # response_norm sets both
    _log_time_axis(bar.ax.yaxis, norm.vmin, norm.vmax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(6, len(labels)), fontsize=10)
    what = _pretty(focus) if focus else _("all incidents")
    fig.suptitle(_("Where the waiting is: median response per patch, {what}").format(what=what), fontsize=14)
    return fig


def figure_load(results: Results) -> Figure:
    """Utilisation and waiting by hour of day, a row per department, each column on one y scale.

    The right column shows both queues: jobs waiting for a free unit (solid) and matters waiting
    at the desks to be passed on (dashed, under referral), so that a short unit queue under
    fragmented working is not read as no waiting.
    """
    departments = [d.name for d in results._need_scenario().departments]
    fig = _figure(13, 2.3 * len(departments) + 1.2)
    axes = fig.subplots(len(departments), 2, squeeze=False, sharex=True)
    for k, dept in enumerate(departments):
        plot_utilisation(results, dept, ax=axes[k, 0])
        plot_queue(results, dept, ax=axes[k, 1], desks=True)
        if k < len(departments) - 1:
            axes[k, 0].set_xlabel("")
            axes[k, 1].set_xlabel("")
    for column in (0, 1):
        top = max(ax.get_ylim()[1] for ax in axes[:, column])
        for ax in axes[:, column]:
            ax.set_ylim(0, top)
    handles: list = [Line2D([], [], color=results.colours[m], linewidth=2, label=figure_mode(m)) for m in results.modes]
    handles.append(Line2D([], [], color="#555555", linewidth=2, label=_("waiting for a unit")))
    handles.append(Line2D([], [], color="#555555", linewidth=2, linestyle="--", label=_("waiting at the desks")))
    handles.append(Patch(color="#bbbbbb", alpha=0.35, label=_("no unit on duty")))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=10)
    fig.suptitle(_("Utilisation and waiting over the day, per department (same scale in each column)"), fontsize=14)
    return fig


def figure_timeline(results: Results, story: Story | None = None) -> Figure:
    """One garbage incident's life under each mode."""
    story = story or find_story(results)
    fig = _figure(15, 3.2 + 2.4 * len(story.events))
    plot_timeline(story, ax=fig.add_subplot(), colours=results.colours)
    return fig


COMPARISON_FIGURES: dict[str, tuple[str, Callable[..., Figure]]] = {
    "response_ecdf": (N_("Response-time distributions by mode"), figure_response_ecdf),
    "response_by_type": (N_("Median and p90 response per incident type"), figure_response_by_type),
    "response_map": (N_("Mean response per patch, by mode"), figure_response_map),
    "load_by_hour": (N_("Utilisation and queue length over the day"), figure_load),
    "timeline": (N_("One full bin under each way of working"), figure_timeline),
}
"""File stem -> (title, builder) of the figures drawn from a comparison's results."""

_NEEDS_SCENARIO = {"response_map", "load_by_hour", "timeline"}


def comparison_figures(results: Results, story: Story | None = None) -> dict[str, tuple[str, Figure]]:
    """Every figure of a comparison: file stem -> (title, figure).

    Figures that need the scenario are left out when the results have none, and the timeline
    when no incident has a story to tell.
    """
    out: dict[str, tuple[str, Figure]] = {}
    for stem, (title, build) in COMPARISON_FIGURES.items():
        if stem in _NEEDS_SCENARIO and results.scenario is None:
            continue
        if stem == "timeline":
            try:
                story = story or find_story(results)
            except ValueError:
                continue
            out[stem] = (title, build(results, story))
        else:
            out[stem] = (title, build(results))
    return out


def _other_parameters_fixed(rows: Sequence[dict], parameter: str, parameters: list[str]) -> tuple[list[dict], str]:
    """Rows where every other swept parameter is at its first value, and a note saying so."""
    fixed = {p: _number(rows[0].get(p)) for p in parameters if p != parameter}
    kept = [r for r in rows if all(_number(r.get(p)) == v for p, v in fixed.items())]
    note = ", ".join(f"{p} = {v:g}" for p, v in fixed.items())
    return kept, note


def sweep_figures(rows: Sequence[dict], limit: int = 8) -> dict[str, tuple[str, Figure]]:
    """Sweep curves for each (parameter, metric with a CI) of a sweep table, at most *limit*."""
    parameters, metrics = sweep_columns(rows)
    out: dict[str, tuple[str, Figure]] = {}
    for parameter in parameters:
        kept, note = _other_parameters_fixed(rows, parameter, parameters)
        for metric, ci in metrics.items():
            if len(out) >= limit:
                return out
            fig = _figure(7.5, 4.8)
            low, high = ci or (None, None)
            ax = plot_sweep(kept, parameter, metric, low, high, ax=fig.add_subplot())
            if note:
                others = _("(other parameters: {note})").format(note=note)
                ax.set_title(f"{ax.get_title()}\n{others}", fontsize=10)
            stem = "sweep_" + re.sub(r"[^A-Za-z0-9]+", "_", f"{metric}_vs_{parameter}").strip("_")
            name = _metric_name(_metric_base(metric, (ci or (None,))[0]))
            out[stem] = (_("Sweep: {metric} against {parameter}").format(metric=name, parameter=parameter), fig)
    return out


# --------------------------------------------------------------------------- planning: levers and sensitivity

__all__ += [
    "figure_sensitivity",
    "figure_waterfall",
    "metric_words",
    "plot_sensitivity",
    "plot_waterfall",
    "waterfall_handles",
]

_STEP_COLOURS = {"down": OKABE_ITO["blue"], "up": OKABE_ITO["orange"]}
_INDEX_COLOURS = {
    "S1": OKABE_ITO["sky blue"],
    "ST": OKABE_ITO["blue"],
    "mu_star": OKABE_ITO["blue"],
    "sigma": OKABE_ITO["sky blue"],
}


def _mean_or_nan(stats: dict | None) -> float:
    return _number((stats or {}).get("mean"))


def _interval_at(stats: dict | None, offset: float = 0.0) -> tuple[float, float] | None:
    """The interval ``(ci_low, ci_high)`` shifted by *offset* (a step's interval starts at its level)."""
    low, high = _number((stats or {}).get("ci_low")), _number((stats or {}).get("ci_high"))
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return offset + low, offset + high


def _waterfall_steps(table: dict) -> list[tuple[str, float, float, dict | None, dict]]:
    """(label, bottom, top, interval stats, share row) of each lever's step, from the first mode's value."""
    level, steps = _mean_or_nan(table["from"]), []
    for row in table["shares"]:
        share = _mean_or_nan(row["shapley"])
        steps.append((_pretty(row["lever"]), level, level + share, row["shapley"], row))
        level += share
    return steps


def _waterfall_bar(
    ax: Axes, x: float, bottom: float, top: float, colour: str, interval: tuple[float, float] | None
) -> float:
    """One bar from *bottom* to *top* and its interval's whisker at *top*; returns the highest point drawn."""
    ax.bar(x, top - bottom, bottom=bottom, width=0.6, color=colour, edgecolor="black", linewidth=0.6, zorder=2)
    if interval is None:
        return max(bottom, top)
    low, high = interval
    ax.errorbar(
        x, top, yerr=[[max(0.0, top - low)], [max(0.0, high - top)]], color="black", capsize=4, linewidth=1, zorder=3
    )
    return max(bottom, top, high)


def _order_markers(ax: Axes, x: float, row: dict, bottom: float) -> float:
    """Where the lever would take the metric if switched first (alone) or last, from the same level."""
    alone, last = bottom + _mean_or_nan(row["alone"]), bottom + _mean_or_nan(row["last"])
    ax.plot([x + 0.38] * 2, [alone, last], color="#555555", linewidth=1, zorder=3)
    ax.plot(x + 0.38, alone, marker="o", markerfacecolor="white", markeredgecolor="black", markersize=6, zorder=4)
    ax.plot(x + 0.38, last, marker="v", color="black", markersize=6, zorder=4)
    return max(alone, last)


def plot_waterfall(table: dict, ax: Axes | None = None, legend: bool = True) -> Axes:
    """From one mode to another, lever by lever: each lever's Shapley share of the change.

    Parameters
    ----------
    table:
        One metric of a lever decomposition (:meth:`sim.planning.decompose.Decomposition.metric_table`,
        or ``decompose.json``'s ``metrics[m]``): ``metric``, ``low``, ``high``, ``from`` and
        ``to`` (mean, ci_low, ci_high) and ``shares`` (per lever: ``shapley``, ``alone``,
        ``last``).
    ax:
        Axes to draw on; default a new figure's.
    legend:
        Draw the legend in the axes (a figure of several panels draws one for all).

    Notes
    -----
    Bars start at the first mode's mean and end at the last mode's; whiskers are 95% intervals.
    Beside each step, a circle marks where the lever alone (switched first) would take the
    metric and a triangle where it takes it when switched last: the gap is the order effect
    that the Shapley share averages out.
    """
    ax = _new_axes(ax, figsize=(8, 5))
    colours = mode_colours([table["low"], table["high"]])
    start, end = _mean_or_nan(table["from"]), _mean_or_nan(table["to"])
    tops = [_waterfall_bar(ax, 0, 0, start, colours[table["low"]], _interval_at(table["from"]))]
    steps = _waterfall_steps(table)
    for x, (_label, bottom, top, stats, row) in enumerate(steps, start=1):
        drawn = _waterfall_bar(
            ax, x, bottom, top, _STEP_COLOURS["down" if top < bottom else "up"], _interval_at(stats, bottom)
        )
        tops.append(max(drawn, _order_markers(ax, x, row, bottom)))
        ax.plot([x - 1 - 0.3, x + 0.3], [bottom, bottom], color="#777777", linewidth=0.8, linestyle=":", zorder=1)
    last = len(steps) + 1
    ax.plot([last - 1 - 0.3, last + 0.3], [end, end], color="#777777", linewidth=0.8, linestyle=":", zorder=1)
    tops.append(_waterfall_bar(ax, last, 0, end, colours[table["high"]], _interval_at(table["to"])))
    _label_waterfall(ax, [start, *(top - bottom for _, bottom, top, _, _ in steps), end], tops)
    base = table["metric"]
    ax.set_xticks(
        range(last + 1),
        [figure_mode(table["low"]), *(label for label, *_ in steps), figure_mode(table["high"])],
        rotation=20,
        ha="right",
    )
    ax.set_ylabel(_metric_label(base))
    ax.set_ylim(0, 1.12 * max(t for t in tops if math.isfinite(t)))
    ax.set_title(
        _("{metric}: {low} to {high}, lever by lever").format(
            metric=_metric_name(base), low=figure_mode(table["low"]), high=figure_mode(table["high"])
        ),
        fontsize=11,
    )
    ax.grid(True, axis="y", alpha=0.3)
    if legend:
        ax.legend(handles=waterfall_handles(table["low"], table.get("confidence", 0.95)), fontsize=8, loc="upper right")
    return ax


def _label_waterfall(ax: Axes, values: list[float], tops: list[float]) -> None:
    """Each bar's value (a step's signed change) above everything drawn at it."""
    for x, (value, top) in enumerate(zip(values, tops)):
        sign = "" if x in (0, len(values) - 1) else ("+" if value >= 0 else "\u2212")
        text = f"{sign}{format_minutes(abs(value))}" if math.isfinite(value) else "-"
        ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)


def waterfall_handles(low: str, confidence: float = 0.95) -> list:
    """Legend entries of a waterfall."""
    return [
        Patch(color=_STEP_COLOURS["down"], label=_("lever's Shapley share: lowers it")),
        Patch(color=_STEP_COLOURS["up"], label=_("lever's Shapley share: raises it")),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            label=_("lever switched alone on {mode}").format(mode=figure_mode(low)),
        ),
        Line2D([], [], marker="v", linestyle="", color="black", label=_("lever switched last")),
        Line2D(
            [],
            [],
            color="black",
            marker="|",
            linestyle="",
            markersize=10,
            label=_("{level}% interval").format(level=f"{100 * confidence:g}"),
        ),
    ]


def figure_waterfall(decomposition: dict, metrics: Sequence[str] | None = None) -> Figure:
    """Waterfalls of a lever decomposition (``Decomposition.as_dict()``), one panel per metric, two per row."""
    names = list(metrics or decomposition["metrics"])
    cols = min(2, len(names))
    rows = math.ceil(len(names) / cols)
    fig = _figure(7.2 * cols, 4.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        plot_waterfall(decomposition["metrics"][name], ax=ax, legend=False)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.legend(
        handles=waterfall_handles(decomposition["from"], decomposition.get("confidence", 0.95)),
        loc="outside lower center",
        ncols=5,
        fontsize=9,
    )
    fig.suptitle(
        _("{scenario}: which lever buys how much ({n} replications, common random numbers)").format(
            scenario=decomposition["scenario"], n=decomposition["replications"]
        ),
        fontsize=12,
    )
    return fig


def plot_sensitivity(
    rows: Sequence[dict], ax: Axes | None = None, title: str | None = None, order: Sequence[str] | None = None
) -> Axes:
    """Global sensitivity indices of one metric in one mode, one row of bars per parameter.

    Parameters
    ----------
    rows:
        One dict per parameter: ``parameter`` and either Sobol ``S1``, ``S1_conf``, ``ST``,
        ``ST_conf`` or Morris ``mu_star``, ``mu_star_conf``, ``sigma``
        (:func:`sim.planning.sensitivity.index_rows`).
    ax:
        Axes to draw on; default a new figure's.
    title:
        Axes title.
    order:
        Parameters from top to bottom; default by total index (or mu*), largest on top.

    Notes
    -----
    A parameter whose indices and intervals are all exactly 0 is marked "exactly 0": with common
    random numbers, it changed no run at all.
    """
    ax = _new_axes(ax, figsize=(7, 1.2 + 0.5 * len(rows)))
    sobol = any("ST" in r for r in rows)
    keys = ("S1", "ST") if sobol else ("mu_star", "sigma")
    by_name = {r["parameter"]: r for r in rows}
    names = (
        list(order)
        if order
        else sorted(by_name, key=lambda n: -np.nan_to_num(_number(by_name[n].get(keys[-1] if sobol else keys[0]))))
    )
    shown = [by_name.get(n, {"parameter": n}) for n in names]
    y = np.arange(len(shown))[::-1]
    height = 0.38
    for k, key in enumerate(keys):
        values = np.array([_number(r.get(key)) for r in shown])
        conf = np.array([_number(r.get(f"{key}_conf")) for r in shown])
        ax.barh(
            y + (0.5 - k) * height,
            np.nan_to_num(values),
            height=height,
            color=_INDEX_COLOURS[key],
            edgecolor="black",
            linewidth=0.5,
            label=_index_label(key),
            xerr=np.nan_to_num(conf) if np.isfinite(conf).any() else None,
            error_kw={"capsize": 3, "linewidth": 1},
        )
    checked = [*keys, *(f"{k}_conf" for k in keys if f"{k}_conf" in shown[0])] if shown else []
    for yi, row in zip(y, shown):
        if all(_number(row.get(k)) == 0 for k in checked):
            ax.annotate(
                _("exactly 0"),
                (0, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color="#555555",
            )
    ax.set_yticks(y, [_parameter_label(n) for n in names])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(
        _("Sobol index (share of the output's variance)") if sobol else _("Morris elementary effect (metric's units)")
    )
    if sobol:
        ax.set_xlim(min(-0.05, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _index_label(key: str) -> str:
    return _(
        {
            "S1": N_("first order S1 (95% interval)"),
            "ST": N_("total ST (95% interval)"),
            "mu_star": N_("mu* (95% interval)"),
            "sigma": N_("sigma"),
        }[key]
    )


def _parameter_label(path: str) -> str:
    """A key path for an axis label, without its section (``departments.``, ``governance.``, ``incident_types.``)."""
    section, _, rest = path.partition(".")
    return rest if section in ("departments", "governance", "incident_types", "territory") and rest else path


def figure_sensitivity(result: dict, metric: str) -> Figure:
    """Bars of one metric's indices, one panel per mode (``SensitivityResult.as_dict()``)."""
    rows = [r for r in result["indices"] if r["metric"] == metric]
    modes = [m for m in result["modes"] if any(r["mode"] == m for r in rows)]
    parameters = len({r["parameter"] for r in rows})
    key = "ST" if result["method"] == "sobol" else "mu_star"
    totals: dict[str, float] = {}
    for row in rows:
        totals[row["parameter"]] = totals.get(row["parameter"], 0.0) + np.nan_to_num(_number(row.get(key)))
    order = sorted(totals, key=lambda name: -totals[name])
    fig = _figure(3.2 + 4.2 * len(modes), 1.6 + 0.55 * parameters)
    axes = fig.subplots(1, len(modes), squeeze=False, sharex=True, sharey=True)[0]
    for ax, mode in zip(axes, modes):
        title = _("mode {mode}").format(mode=figure_mode(mode))
        plot_sensitivity([r for r in rows if r["mode"] == mode], ax=ax, title=title, order=order)
    fig.suptitle(
        _("{name}: which parameters matter for {metric} ({method})").format(
            name=result["name"], metric=_metric_name(metric), method=result["method"]
        ),
        fontsize=12,
    )
    return fig


def metric_words(path: str) -> str:
    """A metric path in words, for tables and titles.

    E.g. ``by_type.garbage_overflow.response_min.median`` -> ``garbage overflow: median response time``.
    """
    return _metric_name(path)


# --------------------------------------------------------------------------- staffing

__all__ += ["figure_staffing", "plot_staffing"]


def plot_staffing(data: dict, ax: Axes | None = None) -> Axes:
    """The metric against the team's units, per mode: mean and interval at each count tried, the target line.

    Parameters
    ----------
    data:
        ``staffing.json`` as written by ``staff --out``: ``{"target": ..., "results": [StaffingResult.as_dict(), ...]}``.
    """
    ax = _new_axes(ax)
    results = data["results"]
    colours = mode_colours([r["mode"] for r in results])
    target = results[0]["target"]
    for k, result in enumerate(results):
        trials = sorted(result["trials"], key=lambda t: t["units"])
        x = np.array([t["units"] for t in trials], dtype=float) + 0.08 * (k - (len(results) - 1) / 2)
        mean = np.array([_number(t["mean"]) for t in trials])
        low = np.array([_number(t["ci_low"]) for t in trials])
        high = np.array([_number(t["ci_high"]) for t in trials])
        has = np.isfinite(low) & np.isfinite(high)
        colour = colours[result["mode"]]
        ax.errorbar(
            x[has],
            mean[has],
            yerr=[mean[has] - low[has], high[has] - mean[has]],
            fmt="none",
            ecolor=colour,
            capsize=3,
            lw=1.2,
        )
        ax.plot(x, mean, "o", color=colour, label=_staffing_label(result))
        if result["answer"] is not None:
            at = next(i for i, t in enumerate(trials) if t["units"] == result["answer"])
            ax.plot([x[at]], [mean[at]], marker="*", ms=16, color=colour, mec="black", mew=0.6, ls="none")
    ax.axhline(
        target["value"],
        color="black",
        ls="--",
        lw=1,
        label=_("target: {target}").format(target=target["text"] or target["metric"]),
    )
    ax.set_xlabel(_("units of the team (people = units x crew)"))
    ax.set_ylabel(_metric_label(target["metric"]))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def _staffing_label(result: dict) -> str:
    if result["answer"] is None:
        return _("{mode}: not shown to meet it up to {units} units").format(
            mode=figure_mode(result["mode"]), units=result["searched"][1]
        )
    return _("{mode}: {units} units = {people} people (star)").format(
        mode=figure_mode(result["mode"]), units=result["answer"], people=result["answer_people"]
    )


def figure_staffing(data: dict) -> Figure:
    """The staffing search of ``staffing.json`` as one figure (:func:`plot_staffing`)."""
    fig = _figure(8, 5)
    plot_staffing(data, ax=fig.add_subplot())
    departments = (
        "、".join(figure_term(d) for d in data["results"][0]["departments"])
        if figure_language() == "zh"
        else ", ".join(data["results"][0]["departments"])
    )
    fig.suptitle(
        _("{scenario}: how many units of {departments}; mean and interval over replications").format(
            scenario=data["scenario"], departments=departments
        ),
        fontsize=11,
    )
    return fig
