"""Build ``examples/classroom.ipynb``, the teaching notebook, from the cells below.

Run ``python examples/make_classroom_notebook.py`` after editing a cell; the notebook is stored
without outputs, and the tests (``tests/presentation/test_demo.py``) execute it top to bottom.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    (
        "md",
        """\
# Half a day, or minutes? A classroom walk-through

In Anhai, an officer on patrol posted *"the bins on Haiba Road are full"* in the joint work group, and a
sanitation crew cleared them shortly after. Under the old procedure the same thing took **at least half a
day**. This notebook lets you see why, with a tiny simulated town (`scenarios/classroom.yaml`): nine
1-km patches, an urban-management patrol, a sanitation crew and a police car.

Three **ways of working** face exactly the same incidents (same places, same times):

* **fragmented**: each department acts only on its own matters; reports travel desk to desk, and desks keep
  office hours;
* **joint**: a shared group and a 24-hour centre send the nearest able crew ("whistle and report");
* **unified**: one team holds the pooled powers, with the same shared channel.

Run the cells from top to bottom (*Run → Run All Cells*). Every time is in **minutes** unless it says hours.""",
    ),
    (
        "code",
        """\
%matplotlib inline
from pathlib import Path

from matplotlib.ticker import FuncFormatter

import sim
from sim.presentation import figures as plots
from sim.presentation.report import narrate
from sim.presentation.text import format_minutes

ROOT = Path.cwd() if (Path.cwd() / "scenarios").exists() else Path.cwd().parent
scenario = sim.load_scenario(ROOT / "scenarios" / "classroom.yaml")
print(scenario.description)
print("departments:", ", ".join(f"{d.name} ({d.units} unit{'' if d.units == 1 else 's'})" for d in scenario.departments))
print("matters:", ", ".join(t.name for t in scenario.incident_types))""",
    ),
    (
        "md",
        """\
## 1. Simulate a week, three times over

`sim.compare` runs every way of working on the same incidents. We run 3 independent weeks (replications),
so that we can also see how much the numbers move by chance.""",
    ),
    (
        "code",
        """\
comparison = sim.compare(scenario, replications=3)
results = plots.Results.from_comparison(comparison)
story = plots.find_story(results)   # one full bin, rerun with every step recorded
print(narrate(results, story))""",
    ),
    (
        "md",
        """\
## 2. How long until someone able to act arrives?

Each curve climbs as more incidents are reached. The time axis is logarithmic: equal steps are 1 minute,
10 minutes, 1 hour... The dashed line is the 30-minute target.

**Question:** how far apart are the curves for garbage overflow? How many times longer is the median?""",
    ),
    (
        "code",
        """\
ax = plots.plot_response_ecdf(results, incident_type="garbage_overflow")
ax.figure""",
    ),
    (
        "md",
        """\
## 3. One full bin, step by step

The same bin under each way of working. Green bands: the desks' office hours. Grey: desks closed.

**Question:** in the fragmented row, where does the time go: travelling, working, or waiting? What would
happen if the bin were found on a Friday afternoon?""",
    ),
    (
        "code",
        """\
plots.figure_timeline(results, story)""",
    ),
    (
        "md",
        """\
## 4. Every kind of matter

Dots are medians, bar marks the 90th percentile (an open dot: most were handled on the spot). **Question:**
which matters are fast even when fragmented, and why? (Hint: who finds them, and may they act on what they
find?)""",
    ),
    (
        "code",
        """\
plots.figure_response_by_type(results)""",
    ),
    (
        "md",
        """\
## 5. Where, and when

The map colours each patch by its median garbage response (the same colour scale for every way of working).
The second figure shows how busy each department is over the day, and how many matters wait: for a free
unit (solid) or at the desks before a unit is asked for (dashed).""",
    ),
    (
        "code",
        """\
plots.figure_response_map(results)""",
    ),
    (
        "code",
        """\
plots.figure_load(results)""",
    ),
    (
        "md",
        """\
## 6. Your turn: switch one lever

The reform changes several things at once. Which one matters most for the bins? Here we add a way of
working that is fragmented in every respect **except** that reports go through the shared channel
(`information: instant`). Try other levers: `dispatch: nearest`, `leave_probability: 0`,
`authority: {pooled: all}`.""",
    ),
    (
        "code",
        """\
data = scenario.model_dump(mode="json")
data["governance"]["modes"]["instant_only"] = {"based_on": "fragmented", "information": "instant"}
variant = sim.scenario_from_dict(data)
variant_results = plots.Results.from_comparison(sim.compare(variant, replications=3))
ax = plots.plot_response_ecdf(variant_results, incident_type="garbage_overflow")
ax.figure""",
    ),
    (
        "md",
        """\
## 7. More crews, or a better channel?

A small sweep: the number of sanitation crews from 1 to 4, each way of working, 5 replications each.
The line is the median garbage response (as everywhere in this notebook), the band its 95% bootstrap
interval over replications.

**Question:** with four crews instead of one, does fragmented working get anywhere near the shared channel
with a single crew? What does that say about where the hours come from?""",
    ),
    (
        "code",
        """\
rows = []
median = "by_type.garbage_overflow.response_min.median"
for crews in (1, 2, 3, 4):
    data = scenario.model_dump(mode="json")
    next(d for d in data["departments"] if d["name"] == "sanitation")["units"] = crews
    summary = sim.compare(sim.scenario_from_dict(data), replications=5).summary
    for mode, stats in summary["modes"].items():
        response = stats["by_type"]["garbage_overflow"]["response_min"]
        rows.append({"sanitation crews": crews, "mode": mode, median: response["median"],
                     "low": response.get("median_ci_low"), "high": response.get("median_ci_high")})
ax = plots.plot_sweep(rows, "sanitation crews", median, low="low", high="high")
ax.yaxis.set_major_formatter(FuncFormatter(lambda minutes, _: format_minutes(minutes)))
ax.figure""",
    ),
    (
        "md",
        """\
## What to take away

* The crew's drive and the work on scene take minutes in every way of working.
* The hours come from **paperwork crossing desks that close at night**, and from patrols that see a problem
  they may not act on.
* A shared channel with a 24-hour centre removes most of that wait; more crews do not.

From the command line, `python -m sim demo garbage` runs the full-size Anhai case and writes these figures
and an HTML report.""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in CELLS]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


if __name__ == "__main__":
    path = HERE / "classroom.ipynb"
    nbformat.write(build(), path)
    print(f"wrote {path}")
