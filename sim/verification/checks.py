"""Validation: the simulator against queueing theory, an exact spatial model and a peer simulator.

Each check is data: a name, a group, a seed and a function that builds scenarios with
:func:`sim.scenario_from_dict` (or loads a shipped scenario file), runs them through the public
API (:func:`sim.run`), computes the reference value independently (Erlang C,
Pollaczek-Khinchine, Cobham's priority formula, Little's law, the hypercube model of
:mod:`sim.verification.larson_hypercube`, or the Ciw simulator) and returns :class:`Row` s.

Replications are added in stages until every 99% confidence interval of a check is narrower than
the precision target (2% of its mean in the full run), up to a cap; a row passes when the
reference lies inside the interval *and* the interval is that narrow. A row that could not be
run (Ciw missing) says so. :func:`run_checks` runs the checks, on several processes if asked, and
:func:`format_report` writes the Markdown table that ``python -m sim verify`` publishes.

Modelling choices that make the exact answers apply are stated with each check and repeated in
the generated document: one patch and no set-off make response time equal the wait in queue;
for the hypercube, units are based on patches a few tens of metres apart and drive at 300 km/h,
so travel (and the return to base) is negligible next to service and idle units are always at
their posts, as the hypercube model assumes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import stats

from sim.engine.records import RecordTable
from sim.experiments.runs import run
from sim.io.loader import load_scenario, scenario_from_dict
from sim.io.shipped import shipped_scenario
from sim.scenario.schema import Scenario
from sim.stats.metrics import measured as measured_records
from sim.verification import larson_hypercube as hypercube
from sim.version import __version__

__all__ = [
    "Effort",
    "FULL",
    "QUICK",
    "Row",
    "Check",
    "CHECKS",
    "Report",
    "run_checks",
    "solver_example",
    "check_straight_road",
    "straight_road_files",
    "LARSON_ODONI",
    "format_report",
    "headline",
    "erlang_c",
    "mmc_wait",
    "mmc_wait_tail",
    "pk_wait",
    "priority_waits",
]

CONFIDENCE = 0.99
MINUTES_PER_DAY = 1440.0


# --------------------------------------------------------------------------- theory


def erlang_c(servers: int, load: float) -> float:
    """Probability that a call waits in an M/M/c queue (Erlang C), for offered load ``load`` = lambda/mu.

    Computed with the Erlang B recursion, which is stable for large ``servers``.
    """
    if load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    rho = load / servers
    return blocking / (1.0 - rho + rho * blocking)


def mmc_wait(servers: int, arrivals: float, service_mean: float) -> float:
    """Mean wait in queue of an M/M/c queue (same time unit as ``service_mean``)."""
    load = arrivals * service_mean
    return erlang_c(servers, load) * service_mean / (servers - load)


def mmc_wait_tail(servers: int, arrivals: float, service_mean: float, t: float) -> float:
    """P(wait > t) in an M/M/c queue: Erlang C times exp(-(c mu - lambda) t)."""
    load = arrivals * service_mean
    return erlang_c(servers, load) * math.exp(-(servers / service_mean - arrivals) * t)


def pk_wait(arrivals: float, service_mean: float, service_cv: float) -> float:
    """Mean wait in queue of an M/G/1 queue (Pollaczek-Khinchine): lambda E[S^2] / (2 (1 - rho))."""
    rho = arrivals * service_mean
    second_moment = service_mean**2 * (1.0 + service_cv**2)
    return arrivals * second_moment / (2.0 * (1.0 - rho))


def priority_waits(servers: int, arrivals: Sequence[float], service_mean: float) -> list[float]:
    """Mean wait of each class of a non-preemptive priority M/M/c queue, most urgent first (Cobham).

    Every class has the same exponential service; class ``k`` waits
    ``C(c, a) / (c mu (1 - s_{k-1}) (1 - s_k))`` with ``s_k`` the load of classes up to ``k``.
    """
    mu = 1.0 / service_mean
    capacity = servers * mu
    waiting = erlang_c(servers, sum(arrivals) * service_mean) / capacity
    cumulative = np.concatenate([[0.0], np.cumsum(arrivals) / capacity])
    return [waiting / ((1 - cumulative[k]) * (1 - cumulative[k + 1])) for k in range(len(arrivals))]


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Effort:
    """How hard a run tries.

    Attributes
    ----------
    precision:
        Target half-width of each 99% interval, as a share of its estimate.
    pilot:
        Replications of the first stage.
    max_replications:
        Cap on replications per check.
    scale:
        Multiplies each check's replication length (days).
    """

    precision: float
    pilot: int
    max_replications: int
    scale: float = 1.0
    name: str = "full"


FULL = Effort(precision=0.02, pilot=10, max_replications=1500, name="full")
QUICK = Effort(precision=0.10, pilot=6, max_replications=100, scale=0.5, name="quick")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float

    @property
    def relative_half_width(self) -> float:
        """Half the interval's width over the estimate's magnitude."""
        return (self.high - self.low) / 2.0 / abs(self.value) if self.value else math.inf


def _t(n: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, max(n - 1, 1)))


def mean_estimate(values) -> Estimate:
    """Mean of independent replication values with a Student-t interval."""
    x = np.asarray(values, dtype=float)
    half = _t(len(x)) * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else math.inf
    return Estimate(float(x.mean()), float(x.mean() - half), float(x.mean() + half))


def ratio_estimate(numerator, denominator) -> Estimate:
    """Ratio of two means over paired replications, with a delta-method t interval."""
    x, y = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    ratio = x.mean() / y.mean()
    residual = x - ratio * y
    half = _t(len(x)) * residual.std(ddof=1) / (math.sqrt(len(x)) * abs(y.mean())) if len(x) > 1 else math.inf
    return Estimate(float(ratio), float(ratio - half), float(ratio + half))


@dataclass(frozen=True)
class Mean:
    """The mean of one per-replication statistic."""

    key: str

    def estimate(self, columns: dict) -> Estimate:
        """The estimate from the replications so far."""
        return mean_estimate(columns[self.key])


@dataclass(frozen=True)
class Ratio:
    """The ratio of the means of two per-replication statistics."""

    numerator: str
    denominator: str

    def estimate(self, columns: dict) -> Estimate:
        """The estimate from the replications so far."""
        return ratio_estimate(columns[self.numerator], columns[self.denominator])


def replicate_until(simulate: Callable[[int], dict], targets: Sequence, effort: Effort) -> dict[str, np.ndarray]:
    """Run replications 0, 1, ... until every target's interval is within the precision target.

    Parameters
    ----------
    simulate:
        Replication number -> dict of per-replication statistics.
    targets:
        :class:`Mean` or :class:`Ratio` objects that must reach the precision.
    effort:
        Precision, pilot size and cap.

    Returns
    -------
    dict
        Statistic name -> array over replications.
    """
    rows = [simulate(r) for r in range(effort.pilot)]
    while len(rows) < effort.max_replications:
        columns = _columns(rows)
        needed = max(_needed(t.estimate(columns), len(rows), effort.precision) for t in targets)
        if needed <= len(rows):
            break
        extra = min(needed, 4 * len(rows), effort.max_replications) - len(rows)
        rows += [simulate(r) for r in range(len(rows), len(rows) + extra)]
    return _columns(rows)


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    return {key: np.array([row[key] for row in rows], dtype=float) for key in rows[0]}


def _needed(estimate: Estimate, n: int, precision: float) -> int:
    """Replications for the target half-width, from the current one (plus 10% for the t quantile)."""
    ratio = estimate.relative_half_width / precision
    if not math.isfinite(ratio):
        return 4 * n
    return n if ratio <= 1 else math.ceil(1.1 * n * ratio**2)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One line of the validation table.

    Attributes
    ----------
    group, check, quantity:
        Where the row belongs and what it measures (units in the quantity's name).
    reference:
        Where the expected value comes from (``Erlang C``, ``hypercube``, ``Ciw`` ...).
    expected:
        The reference value (for a peer simulator, its estimate).
    simulated:
        The project's estimate, with its 99% interval ``low``-``high``.
    replications:
        Replications behind the estimate.
    precision:
        The precision target the interval had to meet.
    status:
        ``pass``, ``outside`` (reference outside the interval), ``imprecise`` (interval wider than
        the target) or ``not run`` (with the reason in ``note``).
    expected_half:
        Half-width of the reference's own 99% interval (peer simulators; 0 for theory).
    """

    group: str
    check: str
    quantity: str
    reference: str
    expected: float
    simulated: float
    low: float
    high: float
    replications: int
    precision: float
    status: str
    expected_half: float = 0.0
    note: str = ""

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status == "pass"

    @property
    def relative_error(self) -> float:
        """(simulated - expected) / expected."""
        return (self.simulated - self.expected) / self.expected if self.expected else math.nan

    @property
    def half_width(self) -> float:
        """Half-width of the interval over the estimate."""
        return Estimate(self.simulated, self.low, self.high).relative_half_width


