"""A results folder as one self-contained HTML page, and the garbage case told in words.

:func:`build_report` turns a results folder (from ``compare --out`` or ``sweep --out``) into a
single HTML document: the figures of :mod:`sim.presentation.figures` embedded as PNG data URIs, the summary
tables, and the scenario and seed that reproduce the runs. It has no scripts and no links to
fetch, so it opens in any browser with no network. :func:`narrate` is the short story of the
garbage case that the demo prints and the report shows.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from pathlib import Path

from sim.engine.levels import centre_levels
from sim.engine.trace import Stage, TraceEvent
from sim.io.results import write_atomic
from sim.presentation import figures as plots
from sim.presentation.figures import Results, Story
from sim.presentation.i18n import N_, _, current_language, mode_label, term
from sim.presentation.story import count_of, first_of, is_detection, short_stage
from sim.presentation.text import format_minutes, format_time_stat, share, utilisation_rows

__all__ = [
    "build_report",
    "write_report",
    "figures_of",
    "load_sweep",
    "narrate",
    "headline",
    "staffing_sentences",
    "CAPTIONS",
    "RESULT_FILES",
]

CAPTIONS = {
    "response_ecdf": N_(
        "Garbage overflow only (the lesson's matter). Each curve is the share of the matters found that a unit "
        "able to act had reached within the time on the x axis (log scale, so 10 minutes and 10 hours are both "
        "visible). Circles mark medians, triangles the 90th percentile, the dashed line the response target. "
        "A flat start is the share handled on the spot by the patrol that found it."
    ),
    "response_by_type": N_(
        "For each kind of matter, the dot is the median response and the bar mark the 90th percentile, one "
        "colour per way of working; an open dot means most were handled on the spot. Garbage overflow is "
        "highlighted."
    ),
    "response_map": N_(
        "The town's patches coloured by the median response to garbage overflow, one map per way of working, on "
        "the same colour scale. Thick lines separate patrol sectors; white markers are the departments' bases "
        "(set apart where several share a patch)."
    ),
    "load_by_hour": N_(
        "Left: the share of on-duty unit time spent on jobs, by hour of day. Right: matters waiting, for a free "
        "unit (solid) and at the desks before a unit is asked for (dashed). Under referral the waiting is at the "
        "desks, not in a unit's queue. Each column has one scale; grey hours have no unit on duty."
    ),
    "timeline": N_(
        "One full bin, the same incident in every way of working (common random numbers), rerun with tracing. "
        "Green bands are the referral desks' office hours; grey is when they are closed. The first hour is "
        "stretched so that minutes can be read."
    ),
    "sweep": N_("One line per way of working; the shaded band is the 95% confidence interval over replications."),
    "waterfall": (
        "From the first way of working (left bar) to the last (right bar), each lever's Shapley share of the change: "
        "its change averaged over every order of switching the levers, so the shares add up to the total. "
        "Whiskers are intervals over replications."
    ),
    "staffing": (
        "The target's metric at each number of units tried, per way of working: the mean over replications and its "
        "interval. The dashed line is the target; the star is the fewest units whose interval lies on the target's side."
    ),
}
"""What each figure shows, for the report (sweep figures share one caption)."""


# --------------------------------------------------------------------------- figures


def load_sweep(folder: str | os.PathLike) -> list[dict] | None:
    """The rows of a sweep's ``summary.csv`` (as strings), or None when there is none."""
    path = Path(folder) / "summary.csv"
    if not path.exists():
        return None
    from sim.io.loader import open_user_file

    with open_user_file(path, "a summary.csv of a sweep") as handle:
        return list(csv.DictReader(handle))


def _comparison(folder: Path) -> Results | None:
    summary = folder / "summary.json"
    if not summary.exists() or not (folder / "incidents.csv").exists():
        return None
    from sim.io.loader import read_user_text

    if "modes" not in json.loads(read_user_text(summary, "a summary.json of results", plots.RESULT_JSON_BYTES)):
        return None
    return plots.load_results(folder)


RESULT_FILES = ("summary.json", "summary.csv", "decompose.json", "staffing.json")
"""A results folder holds at least one of these: a comparison, a sweep, a decomposition, a staffing search."""


