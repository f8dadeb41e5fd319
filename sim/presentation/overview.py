"""What a scenario file builds, in a short table: what ``python -m sim validate`` prints.

:func:`scenario_overview` gathers, as plain JSON-ready data, what the model will build from a
valid scenario: the territory (patches, sectors and grids with their sizes, so that
``sectors: [5, 4]`` read as "5 x 4 blocks = 20 sectors" is visible), each department's units on
duty by hour of the week, each way of working's lever values, the offered load against capacity
(:mod:`sim.stats.capacity`) and the warnings that follow from it. :func:`format_overview` turns
that data into the text table; ``validate --json`` prints the data itself.

To show something more, add a key in :func:`scenario_overview` (and, for the text, a few lines
in :func:`format_overview`); warnings about the scenario go through :func:`scenario_warnings`.
Before and after a run, :func:`pre_run_warnings` and :func:`post_run_warnings` give the overload
lines that ``run`` and ``compare`` print on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.engine.department import build_roster
from sim.engine.territory import build_town
from sim.scenario import checks
from sim.scenario.centres import patch_areas
from sim.scenario.governance import LEVERS, modes_of
from sim.scenario.schema import Scenario
from sim.stats.capacity import (
    CapacityReport,
    backlog_messages,
    backlog_trends,
    border_messages,
    centre_messages,
    hour_ranges,
    offered_load,
    on_duty_by_hour,
    overload_messages,
)

__all__ = ["scenario_overview", "format_overview", "scenario_warnings", "pre_run_warnings", "post_run_warnings"]


def _sizes(index: np.ndarray, names: Sequence[str]) -> dict:
    counts = np.bincount(index, minlength=len(names))
    low, high = int(counts.min()), int(counts.max())
    return {
        "count": len(names),
        "patches_min": low,
        "patches_max": high,
        "even": low == high,
        "patches": {name: int(n) for name, n in zip(names, counts)},
    }


def _territory(scenario: Scenario) -> dict:
    town = build_town(scenario.territory)
    grid = scenario.territory.grid
    out: dict[str, Any] = {
        "patches": town.size,
        "patch_km": scenario.territory.patch_km,
        "layout": "grid" if grid is not None else "explicit patches",
        "sectors": _sizes(town.sector, town.sector_names),
        "grids": _sizes(town.grid, town.grid_names),
    }
    if grid is not None:
        out.update(rows=grid.rows, cols=grid.cols)
        out["sectors"]["blocks"] = list(grid.sectors)
        if grid.sector_blocks:
            out["sectors"]["joined"] = {name: list(blocks) for name, blocks in grid.sector_blocks.items()}
        out["grids"]["blocks"] = list(grid.grids)
    return out


def _departments(scenario: Scenario) -> list[dict]:
    town = build_town(scenario.territory)
    out = []
    for d in scenario.departments:
        duty = on_duty_by_hour(build_roster(d, town).on_duty)
        none = [h for h in range(len(duty)) if duty[h] <= 0]
        out.append(
            {
                "name": d.name,
                "units": d.units,
                "crew": d.crew,
                "people": d.units * d.crew,
                "shift": d.shift if isinstance(d.shift, str) else "windows",
                "patrols": d.patrols,
                "poolable": d.poolable,
                "on_duty_min": float(duty.min()),
                "on_duty_max": float(duty.max()),
                "unit_hours_per_week": float(duty.sum()),
                "hours_with_none": len(none),
                "hours_with_none_text": hour_ranges(none),
                "units_on_duty_by_hour": [round(float(v), 3) for v in duty],
            }
        )
    return out


def _modes(scenario: Scenario) -> dict:
    out = {}
    for name, mode in modes_of(scenario).items():
        pooled = [d.name for d in scenario.departments if d.name in mode.pooled]
        out[name] = {
            "pooled": pooled,
            "information": mode.information,
            "dispatch": mode.dispatch,
            "coordination": mode.coordination,
            "leave_probability": mode.leave_probability,
            "closed_loop": mode.closed_loop,
            "dispatch_across_borders": mode.across_borders,
        }
    return out


def _centres(scenario: Scenario) -> list[dict]:
    """The command centres at several levels: name, level, parent, operators (None: unlimited).

    ``across``: the centre serves grids lying in more than one sector (a village across a town border).
    """
    centres = scenario.governance.centres or []
    sectors_of_grid: dict[str, set[str]] = {}
    if any(c.serves != "all" and c.serves.grids for c in centres):
        sector_of, grid_of, _, _ = patch_areas(scenario.territory)
        for sector, grid in zip(sector_of, grid_of):
            sectors_of_grid.setdefault(grid, set()).add(sector)
    return [
        {
            "name": c.name,
            "level": c.level,
            "parent": c.parent,
            "operators": c.operators,
            "across": c.serves != "all" and any(len(sectors_of_grid.get(g, ())) > 1 for g in c.serves.grids or ()),
        }
        for c in centres
    ]


def scenario_warnings(scenario: Scenario, capacity: CapacityReport | None = None, source: str = "") -> list[str]:
    """Warnings and notes about a valid scenario, one line each.

    Settings without effect (:func:`sim.scenario.checks.warnings`) come first, then overload
    (:func:`sim.stats.capacity.overload_messages`).
    """
    where = f"{source}: " if source else ""
    lines = [
        f"warning: {where}{'.'.join(str(p) for p in path)}: {message}" for path, message in checks.warnings(scenario)
    ]
    messages = overload_messages(capacity or offered_load(scenario)) + border_messages(scenario)
    return lines + messages + centre_messages(scenario)


def scenario_overview(scenario: Scenario, source: str = "") -> dict:
    """What the scenario builds, as JSON-ready data (see the module docstring).

    Parameters
    ----------
    scenario:
        A validated scenario.
    source:
        The file it came from (shown in the text).
    """
    capacity = offered_load(scenario)
    return {
        "file": source,
        "valid": True,
        "scenario": scenario.name,
        "days": scenario.days,
        "warmup_days": scenario.warmup_days,
        "drain_days": scenario.drain_days,
        "target_min": scenario.target_min,
        "incident_types": [t.name for t in scenario.incident_types],
        "incidents_per_day": sum(t.rate_per_day for t in scenario.incident_types),
        "territory": _territory(scenario),
        "departments": _departments(scenario),
        "modes": _modes(scenario),
        "centres": _centres(scenario),
        "load": capacity.as_dict(),
        "warnings": scenario_warnings(scenario, capacity, source),
    }


# --------------------------------------------------------------------------- text


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _split_text(part: dict, kind: str) -> str:
    text = f"{part['count']}"
    if "blocks" in part:
        r, c = part["blocks"]
        text += f" ({kind} [{r}, {c}] = {r} x {c} blocks"
        for name, blocks in part.get("joined", {}).items():
            text += f", {name} = {' + '.join(blocks)}"
    else:
        text += " (named in the patches"
    if part["even"]:
        text += f"; {part['patches_min']} patches each)"
    else:
        text += f"; uneven: {part['patches_min']}-{part['patches_max']} patches each)"
    return text


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _rho(value) -> str:
    return "no units" if value is None else f"{value:.2f}"


def _natural(name: str) -> list:
    """A sort key that puts town2 before town10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _centres_text(centres: list[dict]) -> list[str]:
    """One line per level of centres: how many, their operators, whom they pass up to."""
    if not centres:
        return []
    lines = [f"command centres: {len(centres)} (governance.centres)"]
    for level in dict.fromkeys(c["level"] for c in centres):
        here = [c for c in centres if c["level"] == level]
        seats = [c["operators"] for c in here]
        staffed = "unlimited operators" if all(n is None for n in seats) else f"{sum(n or 0 for n in seats)} operators"
        parents = sorted({c["parent"] for c in here if c["parent"]}, key=_natural)
        shown = ", ".join(parents) if len(parents) <= 5 else f"{len(parents)} centres ({', '.join(parents[:3])}, ...)"
        up = f", passing up to {shown}" if parents else ""
        across = sum(c.get("across", False) for c in here)
        up += f"; {across} serve a grid across a sector border" if across else ""
        lines.append(f"  {level}: {len(here)} ({staffed}{up})")
    return lines


