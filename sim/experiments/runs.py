"""Experiments: run a mode, replicate it, compare modes on common random numbers, sweep parameters.

Replication ``r`` of base seed ``s`` uses ``SeedSequence(s, spawn_key=(r,))`` (what
``SeedSequence(s).spawn`` gives), and every mode of a replication uses that same seed, so the
modes face identical incidents. With more than one replication, :func:`compare` also reports
the paired differences between each mode and the first, replication by replication; with a
:class:`~sim.stats.metrics.Precision` rule it replicates until an interval is narrow enough.

A sweep (:mod:`sim.io.sweepfile`) is many such runs: every (point, mode, replication) is one call of
the pure function :func:`run_point`, which returns a flat row. :func:`run_sweep` hands them to a
backend (:mod:`sim.experiments.backends`), persists each row as it arrives (one small file per run, written
atomically), and rebuilds the tables from the files in a fixed order, so an interrupted and
resumed sweep, or one run on another backend, gives the same tables byte for byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, cast

from sim.engine.model import RunOutput, Simulation
from sim.engine.rng import replication_seed
from sim.errors import Problem, ScenarioError, Terminated, did_you_mean
from sim.experiments.backends import check_options, open_backend
from sim.experiments.memory import check_memory
from sim.io.loader import read_user_text, scenario_from_dict
from sim.io.provenance import PARQUET_KEY, provenance
from sim.io.results import FolderLock, clean_temporary, interrupts_held, write_atomic
from sim.io.sweepfile import SUMMARY_STATS, Sweep, column_types, override_text
from sim.io.text import csv_cell, csv_text
from sim.registry import code_differences, code_fingerprint
from sim.scenario.governance import modes_of
from sim.scenario.schedule import MINUTES_PER_DAY
from sim.scenario.schema import Scenario
from sim.stats.metrics import (
    CONFIDENCE,
    Precision,
    metric_paths,
    metric_value,
    paired_difference,
    summarise,
    summarise_runs,
)
from sim.stats.plugins import MetricInput, find_metric, plugin_value
from sim.stats.summary_types import ModeSummary, PairedDifference, PairedReport, Summary
from sim.version import __version__

__all__ = [
    "RUN_FILE",
    "Comparison",
    "RunProgress",
    "RunStore",
    "RunTask",
    "SweepInterrupted",
    "SweepResult",
    "build_summary",
    "compare",
    "paired_metrics",
    "replicate",
    "rerun",
    "run",
    "run_point",
    "run_sweep",
    "run_task",
]


class RunProgress(NamedTuple):
    """How far a run has got, as its clock reaches the end of a simulated day (see :func:`run`'s *progress*).

    Attributes
    ----------
    mode : str
        The mode running.
    replication : int
        Its replication number (from 0).
    minute : float
        The clock's minute now.
    end_min : float
        The minute the run ends at (warm-up, measured days and drain).
    """

    mode: str
    replication: int
    minute: float
    end_min: float

    @property
    def share(self) -> float:
        """The share of the run's minutes simulated, from 0 to 1."""
        return self.minute / self.end_min if self.end_min > 0 else 1.0


def run(
    scenario: Scenario,
    mode: str | None = None,
    seed: int | None = None,
    replication: int = 0,
    trace: bool = False,
    progress: Callable[[RunProgress], object] | None = None,
) -> RunOutput:
    """Simulate one replication of one mode.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`sim.load_scenario`).
    mode : str, optional
        Name of one of the scenario's modes; default the first.
    seed : int, optional
        Base seed; default the scenario's.
    replication : int
        Replication number; each has its own independent streams.
    trace : bool
        Keep each incident's life as typed events (``RunOutput.trace``).
    progress : callable, optional
        Called with a :class:`RunProgress` as the clock reaches the end of each simulated day, and at
        the end. The records are the same with or without it.

    Returns
    -------
    RunOutput
        The run's records, labelled with its mode and replication.
    """
    modes = modes_of(scenario)
    name = mode or next(iter(modes))
    if name not in modes:
        raise KeyError(f"unknown mode {name!r}{did_you_mean(name, modes)}; the scenario defines {', '.join(modes)}")
    base = scenario.seed if seed is None else seed
    simulation = Simulation(scenario, modes[name], replication_seed(base, replication), trace=trace)
    watch = None if progress is None else (lambda minute, end: progress(RunProgress(name, replication, minute, end)))
    output = simulation.run(watch)
    simulation.let_go()  # its arrays now, not at the next full pass of the cyclic collector
    return dataclasses.replace(output, mode=name, replication=replication)


def replicate(
    scenario: Scenario, mode: str | None = None, replications: int = 1, seed: int | None = None
) -> list[RunOutput]:
    """Independent replications of one mode.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    mode : str, optional
        Name of one of the scenario's modes; default the first.
    replications : int
        How many replications (numbered from 0).
    seed : int, optional
        Base seed; default the scenario's.

    Returns
    -------
    list of RunOutput
        One output per replication.
    """
    return [run(scenario, mode, seed, r) for r in range(replications)]


# --------------------------------------------------------------------------- comparing modes


@dataclass(frozen=True)
class Comparison:
    """Modes run on the same incidents: the outputs per mode and the summary (``summary.json``)."""

    scenario: Scenario
    seed: int
    replications: int
    outputs: dict[str, list[RunOutput]]
    runtime_s: float
    summary: Summary = field(repr=False)

    def records(self):
        """(mode, replication, record) for every incident of every run."""
        for mode, outputs in self.outputs.items():
            for rep, output in enumerate(outputs):
                for record in output.records:
                    yield mode, rep, record

    def to_frame(self):
        """Every incident of every run as a pandas DataFrame (:func:`sim.engine.frames.incidents_frame`).

        One row per (mode, replication, incident), in the order of ``incidents.csv``, with every
        record field, every derived field (``response_min``, ``resolution_min``, ...) and ``measured``
        (False for incidents of the warm-up, which the summary leaves out). Needs pandas.
        """
        from sim.engine.frames import incidents_frame

        return incidents_frame(output for outputs in self.outputs.values() for output in outputs)

    def jobs_frame(self):
        """Every unit visit of every run as a pandas DataFrame (:func:`sim.engine.frames.jobs_frame`)."""
        from sim.engine.frames import jobs_frame

        return jobs_frame(output for outputs in self.outputs.values() for output in outputs)

    def summary_frame(self):
        """The summary as a tidy DataFrame: one row per mode × incident type × statistic (:func:`sim.summary_frame`)."""
        from sim.stats.frames import summary_frame

        return summary_frame(self.summary)


def compare(
    scenario: Scenario,
    modes: Sequence[str] | None = None,
    replications: int = 1,
    seed: int | None = None,
    precision: Precision | None = None,
    progress: Callable[[RunProgress], object] | None = None,
) -> Comparison:
    """Run every mode on the same incident streams and summarise each.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    modes : sequence of str, optional
        The modes to compare, the first being the baseline of paired differences; default all.
    replications : int
        Replications per mode; with *precision*, the least number (at least 2).
    seed : int, optional
        Base seed; default the scenario's.
    precision : Precision, optional
        Replicate until the rule holds in every mode, or its ``max_replications`` is reached.
    progress : callable, optional
        Called with a :class:`RunProgress` as each run reaches the end of a simulated day (:func:`run`).

    Returns
    -------
    Comparison
        The outputs per mode and their summary.

    Raises
    ------
    KeyError
        If a mode is not defined by the scenario, or *precision* names no metric.
    """
    names = _mode_names(scenario, modes)
    base = scenario.seed if seed is None else seed
    started = time.perf_counter()
    outputs: dict[str, list[RunOutput]] = {m: [] for m in names}
    per_rep: dict[str, list[ModeSummary]] = {m: [] for m in names}
    wanted = max(replications, 2) if precision else replications
    while True:
        for m in names:
            new = [run(scenario, m, base, r, progress=progress) for r in range(len(outputs[m]), wanted)]
            outputs[m] += new
            if precision is not None or wanted > 1:  # one replication: its summary is the mode's, made once below
                per_rep[m] += [_run_summary(scenario, o) for o in new]
        if precision is None or wanted >= precision.max_replications or _precise(precision, per_rep):
            break
        wanted = min(wanted + precision.batch, precision.max_replications)
    runtime = time.perf_counter() - started
    summary = build_summary(scenario, base, wanted, outputs, per_rep=per_rep, precision=precision)
    return Comparison(scenario, base, wanted, outputs, runtime, summary)


def _mode_names(scenario: Scenario, modes: Sequence[str] | None) -> list[str]:
    defined = modes_of(scenario)
    names = list(modes) if modes else list(defined)
    unknown = [m for m in names if m not in defined]
    if unknown:
        raise KeyError(
            f"unknown mode(s) {', '.join(unknown)}{did_you_mean(unknown[0], defined)}; the scenario defines {', '.join(defined)}"
        )
    return names


def _run_summary(scenario: Scenario, output: RunOutput) -> ModeSummary:
    """The summary of one run alone (what a replication contributes to paired comparisons)."""
    types = [t.name for t in scenario.incident_types]
    return summarise(
        [output],
        scenario.warmup_days * MINUTES_PER_DAY,
        scenario.target_min,
        types,
        type_targets(scenario),
        type_deadlines(scenario),
    )


def type_targets(scenario: Scenario) -> dict[str, float]:
    """Response target per incident type, minutes: the type's own, else the scenario's."""
    return {t.name: scenario.target_for(t.name) for t in scenario.incident_types}


def type_deadlines(scenario: Scenario) -> dict[str, float | None]:
    """The closed loop's closure deadline per incident type, minutes (``None``: no deadline)."""
    return {t.name: scenario.deadline_for(t.name) for t in scenario.incident_types}


def _precise(rule: Precision, per_rep: dict[str, list[ModeSummary]]) -> bool:
    return all(rule.reached([metric_value(s, rule.metric) for s in summaries]) for summaries in per_rep.values())


def paired_metrics(scenario: Scenario) -> list[str]:
    """The metrics compared replication by replication: overall times and shares, and each type's median response."""
    overall = ["response_min.mean", "response_min.median", "response_min.p90", "within_target", "resolution_min.median"]
    return overall + [f"by_type.{t.name}.response_min.median" for t in scenario.incident_types]


def build_summary(
    scenario: Scenario,
    seed: int,
    replications: int,
    outputs: dict[str, list[RunOutput]],
    per_rep: dict[str, list[ModeSummary]] | None = None,
    precision: Precision | None = None,
) -> Summary:
    """The ``summary.json`` contract: scenario, seed, version and per-mode statistics.

    With more than one replication and mode, ``paired`` holds each mode's differences from the
    first (:func:`sim.stats.metrics.paired_difference`); with *precision*, ``precision`` records the
    rule and the relative half-width reached in each mode.
    """
    warmup = scenario.warmup_days * MINUTES_PER_DAY
    types = [t.name for t in scenario.incident_types]
    summary: Summary = {
        "scenario": scenario.name,
        "seed": seed,
        "version": __version__,
        "replications": replications,
        "days": scenario.days,
        "warmup_days": scenario.warmup_days,
        "drain_days": scenario.drain_days,
        "target_min": scenario.target_min,
        "targets_min": type_targets(scenario),
        "modes": {
            m: summarise(outs, warmup, scenario.target_min, types, type_targets(scenario), type_deadlines(scenario))
            for m, outs in outputs.items()
        },
    }
    if replications > 1 and (len(outputs) > 1 or precision):
        per_rep = per_rep or {m: [_run_summary(scenario, o) for o in outs] for m, outs in outputs.items()}
        if len(outputs) > 1:
            summary["paired"] = _paired(paired_metrics(scenario), per_rep)
        if precision:
            summary["precision"] = _precision_report(precision, per_rep)
    return summary


def _paired(metrics: list[str], per_rep: dict[str, list[ModeSummary]]) -> PairedReport:
    names = list(per_rep)
    baseline = names[0]

    def values(mode, metric):
        return [metric_value(s, metric) for s in per_rep[mode]]

    return {
        "baseline": baseline,
        "confidence": CONFIDENCE,
        "test": "paired t-test on replication values (scipy.stats.ttest_rel), other mode minus baseline",
        "modes": {
            m: {
                # paired_difference is annotated as returning a plain dict; it returns a PairedDifference
                metric: cast(PairedDifference, paired_difference(values(baseline, metric), values(m, metric)))
                for metric in metrics
            }
            for m in names[1:]
        },
    }


def _precision_report(rule: Precision, per_rep: dict[str, list[ModeSummary]]) -> dict:
    from sim.stats.metrics import relative_half_width

    reached = {
        m: relative_half_width(  # None (a statistic of nothing) is dropped by t_interval anyway
            [v for v in (metric_value(s, rule.metric) for s in sums) if v is not None], rule.confidence
        )
        for m, sums in per_rep.items()
    }
    return {**rule.as_dict(), "relative_half_width_reached": reached, "reached": _precise(rule, per_rep)}


# --------------------------------------------------------------------------- one run of a sweep


@dataclass(frozen=True)
class RunTask:
    """Everything one run of a sweep needs, as plain picklable data (for any backend)."""

    scenario: dict
    overrides: tuple[str, ...]
    parameters: dict
    point: int
    mode: str
    replication: int
    seed: int
    metrics: tuple[str, ...]
    version: str = __version__
    code: tuple[tuple[str, str], ...] = ()
    """(module, hash) of the client's code (:attr:`sim.io.sweepfile.Sweep.code`); a worker with other code refuses."""


def run_point(
    scenario: Scenario | dict,
    mode: str,
    seed: int,
    replication: int,
    metrics: Sequence[str],
    parameters: dict | None = None,
    point: int = 0,
    overrides: Sequence[str] = (),
) -> dict:
    """One replication of one mode at one point of a sweep, as a flat row; never raises for a bad run.

    Parameters
    ----------
    scenario : Scenario or dict
        A validated scenario, or scenario data to validate after applying *overrides*.
    mode, seed, replication : str, int, int
        What to run (:func:`run`).
    metrics : sequence of str
        Dotted paths into the run's summary (:func:`sim.stats.metrics.metric_value`), or metric
        functions by name (:func:`sim.stats.plugins.find_metric`), resolved here, in the worker.
    parameters, point : dict, int
        Copied into the row: the point's values by key path, and its number.

    Returns
    -------
    dict
        ``point``, the parameters, ``mode``, ``replication``, ``seed``, one value per metric,
        ``error`` (None, or the failure as text, with every metric None) and ``runtime_s``.
    """
    started = time.perf_counter()
    row = {"point": point, **(parameters or {}), "mode": mode, "replication": replication, "seed": seed}
    values: dict = dict.fromkeys(metrics)
    error = None
    try:
        if not isinstance(scenario, Scenario):
            scenario = scenario_from_dict(scenario, source="<sweep point>", overrides=overrides)
        check_memory(scenario)  # fail now, not with a MemoryError after minutes
        output = run(scenario, mode, seed, replication)
        summary = _run_summary(scenario, output)
        values = _metric_values(scenario, output, summary, metrics)
    except Exception as err:
        error = _error_text(err)
    row.update(values)
    row["error"] = error
    row["runtime_s"] = round(time.perf_counter() - started, 6)
    return row


def _metric_values(scenario: Scenario, output: RunOutput, summary: ModeSummary, metrics: Sequence[str]) -> dict:
    """Each metric of one run: a summary path's value, or a metric function's (:mod:`sim.stats.plugins`)."""
    run_input = MetricInput(output, scenario.warmup_days * MINUTES_PER_DAY, scenario.target_min)
    paths = set(metric_paths([t.name for t in scenario.incident_types], [d.name for d in scenario.departments]))
    values = {}
    for metric in metrics:
        found = None if metric in paths else find_metric(metric)  # a summary path first, as the sweep file is read
        if found is None:
            values[metric] = _finite_or_none(metric_value(summary, metric))
        else:
            values[metric] = plugin_value(*found, run_input)
    return values


def run_task(task: RunTask) -> dict:
    """:func:`run_point` for a :class:`RunTask` (what backends call in their workers).

    A worker whose simulator version or code (``task.code``) differs from the client's runs
    nothing: the row's error says which.
    """
    refused = None
    if task.version != __version__:
        refused = f"worker runs sim {__version__}, the sweep needs {task.version}"
    elif task.code:
        expected = dict(task.code)
        differs = code_differences(expected, code_fingerprint(expected))
        if differs:
            refused = f"worker's code differs from the client's in: {', '.join(differs)}"
    if refused:
        row = run_point({}, task.mode, task.seed, task.replication, (), task.parameters, task.point)
        row.update(dict.fromkeys(task.metrics), error=refused)
        return row
    return run_point(
        task.scenario, task.mode, task.seed, task.replication, task.metrics, task.parameters, task.point, task.overrides
    )


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def _error_text(err: Exception) -> str:
    """The failure as one line of text, the same wherever the run executed."""
    if isinstance(err, ScenarioError):  # the point's values are the cause: name the key path, not the source
        text = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in err.problems)
    else:
        text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return f"{type(err).__name__}: {text}".replace("\n", "; ")


