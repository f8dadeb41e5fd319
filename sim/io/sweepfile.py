"""Sweep files: one base scenario, the parameters to vary, the modes, and how many replications.

A sweep file is YAML, read like a scenario (safe, with line numbers), and checked just as
strictly: every problem names the file, the line, the key path and what was expected. ::

    name: team_size
    scenario: ../classroom.yaml          # relative to this file (or the scenario itself, inline)
    set: [days=3]                        # overrides applied to the base first, as with --set
    parameters:                          # key paths exactly as --set takes them
      departments.sanitation.units: [1, 2, 3]                     # a list of values
      governance.referral.handover_min.mean: {from: 15, to: 60, step: 15}
    design: factorial                    # factorial (every combination), lhs or sobol
    modes: [fragmented, unified]         # default: every mode of the scenario
    replications: 5
    metrics: [response_min.median, within_target, share_over_60]   # summary paths or metric functions
    out: results/team_size

With ``design: lhs`` or ``design: sobol`` (:mod:`scipy.stats.qmc`), ``samples`` points are drawn
and a parameter may also be a continuous interval ``{low: 0.05, high: 0.5}`` (add
``integer: true`` or ``log: true``); a list is then a set of categories. ``stopping`` replicates
each point until the confidence interval of one metric is narrow enough (:class:`sim.stats.metrics.Precision`).

:func:`load_sweep` returns a :class:`Sweep`: the resolved scenario data, the expanded points
and a fingerprint (hash) of everything that determines the results, which a resumed sweep must
match: the design, the resolved scenario, the simulator version and the code (``code``: a hash of
the ``sim`` package and of every module that defines a plugged-in dispatch rule or metric,
:func:`sim.registry.code_fingerprint`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from sim.errors import Problem, ScenarioError, closest
from sim.io.loader import (
    _clean_loc,
    _given,
    _kinds_at,
    apply_overrides,
    check_size,
    read_yaml,
    scenario_from_dict,
    schema_problems,
)
from sim.io.provenance import provenance
from sim.io.results import folder_problem
from sim.registry import Plugin, PluginError, code_fingerprint, modules_of, names, resolve
from sim.scenario.governance import modes_of
from sim.stats.metrics import Precision, metric_paths
from sim.stats.plugins import find_metric
from sim.version import __version__

__all__ = ["DEFAULT_METRICS", "MAX_RUNS", "Sweep", "SweepSpec", "load_sweep", "override_text", "sweep_from_dict"]

DEFAULT_METRICS = (
    "response_min.mean",
    "response_min.median",
    "response_min.p90",
    "within_target",
    "resolution_min.median",
    "unresolved",
)
MAX_RUNS = 1_000_000
MAX_VALUES = 10_000
MAX_INTEGER = 2**53
RESERVED = ("seed",)
_PARAMETER_FORMS = "a list of values, {from, to, step}, {from, to, count} or (for lhs and sobol) {low, high}"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class StoppingSpec(_Spec):
    """Sequential stopping: replicate each point until its interval is narrow enough."""

    metric: str = Field(
        "response_min.mean", description="the metric whose interval must be narrow, e.g. response_min.mean"
    )
    relative_half_width: float = Field(
        gt=0, le=10, description="target half-width of the interval over |mean|, e.g. 0.05"
    )
    max_replications: int = Field(100, ge=2, le=100_000, description="stop here even if the target is not reached")
    batch: int = Field(1, ge=1, le=1000, description="replications added per step")
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence of the interval")


class SweepSpec(_Spec):
    """A sweep file, as written (before the scenario is read and the design expanded)."""

    name: str | None = Field(None, description="short name (default: the file name)")
    description: str = Field("", description="what the sweep asks")
    scenario: str | dict = Field(
        description="the base scenario: a path relative to the sweep file, or the scenario inline"
    )
    set: list[str] = Field([], description="key.path=value overrides applied to the base scenario first")
    parameters: dict[str, Any] = Field({}, description="key path -> values to vary")
    design: Literal["factorial", "lhs", "sobol"] = Field("factorial", description="how points are chosen")
    samples: int | None = Field(None, ge=1, le=MAX_RUNS, description="points to draw with lhs or sobol")
    modes: list[str] | None = Field(None, min_length=1, description="modes to run at every point (default: all)")
    replications: int = Field(
        1, ge=1, le=100_000, description="replications per point and mode (the minimum with stopping)"
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="base seed of the runs and of lhs/sobol (default: the scenario's)"
    )
    metrics: list[str] = Field(list(DEFAULT_METRICS), min_length=1, description="metrics kept per run, as dotted paths")
    out: str | None = Field(
        None, description="output folder, relative to where the command runs (default: results/NAME)"
    )
    stopping: StoppingSpec | None = Field(None, description="replicate until an interval is narrow enough")


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base scenario as data, the points, modes, replications and metrics.

    Attributes
    ----------
    scenario:
        The base scenario as plain data, with ``set`` applied; each point applies its own
        overrides to it (:meth:`overrides`).
    points:
        One mapping of key path -> value per point, in design order.
    """

    name: str
    source: str
    scenario_source: str
    scenario: dict = field(repr=False)
    resolved: dict = field(repr=False)
    parameters: tuple[str, ...]
    points: tuple[dict, ...] = field(repr=False)
    modes: tuple[str, ...]
    replications: int
    seed: int
    metrics: tuple[str, ...]
    out: Path
    design: str = "factorial"
    samples: int | None = None
    stopping: Precision | None = None
    description: str = ""
    integer_parameters: tuple[str, ...] = ()
    """The ``{low, high}`` parameters drawn as whole numbers (``integer: true``, or a whole-number field)."""
    code: dict = field(default_factory=dict)
    """Module -> SHA-256 of its source: ``sim`` and the modules of the plug-ins used (:func:`sim.registry.code_fingerprint`)."""

    def overrides(self, point: int | dict) -> tuple[str, ...]:
        """The ``key.path=value`` overrides of point number *point* (or of a mapping of values)."""
        values = self.points[point] if isinstance(point, int) else point
        return tuple(f"{path}={override_text(values[path])}" for path in self.parameters)

    @property
    def runs(self) -> int:
        """Runs of a sweep without stopping (the minimum with it)."""
        return len(self.points) * len(self.modes) * self.replications

    def design_record(self) -> dict:
        """Everything besides the scenario that determines the results (hashed for resume)."""
        return {
            "parameters": list(self.parameters),
            "design": self.design,
            "samples": self.samples,
            "points": [dict(p) for p in self.points],
            "modes": list(self.modes),
            "replications": self.replications,
            "seed": self.seed,
            "metrics": list(self.metrics),
            "stopping": None if self.stopping is None else self.stopping.as_dict(),
        }

    def fingerprint(self) -> dict:
        """``hash`` of everything that determines the results, and ``hashes`` of its parts.

        The parts are the design (``sweep``: points, modes, replications, seed, metrics,
        stopping), the resolved scenario (``scenario``: every value, defaults filled in) and the
        code (``code``: the source of ``sim`` and of the plug-ins' modules); the simulator
        version is part of ``hash`` too.
        """
        hashes = {"sweep": _hash(self.design_record()), "scenario": _hash(self.resolved), "code": _hash(self.code)}
        return {"hash": _hash([hashes["sweep"], hashes["scenario"], hashes["code"], __version__]), "hashes": hashes}

    def manifest(self) -> dict:
        """The content of ``sweep.json``: what was run, from what, its fingerprint, and its provenance.

        The ``provenance`` block (:func:`sim.io.provenance.provenance`) is not part of the fingerprint:
        it says who ran the sweep, where and when, which does not change what the sweep computes.
        """
        return {
            "format": 1,
            "name": self.name,
            "description": self.description,
            "sim_version": __version__,
            **self.fingerprint(),
            "source": self.source,
            "scenario_source": self.scenario_source,
            "code": dict(self.code),
            "sweep_spec": self.design_record(),
            "scenario": self.scenario,
            "provenance": provenance(self.seed),
        }


