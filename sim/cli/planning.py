"""Commands that answer planners' questions: ``decompose``, ``staff`` and ``sensitivity``.

``decompose SCENARIO`` -- which lever of the reform buys how much (:mod:`sim.planning.decompose`);
``staff SCENARIO --target "p90 response <= 30"`` -- how many units a team needs (:mod:`sim.planning.staffing`);
``sensitivity SWEEP.yaml`` -- which parameters matter (:mod:`sim.planning.sensitivity`).
Each prints a table and, with ``--out DIR``, writes JSON, CSV and figures there.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from sim.cli.common import BACKENDS, check_counts, load, run_options, scenario_options, user_error
from sim.presentation.text import text_table

ORDER = 50


def register(sub) -> None:
    """Add decompose, staff and sensitivity."""
    _register_decompose(sub)
    _register_staff(sub)
    _register_sensitivity(sub)


def _backend_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--backend", choices=BACKENDS, help="where runs execute (default: processes; dask if --scheduler is given)"
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    return parser


def _backend(args) -> dict:
    if args.workers is not None and args.workers < 1:
        raise user_error("--workers", f"expected 1 or more; got {args.workers}")
    return {
        "backend": args.backend or ("dask" if args.scheduler else "processes"),
        "workers": args.workers,
        "scheduler": args.scheduler,
    }


def _confidence(args) -> float:
    if not 0.5 <= args.confidence < 1:
        raise user_error("--confidence", f"expected a number from 0.5 to below 1, e.g. 0.95; got {args.confidence}")
    return args.confidence


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _num(value, signed: bool = False, digits: int = 3) -> str:
    """A number for a table: thousands separated, *digits* significant figures below ``10**digits``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    sign = "+" if signed and value > 0 else ""
    if abs(value) >= 10 ** (digits - 1):
        return f"{sign}{value:,.0f}"
    return f"{sign}{value:.{digits}g}" if abs(value) >= 0.01 or value == 0 else f"{sign}{value:.1e}"


def _with_ci(stats: dict | None, signed: bool = False, digits: int = 3) -> str:
    """``mean [low, high]`` of a dict with mean, ci_low, ci_high."""
    if not stats or stats.get("mean") is None:
        return "-"
    text = _num(stats["mean"], signed, digits)
    if stats.get("ci_low") is not None:
        text += f" [{_num(stats['ci_low'], digits=digits)}, {_num(stats['ci_high'], digits=digits)}]"
    return text


def _save_figures(figures: dict, out: Path) -> list[Path]:
    from sim.presentation.files import save_figures

    return save_figures(figures, out / "figures")


# --------------------------------------------------------------------------- decompose


def _register_decompose(sub) -> None:
    p = sub.add_parser(
        "decompose",
        parents=[scenario_options(), run_options(), _backend_options()],
        help="which lever of the reform buys how much: a full factorial over the levers, with intervals",
        description="Switch the levers that differ between two modes (authority pooling, the shared instant channel, "
        "nearest-unit dispatch, concurrent coordination) in every combination, on common random numbers, and report each "
        "lever's Shapley share of the change, its change when switched alone and last, and the factorial main effects and "
        "interactions, with t-intervals over replications. The information lever carries leave_probability with it.",
    )
    p.add_argument("--from", dest="low", default="fragmented", help="mode to start from (default fragmented)")
    p.add_argument("--to", dest="high", default="unified", help="mode to end at (default unified)")
    p.add_argument("--metrics", help="comma-separated metric paths (default response_min.median,response_min.p90)")
    p.add_argument("--type", dest="incident_type", help="also report the median and p90 response of this incident type")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence of the intervals (default 0.95)")
    p.set_defaults(handler=_cmd_decompose, replications=5)


def _decompose_metrics(args, scenario) -> list[str]:
    from sim.planning.decompose import DEFAULT_METRICS

    metrics = _list(args.metrics) or list(DEFAULT_METRICS)
    if args.incident_type:
        types = [t.name for t in scenario.incident_types]
        if args.incident_type not in types:
            raise user_error(
                "--type", f"unknown incident type '{args.incident_type}'; expected one of: {', '.join(types)}"
            )
        metrics = [f"by_type.{args.incident_type}.response_min.{s}" for s in ("median", "p90")] + metrics
    return list(dict.fromkeys(metrics))