def theory_row(group, check, quantity, reference, expected, estimate: Estimate, n, effort, note="") -> Row:
    """A row comparing an estimate with an exact value."""
    inside = estimate.low <= expected <= estimate.high
    precise = estimate.relative_half_width <= effort.precision
    status = "pass" if inside and precise else ("outside" if not inside else "imprecise")
    return Row(
        group,
        check,
        quantity,
        reference,
        float(expected),
        estimate.value,
        estimate.low,
        estimate.high,
        int(n),
        effort.precision,
        status,
        note=note,
    )


def peer_row(group, check, quantity, reference, ours: Estimate, n, theirs, effort, note="") -> Row:
    """A row comparing the project with a peer simulator's replications *theirs*.

    It passes when the 99% interval of the difference holds 0 and both intervals meet the precision.
    """
    a = np.asarray(theirs, dtype=float)
    peer = mean_estimate(a)
    diff_low, diff_high = _welch_interval(ours, n, peer, len(a))
    precise = max(ours.relative_half_width, peer.relative_half_width) <= effort.precision
    inside = diff_low <= 0.0 <= diff_high
    status = "pass" if inside and precise else ("outside" if not inside else "imprecise")
    return Row(
        group,
        check,
        quantity,
        reference,
        peer.value,
        ours.value,
        ours.low,
        ours.high,
        int(n),
        effort.precision,
        status,
        expected_half=(peer.high - peer.low) / 2,
        note=note,
    )


def _welch_interval(ours: Estimate, n: int, peer: Estimate, m: int) -> tuple[float, float]:
    """99% interval of (ours - peer) from two independent t intervals (Welch-Satterthwaite)."""
    se1 = (ours.high - ours.low) / 2 / _t(n)
    se2 = (peer.high - peer.low) / 2 / _t(m)
    spread = se1**4 / max(n - 1, 1) + se2**4 / max(m - 1, 1)
    df = (se1**2 + se2**2) ** 2 / spread if spread > 0 else math.inf
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(se1**2 + se2**2)
    diff = ours.value - peer.value
    return diff - half, diff + half


# --------------------------------------------------------------------------- scenarios


def queue_town(
    name: str,
    seed: int,
    departments: list[dict],
    types: list[dict],
    modes: dict,
    days: float,
    warmup_days: float,
    **extra,
) -> Scenario:
    """A one-patch town with no travel and instant reporting: a network of M/G/c queues.

    Parameters
    ----------
    departments:
        ``{name, units, powers}`` (plus any department field, e.g. ``shift``).
    types:
        ``{name, rate_per_min, service}`` (plus any incident-type field, e.g. ``priority``).
    modes:
        The scenario's modes.
    """
    data = {
        "name": name,
        "seed": seed,
        "days": days,
        "warmup_days": warmup_days,
        "drain_days": 2,
        "territory": {"patches": [{"name": "only", "x_km": 0, "y_km": 0}]},
        "departments": [{"setoff_min": 0, **d} for d in departments],
        "incident_types": [_queue_type(t) for t in types],
        "governance": {"instant": {"report_min": 0, "centre_min": 0}, "modes": modes},
    }
    data.update(extra)
    return scenario_from_dict(data)


def _queue_type(spec: dict) -> dict:
    spec = dict(spec)
    rate = spec.pop("rate_per_min")
    return {
        "rate_per_day": rate * MINUTES_PER_DAY,
        "service_min": spec.pop("service"),
        "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 1, "delay_min": 0}},
        **spec,
    }


def exponential(mean: float) -> dict:
    """An exponential duration spec."""
    return {"dist": "exponential", "mean": mean}


POOLED = {"pooled": {"based_on": "joint", "dispatch": "own_queue"}}
"""One mode for one-patch towns: instant reporting, first free unit (FCFS M/M/c)."""


def measured(records, scenario: Scenario, type_name: str | None = None) -> RecordTable:
    """Records of incidents occurring between the warm-up and the horizon (of one type if given)."""
    start, end = scenario.warmup_days * MINUTES_PER_DAY, scenario.days * MINUTES_PER_DAY
    return measured_records(records, start, end, type_name)


def waits(records) -> np.ndarray:
    """Response times (= waits in queue in a one-patch town) of records that were reached."""
    values = np.array([r.response_min for r in records], dtype=float)
    if np.isnan(values).any():
        raise RuntimeError(f"{int(np.isnan(values).sum())} measured incidents were never reached; lengthen drain_days")
    return values


def window_min(scenario: Scenario) -> float:
    """Length of the measured window (horizon minus warm-up), minutes."""
    return (scenario.days - scenario.warmup_days) * MINUTES_PER_DAY


# --------------------------------------------------------------------------- M/M/c and M/G/1


def check_mmc(
    effort: Effort,
    seed: int,
    servers: int,
    rho: float,
    tail_in_means: float = 1.0,
    mean_wait: bool = True,
    peer: bool = False,
    days: float = 20.0,
) -> list[Row]:
    """M/M/c: mean wait and P(wait > t) against Erlang C, utilisation against offered load.

    With ``peer``, the same queue also runs in Ciw and both waits are compared with it.
    """
    service = 10.0
    arrivals = rho * servers / service
    t = tail_in_means * service
    scenario = queue_town(
        f"mmc{servers}",
        seed,
        [{"name": "team", "units": servers, "powers": ["job"]}],
        [{"name": "job", "rate_per_min": arrivals, "service": exponential(service)}],
        POOLED,
        days * effort.scale,
        2.0,
    )
    simulate = partial(_mmc_replication, scenario, t)
    targets = ([Mean("wait")] if mean_wait else []) + [Mean("tail"), Mean("util")]
    cols = replicate_until(simulate, targets, effort)
    n, name, group = len(cols["wait"]), f"M/M/{servers}, rho {rho:g}", "M/M/c"
    rows = []
    if mean_wait:
        rows.append(
            theory_row(
                group,
                name,
                "mean wait, min",
                "Erlang C",
                mmc_wait(servers, arrivals, service),
                mean_estimate(cols["wait"]),
                n,
                effort,
            )
        )
    rows.append(
        theory_row(
            group,
            name,
            f"P(wait > {t:g} min)",
            "Erlang C",
            mmc_wait_tail(servers, arrivals, service, t),
            mean_estimate(cols["tail"]),
            n,
            effort,
        )
    )
    rows.append(theory_row(group, name, "utilisation", "offered load", rho, mean_estimate(cols["util"]), n, effort))
    if peer:
        theirs = partial(
            _ciw_replication,
            scenario,
            seed,
            arrivals={"job": arrivals},
            service=service,
            servers=servers,
            priorities=None,
            tail=t,
        )
        quantities = [("wait", "mean wait, min"), ("tail", f"P(wait > {t:g} min)")]
        rows += _peer_rows("Ciw", name, cols, theirs, quantities, effort)
    return rows


def _mmc_replication(scenario: Scenario, t: float, r: int) -> dict:
    output = run(scenario, "pooled", replication=r)
    w = waits(measured(output.records, scenario))
    return {"wait": w.mean(), "tail": (w > t).mean(), "util": output.busy_min["team"] / output.on_duty_min["team"]}


