"""Which parameters matter: global sensitivity analysis over the parameters of a sweep file.

The sweep file (:mod:`sim.io.sweepfile`) names the base scenario, the parameters and their ranges, the
modes, the metrics, the replications and the seed. SALib -- the field's standard library --
draws the sample and computes the indices; the runs go to the project's backends
(:mod:`sim.experiments.backends`), each one :func:`sim.experiments.runs.run_point`, exactly as a sweep's.

* ``sobol`` (default): Saltelli's scheme on a scrambled Sobol' sequence, ``N * (D + 2)`` points
  for ``D`` parameters; first-order (``S1``) and total (``ST``) indices with bootstrap
  confidence intervals (``SALib.analyze.sobol``, second order off). ``S1`` is the share of the
  metric's variance a parameter explains alone, ``ST`` the share it has a hand in, interactions
  included; a parameter whose ``ST`` is about 0 can be fixed anywhere in its range.
* ``morris``: elementary-effects screening, ``N * (D + 1)`` points (``N`` trajectories, four
  levels): ``mu_star`` (mean absolute effect of moving the parameter across its range, in the
  metric's units) with its interval, and ``sigma`` (how much that effect varies: interaction or
  non-linearity). Cheaper; for many parameters.

**Ranges.** ``{low, high}`` is the interval sampled uniformly (``log: true`` uniformly in its
logarithm; ``integer: true`` uniformly over the whole numbers from low to high). A list of
values is a categorical parameter: the sample picks one of the values with equal chance (its
index is what SALib sees; the order of the list is arbitrary, so Morris effects of a list mean
little). ``{from, to, step}`` is refused: write ``{low, high}`` (with ``integer: true``).

**Noise.** Every point runs the same replication seeds (common random numbers), so the
difference between two points is the parameters' doing, and a parameter that does not enter the
model has indices of exactly 0. The value at a point is the mean of the metric over the sweep's
replications. The sweep's ``samples`` is ``N`` (a power of 2 for Sobol), unless given here; its
``design`` and points are not used (SALib draws its own), nor is ``stopping`` (every point runs
the sweep's ``replications``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.experiments.backends import open_backend
from sim.experiments.runs import RunTask, run_task
from sim.io.loader import read_yaml
from sim.io.sweepfile import Sweep, load_sweep, override_text
from sim.stats.metrics import CONFIDENCE, metric_paths

__all__ = [
    "METHODS",
    "Factor",
    "SensitivityResult",
    "analyse",
    "factors_of",
    "index_rows",
    "problem_of",
    "sample",
    "sensitivity",
]

METHODS = ("sobol", "morris")
MORRIS_LEVELS = 4
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Factor:
    """One varied parameter: an interval (``low``/``high``, maybe ``integer``/``log``) or a list of values."""

    path: str
    low: float = 0.0
    high: float = 1.0
    integer: bool = False
    log: bool = False
    values: tuple = ()

    def bounds(self) -> list[float]:
        """The interval SALib samples (an index for a list, the logarithm with ``log``)."""
        if self.values:
            return [0.0, float(len(self.values))]
        low, high = (self.low, self.high + 1) if self.integer else (self.low, self.high)
        return [math.log(low), math.log(high)] if self.log else [low, high]

    def value(self, x: float):
        """The parameter's value at SALib's sample coordinate *x*."""
        if self.values:
            return self.values[min(int(x), len(self.values) - 1)]
        v = math.exp(x) if self.log else x
        if self.integer:
            return int(min(self.high, max(self.low, math.floor(v))))
        return float(f"{min(self.high, max(self.low, v)):.6g}")


def _factor(path: str, raw, where: str, whole: bool = False) -> Factor:
    """A sweep file's parameter entry as a factor (already validated by the sweep loader); *whole*: drawn as whole numbers."""
    if isinstance(raw, list):
        return Factor(path, values=tuple(raw))
    if isinstance(raw, dict) and {"low", "high"} <= set(raw):
        integer, log = bool(raw.get("integer", False)) or whole, bool(raw.get("log", False))
        low, high = float(raw["low"]), float(raw["high"])
        return Factor(path, math.ceil(low) if integer else low, math.floor(high) if integer else high, integer, log)
    message = "sensitivity samples intervals: expected {low, high} (add integer: true for whole numbers) or a list of categories"
    raise ScenarioError([Problem(where, None, f"parameters.{path}", message)])


def factors_of(path: str | os.PathLike, sweep: Sweep | None = None) -> list[Factor]:
    """The parameters of the sweep file at *path* as factors, in file order.

    Raises
    ------
    ScenarioError
        If the file is not a valid sweep, has no parameters, or gives one as ``{from, to, step}``.
    """
    sweep = sweep or load_sweep(path)
    data, _ = read_yaml(path, "a YAML sweep file")
    raw = data.get("parameters") or {}
    if not sweep.parameters:
        raise ScenarioError(
            [Problem(str(path), None, "parameters", "sensitivity needs at least one parameter with a range")]
        )
    return [_factor(p, raw[p], str(path), p in sweep.integer_parameters) for p in sweep.parameters]