def _hash(data) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def override_text(value) -> str:
    """A value as ``--set`` reads it (YAML flow style, safe for text, numbers, lists and mappings)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


# --------------------------------------------------------------------------- loading


def load_sweep(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Sweep:
    """Read and validate a sweep file, its scenario, its parameters, modes and metrics.

    Parameters
    ----------
    path : str or os.PathLike
        The sweep YAML file.
    out : str or os.PathLike, optional
        Output folder, overriding the file's ``out``.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the file, line, key path and what was expected.
    """
    data, lines = read_yaml(path, "a YAML sweep file")
    return sweep_from_dict(
        data, source=str(path), lines=lines, base_dir=Path(path).parent, out=out, default_name=Path(path).stem
    )


def sweep_from_dict(
    data: Any,
    source: str = "<sweep>",
    lines: dict | None = None,
    base_dir: str | os.PathLike = ".",
    out: str | os.PathLike | None = None,
    default_name: str = "sweep",
) -> Sweep:
    """Validate plain data (as parsed from a sweep file) into a :class:`Sweep`; see :func:`load_sweep`.

    Parameters
    ----------
    data : Any
        The sweep as plain data.
    source : str
        What the data came from, for messages.
    lines : dict, optional
        Key path -> line number in *source*, for messages.
    base_dir : str or os.PathLike
        The folder a relative ``scenario:`` path is read from.
    out : str or os.PathLike, optional
        Output folder, overriding the data's ``out``.
    default_name : str
        The sweep's name when the data gives none.

    Returns
    -------
    Sweep
        The validated sweep: its points, modes, metrics and stopping rule.
    """
    lines = lines or {}
    check = _Checker(source, lines)
    if not isinstance(data, dict):
        got = "nothing" if data is None else type(data).__name__
        check.fail((), f"expected a sweep (a mapping with 'scenario:', 'parameters:', ...), got {got}")
    check_size(data, source, lines)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_validation_problems(err, check, data)) from None
    base, resolved, scenario_source = _base_scenario(spec, check, Path(base_dir))
    modes = _modes(spec, resolved, check)
    metrics, stopping = _metrics(spec, resolved, check)
    parameters = _parameters(spec, base, check)
    check.raise_any()
    points = _expand(spec, parameters, check, seed=spec.seed if spec.seed is not None else resolved.seed)
    check.raise_any()
    _check_size(spec, points, modes, check)
    check.raise_any()
    name = spec.name or default_name
    folder = Path(out if out is not None else spec.out or Path("results") / name)
    trouble = folder_problem(folder)
    if trouble and out is not None:
        raise ScenarioError([Problem("--out", None, "", trouble)])
    if trouble:
        check.fail(("out",), trouble)
    return Sweep(
        name=name,
        source=source,
        scenario_source=scenario_source,
        scenario=base,
        resolved=resolved.model_dump(mode="json"),
        parameters=tuple(parameters),
        points=tuple(points),
        modes=tuple(modes),
        replications=spec.replications,
        seed=spec.seed if spec.seed is not None else resolved.seed,
        metrics=tuple(metrics),
        out=folder,
        design=spec.design,
        samples=spec.samples,
        stopping=stopping,
        description=spec.description,
        integer_parameters=tuple(path for path, p in parameters.items() if p.low is not None and p.integer),
        code=code_fingerprint(modules_of(_plugins_used(resolved, parameters, metrics))),
    )


def _plugins_used(scenario, parameters: dict, metrics: list[str]) -> list[Plugin]:
    """The plug-ins a sweep uses: dispatch rules (its modes', its parameters' values), channel draws, metric functions."""
    rules = {spec.dispatch for spec in scenario.governance.modes.values() if spec.dispatch}
    for path, parameter in parameters.items():
        if path.split(".")[-1] == "dispatch":
            rules.update(v for v in parameter.values or () if isinstance(v, str))
    used = [resolve("dispatch_rules", rule) for rule in sorted(rules)]
    draws = {
        getattr(t.detection, c).draw for t in scenario.incident_types for c in ("grid_worker", "hotline", "camera")
    }
    used += [resolve("detection_channels", draw) for draw in sorted(d for d in draws if d)]
    found = (find_metric(metric) for metric in metrics)
    return used + [hit[0] for hit in found if hit is not None]


class _Checker:
    """Collects problems in a sweep file, each at the line of its key path."""

    def __init__(self, source: str, lines: dict):
        self.source, self.lines = source, lines
        self.problems: list[Problem] = []

    def line(self, path: tuple) -> int | None:
        return next((self.lines[path[:cut]] for cut in range(len(path), -1, -1) if path[:cut] in self.lines), None)

    def add(self, path: tuple, message: str, at: tuple | None = None) -> None:
        """A problem at key *path*, on the line of *at* (default *path*; a missing key is best shown near its kin)."""
        line = self.line(path if at is None else at)
        self.problems.append(Problem(self.source, line, ".".join(str(p) for p in path), message))

    def fail(self, path: tuple, message: str):
        self.add(path, message)
        self.raise_any()

    def raise_any(self) -> None:
        if self.problems:  # in the order of the file's lines, as they are read
            raise ScenarioError(sorted(self.problems, key=lambda p: (p.line is None, p.line or 0)))


# --------------------------------------------------------------------------- messages


_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "bool_type": "true or false",
}


def _validation_problems(err: ValidationError, check: _Checker, data: dict) -> list[Problem]:
    """One problem per pydantic error, in plain words, at the line of its key."""
    seen = set()
    for error in err.errors(include_url=False):
        path = _clean_loc(error["loc"], data, keep_last=error["type"] in ("extra_forbidden", "missing"))
        message = _message(error, path)
        if (path, message) not in seen:
            seen.add((path, message))
            check.add(path, message)
    return sorted(check.problems, key=lambda p: (p.line is None, p.line or 0))


def _message(error: ErrorDetails, path: tuple) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden" and path:
        allowed = (StoppingSpec if path[:1] == ("stopping",) else SweepSpec).model_fields
        return _unknown(str(path[-1]), list(allowed), "key")
    if kind == "missing" and path:
        model = StoppingSpec if path[:1] == ("stopping",) else SweepSpec
        described = model.model_fields[path[-1]].description if path[-1] in model.model_fields else ""
        return f"required key '{path[-1]}' is missing" + (f" ({described})" if described else "")
    bounds = {
        "greater_than": "more than {gt}",
        "greater_than_equal": "{ge} or more",
        "less_than": "less than {lt}",
        "less_than_equal": "{le} or less",
        "too_short": "at least {min_length} item(s)",
    }
    if kind in bounds:
        ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}
        expected = "a number of " + bounds[kind].format(**ctx) if "length" not in kind else bounds[kind].format(**ctx)
        given = error.get("input")
        if isinstance(given, float) and not math.isfinite(given):
            expected = expected.replace("a number", "a finite number", 1)
    elif kind == "literal_error":
        expected = "one of " + ctx["expected"]
        close = closest(str(error["input"]), [o.strip("'") for o in ctx["expected"].replace(" or ", ", ").split(", ")])
        if close:
            return f"expected {expected}; got {_given(error['input'])}; did you mean '{close}'?"
    else:
        expected = _WORDS.get(kind, error["msg"].removeprefix("Input should be "))
    if path and path[0] == "scenario" and kind in ("string_type", "dict_type"):
        expected = "a path to a scenario file (relative to the sweep file) or the scenario itself"
    return f"expected {expected}; got {_given(error.get('input'))}"


def _unknown(name: str, known, kind: str) -> str:
    close = closest(name, known)
    if close:
        return f"unknown {kind} '{name}'; did you mean '{close}'?"
    return f"unknown {kind} '{name}'; expected one of: {', '.join(known)}"


# --------------------------------------------------------------------------- checks


def _base_scenario(spec: SweepSpec, check: _Checker, base_dir: Path):
    """The base scenario's data (``set`` applied), the validated scenario, and where it came from."""
    if isinstance(spec.scenario, dict):
        data, source = spec.scenario, f"{check.source} (scenario)"
        lines: dict = {}
    else:
        path = base_dir / spec.scenario
        if not spec.scenario.strip():
            check.fail(("scenario",), "an empty path; expected a path to a scenario file (relative to the sweep file)")
        if _exists(path) and not _is_file(path) and path.is_dir():  # named in the sweep file, where it was written
            check.fail(
                ("scenario",),
                f"{path} is a folder (the path is relative to the sweep file); expected a YAML scenario file",
            )
        if not _exists(path):
            message = (
                f"no scenario file at {path} (the path is relative to the sweep file); expected a YAML scenario file"
            )
            check.fail(("scenario",), message + _file_hint(path, Path(check.source)))
        data, lines = read_yaml(path)
        source = str(path)
    for i, text in enumerate(spec.set):
        try:
            apply_overrides(data if isinstance(data, dict) else {}, [text])
        except ScenarioError as err:
            for problem in err.problems:
                check.add(("set", i), f"{problem.path}: {problem.message}" if problem.path else problem.message)
    check.raise_any()
    try:
        scenario = scenario_from_dict(data, source=source, lines=lines, overrides=spec.set)
    except ScenarioError as err:
        raise ScenarioError([_from_set(p, check) for p in err.problems]) from None
    base, _ = apply_overrides(data, spec.set)
    return base, scenario, source


