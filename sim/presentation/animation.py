"""A town's day as an animation: every way of working side by side, units moving, incidents clearing.

Each panel is one mode on the same day of the same replication (common random numbers, so the
same incidents appear in every panel). Incidents are drawn from the moment they happen until an
hour after they are cleared: pale grey while nobody has noticed them, purple once found and
waiting for someone able to act, yellow while a unit is on scene, a grey ring for an hour once
cleared (none of these is a mode's colour). Garbage overflow, the lesson's matter, is a square;
other matters are circles. A badge says whether the referral desks are open, the mechanism the
lesson is about, and each panel counts the matters waiting.

Unit positions are an approximation derived from the job records (``jobs.csv``), not traced
by the model: a unit sits at its base until its first job; from dispatch to arrival it moves in
a straight line, at constant speed, from where it was to the incident's patch; it stays there
while on scene; afterwards a unit that does not patrol drives back to its base in the time the
outbound trip took, and a patrolling unit stays where its last job was (as the model assumes).
Patrolling between jobs and shift changes are not drawn. Positions are interpolated at every
frame's time, so a unit glides between events at the frame rate. Writing uses ffmpeg (MP4, which
a browser can pause and scrub) from the ``imageio-ffmpeg`` package (the ``video`` extra) or the
PATH, else Pillow (GIF, shipped with matplotlib).
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from sim.engine.department import build_roster
from sim.io.results import save_atomic
from sim.presentation.figures import _DEPARTMENT_MARKERS, Results, _clock, _draw_sectors, _real_town, figure_mode
from sim.presentation.i18n import N_
from sim.presentation.i18n import figure_text as _
from sim.scenario.schedule import MINUTES_PER_DAY

__all__ = [
    "unit_tracks",
    "DayFrames",
    "day_frames",
    "animate_day",
    "write_animation",
    "render_frames",
    "ffmpeg_path",
    "desks_open",
]

_STATES: tuple[tuple[str, dict[str, Any]], ...] = (
    (N_("not noticed yet"), dict(markerfacecolor="#c8c8c8", markeredgecolor="#c8c8c8", markersize=5.5)),
    (
        N_("found, waiting for someone able to act"),
        dict(markerfacecolor="#CC79A7", markeredgecolor="black", markeredgewidth=0.8, markersize=9),
    ),
    (N_("unit on scene"), dict(markerfacecolor="#F0E442", markeredgecolor="black", markeredgewidth=0.8, markersize=9)),
    (
        N_("cleared (last hour)"),
        dict(markerfacecolor="none", markeredgecolor="#666666", markeredgewidth=1.2, markersize=6.5),
    ),
)
"""Incident states and how they are drawn: none of these colours is a mode's colour (Okabe-Ito's orange,
blue and green are the modes'; the states use grey, reddish purple and yellow)."""

FOCUS = "garbage_overflow"
"""The lesson's matter, drawn as a larger square."""

_MARKERS = {False: ("o", 1.0), True: ("s", 1.8)}
"""Incident marker and size factor: other matters, the focus type."""


def _pick(columns: dict, mask: np.ndarray) -> dict:
    return {k: v[mask] for k, v in columns.items()}


