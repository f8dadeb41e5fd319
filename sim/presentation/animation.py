"""A town's day as an animation: two ways of working side by side, units moving, incidents clearing.

Each panel is one mode on the same day of the same replication (common random numbers, so the
same incidents appear in both). Incidents are drawn from the moment they happen until an hour
after they are cleared: grey while nobody has noticed them, orange once found and waiting for
someone able to act, blue while a unit is on scene, a grey ring for an hour once cleared.

Unit positions are an approximation derived from the job records (``jobs.csv``), not traced
by the model: a unit sits at its base until its first job; from dispatch to arrival it moves in
a straight line, at constant speed, from where it was to the incident's patch; it stays there
while on scene; afterwards a unit that does not patrol drives back to its base in the time the
outbound trip took, and a patrolling unit stays where its last job was (as the model assumes).
Patrolling between jobs and shift changes are not drawn. Writing uses Pillow (GIF, shipped
with matplotlib) or ffmpeg (MP4) when ``ffmpeg`` is on the PATH.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from sim.engine.department import build_roster
from sim.io.results import save_atomic
from sim.presentation.figures import _DEPARTMENT_MARKERS, Results, _clock, _draw_sectors
from sim.scenario.schedule import MINUTES_PER_DAY

__all__ = ["unit_tracks", "DayFrames", "day_frames", "animate_day", "write_animation"]

_STATES = (
    ("not noticed yet", dict(marker="o", color="#aaaaaa", s=18)),
    (
        "found, nobody able to act there yet",
        dict(marker="o", color="#E69F00", s=55, edgecolors="black", linewidths=0.6),
    ),
    ("unit on scene", dict(marker="o", color="#56B4E9", s=55, edgecolors="black", linewidths=0.6)),
    ("cleared (last hour)", dict(marker="o", facecolors="none", edgecolors="#555555", linewidths=1.0, s=30)),
)


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
    """

    times: np.ndarray
    units: np.ndarray
    departments: list[str]
    incident_xy: np.ndarray
    state: np.ndarray


def day_frames(results: Results, mode: str, times: np.ndarray, replication: int = 0) -> DayFrames:
    """Positions and states for every frame of one mode (replication *replication*)."""
    tracks = unit_tracks(results, mode, replication)
    units = np.stack(
        [np.column_stack([np.interp(times, t, p[:, 0]), np.interp(times, t, p[:, 1])]) for t, p in tracks.values()],
        axis=1,
    )
    units = units + _jitter(np.arange(units.shape[1]), results.town.patch_km * 0.12)[None, :, :]
    departments = [uid.rsplit("-", 1)[0] for uid in tracks]
    xy, state = _incident_states(results, mode, times, replication)
    return DayFrames(times, units, departments, xy, state)


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
    return xy, state


def _panel(ax, results: Results, mode: str, frames: DayFrames):
    """Draw the static town and return the artists that change: state scatters, unit scatters, counter."""
    town = results.town
    half = town.patch_km / 2
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
    states = [ax.scatter(empty[:, 0], empty[:, 1], zorder=3, **style) for _, style in _STATES]
    names = list(dict.fromkeys(frames.departments))
    units = [
        ax.scatter(
            empty[:, 0],
            empty[:, 1],
            marker=_DEPARTMENT_MARKERS[k % len(_DEPARTMENT_MARKERS)],
            color="#222222",
            edgecolors="white",
            linewidths=0.6,
            s=34,
            zorder=4,
        )
        for k in range(len(names))
    ]
    low, high = town.xy_km.min(axis=0) - half, town.xy_km.max(axis=0) + half
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(mode, color=results.colours[mode], fontweight="bold", fontsize=13)
    counter = ax.text(0.01, -0.02, "", transform=ax.transAxes, va="top", fontsize=9)
    return states, units, names, counter


def _update_panel(k: int, frames: DayFrames, artists) -> None:
    states, units, names, counter = artists
    now = frames.state[k]
    for code, scatter in enumerate(states):
        scatter.set_offsets(frames.incident_xy[now == code] if frames.incident_xy.size else np.empty((0, 2)))
    departments = np.array(frames.departments)
    for name, scatter in zip(names, units):
        scatter.set_offsets(frames.units[k][departments == name])
    counter.set_text(
        f"found, waiting: {(now == 1).sum()}   unit on scene: {(now == 2).sum()}   "
        f"cleared in the last hour: {(now == 3).sum()}"
    )