def check_centres(effort: Effort, seed: int, days: float = 20.0) -> list[Row]:
    """Two command centres in series (every report passed up): the time through both against a Jackson network.

    Poisson reports enter a town centre of 3 operators (exponential handling, 10 min) that passes every
    one up to a city centre of 2 (6 min); units are plentiful. The departures of an M/M/c queue are
    Poisson (Burke), so the time before dispatch is the sum of two Erlang C waits and both handlings.
    """
    lam, (c1, m1), (c2, m2) = 0.2, (3, 10.0), (2, 6.0)
    centres = [
        {"name": "city", "operators": c2, "handling_min": exponential(m2)},
        {"name": "town", "parent": "city", "passes_up": "all", "operators": c1, "handling_min": exponential(m1)},
    ]
    scenario = queue_town(
        "centres",
        seed,
        [{"name": "team", "units": 400, "powers": ["job"]}],
        [{"name": "job", "rate_per_min": lam, "service": {"dist": "fixed", "value": 1.0}}],
        POOLED,
        days * effort.scale,
        2.0,
        governance={"instant": {"report_min": 0, "centre_min": 0}, "centres": centres, "modes": POOLED},
    )
    cols = replicate_until(
        partial(_centres_replication, scenario), [Mean("through"), Mean("town"), Mean("city")], effort
    )
    n, name, group = len(cols["through"]), "town (3 operators) then city (2)", "centres"
    through = mmc_wait(c1, lam, m1) + mmc_wait(c2, lam, m2) + m1 + m2
    return [
        theory_row(
            group,
            name,
            "time through both centres, min",
            "Jackson network",
            through,
            mean_estimate(cols["through"]),
            n,
            effort,
        ),
        theory_row(
            group,
            name,
            "town centre utilisation",
            "offered load",
            lam * m1 / c1,
            mean_estimate(cols["town"]),
            n,
            effort,
        ),
        theory_row(
            group,
            name,
            "city centre utilisation",
            "offered load",
            lam * m2 / c2,
            mean_estimate(cols["city"]),
            n,
            effort,
        ),
    ]


def _centres_replication(scenario: Scenario, r: int) -> dict:
    output = run(scenario, "pooled", replication=r)
    records = measured(output.records, scenario)
    through = np.array([x.dispatched_min - x.reached_min for x in records], dtype=float)
    busy, duty = output.busy_min, output.on_duty_min
    return {
        "through": float(through.mean()),
        "town": busy["centre:town"] / duty["centre:town"],
        "city": busy["centre:city"] / duty["centre:city"],
    }


def check_mg1(effort: Effort, seed: int, rho: float, cv: float, days: float = 30.0) -> list[Row]:
    """M/G/1 with lognormal service: mean wait against Pollaczek-Khinchine."""
    service = 10.0
    arrivals = rho / service
    scenario = queue_town(
        "mg1",
        seed,
        [{"name": "team", "units": 1, "powers": ["job"]}],
        [{"name": "job", "rate_per_min": arrivals, "service": {"dist": "lognormal", "mean": service, "cv": cv}}],
        POOLED,
        days * effort.scale,
        2.0,
    )

    def simulate(r):
        output = run(scenario, "pooled", replication=r)
        return {
            "wait": waits(measured(output.records, scenario)).mean(),
            "util": output.busy_min["team"] / output.on_duty_min["team"],
        }

    cols = replicate_until(simulate, [Mean("wait"), Mean("util")], effort)
    n, name = len(cols["wait"]), f"M/G/1 lognormal cv {cv:g}, rho {rho:g}"
    return [
        theory_row(
            "M/G/1",
            name,
            "mean wait, min",
            "Pollaczek-Khinchine",
            pk_wait(arrivals, service, cv),
            mean_estimate(cols["wait"]),
            n,
            effort,
        ),
        theory_row("M/G/1", name, "utilisation", "offered load", rho, mean_estimate(cols["util"]), n, effort),
    ]


def check_shift_utilisation(effort: Effort, seed: int, days: float = 28.0) -> list[Row]:
    """Utilisation with a day and a night shift and a daily demand profile: work over on-duty time."""
    service, day_units, night_units = 20.0, 6, 3
    profile = [1.0] * 8 + [2.0] * 12 + [1.0] * 4
    per_day = 0.7 * (day_units + night_units) * 12 * 60 / service
    shift = [{"times": ["08:00-20:00"], "units": day_units}, {"times": ["20:00-08:00"], "units": night_units}]
    team = day_units + night_units  # the rota's size: its windows are a pattern for this many units
    scenario = queue_town(
        "shifts",
        seed,
        [{"name": "team", "units": team, "powers": ["job"], "shift": shift}],
        [
            {
                "name": "job",
                "rate_per_min": per_day / MINUTES_PER_DAY,
                "profile": profile,
                "service": {"dist": "lognormal", "mean": service, "cv": 0.8},
            }
        ],
        POOLED,
        days * effort.scale,
        7.0,
    )
    on_duty_per_day = (day_units + night_units) * 12 * 60
    expected = per_day * service / on_duty_per_day

    def simulate(r):
        output = run(scenario, "pooled", replication=r)
        on_duty = output.on_duty_min["team"]
        days_measured = window_min(scenario) / MINUTES_PER_DAY
        return {"util": output.busy_min["team"] / on_duty, "on_duty": on_duty / days_measured}

    cols = replicate_until(simulate, [Mean("util")], effort)
    n, name = len(cols["util"]), "M/G/c, day 6 units / night 3, daily profile"
    return [
        theory_row(
            "utilisation",
            name,
            "utilisation (busy / on-duty)",
            "offered load",
            expected,
            mean_estimate(cols["util"]),
            n,
            effort,
        ),
        theory_row(
            "utilisation",
            name,
            "on-duty unit-minutes per day",
            "shift windows",
            on_duty_per_day,
            mean_estimate(cols["on_duty"]),
            n,
            effort,
            note="deterministic: interval of zero width",
        ),
    ]


# --------------------------------------------------------------------------- pooling


def check_pooling(effort: Effort, seed: int, k: int, servers: int, rho: float, days: float = 20.0) -> list[Row]:
    """Pool k departments, each an M/M/(c/k) on its own share of the load, into one M/M/c.

    Both modes face the same incidents (common random numbers); information is instant and
    there is one patch, so the only difference is who may act: the reform's pooling effect.
    """
    service = 10.0
    per = servers // k
    arrivals = rho * servers / service
    depts = [{"name": f"d{i}", "units": per, "powers": [f"job{i}"]} for i in range(k)]
    types = [{"name": f"job{i}", "rate_per_min": arrivals / k, "service": exponential(service)} for i in range(k)]
    team = {"pooled": [d["name"] for d in depts]}  # pooling names its departments
    modes = {"fragmented": {"information": "instant", "leave_probability": 0}, "unified": {"authority": team}}
    scenario = queue_town("pooling", seed, depts, types, modes, days * effort.scale, 2.0)

    def simulate(r):
        frag = waits(measured(run(scenario, "fragmented", replication=r).records, scenario)).mean()
        unif = waits(measured(run(scenario, "unified", replication=r).records, scenario)).mean()
        return {"fragmented": frag, "unified": unif}

    cols = replicate_until(simulate, [Mean("fragmented"), Mean("unified"), Ratio("fragmented", "unified")], effort)
    n, name = len(cols["unified"]), f"{k} x M/M/{per} vs M/M/{servers}, rho {rho:g}"
    w_frag, w_unif = mmc_wait(per, arrivals / k, service), mmc_wait(servers, arrivals, service)
    return [
        theory_row(
            "pooling",
            name,
            "fragmented mean wait, min",
            "Erlang C",
            w_frag,
            mean_estimate(cols["fragmented"]),
            n,
            effort,
        ),
        theory_row(
            "pooling", name, "unified mean wait, min", "Erlang C", w_unif, mean_estimate(cols["unified"]), n, effort
        ),
        theory_row(
            "pooling",
            name,
            "ratio fragmented / unified",
            "Erlang C",
            w_frag / w_unif,
            ratio_estimate(cols["fragmented"], cols["unified"]),
            n,
            effort,
        ),
    ]


# --------------------------------------------------------------------------- referral chains