# --------------------------------------------------------------------------- the folder of a sweep


RUN_FILE = re.compile(r"p(\d+)-m(\d+)-r(\d+)\.json")
"""Name of a finished run's file in ``DIR/runs``: point, mode number, replication."""

TABLE_FILES = ("sweep.json", "runs.csv", "summary.csv", "runs.parquet", "summary.parquet")
"""The files of a sweep folder besides ``runs/``."""

CHECKSUM_KEY, SWEEP_KEY = "_sha256", "_sweep"
"""Keys a run file holds besides the row: the SHA-256 of the row, and the fingerprint of its sweep."""

MAX_RUN_FILE_BYTES = 10_000_000
"""A run file is a few hundred bytes per metric; one larger than this is damaged."""


def row_checksum(row: dict) -> str:
    """SHA-256 of a row's canonical JSON (sorted keys, no spaces): what a run file's ``_sha256`` holds."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunStore:
    """A sweep's folder: ``sweep.json`` (what runs, and its fingerprint), ``runs/`` (one file per run), tables.

    While a sweep runs, it owns the folder: :meth:`open` takes an exclusive lock on it
    (:class:`~sim.io.results.FolderLock`; a second sweep on the same folder is refused, naming
    the process that holds it) and :meth:`close` lets go. Every file is written to a temporary
    name and renamed into place (:func:`sim.io.results.write_atomic`), so a run killed at any
    moment leaves whole files or none; this project's stray temporary files are removed when
    the folder is opened again. Each run file carries the sweep's fingerprint and a checksum of
    its row, and is checked before it is kept (:meth:`load`).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.runs_dir = self.folder / "runs"
        self.damaged: list[tuple[Path, str]] = []
        self.lock = FolderLock(self.folder, "sweep")

    def open(self, sweep: Sweep, resume: bool = False) -> dict[tuple, dict]:
        """Lock the folder, and start or resume *sweep* there.

        Returns the runs already finished, by (point, mode, replication).

        Raises
        ------
        ScenarioError
            If another process holds the folder, if the folder holds a sweep and *resume* is not
            set, or holds a different sweep.
        """
        self.lock.acquire()
        try:
            return self._open(sweep, resume)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let go of the folder."""
        self.lock.release()

    def _open(self, sweep: Sweep, resume: bool) -> dict[tuple, dict]:
        self.clean()
        manifest = self.folder / "sweep.json"
        if manifest.exists():
            old = self._read_manifest(manifest)
            fresh = old.get("hash") == sweep.fingerprint()["hash"] and not self._run_files()
            if not resume and not fresh:  # the same sweep with nothing done yet simply starts
                raise _out_error(
                    f"{self.folder} already holds sweep '{old.get('name')}' (sweep.json); add --resume to finish it, or choose another --out"
                )
            _check_same(old, sweep, manifest)
            return self.load(sweep)
        if self._run_files():
            raise _out_error(
                f"{self.runs_dir} holds runs but there is no sweep.json to say what they belong to; remove them or choose another --out"
            )
        write_atomic(manifest, json.dumps(sweep.manifest(), indent=2, ensure_ascii=False) + "\n")
        return {}

    def _read_manifest(self, path: Path) -> dict:
        try:
            data = json.loads(read_user_text(path, "the sweep.json this command wrote"))
        except ScenarioError as err:
            raise _out_error(
                f"cannot read {path} ({err.problems[0].message}); remove the folder or choose another --out"
            ) from None
        except ValueError as err:
            raise _out_error(f"cannot read {path} ({err}); remove the folder or choose another --out") from None
        return data if isinstance(data, dict) else {}

    def _run_files(self) -> list[Path]:
        return (
            sorted(p for p in self.runs_dir.glob("*.json") if RUN_FILE.fullmatch(p.name))
            if self.runs_dir.is_dir()
            else []
        )

    def load(self, sweep: Sweep) -> dict[tuple, dict]:
        """The finished runs on disk, each checked first (:meth:`check`).

        A file that fails a check is removed and listed in :attr:`damaged` with the reason; its
        run, if the sweep has it, is then redone.
        """
        done: dict[tuple, dict] = {}
        self.damaged = []
        fingerprint = sweep.fingerprint()["hash"]
        for path in self._run_files():
            key, row, problem = self.check(sweep, path, fingerprint)
            if problem is None and key in done:
                problem = "a second file for the same run"
            if problem is None:
                assert key is not None and row is not None  # check() gives a key and a row, or a problem
                done[key] = row
                continue
            self.damaged.append((path, problem))
            path.unlink(missing_ok=True)
        return done

    def check(
        self, sweep: Sweep, path: Path, fingerprint: str | None = None
    ) -> tuple[tuple | None, dict | None, str | None]:
        """Read and check one run file: ``(key, row, None)`` if it is a sound run of *sweep*, else ``(None, None, why)``.

        Checked: the name is the run's own; it parses as JSON within :data:`MAX_RUN_FILE_BYTES`;
        it belongs to this sweep (fingerprint); its checksum matches its row; it has exactly the
        keys of a row; point, mode and replication are the name's and in range; the parameters
        are the point's and the seed the sweep's; every metric is a finite number or null;
        ``error`` is null or text.
        """
        fingerprint = fingerprint or sweep.fingerprint()["hash"]
        named = RUN_FILE.fullmatch(path.name)
        if named is None:
            return None, None, f"not a run file's name: {path.name}"
        point, mode_index, replication = map(int, named.groups())
        limit = sweep.stopping.max_replications if sweep.stopping else sweep.replications
        if not (point < len(sweep.points) and mode_index < len(sweep.modes) and replication < limit):
            return None, None, f"not a run of this sweep (point {point}, mode {mode_index}, replication {replication})"
        if path.name != self.path_of(sweep, point, sweep.modes[mode_index], replication).name:
            return None, None, "not a run file's name"
        try:
            data = json.loads(read_user_text(path, "a run file", MAX_RUN_FILE_BYTES))
        except ScenarioError as err:
            return None, None, err.problems[0].message
        except ValueError as err:
            return None, None, f"not JSON ({err})"
        if not isinstance(data, dict):
            return None, None, "not a JSON object"
        checksum, owner = data.pop(CHECKSUM_KEY, None), data.pop(SWEEP_KEY, None)
        if owner != fingerprint:
            return None, None, "written by another sweep (its fingerprint differs)"
        try:
            sound = checksum == row_checksum(data)
        except (TypeError, ValueError):
            sound = False
        if not sound:
            return None, None, "its checksum does not match its content (edited or damaged)"
        mode = sweep.modes[mode_index]
        problem = _row_problem(sweep, data, point, mode, replication)
        return ((point, mode, replication), data, None) if problem is None else (None, None, problem)

    def path_of(self, sweep: Sweep, point: int, mode: str, replication: int) -> Path:
        """Where the run (point, mode, replication) is kept."""
        return self.runs_dir / f"p{point:06d}-m{sweep.modes.index(mode):02d}-r{replication:05d}.json"

    def save(self, sweep: Sweep, row: dict) -> Path:
        """Keep one finished run (atomically), with the sweep's fingerprint and the row's checksum."""
        path = self.path_of(sweep, row["point"], row["mode"], row["replication"])
        record = {**row, SWEEP_KEY: sweep.fingerprint()["hash"], CHECKSUM_KEY: row_checksum(row)}
        return write_atomic(path, json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")

    def clean(self) -> list[Path]:
        """Remove this project's temporary files left by a writer that was killed half way (the folder is locked)."""
        return clean_temporary(self.folder, TABLE_FILES.__contains__) + clean_temporary(self.runs_dir, _is_run_file)

    def write_tables(self, sweep: Sweep, runs: list[dict], summary: list[dict]) -> list[Path]:
        """``runs.csv`` and ``summary.csv`` (and ``.parquet`` when pyarrow is installed)."""
        paths = []
        for name, rows, columns in (("runs", runs, run_columns(sweep)), ("summary", summary, summary_columns(sweep))):
            paths.append(write_atomic(self.folder / f"{name}.csv", csv_text(rows, columns)))
            types = column_types(sweep.metrics, name)
            paths += _write_parquet(self.folder / f"{name}.parquet", rows, columns, types, sweep.seed)
        return paths