def _cmd_decompose(args) -> int:
    from sim.planning.decompose import decompose

    check_counts(args)
    scenario = load(args)
    started = time.perf_counter()
    result = decompose(
        scenario,
        _decompose_metrics(args, scenario),
        args.replications,
        args.seed,
        args.low,
        args.high,
        confidence=_confidence(args),
        **_backend(args),
    )
    data = result.as_dict()
    print(format_decomposition(data, time.perf_counter() - started))
    if args.out:
        paths = _write_decomposition(Path(args.out), result, data)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _lever_value_text(lever: str, value) -> str:
    if lever == "closed_loop":
        return "on" if value else "off"
    if lever == "authority":
        return ", ".join(value) or "none"
    if lever == "information":
        return f"{value[0]} (leave_probability {value[1]:g})"
    return str(value)


def format_decomposition(data: dict, runtime_s: float | None = None) -> str:
    """What ``decompose`` prints: the levers, then per metric the shares, the effects and the ends."""
    k = len(data["levers"])
    lines = [
        f"Levers from '{data['from']}' to '{data['to']}' in {data['scenario']}: {2**k} ways of working x {data['replications']} "
        f"replications on common random numbers (seed {data['seed']})"
        + (f", {runtime_s:.1f} s." if runtime_s is not None else "."),
    ]
    for lever in data["levers"]:
        off, on = data["lever_values"][lever]
        lines.append(f"  {lever:<13} {_lever_value_text(lever, off)} -> {_lever_value_text(lever, on)}")
    for lever, value in data["fixed"].items():
        lines.append(f"  {lever:<13} held at {_lever_value_text(lever, value)} (not varied)")
    lines.append(
        "  (leave_probability goes with the information lever: a unit leaves what it may not act on only under referral working)"
    )
    lines.append(
        f"Intervals: {100 * data['confidence']:g}% t-intervals over replications of per-replication contrasts."
    )
    for table in data["metrics"].values():
        lines += ["", *_metric_lines(table)]
    return "\n".join(lines)


def _metric_lines(table: dict) -> list[str]:
    from sim.presentation.figures import metric_words

    lines = [
        (
            f"{metric_words(table['metric'])} ({table['metric']}, minutes): {table['low']} {_with_ci(table['from'])} -> "
            f"{table['high']} {_with_ci(table['to'])}; change {_with_ci(table['change'], signed=True)}"
        )
    ]
    mains = {e["term"]: e for e in table["effects"] if e["kind"] == "main effect"}
    rows = [
        [
            s["lever"],
            _with_ci(s["shapley"], True),
            _with_ci(s["alone"], True),
            _with_ci(s["last"], True),
            f"{_num(s['context_min'], True)} to {_num(s['context_max'], True)}",
            _with_ci(mains[s["lever"]], True),
        ]
        for s in table["shares"]
    ]
    header = ["lever", "Shapley share", "switched alone", "switched last", "range over contexts", "main effect"]
    lines.append(text_table(header, rows, rule=False))
    interactions = [e for e in table["effects"] if e["kind"] != "main effect"]
    clear = [e for e in interactions if e["ci_low"] is not None and (e["ci_low"] > 0 or e["ci_high"] < 0)]
    for e in clear:
        lines.append(f"  interaction {e['term']}: {_with_ci(e, True)}")
    if interactions:
        lines.append(
            f"  {len(interactions) - len(clear)} of {len(interactions)} interactions have intervals that include 0 (all in effects.csv with --out)"
        )
    from sim.stats.metrics import MIN_INTERVAL_REPLICATIONS

    if table["replications_used"] < MIN_INTERVAL_REPLICATIONS:
        lines.append(
            f"  (fewer than {MIN_INTERVAL_REPLICATIONS} replications have this metric in every mode: no intervals)"
        )
    return lines