def _exists(path: Path) -> bool:
    """Whether something is at *path* (a file, or a pipe or folder that reading then refuses)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    """Whether *path* is a file (False for a name too long, a NUL byte, a folder one may not enter)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _file_hint(path: Path, sweep_file: Path) -> str:
    """``; did you mean 'town.yaml'?`` when a YAML file beside *path* (not the sweep file) has a similar name."""
    try:
        files = {p.stem: p.name for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()}
        files.pop(sweep_file.stem, None) if sweep_file.parent.resolve() == path.parent.resolve() else None
    except (OSError, ValueError):
        return ""
    close = closest(path.stem, files)
    return f"; did you mean '{path.with_name(files[close])}'?" if close else ""


def _from_set(problem: Problem, check: _Checker) -> Problem:
    """A scenario problem caused by the sweep's ``set`` points at the sweep file's ``set``."""
    if problem.source != "--set":
        return problem
    return Problem(
        check.source, check.line(("set",)), f"set: {problem.path}" if problem.path else "set", problem.message
    )


def _modes(spec: SweepSpec, scenario, check: _Checker) -> list[str]:
    defined = list(modes_of(scenario))
    if spec.modes is None:
        return defined
    for i, mode in enumerate(spec.modes):
        if mode not in defined:
            check.add(
                ("modes", i),
                _unknown(mode, defined, "mode") + " (modes are defined in the scenario's governance.modes)",
            )
    if len(set(spec.modes)) != len(spec.modes):
        check.add(("modes",), "a mode is listed twice; expected each mode once")
    return list(spec.modes)


