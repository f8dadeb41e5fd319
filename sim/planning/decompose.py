"""Which lever of the reform buys how much: a full factorial over the four levers.

The reform changes four things at once (:mod:`sim.scenario.governance`): authority pooling, the shared
instant channel, pooled nearest-unit dispatch and concurrent multi-department coordination.
Starting from one mode (``fragmented``) and ending at another (``unified``), every lever whose
value differs is switched on or off independently, which gives ``2**k`` ways of working (16 for
the four levers). All of them run on the same incidents (common random numbers: replication
``r`` has the same seed in every mode), ``R`` replications each.

Switching levers one at a time answers a question that depends on the order: a lever switched
first may buy little that it would buy if switched last (a channel that reaches the desk at once
helps less when nobody at the desk may act). So this module reports, per metric and with
t-intervals over the replications (the contrasts are computed replication by replication, so
the intervals are paired):

* the **factorial effects** of the ``2**k`` design -- each lever's main effect (its average
  change, over all settings of the others) and every interaction;
* each lever's **Shapley share** of the change from the first mode to the last: its change
  averaged over every order of switching; the shares add up exactly to the total change;
* each lever's change when switched **alone** (first) and when switched **last**, which shows
  how much the order matters.

The information lever carries ``leave_probability`` with it: under referral working a unit that
finds a matter it may not act on leaves it with the first mode's probability; with a shared
channel, reporting it is one post, so it takes the last mode's (0 in the presets). The closed
loop is not a lever here: it stays as the first mode has it.

The costs the sources name go with the lever that brings or removes them, with no extra lever:
duplicate visits and gaps (:mod:`sim.engine.duplicates`) happen only under referral, so the
information lever's share includes ending them; the generalist's competence penalty and the
specialists' follow-ups (:mod:`sim.engine.competence`) are paid whenever a unit acts by pooled
authority, so the authority lever's share is net of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.experiments.backends import open_backend
from sim.experiments.runs import RunTask, run_task
from sim.io.loader import scenario_from_dict
from sim.scenario.governance import PRESETS, Mode, modes_of, resolve_mode
from sim.scenario.schema import AuthoritySpec, ModeSpec, Scenario
from sim.stats.metrics import CONFIDENCE, describe, metric_paths

__all__ = ["DEFAULT_METRICS", "LEVERS", "Decomposition", "corner_modes", "decompose", "lever_values", "shapley_weights"]

LEVERS = ("authority", "information", "dispatch", "coordination")
"""The reform's levers, in the order they are reported."""

DEFAULT_METRICS = ("response_min.median", "response_min.p90")


# --------------------------------------------------------------------------- the 2^k modes


def _mode(scenario: Scenario, name: str) -> Mode:
    """The scenario's mode *name*, or a preset of that name resolved for the scenario."""
    modes = modes_of(scenario)
    if name in modes:
        return modes[name]
    if name in PRESETS:
        return resolve_mode(name, ModeSpec(), scenario)
    known = ", ".join(dict.fromkeys([*modes, *PRESETS]))
    raise ScenarioError([Problem("--from/--to", None, "", f"unknown mode '{name}'; expected one of: {known}")])


def _lever_value(mode: Mode, lever: str):
    """What *mode* sets *lever* to (the information lever carries leave_probability)."""
    if lever == "authority":
        return tuple(sorted(mode.pooled))
    if lever == "information":
        return (mode.information, mode.leave_probability)
    return getattr(mode, lever)


def lever_values(scenario: Scenario, low: str = "fragmented", high: str = "unified") -> dict[str, tuple]:
    """Each lever's (off, on) values: its value in mode *low* and in mode *high*.

    Raises
    ------
    ScenarioError
        If a mode is neither defined by the scenario nor a preset.
    """
    first, last = _mode(scenario, low), _mode(scenario, high)
    return {lever: (_lever_value(first, lever), _lever_value(last, lever)) for lever in LEVERS}


def corner_name(on: dict[str, bool]) -> str:
    """A corner's mode name: the levers switched on, joined by '-' (``none`` if none)."""
    return "-".join(lever for lever, is_on in on.items() if is_on) or "none"