def _is_run_file(name: str) -> bool:
    return RUN_FILE.fullmatch(name) is not None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _row_problem(sweep: Sweep, row: dict, point: int, mode: str, replication: int) -> str | None:
    """What is wrong with a run file's row for run (point, mode, replication) of *sweep*, or None."""
    keys = ["point", *sweep.parameters, "mode", "replication", "seed", *sweep.metrics, "error", "runtime_s"]
    if sorted(row) != sorted(keys):
        missing, extra = sorted(set(keys) - set(row)), sorted(set(row) - set(keys))
        return "keys " + "; ".join(
            filter(
                None,
                [
                    f"missing: {', '.join(missing)}" if missing else None,
                    f"not expected: {', '.join(extra)}" if extra else None,
                ],
            )
        )
    if (row["point"], row["mode"], row["replication"]) != (point, mode, replication) or not (
        type(row["point"]) is type(row["replication"]) is int
    ):
        return f"names point {row['point']!r}, mode {row['mode']!r}, replication {row['replication']!r}: not the run of its file name"
    values = json.loads(json.dumps(dict(sweep.points[point])))
    if any(row[path] != values[path] or type(row[path]) is not type(values[path]) for path in sweep.parameters):
        return "its parameters are not those of its point"
    if row["seed"] != sweep.seed:
        return f"seed {row['seed']!r}; the sweep's is {sweep.seed}"
    for metric in sweep.metrics:
        if row[metric] is not None and not _is_number(row[metric]):
            return f"{metric} is {row[metric]!r}; expected a finite number or null"
    if row["error"] is not None and not isinstance(row["error"], str):
        return f"error is {row['error']!r}; expected text or null"
    if not _is_number(row["runtime_s"]) or row["runtime_s"] < 0:
        return f"runtime_s is {row['runtime_s']!r}; expected a number of seconds"
    return None


