"""Figures, checked for what a reader sees: labels, lines, bars, legends and mode colours."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.collections import PatchCollection, PolyCollection
from matplotlib.colors import to_hex

import sim
from sim.cli import main
from sim.engine.trace import Stage
from sim.io.results import write_comparison
from sim.presentation import figures as plots
from tests.conftest import ROOT, SCENARIOS

MODES = ["fragmented", "joint", "unified"]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    """A classroom comparison (2 replications) written as ``compare --out`` writes it."""
    folder = tmp_path_factory.mktemp("classroom")
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml")
    write_comparison(folder, sim.compare(scenario, replications=2))
    return folder


@pytest.fixture(scope="module")
def results(results_dir):
    return plots.load_results(results_dir)


@pytest.fixture(scope="module")
def story(results):
    return plots.find_story(results)


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


# --------------------------------------------------------------------------- colours


def test_a_mode_has_one_colour_everywhere_from_a_colour_blind_safe_palette():
    first = plots.mode_colours(["fragmented", "joint", "unified"])
    again = plots.mode_colours(["unified", "instant_only", "fragmented"])
    assert first["unified"] == again["unified"] and first["fragmented"] == again["fragmented"]
    palette = set(plots.OKABE_ITO.values())
    assert set(first.values()) <= palette and set(again.values()) <= palette
    assert len(set(again.values())) == 3


# --------------------------------------------------------------------------- response


def test_ecdf_has_a_curve_per_mode_on_a_log_axis_with_the_target(results):
    ax = plots.plot_response_ecdf(results)
    assert ax.get_xscale() == "log"
    assert "minutes" in ax.get_xlabel() and "%" in ax.get_ylabel()
    curves = [line for line in ax.get_lines() if line.get_label().split(":")[0] in MODES]
    assert [c.get_label().split(":")[0] for c in curves] == MODES
    for curve, mode in zip(curves, MODES):
        assert to_hex(curve.get_color()) == results.colours[mode].lower()
    joint, unified = curves[1], curves[2]
    assert (joint.get_linestyle(), joint.get_linewidth()) != (unified.get_linestyle(), unified.get_linewidth())
    assert joint.get_zorder() > unified.get_zorder(), "the dashed joint curve lies on top of the wide unified one"
    legend = _legend_texts(ax)
    assert any(text.startswith("target: 30 min") for text in legend)
    median = results.summary["modes"]["joint"]["response_min"]["median"]
    assert any(text.startswith("joint:") and plots.format_minutes(median) in text for text in legend)
    targets = [line for line in ax.get_lines() if line.get_label().startswith("target")]
    assert len(targets) == 1 and targets[0].get_xdata()[0] == 30


def test_ecdf_of_one_type_keeps_only_that_type(results):
    ax = plots.plot_response_ecdf(results, incident_type="garbage_overflow")
    n = results.summary["modes"]["fragmented"]["by_type"]["garbage_overflow"]["response_min"]["n"]
    assert "garbage overflow" in ax.get_title()
    assert any(f"n={n:,}" in text for text in _legend_texts(ax))


def test_response_by_type_has_a_median_dot_and_p90_mark_per_type_and_mode(results):
    ax = plots.plot_response_by_type(results)
    types = list(results.summary["modes"]["fragmented"]["by_type"])
    reached = {m: sum(1 for t in types if results.summary["modes"][m]["by_type"][t]["response_min"]) for m in MODES}
    assert not ax.patches or all(p.get_gid() is None for p in ax.patches), "no bars on a log axis"
    for mode in MODES:
        medians = [line for line in ax.get_lines() if line.get_gid() == f"median:{mode}"]
        p90s = [line for line in ax.get_lines() if line.get_gid() == f"p90:{mode}"]
        assert len(medians) == len(p90s) == reached[mode]
        assert {line.get_marker() for line in medians} == {"o"} and {line.get_marker() for line in p90s} == {"|"}
        for median, p90 in zip(medians, p90s):
            assert median.get_xdata()[0] <= p90.get_xdata()[0]
    assert {t.get_text() for t in ax.get_yticklabels()} == {t.replace("_", " ") for t in types}
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["garbage overflow"], "the lesson's type stands out"
    high = max(
        results.summary["modes"][m]["by_type"][t]["response_min"]["p90"] or 0
        for m in MODES
        for t in types
        if results.summary["modes"][m]["by_type"][t]["response_min"]
    )
    assert ax.get_xlim()[1] < 2 * high, "the axis ends near the data"
    assert set(MODES) <= set(_legend_texts(ax))
    assert "minutes" in ax.get_xlabel() and ax.get_ylabel() == "Incident type"


def test_map_colours_every_patch_on_one_scale_with_bases_and_sectors(results):
    fig = plots.figure_response_map(results)
    maps = [ax for ax in fig.axes if ax.get_title().split(":")[0] in MODES]
    assert [ax.get_title().split(":")[0] for ax in maps] == MODES
    tiles = [next(c for c in ax.collections if isinstance(c, PatchCollection)) for ax in maps]
    assert all(len(t.get_paths()) == 9 for t in tiles)
    assert len({(t.norm.vmin, t.norm.vmax) for t in tiles}) == 1
    bar = next(ax for ax in fig.axes if ax not in maps)
    assert "Median response time, minutes" in bar.get_ylabel()
    assert "garbage overflow" in fig.get_suptitle()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert {"enforcement base", "sanitation base", "police base"} <= set(labels)
    assert {"S1", "S2", "S3"} <= {t.get_text() for t in maps[0].texts}
    fragmented, joint = (np.nanmean(t.get_array()) for t in tiles[:2])
    assert fragmented > 10 * joint


# --------------------------------------------------------------------------- load over the day


def test_hourly_utilisation_adds_up_to_the_summary(results):
    reps = results.summary["replications"]
    for mode in MODES:
        for department, (util, queue) in plots.hourly_load(results, mode).items():
            on_duty = plots._on_duty_by_hour(results, department) * reps
            overall = np.nansum(util * on_duty) / on_duty.sum()
            assert overall == pytest.approx(results.summary["modes"][mode]["utilisation"][department], rel=1e-6)
            assert len(util) == len(queue) == 24 and np.all(queue >= 0)


def test_utilisation_and_queue_figure_has_a_line_per_mode_per_department(results):
    fig = plots.figure_load(results)
    departments = [d.name for d in results.scenario.departments]
    assert len(fig.axes) == 2 * len(departments)
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == MODES
        assert ax.get_title().split(":")[0] in departments
    assert "% of on-duty time" in fig.axes[0].get_ylabel()
    assert "Matters waiting" in fig.axes[1].get_ylabel()
    for column in (0, 1):
        assert len({fig.axes[k].get_ylim() for k in range(column, len(fig.axes), 2)}) == 1, "one scale per column"
    fragmented_desks = [
        line
        for ax in fig.axes[1::2]
        for line in ax.get_lines()
        if line.get_linestyle() == "--" and to_hex(line.get_color()) == results.colours["fragmented"].lower()
    ]
    assert fragmented_desks and max(max(line.get_ydata()) for line in fragmented_desks) > 0.5, (
        "under referral the matters wait at the desks"
    )
    assert fig.axes[-1].get_xlabel() == "Hour of day"
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert labels[:3] == MODES


# --------------------------------------------------------------------------- the timeline


def test_story_is_one_garbage_incident_found_by_patrol_in_every_mode(story):
    assert story.incident_type == "garbage_overflow" and story.channel == "patrol"
    assert list(story.events) == MODES
    assert {(events[0].at_min, events[0].stage) for events in story.events.values()} == {
        (story.occurred_min, Stage.OCCURRED)
    }
    assert all(events[-1].stage is Stage.RESOLVED for events in story.events.values())


def test_the_fragmented_story_waits_for_the_desks_to_open(story):
    events = story.events["fragmented"]
    found = next(e.at_min for e in events if e.stage in (Stage.FOUND_ON_PATROL, Stage.REPORTED))
    dispatched = next(e.at_min for e in events if e.stage is Stage.DISPATCHED)
    closed = (dispatched - found) - story.desk_hours.open_minutes_between(found, dispatched)
    assert closed > 8 * 60, "the report should wait through a night with the desks closed"
    joint = story.events["joint"]
    assert joint[-1].at_min - story.occurred_min < (events[-1].at_min - story.occurred_min) / 10


def test_timeline_shows_each_mode_as_a_row_against_desk_hours(results, story):
    ax = plots.plot_timeline(story, colours=results.colours)
    assert ax.get_title().startswith("The same full bin under three ways of working")
    assert [t.get_text() for t in ax.get_yticklabels()] == list(reversed(MODES))
    assert ax.get_xlabel().startswith("Time since the matter happened")
    assert "seed" not in ax.get_title() and "replication" not in ax.get_title()
    rows = [line for line in ax.get_lines() if line.get_label() in MODES]
    assert [line.get_label() for line in rows] == MODES
    assert {"desk office hours", "desks closed (nights, weekends)"} <= set(_legend_texts(ax))
    bands = [p for p in ax.patches if to_hex(p.get_facecolor()) == "#c7e9c0"]
    assert len(bands) >= 2, "office hours before and after the night"
    notes = "\n".join(t.get_text() for t in ax.texts)
    assert "desk hand-over 1 of" in notes and "posted in shared group" in notes
    assert "desks closed" in notes and "resolved" in notes and "after it was found" in notes
    assert "desks close " in notes and "desks open " in notes and "waits overnight" in notes
    work = ax.get_legend().legend_handles[2]
    drawn = [line for line in ax.get_lines() if line.get_linewidth() == work.get_linewidth()]
    assert drawn and all(to_hex(line.get_color()) == to_hex(work.get_color()) for line in drawn), (
        "the legend's 'unit travelling and on scene' looks like what is drawn"
    )
    ax.figure.canvas.draw()
    joint_first, joint_last = (ax.transData.transform((h, 0))[0] for h in (0, 0.5))
    assert joint_last - joint_first > 0.15 * ax.bbox.width, "the first half hour takes a readable share of the width"


# --------------------------------------------------------------------------- sweeps


SWEEP_ROWS = [
    {
        "point": p,
        "departments.sanitation.units": units,
        "mode": mode,
        "replications": 3,
        "response_min.median.mean": base / units,
        "response_min.median.ci_low": base / units * 0.8,
        "response_min.median.ci_high": base / units * 1.2,
        "response_min.median.diff": 1.0,
        "response_min.median.diff_ci_low": 0.5,
        "response_min.median.diff_ci_high": 1.5,
        "within_target": share,
        "within_target_ci_low": share - 0.1,
        "within_target_ci_high": min(1.0, share + 0.1),
    }
    for p, units in enumerate((1, 2, 4))
    for mode, base, share in (("fragmented", 900.0, 0.1), ("joint", 20.0, 0.9), ("unified", 15.0, 0.95))
]


def test_sweep_columns_find_parameters_and_metrics_in_either_naming():
    parameters, metrics = plots.sweep_columns([{k: str(v) for k, v in r.items()} for r in SWEEP_ROWS])
    assert parameters == ["departments.sanitation.units"]
    assert metrics == {
        "response_min.median.mean": ("response_min.median.ci_low", "response_min.median.ci_high"),
        "within_target": ("within_target_ci_low", "within_target_ci_high"),
    }


def test_sweep_curve_has_a_line_and_band_per_mode(tmp_path):
    ax = plots.plot_sweep(
        SWEEP_ROWS,
        "departments.sanitation.units",
        "response_min.median.mean",
        low="response_min.median.ci_low",
        high="response_min.median.ci_high",
    )
    assert [line.get_label() for line in ax.get_lines()] == MODES
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3
    assert ax.get_xlabel() == "departments.sanitation.units"
    assert "minutes" in ax.get_ylabel() and ax.get_yscale() == "log"
    assert _legend_texts(ax) == MODES
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 4]


def _write_sweep_csv(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "summary.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_plot_command_draws_sweep_curves_from_summary_csv(tmp_path, capsys):
    _write_sweep_csv(tmp_path, SWEEP_ROWS)
    assert main(["plot", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert pngs == [
        "sweep_response_min_median_mean_vs_departments_sanitation_units.png",
        "sweep_within_target_vs_departments_sanitation_units.png",
    ]
    assert len(list((tmp_path / "figures").glob("*.svg"))) == 2


# --------------------------------------------------------------------------- files


def test_plot_command_writes_every_figure_as_png_and_svg(results_dir, capsys):
    assert main(["plot", str(results_dir)]) == 0
    folder = results_dir / "figures"
    for stem in plots.COMPARISON_FIGURES:
        image = mpimg.imread(folder / f"{stem}.png")
        assert image.shape[0] > 300 and image.shape[1] > 500 and image[..., :3].std() > 0.05
        assert (folder / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert "wrote 10 files" in capsys.readouterr().out


def test_plots_option_and_write_plots_for_other_commands(tmp_path):
    import argparse

    from sim.cli.figures import add_plots_option
    from sim.presentation.files import write_plots

    parser = argparse.ArgumentParser()
    add_plots_option(parser)
    assert parser.parse_args([]).plots is False and parser.parse_args(["--plots"]).plots is True
    _write_sweep_csv(tmp_path / "sweep", SWEEP_ROWS)
    paths = write_plots(tmp_path / "sweep")
    assert sorted(p.suffix for p in paths) == [".png", ".png", ".svg", ".svg"]
    assert all(p.exists() and p.parent == tmp_path / "sweep" / "figures" for p in paths)


def test_plot_of_a_folder_without_results_is_a_user_error(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "no summary.json or summary.csv" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing")]) == 2


def test_figures_never_touch_pyplot():
    code = (
        "import sys; import sim, sim.presentation.figures, sim.presentation.report, sim.presentation.animation, sim.presentation.demo; "
        "r = sim.presentation.figures.Results.from_comparison(sim.compare(sim.load_scenario('scenarios/classroom.yaml'))); "
        "sim.presentation.figures.comparison_figures(r); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_campaign_finds_are_left_out_of_the_response_figures_as_of_the_summary(classroom_data):
    classroom_data["campaigns"] = [
        {
            "name": "sweep",
            "schedule": {"every": "week", "days": "weekdays", "start": "10:00"},
            "duration_min": 120,
            "departments": {"sanitation": 1},
            "finds_per_unit_hour": {"garbage_overflow": 2},
        }
    ]
    comparison = sim.compare(sim.scenario_from_dict(classroom_data), modes=["joint"])
    results = plots.Results.from_comparison(comparison)
    summary = comparison.summary["modes"]["joint"]
    assert sum(summary["campaigns"]["found"].values()) > 0
    assert len(plots.response_times(results, "joint").minutes) == summary["response_min"]["n"]


def test_the_response_map_shows_the_cameras_and_what_they_see_beside_the_bases():
    from tests.engine.test_incidents import camera_scenario

    scenario = camera_scenario().model_copy(update={"days": 2.0})
    results = plots.Results.from_comparison(sim.compare(scenario))
    fig = plots.figure_response_map(results)
    ax = fig.axes[0]
    triangles = [line for line in ax.get_lines() if line.get_marker() == "^"]
    assert len(triangles) == 1 and list(triangles[0].get_xdata()) == [0.5, 2.5]
    views = [c for c in ax.collections if isinstance(c, PatchCollection) and len(c.get_paths()) == 2]
    assert views, "each camera's view is drawn as a circle"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "camera (sees 1 km around)" in labels and "team base" in labels
    plain = plots.Results.from_comparison(
        sim.compare(scenario.model_copy(update={"territory": scenario.territory.model_copy(update={"cameras": None})}))
    )
    assert not any(line.get_marker() == "^" for line in plots.figure_response_map(plain).axes[0].get_lines())


# --------------------------------------------------------------------------- layout: what a projector shows


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _legend_overlaps(fig) -> list[str]:
    """Data lines (with points sampled along each segment) inside any legend's box, in display coordinates."""
    renderer = _drawn(fig)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    hits = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            for line in ax.get_lines():
                xy = np.asarray(line.get_xydata(), dtype=float)
                if xy.size == 0 or not line.get_visible():
                    continue
                if len(xy) > 1:  # sample along each segment, so a line crossing the box is caught
                    t = np.linspace(0, 1, 25)[:, None, None]
                    xy = (xy[:-1] + t * (xy[1:] - xy[:-1])).reshape(-1, 2)
                points = line.get_transform().transform(xy[np.isfinite(xy).all(axis=1)])
                inside = (
                    (points[:, 0] > box.x0)
                    & (points[:, 0] < box.x1)
                    & (points[:, 1] > box.y0)
                    & (points[:, 1] < box.y1)
                    & (points[:, 0] >= ax.bbox.x0 - 1)
                    & (points[:, 0] <= ax.bbox.x1 + 1)
                    & (points[:, 1] >= ax.bbox.y0 - 1)
                    & (points[:, 1] <= ax.bbox.y1 + 1)
                )
                if inside.any():
                    hits.append(f"{line.get_label()} under the legend of {ax.get_title()!r}")
    return hits