def unit_tracks(results: Results, mode: str, replication: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every unit's approximate path through the run: uid -> (times, xy), to interpolate linearly.

    See the module docstring for how positions are approximated from the jobs.
    """
    town = results.town
    index = {name: i for i, name in enumerate(town.names)}
    jobs = results.jobs
    mine = _pick(jobs, (jobs["mode"] == mode) & (jobs["replication"].astype(float) == replication))
    order = np.argsort(mine["dispatched_min"].astype(float), kind="stable")
    tracks = {}
    for dept in results._need_scenario().departments:
        for unit in build_roster(dept, town).units:
            rows = [r for r in order if mine["unit"][r] == unit.uid]
            tracks[unit.uid] = _track(unit.base_xy, unit.patrols, mine, rows, town.xy_km, index)
    return tracks


def _track(base, patrols: bool, jobs: dict, rows, xy_km, index) -> tuple[np.ndarray, np.ndarray]:
    times, points = [0.0], [np.asarray(base, dtype=float)]
    for r in rows:
        dispatched, arrived, done = (float(jobs[k][r]) for k in ("dispatched_min", "arrived_min", "done_min"))
        here = _interp(times, points, dispatched)
        keep = sum(1 for t in times if t <= dispatched)
        times, points = times[:keep], points[:keep]
        goal = xy_km[index[jobs["patch"][r]]]
        times += [dispatched, arrived, done]
        points += [here, goal, goal]
        if not patrols:
            times.append(done + (arrived - dispatched))
            points.append(np.asarray(base, dtype=float))
    return np.array(times), np.array(points)


def _interp(times, points, t: float) -> np.ndarray:
    pts = np.asarray(points)
    return np.array([np.interp(t, times, pts[:, 0]), np.interp(t, times, pts[:, 1])])


def _jitter(keys: np.ndarray, radius: float) -> np.ndarray:
    """Deterministic small offsets (a sunflower spiral) so that neighbours do not hide each other."""
    keys = np.asarray(keys, dtype=float)
    angle = keys * 2.399963
    r = radius * np.sqrt(((keys * 7) % 11 + 1) / 12)
    return np.column_stack([r * np.cos(angle), r * np.sin(angle)])


@dataclass(frozen=True)
class DayFrames:
    """What each frame shows for one mode.

    Attributes
    ----------
    times:
        Frame times, minutes since Monday 00:00.
    units:
        Unit positions, shape (frames, units, 2), km; ``departments`` gives each unit's department.
    departments:
        Department of each unit, in the order of ``units``' second axis.
    incident_xy:
        Drawn position of each incident of the day, shape (incidents, 2).
    state:
        State of each incident at each frame, shape (frames, incidents): -1 not shown, else the
        index in the states (not noticed, waiting, on scene, cleared).
    focus:
        True for each incident of the lesson's type (:data:`FOCUS`).
    """

    times: np.ndarray
    units: np.ndarray
    departments: list[str]
    incident_xy: np.ndarray
    state: np.ndarray
    focus: np.ndarray


def day_frames(results: Results, mode: str, times: np.ndarray, replication: int = 0) -> DayFrames:
    """Positions and states for every frame of one mode (replication *replication*)."""
    tracks = unit_tracks(results, mode, replication)
    units = np.stack(
        [np.column_stack([np.interp(times, t, p[:, 0]), np.interp(times, t, p[:, 1])]) for t, p in tracks.values()],
        axis=1,
    )
    units = units + _jitter(np.arange(units.shape[1]), results.town.patch_km * 0.12)[None, :, :]
    departments = [uid.rsplit("-", 1)[0] for uid in tracks]
    xy, state, focus = _incident_states(results, mode, times, replication)
    return DayFrames(times, units, departments, xy, state, focus)


def _incident_states(results: Results, mode: str, times: np.ndarray, replication: int):
    inc = results.incidents
    mine = _pick(inc, (inc["mode"] == mode) & (inc["replication"].astype(float) == replication))
    t0, t1 = times[0], times[-1]
    resolved = np.nan_to_num(mine["resolved_min"].astype(float), nan=math.inf)
    shown = (mine["occurred_min"].astype(float) <= t1) & (resolved + 60 >= t0)
    mine = _pick(mine, shown)
    index = {name: i for i, name in enumerate(results.town.names)}
    centres = results.town.xy_km[[index[p] for p in mine["patch"]]]
    xy = centres + _jitter(mine["incident"].astype(float), results.town.patch_km * 0.35)
    cols = [
        np.nan_to_num(mine[k].astype(float), nan=math.inf)[None, :]
        for k in ("occurred_min", "detected_min", "on_scene_min", "resolved_min")
    ]
    occurred, detected, on_scene, done = cols
    t = times[:, None]
    state = np.full((len(times), len(centres)), -1)
    state[t >= occurred] = 0
    state[t >= detected] = 1
    state[t >= on_scene] = 2
    state[t >= done] = 3
    state[t >= done + 60] = -1
    return xy, state, np.asarray(mine["incident_type"] == FOCUS, dtype=bool)


def _panel(ax, results: Results, mode: str, frames: DayFrames):
    """Draw the static town and return the artists that change: state scatters, unit scatters, counter."""
    town = results.town
    half = town.patch_km / 2
    shape = _real_town(results)
    if shape is not None:  # a town read from a GIS layer: its own polygons, as on the response map
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        from sim.presentation.townmap import draw_outlines

        draw_outlines(
            ax, shape, np.full(town.size, np.nan), colormaps["Greys"].with_extremes(bad="#f4f4f4"), Normalize()
        )
    else:
        for x, y in town.xy_km:
            ax.add_patch(
                Rectangle(
                    (x - half, y - half),
                    town.patch_km,
                    town.patch_km,
                    facecolor="#f4f4f4",
                    edgecolor="white",
                    linewidth=0.8,
                )
            )
        _draw_sectors(ax, town)
    for text in ax.texts:
        text.set_alpha(0.35)
    empty = np.empty((0, 2))
    states = [  # markers drawn as lines without a line: cheaper to redraw than scatter collections
        [
            ax.plot(
                empty[:, 0],
                empty[:, 1],
                linestyle="none",
                zorder=3 + focus,
                marker=_MARKERS[focus][0],
                **{**style, "markersize": style["markersize"] * math.sqrt(_MARKERS[focus][1])},
            )[0]
            for focus in (False, True)
        ]
        for _, style in _STATES
    ]
    names = list(dict.fromkeys(frames.departments))
    units = [
        ax.plot(
            empty[:, 0],
            empty[:, 1],
            linestyle="none",
            marker=_DEPARTMENT_MARKERS[k % len(_DEPARTMENT_MARKERS)],
            markerfacecolor="#222222",
            markeredgecolor="white",
            markeredgewidth=0.6,
            markersize=7,
            zorder=4,
        )[0]
        for k in range(len(names))
    ]
    if shape is None:
        low, high = town.xy_km.min(axis=0) - half, town.xy_km.max(axis=0) + half
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(figure_mode(mode), color=results.colours[mode], fontweight="bold", fontsize=18)
    for spine in ax.spines.values():
        spine.set_edgecolor(results.colours[mode])
        spine.set_linewidth(3)
    counter = ax.text(0.5, -0.02, "", transform=ax.transAxes, va="top", ha="center", fontsize=14)
    return states, units, names, counter


def _update_panel(k: int, frames: DayFrames, artists) -> None:
    states, units, names, counter = artists
    now = frames.state[k]
    for code, pair in enumerate(states):
        for focus, scatter in zip((False, True), pair):
            here = (now == code) & (frames.focus == focus)
            xy = frames.incident_xy[here] if frames.incident_xy.size else np.empty((0, 2))
            scatter.set_data(xy[:, 0], xy[:, 1])
    departments = np.array(frames.departments)
    for name, scatter in zip(names, units):
        xy = frames.units[k][departments == name]
        scatter.set_data(xy[:, 0], xy[:, 1])
    waiting = now == 1
    counter.set_text(
        _("waiting: {n} (garbage {g})   on scene: {s}").format(
            n=int(waiting.sum()), g=int((waiting & frames.focus).sum()), s=int((now == 2).sum())
        )
    )


def _day_times(results: Results, day: int | None, frame_min: float) -> np.ndarray:
    """Frame times over one day; default the first measured day."""
    last = max(0, math.ceil(results.summary["days"]) - 1)
    day = min(math.ceil(results.summary["warmup_days"]), last) if day is None else day
    return day * MINUTES_PER_DAY + np.arange(0.0, MINUTES_PER_DAY, frame_min)


def _default_modes(results: Results) -> list[str]:
    """Every way of working the results compare (the lesson compares all of them), at most four."""
    return results.modes[:4]


def desks_open(results: Results, t: float) -> bool:
    """Whether the referral desks are open at minute *t* (the scenario's desk hours)."""
    return results._need_scenario().governance.referral.desk_hours.weekly().is_open(t)


_BADGE = {True: ("#1b7837", N_("referral desks OPEN")), False: ("#444444", N_("referral desks CLOSED"))}
"""Badge colour and words: desks open or closed (dark green / dark grey, not a mode's colour)."""


def _badge(fig: Figure):
    return fig.text(
        0.99,
        0.985,
        " ",
        ha="right",
        va="top",
        fontsize=16,
        fontweight="bold",
        color="white",
        bbox=dict(boxstyle="round,pad=0.35", facecolor="#444444", edgecolor="none"),
        gid="desk-badge",
    )


def _set_badge(badge, is_open: bool) -> None:
    colour, words = _BADGE[is_open]
    badge.set_text(_(words))
    badge.get_bbox_patch().set_facecolor(colour)


def _legend(fig: Figure, names: list[str], results: Results, modes: list[str]) -> None:
    handles = [
        Line2D(
            [], [], color=results.colours[m], linewidth=6, label=_("{mode} (panel frame)").format(mode=figure_mode(m))
        )
        for m in modes
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            label=_(label),
            marker="o",
            **{**style, "markersize": 10},
        )
        for label, style in _STATES
    ]
    handles.append(
        Line2D(
            [], [], linestyle="none", marker="s", markersize=12, color="#999999", label=_("square: garbage overflow")
        )
    )
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=_DEPARTMENT_MARKERS[k % len(_DEPARTMENT_MARKERS)],
            color="#222222",
            markersize=9,
            label=_("{department} unit").format(department=name),
        )
        for k, name in enumerate(names)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(5, len(handles)), fontsize=12)