def _spec(values: dict[str, tuple], on: dict[str, bool], closed_loop: bool) -> ModeSpec:
    chosen = {lever: values[lever][int(on.get(lever, False))] for lever in LEVERS}
    pooled = list(chosen["authority"]) or "none"
    information, leave = chosen["information"]
    return ModeSpec(
        based_on="fragmented",
        authority=AuthoritySpec(pooled=pooled),
        information=information,
        dispatch=chosen["dispatch"],
        coordination=chosen["coordination"],
        leave_probability=leave,
        closed_loop=closed_loop,
    )


def corner_modes(
    scenario: Scenario, low: str = "fragmented", high: str = "unified"
) -> tuple[tuple[str, ...], dict[str, ModeSpec]]:
    """The varied levers and the ``2**k`` modes: every combination of their off and on values.

    Levers with the same value in both modes are not varied. Corners are in standard order:
    corner ``j`` switches on lever ``i`` when bit ``i`` of ``j`` is set (the first lever changes
    fastest), so corner 0 is mode *low* and the last corner is mode *high* (closed loop as *low*).
    """
    values = lever_values(scenario, low, high)
    varied = tuple(lever for lever in LEVERS if values[lever][0] != values[lever][1])
    closed_loop = _mode(scenario, low).closed_loop
    modes = {}
    for j in range(2 ** len(varied)):
        on = {lever: bool(j >> i & 1) for i, lever in enumerate(varied)}
        modes[corner_name(on)] = _spec(values, on, closed_loop)
    return varied, modes


# --------------------------------------------------------------------------- contrasts


def _signs(k: int) -> np.ndarray:
    """+1/-1 coding of the ``2**k`` corners (rows) for each lever (columns), standard order."""
    corners = np.arange(2**k)[:, None]
    return np.where(corners >> np.arange(k) & 1, 1.0, -1.0)


def _terms(k: int) -> list[tuple[int, ...]]:
    """Every non-empty set of levers, main effects first, then two-way interactions, ..."""
    return [term for size in range(1, k + 1) for term in itertools.combinations(range(k), size)]


def _effects(values: np.ndarray, k: int) -> dict[tuple[int, ...], np.ndarray]:
    """Factorial effect of each term, per replication: ``sum(sign * y) / 2**(k-1)``.

    *values* has one row per replication and one column per corner.
    """
    signs = _signs(k)
    return {term: values @ np.prod(signs[:, list(term)], axis=1) / 2 ** (k - 1) for term in _terms(k)}


def shapley_weights(k: int) -> dict[int, float]:
    """Weight of a lever's change from a set of ``s`` levers already on: ``s! (k-s-1)! / k!``."""
    return {s: math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)}


def _marginals(values: np.ndarray, k: int, i: int) -> dict[int, np.ndarray]:
    """Lever *i*'s change from each corner where it is off (keyed by that corner), per replication."""
    return {j: values[:, j | 1 << i] - values[:, j] for j in range(2**k) if not j >> i & 1}


def _shapley(values: np.ndarray, k: int, i: int) -> np.ndarray:
    """Lever *i*'s Shapley share of the change from corner 0 to the last, per replication."""
    weights = shapley_weights(k)
    shares = (weights[j.bit_count()] * change for j, change in _marginals(values, k, i).items())
    return sum(shares, np.zeros(values.shape[0]))


# --------------------------------------------------------------------------- the result


def _interval(values: np.ndarray, confidence: float) -> dict:
    """Mean and t-interval over replications (NaN replications left out)."""
    stats = describe([None if math.isnan(v) else float(v) for v in values], confidence)
    return {"mean": stats["mean"], "ci_low": stats["ci_low"], "ci_high": stats["ci_high"], "n": stats["n"]}