def _planning(folder: Path, name: str) -> dict | None:
    """``decompose.json`` or ``staffing.json`` of a folder, or None when there is none."""
    path = folder / name
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def figures_of(folder: str | os.PathLike, story: Story | None = None, results: Results | None = None) -> dict:
    """Every figure of a results folder: file stem -> (title, Figure).

    Raises
    ------
    FileNotFoundError
        If the folder holds no comparison, sweep, decomposition or staffing search.
    """
    folder = Path(folder)
    results = results or _comparison(folder)
    rows = load_sweep(folder)
    decomposition, staffing = _planning(folder, "decompose.json"), _planning(folder, "staffing.json")
    if results is None and not rows and decomposition is None and staffing is None:
        raise FileNotFoundError(
            f"{folder}: no comparison (summary.json, incidents.csv), sweep (summary.csv), decomposition (decompose.json) "
            "or staffing search (staffing.json)"
        )
    figures = plots.comparison_figures(results, story) if results is not None else {}
    if rows:
        figures.update(plots.sweep_figures(rows))
    if decomposition is not None:
        figures["waterfall"] = ("Which lever buys how much", plots.figure_waterfall(decomposition))
    if staffing is not None:
        figures["staffing"] = ("How many units meet the target", plots.figure_staffing(staffing))
    return figures


def _png_data_uri(fig, png: bytes | None = None) -> str:
    """The figure as a data URI: the PNG bytes already saved when given, else drawn here."""
    if png is None:  # not saved by sim.presentation.files.save_figures: drawn here, at its resolution
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        png = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --------------------------------------------------------------------------- the story in words


def _focus_type(results: Results, story: Story | None) -> str:
    types = list(results.summary["modes"][results.modes[0]]["by_type"])
    if story is not None:
        return story.incident_type
    return "garbage_overflow" if "garbage_overflow" in types else types[0]


def _mode_sentence(events: list[TraceEvent]) -> str:
    """What happened to the incident in one mode, in one sentence."""
    found = first_of(events, is_detection) or events[0]
    handovers = count_of(events, Stage.HANDED_OVER)
    bounces = count_of(events, Stage.SENT_BACK)
    left = [e.department for e in events if e.stage is Stage.SEEN_NOT_HANDLED]
    on_scene = first_of(events, lambda e: e.stage is Stage.ON_SCENE)
    parts = []
    if left:
        parts.append(
            _("{departments} saw it first but may not act and left it").format(
                departments=_(", ").join(term(d) for d in left)
            )
        )
    parts.append(f"{short_stage(found)} {plots._clock(found.at_min)}")
    if handovers:
        parts.append(
            _("{n} desk hand-overs").format(n=handovers)
            + (_(" and {n} wrong desk").format(n=bounces) if bounces else "")
        )
    if count_of(events, Stage.POSTED):
        parts.append(_("posted in the shared group"))
    if on_scene is None:
        return _("; ").join(parts) + _("; ") + _("nobody reached it before the run ended")
    parts.append(
        _("{unit} on scene {clock}, {time} after it was found").format(
            unit=on_scene.unit, clock=plots._clock(on_scene.at_min), time=format_minutes(on_scene.at_min - found.at_min)
        )
    )
    return _("; ").join(parts)


def narrate(results: Results, story: Story | None = None) -> str:
    """The garbage case in a few lines of plain text, with the numbers of these results."""
    summary, focus = results.summary, _focus_type(results, story)
    target = summary["target_min"]
    lines = [
        _(
            "Scenario '{scenario}', seed {seed}, {days} days (first {warmup} not measured), {replications} replication(s)."
        ).format(
            scenario=summary["scenario"],
            seed=summary["seed"],
            days=f"{summary['days']:g}",
            warmup=f"{summary['warmup_days']:g}",
            replications=summary["replications"],
        ),
        _("Every way of working faces the same incidents, at the same places and times."),
        "",
        _("{type}: from found to a unit able to act on scene").format(type=term(focus)),
    ]
    width = max(len(mode_label(m)) for m in results.modes)
    for mode in results.modes:
        stats = summary["modes"][mode]["by_type"][focus]
        response = stats["response_min"]
        within = stats["within_target"]
        waiting = response["not_reached"] if response else 0
        lines.append(
            f"  {mode_label(mode):<{width}}  "
            + _("median {median}   p90 {p90}   within {target} min: {share}").format(
                median=f"{format_time_stat(response, 'median'):>9}",
                p90=f"{format_time_stat(response, 'p90'):>9}",
                target=f"{target:g}",
                share="-" if within is None else f"{100 * within:.0f}%",
            )
            + (_("   ({n} not reached by the end)").format(n=f"{waiting:,}") if waiting else "")
        )
    lines += _ratio_line(results, focus)
    if story is not None:
        lines += [
            "",
            _("One of them (incident {incident}, patch {patch}, happened {clock}):").format(
                incident=story.incident, patch=story.patch, clock=plots._clock(story.occurred_min)
            ),
        ]
        lines += [f"  {mode_label(mode)}: {_mode_sentence(events)}." for mode, events in story.events.items()]
    return "\n".join(lines)