def format_overview(overview: dict) -> str:
    """The text ``validate`` prints: what was built, in a few short tables (times in minutes)."""
    t = overview["territory"]
    modes = overview["modes"]
    lines = [
        f"{overview['file'] or 'scenario'}: valid scenario '{overview['scenario']}': {len(overview['departments'])} departments, "
        f"{len(overview['incident_types'])} incident types ({overview['incidents_per_day']:,.4g} a day), modes {', '.join(modes)}",
        f"horizon: {overview['days']:g} days (warm-up {overview['warmup_days']:g}, drain {overview['drain_days']:g}); "
        f"response target {overview['target_min']:g} min",
    ]
    layout = f"{t['rows']} x {t['cols']} grid" if t["layout"] == "grid" else "explicit patches"
    lines += [
        f"territory: {t['patches']} patches ({layout}, {t['patch_km']:g} km each)",
        f"  sectors: {_split_text(t['sectors'], 'sectors')}",
        f"  grids:   {_split_text(t['grids'], 'grids')}",
    ]
    lines += _centres_text(overview.get("centres") or [])
    lines += [
        "",
        "departments: units on duty by hour of the week",
    ]
    rows = [
        [
            d["name"],
            str(d["units"]),
            str(d["crew"]),
            str(d["people"]),
            d["shift"],
            "yes" if d["patrols"] else "no",
            f"{_number(d['on_duty_min'])}-{_number(d['on_duty_max'])}",
            f"{d['unit_hours_per_week']:,.0f}",
            "-" if not d["hours_with_none"] else f"{d['hours_with_none']} h: {d['hours_with_none_text']}",
        ]
        for d in overview["departments"]
    ]
    lines.append(
        _table(
            [
                "department",
                "units",
                "crew",
                "people",
                "shift",
                "patrols",
                "on duty",
                "unit-h/week",
                "hours with none on duty",
            ],
            rows,
        )
    )
    lines += ["", "ways of working (lever values)"]
    lever_rows = []
    for lever in LEVERS:
        if lever == "dispatch_across_borders" and all(spec.get(lever, True) for spec in modes.values()):
            continue  # shown only when some mode keeps units within their town
        cells = []
        for spec in modes.values():
            value = spec[lever]
            if lever == "pooled":
                cells.append(", ".join(value) or "none")
            elif lever in ("closed_loop", "dispatch_across_borders"):
                cells.append("on" if value else "off")
            elif lever == "leave_probability":
                cells.append(f"{value:g}")
            else:
                cells.append(str(value))
        lever_rows.append([lever, *cells])
    lines.append(_table(["lever", *modes], lever_rows))
    lines += [
        "",
        "offered load: utilisation = offered unit-minutes / unit-minutes on duty, week mean (busiest hour with units on duty)",
    ]
    loads = {(x["department"], x["mode"]): x for x in overview["load"]["loads"]}
    load_rows = []
    for d in overview["departments"]:
        cells = []
        for mode in modes:
            x = loads.get((d["name"], mode))
            if x is None:
                cells.append("-")
                continue
            text = _rho(x["weekly_utilisation"])
            if x["peak_utilisation"] is not None and x["peak_hour"] is not None:
                text += f" ({x['peak_utilisation']:.2f} {x['peak_hour']})"
            if x["overloaded"]:
                text += " OVER"
            cells.append(text)
        load_rows.append([d["name"], *cells])
    lines.append(_table(["department", *modes], load_rows))
    lines += _campaign_lines(overview["departments"], loads, modes)
    lines.append("estimated from the scenario alone, assuming:")
    lines += [f"  - {text}" for text in overview["load"]["assumptions"]]
    return "\n".join(lines)


