"""The teaching material: ``demo garbage``, the day's animation and the classroom notebook."""

from __future__ import annotations

import json
import os
import re
import runpy

import numpy as np
import pytest
from PIL import Image

import sim
from sim.cli import main
from sim.io.results import write_comparison
from sim.presentation import figures as plots
from sim.presentation.animation import animate_day, unit_tracks, write_animation
from tests.conftest import ROOT, SCENARIOS

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def classroom_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classroom")
    write_comparison(folder, sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml")))
    return plots.load_results(folder)


def test_demo_garbage_tells_half_a_day_becoming_minutes(tmp_path, capsys):
    assert main(["demo", "garbage", "--out", str(tmp_path), "--animate", "--frame-min", "120"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    garbage = {m: s["by_type"]["garbage_overflow"]["response_min"] for m, s in summary["modes"].items()}
    assert garbage["fragmented"]["median"] >= 4 * 60 and garbage["joint"]["median"] < 30
    lines = {
        m: next(line for line in out.splitlines() if line.strip().startswith(f"{m} ") and "median" in line)
        for m in ("fragmented", "joint", "unified")
    }
    assert plots.format_minutes(garbage["fragmented"]["median"]) in lines["fragmented"]
    assert plots.format_minutes(garbage["joint"]["median"]) in lines["joint"]
    assert "anhai_garbage" in out and "desk hand-overs" in out and "posted in the shared group" in out
    assert re.search(r"\d+ times shorter under joint", out)
    for stem in plots.COMPARISON_FIGURES:
        assert (tmp_path / "figures" / f"{stem}.png").exists()
        assert not (tmp_path / "figures" / f"{stem}.svg").exists(), "one format unless asked (--svg)"
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert report.count("<img ") == len(plots.COMPARISON_FIGURES)
    movies = list(tmp_path.glob("town_day.*"))
    assert len(movies) == 1 and movies[0].suffix in (".gif", ".mp4")
    assert f'href="{movies[0].name}"' in report, "the report links the animation"
    if movies[0].suffix == ".gif":
        with Image.open(movies[0]) as gif:
            assert gif.n_frames == 12 and gif.size[0] >= 1280
    else:
        import imageio_ffmpeg

        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(movies[0]))
        assert frames == 12 and '<video controls preload="metadata"' in report


def _inspected(animation):
    """*animation*, to be looked at frame by frame here, not played or saved: no "deleted without rendering" warning."""
    animation._draw_was_started = True
    return animation


def test_animation_frames_show_every_mode_and_change_over_the_day(classroom_results):
    animation = _inspected(animate_day(classroom_results, frame_min=60))
    fig = animation._fig
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["fragmented", "joint", "unified"]
    assert fig.get_figwidth() * fig.dpi >= 1280
    fig.canvas.draw()  # the first draw starts the animation at frame 0
    frames, clocks = [], []
    for k in (9, 15):
        animation._func(k)
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int))
        clocks.append(fig.get_suptitle())
    assert "Tue 09:00" in clocks[0] and "Tue 15:00" in clocks[1], clocks
    assert np.abs(frames[0] - frames[1]).sum() > 0, "the picture must change over the day"
    counters = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().startswith("waiting: ")]
    assert len(counters) == 3 and all("(garbage " in c for c in counters)


def test_animation_has_the_desk_badge_and_names_the_modes_in_its_legend(classroom_results):

    from sim.presentation.animation import desks_open

    animation = _inspected(animate_day(classroom_results, frame_min=60))
    fig = animation._fig
    badge = next(t for t in fig.texts if t.get_gid() == "desk-badge")
    seen = {}
    for k, minute in ((3, 3 * 60), (10, 10 * 60)):  # 03:00 and 10:00 of the first measured day
        animation._func(k)
        seen[desks_open(classroom_results, 1440 + minute)] = (badge.get_text(), badge.get_bbox_patch().get_facecolor())
    assert set(seen) == {True, False}, "the desks are closed at night and open in the morning"
    assert seen[True][0] == "referral desks OPEN" and seen[False][0] == "referral desks CLOSED"
    assert seen[True][1] != seen[False][1]
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    for mode in ("fragmented", "joint", "unified"):
        assert any(label.startswith(mode) for label in labels), mode
    assert "square: garbage overflow" in labels
    state_colours = {"#cc79a7", "#f0e442", "#c8c8c8"}
    assert not state_colours & {c.lower() for c in classroom_results.colours.values()}, "states never look like a mode"


def test_frames_are_drawn_by_blitting_and_show_the_moving_units(classroom_results):
    from sim.presentation.animation import render_frames

    animation = animate_day(classroom_results, frame_min=240)
    frames = [f.copy() for f in render_frames(animation)]
    assert len(frames) == 6 and frames[0].shape[1] >= 1280
    assert any(np.abs(frames[k].astype(int) - frames[k + 1]).sum() > 0 for k in range(5))
    animation._func(5)
    animation._fig.canvas.draw()  # a full redraw of the last frame gives the same picture as the blitted one
    full = np.asarray(animation._fig.canvas.buffer_rgba())
    assert np.abs(full.astype(int) - frames[-1]).mean() < 1.0


