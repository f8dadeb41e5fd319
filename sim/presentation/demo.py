"""The teaching demo: the Anhai garbage case run, told and drawn in a few seconds.

``python -m sim demo garbage`` runs every way of working on the same week of incidents in an
Anhai-sized town (``scenarios/anhai_garbage.yaml``), prints a short story with the numbers
(how long a full bin waits from being found to a crew on scene, and one bin's life under each
mode), and writes the results, the figures and a self-contained HTML report to one folder. With
``animate``, it also writes an animation of one day, every way of working side by side.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sim.errors import Problem, ScenarioError
from sim.io.shipped import scenario_folders, shipped_scenario

__all__ = ["CASES", "scenario_path", "run_demo"]

CASES = {"garbage": "anhai_garbage.yaml", "classroom": "classroom.yaml"}
"""Demo name -> scenario file in ``scenarios/``."""


def scenario_path(case: str) -> Path:
    """The scenario file of a demo case.

    It is looked for in the project's ``scenarios/`` folder, else in the copy installed with the
    package (``sim/scenarios``), else in ``./scenarios``.

    Raises
    ------
    ScenarioError
        If the case is unknown or its file cannot be found.
    """
    if case not in CASES:
        raise ScenarioError([Problem("demo", None, "", f"unknown case {case!r}; choose one of {', '.join(CASES)}")])
    path = shipped_scenario(CASES[case])
    if path is not None:
        return path
    where = " or ".join(str(f) for f in scenario_folders())
    raise ScenarioError(
        [
            Problem(
                "demo",
                None,
                "",
                f"cannot find {CASES[case]} in {where}; run from the project folder or reinstall the package",
            )
        ]
    )


def _banner(case: str, comparison) -> str:
    seconds = comparison.runtime_s
    return (
        f"The {case} case: {len(comparison.outputs)} ways of working on the same incidents "
        f"(simulated in {seconds:.1f} s)\n"
    )


def run_demo(
    case: str = "garbage",
    out: str | os.PathLike = "demo-garbage",
    seed: int | None = None,
    animate: bool = False,
    frame_min: float = 5.0,
    replications: int = 1,
    echo: Callable[[str], None] = print,
    formats: tuple[str, ...] = ("png",),
) -> list[Path]:
    """Run a demo case, print its story and write results, figures, report (and an animation).

    Parameters
    ----------
    case:
        ``garbage`` (the Anhai garbage case) or ``classroom``.
    out:
        Folder for ``summary.json``, the CSV files, ``figures/``, ``report.html`` and the animation.
    seed:
        Base seed (default the scenario's).
    animate:
        Also write a day's animation, every way of working side by side (MP4 with ffmpeg, else GIF).
    frame_min:
        Simulated minutes per animation frame.
    replications:
        Replications per mode.
    echo:
        Where the story goes (default: printed).
    formats:
        Figure file formats (default PNG only: each extra format draws every figure again).

    Returns
    -------
    list of Path
        Every file written.
    """
    from sim.experiments.runs import compare
    from sim.io.loader import load_scenario
    from sim.io.results import write_comparison
    from sim.presentation.figures import find_story, load_results
    from sim.presentation.files import save_figures
    from sim.presentation.report import figures_of, narrate, write_report

    out = Path(out)
    comparison = compare(load_scenario(scenario_path(case)), None, replications, seed)
    written = list(write_comparison(out, comparison))
    results = load_results(out)
    story = find_story(results)
    echo(_banner(case, comparison) + narrate(results, story))
    figures = figures_of(out, story=story, results=results)
    images: dict[str, bytes] = {}
    written += save_figures({stem: fig for stem, (_, fig) in figures.items()}, out / "figures", formats, images=images)
    if animate:
        from sim.presentation.animation import write_animation

        written.append(write_animation(results, out / "town_day", frame_min=frame_min))
    written.append(write_report(out, story=story, figures=figures, images=images, results=results))
    echo(f"\nwrote {len(written)} files to {out}/; open {out / 'report.html'} in a browser")
    return written