def _metrics(spec: SweepSpec, scenario, check: _Checker) -> tuple[list[str], Precision | None]:
    known = metric_paths([t.name for t in scenario.incident_types], [d.name for d in scenario.departments])
    metrics = list(dict.fromkeys(spec.metrics))
    for i, metric in enumerate(spec.metrics):
        problem = _metric_problem(metric, known)
        if problem:
            check.add(("metrics", i), problem)
    if spec.stopping is None:
        return metrics, None
    problem = _metric_problem(spec.stopping.metric, known)
    if problem:
        check.add(("stopping", "metric"), problem)
    elif spec.stopping.metric not in metrics:
        metrics.append(spec.stopping.metric)
    if spec.stopping.max_replications < spec.replications:
        check.add(
            ("stopping", "max_replications"),
            f"expected at least replications ({spec.replications}); got {spec.stopping.max_replications}",
        )
    if spec.replications < 2:
        check.add(
            ("replications",),
            "with stopping, expected at least 2 (replications are added until the interval, from 3, is narrow enough); got 1",
        )
    stopping = Precision(**spec.stopping.model_dump())
    return metrics, stopping


def _metric_problem(metric: str, known: list[str]) -> str | None:
    """Why *metric* is neither a path into the summary nor a metric function (:mod:`sim.stats.plugins`), or None."""
    if metric in known:
        return None
    try:
        if find_metric(metric) is not None:
            return None
    except PluginError as err:
        return str(err)
    return _metric_message(metric, [*known, *names("metrics")])