def _effect_rows(data: dict) -> list[dict]:
    rows = []
    for metric, table in data["metrics"].items():
        for e in table["effects"]:
            rows.append(
                {
                    "metric": metric,
                    "term": e["term"],
                    "kind": e["kind"],
                    "mean": e["mean"],
                    "ci_low": e["ci_low"],
                    "ci_high": e["ci_high"],
                }
            )
        for s in table["shares"]:
            for what in ("shapley", "alone", "last"):
                rows.append(
                    {
                        "metric": metric,
                        "term": s["lever"],
                        "kind": what,
                        **{k: s[what][k] for k in ("mean", "ci_low", "ci_high")},
                    }
                )
    return rows


def _value_rows(result) -> list[dict]:
    return [
        {"metric": metric, "mode": corner, "replication": r, "value": None if math.isnan(v) else float(v)}
        for metric, values in result.values.items()
        for r, row in enumerate(values)
        for corner, v in zip(result.corners, row)
    ]


def _write_decomposition(out: Path, result, data: dict) -> list[Path]:
    from sim.experiments.runs import csv_text
    from sim.io.results import write_atomic
    from sim.presentation.figures import figure_waterfall

    paths = [
        write_atomic(out / "decompose.json", _json_with_provenance(data)),
        write_atomic(
            out / "effects.csv", csv_text(_effect_rows(data), ["metric", "term", "kind", "mean", "ci_low", "ci_high"])
        ),
        write_atomic(out / "runs.csv", csv_text(_value_rows(result), ["metric", "mode", "replication", "value"])),
    ]
    return paths + _save_figures({"waterfall": figure_waterfall(data)}, out)


# --------------------------------------------------------------------------- staff


def _register_staff(sub) -> None:
    p = sub.add_parser(
        "staff",
        parents=[scenario_options(), _backend_options()],
        help="the smallest number of units that meets a target, found by simulation that accounts for noise",
        description="Search over the units of a department, or of a team scaled together, for the smallest count whose "
        "interval of the metric lies on the target's side; replications are added at each count until it is clear (or "
        "--max-replications, then 'undecided', treated as not met). The same question is answered for --baseline.",
    )
    p.add_argument(
        "--target",
        required=True,
        help='e.g. "p90 response <= 30", "median response of garbage_overflow <= 20", '
        '"within target >= 90%%", or a metric path: "response_min.p90 <= 30"',
    )
    p.add_argument("--mode", default="unified", help="the mode to staff (default unified)")
    p.add_argument(
        "--baseline", default="fragmented", help="the mode to compare with (default fragmented; 'none' to skip)"
    )
    p.add_argument(
        "--department",
        action="append",
        default=[],
        help="department to staff (repeatable: scaled together); default the departments pooled into --mode's team",
    )
    p.add_argument(
        "--centre",
        action="store_true",
        help="size the command centre's operators (governance.instant.operators) "
        "instead of a department; a baseline that does not go through the centre is skipped",
    )
    p.add_argument("--seed", type=int, help="base random seed (default: the scenario's)")
    p.add_argument("--days", type=float, help="simulated days (default: the scenario's)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence of each decision (default 0.95)")
    p.add_argument(
        "--min-replications", type=int, default=5, help="replications at each count before deciding (default 5)"
    )
    p.add_argument(
        "--max-replications", type=int, default=30, help="most replications at a count; then undecided (default 30)"
    )
    p.add_argument("--max-units", type=int, help="most units to try (default 4x the scenario's, at least 20 more)")
    p.add_argument("--out", help="folder for staffing.json, trials.csv and figures (report and plot read it)")
    p.set_defaults(handler=_cmd_staff)


def _staff_rule(args):
    from sim.planning.staffing import Rule
    from sim.stats.metrics import MIN_INTERVAL_REPLICATIONS

    if args.min_replications < MIN_INTERVAL_REPLICATIONS:
        raise user_error(
            "--min-replications",
            f"expected at least {MIN_INTERVAL_REPLICATIONS} (no interval comes from fewer); got {args.min_replications}",
        )
    if args.max_replications < args.min_replications:
        raise user_error(
            "--max-replications",
            f"expected at least --min-replications ({args.min_replications}); got {args.max_replications}",
        )
    return Rule(_confidence(args), args.min_replications, args.max_replications, batch=args.min_replications)