def _day_times(results: Results, day: int | None, frame_min: float) -> np.ndarray:
    """Frame times over one day; default the first measured day."""
    last = max(0, math.ceil(results.summary["days"]) - 1)
    day = min(math.ceil(results.summary["warmup_days"]), last) if day is None else day
    return day * MINUTES_PER_DAY + np.arange(0.0, MINUTES_PER_DAY, frame_min)


def _default_modes(results: Results) -> list[str]:
    if {"fragmented", "joint"} <= set(results.modes):
        return ["fragmented", "joint"]
    return results.modes[:2]


def _legend(fig: Figure, names: list[str]) -> None:
    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            label=label,
            markersize=8,
            marker=style["marker"],
            markerfacecolor=style.get("facecolors", style.get("color")),
            markeredgecolor=style.get("edgecolors", style.get("color")),
        )
        for label, style in _STATES
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=_DEPARTMENT_MARKERS[k % len(_DEPARTMENT_MARKERS)],
            color="#222222",
            markersize=7,
            label=f"{name} unit",
        )
        for k, name in enumerate(names)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(5, len(handles)), fontsize=8.5)


_DPI = 80


def _freeze_background(fig: Figure, moving: list) -> None:
    """Render everything that does not move once, as one image behind the moving artists.

    Each frame then draws a picture and a few scatters instead of the whole town, legend and
    layout again, which makes writing a day of frames several times faster.
    """
    fig.canvas.draw()
    background = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.set_layout_engine("none")
    keep = {id(a) for a in moving}
    for ax in fig.axes:
        for child in ax.get_children():
            if id(child) not in keep:
                child.set_visible(False)
        ax.patch.set_visible(False)
    for legend in fig.legends:
        legend.set_visible(False)
    fig.patch.set_visible(False)
    fig.figimage(background, xo=0, yo=0, origin="upper", zorder=-10)


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
        Modes to show side by side (two is best).
    day:
        Day number (0 = the first Monday); default the first measured day.
    frame_min:
        Simulated minutes per frame (10 gives 144 frames for a day).
    """
    modes = modes or _default_modes(results)
    times = _day_times(results, day, frame_min)
    data = {m: day_frames(results, m, times) for m in modes}
    fig = Figure(figsize=(5.2 * len(modes), 5.8), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(modes), squeeze=False)[0]
    artists = {m: _panel(ax, results, m, data[m]) for ax, m in zip(axes, modes)}
    _legend(fig, artists[modes[0]][2])
    clock = fig.suptitle(" ", fontsize=14)
    moving = [clock] + [a for m in modes for a in (*artists[m][0], *artists[m][1], artists[m][3])]
    _freeze_background(fig, moving)

    def update(k):
        clock.set_text(f"{results.summary['scenario']}: {_clock(times[k])}  (same incidents in every panel)")
        for m in modes:
            _update_panel(k, data[m], artists[m])
        return []

    return FuncAnimation(fig, update, frames=len(times), interval=120, blit=False)


def write_animation(
    results: Results,
    path: str | Path,
    modes: list[str] | None = None,
    day: int | None = None,
    frame_min: float = 10.0,
    fps: int = 8,
) -> Path:
    """Write :func:`animate_day` to *path*: MP4 when ffmpeg is on the PATH, else GIF.

    A *path* ending in ``.gif`` is always a GIF; with no suffix, the suffix follows the writer.
    The file appears whole or not at all (written beside *path*, then renamed).
    """
    path = Path(path)
    gif = path.suffix.lower() == ".gif" or shutil.which("ffmpeg") is None
    path = path.with_suffix(".gif" if gif else ".mp4")
    writer = PillowWriter(fps=fps) if gif else FFMpegWriter(fps=fps, bitrate=1200)
    animation = animate_day(results, modes, day, frame_min)
    return save_atomic(path, lambda tmp: animation.save(tmp, writer=writer, dpi=_DPI))