def _outside_figure(fig, tolerance_px: float = 1.0) -> list[str]:
    """Texts (titles, labels, tick labels, notes, legends) whose box runs past the figure's edges."""
    renderer = _drawn(fig)
    frame = fig.bbox
    out = []
    undrawn = set()  # labels of ticks outside the axis' view (matplotlib keeps but does not draw them)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not lo - 1e-9 * abs(hi - lo) <= loc <= hi + 1e-9 * abs(hi - lo):
                    undrawn.update({id(tick.label1), id(tick.label2)})
    texts = fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent"))
    for text in texts:
        if id(text) in undrawn or not text.get_visible() or not str(text.get_text()).strip():
            continue
        box = text.get_window_extent(renderer)
        if (
            box.x0 < frame.x0 - tolerance_px
            or box.y0 < frame.y0 - tolerance_px
            or box.x1 > frame.x1 + tolerance_px
            or box.y1 > frame.y1 + tolerance_px
        ):
            out.append(repr(text.get_text()[:60]))
    return out


@pytest.fixture(scope="module")
def comparison_figures(results, story):
    return plots.comparison_figures(results, story)


def _text_overlaps(fig, dpi: float | None = None) -> list[str]:
    """Pairs of notes written in one axes (``ax.texts``: labels, annotations) whose boxes (frames included) overlap.

    Drawn at *dpi* (default: the figure's own), as a file saved at that resolution is.
    """
    if dpi is not None:
        fig.set_dpi(dpi)
    renderer = _drawn(fig)
    hits = []
    for ax in fig.axes:
        boxes = []
        for text in ax.texts:
            if not text.get_visible() or not str(text.get_text()).strip():
                continue
            frame = text.get_bbox_patch()
            boxes.append((text.get_text(), (frame or text).get_window_extent(renderer)))
        for k, (a, box_a) in enumerate(boxes):
            hits += [f"{a[:30]!r} on {b[:30]!r}" for b, box_b in boxes[k + 1 :] if box_a.overlaps(box_b)]
    return hits