def referral_governance(handover: float, misroute: float) -> dict:
    """Desks open round the clock, fixed hand-over time, hotline reports two steps from the unit."""
    return {
        "referral": {
            "desk_hours": {"days": "daily", "times": ["00:00-24:00"]},
            "handover_min": handover,
            "steps": {"hotline": 2, "coordination": 2},
            "misroute_probability": misroute,
        },
        "instant": {"report_min": 0, "centre_min": 0},
        "modes": {"fragmented": {}},
    }


def check_referral(
    effort: Effort, seed: int, misroute: float, servers: int = 2, rho: float = 0.7, days: float = 20.0
) -> list[Row]:
    """Referral with fixed steps: response = hand-overs (with bounces) + M/M/c wait.

    Two hand-overs of ``h`` minutes, and each misrouting (probability ``p`` per forward,
    repeated) adds two more, so the mean delay is ``h (2 + 2 p / (1 - p))``. The delays are
    independent of the arrivals, so the department still sees Poisson arrivals.
    """
    handover, service = 30.0, 10.0
    arrivals = rho * servers / service
    scenario = queue_town(
        "referral",
        seed,
        [{"name": "team", "units": servers, "powers": ["job"]}],
        [{"name": "job", "rate_per_min": arrivals, "service": exponential(service)}],
        {},
        days * effort.scale,
        2.0,
        governance=referral_governance(handover, misroute),
    )

    def simulate(r):
        records = measured(run(scenario, "fragmented", replication=r).records, scenario)
        return {"response": waits(records).mean(), "bounces": float(np.mean([x.bounces for x in records]))}

    targets = [Mean("response")] + ([Mean("bounces")] if misroute else [])
    cols = replicate_until(simulate, targets, effort)
    n, bounces = len(cols["response"]), misroute / (1 - misroute)
    expected = handover * (2 + 2 * bounces) + mmc_wait(servers, arrivals, service)
    name = f"2 hand-overs of {handover:g} min, misroute {misroute:g}, M/M/{servers} rho {rho:g}"
    rows = [
        theory_row(
            "referral",
            name,
            "mean response, min",
            "steps + Erlang C",
            expected,
            mean_estimate(cols["response"]),
            n,
            effort,
        )
    ]
    if misroute:
        rows.append(
            theory_row(
                "referral",
                name,
                "bounces per matter",
                "geometric p / (1 - p)",
                bounces,
                mean_estimate(cols["bounces"]),
                n,
                effort,
            )
        )
    return rows


def check_sequential(effort: Effort, seed: int, days: float = 20.0) -> list[Row]:
    """Two departments one after the other: resolution = 4 hand-overs + two M/M/c sojourns (Burke).

    Departures from an M/M/c queue are Poisson (Burke's theorem) and a fixed delay keeps them
    Poisson, so the second department is an M/M/c queue too.
    """
    handover, service = 30.0, 10.0
    (ca, ra), cb = (2, 0.7), 3
    arrivals = ra * ca / service
    scenario = queue_town(
        "sequential",
        seed,
        [{"name": "a", "units": ca, "powers": ["job"]}, {"name": "b", "units": cb, "powers": ["job"]}],
        [{"name": "job", "rate_per_min": arrivals, "service": exponential(service), "requires": ["a", "b"]}],
        {},
        days * effort.scale,
        2.0,
        governance=referral_governance(handover, 0.0),
    )

    def simulate(r):
        recs = measured(run(scenario, "fragmented", replication=r).records, scenario)
        return {"resolution": float(np.mean([x.resolution_min for x in recs]))}

    cols = replicate_until(simulate, [Mean("resolution")], effort)
    expected = 4 * handover + mmc_wait(ca, arrivals, service) + mmc_wait(cb, arrivals, service) + 2 * service
    return [
        theory_row(
            "referral",
            f"sequential a (M/M/{ca}) then b (M/M/{cb}), rho {ra:g} / {arrivals * service / cb:.2g}",
            "mean resolution, min",
            "steps + Erlang C x 2 (Burke)",
            expected,
            mean_estimate(cols["resolution"]),
            len(cols["resolution"]),
            effort,
        )
    ]


# --------------------------------------------------------------------------- Little's law


def check_little(effort: Effort, seed: int, scenario_file: str, mode: str, weeks: int = 3) -> list[Row]:
    """Little's law on the trajectory of a shipped scenario: L = lambda W for open matters.

    L is the time-average number of matters detected and not yet resolved (a sweep over the
    records' timestamps), lambda the detections per minute and W the mean detection-to-resolution
    time of matters detected in the window. The window is whole weeks after a week of warm-up,
    so that office hours and weekends repeat exactly, and it ends :data:`LITTLE_COOL_DOWN_DAYS`
    before arrivals stop (:func:`little_window`): matters detected at its end are handled while
    new matters still arrive, as in the steady state. (A window ending where arrivals stop
    measures the last matters' W in an emptying system, which biased L / (lambda W) by about 1%.)
    """
    path = shipped_scenario(scenario_file)
    name = f"{scenario_file}, {mode}"
    if path is None:
        reason = f"scenarios/{scenario_file} not found: run from a source checkout"
        return [
            Row(
                "Little's law",
                name,
                "L / (lambda W)",
                "Little's law",
                1.0,
                math.nan,
                math.nan,
                math.nan,
                0,
                effort.precision,
                "not run",
                note=reason,
            )
        ]
    days = 7 + 7 * max(1, round(weeks * effort.scale)) + LITTLE_COOL_DOWN_DAYS
    scenario = load_scenario(path, [f"days={days}", "warmup_days=7", "drain_days=14", f"seed={seed}"])

    def simulate(r):
        output = run(scenario, mode, replication=r)
        level, rate, sojourn = _little_terms(output.records, scenario)
        return {"L": level, "lambdaW": rate * sojourn}

    cols = replicate_until(simulate, [Ratio("L", "lambdaW")], effort)
    n = len(cols["L"])
    note = f"L = {cols['L'].mean():.3g} open matters"
    return [
        theory_row(
            "Little's law",
            name,
            "L / (lambda W)",
            "Little's law",
            1.0,
            ratio_estimate(cols["L"], cols["lambdaW"]),
            n,
            effort,
            note=note,
        )
    ]


LITTLE_COOL_DOWN_DAYS = 7
"""Days of arrivals after the Little's-law window: whole weeks, so the window keeps the week's rhythm."""


def little_window(scenario) -> tuple[float, float]:
    """The Little's-law measurement window (minutes): after warm-up, ending a cool-down week before arrivals stop."""
    return scenario.warmup_days * MINUTES_PER_DAY, (scenario.days - LITTLE_COOL_DOWN_DAYS) * MINUTES_PER_DAY


def _little_terms(records, scenario) -> tuple[float, float, float]:
    """Time-average open matters in the window, detection rate, mean time open of those detected in it.

    A matter is open from detection until it is resolved, ends by itself (``ended_min``) or the run ends.
    """
    start, end = little_window(scenario)
    run_end = (scenario.days + scenario.drain_days) * MINUTES_PER_DAY
    detected = np.array([r.detected_min for r in records], dtype=float)
    resolved = np.array([r.resolved_min for r in records], dtype=float)
    ended = np.array([r.ended_min for r in records], dtype=float)  # a matter that ended by itself is closed then
    resolved = np.where(np.isnan(resolved), ended, resolved)
    found = ~np.isnan(detected)
    detected, resolved = detected[found], np.where(np.isnan(resolved[found]), run_end, resolved[found])
    overlap = np.clip(np.minimum(resolved, end) - np.maximum(detected, start), 0.0, None)
    inside = (detected >= start) & (detected < end)
    return overlap.sum() / (end - start), inside.sum() / (end - start), float((resolved - detected)[inside].mean())


# --------------------------------------------------------------------------- hypercube


@dataclass(frozen=True)
class SpatialTown:
    """A small town for the hypercube check: unit posts, atoms (patches) and their call shares."""

    name: str
    bases_km: tuple
    atoms_km: tuple
    weights: tuple
    rho: float
    backup: bool = False


SPEED_KMH, DETOUR = 300.0, 1.3
BACKUP_SETOFF_MIN = 60.0
SPATIAL_SERVICE_MIN = 30.0