def _metric_message(metric: str, known: list[str]) -> str:
    close = closest(metric, known, cutoff=0.5)
    hint = (
        f"did you mean '{close}'?"
        if close
        else "e.g. response_min.median, within_target, by_type.<type>.response_min.p90, share_over_60, "
        "or a function 'module:function'"
    )
    return f"unknown metric '{metric}'; {hint}"


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _Parameter:
    """One varied key path: a list of values, or a continuous interval (lhs and sobol only)."""

    path: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a parameter drawn from a range (one without a list of values)."""
        assert self.low is not None and self.high is not None, "a parameter with values has no range"
        return self.low, self.high

    def at(self, u: float):
        """The value at the unit coordinate *u* in [0, 1) of a space-filling design."""
        if self.values:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        lo, hi = self.bounds
        if self.integer:
            low, high = math.ceil(lo), math.floor(hi)
            if self.log:
                return int(min(high, max(low, round(math.exp(math.log(low) + u * (math.log(high) - math.log(low)))))))
            return int(min(high, low + int(u * (high - low + 1))))
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if self.log else lo + u * (hi - lo)
        return float(f"{value:.6g}")


def _parameters(spec: SweepSpec, base: dict, check: _Checker) -> dict[str, _Parameter]:
    out = {}
    fields: dict[tuple, str] = {}  # the field each parameter sets (real keys and indices) -> its key path as written
    for path, raw in spec.parameters.items():
        where = ("parameters", path)
        if path.strip() in RESERVED:
            check.add(
                where,
                f"'{path}' cannot be varied: runs are seeded by the sweep's seed and replications; expected a scenario key path",
            )
            continue
        parameter = _parameter(path, raw, spec.design, where, check)
        if parameter is None:
            continue
        probe = parameter.values[0] if parameter.values else parameter.low
        try:
            _, (field_path,) = apply_overrides(base, [f"{path}={override_text(probe)}"])
        except ScenarioError as err:
            check.add(where, err.problems[0].message)
            continue
        same = next((other for known, other in fields.items() if _overlap(known, field_path)), None)
        if same is not None:
            check.add(
                where,
                (
                    f"sets the same field as '{same}' (line {check.line(('parameters', same))}): "
                    f"{'.'.join(map(str, field_path))}; expected each field once (a list item may be named or numbered, not both)"
                ),
            )
            continue
        fields[field_path] = path
        if parameter.low is not None and _whole_number_field(field_path):
            if raw.get("integer") is False:
                check.add(
                    where + ("integer",),
                    "this field takes whole numbers only; expected integer: true (or leave it out)",
                )
                continue
            parameter = dataclasses.replace(parameter, integer=True)  # drawn as whole numbers, as integer: true does
            low, high = parameter.bounds
            if math.ceil(low) > math.floor(high):
                check.add(
                    where,
                    f"this field takes whole numbers only, and none lies between low {raw['low']} and high {raw['high']}",
                )
                continue
        refused = _refused_value(base, path, parameter)
        if refused:
            check.add(where, refused)
            continue
        out[path] = parameter
    return out


def _overlap(a: tuple, b: tuple) -> bool:
    """Whether two fields are one, or one holds the other."""
    return a[: len(b)] == b or b[: len(a)] == a


def _whole_number_field(field_path: tuple) -> bool:
    """Whether the scenario field at *field_path* takes whole numbers only (units, steps, priorities)."""
    kinds = _kinds_at(field_path)
    return bool(kinds) and all(kind is int for kind in kinds)


def _refused_value(base: dict, path: str, parameter: _Parameter) -> str | None:
    """The first value of *parameter* (or end of its interval) that the scenario schema refuses, said why.

    Each value is judged alone against the base scenario (types, ranges, names). Checks across
    fields, such as a warm-up shorter than the horizon, wait for the run, when the values of the
    other parameters are known.
    """
    ends = (parameter.at(0.0), parameter.at(math.nextafter(1.0, 0.0)))
    for text in dict.fromkeys(map(override_text, parameter.values or ends)):
        problems = schema_problems(base, [f"{path}={text}"])
        if problems:
            problem = problems[0]
            elsewhere = f"{problem.path}: " if problem.path and problem.path != path else ""
            return f"the value {text} is not allowed: {elsewhere}{problem.message}"
    return None


def _parameter(path: str, raw, design: str, where: tuple, check: _Checker) -> _Parameter | None:
    """Read one parameter's values; None (and a problem) if they make no sense."""
    if isinstance(raw, list):
        if not raw:
            check.add(where, f"an empty list; expected {_PARAMETER_FORMS}")
            return None
        return _Parameter(path, values=tuple(raw))
    if not isinstance(raw, dict):
        check.add(where, f"expected {_PARAMETER_FORMS}; got {_given(raw)}")
        return None
    keys = set(raw)
    if keys >= {"low", "high"} and keys <= {"low", "high", "integer", "log"}:
        return _interval(path, raw, design, where, check)
    if keys in ({"from", "to", "step"}, {"from", "to", "count"}):
        values = _steps(raw, where, check)
        return _Parameter(path, values=values) if values else None
    known = ("from", "to", "step", "count", "low", "high", "integer", "log")
    typos = [
        f"; did you mean '{close}' for '{key}'?"
        for key in sorted(map(str, keys))
        if key not in known
        for close in [closest(key, known)]
        if close
    ]
    check.add(
        where,
        f"expected {_PARAMETER_FORMS}; got a mapping with {', '.join(sorted(map(str, keys))) or 'no keys'}"
        + "".join(typos[:1]),
    )
    return None