def test_no_note_of_a_figure_covers_another(comparison_figures):
    for stem, (_, fig) in comparison_figures.items():
        for dpi in (None, 110, 200):  # the figure's own, the files' PNG, a print (hinted text at 72 dpi runs taller)
            assert _text_overlaps(fig, dpi) == [], (stem, dpi)


@pytest.mark.parametrize("name", ["huagang", "zhewang"])
def test_no_note_covers_another_in_the_towns_figures(name, tmp_path):
    """Huagang's desks keep short hours beside a two-day story (the notes of their opening and closing met);
    Zhewang's curves start flat high enough to put the note explaining it on the median's label."""
    write_comparison(tmp_path, sim.compare(sim.load_scenario(SCENARIOS / f"{name}.yaml", ["days=8"])))
    for stem, (_, fig) in plots.comparison_figures(plots.load_results(tmp_path)).items():
        assert _text_overlaps(fig) == [], stem
        assert _outside_figure(fig) == [], stem


def test_the_demos_full_bin_has_its_labels_apart(tmp_path):
    """The demo's own story (anhai_garbage, its seed): a desk hand-over soon after the find and a night's wait.

    Before the labels were set apart, its first hand-over's label lay under the wait's words and the fragmented
    outcome on the last stages' label.
    """
    write_comparison(tmp_path, sim.compare(sim.load_scenario(SCENARIOS / "anhai_garbage.yaml")))
    results = plots.load_results(tmp_path)
    fig = plots.figure_timeline(results)
    assert _text_overlaps(fig) == []
    assert _outside_figure(fig) == []
    notes = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert "waiting " in notes and "desk hand-over 1 of" in notes and "after it was found" in notes