def spatial_scenario(town: SpatialTown, seed: int, days: float) -> tuple[Scenario, np.ndarray]:
    """The town as a scenario (nearest dispatch, units at fixed posts) and its travel-time matrix.

    Posts are atoms too. Each atom's sector is the unit nearest to it (its primary response
    area). With ``backup``, a mutual-aid department whose units need an hour to set off answers
    the calls that find every fleet unit busy: nearest dispatch asks it last, so the fleet is a
    zero-line-capacity (loss) system. (A far-away depot would not do: a unit is placed at its
    last job until it is back at base, so returning mutual-aid units would be sent first.)
    """
    xy = np.array(town.bases_km + town.atoms_km, dtype=float)
    weights = np.array(town.weights, dtype=float)
    units = len(town.bases_km)
    travel = travel_minutes(np.array(town.bases_km, dtype=float), xy)
    primary = np.argmin(travel, axis=0)
    patches = [
        {"name": f"a{j}", "x_km": float(x), "y_km": float(y), "weight": float(w), "sector": f"U{primary[j] + 1}"}
        for j, ((x, y), w) in enumerate(zip(xy, weights))
    ]
    departments = [
        {
            "name": "fleet",
            "units": units,
            "base": [f"a{i}" for i in range(units)],
            "setoff_min": 0,
            "speed_kmh": SPEED_KMH,
            "powers": ["call"],
        }
    ]
    if town.backup:
        departments.append(
            {
                "name": "mutual_aid",
                "units": 40,
                "base": "a0",
                "setoff_min": BACKUP_SETOFF_MIN,
                "speed_kmh": SPEED_KMH,
                "powers": ["call"],
            }
        )
    rate = town.rho * units / SPATIAL_SERVICE_MIN
    data = {
        "name": town.name,
        "seed": seed,
        "days": days,
        "warmup_days": 2,
        "drain_days": 2,
        "territory": {"patches": patches, "detour_factor": DETOUR},
        "departments": departments,
        "incident_types": [
            _queue_type({"name": "call", "rate_per_min": rate, "service": exponential(SPATIAL_SERVICE_MIN)})
        ],
        "governance": {"instant": {"report_min": 0, "centre_min": 0}, "modes": {"nearest": {"based_on": "joint"}}},
    }
    return scenario_from_dict(data), travel


def travel_minutes(bases_km: np.ndarray, atoms_km: np.ndarray) -> np.ndarray:
    """Shape (units, atoms): set-off (0) plus road distance (straight line x detour) at the fleet's speed."""
    km = np.sqrt(((bases_km[:, None, :] - atoms_km[None, :, :]) ** 2).sum(axis=-1)) * DETOUR
    return 60.0 * km / SPEED_KMH


def check_hypercube(effort: Effort, seed: int, town: SpatialTown, days: float = 20.0) -> list[Row]:
    """Per-unit workloads, share of dispatches outside the unit's sector, travel and P(all busy) against the hypercube."""
    scenario, travel = spatial_scenario(town, seed, days * effort.scale)
    weights = np.array(town.weights, dtype=float)
    rates = weights / weights.sum() * town.rho * len(town.bases_km) / SPATIAL_SERVICE_MIN
    exact = hypercube.solve(
        rates, hypercube.nearest_preferences(travel), 1.0 / SPATIAL_SERVICE_MIN, queue=not town.backup
    )
    units = len(town.bases_km)
    simulate = partial(_spatial_replication, scenario, units)
    targets = [Mean(f"work{i}") for i in range(units)] + [Mean("outside"), Mean("travel"), Mean("all_busy")]
    cols = replicate_until(simulate, targets, effort)
    return _hypercube_rows(town, exact, travel, cols, effort)


def _spatial_replication(scenario: Scenario, units: int, r: int) -> dict:
    output = run(scenario, "nearest", replication=r)
    start, end = scenario.warmup_days * MINUTES_PER_DAY, scenario.days * MINUTES_PER_DAY
    jobs = [j for j in output.jobs if start <= j.requested_min < end]
    fleet = [j for j in jobs if j.department == "fleet"]
    index = {f"fleet-{i + 1}": i for i in range(units)}  # unit i is based at post i (sim.engine.department)
    busy = np.zeros(units)
    for j in output.jobs:
        if j.department == "fleet":
            busy[index[j.unit]] += max(0.0, min(j.done_min, end) - max(j.dispatched_min, start))
    free = [j for j in fleet if j.wait_min == 0]
    row = {f"work{i}": busy[i] / (end - start) for i in range(units)}
    row["outside"] = float(np.mean([j.sector != j.home_sector for j in fleet]))
    row["travel"] = float(np.mean([j.travel_min for j in free]))
    waited = [j.department != "fleet" or j.wait_min > 0 for j in jobs]
    row["all_busy"] = float(np.mean(waited))
    return row


def _hypercube_rows(town: SpatialTown, exact, travel, cols, effort) -> list[Row]:
    n, units = len(cols["travel"]), len(town.bases_km)
    kind = "loss, mutual aid" if town.backup else "queue"
    name = f"{town.name}: {units} units, {len(town.bases_km) + len(town.atoms_km)} atoms, rho {town.rho:g}, {kind}"
    rows = [
        theory_row(
            "hypercube",
            name,
            f"workload unit {i + 1}",
            "hypercube",
            exact.workloads[i],
            mean_estimate(cols[f"work{i}"]),
            n,
            effort,
        )
        for i in range(units)
    ]
    note = f"of fleet dispatches ({exact.dispatch_all.sum():.3f} of calls)" if town.backup else ""
    rows.append(
        theory_row(
            "hypercube",
            name,
            "share of dispatches outside own sector",
            "hypercube",
            hypercube.outside_primary_share(exact),
            mean_estimate(cols["outside"]),
            n,
            effort,
            note=note,
        )
    )
    rows.append(
        theory_row(
            "hypercube",
            name,
            "mean travel when a unit is free, min",
            "hypercube",
            hypercube.mean_travel(exact, travel),
            mean_estimate(cols["travel"]),
            n,
            effort,
        )
    )
    busy_name = "P(call finds all busy) = Erlang B" if town.backup else "P(call waits) = Erlang C"
    rows.append(
        theory_row(
            "hypercube", name, busy_name, "hypercube", exact.p_all_busy, mean_estimate(cols["all_busy"]), n, effort
        )
    )
    return rows


TOWNS = {
    "three": SpatialTown(
        "three",
        bases_km=((0.0, 0.0), (0.031, 0.004), (0.012, 0.027)),
        atoms_km=((0.009, 0.002), (0.021, 0.011), (0.003, 0.014), (0.025, 0.022), (0.017, -0.006), (-0.006, 0.019)),
        weights=(3, 1, 2, 2, 1, 1.5, 1, 2, 0.5),
        rho=0.5,
    ),
    "five": SpatialTown(
        "five",
        bases_km=((0.0, 0.0), (0.04, 0.003), (0.018, 0.033), (0.045, 0.041), (-0.012, 0.036)),
        atoms_km=(
            (0.011, 0.008),
            (0.027, -0.004),
            (0.031, 0.019),
            (0.007, 0.022),
            (0.052, 0.015),
            (0.024, 0.048),
            (-0.017, 0.012),
            (0.037, 0.032),
        ),
        weights=(2, 1, 1, 1.5, 1, 2, 1, 1, 2.5, 1, 1, 1, 1.5),
        rho=0.75,
    ),
    "four_loss": SpatialTown(
        "four",
        bases_km=((0.0, 0.0), (0.035, 0.002), (0.004, 0.03), (0.033, 0.036)),
        atoms_km=((0.015, 0.007), (0.021, 0.024), (0.009, 0.016), (0.026, 0.013), (-0.008, 0.011)),
        weights=(2, 1, 1, 0.5, 1.5, 1, 2, 1, 1),
        rho=0.6,
        backup=True,
    ),
}


# --------------------------------------------------------------------------- peer: Ciw


