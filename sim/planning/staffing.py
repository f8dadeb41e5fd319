"""How many units: the smallest team that meets a target, found by simulation that respects noise.

A planner's question -- "how many units does the unified team need so that p90 response is at
most 30 minutes?" -- is a search over unit counts in which each answer is a noisy estimate.
At each count tried, replications are added until the t-interval (over replications) of the
metric lies entirely on one side of the target: *met* or *not met*; if it still straddles the
target at the most replications allowed, the count is *undecided*, and the search treats it as
not shown to meet the target (the answer is the smallest count shown to meet it). Every count
uses the same replication seeds (common random numbers), so neighbouring counts differ by the
units alone.

The search assumes more units never make the metric worse. From the scenario's own count it
steps up (1, 2, 4, ... units more) until the target is met, or down until it is not, then
bisects between the largest count that fails and the smallest that meets it.

**What is scaled.** The units of one department, or of a set of departments scaled together
(by default the departments pooled into the mode's team). A set's total is shared out in the
proportions of the scenario's units (Sainte-Laguë, one unit at a time, so that a larger total
never takes a unit from any department; at the scenario's total each department has its own
count). Only the units change: shift windows are a pattern that a department's units scale (the
scenario's one rule, :meth:`sim.scenario.schema.Department.shift_windows`), so a count tried here
runs exactly as the same count set with ``--set`` or in a sweep. For one department's answer with
the team's other departments fixed, name that department alone.

**A centre.** With ``centre=True`` the search is over the command centre's operators
(``governance.instant.operators``; their shift is a pattern the count scales, as a department's)
instead of a department's units. The centre must be staffed in the scenario (a number to start
from) and the mode must go through it (the shared channel, or the closed loop).

**Targets** read ``METRIC OP NUMBER`` with OP one of ``<=, <, >=, >``. METRIC is a dotted path
as in sweeps (``response_min.p90``, ``by_type.garbage_overflow.response_min.median``,
``within_target``, ``utilisation.enforcement``) or words: ``p90 response``, ``median response of
garbage_overflow``, ``mean resolution``, ``within target``, ``utilisation of sanitation``. A time
may end in ``min`` or ``h``; a share may be a percentage. The metric of a replication is that
run's statistic (e.g. the p90 of its incidents); the interval is on its mean over replications.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sim.errors import Problem, ScenarioError, closest, did_you_mean
from sim.experiments.backends import open_backend
from sim.experiments.runs import RunTask, run_task
from sim.scenario.governance import modes_of
from sim.scenario.schema import Scenario
from sim.stats.metrics import CONFIDENCE, describe, metric_paths

__all__ = [
    "Rule",
    "StaffingResult",
    "Target",
    "Trial",
    "allocate",
    "parse_target",
    "smallest_units",
    "staff",
    "staffed_scenario",
    "team_of",
    "CENTRE_OPERATORS",
]

CENTRE_OPERATORS = "centre.operators"
"""The name of the centre's operators in a staffing allocation (not a possible department name)."""

MET, NOT_MET, UNDECIDED = "met", "not met", "undecided"
_OPS = ("<=", ">=", "<", ">")
_STATS = ("mean", "median", "p90", "p95")


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A target on one metric: ``metric op value`` (``<=`` and ``<`` are read alike, as are ``>=`` and ``>``)."""

    metric: str
    op: str
    value: float
    text: str = ""

    @property
    def lower_is_better(self) -> bool:
        """Whether the target is an upper bound (a time), not a lower one (a share reached)."""
        return self.op.startswith("<")

    def verdict(self, low: float | None, high: float | None) -> str:
        """``met``, ``not met`` or ``undecided`` from the metric's interval."""
        if low is None or high is None:
            return UNDECIDED
        if self.lower_is_better:
            return MET if high <= self.value else NOT_MET if low > self.value else UNDECIDED
        return MET if low >= self.value else NOT_MET if high < self.value else UNDECIDED

    def __str__(self) -> str:
        """The target as written: ``p90 response <= 30``."""
        return f"{self.metric} {self.op} {self.value:g}"


def _target_error(text: str, message: str) -> ScenarioError:
    return ScenarioError([Problem("--target", None, "", f"{message}; got {text!r}")])