_DPI = 100
MIN_WIDTH_PX = 1280
"""The animation is at least this wide, for a projector."""


def animate_day(
    results: Results,
    modes: list[str] | None = None,
    day: int | None = None,
    frame_min: float = 10.0,
) -> FuncAnimation:
    """An animation of one day, one panel per mode (default ``fragmented`` and ``joint``).

    Parameters
    ----------
    results:
        A comparison's results with its scenario and jobs.
    modes:
        Modes to show side by side (default every mode of the results, at most four).
    day:
        Day number (0 = the first Monday); default the first measured day.
    frame_min:
        Simulated minutes per frame (5 gives 288 frames for a day).
    """
    modes = modes or _default_modes(results)
    times = _day_times(results, day, frame_min)
    data = {m: day_frames(results, m, times) for m in modes}
    width = max(MIN_WIDTH_PX / _DPI, 5.2 * len(modes))
    fig = Figure(figsize=(width, 7.4), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(modes), squeeze=False)[0]
    artists = {m: _panel(ax, results, m, data[m]) for ax, m in zip(axes, modes)}
    _legend(fig, artists[modes[0]][2], results, modes)
    clock = fig.suptitle(" ", fontsize=16, x=0.02, ha="left")
    badge = _badge(fig)
    moving = [clock, badge] + [
        a for m in modes for a in (*(s for pair in artists[m][0] for s in pair), *artists[m][1], artists[m][3])
    ]

    def update(k):
        clock.set_text(
            _("{scenario}: {clock}\n(the same incidents in every panel)").format(
                scenario=results.summary["scenario"], clock=_clock(times[k])
            )
        )
        _set_badge(badge, desks_open(results, times[k]))
        for m in modes:
            _update_panel(k, data[m], artists[m])
        return []

    update(0)
    animation = FuncAnimation(fig, update, frames=len(times), interval=1000 / 12, blit=False)
    animation.sim_moving = moving  # type: ignore[attr-defined]  # what render_frames redraws each frame
    animation.sim_frames = len(times)  # type: ignore[attr-defined]
    return animation