def _out_error(message: str) -> ScenarioError:
    return ScenarioError([Problem("--out", None, "", message)])


def _check_same(old: dict, sweep: Sweep, manifest: Path) -> None:
    """Refuse to resume a sweep whose file, scenario or simulator version changed."""
    new = sweep.fingerprint()
    if old.get("hash") == new["hash"]:
        return
    parts = (
        ("sweep", "the sweep (parameters, modes, replications, seed, metrics or stopping)"),
        ("scenario", "the scenario"),
        ("code", "the code (the sim package or a plugged-in module)"),
    )
    changed = [what for key, what in parts if (old.get("hashes") or {}).get(key) != new["hashes"][key]]
    if old.get("sim_version") != __version__:
        changed.append(f"the simulator version ({old.get('sim_version')} -> {__version__})")
    message = (
        f"cannot resume: {manifest} was written for a different sweep; changed: {'; '.join(changed) or 'the fingerprint'}. "
        "Resuming would mix results; run it into a new --out folder (or delete the old one)"
    )
    raise ScenarioError([Problem("--resume", None, "", message)])


# --------------------------------------------------------------------------- tables


def run_columns(sweep: Sweep) -> list[str]:
    """Columns of ``runs.csv`` (``runtime_s`` is left out so that identical sweeps give identical files)."""
    return ["point", *sweep.parameters, "mode", "replication", "seed", *sweep.metrics, "error"]