@dataclass(frozen=True)
class Decomposition:
    """The ``2**k`` modes' values, replication by replication, and the contrasts between them.

    Attributes
    ----------
    levers:
        The varied levers, in :data:`LEVERS` order; the rest, and the closed loop, are held at the
        first mode's value (``fixed``).
    corners:
        Mode names of the corners, in standard order (see :func:`corner_modes`).
    values:
        Metric -> array (replications x corners) of one run's value (NaN where there is none).
    """

    scenario: str
    low: str
    high: str
    levers: tuple[str, ...]
    fixed: dict
    corners: tuple[str, ...]
    metrics: tuple[str, ...]
    values: dict[str, np.ndarray] = field(repr=False)
    seed: int
    replications: int
    confidence: float = CONFIDENCE
    lever_values: dict = field(default_factory=dict, repr=False)

    def _rows(self, metric: str) -> np.ndarray:
        """Replications with a value in every corner."""
        values = self.values[metric]
        return values[~np.isnan(values).any(axis=1)]

    def effects(self, metric: str) -> list[dict]:
        """Main effects and interactions of the factorial design, with t-intervals."""
        k, rows = len(self.levers), self._rows(metric)
        out = []
        for term, per_rep in _effects(rows, k).items():
            names = [self.levers[i] for i in term]
            kind = "main effect" if len(term) == 1 else f"{len(term)}-way interaction"
            out.append(
                {"term": " x ".join(names), "levers": names, "kind": kind, **_interval(per_rep, self.confidence)}
            )
        return out

    def shares(self, metric: str) -> list[dict]:
        """Per lever: Shapley share, change when switched alone and when switched last, with intervals.

        ``context_min``/``context_max`` are the smallest and largest mean change of the lever over
        every set of other levers already on: how much its worth depends on what else is done.
        """
        k, rows = len(self.levers), self._rows(metric)
        last = 2**k - 1
        out = []
        for i, lever in enumerate(self.levers):
            changes = _marginals(rows, k, i)
            means = [float(np.mean(c)) for c in changes.values()] if len(rows) else []
            out.append(
                {
                    "lever": lever,
                    "shapley": _interval(_shapley(rows, k, i), self.confidence),
                    "alone": _interval(changes[0], self.confidence),
                    "last": _interval(changes[last ^ 1 << i], self.confidence),
                    "context_min": min(means, default=None),
                    "context_max": max(means, default=None),
                }
            )
        return out

    def ends(self, metric: str) -> dict:
        """The first and last modes' values and the total change, with intervals."""
        rows = self._rows(metric)
        first, last = (rows[:, 0], rows[:, -1]) if len(rows) else (np.array([]), np.array([]))
        return {
            "from": _interval(first, self.confidence),
            "to": _interval(last, self.confidence),
            "change": _interval(last - first, self.confidence),
        }

    def corner_means(self, metric: str) -> dict[str, dict]:
        """Each corner's mean over replications, with its t-interval."""
        return {name: _interval(self.values[metric][:, j], self.confidence) for j, name in enumerate(self.corners)}

    def metric_table(self, metric: str) -> dict:
        """Everything about one metric: ends, shares, effects and corners (what ``as_dict`` holds per metric)."""
        return {
            "metric": metric,
            "confidence": self.confidence,
            "low": self.low,
            "high": self.high,
            "replications_used": len(self._rows(metric)),
            **self.ends(metric),
            "shares": self.shares(metric),
            "effects": self.effects(metric),
            "corners": self.corner_means(metric),
        }

    def as_dict(self) -> dict:
        """The decomposition as plain data (``decompose.json``)."""
        return {
            "scenario": self.scenario,
            "from": self.low,
            "to": self.high,
            "levers": list(self.levers),
            "fixed": self.fixed,
            "lever_values": {
                k: [list(v) if isinstance(v, tuple) else v for v in pair] for k, pair in self.lever_values.items()
            },
            "leave_probability": "carried by the information lever: the first mode's value under referral, the last mode's with the shared channel",
            "seed": self.seed,
            "replications": self.replications,
            "confidence": self.confidence,
            "intervals": "t-intervals over replications of per-replication contrasts (common random numbers)",
            "metrics": {m: self.metric_table(m) for m in self.metrics},
        }


# --------------------------------------------------------------------------- running it