def check_priority(effort: Effort, seed: int, servers: int = 2, rho: float = 0.7, days: float = 20.0) -> list[Row]:
    """Two priority classes (1 and 3, served non-preemptively) against Cobham's formula and Ciw."""
    service = 10.0
    arrivals = {"urgent": rho * servers / service / 2, "routine": rho * servers / service / 2}
    types = [
        {"name": k, "rate_per_min": rate, "service": exponential(service), "priority": p}
        for (k, rate), p in zip(arrivals.items(), (1, 3))
    ]
    scenario = queue_town(
        "priority",
        seed,
        [{"name": "team", "units": servers, "powers": list(arrivals)}],
        types,
        POOLED,
        days * effort.scale,
        2.0,
    )
    cols = replicate_until(
        partial(_priority_replication, scenario, tuple(arrivals)), [Mean(k) for k in arrivals], effort
    )
    name, n = f"M/M/{servers}, two priority classes, rho {rho:g}", len(cols["urgent"])
    quantities = [("urgent", "priority 1 mean wait, min"), ("routine", "priority 3 mean wait, min")]
    exact = priority_waits(servers, list(arrivals.values()), service)
    rows = [
        theory_row("priority", name, label, "Cobham", value, mean_estimate(cols[k]), n, effort)
        for (k, label), value in zip(quantities, exact)
    ]
    theirs = partial(
        _ciw_replication,
        scenario,
        seed,
        arrivals=arrivals,
        service=service,
        servers=servers,
        priorities={"urgent": 0, "routine": 1},
    )
    return rows + _peer_rows("Ciw", name, cols, theirs, quantities, effort)


def _priority_replication(scenario: Scenario, classes: tuple, r: int) -> dict:
    records = run(scenario, "pooled", replication=r).records
    return {k: waits(measured(records, scenario, k)).mean() for k in classes}


def _peer_rows(
    group: str, name: str, mine: dict, theirs: Callable[[int], dict], quantities, effort: Effort
) -> list[Row]:
    """Rows comparing the project's replications *mine* with Ciw's (run here until precise)."""
    keys = [k for k, _ in quantities]
    n = len(mine[keys[0]])
    try:
        peer = replicate_until(theirs, [Mean(k) for k in keys], effort)
    except ImportError as err:
        return [
            _not_run(group, name, label, mean_estimate(mine[k]), n, effort, f"Ciw is not installed ({err})")
            for k, label in quantities
        ]
    return [
        peer_row(
            group,
            name,
            label,
            "Ciw",
            mean_estimate(mine[k]),
            n,
            peer[k],
            effort,
            note=f"Ciw: {len(peer[k])} replications",
        )
        for k, label in quantities
    ]


def _not_run(group, name, label, estimate: Estimate, n, effort, reason) -> Row:
    return Row(
        group,
        name,
        label,
        "Ciw",
        math.nan,
        estimate.value,
        estimate.low,
        estimate.high,
        n,
        effort.precision,
        "not run",
        note=reason,
    )


def _ciw_replication(
    scenario, seed: int, r: int, arrivals: dict, service: float, servers: int, priorities, tail: float | None = None
) -> dict:
    """One Ciw replication of the same queue, with the same horizon, warm-up and drain.

    Returns the mean wait of each class (keyed by class name) or, for one class with a
    ``tail``, the mean wait and P(wait > tail) as ``wait`` and ``tail``. Ciw's seeding is
    global (``ciw.seed``), so replications run one after another in a process.
    """
    import ciw

    ciw.seed(int(np.random.SeedSequence(seed, spawn_key=(10_000 + r,)).generate_state(1)[0]))
    network = ciw.create_network(
        arrival_distributions={k: [ciw.dists.Exponential(rate)] for k, rate in arrivals.items()},
        service_distributions={k: [ciw.dists.Exponential(1.0 / service)] for k in arrivals},
        number_of_servers=[servers],
        **({"priority_classes": priorities} if priorities else {}),
    )
    simulation = ciw.Simulation(network)
    start, end = scenario.warmup_days * MINUTES_PER_DAY, scenario.days * MINUTES_PER_DAY
    simulation.simulate_until_max_time(end + scenario.drain_days * MINUTES_PER_DAY)
    records = [x for x in simulation.get_all_records() if x.record_type == "service" and start <= x.arrival_date < end]
    if tail is not None:
        w = np.array([x.waiting_time for x in records])
        return {"wait": float(w.mean()), "tail": float((w > tail).mean())}
    return {k: float(np.mean([x.waiting_time for x in records if x.customer_class == k])) for k in arrivals}


# --------------------------------------------------------------------------- road network


def straight_road_files(folder, points: int = 9, spacing_km: float = 0.5, speed_kmh: float = 30.0):
    """A road graph that is one straight line through every patch centre, and a scenario on it.

    Patches stand at ``0, spacing, 2 spacing, ...`` km on the x axis and the road (a GraphML file,
    written with networkx from the ``geo`` extra) joins each to the next both ways, as in
    ``tests/io/test_roads.py``. The defaults are exact in binary. Returns the scenario file.
    """
    import json
    from pathlib import Path

    import networkx as nx

    folder = Path(folder)
    xs = [k * spacing_km for k in range(points)]
    graph = nx.Graph()
    for k, x in enumerate(xs):
        graph.add_node(f"n{k}", x=x, y=0.0)
    for k in range(points - 1):
        graph.add_edge(f"n{k}", f"n{k + 1}", highway="residential")
    nx.write_graphml(graph, folder / "straight.graphml")
    data = {
        "name": "straight_road",
        "territory": {
            "patches": [{"name": f"a{k}", "x_km": x, "y_km": 0.0} for k, x in enumerate(xs)],
            "detour_factor": 1.0,
        },
        "travel": {"roads": "straight.graphml", "speeds_kmh": {"residential": speed_kmh}, "cache": False},
        "departments": [{"name": "crew", "units": 1, "speed_kmh": speed_kmh, "setoff_min": 0, "powers": ["litter"]}],
        "incident_types": [{"name": "litter", "rate_per_day": 1}],
    }
    path = folder / "straight_road.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def check_straight_road(effort: Effort, seed: int, points: int = 9, speed_kmh: float = 30.0) -> list[Row]:
    """On a road that is a straight line, road travel times equal straight-line ones exactly (every pair).

    Deterministic: no replications, the share of pairs equal to the last bit must be 1. Not run
    (with the reason) when the ``geo`` extra, which reads road graphs, is not installed.
    """
    import tempfile

    from sim.engine.territory import build_town

    name = f"{points} patches on a straight road"
    quantity = "share of patch pairs: road minutes == straight-line minutes, exactly"
    try:
        import networkx  # noqa: F401
    except ImportError:
        reason = "needs the geo extra to read road graphs: pip install 'town-enforcement-sim[geo]'"
        return [Row("road network", name, quantity, "geometry", 1.0, *(math.nan,) * 3, 0, 0.0, "not run", note=reason)]
    with tempfile.TemporaryDirectory(prefix="sim-verify-") as folder:
        scenario = load_scenario(straight_road_files(folder, points, speed_kmh=speed_kmh))
    road, straight = build_town(scenario.territory, scenario.travel), build_town(scenario.territory)
    pairs = [(a, b) for a in range(points) for b in range(points)]
    differences = [abs(road.drive_min(a, b, speed_kmh) - straight.drive_min(a, b, speed_kmh)) for a, b in pairs]
    share = sum(d == 0.0 for d in differences) / len(pairs)
    longest = max(road.drive_min(a, b, speed_kmh) for a, b in pairs)
    note = (
        f"{len(pairs)} pairs through the loader and Dijkstra, largest difference {max(differences):g} min, "
        f"longest trip {longest:g} min; deterministic (one run)"
    )
    status = "pass" if share == 1.0 else "outside"
    return [Row("road network", name, quantity, "geometry", 1.0, share, share, share, 1, 0.0, status, note=note)]


# --------------------------------------------------------------------------- the list of checks


@dataclass(frozen=True)
class Check:
    """One validation check: a name, a group, whether it is in the quick subset, and what to run.

    ``run(effort)`` returns the check's rows; ``cost`` is a rough relative run time, used only
    to start the longest checks first.
    """

    name: str
    group: str
    run: Callable[[Effort], list[Row]] = field(repr=False)
    quick: bool = False
    cost: float = 1.0