def test_labels_set_apart_move_away_from_their_row_and_stay_in_the_axes():
    from matplotlib.figure import Figure

    ax = Figure(figsize=(6, 4)).add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(-1, 1)
    style = dict(textcoords="offset points", ha="left", fontsize=12)
    first = ax.annotate("first stage\nand the next", (0.3, 0), xytext=(0, 10), va="bottom", gid=plots._STAGES, **style)
    outcome = ax.annotate("on scene after 5 h", (0.3, 0), xytext=(0, 12), va="bottom", gid=plots._OUTCOME, **style)
    below = ax.annotate("a stage below", (0.3, 0), xytext=(0, -10), va="top", gid=plots._STAGES, **style)
    wait = ax.text(0.32, -0.05, "waiting 5 h", va="top", gid=plots._WAIT)
    fixed = ax.text(0.3, 0.95, "a note set apart from nothing", va="top", transform=ax.get_xaxis_transform())
    assert _text_overlaps(ax.figure), "the case must start crowded"
    renderer = _drawn(ax.figure)
    wait_before, fixed_before = wait.get_window_extent(renderer), fixed.get_window_extent(renderer)
    plots._set_labels_apart(ax)
    for dpi in (100, 110, 200):
        assert _text_overlaps(ax.figure, dpi) == [], dpi
    ax.figure.set_dpi(100)
    renderer = _drawn(ax.figure)
    assert first.xyann == (0, 10) and below.xyann == (0, -10), "the first label of a place keeps it"
    assert outcome.xyann[1] > 12, "set above its row: moved up"
    assert wait.get_window_extent(renderer).y1 < wait_before.y1, "hung below its row: moved down"
    assert wait.get_position() == (0.32, -0.05), "moved by an offset, not in data units"
    assert fixed.get_window_extent(renderer).bounds == fixed_before.bounds, "a note not given to set apart stays"
    frame = ax.get_window_extent(renderer)
    for label in (first, outcome, below, wait):
        box = label.get_window_extent(renderer)
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1