def _ratio_line(results: Results, focus: str) -> list[str]:
    """How many times shorter each mode's median is than the first mode's."""
    medians = {
        m: (results.summary["modes"][m]["by_type"][focus]["response_min"] or {}).get("median") for m in results.modes
    }
    first = results.modes[0]
    base = medians[first]
    others = {m: median for m in results.modes[1:] if (median := medians[m])}
    if not base or not others:
        return []
    ratios = _(", ").join(
        _("{ratio} times shorter under {mode}").format(ratio=f"{base / median:,.0f}", mode=mode_label(m))
        for m, median in others.items()
    )
    return [
        _("Median against {mode} ({time}): {ratios}.").format(
            mode=mode_label(first), time=format_minutes(medians[first]), ratios=ratios
        )
    ]


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead th { background: #f2f2f2; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.95em; color: #444; margin-top: 0.4em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.mode { font-weight: bold; } .muted { color: #666; }
.tiles { display: flex; gap: 1em; margin: 1em 0; flex-wrap: wrap; }
.tile { color: white; padding: 0.6em 1.2em; border-radius: 6px; min-width: 10em; }
.tile span { display: block; font-size: 1.1em; } .tile b { font-size: 2.4em; }
"""


def _table(header: list[str], rows: list[list[str]], colours: dict[str, str] | None = None) -> str:
    colours = colours or {}

    def th(name):
        style = f' style="color:{colours[name]}"' if name in colours else ""
        return f"<th{style}>{html.escape(name)}</th>"

    head = "".join(th(h) for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _mean_ci(stats) -> str:
    if not stats:
        return "-"
    text = (">= " if stats.get("mean_is_lower_bound") else "") + format_minutes(stats["mean"])
    if "ci_low" in stats:
        text += f" [{format_minutes(stats['ci_low'])}, {format_minutes(stats['ci_high'])}]"
    return text


_GLANCE = (
    (N_("incidents measured"), lambda s: f"{s['incidents']:,}"),
    (N_("detected"), lambda s: f"{s['detected']:,}"),
    (
        N_("found, not reached by the end"),
        lambda s: "-" if s["response_min"] is None else f"{s['response_min']['not_reached']:,}",
    ),
    (N_("response median"), lambda s: format_time_stat(s["response_min"], "median")),
    (N_("response p90"), lambda s: format_time_stat(s["response_min"], "p90")),
    (N_("response mean"), lambda s: _mean_ci(s["response_min"])),
    (N_("handled on the spot by the finder"), lambda s: share(s.get("on_the_spot"))),
    (N_("dispatched: response median"), lambda s: format_time_stat(s.get("dispatched_response_min"), "median")),
    (N_("resolution median"), lambda s: format_time_stat(s["resolution_min"], "median")),
    (N_("unresolved at end"), lambda s: f"{s['unresolved']:,}"),
    (N_("seen, not handled"), lambda s: f"{s['seen_not_handled']:,}"),
    (N_("referrals / bounces"), lambda s: f"{s['referrals']:,} / {s['bounces']:,}"),
    (N_("jobs waiting at end"), lambda s: f"{s.get('backlog', 0):,}"),
)


def _interval_note(summary: dict) -> str:
    """What the means' brackets are, or that there are none (one replication gives no interval)."""
    if int(summary.get("replications", 1)) < 2:
        return _("One replication, so no interval: run more replications for 95% confidence intervals.")
    return _("Means are followed by a 95% confidence interval over the replications, in brackets.")


def _summary_tables(results: Results) -> str:
    modes, summary = results.modes, results.summary
    stats = summary["modes"]
    target = _("within {target} min").format(target=f"{summary['target_min']:g}")
    glance = [[_(label), *(fn(stats[m]) for m in modes)] for label, fn in _GLANCE]
    glance.insert(7, [target, *(share(stats[m]["within_target"]) for m in modes)])
    types = list(stats[modes[0]]["by_type"])
    by_type = [
        [
            term(t),
            *(
                f"{format_time_stat(stats[m]['by_type'][t]['response_min'], 'median')} / "
                f"{format_time_stat(stats[m]['by_type'][t]['response_min'], 'p90')}"
                for m in modes
            ),
        ]
        for t in types
    ]
    centres = results.scenario.governance.centres if results.scenario is not None else None
    levels = centre_levels(centres)
    util = [[term(key), *cells] for key, cells in utilisation_rows([stats[m]["utilisation"] for m in modes], levels)]
    colours = {mode_label(m): c for m, c in results.colours.items()}
    names = [mode_label(m) for m in modes]
    return (
        f"<h2>{_('At a glance: all incidents, every type')}</h2>"
        + f"<p class='muted'>{html.escape(_interval_note(summary))}</p>"
        + _table(["", *names], glance, colours)
        + f"<h3>{_('Response by incident type (median / p90)')}</h3>"
        + _table([_("incident type"), *names], by_type, colours)
        + f"<h3>{_('Utilisation (busy over on-duty unit time)')}</h3>"
        + _table([_("department"), *names], util, colours)
    )


def _campaigns_html(results: Results) -> str:
    """Joint campaigns, when the scenario has them: their time off response duty, finds and deterrence."""
    modes, stats = results.modes, results.summary["modes"]
    blocks = {m: stats[m].get("campaigns") for m in modes}
    if not any(blocks.values()):
        return ""

    def total(block: dict | None, key: str) -> float:
        return float(sum((block or {}).get(key, {}).values()))

    rows = [
        [_("unit-hours on campaigns (off response duty)"), *(f"{total(blocks[m], 'unit_hours'):,.1f}" for m in modes)],
        [_("sessions"), *(f"{total(blocks[m], 'sessions'):,.0f}" for m in modes)],
        [
            _("matters found (settled on the spot)"),
            *(f"{total(blocks[m], 'found'):,.0f} ({(blocks[m] or {}).get('found_on_the_spot', 0):,})" for m in modes),
        ],
        [_("arrivals deterred"), *(f"{total(blocks[m], 'deterred'):,.0f}" for m in modes)],
    ]
    colours = {mode_label(m): c for m, c in results.colours.items()}
    note = _(
        "Units on a campaign are off response duty for its sessions; the matters campaigns found are reported "
        "here and left out of every response figure above (totals over replications)."
    )
    return f"<h2>{_('Joint campaigns')}</h2><p>{html.escape(note)}</p>" + _table(
        ["", *(mode_label(m) for m in modes)], rows, colours
    )


LEAD_FIGURES = ("timeline", "response_ecdf")
"""The figures the report shows first, right after the definitions: one bin's life, then garbage's distribution."""


def _figure_html(stem: str, title: str, fig, png: bytes | None) -> str:
    caption, title = _(CAPTIONS.get(stem) or CAPTIONS["sweep"]), _(title)
    return (
        f'<figure id="{html.escape(stem)}"><h3>{html.escape(title)}</h3>'
        f'<img src="{_png_data_uri(fig, png)}" alt="{html.escape(title)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _figures_html(figures: dict, images: dict | None = None, heading: str | None = None) -> str:
    images = images or {}
    parts = [f"<h2>{html.escape(heading or _('Figures'))}</h2>"] if figures else []
    for stem, (title, fig) in figures.items():
        parts.append(_figure_html(stem, title, fig, images.get(stem)))
    return "".join(parts)


# --------------------------------------------------------------------------- the lesson first


def headline(results: Results, story: Story | None = None) -> str:
    """One sentence with the result: the focus type's median response under each way of working."""
    focus = _focus_type(results, story)
    parts = []
    for mode in results.modes:
        response = results.summary["modes"][mode]["by_type"][focus]["response_min"]
        parts.append(_("{time} under {mode}").format(time=format_time_stat(response, "median"), mode=mode_label(mode)))
    return _("{type}: a unit able to act is on scene in a median {times}.").format(
        type=term(focus).capitalize(), times=_(", ").join(parts)
    )


def _key_figures_html(results: Results, story: Story | None) -> str:
    """The headline's medians as large coloured tiles, one per way of working, readable from the back of a room."""
    focus = _focus_type(results, story)
    tiles = "".join(
        f'<div class="tile" style="background:{results.colours[m]}"><span>{html.escape(mode_label(m))}</span>'
        f"<b>{html.escape(format_time_stat(results.summary['modes'][m]['by_type'][focus]['response_min'], 'median'))}"
        "</b></div>"
        for m in results.modes
    )
    return f'<div class="tiles">{tiles}</div>'


def _lever_words(mode) -> str:
    """A resolved way of working in words, from its levers."""
    words = [
        _("reports go desk to desk, only in office hours")
        if mode.information == "referral"
        else _("reports are posted at once in a shared group")
    ]
    words.append(
        _("each department sends its own units in turn")
        if mode.dispatch == "own_queue"
        else _("the nearest free unit able to act is sent")
    )
    if mode.pooled:
        words.append(
            _("{departments} act with each other's powers").format(
                departments=_(", ").join(term(d) for d in sorted(mode.pooled))
            )
        )
    else:
        words.append(_("each department acts only on its own matters"))
    if mode.leave_probability > 0:
        words.append(
            _("a patrol that may not act leaves the matter {share} of the time").format(
                share=f"{100 * mode.leave_probability:.0f}%"
            )
        )
    return _("; ").join(words)


def _definitions_html(results: Results) -> str:
    """The ways of working compared, each defined by its levers (needs the scenario)."""
    if results.scenario is None:
        return ""
    from sim.scenario.governance import modes_of

    modes = modes_of(results.scenario)
    items = "".join(
        f'<li><span class="mode" style="color:{results.colours[m]}">{html.escape(mode_label(m))}</span>: '
        f"{html.escape(_lever_words(modes[m]))}.</li>"
        for m in results.modes
        if m in modes
    )
    return f"<h2>{_('The ways of working compared')}</h2><ul>{items}</ul>"


def _story_html(results: Results, story: Story | None) -> str:
    """The story as HTML text: the setting, one line per way of working, one incident's life."""
    summary, focus = results.summary, _focus_type(results, story)
    lines = narrate(results, story).split("\n")
    setting = [html.escape(line) for line in lines[:2]]
    rows = []
    for mode in results.modes:
        stats = summary["modes"][mode]["by_type"][focus]
        response = stats["response_min"]
        rows.append(
            [
                mode_label(mode),
                format_time_stat(response, "median"),
                format_time_stat(response, "p90"),
                share(stats["within_target"]),
                f"{stats['incidents']:,}",
            ]
        )
    header = [
        "",
        _("median"),
        _("p90"),
        _("within {target} min").format(target=f"{summary['target_min']:g}"),
        _("incidents"),
    ]
    colours = {mode_label(m): c for m, c in results.colours.items()}
    parts = [f"<h2>{_('The story')}</h2>", f"<p>{' '.join(setting)}</p>"]
    parts.append(
        f"<h3>{html.escape(_('{type}: from found to a unit able to act on scene').format(type=term(focus)))}</h3>"
    )
    parts.append(_table_rows_coloured(header, rows, colours))
    ratio = _ratio_line(results, focus)
    if ratio:
        parts.append(f"<p>{html.escape(ratio[0])}</p>")
    if story is not None:
        parts.append(
            "<p>"
            + html.escape(
                _("One of them (incident {incident}, patch {patch}, happened {clock}):").format(
                    incident=story.incident, patch=story.patch, clock=plots._clock(story.occurred_min)
                )
            )
            + "</p><ul>"
            + "".join(
                f'<li><span class="mode" style="color:{results.colours.get(m, "#222")}">{html.escape(mode_label(m))}'
                f"</span>: {html.escape(_mode_sentence(events))}.</li>"
                for m, events in story.events.items()
            )
            + "</ul>"
        )
    return "".join(parts)


def _table_rows_coloured(header: list[str], rows: list[list[str]], colours: dict[str, str]) -> str:
    """A table whose first column names the ways of working, each in its colour."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f'<tr><td class="mode" style="color:{colours.get(row[0], "#222")}">{html.escape(row[0])}</td>'
        + "".join(f"<td>{html.escape(str(c))}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _animation_html(folder: Path) -> str:
    """A link to the day's animation written beside the report (``--animate``), or nothing."""
    for suffix in (".html", ".mp4", ".webm", ".gif"):
        path = folder / f"town_day{suffix}"
        if path.exists():
            link = html.escape(path.name)
            player = (
                f'<video controls preload="metadata" style="max-width:100%" src="{link}"></video>'
                if suffix in (".mp4", ".webm")
                else ""
            )
            return (
                f"<h2>{_('A day in town, animated')}</h2><p>"
                + html.escape(_("The day's animation, every way of working side by side (pause and scrub it):"))
                + f' <a href="{link}">{link}</a></p>'
                + player
            )
    return ""


def _provenance(results: Results | None, folder: Path) -> str:
    if results is None:
        return ""
    s = results.summary
    rows = [
        ["scenario", s["scenario"]],
        ["description", getattr(results.scenario, "description", "") or "-"],
        ["seed", str(s["seed"])],
        ["replications", str(s["replications"])],
        ["days (warm-up)", f"{s['days']:g} ({s['warmup_days']:g})"],
        ["response target", f"{s['target_min']:g} min"],
        ["simulator version", str(s.get("version", "-"))],
        ["results folder", str(folder)],
    ]
    modes = ",".join(results.modes)
    command = (
        f"python -m sim compare {folder / 'scenario.json'} --modes {modes} --seed {s['seed']} "
        f"--replications {s['replications']}"
    )
    scenario = ""
    if (folder / "scenario.json").exists():
        from sim.io.loader import read_user_text

        text = read_user_text(folder / "scenario.json", "a scenario.json of results", plots.RESULT_JSON_BYTES)
        scenario = (
            f"<details><summary>The resolved scenario (scenario.json)</summary><pre>{html.escape(text)}</pre></details>"
        )
    return (
        "<h2>Scenario and seed</h2>"
        + _table(["", "value"], rows)
        + f"<p>To rerun exactly these runs:</p><pre>{html.escape(command)}</pre>"
        + scenario
    )


def _number_text(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 10 ** (digits - 1) else f"{value:.{digits}g}"


def _interval_text(stats: dict | None) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    text = _number_text(stats["mean"])
    if stats.get("ci_low") is not None:
        text += f" [{_number_text(stats['ci_low'])}, {_number_text(stats['ci_high'])}]"
    return text


def staffing_sentences(data: dict) -> list[str]:
    """The answer of a staffing search in words, per mode: units and people."""
    lines = []
    for r in data["results"]:
        who = ", ".join(r["departments"])
        if r["answer"] is None:
            lines.append(
                f"{r['mode']}: not shown to meet '{data['target']}' with up to {r['searched'][1]} units of {who}."
            )
        else:
            allocation = ", ".join(f"{d} {n} units x {r['crew'].get(d, 1)}" for d, n in (r["allocation"] or {}).items())
            lines.append(
                f"{r['mode']}: {r['answer']} units = {r['answer_people']} people ({allocation}) meet '{data['target']}'."
            )
    return lines


def _staffing_html(data: dict) -> str:
    parts = ["<h2>Staffing: the fewest units that meet the target</h2>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in staffing_sentences(data)]
    for r in data["results"]:
        rows = [
            [
                str(t["units"]),
                str(t.get("people", "-")),
                ", ".join(f"{d} {n}" for d, n in t["allocation"].items()),
                str(t["replications"]),
                _interval_text(t),
                t["verdict"],
            ]
            for t in r["trials"]
        ]
        parts.append(f"<h3>{html.escape(r['mode'])}: every count tried</h3>")
        parts.append(_table(["units", "people", "allocation", "replications", "mean [interval]", "verdict"], rows))
    return "".join(parts)


def _decomposition_html(data: dict) -> str:
    parts = [
        f"<h2>Which lever buys how much: from {html.escape(data['from'])} to {html.escape(data['to'])}</h2>",
        f"<p>{2 ** len(data['levers'])} ways of working x {data['replications']} replications on common random numbers "
        f"(seed {data['seed']}); {100 * data['confidence']:g}% t-intervals over replications.</p>",
    ]
    for metric, table in data["metrics"].items():
        parts.append(
            f"<h3>{html.escape(plots.metric_words(metric))} ({html.escape(metric)}): {html.escape(table['low'])} "
            f"{_interval_text(table['from'])} &rarr; {html.escape(table['high'])} {_interval_text(table['to'])}; "
            f"change {_interval_text(table['change'])}</h3>"
        )
        rows = [
            [s["lever"], _interval_text(s["shapley"]), _interval_text(s["alone"]), _interval_text(s["last"])]
            for s in table["shares"]
        ]
        parts.append(_table(["lever", "Shapley share", "switched alone", "switched last"], rows))
    return "".join(parts)


def _sweep_html(rows: list[dict] | None, limit: int = 200) -> str:
    if not rows:
        return ""
    header = list(rows[0])
    body = [[r.get(c, "") for c in header] for r in rows[:limit]]
    more = f"<p class='muted'>First {limit} of {len(rows)} rows.</p>" if len(rows) > limit else ""
    return "<h2>Sweep table (summary.csv)</h2>" + _table(header, body) + more


def build_report(
    folder: str | os.PathLike,
    story: Story | None = None,
    figures: dict | None = None,
    images: dict | None = None,
    results: Results | None = None,
) -> str:
    """The HTML text of the report of a results folder (figures embedded, no external resources).

    Parameters
    ----------
    folder:
        A results folder (comparison, sweep, or both).
    story:
        The incident whose timeline to show (default: chosen and rerun here).
    figures:
        Figures already drawn (:func:`figures_of`), to save drawing them again.
    images:
        Their PNG bytes already saved (:func:`sim.presentation.files.save_figures`), embedded as they are.
    results:
        The folder's comparison already loaded (:func:`sim.presentation.figures.load_results`), to save reading it again.
    """
    folder = Path(folder)
    results = results if results is not None else _comparison(folder)
    if results is not None and story is None and results.scenario is not None:
        story = _try_story(results)
    figures = figures if figures is not None else figures_of(folder, story=story, results=results)
    rows = load_sweep(folder)
    decomposition, staffing = _planning(folder, "decompose.json"), _planning(folder, "staffing.json")
    planning = decomposition or staffing or {}
    name = results.summary["scenario"] if results else planning.get("scenario", folder.name)
    title = _("Town enforcement simulation: {name}").format(name=name)
    heading = headline(results, story) if results is not None else title
    parts = [f"<h1>{html.escape(heading)}</h1>"]
    if results is not None:
        parts.append(_key_figures_html(results, story))
    rest = dict(figures)
    if results is not None:
        parts.append(_definitions_html(results))
        lead = {stem: rest.pop(stem) for stem in LEAD_FIGURES if stem in rest}
        if "timeline" in lead:
            parts.append(_figures_html({"timeline": lead.pop("timeline")}, images, _("One full bin's life")))
        parts.append(_figures_html(lead, images, _("How long until someone able to act arrives")))
        parts.append(_story_html(results, story))
        parts.append(_animation_html(folder))
        parts.append(_summary_tables(results))
        parts.append(_campaigns_html(results))
    if staffing is not None:
        parts.append(_staffing_html(staffing))
    if decomposition is not None:
        parts.append(_decomposition_html(decomposition))
    parts.append(_figures_html(rest, images, _("More figures") if results is not None else None))
    parts.append(_sweep_html(rows))
    parts.append(_provenance(results, folder))
    return (
        f'<!DOCTYPE html><html lang="{current_language()}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _try_story(results: Results) -> Story | None:
    try:
        return plots.find_story(results)
    except ValueError:
        return None


def write_report(
    folder: str | os.PathLike,
    path: str | os.PathLike | None = None,
    story: Story | None = None,
    figures: dict | None = None,
    images: dict | None = None,
    results: Results | None = None,
) -> Path:
    """Write the report of a results folder (default ``folder/report.html``); returns its path."""
    folder = Path(folder)
    text = build_report(folder, story, figures, images, results)
    return write_atomic(Path(path) if path else folder / "report.html", text)
