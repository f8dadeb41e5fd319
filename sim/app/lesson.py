"""The lesson page: every combination of the four levers, precomputed, in one HTML file.

:func:`write_lesson` runs the scenario's presets and, for each of the 2^4 = 16 corners of the
levers (authority pooled or not, referral or the shared channel, own queue or nearest, one after
another or all at once; the chance of leaving a matter goes with referral, as in ``decompose``),
the way of working made of them, at a few team sizes of the department that handles the focus
matter (garbage overflow). Every run of a team size uses the same seed, so all of them face the
same incidents. The page embeds the results as JSON with the app's own chart script, so switching
a lever redraws at once, in any browser, with no Python and no network.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sim.app.settings import Settings, load_settings, open_source, preset_levers, shipped_scenarios
from sim.app.views import comparison_view, timeline_view, ui_text
from sim.experiments.runs import Comparison, build_summary, run
from sim.io.results import write_atomic
from sim.presentation import figures as plots
from sim.presentation.i18n import check_language
from sim.scenario.governance import capable_departments, modes_of, parts_of
from sim.version import __version__

__all__ = ["CORNERS", "corner_levers", "team_sizes", "lesson_data", "lesson_html", "write_lesson"]

CORNERS = list(
    itertools.product(("none", "all"), ("referral", "instant"), ("own_queue", "nearest"), ("sequential", "concurrent"))
)
"""The 16 corners: (pooled, information, dispatch, coordination)."""

PRESET_MODES = ("fragmented", "joint", "unified")


def corner_levers(corner: tuple, leave_probability: float) -> dict:
    """The levers of a corner; a unit leaves what it may not act on only under referral."""
    pooled, information, dispatch, coordination = corner
    return {
        "pooled": pooled,
        "information": information,
        "dispatch": dispatch,
        "coordination": coordination,
        "leave_probability": leave_probability if information == "referral" else 0.0,
        "closed_loop": False,
    }


def corner_key(corner: tuple, units: int) -> str:
    """The key of a corner and team size in the page's data: ``all|instant|nearest|concurrent|15``."""
    return "|".join(corner) + f"|{units}"


def team_sizes(units: int) -> list[int]:
    """A few team sizes around the scenario's: about half, as is, and half again."""
    return sorted({max(1, round(units * 0.5)), units, max(units + 1, round(units * 1.5))})


def _focus_department(scenario, focus: str) -> str:
    """The department that handles the focus matter under fragmented working."""
    incident_type = next(t for t in scenario.incident_types if t.name == focus)
    fragmented = modes_of(scenario).get("fragmented") or next(iter(modes_of(scenario).values()))
    capable = sorted(capable_departments(scenario, fragmented, parts_of(incident_type)[0]))
    names = [d.name for d in scenario.departments]
    return min(capable, key=names.index) if capable else names[0]


