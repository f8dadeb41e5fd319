"""Commands that simulate: ``run``, ``compare``; and ``validate``, ``schema`` for scenario files."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sim.cli.common import (
    check_counts,
    load,
    output_folder,
    return_big_blocks_when_freed,
    run_options,
    scenario_options,
    user_error,
    write_outputs,
)
from sim.presentation.i18n import _, mode_label, term
from sim.presentation.text import share as _share
from sim.presentation.text import stat as _stat
from sim.presentation.text import text_table as _table
from sim.presentation.text import utilisation_rows

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario
    from sim.stats.metrics import Precision

ORDER = 10


def register(sub) -> None:
    """Add run, compare, validate and schema."""
    p_run = sub.add_parser("run", parents=[scenario_options(), run_options()], help="run one mode and print a summary")
    p_run.add_argument("--mode", help="mode to run (default: the scenario's first)")
    _progress_option(p_run)
    p_run.set_defaults(handler=_cmd_run)
    p_cmp = sub.add_parser(
        "compare", parents=[scenario_options(), run_options()], help="run modes on the same incidents"
    )
    p_cmp.add_argument("--modes", help="comma-separated modes (default: all the scenario defines)")
    p_cmp.add_argument(
        "--precision",
        metavar="METRIC=TARGET",
        help="replicate until the 95%% interval of METRIC is within TARGET of its mean in every mode, "
        "e.g. response_min.mean=0.05 (--replications is then the minimum)",
    )
    p_cmp.add_argument("--max-replications", type=int, default=100, help="with --precision, stop here (default 100)")
    _progress_option(p_cmp)
    p_cmp.set_defaults(handler=_cmd_compare)
    p_val = sub.add_parser(
        "validate",
        parents=[scenario_options()],
        help="check a scenario file and show what it builds (patches, sectors, units on duty, levers, offered load)",
    )
    p_val.add_argument(
        "--json", action="store_true", help="print what the file builds as one JSON document (for tools)"
    )
    p_val.set_defaults(handler=_cmd_validate)
    sub.add_parser("schema", help="print the scenario file's JSON Schema").set_defaults(handler=_cmd_schema)


def _progress_option(parser) -> None:
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="say on stderr how far each run has got, a simulated day at a time (default: only on a terminal)",
    )


class _Progress:
    """How far the runs have got, on stderr: a tqdm bar per run on a terminal, else a line per tenth.

    On a terminal each run gets a bar of its simulated days (tqdm, as a sweep's bar), wiped when the run
    ends, so the summary prints on a clean screen; elsewhere (a log file, with ``--progress``) each run
    gets a line as it passes each tenth of its minutes.
    """

    def __init__(self, stream, live: bool):
        self.stream, self.live = stream, live
        self._bar: Any = None
        self._run: tuple[str, int] | None = None
        self._tenth: dict[tuple[str, int], int] = {}

    def __call__(self, event) -> None:
        from sim.presentation.text import progress_text

        run = (event.mode, event.replication)
        if self.live:
            self._advance(run, event)
            return
        tenth = int(10 * event.share)
        if tenth > self._tenth.get(run, 0):
            self._tenth[run] = tenth
            print(
                progress_text(mode_label(event.mode), event.replication, event.minute, event.end_min), file=self.stream
            )
            self.stream.flush()

    def _advance(self, run: tuple[str, int], event) -> None:
        """Move the run's bar to the day the clock has reached (a new bar for a new run)."""
        from tqdm import tqdm

        from sim.presentation.text import MINUTES_PER_DAY, progress_label

        if run != self._run:
            self.close()
            self._run = run
            self._bar = tqdm(
                total=max(1, math.ceil(event.end_min / MINUTES_PER_DAY)),
                desc=progress_label(mode_label(event.mode), event.replication),
                unit=_("day"),
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=0.2,
            )
        self._bar.update(min(self._bar.total, int(event.minute // MINUTES_PER_DAY)) - self._bar.n)

    def close(self) -> None:
        """Wipe the bar on a terminal."""
        if self._bar is not None:
            self._bar.close()
            self._bar, self._run = None, None


def _progress(args) -> _Progress | None:
    """The progress reporter ``--progress`` (or a terminal on stderr) asks for, or None."""
    live = sys.stderr.isatty()
    if not (args.progress or live):
        return None
    return _Progress(sys.stderr, live)


def _cmd_run(args) -> int:
    return _simulate(args, [args.mode] if args.mode else None, first_only=True)


def _cmd_compare(args) -> int:
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None
    return _simulate(args, modes)


def _simulate(args, modes: list[str] | None, first_only: bool = False) -> int:
    """Run *modes* (None: every mode, or with *first_only* the scenario's first), print and write the results."""
    from sim.engine.levels import centre_levels
    from sim.experiments.runs import compare
    from sim.io.results import write_comparison

    check_counts(args)
    return_big_blocks_when_freed()  # a city year's peak memory (see there)
    if args.plots and not args.out:
        raise user_error("--plots", "needs --out: the figures are written to OUT/figures")
    scenario = load(args)
    if modes is None and first_only:  # run without --mode: the scenario's first, as its help says
        from sim.scenario.governance import modes_of

        modes = [next(iter(modes_of(scenario)))]
    _window_warning(args, scenario)
    precision = _precision(args, scenario)
    _check_memory(args, scenario, modes, precision)
    from sim.presentation.overview import post_run_warnings, pre_run_warnings

    _warn(pre_run_warnings(scenario, modes))
    with output_folder(args, args.command):  # --out is checked and locked before the simulation
        progress = _progress(args)
        try:
            comparison = compare(scenario, modes, args.replications, args.seed, precision, progress=progress)
        except KeyError as err:
            raise user_error("--modes" if args.command == "compare" else "--mode", err.args[0]) from None
        finally:
            if progress is not None:
                progress.close()
        print(format_summary(comparison.summary, centre_levels(scenario.governance.centres)))
        _warn(post_run_warnings(comparison))
        if args.out:
            paths = write_outputs(args, lambda: write_comparison(args.out, comparison))
            print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _check_memory(args, scenario: Scenario, modes, precision: Precision | None) -> None:
    """Refuse before running what cannot fit in memory (every run of every mode is held), or warn."""
    from sim.experiments.memory import check_memory
    from sim.scenario.governance import modes_of

    count = len(modes) if modes else len(modes_of(scenario))
    replications = precision.max_replications if precision else args.replications
    warning = check_memory(scenario, count * replications, written=bool(args.out), source=args.scenario)
    if warning:
        print(warning, file=sys.stderr)


def _precision(args, scenario: Scenario) -> Precision | None:
    """The ``--precision METRIC=TARGET`` rule, checked against the scenario's metrics."""
    text = getattr(args, "precision", None)
    if not text:
        return None
    from sim.stats.metrics import Precision, metric_paths

    metric, _, target = text.partition("=")
    known = metric_paths([t.name for t in scenario.incident_types], [d.name for d in scenario.departments])
    if metric.strip() not in known:
        raise user_error(
            "--precision",
            f"unknown metric '{metric.strip()}'; expected e.g. response_min.mean, within_target, by_type.<type>.response_min.median",
        )
    try:
        value = float(target)
    except ValueError:
        value = math.nan
    if not 0 < value <= 10:
        raise user_error(
            "--precision",
            f"expected METRIC=TARGET with TARGET a share above 0, e.g. response_min.mean=0.05; got {text!r}",
        )
    if args.max_replications < max(2, args.replications):
        raise user_error("--max-replications", f"expected at least --replications and 2; got {args.max_replications}")
    return Precision(metric.strip(), value, args.max_replications)


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _cmd_validate(args) -> int:
    scenario = load(args)  # an invalid file stops here, before numpy and the engine are loaded
    _window_warning(args, scenario)
    from sim.presentation.overview import format_overview, scenario_overview

    overview = scenario_overview(scenario, args.scenario)
    print(json.dumps(overview, indent=2, allow_nan=False) if args.json else format_overview(overview))
    _warn(overview["warnings"])
    if not args.json:
        _print_real_town(scenario)
    return 0


def _window_warning(args, scenario) -> None:
    """Warn on stderr when the measured window is not whole weeks (run, compare, validate)."""
    import sys

    from sim.scenario.checks import window_warnings

    for path, message in window_warnings(scenario):
        print(f"warning: {args.scenario}: {'.'.join(str(p) for p in path)}: {message}", file=sys.stderr)


def _print_real_town(scenario) -> None:
    """Patches, sectors, grids, road snapping, the longest travel time of a town read from files; the cameras."""
    territory = scenario.territory
    if territory.gis is None and scenario.travel is None and territory.cameras is None:
        return
    from sim.presentation.townmap import territory_lines

    for line in territory_lines(scenario):
        print(line)


def _cmd_schema(args) -> int:
    from sim.scenario.schema import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0


# --------------------------------------------------------------------------- printing


def _minutes(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value >= 120:
        return f"{value:,.0f} ({value / 60:.1f} h)"
    return f"{value:,.1f}"


def _time(stats, key) -> str:
    """A censored-time statistic: its value, "> X" when beyond what was observed, "-" for nothing."""
    if stats is None:
        return "-"
    if stats.get(key) is None and stats.get(f"{key}_more_than") is not None:
        return "> " + _minutes(stats[f"{key}_more_than"])
    return _minutes(stats.get(key))


def _not_reached(stats) -> str:
    if stats is None:
        return "-"
    return f"{stats['not_reached']:,} ({_share(stats['share_not_reached'])})"


def format_summary(summary: Mapping[str, Any], levels: dict[str, str] | None = None) -> str:
    """The side-by-side table printed by ``run`` and ``compare`` (*summary*: a :class:`~sim.stats.summary_types.Summary`).

    *levels* (``centre:<name>`` -> level, :func:`sim.engine.levels.centre_levels`) lets a level of many centres
    be one row of the utilisation table.
    """
    modes = summary["modes"]
    names = list(modes)
    first = names[0]
    target = summary["target_min"]
    targets = set((summary.get("targets_min") or {}).values()) or {target}
    within_label = (
        _("within {target} min").format(target=f"{target:g}") if targets == {target} else _("within each type's target")
    )
    rows = [
        (_("incidents (measured)"), lambda s: f"{s['incidents']:,}"),
        (_("not detected by the end"), lambda s: f"{s['undetected']:,}"),
        (_("found, not reached by the end"), lambda s: _not_reached(s["response_min"])),
        (_("response median, min"), lambda s: _time(s["response_min"], "median")),
        (_("response p90, min"), lambda s: _time(s["response_min"], "p90")),
        (_("response mean, min"), lambda s: _mean_with_ci(s["response_min"])),
        (_("handled on the spot by the finder"), lambda s: _share(s["on_the_spot"])),
        (_("dispatched: response median, min"), lambda s: _time(s["dispatched_response_min"], "median")),
        (_("dispatched: response p90, min"), lambda s: _time(s["dispatched_response_min"], "p90")),
        (within_label, lambda s: _share(s["within_target"])),
        (_("resolution median, min"), lambda s: _time(s["resolution_min"], "median")),
        (_("unresolved at end"), lambda s: f"{s['unresolved']:,}"),
        (_("seen, not handled"), lambda s: f"{s['seen_not_handled']:,}"),
        (_("referrals / bounces"), lambda s: f"{s['referrals']:,} / {s['bounces']:,}"),
    ]
    rows += [row for row in _mechanism_rows() if any(modes[m].get(row[2]) for m in names)]
    if any(modes[m].get("closure_min") for m in names):
        rows += _closure_rows()
    rows = [row[:2] for row in rows]
    if len(names) > 1:
        base = _stat(modes[first]["response_min"], "median")
        rows.append(
            (
                _("median vs {mode}").format(mode=mode_label(first)),
                lambda s: _ratio(_stat(s["response_min"], "median"), base),
            )
        )
    header = _(
        "Scenario '{scenario}': seed {seed}, {days} days (warm-up {warmup}), {replications} replication(s). Times in minutes."
    ).format(
        scenario=summary["scenario"],
        seed=summary["seed"],
        days=f"{summary['days']:g}",
        warmup=f"{summary['warmup_days']:g}",
        replications=summary["replications"],
    )
    labels = [mode_label(m) for m in names]
    table = _table(["", *labels], [[label, *(fn(modes[m]) for m in names)] for label, fn in rows])
    types = list(modes[first]["by_type"])
    type_rows = [[mode_label(t), *(_type_cell(modes[m]["by_type"][t]) for m in names)] for t in types]
    by_type = _table([_("response median / p90, min (on the spot)"), *labels], type_rows)
    util_rows = utilisation_rows([modes[m]["utilisation"] for m in names], levels)
    util = _table([_("utilisation"), *labels], [[mode_label(key), *cells] for key, cells in util_rows])
    channels = sorted({c for m in names for c in modes[m].get("by_channel", {})})
    by_channel = _table(
        [_("response median / p90 by channel, min"), *labels],
        [[term(c), *(_channel_cell(modes[m].get("by_channel", {}).get(c)) for m in names)] for c in channels],
    )
    parts = [header, table, by_type, by_channel, util]
    if any(modes[m].get("campaigns") for m in names):
        parts.append(_format_campaigns([modes[m].get("campaigns") or {} for m in names], labels))
    if "paired" in summary:
        parts.append(format_paired(summary["paired"], target))
    if "precision" in summary:
        parts.append(_format_precision(summary["precision"], summary["replications"]))
    return "\n\n".join(parts)


def _format_campaigns(blocks: list[dict], labels: list[str]) -> str:
    """Joint campaigns per mode (totals over replications): unit-hours off response duty, finds, deterrence."""
    departments = list(dict.fromkeys(d for b in blocks for d in b.get("unit_hours", {})))
    types = list(dict.fromkeys(t for b in blocks for t in b.get("found", {})))

    def count(b: dict, key: str, name: str) -> str:
        return f"{b.get(key, {}).get(name, 0):,}"

    rows = [["unit-hours on campaigns", *(f"{sum(b.get('unit_hours', {}).values()):,.1f}" for b in blocks)]]
    rows += [[f"  {d}", *(f"{b.get('unit_hours', {}).get(d, 0.0):,.1f}" for b in blocks)] for d in departments]
    rows.append(["matters found (settled on the spot)", *(_found(b) for b in blocks)])
    rows += [[f"  {t}", *(count(b, "found", t) for b in blocks)] for t in types]
    rows.append(["arrivals deterred", *(f"{sum(b.get('deterred', {}).values()):,}" for b in blocks)])
    return _table(["campaigns", *labels], rows)


def _found(block: dict) -> str:
    return f"{sum(block.get('found', {}).values()):,} ({block.get('found_on_the_spot', 0):,})"


def _paired_label(metric: str, target: float) -> str:
    """A row label for a paired metric."""
    labels = {
        "response_min.mean": "response mean, min",
        "response_min.median": "response median, min",
        "response_min.p90": "response p90, min",
        "within_target": f"within {target:g} min, points",
        "resolution_min.median": "resolution median, min",
    }
    if metric in labels:
        return labels[metric]
    return metric.removeprefix("by_type.").replace(".response_min.median", " response median")


def format_paired(paired: dict, target: float) -> str:
    """Each mode minus the baseline, paired by replication: mean difference [CI] and the paired t-test's p."""
    names = list(paired["modes"])
    metrics = list(next(iter(paired["modes"].values()))) if names else []
    rows = [
        [
            _paired_label(metric, target),
            *(_difference(paired["modes"][m][metric], metric == "within_target") for m in names),
        ]
        for metric in metrics
    ]
    confidence = f"{100 * paired['confidence']:g}%"
    title = (
        f"difference from {paired['baseline']}, paired by replication: mean [{confidence} CI], paired t-test p "
        "(shares in percentage points)"
    )
    return title + "\n" + _table(["", *names], rows)


def _difference(stats: dict, share: bool) -> str:
    if stats["mean_difference"] is None:
        return "-"
    scale = 100 if share else 1

    def number(v):
        return f"{scale * v:+,.1f}"

    text = number(stats["mean_difference"])
    if stats["ci_low"] is not None:
        text += f" [{number(stats['ci_low'])}, {number(stats['ci_high'])}]"
    p = stats["p_value"]
    return text + ("  p=-" if p is None else "  p<0.001" if p < 0.001 else f"  p={p:.3f}")


def _format_precision(report: dict, replications: int) -> str:
    reached = ", ".join(
        f"{m} {'-' if w is None else f'{100 * w:.1f}%'}" for m, w in report["relative_half_width_reached"].items()
    )
    verdict = "reached" if report["reached"] else f"NOT reached by the maximum of {report['max_replications']}"
    return (
        f"precision: {report['metric']} within {100 * report['relative_half_width']:g}% of its mean "
        f"({100 * report['confidence']:g}% interval) {verdict} after {replications} replications; half-widths: {reached}"
    )


def _channel_cell(stats: dict | None) -> str:
    """Response median / p90 of the matters one channel reported, with their count."""
    if stats is None:
        return "-"
    response = stats["response_min"]
    return f"{_time(response, 'median')} / {_time(response, 'p90')} (n={stats['detected']:,})"


def _type_cell(stats: dict) -> str:
    """One type's response median / p90 with the share handled on the spot (counted as 0 min)."""
    cell = f"{_time(stats['response_min'], 'median')} / {_time(stats['response_min'], 'p90')}"
    spot = stats.get("on_the_spot")
    return cell + (f" ({_share(spot)})" if spot else "")


def _mean_with_ci(stats) -> str:
    """The mean of replication means with its t-interval; "≥" when censoring makes it a lower bound."""
    if stats is None:
        return "-"
    prefix = ">= " if stats.get("mean_is_lower_bound") else ""
    if "ci_low" in stats:
        return f"{prefix}{stats['mean']:,.1f} [{stats['ci_low']:,.1f}, {stats['ci_high']:,.1f}]"
    return f"{prefix}{stats['mean']:,.1f}"


def _ratio(value, base) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def _closure_rows() -> list[tuple]:
    """Rows shown when some mode runs the closed loop: closure time, deadlines kept, reopened cases (label, cell)."""
    return [
        (
            _("closure median / p90, min"),
            lambda s: f"{_time(s.get('closure_min'), 'median')} / {_time(s.get('closure_min'), 'p90')}",
        ),
        (_("closed on time"), lambda s: _share(s.get("closed_on_time"))),
        (_("closure overdue"), lambda s: _share(s.get("closure_overdue"))),
        (_("reopen rate"), lambda s: _share(s.get("reopen_rate"))),
    ]


def _mechanism_rows() -> list[tuple]:
    """Rows shown only when some mode has them: natural ends, duplicated enforcement, follow-ups (label, cell, key)."""
    return [
        ("ended by itself, unattended", lambda s: f"{s.get('ended_unattended', 0):,}", "ended_unattended"),
        (
            "duplicate visits / unit-min",
            lambda s: f"{s.get('duplicate_visits', 0):,} / {s.get('duplicate_unit_min', 0):,.0f}",
            "duplicate_visits",
        ),
        ("left by every department", lambda s: f"{s.get('left_by_all', 0):,}", "left_by_all"),
        ("specialist follow-ups", lambda s: f"{s.get('follow_ups', 0):,}", "follow_ups"),
    ]