def _is_number(value) -> bool:
    """A finite int or float (not true/false; not a whole number too large to be a float)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _steps(raw: dict, where: tuple, check: _Checker) -> tuple:
    """The values of ``{from, to, step}`` (both ends included) or ``{from, to, count}`` (evenly spaced)."""
    start, stop = raw["from"], raw["to"]
    other: Any = raw.get("step", raw.get("count"))  # a number once checked below
    if not all(_is_number(v) for v in (start, stop, other)):
        check.add(where, f"expected numbers for from, to and {'step' if 'step' in raw else 'count'}; got {_given(raw)}")
        return ()
    if "count" in raw:
        if not isinstance(other, int) or not 1 <= other <= MAX_VALUES:
            check.add(where + ("count",), f"expected a whole number from 1 to {MAX_VALUES:,}; got {_given(other)}")
            return ()
        values: np.ndarray | list[Any] = (
            np.linspace(float(start), float(stop), other) if other > 1 else np.array([float(start)])
        )
    else:
        if other <= 0 or stop < start:
            check.add(where, f"expected step > 0 and to >= from; got from {start}, to {stop}, step {other}")
            return ()
        count = (stop - start) / other
        n = math.floor(count + 1e-9) + 1 if math.isfinite(count) else math.inf
        if n > MAX_VALUES:
            gives = f"{n:,}" if math.isfinite(n) else "more than can be counted"
            check.add(where, f"expected at most {MAX_VALUES:,} values; this gives {gives}")
            return ()
        values = [start + other * k for k in range(int(n))]  # in Python numbers: exact for whole numbers of any size
        if all(isinstance(v, int) for v in (start, stop, other)):
            return tuple(values)
    if all(isinstance(v, int) for v in (start, stop, other)) and np.allclose(values, np.round(values)):
        return tuple(round(float(v)) for v in values)
    return tuple(float(f"{v:.12g}") for v in values)


def _interval(path: str, raw: dict, design: str, where: tuple, check: _Checker) -> _Parameter | None:
    low, high = raw["low"], raw["high"]
    if design == "factorial":
        check.add(
            where,
            "{low, high} is a continuous interval: expected design lhs or sobol, or a list or {from, to, step} here",
        )
        return None
    if not (_is_number(low) and _is_number(high)) or not low < high:
        check.add(where, f"expected numbers with low < high; got low {_given(low)}, high {_given(high)}")
        return None
    if not math.isfinite(high - low):
        check.add(where, f"expected an interval narrower than {sys.float_info.max:.1e}; got low {low}, high {high}")
        return None
    flags = {k: raw.get(k, False) for k in ("integer", "log")}
    for key, flag in flags.items():
        if not isinstance(flag, bool):
            check.add(where + (key,), f"expected true or false; got {_given(flag)}")
            return None
    if flags["log"] and low <= 0:
        check.add(where, f"log: true needs low > 0; got low {low}")
        return None
    if flags["integer"] and max(abs(low), abs(high)) > MAX_INTEGER:
        check.add(
            where,
            f"integer: true needs low and high between -{MAX_INTEGER:,} and {MAX_INTEGER:,}; got low {low}, high {high}",
        )
        return None
    if flags["integer"] and math.ceil(low) > math.floor(high):
        check.add(where, f"integer: true needs a whole number between low and high; got low {low}, high {high}")
        return None
    return _Parameter(path, low=float(low), high=float(high), **flags)


def _expand(spec: SweepSpec, parameters: dict[str, _Parameter], check: _Checker, seed: int) -> list[dict]:
    """The points of the design, each a mapping of key path -> value."""
    if spec.design == "factorial":
        if spec.samples is not None:
            check.add(("samples",), "samples is for design lhs or sobol; a factorial design runs every combination")
            return []
        points = math.prod(len(p.values) for p in parameters.values())
        if points > MAX_RUNS:  # refuse before listing them: ten lists of ten values are ten billion points
            sizes = " x ".join(f"{len(p.values):,}" for p in parameters.values())
            check.add(("parameters",), f"{sizes} values = {points:,} points; expected at most {MAX_RUNS:,} runs in all")
            return []
        combos = itertools.product(*(p.values for p in parameters.values()))
        return [dict(zip(parameters, combo)) for combo in combos]
    if not parameters:
        check.add(("parameters",), f"design {spec.design} needs at least one parameter to vary")
        return []
    if spec.samples is None:
        check.add(
            ("samples",),
            f"required key 'samples' is missing (the number of points design {spec.design} draws)",
            at=("design",),
        )
        return []
    if spec.design == "sobol" and spec.samples & (spec.samples - 1):
        lower = 1 << (spec.samples.bit_length() - 1)
        check.add(("samples",), f"a Sobol sample needs a power of 2 (e.g. {lower} or {lower * 2}); got {spec.samples}")
        return []
    from scipy.stats import qmc  # loaded only for a sampled design: scipy.stats takes about a second to import

    engine = (qmc.LatinHypercube if spec.design == "lhs" else qmc.Sobol)(
        d=len(parameters), rng=np.random.default_rng(seed)
    )
    units = engine.random(spec.samples)
    return [{path: p.at(float(u)) for (path, p), u in zip(parameters.items(), row)} for row in units]


def _check_size(spec: SweepSpec, points: list, modes: list, check: _Checker) -> None:
    limit = spec.stopping.max_replications if spec.stopping else spec.replications
    runs = len(points) * len(modes) * limit
    if runs > MAX_RUNS:
        check.add(
            ("parameters",),
            f"{len(points):,} points x {len(modes)} modes x {limit:,} replications = {runs:,} runs; expected at most {MAX_RUNS:,}",
        )


# --------------------------------------------------------------------------- results as DataFrames


SUMMARY_STATS = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "p_value")
"""The statistics of each metric in a sweep's ``summary`` table."""


