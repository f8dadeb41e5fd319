"""What runs in a worker process: a comparison for the page, or the report of one.

Each job runs in its own process, forked from a server process that has already imported this
module (and so numpy, SimPy, matplotlib), which makes starting one cheap; cancelling a job is
ending its process (:mod:`sim.app.jobs`). A job talks back through a pipe: ``("progress",
share, words)``, then ``("partial", view)`` as soon as the numbers are known, ``("done",
view)`` and, for a mistake in the input, ``("problems", [...])``.

A run is exactly :func:`sim.experiments.runs.compare` of the scenario the settings make (each
mode and replication run here one by one, to report progress, and summarised by the same
:func:`~sim.experiments.runs.build_summary`), so its numbers are those of ``python -m sim
compare`` with the downloaded YAML.
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sim.app.settings import ScenarioSource, Settings, load_settings
from sim.app.views import comparison_view
from sim.engine.model import RunOutput
from sim.errors import ScenarioError
from sim.experiments.runs import Comparison, build_summary, run
from sim.io.results import write_comparison
from sim.presentation import figures as plots
from sim.presentation.i18n import use_language
from sim.scenario.governance import modes_of

__all__ = ["run_comparison", "comparison_job", "report_job", "problem_json", "ready"]


def ready() -> None:
    """Nothing: a first process, to have the fork server import this module before the first run."""


def problem_json(err: ScenarioError) -> list[dict]:
    """The problems of an error as the page shows them: file, line, key path, message, and the whole line."""
    return [
        {"source": p.source, "line": p.line, "path": p.path, "message": p.message, "text": str(p)} for p in err.problems
    ]


def run_comparison(source: ScenarioSource, settings: Settings, progress=None) -> Comparison:
    """Every mode of the settings' scenario on the same incidents (what ``compare`` gives).

    Parameters
    ----------
    progress:
        Called as ``progress(done, total, mode)`` as runs go, if given: *done* counts the finished runs
        and the share of the running one simulated so far (at each simulated day's end), so a long run
        moves the bar too.
    """
    scenario, _ = load_settings(source, settings)
    names = list(modes_of(scenario))
    seed = scenario.seed
    total = len(names) * settings.replications
    started = time.perf_counter()
    outputs: dict[str, list[RunOutput]] = {m: [] for m in names}
    done = 0
    for m in names:
        for r in range(settings.replications):
            watch = None if progress is None else (lambda p, done=done, m=m: progress(done + p.share, total, m))
            outputs[m].append(run(scenario, m, seed, r, progress=watch))
            done += 1
    summary = build_summary(scenario, seed, settings.replications, outputs)
    return Comparison(scenario, seed, settings.replications, outputs, time.perf_counter() - started, summary)


def comparison_job(conn, source: ScenarioSource, settings: Settings, folder: str) -> None:
    """Run the comparison, send its view, write its files (``incidents.csv`` …) into *folder*."""
    try:

        def progress(done, total, mode):
            conn.send(("progress", 0.75 * done / total, mode))

        comparison = run_comparison(source, settings, progress)
        results = plots.Results.from_comparison(comparison)
        conn.send(("partial", comparison_view(results)))
        conn.send(("progress", 0.8, "story"))
        try:
            story = plots.find_story(results)
        except ValueError:
            story = None
        view = comparison_view(results, story)
        out = Path(folder)
        write_comparison(out, comparison)
        (out / "story.pickle").write_bytes(pickle.dumps(story))
        conn.send(("done", view))
    except ScenarioError as err:
        conn.send(("problems", problem_json(err)))
    except Exception:
        conn.send(("error", traceback.format_exc(limit=5)))
    finally:
        conn.close()


def report_job(conn, lang: str, folder: str) -> None:
    """Write ``report.html`` of the results in *folder* in *lang* (figures drawn here)."""
    from sim.presentation.report import write_report

    try:
        out = Path(folder)
        story_file = out / "story.pickle"
        story = pickle.loads(story_file.read_bytes()) if story_file.exists() else None
        conn.send(("progress", 0.1, "figures"))
        with use_language(lang):
            path = write_report(out, out / f"report-{lang}.html", story=story)
        conn.send(("done", {"file": os.fspath(path.name)}))
    except Exception:
        conn.send(("error", traceback.format_exc(limit=5)))
    finally:
        conn.close()