def _number(text: str, target_text: str) -> tuple[float, str]:
    """The number and its unit (``min``, ``h``, ``%`` or none)."""
    match = re.fullmatch(r"\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*(min|minutes|h|hours|%)?\s*", text)
    if not match:
        raise _target_error(target_text, "expected a number after the operator, e.g. 30, 30 min, 0.5 h or 90%")
    value = float(match.group(1))
    unit = match.group(2) or ""
    return (value * 60 if unit.startswith("h") else value / 100 if unit == "%" else value), unit


_WORDS = re.compile(
    r"(?:(?P<stat>mean|median|p90|p95)\s+)?(?P<kind>response|resolution)(?:\s+time)?"
    r"(?:\s+(?:of|for)\s+(?P<type>[A-Za-z_][\w\-]*))?(?:\s+(?P<stat2>mean|median|p90|p95))?"
)


def _metric_path(words: str) -> str:
    """A metric named in words (or already a dotted path) as a dotted path."""
    words = " ".join(words.split())
    match = _WORDS.fullmatch(words)
    if match:
        stat = match.group("stat") or match.group("stat2") or "mean"
        path = f"{match.group('kind')}_min.{stat}"
        return f"by_type.{match.group('type')}.{path}" if match.group("type") else path
    if words.replace("_", " ") in ("within target", "share within target"):
        return "within_target"
    match = re.fullmatch(r"utili[sz]ation\s+(?:of\s+)?([A-Za-z_][\w\-]*)", words)
    if match:
        return f"utilisation.{match.group(1)}"
    return words.replace(" ", "")


def parse_target(text: str, scenario: Scenario) -> Target:
    """Read a target such as ``"p90 response <= 30"`` or ``"response_min.p90 <= 30"``.

    Raises
    ------
    ScenarioError
        If there is no operator, the number is missing, or the metric is unknown.
    """
    op = next((o for o in _OPS if o in text), None)
    if op is None:
        raise _target_error(text, 'expected METRIC OP NUMBER with OP one of <=, <, >=, >, e.g. "p90 response <= 30"')
    left, right = text.split(op, 1)
    metric = _metric_path(left.strip())
    known = metric_paths([t.name for t in scenario.incident_types], [d.name for d in scenario.departments])
    if metric not in known:
        close = closest(metric, known)
        hint = (
            f"did you mean '{close}'?"
            if close
            else "e.g. p90 response, median response of <type>, within target, response_min.p90"
        )
        raise _target_error(text, f"unknown metric '{left.strip()}' (read as '{metric}'); {hint}")
    value, unit = _number(right, text)
    if unit in ("min", "minutes", "h", "hours") and "_min." not in metric:
        raise _target_error(text, f"'{metric}' is not a time; give a plain number")
    return Target(metric, op, value, text.strip())


# --------------------------------------------------------------------------- scaling units


def allocate(weights: dict[str, int], total: int) -> dict[str, int]:
    """Share *total* units among departments in proportion to *weights*, each with at least one.

    Sainte-Laguë, one unit at a time: the next unit goes to the department with the largest
    ``weight / (2 * units + 1)``, so raising the total never lowers any department's count,
    and a total equal to the sum of the weights gives each its weight. Departments of weight 0
    stay at 0.

    Raises
    ------
    ValueError
        If *total* is below the number of departments of positive weight.
    """
    units = {d: (1 if w > 0 else 0) for d, w in weights.items()}
    if total < sum(units.values()):
        raise ValueError(f"{total} unit(s) cannot give each of {sum(units.values())} department(s) one")
    for _ in range(total - sum(units.values())):
        best = max((d for d, w in weights.items() if w > 0), key=lambda d: weights[d] / (2 * units[d] + 1))
        units[best] += 1
    return units