def column_types(metrics: Sequence[str], table: str) -> dict[str, str]:
    """The fixed type of each column of a sweep table whose type does not depend on its values.

    ``"string"``, ``"int64"`` or ``"float64"``, by column name, for the ``runs`` or ``summary`` table of
    a sweep with these *metrics*; a parameter's column is left out (its type is its values'). ``error``
    and ``vs`` are text even when every cell is empty, and a metric is a float even when every run
    failed, so a table's schema is the same whatever happened.
    """
    if table == "runs":
        fixed = {"point": "int64", "mode": "string", "replication": "int64", "seed": "int64", "error": "string"}
        return {**fixed, **dict.fromkeys(metrics, "float64"), "runtime_s": "float64"}
    fixed = {"point": "int64", "mode": "string", "replications": "int64", "failed": "int64", "vs": "string"}
    return {**fixed, **{f"{m}.{s}": "float64" for m in metrics for s in SUMMARY_STATS}}


def sweep_frame(columns: dict[str, list], types: dict[str, str], metrics: Sequence[str], long: bool = False):
    """A sweep table (a dict of columns) as a pandas DataFrame, typed by *types*.

    With *long*, one row per metric of each row: the metric columns become ``metric`` and ``value``.
    """
    from sim.engine.frames import require_pandas

    frame = require_pandas().DataFrame(columns)
    for column, kind in types.items():
        if column in frame:
            frame[column] = frame[column].astype(kind)
    if not long:
        return frame
    keep = [c for c in frame.columns if c not in metrics]
    melted = frame.melt(
        id_vars=keep, value_vars=list(metrics), var_name="metric", value_name="value", ignore_index=False
    )
    return melted.sort_index(kind="stable").reset_index(drop=True)