def test_a_label_with_no_room_either_way_stays_where_it_was():
    from matplotlib.figure import Figure

    ax = Figure(figsize=(4, 1.0)).add_subplot()
    ax.set_ylim(-1, 1)
    style = dict(textcoords="offset points", fontsize=14, va="bottom")
    ax.annotate("a tall label\nof four\nlines\nor more", (0.5, -1), xytext=(0, 0), gid=plots._STAGES, **style)
    outcome = ax.annotate("no room", (0.5, -1), xytext=(0, 5), gid=plots._OUTCOME, **style)
    plots._set_labels_apart(ax)
    assert outcome.xyann == (0, 5)


def test_notes_are_set_apart_in_a_subfigure_on_a_pyplot_canvas_with_dates():
    """A teacher's own figure: axes in a subfigure, a PDF canvas kept with its window manager, notes at dates."""
    import datetime

    import matplotlib.pyplot as plt

    with plt.rc_context({"backend": "pdf"}):
        fig = plt.figure(layout="constrained")
        try:
            canvas, manager = fig.canvas, fig.canvas.manager
            ax = fig.subfigures(1, 2)[0].add_subplot()
            day = datetime.datetime(2026, 12, 3)
            ax.plot([day, day + datetime.timedelta(days=1)], [0, 1])
            low = ax.text(day, 0.5, "a note at a date", va="top")  # the two written on each other
            high = ax.text(day, 0.5, "another at the same date", va="top")
            plots.set_apart(ax, [high])
            assert fig.canvas is canvas and fig.canvas.manager is manager
            assert _text_overlaps(fig) == [] and low.get_position() == high.get_position()
        finally:
            plt.close(fig)