def summary_columns(sweep: Sweep) -> list[str]:
    """Columns of ``summary.csv``."""
    stats = [f"{m}.{s}" for m in sweep.metrics for s in SUMMARY_STATS]
    return ["point", *sweep.parameters, "mode", "replications", "failed", "vs", *stats]


def columns_of(rows: Sequence[dict], columns: Sequence[str]) -> dict[str, list]:
    """Rows as a dict of columns (``pandas.DataFrame(columns_of(...))``)."""
    return {c: [row.get(c) for row in rows] for c in columns}


def _write_parquet(
    path: Path, rows: list[dict], columns: Sequence[str], types: dict[str, str], seed: int | None = None
) -> list[Path]:
    """Write a Parquet copy of a table if pyarrow is installed, with the provenance as key–value metadata.

    A column of *types* has that type; any other column holds numbers if all its values are numbers,
    else text, with each cell exactly as ``csv_cell`` writes it (lists and mappings as JSON).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return []
    arrays, names = [], []
    for column, values in columns_of(rows, columns).items():
        kind = types.get(column)
        numbers = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)
        if kind == "string" or (kind is None and not numbers):
            values = [None if v is None else csv_cell(v) for v in values]
        arrays.append(pa.array(values, type=pa.string() if kind == "string" else kind and pa.type_for_alias(kind)))
        names.append(column)
    metadata = {PARQUET_KEY: json.dumps(provenance(seed), sort_keys=True)}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pq.write_table(pa.table(arrays, names=names).replace_schema_metadata(metadata), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return [path]


# --------------------------------------------------------------------------- running a sweep


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced: one row per run and one per (point, mode), sorted, and where they went.

    ``runs`` and ``summary`` are lists of flat dicts (``pandas.DataFrame(result.runs)`` works);
    :meth:`columns` gives a dict of columns.
    """

    sweep: Sweep
    runs: list[dict] = field(repr=False)
    summary: list[dict] = field(repr=False)
    out: Path | None
    ran: int
    kept: int
    runtime_s: float
    backend: str
    files: list[Path] = field(default_factory=list)
    damaged: tuple[tuple[str, str], ...] = ()
    """Run files found damaged on resume (file name, what was wrong): removed, and their runs redone."""

    @property
    def failed(self) -> list[dict]:
        """The rows of runs that failed."""
        return [r for r in self.runs if r.get("error")]

    def columns(self, table: str = "runs") -> dict[str, list]:
        """``runs`` (with ``runtime_s``) or ``summary`` as a dict of columns."""
        if table == "runs":
            return columns_of(self.runs, [*run_columns(self.sweep), "runtime_s"])
        return columns_of(self.summary, summary_columns(self.sweep))

    def to_frame(self, table: str = "runs", long: bool = False):
        """A table of the sweep as a pandas DataFrame, with the same columns and values as its files.

        Parameters
        ----------
        table : {"runs", "summary"}
            ``runs``: one row per point × mode × replication (``runs.csv``); ``summary``: one row per
            point × mode (``summary.csv``).
        long : bool
            With ``table="runs"``, one row per point × mode × replication × metric instead, the
            metric's name in ``metric`` and its value in ``value``.
        """
        from sim.io.sweepfile import sweep_frame

        columns = run_columns(self.sweep) if table == "runs" else summary_columns(self.sweep)
        rows = self.runs if table == "runs" else self.summary
        return sweep_frame(columns_of(rows, columns), column_types(self.sweep.metrics, table), self.sweep.metrics, long)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, ``terminated``) during a sweep.

    The finished runs are kept (``done`` of them) and ``--resume`` finishes it.
    """

    def __init__(self, done: int, ran: int, out: Path | None, terminated: bool = False):
        super().__init__(f"{'terminated' if terminated else 'interrupted'} with {done} runs finished")
        self.done, self.ran, self.out, self.terminated = done, ran, out, terminated


def run_sweep(
    sweep: Sweep,
    out: str | os.PathLike | None = None,
    *,
    backend: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool | None = None,
) -> SweepResult:
    """Run every (point, mode, replication) of *sweep* and tabulate them.

    Parameters
    ----------
    sweep : Sweep
        What to run (:func:`sim.load_sweep`).
    out : str or os.PathLike, optional
        Folder to persist into (``sweep.json``, ``runs/``, ``runs.csv``, ``summary.csv``);
        None keeps everything in memory.
    backend, workers, scheduler : str, int, str
        Where runs execute (:func:`sim.experiments.backends.open_backend`).
    resume : bool
        Continue the sweep persisted in *out*: only the missing runs are done.
    retry_failed : bool
        With *resume*, also redo the runs that failed.
    progress : bool, optional
        Show a progress bar on stderr; None shows one only when stderr is a terminal.

    Raises
    ------
    ScenarioError
        If *out* holds another sweep, or a backend option is wrong.
    SweepInterrupted
        On Ctrl-C, after stopping the workers; every finished run is kept.
    """
    check_options(backend, workers, scheduler)
    store = RunStore(out) if out is not None else None
    done = store.open(sweep, resume) if store else {}
    try:
        return _run_sweep(sweep, store, done, backend, workers, scheduler, retry_failed, progress)
    finally:
        if store:
            store.close()


def _run_sweep(
    sweep: Sweep, store: RunStore | None, done: dict, backend, workers, scheduler, retry_failed, progress
) -> SweepResult:
    if retry_failed:
        done = {key: row for key, row in done.items() if not row.get("error")}
    kept, started = len(done), time.perf_counter()
    description = backend
    needed = _needed(sweep, done)
    try:
        if needed:
            with open_backend(backend, workers, scheduler, tasks=len(needed)) as pool:
                description = pool.describe()
                pool.check_code(sweep.code)
                with _progress_bar(sweep, len(done), progress) as bar:  # after the workers started: no thread at fork
                    while needed:
                        _run_round(sweep, needed, done, pool, store, bar)
                        needed = _needed(sweep, done)
    except KeyboardInterrupt as err:
        if store:
            store.clean()
        raise SweepInterrupted(
            len(done), len(done) - kept, store.folder if store else None, isinstance(err, Terminated)
        ) from None
    runs = [done[key] for key in sorted(done, key=lambda k: (k[0], sweep.modes.index(k[1]), k[2]))]
    summary = summarise_runs(runs, sweep.parameters, sweep.metrics)
    files = store.write_tables(sweep, runs, summary) if store else []
    damaged = tuple((path.name, why) for path, why in store.damaged) if store else ()
    return SweepResult(
        sweep,
        runs,
        summary,
        store.folder if store else None,
        len(done) - kept,
        kept,
        time.perf_counter() - started,
        description,
        files,
        damaged,
    )


def _run_round(sweep: Sweep, needed: list[tuple], done: dict, pool, store: RunStore | None, bar) -> None:
    """Run the *needed* runs on *pool*, keeping each as it finishes."""
    bar.total = len(done) + len(needed)
    bar.refresh()
    tasks = [_task(sweep, *key) for key in needed]
    for index, row in pool.imap(run_task, tasks):
        row = json.loads(json.dumps(row))  # exactly what a resumed sweep reads back from disk
        # kept and counted together: a Ctrl-C comes before both or after both (held back during the file's rename,
        # it used to land between them, and the message then counted one run fewer than the folder held)
        with interrupts_held():
            if store:
                store.save(sweep, row)
            done[needed[index]] = row
        bar.failed += bool(row["error"])
        bar.set_postfix(failed=bar.failed, refresh=False)
        bar.update(1)


def _task(sweep: Sweep, point: int, mode: str, replication: int) -> RunTask:
    return RunTask(
        scenario=sweep.scenario,
        overrides=sweep.overrides(point),
        parameters=dict(sweep.points[point]),
        point=point,
        mode=mode,
        replication=replication,
        seed=sweep.seed,
        metrics=tuple(sweep.metrics),
        code=tuple(sorted(sweep.code.items())),
    )


def _needed(sweep: Sweep, done: dict) -> list[tuple]:
    """The runs still to do, given those done: all of them, or with stopping the next step of each open point."""
    needed = []
    for point in range(len(sweep.points)):
        count = _replications_wanted(sweep, point, done)
        needed += [(point, m, r) for r in range(count) for m in sweep.modes if (point, m, r) not in done]
    return needed


def _replications_wanted(sweep: Sweep, point: int, done: dict) -> int:
    """How many replications point *point* needs now (sequential stopping decides on finished steps only)."""
    rule, count = sweep.stopping, sweep.replications
    if rule is None:
        return count
    while True:
        rows = [done.get((point, m, r)) for m in sweep.modes for r in range(count)]
        if any(row is None for row in rows):
            return count
        if count >= rule.max_replications or any(row["error"] for row in rows if row is not None):
            return count
        if all(rule.reached([done[(point, m, r)][rule.metric] for r in range(count)]) for m in sweep.modes):
            return count
        count = min(count + rule.batch, rule.max_replications)


def _progress_bar(sweep: Sweep, done: int, progress: bool | None):
    """A tqdm bar on stderr (done, failed, ETA); none when stderr is not a terminal, unless asked."""
    if not (sys.stderr.isatty() if progress is None else progress):
        return _NoBar()  # not even a disabled tqdm: creating one starts its monitor thread
    from tqdm import tqdm

    bar = tqdm(
        total=max(sweep.runs, done),
        initial=done,
        unit="run",
        desc=f"sweep {sweep.name}",
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )
    bar.failed = 0  # type: ignore[attr-defined]  # our own count of failed runs, kept on tqdm's bar for its postfix
    return bar


class _NoBar:
    """The progress bar's interface, doing nothing."""

    total = failed = 0

    def __enter__(self):
        return self

    def __exit__(self, *error) -> None:
        pass

    def refresh(self) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass


def rerun(out: str | os.PathLike, row: dict) -> dict:
    """Redo one run of a persisted sweep from its row (as read from ``runs.csv`` or ``SweepResult.runs``).

    The sweep's folder holds the base scenario (``sweep.json``); the row gives the parameter
    values, mode, replication and seed. Returns the new row, which equals the old one.
    """
    manifest = json.loads((Path(out) / "sweep.json").read_text(encoding="utf-8"))
    spec = manifest["sweep_spec"]
    point = int(row["point"])
    values = manifest["sweep_spec"]["points"][point]
    overrides = tuple(f"{path}={override_text(values[path])}" for path in spec["parameters"])
    return run_point(
        manifest["scenario"],
        str(row["mode"]),
        int(row["seed"]),
        int(row["replication"]),
        spec["metrics"],
        values,
        point,
        overrides,
    )