def lesson_data(
    scenario: str | os.PathLike | None = None,
    overrides: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Every corner at every team size, as the page's JSON.

    Parameters
    ----------
    scenario:
        A scenario file, or a shipped scenario's name (default ``anhai_garbage.yaml``).
    overrides:
        Settings applied to every run (as the app's JSON: ``{"days": 3}``).
    progress:
        Called with a line of text after each team size.
    """
    name = str(scenario) if scenario is not None else "anhai_garbage.yaml"
    if Path(name).is_file():
        source = open_source(name=Path(name).name, path=name)
    elif name in shipped_scenarios():
        source = open_source(name=name)
    else:
        source = open_source(name=name)  # raises the error naming the shipped ones
    base = Settings.from_json(overrides or {})
    scenario_obj, _ = load_settings(source, base)
    types = [t.name for t in scenario_obj.incident_types]
    focus = "garbage_overflow" if "garbage_overflow" in types else types[0]
    department = _focus_department(scenario_obj, focus)
    start_units = scenario_obj.department(department).units
    fragmented = modes_of(scenario_obj).get("fragmented")
    leave = fragmented.leave_probability if fragmented else preset_levers("fragmented")["leave_probability"]
    sizes = team_sizes(start_units)
    views: dict[str, dict] = {}
    timelines: dict[str, dict] = {}
    for units in sizes:
        staffed = replace(base, units={**base.units, department: units})
        scenario_obj, _ = load_settings(source, staffed)
        seed = scenario_obj.seed
        presets = [m for m in PRESET_MODES if m in modes_of(scenario_obj)]
        preset_outputs = {m: [run(scenario_obj, m, seed, 0)] for m in presets}
        preset_comparison = Comparison(
            scenario_obj, seed, 1, preset_outputs, 0.0, build_summary(scenario_obj, seed, 1, preset_outputs)
        )
        with contextlib.suppress(ValueError):  # no bin to tell the story of at this team size
            timelines[str(units)] = timeline_view(plots.find_story(plots.Results.from_comparison(preset_comparison)))
        for corner in CORNERS:
            settings = replace(staffed, levers=corner_levers(corner, leave))
            custom_scenario, _ = load_settings(source, settings)
            outputs = {**preset_outputs, "custom": [run(custom_scenario, "custom", seed, 0)]}
            comparison = Comparison(
                custom_scenario, seed, 1, outputs, 0.0, build_summary(custom_scenario, seed, 1, outputs)
            )
            views[corner_key(corner, units)] = comparison_view(plots.Results.from_comparison(comparison))
        if progress:
            progress(f"{department} {units} units: {len(CORNERS)} ways of working done")
    return {
        "version": __version__,
        "scenario": scenario_obj.name,
        "department": department,
        "sizes": sizes,
        "start_units": start_units,
        "leave_probability": leave,
        "views": views,
        "timelines": timelines,
        "text": ui_text(),
    }


def _static(name: str) -> str:
    from sim.app.server import static_text

    return static_text(name)


def lesson_html(data: dict, lang: str = "en") -> str:
    """The lesson page: the app's style and chart script inline, the data as embedded JSON."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain)
    payload = payload.replace("</", "<\\/")
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Town enforcement lesson</title>'
        f"<style>{_static('app.css')}</style></head><body>{_BODY}"
        f'<script type="application/json" id="lesson-data">{payload}</script>'
        f"<script>{_static('charts.js')}</script><script>var START_LANG = {json.dumps(lang)};\n{_static('lesson.js')}</script>"
        "</body></html>\n"
    )


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


_BODY = """<header><div><h1 data-t="lesson_title"></h1><p class="muted" data-t="lesson_intro"></p></div>
<div class="lang"><button type="button" data-lang="en">English</button><button type="button" data-lang="zh">中文</button></div></header>
<main><aside id="controls">
<fieldset><legend data-t="presets"></legend><div class="presets">
<button type="button" data-preset="fragmented"></button><button type="button" data-preset="joint"></button>
<button type="button" data-preset="unified"></button></div><p class="muted small" data-t="presets_hint"></p></fieldset>
<fieldset id="levers"><legend data-t="levers"></legend>
<label class="check"><input type="checkbox" id="pooled"> <span data-t="pooled"></span></label>
<label class="check"><input type="checkbox" id="instant"> <span data-t="instant"></span></label>
<label class="check"><input type="checkbox" id="nearest"> <span data-t="nearest"></span></label>
<label class="check"><input type="checkbox" id="concurrent"> <span data-t="concurrent"></span></label></fieldset>
<fieldset><legend data-t="lesson_staff"></legend><div id="sizes" class="presets"></div></fieldset>
</aside><section id="main"><div id="results" class="grid"></div></section></main>"""


def write_lesson(
    path: str | os.PathLike,
    scenario: str | os.PathLike | None = None,
    lang: str = "en",
    overrides: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Compute :func:`lesson_data` and write the page to *path*; returns the path."""
    check_language(lang)
    return write_atomic(path, lesson_html(lesson_data(scenario, overrides, progress), lang))