def _check_metrics(scenario: Scenario, metrics: Sequence[str]) -> None:
    known = metric_paths([t.name for t in scenario.incident_types], [d.name for d in scenario.departments])
    unknown = [m for m in metrics if m not in known]
    if unknown:
        hint = "e.g. response_min.median, response_min.p90, by_type.<type>.response_min.median"
        raise ScenarioError([Problem("--metrics", None, "", f"unknown metric '{m}'; {hint}") for m in unknown])


def _lever_scenario(scenario: Scenario, modes: dict[str, ModeSpec]) -> dict:
    """The scenario as data with its modes replaced by the corner modes (validated)."""
    data = scenario.model_dump(mode="json")
    data["governance"]["modes"] = {
        name: spec.model_dump(mode="json", exclude_none=True) for name, spec in modes.items()
    }
    scenario_from_dict(data, source=f"{scenario.name} (lever modes)")
    return data


def _run_corners(
    data: dict, corners: Sequence[str], metrics: Sequence[str], seed: int, replications: int, pool
) -> dict[str, np.ndarray]:
    tasks = [
        RunTask(
            scenario=data,
            overrides=(),
            parameters={},
            point=0,
            mode=m,
            replication=r,
            seed=seed,
            metrics=tuple(metrics),
        )
        for r in range(replications)
        for m in corners
    ]
    rows = dict(pool.imap(run_task, tasks))
    failed = [rows[i] for i in range(len(tasks)) if rows[i]["error"]]
    if failed:
        message = f"{len(failed)} run(s) failed; the first, mode {failed[0]['mode']} replication {failed[0]['replication']}: {failed[0]['error']}"
        raise ScenarioError([Problem("decompose", None, "", message)])
    values = {}
    for metric in metrics:
        flat = [math.nan if rows[i][metric] is None else rows[i][metric] for i in range(len(tasks))]
        values[metric] = np.array(flat, dtype=float).reshape(replications, len(corners))
    return values


def decompose(
    scenario: Scenario,
    metrics: Sequence[str] = DEFAULT_METRICS,
    replications: int = 5,
    seed: int | None = None,
    low: str = "fragmented",
    high: str = "unified",
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    confidence: float = CONFIDENCE,
) -> Decomposition:
    """Run the full factorial over the levers that differ between modes *low* and *high*.

    Parameters
    ----------
    scenario:
        A validated scenario; its own modes are replaced by the ``2**k`` lever modes.
    metrics:
        Dotted metric paths (:func:`sim.stats.metrics.metric_value`), one value per run.
    replications:
        Replications per mode; every mode of replication ``r`` faces the same incidents.
    low, high:
        The modes to go from and to (the scenario's, or a preset).
    backend, workers, scheduler:
        Where the runs execute (:func:`sim.experiments.backends.open_backend`).

    Raises
    ------
    ScenarioError
        For an unknown mode or metric, fewer than 2 replications, or no lever that differs.
    """
    if replications < 2:
        raise ScenarioError(
            [
                Problem(
                    "--replications",
                    None,
                    "",
                    f"expected at least 2 (intervals need two replications); got {replications}",
                )
            ]
        )
    _check_metrics(scenario, metrics)
    varied, modes = corner_modes(scenario, low, high)
    if not varied:
        message = f"modes '{low}' and '{high}' set every lever alike (the closed loop is not a lever here); nothing to decompose"
        raise ScenarioError([Problem("--from/--to", None, "", message)])
    values = lever_values(scenario, low, high)
    data = _lever_scenario(scenario, modes)
    base = scenario.seed if seed is None else seed
    with open_backend(backend, workers, scheduler) as pool:
        table = _run_corners(data, list(modes), metrics, base, replications, pool)
    fixed = {lever: values[lever][0] for lever in LEVERS if lever not in varied}
    fixed["closed_loop"] = _mode(scenario, low).closed_loop
    return Decomposition(
        scenario=scenario.name,
        low=low,
        high=high,
        levers=varied,
        fixed=fixed,
        corners=tuple(modes),
        metrics=tuple(metrics),
        values=table,
        seed=base,
        replications=replications,
        confidence=confidence,
        lever_values=values,
    )