def test_no_legend_covers_a_data_line(comparison_figures):
    for stem, (_, fig) in comparison_figures.items():
        assert _legend_overlaps(fig) == [], stem


def test_no_text_runs_outside_the_figure(comparison_figures):
    for stem, (_, fig) in comparison_figures.items():
        assert _outside_figure(fig) == [], stem


def test_the_layout_checks_catch_a_covered_line_and_a_text_off_the_edge():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0.95, 0.95], label="a line under the legend")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    ax.text(1.3, 0.5, "runs off the right edge", transform=ax.transAxes)
    assert _legend_overlaps(fig) and _outside_figure(fig) == ["'runs off the right edge'"]


def test_bases_sharing_a_patch_are_set_apart(results):
    offsets = plots.base_offsets(results)
    points = np.concatenate([p for p in offsets.values() if p.size])
    town = results.town
    gaps = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1) + np.eye(len(points)) * 1e9
    assert gaps.min() >= 0.25 * town.patch_km, "no base marker hides another"
    nearest = np.linalg.norm(points[:, None, :] - town.xy_km[None, :, :], axis=-1).min(axis=1)
    assert nearest.max() <= 0.31 * town.patch_km, "each marker stays in its base's patch"


def test_slow_types_whose_owners_no_mode_pools_are_named():
    from sim.scenario.governance import modes_of

    garbage = plots.Results.from_comparison(sim.compare(sim.load_scenario(SCENARIOS / "anhai_garbage.yaml")))
    slow = plots.slow_unpooled_types(garbage)
    pooled = set().union(*(m.pooled for m in modes_of(garbage.scenario).values()))
    assert slow and pooled and "garbage_overflow" not in slow
    for name, owners in slow.items():
        assert owners and not set(owners) & pooled, name
        for mode in MODES:
            stats = garbage.summary["modes"][mode]["by_type"][name]["response_min"]
            assert (stats["median"] or math.inf) > 4 * garbage.summary["target_min"]
    fig = plots.figure_response_by_type(garbage)
    note = fig.get_supxlabel()
    assert all(plots._pretty(name) in note for name in slow) and "pools" in note


def test_hourly_on_duty_leaves_out_the_units_campaigns_take_as_the_run_does(classroom_data):
    """The load figure's denominator is the run's: a campaign's hours are neither busy nor on response duty."""
    classroom_data["campaigns"] = [
        {
            "name": "sweep",
            "schedule": {"every": "week", "days": "daily", "start": "09:00"},
            "duration_min": 240,
            "departments": {"sanitation": 2},
            "finds_per_unit_hour": {"garbage_overflow": 0.5},
        }
    ]
    comparison = sim.compare(sim.scenario_from_dict(classroom_data), modes=["joint"])
    results = plots.Results.from_comparison(comparison)
    hourly = plots._on_duty_by_hour(results, "sanitation")
    assert hourly[9:13].sum() == 0  # both crews on the campaign 09:00-13:00 every day
    assert hourly.sum() == pytest.approx(comparison.outputs["joint"][0].on_duty_min["sanitation"])