def render_frames(animation: FuncAnimation) -> Iterator[np.ndarray]:
    """Every frame of :func:`animate_day` as RGBA pixels, drawing only what changes (blitting).

    The layout is computed and the still town (patches, sectors, legend, titles) drawn once;
    each frame then restores that picture and draws the moving artists (the same scatter and
    text objects, given new positions and words) on top of it.
    """
    # rendered here, not by Animation.save: no "deleted without rendering" warning, even if nothing is drawn
    # (set now, not when the first frame is asked for: a writer stopped before it leaves the animation as it was)
    animation._draw_was_started = True  # type: ignore[attr-defined]
    return _blitted_frames(animation)


def _blitted_frames(animation: FuncAnimation) -> Iterator[np.ndarray]:
    """:func:`render_frames`' frames, drawn as they are asked for."""
    fig, moving, update = animation._fig, animation.sim_moving, animation._func  # type: ignore[attr-defined]
    canvas = fig.canvas
    canvas.draw()  # the layout, with the moving texts in place
    fig.set_layout_engine("none")
    for artist in moving:
        artist.set_visible(False)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    for artist in moving:
        artist.set_visible(True)
    renderer = canvas.get_renderer()
    for k in range(animation.sim_frames):  # type: ignore[attr-defined]
        update(k)
        canvas.restore_region(background)
        for artist in moving:
            artist.draw(renderer)
        yield np.asarray(canvas.buffer_rgba())


