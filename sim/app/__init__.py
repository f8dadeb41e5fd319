"""The app: pull a lever, see the town change (``python -m sim app``).

A local web app for a class or a town office: one page whose controls are the levers of a way of
working and the scenario's numbers, results side by side with the presets, in English or Chinese.
It sits above :mod:`sim.presentation` (whose figures, report and words it reuses) and below the
command line, which imports it only when ``app`` is asked for.

Modules
-------
:mod:`sim.app.settings`
    The controls as a scenario plus ``--set`` overrides; the scenario file they make.
:mod:`sim.app.views`
    A comparison as the small JSON the page draws, words in every language.
:mod:`sim.app.worker`, :mod:`sim.app.jobs`
    Runs and reports in worker processes; progress; cancelling.
:mod:`sim.app.server`
    The page and its JSON API over the standard library's HTTP server.
:mod:`sim.app.lesson`
    One self-contained HTML page with every combination of the levers precomputed.
"""