def staffed_scenario(data: dict, allocation: dict[str, int]) -> dict:
    """Scenario data with the named departments' units set to *allocation*.

    Only ``units`` changes: a department's shift windows are a pattern that its units scale
    (:meth:`sim.scenario.schema.Department.shift_windows`), so a count set here runs exactly as
    the same count set in the file, with ``--set`` or in a sweep.
    """
    out = dict(data)
    if CENTRE_OPERATORS in allocation:
        governance = dict(out.get("governance") or {})
        governance["instant"] = {**(governance.get("instant") or {}), "operators": allocation[CENTRE_OPERATORS]}
        out["governance"] = governance
    out["departments"] = [
        {**dept, "units": allocation[dept["name"]]} if dept["name"] in allocation else dept
        for dept in data["departments"]
    ]
    return out


def team_of(scenario: Scenario, mode: str, departments: Sequence[str] = ()) -> tuple[str, ...]:
    """The departments to staff: those named, else those pooled into *mode*'s team.

    Raises
    ------
    ScenarioError
        For an unknown mode or department, or a mode that pools nothing when none is named.
    """
    modes = modes_of(scenario)
    if mode not in modes:
        raise ScenarioError(
            [Problem("--mode", None, "", f"unknown mode '{mode}'; the scenario defines {', '.join(modes)}")]
        )
    names = [d.name for d in scenario.departments]
    unknown = [d for d in departments if d not in names]
    if unknown:
        raise ScenarioError([Problem("--department", None, "", _unknown_department(d, names)) for d in unknown])
    if departments:
        return tuple(dict.fromkeys(departments))
    pooled = tuple(d for d in names if d in modes[mode].pooled)
    if not pooled:
        raise ScenarioError(
            [
                Problem(
                    "--department",
                    None,
                    "",
                    f"mode '{mode}' pools no department; name the department(s) to staff with --department",
                )
            ]
        )
    return pooled


def centre_operators(scenario: Scenario, mode: str) -> int:
    """The centre's operators to start a search from.

    Raises
    ------
    ScenarioError
        For an unknown mode, a mode that does not go through the centre, or an unstaffed centre.
    """
    modes = modes_of(scenario)
    if mode not in modes:
        raise ScenarioError(
            [Problem("--mode", None, "", f"unknown mode '{mode}'; the scenario defines {', '.join(modes)}")]
        )
    if not uses_centre(scenario, mode):
        raise ScenarioError(
            [
                Problem(
                    "--centre", None, "", f"mode '{mode}' does not go through the centre (referral and no closed loop)"
                )
            ]
        )
    if scenario.governance.centres:
        message = (
            "the scenario has centres at several levels (governance.centres); --centre sizes the one centre "
            "(governance.instant.operators). Compare a level's staffing with --set, e.g. "
            f"--set governance.centres.{scenario.governance.centres[0].name}.operators=3, or a sweep over it"
        )
        raise ScenarioError([Problem("--centre", None, "governance.centres", message)])
    operators = scenario.governance.instant.operators
    if operators is None:
        raise ScenarioError(
            [
                Problem(
                    "--centre",
                    None,
                    "governance.instant.operators",
                    "the centre is unstaffed (null: unlimited operators); "
                    "give a number to start from, e.g. --set governance.instant.operators=4",
                )
            ]
        )
    return operators


def uses_centre(scenario: Scenario, mode: str) -> bool:
    """Whether *mode*'s reports go through the command centre's operators (the shared channel or the closed loop)."""
    resolved = modes_of(scenario)[mode]
    return resolved.information == "instant" or resolved.closed_loop


def _unknown_department(name: str, names: list[str]) -> str:
    return f"unknown department '{name}'" + did_you_mean(name, names, f"; expected one of: {', '.join(names)}")


# --------------------------------------------------------------------------- deciding at one count


@dataclass(frozen=True)
class Rule:
    """When a count is decided: replications from ``min_replications``, ``batch`` more at a time, up to ``max_replications``."""

    confidence: float = CONFIDENCE
    min_replications: int = 5
    max_replications: int = 30
    batch: int = 5


DEFAULT_RULE = Rule()
"""The rule used when none is given."""


@dataclass
class Trial:
    """What the search learnt at one unit count."""

    units: int
    allocation: dict[str, int]
    values: list = field(default_factory=list)
    verdict: str = UNDECIDED
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    def as_dict(self) -> dict:
        """The trial as plain data (the replication values included)."""
        return {
            "units": self.units,
            "allocation": self.allocation,
            "verdict": self.verdict,
            "replications": len(self.values),
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "values": self.values,
        }