def ffmpeg_path() -> str | None:
    """An ffmpeg binary: the one the ``imageio-ffmpeg`` package ships, else one on the PATH, else None."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        return shutil.which("ffmpeg")
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return shutil.which("ffmpeg")


def write_animation(
    results: Results,
    path: str | Path,
    modes: list[str] | None = None,
    day: int | None = None,
    frame_min: float = 5.0,
    fps: int = 12,
) -> Path:
    """Write :func:`animate_day` to *path*: MP4 (H.264, pausable in any browser) when ffmpeg is found, else GIF.

    ffmpeg comes from the ``imageio-ffmpeg`` package or the PATH (:func:`ffmpeg_path`). A *path*
    ending in ``.gif`` is always a GIF; with no suffix, the suffix follows the writer. The file
    appears whole or not at all (written beside *path*, then renamed).
    """
    path = Path(path)
    ffmpeg = None if path.suffix.lower() == ".gif" else ffmpeg_path()
    path = path.with_suffix(".mp4" if ffmpeg else ".gif")
    animation = animate_day(results, modes, day, frame_min)
    if ffmpeg is None:
        return save_atomic(path, lambda tmp: _encode_gif(render_frames(animation), tmp, fps))
    return save_atomic(path, lambda tmp: _encode_mp4(render_frames(animation), tmp, fps, ffmpeg))


def _encode_mp4(frames: Iterator[np.ndarray], path: str, fps: int, ffmpeg: str) -> None:
    """Pipe RGBA frames to ffmpeg: H.264 in MP4, playable, pausable and scrubbable in a browser."""
    first = next(frames)
    height, width = first.shape[:2]
    command = [
        ffmpeg, "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", path,
    ]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as encoder:
        try:
            assert encoder.stdin is not None
            encoder.stdin.write(first.tobytes())
            for frame in frames:
                encoder.stdin.write(frame.tobytes())
            encoder.stdin.close()
        except BaseException:
            encoder.kill()
            raise
        error = encoder.stderr.read().decode(errors="replace") if encoder.stderr else ""
        if encoder.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write the animation: {error[-1000:]}")


def _encode_gif(frames: Iterator[np.ndarray], path: str, fps: int) -> None:
    """RGBA frames as a looping GIF (Pillow): the fallback when no ffmpeg is found."""
    from PIL import Image

    images = [
        Image.fromarray(np.array(f[..., :3])).quantize(colors=64, method=Image.Quantize.FASTOCTREE) for f in frames
    ]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
