"""A comparison as the data the page draws: numbers once, words in every language.

:func:`comparison_view` reduces :class:`~sim.presentation.figures.Results` to small JSON: the
headline (the focus type's median response per way of working), the response distributions
(Kaplan–Meier curves, thinned), the per-type table, the mean response per patch for the map,
utilisation per department, the staffed command centres by level and the wait from found to a
unit sent (:func:`centres_view`, when the scenario has ``governance.centres``), the joint
campaigns' hours and finds (:func:`campaigns_view`, when it has campaigns), and, given a
:class:`~sim.presentation.figures.Story`, one incident's timeline under each way. Words (titles, labels, the headline sentence) are made with
the message catalogs for each language of :data:`~sim.presentation.i18n.LANGUAGES`, so the page
switches language without asking the server again. The page's own words are :data:`UI_TEXT`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.levels import centre_key
from sim.presentation import figures as plots
from sim.presentation.figures import Results, Story
from sim.presentation.i18n import LANGUAGES, N_, _, mode_label, term, use_language
from sim.presentation.story import first_of, is_arrival, is_detection, short_stage
from sim.presentation.text import format_minutes  # in the current language
from sim.stats.survival import CensoredTimes, km_quantiles, reached_curve

__all__ = [
    "comparison_view",
    "timeline_view",
    "centres_view",
    "campaigns_view",
    "dispatch_wait",
    "format_minutes",
    "UI_TEXT",
    "ui_text",
    "CURVE_POINTS",
]

CURVE_POINTS = 80
"""Points kept of each response-time curve (log-spaced in time)."""


def _time_stat(stats: dict | None, key: str) -> str:
    if not stats:
        return "-"
    if stats.get(key) is None and stats.get(f"{key}_more_than") is not None:
        return "> " + format_minutes(stats[f"{key}_more_than"])
    return format_minutes(stats.get(key))


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _focus(results: Results) -> str:
    types = list(results.summary["modes"][results.modes[0]]["by_type"])
    return "garbage_overflow" if "garbage_overflow" in types else types[0]


def _curve(results: Results, mode: str, incident_type: str | None) -> dict:
    """The share reached by each time (minutes, floored at 1), thinned to about :data:`CURVE_POINTS` steps."""
    times = plots.response_times(results, mode, incident_type)
    if times.n == 0:
        return {"t": [], "p": [], "median": None, "p90": None, "n": 0, "not_reached": 0}
    t, p = reached_curve(times)
    t = np.maximum(np.asarray(t, dtype=float), 1.0)
    p = np.asarray(p, dtype=float)
    grid = np.geomspace(1.0, max(float(t.max()), 1.0) * 1.0001, CURVE_POINTS)
    idx = np.unique(np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1))
    idx = np.union1d(idx, [len(t) - 1])
    median, p90 = km_quantiles(times, (0.5, 0.9))
    return {
        "t": [round(float(x), 2) for x in t[idx]],
        "p": [round(float(x), 4) for x in p[idx]],
        "median": median,
        "p90": p90,
        "n": int(times.n),
        "not_reached": int(times.censored),
        "followed": float(times.followed_min),
    }


def _patch_means(results: Results, mode: str) -> list[float | None]:
    inc = results.incidents
    mask = (inc["mode"] == mode) & (inc["occurred_min"] >= results.warmup_min)
    patches = inc["patch"][mask]
    response = inc["response_min"][mask].astype(float)
    out = []
    for name in results.town.names:
        values = response[(patches == name) & ~np.isnan(response)]
        out.append(round(float(values.mean()), 2) if values.size else None)
    return out


def comparison_view(results: Results, story: Story | None = None) -> dict:
    """Everything the page shows of a comparison, as JSON-ready data (see the module's docstring)."""
    summary, modes = results.summary, results.modes
    stats = summary["modes"]
    focus = _focus(results)
    types = list(stats[modes[0]]["by_type"])
    centres = centres_view(results)
    departments = [d for d in stats[modes[0]]["utilisation"] if centres is None or not d.startswith("centre:")]
    town = results.town if results.scenario is not None else None
    view = {
        "modes": modes,
        "colours": results.colours,
        "focus": focus,
        "target_min": summary["target_min"],
        "seed": summary["seed"],
        "days": summary["days"],
        "replications": summary["replications"],
        "medians": {m: (stats[m]["by_type"][focus]["response_min"] or {}).get("median") for m in modes},
        "curves": {
            "focus": {m: _curve(results, m, focus) for m in modes},
            "all": {m: _curve(results, m, None) for m in modes},
        },
        "utilisation": {d: {m: stats[m]["utilisation"][d] for m in modes} for d in departments},
        "map": None
        if town is None
        else {
            "patch_km": town.patch_km,
            "xy": [[round(float(x), 3), round(float(y), 3)] for x, y in town.xy_km],
            "means": {m: _patch_means(results, m) for m in modes},
        },
        "centres": centres,
        "campaigns": campaigns_view(results),
        "text": {},
    }
    for lang in LANGUAGES:
        with use_language(lang):
            view["text"][lang] = _words(results, focus, types, departments)
            view["text"][lang].update(_feature_words(view))
    if story is not None:
        view["timeline"] = timeline_view(story)
    return view


def dispatch_wait(results: Results, mode: str) -> CensoredTimes:
    """Minutes from found to a unit sent, of the measured matters of *mode* that needed sending someone.

    A matter settled without a dispatch (by its finder on the spot) or by the grid workers (layer
    ``grid``: they never pass through a centre, and their sending time is when their hours allow)
    is left out; one still waiting at the end of the run is censored there, one that ended by itself
    before anyone was sent at that end (as response times are).
    """
    inc = results.incidents
    detected = inc["detected_min"].astype(float)
    dispatched = inc["dispatched_min"].astype(float)
    resolved = inc["resolved_min"].astype(float)
    needed = ~np.isnan(dispatched) | np.isnan(resolved)  # sent, or not settled at all
    by_centres = inc["layer"].astype(str) != "grid"
    mask = plots._measured(results, mode) & ~np.isnan(detected) & ~inc["on_the_spot"].astype(bool) & needed
    mask &= by_centres
    natural = inc["ended_min"].astype(float)[mask]
    sent = dispatched[mask]
    observed = ~np.isnan(sent)
    censor_at = np.where(np.isnan(natural), results.end_min, np.minimum(natural, results.end_min))
    return CensoredTimes(np.where(observed, sent, censor_at) - detected[mask], observed)


def centres_view(results: Results) -> dict | None:
    """The staffed command centres by level, and the wait from found to a unit sent, per mode.

    Per level, the lowest and highest share of on-duty time its centres' operators are busy; the
    median of :func:`dispatch_wait`. None when the scenario has no ``governance.centres``.
    """
    scenario = results.scenario
    if scenario is None or scenario.governance.centres is None:
        return None
    stats = results.summary["modes"]
    levels: dict[str, list[str]] = {}
    for spec in scenario.governance.centres:
        if spec.operators is not None:
            levels.setdefault(spec.level, []).append(centre_key(spec))
    out_levels = []
    for level, keys in levels.items():
        busy = {}
        for m in results.modes:
            values = [v for v in (stats[m]["utilisation"].get(k) for k in keys) if v is not None]
            busy[m] = {"low": min(values), "high": max(values)} if values else None
        out_levels.append({"level": level, "centres": len(keys), "utilisation": busy})
    waits = {}
    for m in results.modes:
        times = dispatch_wait(results, m)
        median = km_quantiles(times, (0.5,))[0] if times.n else None
        waits[m] = {"median": median, "more_than": None if median is not None or not times.n else times.followed_min}
    return {"levels": out_levels, "dispatch_wait": waits}


def campaigns_view(results: Results) -> dict | None:
    """Joint campaigns per mode: unit-hours off response duty, sessions, finds, arrivals deterred.

    Totals over replications, as the summary's; None when the scenario has no campaigns.
    """
    stats = results.summary["modes"]
    blocks = {m: stats[m].get("campaigns") for m in results.modes}
    if not any(blocks.values()):
        return None

    def total(block: dict | None, key: str) -> float:
        return float(sum((block or {}).get(key, {}).values()))

    return {
        m: {
            "unit_hours": total(b, "unit_hours"),
            "sessions": int(total(b, "sessions")),
            "found": int(total(b, "found")),
            "found_on_the_spot": int((b or {}).get("found_on_the_spot", 0)),
            "deterred": int(total(b, "deterred")),
        }
        for m, b in blocks.items()
    }


def _busy_range(busy: dict | None) -> str:
    if busy is None:
        return "-"
    low, high = _share(busy["low"]), _share(busy["high"])
    return low if low == high else f"{low}–{high}"


def _feature_words(view: dict) -> dict:
    """The rows of the centres' and campaigns' tables in the current language (empty without them)."""
    modes, words = view["modes"], {}
    centres = view.get("centres")
    if centres is not None:
        rows = [
            [
                _("{level} centres ({n}): operators busy").format(level=term(level["level"]), n=level["centres"]),
                *(_busy_range(level["utilisation"][m]) for m in modes),
            ]
            for level in centres["levels"]
        ]
        waits = centres["dispatch_wait"]
        rows.append(
            [
                _("found to a unit sent (median)"),
                *(
                    format_minutes(waits[m]["median"])
                    if waits[m]["median"] is not None
                    else ("-" if waits[m]["more_than"] is None else "> " + format_minutes(waits[m]["more_than"]))
                    for m in modes
                ),
            ]
        )
        words["centres"] = rows
    campaigns = view.get("campaigns")
    if campaigns is not None:
        words["campaigns"] = [
            [_("unit-hours on campaigns (off response duty)"), *(f"{campaigns[m]['unit_hours']:,.1f}" for m in modes)],
            [_("sessions"), *(f"{campaigns[m]['sessions']:,}" for m in modes)],
            [
                _("matters found (settled on the spot)"),
                *(f"{campaigns[m]['found']:,} ({campaigns[m]['found_on_the_spot']:,})" for m in modes),
            ],
            [_("arrivals deterred"), *(f"{campaigns[m]['deterred']:,}" for m in modes)],
        ]
    return words


def _words(results: Results, focus: str, types: list[str], departments: list[str]) -> dict:
    """The words of a view in the current language."""
    summary, modes = results.summary, results.modes
    stats = summary["modes"]
    names = {m: mode_label(m) for m in modes}
    parts = [
        _("{mode} {time}").format(mode=names[m], time=_time_stat(stats[m]["by_type"][focus]["response_min"], "median"))
        for m in modes
    ]
    headline = _("{type}: median wait from found to a unit able to act on scene: {parts}.").format(
        type=term(focus), parts=_(", ").join(parts)
    )
    target = f"{summary['target_min']:g}"
    glance_rows = [
        (_("incidents measured"), lambda s: f"{s['incidents']:,}"),
        (_("response median"), lambda s: _time_stat(s["response_min"], "median")),
        (_("response p90"), lambda s: _time_stat(s["response_min"], "p90")),
        (_("within {target} min").format(target=target), lambda s: _share(s["within_target"])),
        (_("handled on the spot by the finder"), lambda s: _share(s.get("on_the_spot"))),
        (_("resolution median"), lambda s: _time_stat(s["resolution_min"], "median")),
        (_("seen, not handled"), lambda s: f"{s['seen_not_handled']:,}"),
        (_("referrals / bounces"), lambda s: f"{s['referrals']:,} / {s['bounces']:,}"),
    ]
    return {
        "modes": names,
        "headline": headline,
        "focus": term(focus),
        "glance": [[label, *(fn(stats[m]) for m in modes)] for label, fn in glance_rows],
        "types": [
            [
                term(t),
                *(
                    f"{_time_stat(stats[m]['by_type'][t]['response_min'], 'median')} / "
                    f"{_time_stat(stats[m]['by_type'][t]['response_min'], 'p90')}"
                    for m in modes
                ),
            ]
            for t in types
        ],
        "departments": {d: term(d) for d in departments},
        "medians": {m: _time_stat(stats[m]["by_type"][focus]["response_min"], "median") for m in modes},
        "p90s": {m: _time_stat(stats[m]["by_type"][focus]["response_min"], "p90") for m in modes},
    }


def timeline_view(story: Story) -> dict:
    """One incident under each way of working: events in hours since it happened, desk hours, words."""
    occurred = story.occurred_min
    last = max(events[-1].at_min for events in story.events.values())
    span_h = max(2.0, (last - occurred) / 60 * 1.15)
    spans = plots._open_spans(story.desk_hours, occurred, occurred + span_h * 60)
    rows: dict[str, dict[str, Any]] = {}
    for mode, events in story.events.items():
        found = first_of(events, is_detection) or events[0]
        on_scene = first_of(events, is_arrival)
        dispatched = next((e for e in events if e.stage.name == "DISPATCHED"), None)
        rows[mode] = {
            "hours": [round((e.at_min - occurred) / 60, 3) for e in events],
            "dispatched_h": None if dispatched is None else round((dispatched.at_min - occurred) / 60, 3),
            "response_min": None if on_scene is None else on_scene.at_min - found.at_min,
        }
    text = {}
    for lang in LANGUAGES:
        with use_language(lang):
            text[lang] = {
                "title": _("One {type}, the same incident under each way of working").format(
                    type=term(story.incident_type)
                ),
                "subtitle": _(
                    "{type} in patch {patch}, happened {clock} (incident {incident} of replication {replication}, seed {seed})"
                ).format(
                    type=term(story.incident_type),
                    patch=story.patch,
                    clock=plots._clock(occurred),
                    incident=story.incident,
                    replication=story.replication,
                    seed=story.seed,
                ),
                "events": {
                    m: [f"{plots._clock(e.at_min)} {short_stage(e)}" for e in events]
                    for m, events in story.events.items()
                },
                "outcome": {
                    m: (
                        _("on scene {time} after it was found").format(time=format_minutes(r["response_min"]))
                        if r["response_min"] is not None
                        else _("nobody on scene by the end of the run")
                    )
                    for m, r in rows.items()
                },
            }
    return {
        "span_h": round(span_h, 3),
        "open": [[round((a - occurred) / 60, 3), round((b - occurred) / 60, 3)] for a, b in spans],
        "rows": rows,
        "text": text,
    }


UI_TEXT = {
    "title": N_("Pull a lever, see the town change"),
    "subtitle": N_("How long a full bin waits under fragmented, joint and unified ways of working (minutes)."),
    "scenario": N_("Scenario"),
    "upload": N_("Upload a scenario (YAML)"),
    "presets": N_("Way of working"),
    "fragmented": N_("fragmented"),
    "joint": N_("joint"),
    "unified": N_("unified"),
    "custom": N_("custom"),
    "levers": N_("Levers of your way of working"),
    "pooled": N_("One team holds the pooled powers (一支队伍管执法)"),
    "information": N_("How reports travel"),
    "referral": N_("referral through desks with office hours"),
    "instant": N_("shared channel, 24-hour centre"),
    "dispatch": N_("Who is sent"),
    "own_queue": N_("the owning department's own queue"),
    "nearest": N_("the nearest able unit"),
    "coordination": N_("Matters needing several departments"),
    "sequential": N_("one department after another"),
    "concurrent": N_("all at once (whistle and report, 吹哨报到)"),
    "leave_probability": N_("Chance a unit leaves what it may not act on"),
    "closed_loop": N_("Eight-step closed loop"),
    "staffing": N_("Units per department"),
    "referral_chain": N_("Referral chain"),
    "handover_min": N_("Minutes per desk hand-over (mean)"),
    "misroute_probability": N_("Chance a forward goes to the wrong desk"),
    "run_settings": N_("Run"),
    "days": N_("Days simulated"),
    "seed": N_("Seed"),
    "replications": N_("Replications"),
    "running": N_("running…"),
    "cancelled": N_("cancelled: a control changed"),
    "queued": N_("waiting for a free worker ({ahead} ahead in the queue)…"),
    "busy": N_("The app is busy with other pages' runs; try again in a moment:"),
    "done": N_("done in {seconds} s"),
    "headline": N_("Headline"),
    "timeline": N_("One full bin under each way of working"),
    "distribution": N_("How long until someone able to act arrives"),
    "distribution_all": N_("all incidents"),
    "types": N_("Response by incident type (median / p90)"),
    "glance": N_("At a glance"),
    "map": N_("Where the waiting is: mean response per patch"),
    "utilisation": N_("Utilisation (busy over on-duty unit time)"),
    "keep": N_("Keep what you made"),
    "download_yaml": N_("Scenario (YAML)"),
    "download_csv": N_("Results (incidents.csv)"),
    "download_report": N_("Report (HTML)"),
    "report_wait": N_("drawing the report's figures…"),
    "hours_since": N_("hours since the matter happened"),
    "minutes_log": N_("minutes from found to a unit able to act (log scale)"),
    "share_reached": N_("share reached"),
    "target": N_("target"),
    "desk_hours": N_("desk office hours"),
    "no_data": N_("nothing reached"),
    "problems": N_("The scenario cannot be run:"),
    "incident_type": N_("incident type"),
    "department": N_("department"),
    "language": N_("Language"),
    "lesson_title": N_("A lesson: which lever makes the full bin wait less?"),
    "lesson_intro": N_(
        "Every combination of the four levers and three team sizes was simulated in advance; switch them and the results change at once. No Python or network needed."
    ),
    "lesson_staff": N_("Crews of the department that clears it"),
    "yours": N_("your settings"),
    "median": N_("median"),
    "progress": N_("Progress"),
    "mean_response": N_("mean response, minutes (log colour scale)"),
    "unit_min": N_("min"),
    "unit_h": N_("h"),
    "unit_days": N_("days"),
    "presets_hint": N_("A preset sets the levers; change any lever to build your own way of working."),
    "problems_settings": N_("These settings cannot be run:"),
    "centres": N_("Command centres"),
    "centre_operators": N_("Operators per {level} centre ({n} centres; busier ones keep their extra seats)"),
    "borders": N_("Units may cross town borders (your way of working)"),
    "campaigns": N_("Joint campaigns"),
    "campaign_on": N_("Run the campaign {name}"),
    "campaign_units": N_("units sent"),
    "centres_note": N_(
        "Operators busy: lowest–highest share of on-duty time over the level's centres. Found to a unit sent: median over matters that needed sending someone."
    ),
    "campaigns_note": N_(
        "Units on a campaign are off response duty for its sessions; the matters campaigns found are reported here and left out of every response figure above (totals over replications)."
    ),
}
"""The page's own words (keys used by its script), in English; translated by :func:`ui_text`."""


def ui_text() -> dict[str, dict[str, str]]:
    """:data:`UI_TEXT` in every language."""
    out = {}
    for lang in LANGUAGES:
        with use_language(lang):
            out[lang] = {key: _(text) for key, text in UI_TEXT.items()}
    return out