class _Evaluator:
    """Runs replications of one mode at a unit count on a backend, remembering every value."""

    def __init__(self, data: dict, mode: str, weights: dict[str, int], target: Target, rule: Rule, seed: int, pool):
        self.data, self.mode, self.weights, self.target, self.rule, self.seed, self.pool = (
            data,
            mode,
            weights,
            target,
            rule,
            seed,
            pool,
        )
        self.trials: dict[int, Trial] = {}
        self.runs = 0

    def decide(self, units: int) -> Trial:
        """Replicate at *units* until the interval is on one side of the target, or the most replications."""
        trial = self.trials.setdefault(units, Trial(units, allocate(self.weights, units)))
        wanted = max(self.rule.min_replications, len(trial.values))
        while True:
            self._replicate(trial, wanted)
            stats = describe(trial.values, self.rule.confidence)
            trial.mean, trial.ci_low, trial.ci_high = stats["mean"], stats["ci_low"], stats["ci_high"]
            trial.verdict = self.target.verdict(trial.ci_low, trial.ci_high)
            if trial.verdict != UNDECIDED or wanted >= self.rule.max_replications:
                return trial
            wanted = min(wanted + self.rule.batch, self.rule.max_replications)

    def _replicate(self, trial: Trial, wanted: int) -> None:
        data = staffed_scenario(self.data, trial.allocation)
        have = len(trial.values)
        tasks = [
            RunTask(
                scenario=data,
                overrides=(),
                parameters={},
                point=trial.units,
                mode=self.mode,
                replication=r,
                seed=self.seed,
                metrics=(self.target.metric,),
            )
            for r in range(have, wanted)
        ]
        rows = dict(self.pool.imap(run_task, tasks))
        self.runs += len(tasks)
        for i in range(len(tasks)):
            if rows[i]["error"]:
                raise ScenarioError(
                    [
                        Problem(
                            "--department",
                            None,
                            "",
                            f"at {trial.allocation} units mode '{self.mode}' cannot run: {rows[i]['error']}",
                        )
                    ]
                )
            trial.values.append(rows[i][self.target.metric])


# --------------------------------------------------------------------------- the search


def smallest_units(decide, start: int, low: int, high: int) -> tuple[int | None, dict[int, str]]:
    """The smallest count in [low, high] that *decide* says meets the target, by galloping and bisection.

    Parameters
    ----------
    decide:
        Count -> ``met``, ``not met`` or ``undecided`` (not shown to meet it).
    start:
        Where to begin (clipped to [low, high]).

    Returns
    -------
    (answer, verdicts)
        The answer (None if even *high* does not meet the target) and every verdict reached.
    """
    verdicts: dict[int, str] = {}

    def meets(n: int) -> bool:
        verdicts[n] = verdicts.get(n) or decide(n)
        return verdicts[n] == MET

    start = min(max(start, low), high)
    bad, good = _gallop(meets, start, low, high)
    if good is None or bad is None:
        return good, verdicts
    while good - bad > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if meets(mid) else (good, mid)
    return good, verdicts


def _gallop(meets, start: int, low: int, high: int) -> tuple[int | None, int | None]:
    """Step away from *start* by 1, 2, 4, ... units until the verdict changes: (a count that fails, one that meets).

    Down from a count that meets (None for the failing one if even *low* meets); up from one that
    fails (None for the meeting one if even *high* fails).
    """
    met = meets(start)
    edge, step = start, 1
    while low < edge if met else edge < high:
        probe = max(low, edge - step) if met else min(high, edge + step)
        if meets(probe) != met:
            return (probe, edge) if met else (edge, probe)
        edge, step = probe, 2 * step
    return (None, edge) if met else (edge, None)