def _cmd_staff(args) -> int:
    from sim.planning.staffing import centre_operators, parse_target, staff, team_of, uses_centre

    check_counts(args)
    scenario = load(args)
    target = parse_target(args.target, scenario)
    rule = _staff_rule(args)
    modes = [args.mode] + ([args.baseline] if args.baseline not in ("none", args.mode) else [])
    if args.centre:
        centre_operators(scenario, args.mode)
        team: tuple[str, ...] = ()
        modes = [args.mode] + [m for m in modes[1:] if m in scenario.governance.modes and uses_centre(scenario, m)]
    else:
        team = team_of(scenario, args.mode, args.department)
    options = dict(rule=rule, seed=args.seed, max_units=args.max_units, centre=args.centre, **_backend(args))
    results = [staff(scenario, target, mode, team, **options) for mode in modes]
    print(format_staffing(results))
    if args.out:
        seed = scenario.seed if args.seed is None else args.seed
        paths = _write_staffing(Path(args.out), scenario, seed, args.target, results)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


TRIAL_COLUMNS = [
    "mode",
    "units",
    "people",
    "allocation",
    "replications",
    "mean",
    "ci_low",
    "ci_high",
    "verdict",
    "answer",
]


def _trial_rows(results: list) -> list[dict]:
    return [
        {
            "mode": r.mode,
            "units": t.units,
            "people": r.people(t.allocation),
            "allocation": _allocation_text(t.allocation),
            "replications": len(t.values),
            "mean": t.mean,
            "ci_low": t.ci_low,
            "ci_high": t.ci_high,
            "verdict": t.verdict,
            "answer": t.units == r.answer,
        }
        for r in results
        for _, t in sorted(r.trials.items())
    ]


def _write_staffing(out: Path, scenario, seed: int, target_text: str, results: list) -> list[Path]:
    """``staffing.json`` (every result), ``trials.csv`` (one row per mode and count tried) and the staffing figure."""
    from sim.experiments.runs import csv_text
    from sim.io.results import write_atomic
    from sim.presentation.figures import figure_staffing

    data = {
        "scenario": scenario.name,
        "seed": seed,
        "target": target_text,
        "results": [r.as_dict() for r in results],
    }
    paths = [
        write_atomic(out / "staffing.json", _json_with_provenance(data)),
        write_atomic(out / "trials.csv", csv_text(_trial_rows(results), TRIAL_COLUMNS)),
    ]
    return paths + _save_figures({"staffing": figure_staffing(data)}, out)


def _allocation_text(allocation: dict) -> str:
    return ", ".join(f"{d} {n}" for d, n in allocation.items())


def _people_text(result, allocation: dict) -> str:
    """``enforcement 8 units x 2 = 16 people, traffic 4 x 2 = 8``."""
    return ", ".join(f"{d} {n} x {result.crew.get(d, 1)}" for d, n in allocation.items())


def _trial_interval(trial) -> str:
    """The metric's mean and interval at a count, to four figures (the target may sit near an end)."""
    return _with_ci({"mean": trial.mean, "ci_low": trial.ci_low, "ci_high": trial.ci_high}, digits=4)


def _trial_text(trial) -> str:
    return f"{_trial_interval(trial)} ({trial.verdict}, {len(trial.values)} replications)"


def format_staffing(results: list) -> str:
    """What ``staff`` prints: the answer per mode, the intervals at it and one unit fewer, and every count tried."""
    first = results[0]
    rule = first.rule
    lines = [
        (
            f"Target: {first.target.text}  (read as {first.target}; the metric of one replication, {100 * rule.confidence:g}% "
            f"t-interval over {rule.min_replications}-{rule.max_replications} replications)"
        ),
        f"Staffing {', '.join(first.departments)} (scaled together from {first.current} units); searched {first.low}-{first.high} units.",
    ]
    for result in results:
        lines += ["", *_staffing_lines(result)]
    if len(results) > 1:
        lines += ["", _comparison_line(results)]
    return "\n".join(lines)