def _check(name, group, fn, seed, quick=False, cost=1.0, **kwargs) -> Check:
    return Check(name, group, partial(fn, seed=seed, **kwargs), quick, cost)


CHECKS: tuple[Check, ...] = (
    _check("mm1", "M/M/c", check_mmc, 101, quick=True, cost=1, servers=1, rho=0.5),
    _check("mm3_peer", "M/M/c", check_mmc, 102, quick=True, cost=4, servers=3, rho=0.7, peer=True),
    _check("mm2_0.95", "M/M/c", check_mmc, 103, cost=1, servers=2, rho=0.95, mean_wait=False),
    _check("mm10_0.95", "M/M/c", check_mmc, 104, cost=4, servers=10, rho=0.95, tail_in_means=0.1, mean_wait=False),
    _check("mg1_lognormal", "M/G/1", check_mg1, 201, quick=True, cost=2, rho=0.6, cv=1.0),
    _check("pooling", "pooling", check_pooling, 301, quick=True, cost=6, k=2, servers=2, rho=0.7),
    _check("referral", "referral", check_referral, 401, quick=True, misroute=0.0),
    _check("referral_misroute", "referral", check_referral, 402, misroute=0.2),
    _check("sequential", "referral", check_sequential, 403),
    _check(
        "little_classroom",
        "Little's law",
        check_little,
        501,
        quick=True,
        scenario_file="classroom.yaml",
        mode="fragmented",
    ),
    _check(
        "little_anhai_frag",
        "Little's law",
        check_little,
        502,
        scenario_file="anhai_garbage.yaml",
        mode="fragmented",
        cost=2,
    ),
    _check(
        "little_anhai_unified",
        "Little's law",
        check_little,
        503,
        scenario_file="anhai_garbage.yaml",
        mode="unified",
        cost=2,
    ),
    _check("shift_utilisation", "utilisation", check_shift_utilisation, 601, quick=True),
    _check("hypercube_three", "hypercube", check_hypercube, 701, quick=True, cost=2, town=TOWNS["three"]),
    _check("hypercube_five", "hypercube", check_hypercube, 702, cost=3, town=TOWNS["five"]),
    _check("hypercube_four_loss", "hypercube", check_hypercube, 703, cost=2, town=TOWNS["four_loss"]),
    _check("priority", "priority", check_priority, 801, cost=6, servers=2, rho=0.7),
    _check("straight_road", "road network", check_straight_road, 901, quick=True, cost=0.1),
    _check("centres_in_series", "centres", check_centres, 902, cost=2),
)


# --------------------------------------------------------------------------- running and reporting


@dataclass(frozen=True)
class Report:
    """The outcome of a validation run.

    Attributes
    ----------
    rows:
        Every row of every check, in the order of :data:`CHECKS`.
    seconds:
        Check name -> (CPU seconds, wall seconds) of the process that ran it.
    effort, jobs, wall_seconds:
        How it was run and how long it took.
    solver:
        The hypercube solver against the published example (:func:`solver_example`).
    """

    rows: tuple[Row, ...]
    seconds: dict
    effort: Effort
    jobs: int
    wall_seconds: float
    solver: tuple = ()

    @property
    def passed(self) -> int:
        """Rows that passed."""
        return sum(r.passed for r in self.rows)