@dataclass(frozen=True)
class StaffingResult:
    """The answer for one mode: the smallest total, the trials, and the runs they took."""

    mode: str
    departments: tuple[str, ...]
    target: Target
    current: int
    answer: int | None
    """The smallest number of units shown to meet the target (see :attr:`answer_people` for people)."""
    low: int
    high: int
    trials: dict[int, Trial] = field(repr=False)
    runs: int
    rule: Rule
    crew: dict[str, int] = field(default_factory=dict)
    """People per unit of each department staffed (``Department.crew``)."""

    def people(self, allocation: dict[str, int] | None) -> int | None:
        """People in an allocation of units: units x crew, summed over departments."""
        if allocation is None:
            return None
        return sum(n * self.crew.get(d, 1) for d, n in allocation.items())

    @property
    def answer_people(self) -> int | None:
        """The answer in people (units x crew), or None when no count met the target."""
        return self.people(self.at_answer.allocation) if self.at_answer else None

    @property
    def at_answer(self) -> Trial | None:
        """The trial at the answer."""
        return self.trials.get(self.answer) if self.answer is not None else None

    @property
    def one_fewer(self) -> Trial | None:
        """The trial at one unit fewer than the answer (None at the lowest count)."""
        return self.trials.get(self.answer - 1) if self.answer is not None else None

    def as_dict(self) -> dict:
        """The result as plain data."""
        return {
            "mode": self.mode,
            "departments": list(self.departments),
            "target": {
                "text": self.target.text,
                "metric": self.target.metric,
                "op": self.target.op,
                "value": self.target.value,
            },
            "current_units": self.current,
            "answer": self.answer,
            "answer_people": self.answer_people,
            "allocation": self.at_answer.allocation if self.at_answer else None,
            "crew": dict(self.crew),
            "searched": [self.low, self.high],
            "runs": self.runs,
            "rule": vars(self.rule),
            "trials": [
                {**self.trials[n].as_dict(), "people": self.people(self.trials[n].allocation)}
                for n in sorted(self.trials)
            ],
        }


def staff(
    scenario: Scenario,
    target: Target | str,
    mode: str = "unified",
    departments: Sequence[str] = (),
    rule: Rule = DEFAULT_RULE,
    seed: int | None = None,
    max_units: int | None = None,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    centre: bool = False,
) -> StaffingResult:
    """The smallest number of units of *departments* (scaled together) that meets *target* in *mode*.

    Parameters
    ----------
    target:
        A :class:`Target` or its text (:func:`parse_target`).
    departments:
        Departments to staff; default those pooled into *mode*'s team (:func:`team_of`).
    rule:
        Replications per count and the confidence of each decision.
    max_units:
        The most units to try (default four times the scenario's, and at least 20 more).
    backend, workers, scheduler:
        Where the runs execute (:func:`sim.experiments.backends.open_backend`).
    centre:
        Size the command centre's operators instead of departments (*departments* is then ignored).

    Raises
    ------
    ScenarioError
        For a bad target, mode or department, or a count at which the scenario cannot run.
    """
    target = parse_target(target, scenario) if isinstance(target, str) else target
    if centre:
        team: tuple[str, ...] = (CENTRE_OPERATORS,)
        weights = {CENTRE_OPERATORS: centre_operators(scenario, mode)}
    else:
        team = team_of(scenario, mode, departments)
        weights = {d: scenario.department(d).units for d in team}
    current, low = sum(weights.values()), sum(1 for w in weights.values() if w > 0)
    if low == 0:
        raise ScenarioError(
            [
                Problem(
                    "--department",
                    None,
                    "",
                    f"{', '.join(team)} has no units to scale; give it units in the scenario first",
                )
            ]
        )
    high = max_units if max_units is not None else max(4 * current, current + 20)
    if high < low:
        raise ScenarioError(
            [Problem("--max-units", None, "", f"expected at least {low} (one unit per department); got {high}")]
        )
    data = scenario.model_dump(mode="json")
    with open_backend(backend, workers, scheduler) as pool:
        evaluator = _Evaluator(data, mode, weights, target, rule, scenario.seed if seed is None else seed, pool)
        answer, _ = smallest_units(lambda n: evaluator.decide(n).verdict, current, low, high)
    crew = {d: 1 if d == CENTRE_OPERATORS else scenario.department(d).crew for d in team}  # an operator is one person
    return StaffingResult(mode, team, target, current, answer, low, high, evaluator.trials, evaluator.runs, rule, crew)