def load_sweep_results(folder: str | os.PathLike, table: str = "runs", long: bool = False):
    """The results of a sweep run into *folder* as one pandas DataFrame.

    Parameters
    ----------
    folder : str or os.PathLike
        The sweep's ``--out`` folder (with ``sweep.json`` and the tables).
    table : {"runs", "summary"}
        ``runs``: one row per point × mode × replication; ``summary``: one row per point × mode.
    long : bool
        With ``table="runs"``, one row per point × mode × replication × metric (``metric``, ``value``).

    Returns
    -------
    pandas.DataFrame
        Read from ``TABLE.parquet`` when pyarrow is installed and the file is there, else from
        ``TABLE.csv``; both carry the same values, typed alike.

    Raises
    ------
    ScenarioError
        If the folder holds no sweep's tables.
    """
    if table not in ("runs", "summary"):
        raise ValueError(f"table is {table!r}; expected 'runs' or 'summary'")
    folder = Path(folder)
    try:
        spec = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["sweep_spec"]
        metrics = list(spec["metrics"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ScenarioError([Problem(str(folder), None, "", f"no sweep's results here ({err})")]) from None
    types = column_types(metrics, table)
    columns = _parquet_columns(folder / f"{table}.parquet")
    if columns is None:
        columns = _csv_columns(folder / f"{table}.csv", types)
    return sweep_frame(columns, types, metrics, long)


def _parquet_columns(path: Path) -> dict[str, list] | None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    return pq.read_table(path).to_pydict() if path.is_file() else None


def _csv_columns(path: Path, types: dict[str, str]) -> dict[str, list]:
    """A sweep table's CSV as columns: empty cells None, typed columns by type, others numbers where they all are."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as err:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read the sweep's table ({err.strerror})")]) from None
    header, body = rows[0], rows[1:]
    columns = {}
    for index, name in enumerate(header):
        cells = [row[index] if row[index] != "" else None for row in body]
        columns[name] = _typed(cells, types.get(name))
    return columns


def _typed(cells: list, kind: str | None) -> list:
    if kind == "string":
        return cells
    if kind == "int64":
        return [None if c is None else int(c) for c in cells]
    if kind == "float64":
        return [None if c is None else float(c) for c in cells]
    for convert in (int, float):
        try:
            return [None if c is None else convert(c) for c in cells]
        except ValueError:
            continue
    return cells