def run_checks(
    quick: bool = False,
    jobs: int = 1,
    checks: Sequence[Check] | None = None,
    effort: Effort | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the checks (the quick subset with ``quick``), on ``jobs`` processes.

    Parameters
    ----------
    quick:
        Run only the quick subset, with the :data:`QUICK` effort.
    jobs:
        Worker processes; 1 runs everything here.
    checks:
        Checks to run instead of the default selection.
    effort:
        Effort to use instead of :data:`QUICK` or :data:`FULL`.
    progress:
        Called with a line of text as each check finishes.
    """
    effort = effort or (QUICK if quick else FULL)
    selected = list(checks) if checks is not None else [c for c in CHECKS if c.quick or not quick]
    started = time.perf_counter()
    longest_first = sorted(selected, key=lambda c: -c.cost)
    results = {}
    for check, outcome in _execute(longest_first, effort, jobs):
        results[check.name] = outcome
        if progress:
            progress(
                f"{check.name}: {sum(r.passed for r in outcome[0])} of {len(outcome[0])} pass ({outcome[1]:.0f} s CPU)"
            )
    rows = tuple(row for c in selected for row in results[c.name][0])
    seconds = {c.name: results[c.name][1:] for c in selected}
    return Report(rows, seconds, effort, jobs, time.perf_counter() - started, solver_example())


def _execute(checks: list[Check], effort: Effort, jobs: int):
    """Yield (check, (rows, CPU s, wall s)) as checks finish, here or on a pool of processes."""
    if jobs <= 1:
        for check in checks:
            yield check, _timed(check, effort)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_timed, check, effort): check for check in checks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _timed(check: Check, effort: Effort) -> tuple[list[Row], float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    rows = check.run(effort)
    return rows, time.process_time() - cpu, time.perf_counter() - wall


# --------------------------------------------------------------------------- the published hypercube example

LARSON_ODONI = {
    "rates": (0.25, 0.25, 0.25, 0.35, 0.40),
    "preferences": ((0, 1, 2), (0, 1, 2), (0, 2, 1), (1, 0, 2), (2, 0, 1)),
}
"""Larson and Odoni's three-unit, ten-atom city (section 5.4.3) as preference classes (units 0-2).

Unit 1's primary area carries 0.75 calls per mean service time, unit 2's (atoms 3, 5, 6) 0.35,
unit 3's 0.40; unit 1 backs up every atom outside its area; unit 2 backs up atoms 1 and 2,
unit 3 atom 4. Merging atoms with the same preference list leaves the chain unchanged. The
split of unit 1's area (atoms 1 and 2: 0.25 each; the rest, backed up by unit 3: 0.25) is not in
the text; it reproduces the published workloads and f11.
"""


def solver_example() -> tuple[tuple[str, float, float, float], ...]:
    """The solver on Larson and Odoni's example: (quantity, published, solved, tolerance) per figure.

    The tolerance is the rounding of the published figure (and 1e-4 for the share outside the
    primary area, which the book seems to have summed from rounded f_nj).
    """
    s = hypercube.solve(LARSON_ODONI["rates"], LARSON_ODONI["preferences"], 1.0, queue=True)
    figures = [("P(call is queued) = Erlang C(3, 1.5)", 0.23684, s.p_all_busy, 5e-6)]
    figures += [(f"workload unit {i + 1}", w, s.workloads[i], 5e-5) for i, w in enumerate((0.5574, 0.4734, 0.4693))]
    figures += [
        ("f11, share of dispatches sending unit 1 to atom 1", 0.087, s.dispatch_all[0, 0], 5e-4),
        ("share of dispatches outside the primary area", 0.43529, hypercube.outside_primary_share(s), 1e-4),
    ]
    return tuple((name, published, float(solved), tol) for name, published, solved, tol in figures)


# --------------------------------------------------------------------------- the document

GROUPS = (
    "M/M/c",
    "M/G/1",
    "pooling",
    "referral",
    "Little's law",
    "utilisation",
    "hypercube",
    "priority",
    "road network",
    "centres",
    "Ciw",
)
"""Order of the document's sections."""

NOTES = {
    "centres": "Command centres at two levels (governance.centres): one patch, instant reporting, 400 units (no "
    "wait for a unit), a town centre that passes every report up to a city centre. Handling is exponential; "
    "the time from reaching the town centre to dispatch is both Erlang C waits plus both handlings (Burke: an "
    "M/M/c queue's departures are Poisson, so the two centres form a Jackson network). Utilisation is the "
    "centres' own busy / on-duty accounting.",
    "M/M/c": "One patch, no set-off, instant reporting (hotline with probability 1 and no delay, centre "
    "and posting in 0 min): the response time is the wait in queue. Service is exponential with mean 10 min. "
    "Utilisation is the model's own busy / on-duty accounting. At utilisation 0.95 the tail P(wait > t) is "
    "checked, not the mean wait: a 2% interval on the mean would need about 3e7 simulated calls.",
    "M/G/1": "As M/M/c with one unit and lognormal service (mean 10 min, coefficient of variation 1): "
    "mean wait = lambda E[S^2] / (2 (1 - rho)).",
    "pooling": "k departments with c/k units, each with power over its own incident type only (its share of "
    "the load), against the unified mode that pools their powers; information is instant and there is no "
    "travel, so fragmented and unified differ only in who may act. Both modes replay the same incidents "
    "(common random numbers); the ratio's interval is a delta-method interval over paired replications.",
    "referral": "Fragmented mode with desks open round the clock, fixed hand-overs of 30 min, two steps "
    "from a hotline report (and two for the hand-over between departments), no travel. Misrouting repeats "
    "with probability p and adds two hand-overs each time. Random delays independent of the arrivals keep "
    "the arrivals Poisson; departures of an M/M/c queue are Poisson (Burke), so the second department of a "
    "sequential matter is an M/M/c queue too.",
    "Little's law": "Shipped scenario files, a week of warm-up and whole weeks measured (so office hours "
    "and weekends repeat), then a week in which matters still arrive (so that those detected at the end of "
    "the window are handled as in the steady state), 14 days of drain. L is the time-average number of matters detected and not yet "
    "resolved, from the records' timestamps; lambda the detections per minute in the window and W the mean "
    "detection-to-resolution time of the matters detected in it.",
    "utilisation": "Day shift of 6 units (08:00-20:00), night shift of 3, demand twice as high by day; "
    "expected utilisation = offered work / on-duty unit-minutes computed from the shift windows.",
    "Ciw": "The same queues run in Ciw (a test-only dependency): same arrival and service rates, servers, "
    "horizon, warm-up and drain; non-preemptive priority classes for the two-class queue. A row passes when "
    "the 99% Welch interval of the difference (project minus Ciw) holds 0 and both intervals meet the "
    "precision target; 'expected' is Ciw's estimate with its half-width.",
    "hypercube": "Larson's hypercube model solved exactly (sim.verification.larson_hypercube) against dispatch 'nearest' with "
    "units at fixed posts. Posts and atoms (patches) lie a few tens of metres apart and units drive at "
    "300 km/h with no set-off, so travel (about 0.005 min) and the return to base are negligible next to "
    "the exponential service of 30 min: idle units are at their posts and busy time is exponential, as the "
    "hypercube assumes. Each atom's sector is its nearest unit (the primary response area). Mean travel is "
    "over dispatches that found a unit free (from its post); a unit taking a queued call travels from its last "
    "job, which the hypercube does not model. 'loss' adds a mutual-aid department whose units need 60 min to "
    "set off, so nearest dispatch uses it only when every fleet unit is busy: the fleet is a zero-line-capacity "
    "system. The solver itself is checked in tests/verification/test_larson_hypercube.py against Larson and Odoni's 3-unit example "
    "and hand-solved cases.",
    "road network": "Travel on a road network (travel.roads) against straight-line travel (detour factor 1): "
    "patches 0.5 km apart on the x axis and a road graph (GraphML) that is one straight line through them, read "
    "through the scenario loader, patches snapped to their nodes, shortest paths by Dijkstra. Every travel time "
    "must equal the straight-line one to the last bit. Not run without the geo extra (networkx reads the graph).",
    "priority": "Two incident types with priority 1 and 3, half the load each, one queue served "
    "non-preemptively, lowest number first. Cobham's formula for M/M/c with equal service rates gives each "
    "class's mean wait (the Ciw section runs the same queue in Ciw).",
}


def _num(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


def _status(row: Row) -> str:
    return {"pass": "pass", "outside": "**FAIL** (outside)", "imprecise": "**FAIL** (imprecise)"}.get(
        row.status, row.status
    )


def _table_row(row: Row) -> str:
    expected = _num(row.expected) + (f" ± {_num(row.expected_half)}" if row.expected_half else "")
    cells = [
        row.check,
        row.quantity,
        row.reference,
        expected,
        _num(row.simulated),
        f"[{_num(row.low)}, {_num(row.high)}]",
        f"{100 * row.half_width:.2f}%",
        f"{100 * row.relative_error:+.2f}%" if math.isfinite(row.relative_error) else "-",
        str(row.replications),
        _status(row) + (f" — {row.note}" if row.note else ""),
    ]
    return "| " + " | ".join(cells) + " |"


def headline(report: Report) -> str:
    """``N of M checks pass`` with the reasons for the others."""
    rows = report.rows
    counts = {s: sum(r.status == s for r in rows) for s in ("outside", "imprecise", "not run")}
    others = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    text = f"{report.passed} of {len(rows)} checks pass" + (f" ({others})" if others else "")
    if report.solver:
        ok = sum(abs(solved - published) <= tol for _, published, solved, tol in report.solver)
        text += f"; the hypercube solver matches {ok} of {len(report.solver)} published figures"
    return text


def format_report(report: Report) -> str:
    """The validation table as Markdown (what ``python -m sim verify --out`` writes)."""
    effort = report.effort
    lines = [
        "# Validation",
        "",
        f"Generated by `python -m sim verify{' --quick' if effort.name == 'quick' else ''}` "
        f"(sim {__version__}, numpy {np.__version__}{_ciw_version()}); do not edit by hand.",
        "",
        f"**{headline(report)}.** A check passes when the reference value lies inside the simulation's "
        f"{CONFIDENCE:.0%} confidence interval (Student t over independent replications) and the interval's "
        f"half-width is at most {effort.precision:.0%} of the estimate. Replications are added in stages until "
        f"every interval of a check is that narrow (at most {effort.max_replications}). At {CONFIDENCE:.0%}, "
        "about one row in a hundred falls outside its interval by chance alone.",
        "",
        f"Run: {effort.name}, {report.jobs} worker process(es), {report.wall_seconds / 60:.1f} min wall clock "
        "(other work on the machine included).",
        "",
    ]
    present = {r.group for r in report.rows}
    for group in [g for g in GROUPS if g in present] + sorted(present - set(GROUPS)):
        lines += _group_section(group, [r for r in report.rows if r.group == group])
    lines += _solver_section(report.solver)
    cpu = sum(c for c, _ in report.seconds.values())
    lines += [
        "## Run time per check",
        "",
        f"CPU seconds of the process that ran each check (total {cpu:.0f} s; "
        f"about {cpu / 60 / max(report.jobs, 1):.1f} min of wall clock on {report.jobs} free core(s)).",
        "",
        "| check | CPU seconds | wall seconds |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {cpu:.0f} | {wall:.0f} |" for name, (cpu, wall) in report.seconds.items()]
    return "\n".join(lines) + "\n"


def _solver_section(solver) -> list[str]:
    if not solver:
        return []
    ok = sum(abs(solved - published) <= tol for _, published, solved, tol in solver)
    out = [
        "## hypercube solver against the published example",
        "",
        f"Larson and Odoni, *Urban Operations Research* (1981), section 5.4.3: three units, ten atoms, "
        f"utilisation 0.5, reconstructed as preference classes (see `sim.verification.checks.LARSON_ODONI`). "
        f"The exact solver matches {ok} of {len(solver)} published figures within their rounding.",
        "",
        "| quantity | published | solver | difference | tolerance |",
        "|---|---|---|---|---|",
    ]
    out += [
        f"| {name} | {published:g} | {solved:.6f} | {solved - published:+.1e} | {tol:g} |"
        for name, published, solved, tol in solver
    ]
    return out + [""]


def _group_section(group: str, rows: list[Row]) -> list[str]:
    header = "| check | quantity | reference | expected | simulated | 99% interval | half-width | rel. error | reps | result |"
    out = [f"## {group}", ""]
    if group in NOTES:
        out += [NOTES[group], ""]
    out += [header, "|" + "---|" * 10]
    out += [_table_row(r) for r in rows]
    return out + [""]


def _ciw_version() -> str:
    try:
        import ciw
    except ImportError:
        return ", Ciw not installed"
    return f", Ciw {ciw.__version__}"