def problem_of(factors: Sequence[Factor]) -> dict:
    """SALib's problem: names and bounds."""
    return {"num_vars": len(factors), "names": [f.path for f in factors], "bounds": [f.bounds() for f in factors]}


def sample(problem: dict, method: str, samples: int, seed: int) -> np.ndarray:
    """SALib's sample: Saltelli-Sobol' (``N (D + 2)`` rows) or Morris trajectories (``N (D + 1)`` rows).

    Raises
    ------
    ScenarioError
        If *method* is unknown, or Sobol's *samples* is not a power of 2.
    """
    if method == "sobol":
        if samples < 2 or samples & (samples - 1):
            lower = 1 << max(1, samples.bit_length() - 1)
            raise ScenarioError(
                [
                    Problem(
                        "--samples",
                        None,
                        "",
                        f"Sobol' sampling needs a power of 2 (e.g. {lower} or {lower * 2}); got {samples}",
                    )
                ]
            )
        from SALib.sample import sobol as sobol_sample

        return sobol_sample.sample(problem, samples, calc_second_order=False, scramble=True, seed=seed)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    raise ScenarioError(
        [Problem("--method", None, "", f"unknown method '{method}'; expected one of: {', '.join(METHODS)}")]
    )


def analyse(
    problem: dict, method: str, x: np.ndarray, y: np.ndarray, confidence: float = CONFIDENCE, seed: int = 0
) -> dict:
    """SALib's indices for outputs *y* at inputs *x*: Sobol' S1, ST (and their ``_conf``) or Morris mu*, sigma."""
    if method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(
            problem, y, calc_second_order=False, num_resamples=BOOTSTRAP_RESAMPLES, conf_level=confidence, seed=seed
        )
        return {k: np.asarray(result[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    from SALib.analyze import morris

    result = morris.analyze(
        problem, x, y, num_resamples=BOOTSTRAP_RESAMPLES, conf_level=confidence, num_levels=MORRIS_LEVELS, seed=seed
    )
    return {k: np.asarray(result[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")}


def index_rows(names: Sequence[str], indices: dict, **extra) -> list[dict]:
    """One row per parameter: ``parameter``, each index (None for NaN) and the *extra* columns."""
    rows = []
    for i, name in enumerate(names):
        values = {k: (None if not math.isfinite(v[i]) else float(v[i])) for k, v in indices.items()}
        rows.append({**extra, "parameter": name, **values})
    return rows


# --------------------------------------------------------------------------- running it


@dataclass(frozen=True)
class SensitivityResult:
    """Sample, outputs and indices of one analysis.

    Attributes
    ----------
    points:
        The parameter values of each point (key path -> value), in SALib's sample order.
    outputs:
        (mode, metric) -> mean over replications at each point.
    indices:
        One row per (mode, metric, parameter) (:func:`index_rows`).
    skipped:
        (mode, metric) -> why no indices were computed (e.g. the metric is missing at some points).
    """

    name: str
    method: str
    samples: int
    factors: tuple[Factor, ...]
    modes: tuple[str, ...]
    metrics: tuple[str, ...]
    replications: int
    seed: int
    points: list[dict] = field(repr=False)
    runs: list[dict] = field(repr=False)
    outputs: dict = field(repr=False)
    indices: list[dict] = field(repr=False)
    skipped: dict = field(default_factory=dict)
    confidence: float = CONFIDENCE

    def as_dict(self) -> dict:
        """Everything but the runs, as plain data (``sensitivity.json``)."""
        return {
            "name": self.name,
            "method": self.method,
            "samples": self.samples,
            "points": len(self.points),
            "runs": len(self.runs),
            "parameters": [vars(f) | {"values": list(f.values)} for f in self.factors],
            "modes": list(self.modes),
            "metrics": list(self.metrics),
            "replications": self.replications,
            "seed": self.seed,
            "confidence": self.confidence,
            "noise": "every point runs the same replication seeds (common random numbers); outputs are means over replications",
            "indices": self.indices,
            "skipped": {f"{m} {metric}": why for (m, metric), why in self.skipped.items()},
        }


def _tasks(sweep: Sweep, points: list[dict], modes: Sequence[str], metrics: Sequence[str]) -> list[RunTask]:
    return [
        RunTask(
            scenario=sweep.scenario,
            overrides=tuple(f"{p}={override_text(v)}" for p, v in point.items()),
            parameters=dict(point),
            point=i,
            mode=mode,
            replication=r,
            seed=sweep.seed,
            metrics=tuple(metrics),
        )
        for i, point in enumerate(points)
        for mode in modes
        for r in range(sweep.replications)
    ]


def _outputs(runs: list[dict], points: int, modes: Sequence[str], metrics: Sequence[str], replications: int) -> dict:
    """(mode, metric) -> array of the mean over replications at each point (NaN if any is missing)."""
    rows = {(r["point"], r["mode"], r["replication"]): r for r in runs}
    out = {}
    for mode in modes:
        for metric in metrics:
            values = [[rows[(i, mode, r)][metric] for r in range(replications)] for i in range(points)]
            out[(mode, metric)] = np.array(values, dtype=float).mean(axis=1)  # None -> NaN
    return out


def _check_failures(runs: list[dict], factors: Sequence[Factor], source: str) -> None:
    failed = [r for r in runs if r.get("error")]
    if failed:
        first = failed[0]
        values = ", ".join(f"{f.path}={first.get(f.path)}" for f in factors)
        message = (
            f"{len(failed)} of {len(runs)} runs failed, so no index can be computed; the first, at {values}, "
            f"mode {first['mode']}: {first['error']}. Narrow the parameter ranges"
        )
        raise ScenarioError([Problem(source, None, "parameters", message)])


def sensitivity(
    path: str | os.PathLike,
    method: str = "sobol",
    samples: int | None = None,
    metrics: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    seed: int | None = None,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    confidence: float = CONFIDENCE,
) -> SensitivityResult:
    """Global sensitivity of the sweep file's metrics to its parameters, per mode.

    Parameters
    ----------
    path:
        A sweep file whose parameters have ranges (``{low, high}``) or lists of categories.
    method:
        ``sobol`` (S1 and ST) or ``morris`` (mu* and sigma).
    samples:
        SALib's ``N`` (default the sweep's ``samples``, else 64 for Sobol, 20 for Morris).
    metrics, modes, seed:
        Default the sweep's.
    backend, workers, scheduler:
        Where the runs execute (:func:`sim.experiments.backends.open_backend`).

    Raises
    ------
    ScenarioError
        For a bad sweep file, method, sample size, metric or mode, or runs that fail.
    """
    sweep = load_sweep(path)
    factors = factors_of(path, sweep)
    metrics, modes = _metrics_and_modes(sweep, metrics, modes)
    n = samples or sweep.samples or (64 if method == "sobol" else 20)
    seed = sweep.seed if seed is None else seed
    problem = problem_of(factors)
    x = sample(problem, method, n, seed)
    points = [{f.path: f.value(v) for f, v in zip(factors, row)} for row in x]
    tasks = _tasks(sweep, points, modes, metrics)
    with open_backend(backend, workers, scheduler) as pool:
        done = dict(pool.imap(run_task, tasks))
    runs = [done[i] for i in range(len(tasks))]
    _check_failures(runs, factors, str(path))
    outputs = _outputs(runs, len(points), modes, metrics, sweep.replications)
    indices, skipped = _indices(problem, method, x, outputs, confidence, seed)
    return SensitivityResult(
        sweep.name,
        method,
        n,
        tuple(factors),
        tuple(modes),
        tuple(metrics),
        sweep.replications,
        seed,
        points,
        runs,
        outputs,
        indices,
        skipped,
        confidence,
    )


def _indices(
    problem: dict, method: str, x: np.ndarray, outputs: dict, confidence: float, seed: int
) -> tuple[list[dict], dict]:
    """Index rows of every (mode, metric) that can have them, and why the others cannot."""
    indices, skipped = [], {}
    for (mode, metric), y in outputs.items():
        if np.isnan(y).any():
            skipped[(mode, metric)] = (
                f"missing at {int(np.isnan(y).sum())} of {len(y)} points (e.g. no incident of that type)"
            )
        elif np.ptp(y) == 0:
            skipped[(mode, metric)] = f"the same ({y[0]:g}) at every point: no parameter changes it"
        else:
            found = analyse(problem, method, x, y, confidence, seed)
            indices += index_rows(problem["names"], found, mode=mode, metric=metric)
    return indices, skipped


def _metrics_and_modes(sweep: Sweep, metrics: Sequence[str] | None, modes: Sequence[str] | None) -> tuple[tuple, tuple]:
    """The metrics and modes to analyse (default the sweep's), checked against the scenario's."""
    resolved = sweep.resolved
    known = metric_paths([t["name"] for t in resolved["incident_types"]], [d["name"] for d in resolved["departments"]])
    return _chosen(metrics, sweep.metrics, known, "--metrics"), _chosen(
        modes, sweep.modes, list(resolved["governance"]["modes"]), "--modes"
    )


def _chosen(wanted: Sequence[str] | None, default: Sequence[str], known: Sequence[str], option: str) -> tuple[str, ...]:
    """The metrics or modes asked for (default the sweep's), each checked against those that exist."""
    if not wanted:
        return tuple(default)
    unknown = [w for w in wanted if w not in known]
    if unknown:
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise ScenarioError([Problem(option, None, "", f"unknown '{w}'; expected one of: {shown}") for w in unknown])
    return tuple(dict.fromkeys(wanted))