def test_write_animation_gif(classroom_results, tmp_path):
    path = write_animation(classroom_results, tmp_path / "day.gif", frame_min=240)
    with Image.open(path) as gif:
        assert path.suffix == ".gif" and gif.n_frames == 6
    assert [p.name for p in tmp_path.iterdir()] == ["day.gif"]  # no temporary file left


def test_an_interrupted_animation_leaves_the_old_file_whole(classroom_results, tmp_path, monkeypatch):
    path = write_animation(classroom_results, tmp_path / "day.gif", frame_min=240)
    before = path.read_bytes()
    from sim.presentation import animation as animation_module

    def interrupted(frames, path, fps):
        with open(path, "wb") as half:
            half.write(b"GIF89a")  # half a file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(animation_module, "_encode_gif", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_animation(classroom_results, tmp_path / "day.gif", frame_min=120)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["day.gif"]


def test_units_sit_at_base_then_drive_to_the_job(classroom_results):
    jobs = classroom_results.jobs
    tracks = unit_tracks(classroom_results, "joint")
    town = classroom_results.town
    row = next(
        i
        for i in range(len(jobs["unit"]))
        if jobs["mode"][i] == "joint"
        and jobs["department"][i] == "sanitation"
        and jobs["arrived_min"][i] > jobs["dispatched_min"][i]
    )
    times, points = tracks[jobs["unit"][row]]
    patch = town.xy_km[town.names.index(jobs["patch"][row])]
    middle = (jobs["arrived_min"][row] + jobs["done_min"][row]) / 2
    at = np.array([np.interp(middle, times, points[:, 0]), np.interp(middle, times, points[:, 1])])
    assert np.allclose(at, patch)
    base = town.xy_km[town.names.index("r2c0")]
    assert np.allclose(points[0], base)


def _kernel(tmp_path, monkeypatch) -> str:
    """A kernel spec for this interpreter in a temporary Jupyter path (works from a clean venv)."""
    from ipykernel.kernelspec import install

    install(prefix=str(tmp_path / "jupyter"), kernel_name="sim-classroom")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    return "sim-classroom"


def test_classroom_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(EXAMPLES / "classroom.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name=_kernel(tmp_path, monkeypatch),
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 7
    text = "".join(o.get("text", "") for o in outputs)
    assert "garbage overflow: from found to a unit able to act on scene" in text
    assert "fragmented" in text and "times shorter under joint" in text


def test_notebook_is_the_one_the_script_builds():
    import nbformat

    script = runpy.run_path(str(EXAMPLES / "make_classroom_notebook.py"), run_name="make_classroom_notebook")
    stored = nbformat.read(EXAMPLES / "classroom.ipynb", as_version=4)
    built = script["build"]()
    assert [c.source for c in stored.cells] == [c.source for c in built.cells]
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code"), "store it without outputs"


# --------------------------------------------------------------------------- an installed copy


def test_an_installed_package_carries_the_scenarios_and_the_demo_finds_them(tmp_path):
    """Build the wheel, unpack it away from the project, and ask for the demo's scenario there."""
    import subprocess
    import sys
    import zipfile

    # offline when the environment's setuptools can build wheels itself (70.1 and newer); else pip fetches one
    isolation = ["--no-build-isolation"] if _setuptools_version() >= (70, 1) else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "wheel"), *isolation],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    shipped = {p.relative_to(SCENARIOS).as_posix() for p in SCENARIOS.rglob("*.yaml")}
    packed = {
        p.relative_to(site / "sim" / "scenarios").as_posix() for p in (site / "sim" / "scenarios").rglob("*.yaml")
    }
    assert packed == shipped and len(shipped) >= 11
    code = (
        "import sim, sim.presentation.demo, sim.io.sweepfile; path = sim.presentation.demo.scenario_path('garbage'); "
        "print(path); print(sim.load_scenario(path).name); "
        "print(len(sim.io.sweepfile.load_sweep(path.parent / 'sweeps' / 'pooled_powers.yaml').points))"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
    )
    where, name, points = done.stdout.split()
    assert where == str(site / "sim" / "scenarios" / "anhai_garbage.yaml") and name == "anhai_garbage" and points == "5"


def _setuptools_version() -> tuple[int, ...]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return tuple(int(part) for part in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return (0,)


def test_the_animation_of_a_real_town_draws_its_polygons(tmp_path):
    from matplotlib.collections import PolyCollection

    scenario = sim.load_scenario(SCENARIOS / "real_town_example.yaml", ["days=2", "warmup_days=1"])
    write_comparison(tmp_path, sim.compare(scenario, modes=["fragmented", "unified"]))
    results = plots.load_results(tmp_path)
    animation = _inspected(animate_day(results, frame_min=720))
    for ax in animation._fig.axes:
        polygons = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert polygons and len(polygons[0].get_paths()) == results.town.size
        assert not ax.patches, "no grid of squares under a real town"