def _staffing_lines(result) -> list[str]:
    if result.answer is None:
        top = result.trials[max(result.trials)]
        lines = [
            f"{result.mode}: not shown to meet it with up to {result.high} units; at {top.units}: {_trial_text(top)}. {result.runs} runs."
        ]
    else:
        at, fewer = result.at_answer, result.one_fewer
        lines = [
            f"{result.mode}: {result.answer} units = {result.answer_people} people ({_people_text(result, at.allocation)}) "
            f"meet it: {_trial_text(at)}"
        ]
        if fewer is not None:
            lines.append(f"  at {fewer.units} units: {_trial_text(fewer)}")
        else:
            lines.append(f"  {result.answer} is the fewest units searched")
        lines.append(f"  {result.runs} runs over {len(result.trials)} unit counts.")
    rows = [
        [
            str(n),
            str(result.people(t.allocation)),
            _allocation_text(t.allocation),
            str(len(t.values)),
            _trial_interval(t),
            t.verdict,
        ]
        for n, t in sorted(result.trials.items())
    ]
    lines.append(text_table(["units", "people", "allocation", "reps", "mean [interval]", "verdict"], rows, rule=False))
    if any(t.verdict == "undecided" for t in result.trials.values()):
        lines.append(
            "  (undecided: the interval still straddles the target at the most replications; counted as not shown to meet it)"
        )
    return lines


def _comparison_line(results: list) -> str:
    first, other = results[0], results[1]
    if first.answer is None and other.answer is None:
        return f"Neither {first.mode} nor {other.mode} is shown to meet the target with up to {first.high} units."
    if other.answer is None:
        return (
            f"{first.mode} needs {first.answer} units ({first.answer_people} people); "
            f"{other.mode} is not shown to meet the target with up to {other.high}."
        )
    if first.answer is None:
        return (
            f"{other.mode} needs {other.answer} units ({other.answer_people} people); "
            f"{first.mode} is not shown to meet the target with up to {first.high}."
        )
    diff = other.answer - first.answer
    people = (other.answer_people or 0) - (first.answer_people or 0)
    return (
        f"{first.mode} needs {first.answer} units ({first.answer_people} people), {other.mode} {other.answer} "
        f"({other.answer_people} people): {abs(diff)} units ({abs(people)} people) {'fewer' if diff >= 0 else 'more'} under {first.mode}."
    )


# --------------------------------------------------------------------------- sensitivity


def _register_sensitivity(sub) -> None:
    p = sub.add_parser(
        "sensitivity",
        parents=[_backend_options()],
        help="which parameters matter: Sobol indices or Morris screening over a sweep file's parameter ranges (SALib)",
        description="Sample the ranges of a sweep file's parameters with SALib, run every point (each mode, the sweep's "
        "replications, common random numbers) on the chosen backend, and report first-order and total Sobol indices "
        "(or Morris mu* and sigma) with intervals, per mode and metric.",
    )
    p.add_argument("sweep", help="sweep YAML file whose parameters have {low, high} ranges (or lists of categories)")
    p.add_argument(
        "--method", choices=["sobol", "morris"], default="sobol", help="sobol (S1, ST; default) or morris (screening)"
    )
    p.add_argument(
        "--samples",
        type=int,
        help="SALib's N: Sobol runs N(D+2) points (N a power of 2), Morris N(D+1) (default: the sweep's samples)",
    )
    p.add_argument("--metrics", help="comma-separated metric paths (default: the sweep's)")
    p.add_argument("--modes", help="comma-separated modes (default: the sweep's)")
    p.add_argument("--seed", type=int, help="seed of the sample and the runs (default: the sweep's)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence of the intervals (default 0.95)")
    p.add_argument("--out", help="folder for sensitivity.json, indices.csv, runs.csv and figures")
    p.set_defaults(handler=_cmd_sensitivity)