def _campaign_lines(departments: list[dict], loads: dict, modes: list[str]) -> list[str]:
    """One line: the unit-hours a week joint campaigns take off each department's response duty."""
    parts = []
    for d in departments:
        x = next((loads[(d["name"], m)] for m in modes if (d["name"], m) in loads), None)
        if x is not None and x.get("campaign_unit_min_per_week", 0) > 0:
            parts.append(f"{d['name']} {x['campaign_unit_min_per_week'] / 60:,.1f} ({', '.join(x['campaigns'])})")
    if not parts:
        return []
    return [
        "campaigns take units off response duty (unit-hours a week; on duty above is what is left): " + ", ".join(parts)
    ]


# --------------------------------------------------------------------------- around a run


def pre_run_warnings(scenario: Scenario, modes: Sequence[str] | None = None) -> list[str]:
    """Overload warnings and notes for the modes about to run (unknown mode names are left to the run to refuse)."""
    defined = modes_of(scenario)
    chosen = [m for m in (modes or defined) if m in defined]
    if not chosen:
        return []
    return (
        overload_messages(offered_load(scenario, chosen))
        + border_messages(scenario, chosen)
        + centre_messages(scenario, chosen)
    )


def post_run_warnings(comparison) -> list[str]:
    """Warnings about backlogs that grew through the run, per mode (a :class:`~sim.experiments.runs.Comparison`)."""
    lines = []
    for mode, outputs in comparison.outputs.items():
        lines += backlog_messages(backlog_trends(comparison.scenario, mode, outputs))
    return lines