def _cmd_sensitivity(args) -> int:
    from sim.planning.sensitivity import sensitivity

    if args.samples is not None and args.samples < 2:
        raise user_error("--samples", f"expected 2 or more; got {args.samples}")
    check_counts(args)
    started = time.perf_counter()
    result = sensitivity(
        args.sweep,
        args.method,
        args.samples,
        _list(args.metrics) or None,
        _list(args.modes) or None,
        args.seed,
        confidence=_confidence(args),
        **_backend(args),
    )
    print(format_sensitivity(result, time.perf_counter() - started))
    if args.out:
        paths = _write_sensitivity(Path(args.out), result)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def format_sensitivity(result, runtime_s: float | None = None) -> str:
    """What ``sensitivity`` prints: per mode and metric, the parameters by total index (or mu*)."""
    sobol = result.method == "sobol"
    lines = [
        f"Sensitivity of '{result.name}' ({result.method}, N = {result.samples}): {len(result.points)} points x "
        f"{len(result.modes)} mode(s) x {result.replications} replication(s) = {len(result.runs)} runs"
        + (f", {runtime_s:.1f} s." if runtime_s is not None else "."),
        f"Intervals: {100 * result.confidence:g}% bootstrap (SALib). Every point runs the same seeds (common random numbers).",
    ]
    for mode in result.modes:
        for metric in result.metrics:
            lines += ["", f"{mode}: {metric}"]
            if (mode, metric) in result.skipped:
                lines.append(f"  no indices: {result.skipped[(mode, metric)]}")
                continue
            rows = [r for r in result.indices if r["mode"] == mode and r["metric"] == metric]
            key = "ST" if sobol else "mu_star"
            rows.sort(key=lambda r: -(r[key] or 0))
            lines.append(_index_table(rows, sobol))
    return "\n".join(lines)


def _pm(value, conf, share: bool = True) -> str:
    """``value ± conf``: shares (Sobol indices) to three decimals, effects in the metric's units to four figures."""

    def text(v):
        return f"{v:.3f}" if share else _num(v, digits=4)

    return "-" if value is None else f"{text(value)} ± {text(conf)}" if conf is not None else text(value)


def _index_table(rows: list[dict], sobol: bool) -> str:
    if sobol:
        body = [[r["parameter"], _pm(r["S1"], r["S1_conf"]), _pm(r["ST"], r["ST_conf"])] for r in rows]
        return text_table(["parameter", "S1 (first order)", "ST (total)"], body, rule=False)
    body = [
        [
            r["parameter"],
            _pm(r["mu_star"], r["mu_star_conf"], False),
            _pm(r["sigma"], None, False),
            _pm(r["mu"], None, False),
        ]
        for r in rows
    ]
    return text_table(["parameter", "mu* (mean |effect|)", "sigma", "mu"], body, rule=False)


def _write_sensitivity(out: Path, result) -> list[Path]:
    import re

    from sim.experiments.runs import csv_text
    from sim.io.results import write_atomic
    from sim.presentation.figures import figure_sensitivity

    data = result.as_dict()
    index_columns = [
        "mode",
        "metric",
        "parameter",
        *(
            ["S1", "S1_conf", "ST", "ST_conf"]
            if result.method == "sobol"
            else ["mu_star", "mu_star_conf", "sigma", "mu"]
        ),
    ]
    run_columns = ["point", *(f.path for f in result.factors), "mode", "replication", "seed", *result.metrics, "error"]
    paths = [
        write_atomic(out / "sensitivity.json", _json_with_provenance(data)),
        write_atomic(out / "indices.csv", csv_text(result.indices, index_columns)),
        write_atomic(out / "runs.csv", csv_text(result.runs, run_columns)),
    ]
    figures = {}
    for metric in result.metrics:
        if any(r["metric"] == metric for r in result.indices):
            stem = "sensitivity_" + re.sub(r"[^A-Za-z0-9]+", "_", metric).strip("_")
            figures[stem] = figure_sensitivity(data, metric)
    return paths + _save_figures(figures, out)


def _json_with_provenance(data: dict) -> str:
    """A planning result as JSON text, with the provenance block (:func:`sim.io.provenance.provenance`) beside it."""
    from sim.io.provenance import provenance

    seed = data.get("seed")
    block = provenance(seed if isinstance(seed, int) else None)
    return json.dumps({**data, "provenance": block}, indent=2, allow_nan=False) + "\n"
