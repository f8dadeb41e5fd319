"""Offered load against units on duty, from the scenario alone; and whether a run's backlog grew.

Before a run, :func:`offered_load` answers "how loaded will each department be?" without
simulating. For every hour of the week (168 hours, Monday 00:00 first) and every department and
way of working it adds up the unit-minutes of work that arrive in that hour and sets them against
the unit-minutes on duty (units on duty x 60):

* matters of a type arrive at ``rate_per_day`` x its 24-hour profile (normalised to mean 1), as
  :func:`sim.engine.incidents.arrival_times` draws them; every day of the week alike;
* a share of them is ever detected: 1 in a sector that some patrol covers (a patrol passes again
  and again, so over a run it finds almost everything it may notice), else
  ``1 - prod(1 - probability)`` over the other channels (the camera's only in the patches a camera
  sees). With ``grid_management``, the share ``escalation.grid`` is settled by grid workers, not
  by departments;
* each job of a matter (:func:`sim.scenario.governance.jobs_of`) costs one unit the mean on-scene
  time of its parts (:func:`sim.scenario.distributions.mean_of`) plus a travel estimate: set-off
  plus the mean road time from the department's bases to where matters happen (the nearest base
  under ``nearest`` dispatch, the average base under ``own_queue``);
* a job that several departments may do (pooled authority, or several holders of a power) is
  shared among them in proportion to their units on duty in that hour.

Joint campaigns (``campaigns:``) take units off response duty while their sessions run, so the
capacity set against the work is what is left: units on duty less the units the campaigns take
then (as many as the shift holds, as in the run: :class:`sim.engine.campaigns.DemandSteps`), per
hour of the week (a weekly calendar exactly; a monthly or dated one spread over the weeks of the
run: :func:`campaign_units_by_hour`). The warnings name the campaigns and their unit-minutes.

The work is placed in the hour the matter *occurs*. Detection delays, desks that keep office
hours and the closed loop move it later, and a patrol that handles what it finds on the spot
saves the travel, so the hourly profile is an approximation; the weekly mean is not affected
by the timing. Utilisation rho = offered / on duty; rho >= 1 over the week means the queue grows
without bound however long the run.

After a run, :func:`backlog_trends` tells whether the jobs waiting for a department's units
grew through the measured window (see its docstring for the test).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sim.engine.campaigns import DemandSteps
from sim.engine.department import build_roster
from sim.engine.patrol import PatrolCoverage
from sim.engine.records import job_table
from sim.engine.territory import Town, build_town
from sim.scenario.centres import operators_on_duty
from sim.scenario.distributions import mean_of
from sim.scenario.governance import Mode, jobs_of, modes_of
from sim.scenario.schedule import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklySteps
from sim.scenario.schema import CHANNELS, CentreSpec, Department, InstantSpec, Scenario

__all__ = [
    "HOURS_PER_WEEK",
    "DepartmentLoad",
    "CapacityReport",
    "BacklogTrend",
    "offered_load",
    "campaign_units_by_hour",
    "on_duty_by_hour",
    "hour_label",
    "hour_ranges",
    "overload_messages",
    "border_messages",
    "centre_messages",
    "backlog_trends",
    "backlog_messages",
]

HOURS_PER_WEEK = 168
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ASSUMPTIONS = (
    "work is placed in the hour a matter occurs (detection delays and office-hours desks move it later)",
    "a matter is detected if a patrol covers its sector, else with the other channels' combined probability",
    "travel = set-off + mean road time from the department's bases (nearest base under nearest dispatch)",
    "a job several departments may do is shared by their units on duty; on-the-spot handling is not deducted",
)
CAMPAIGN_ASSUMPTION = (
    "units on campaign are off response duty while their sessions run (per hour of the week, the mean over the run)"
)


@dataclass(frozen=True)
class DepartmentLoad:
    """One department's offered load and capacity in one way of working, by hour of the week.

    Attributes
    ----------
    department, mode:
        Names.
    offered_unit_min:
        168 numbers: unit-minutes of work arriving in each hour of the week (Monday 00:00 first).
    units_on_duty:
        168 numbers: mean units on duty in each hour.
    utilisation:
        168 numbers: offered / (60 x units on duty); ``inf`` where work arrives with no unit on
        duty, 0 where neither.
    weekly_utilisation:
        Offered over on-duty unit-minutes of the whole week (``inf`` if work arrives and no unit
        is ever on duty).
    peak_utilisation, peak_hour:
        The highest hourly utilisation among hours with units on duty, and its hour (0-167);
        ``None`` for the hour when no hour has units on duty.
    uncovered_hours:
        Hours in which work arrives and no unit is on duty: it waits for the next shift.
    campaign_units:
        168 numbers: mean units on joint campaigns in each hour (off response duty, so not in
        ``units_on_duty``); empty without campaigns.
    campaigns:
        The campaigns that take units of the department.
    """

    department: str
    mode: str
    offered_unit_min: tuple[float, ...]
    units_on_duty: tuple[float, ...]
    utilisation: tuple[float, ...]
    weekly_utilisation: float
    peak_utilisation: float
    peak_hour: int | None
    uncovered_hours: tuple[int, ...]
    campaign_units: tuple[float, ...] = ()
    campaigns: tuple[str, ...] = ()

    @property
    def overloaded(self) -> bool:
        """Whether more work arrives in a week than the units on duty can do (rho >= 1)."""
        return self.weekly_utilisation >= 1.0

    @property
    def offered_per_week_min(self) -> float:
        """Unit-minutes of work offered in a week."""
        return float(sum(self.offered_unit_min))

    @property
    def on_duty_per_week_min(self) -> float:
        """Unit-minutes on duty in a week."""
        return 60.0 * float(sum(self.units_on_duty))

    @property
    def campaign_per_week_min(self) -> float:
        """Unit-minutes a week on joint campaigns (off response duty)."""
        return 60.0 * float(sum(self.campaign_units))

    @property
    def weekly_utilisation_without_campaigns(self) -> float:
        """Offered over the unit-minutes on duty the campaigns' time included: the load were there none."""
        capacity = self.on_duty_per_week_min + self.campaign_per_week_min
        if capacity > 0:
            return self.offered_per_week_min / capacity
        return math.inf if self.offered_per_week_min > 0 else 0.0

    def as_dict(self) -> dict:
        """JSON-ready (``inf`` written as ``None``), with the hourly series."""
        return {
            "department": self.department,
            "mode": self.mode,
            "offered_unit_min_per_week": _finite(self.offered_per_week_min),
            "on_duty_unit_min_per_week": _finite(self.on_duty_per_week_min),
            "campaign_unit_min_per_week": round(self.campaign_per_week_min, 3),
            "campaigns": list(self.campaigns),
            "weekly_utilisation": _finite(self.weekly_utilisation),
            "peak_utilisation": _finite(self.peak_utilisation),
            "peak_hour": None if self.peak_hour is None else hour_label(self.peak_hour),
            "overloaded": self.overloaded,
            "uncovered_hours": [hour_label(h) for h in self.uncovered_hours],
            "offered_unit_min_by_hour": [round(v, 3) for v in self.offered_unit_min],
            "units_on_duty_by_hour": [round(v, 3) for v in self.units_on_duty],
            "utilisation_by_hour": [_finite(round(v, 4) if math.isfinite(v) else v) for v in self.utilisation],
        }


@dataclass(frozen=True)
class CapacityReport:
    """Offered load per department and mode (:func:`offered_load`)."""

    loads: tuple[DepartmentLoad, ...]
    assumptions: tuple[str, ...] = ASSUMPTIONS

    def of(self, department: str, mode: str) -> DepartmentLoad:
        """The load of *department* in *mode*."""
        return next(x for x in self.loads if x.department == department and x.mode == mode)

    @property
    def overloaded(self) -> list[DepartmentLoad]:
        """Departments (per mode) offered at least their capacity over the week."""
        return [x for x in self.loads if x.overloaded]

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {"assumptions": list(self.assumptions), "loads": [x.as_dict() for x in self.loads]}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------- hours of the week


def hour_label(hour: int) -> str:
    """``"Mon 08:00"`` for hour 8 of the week."""
    day, h = divmod(int(hour) % HOURS_PER_WEEK, 24)
    return f"{DAYS[day]} {h:02d}:00"


def hour_ranges(hours: Sequence[int]) -> str:
    """Hours of the week as short text: days with the same hours share one entry.

    ``"Mon-Fri 00-08, 18-24; Sat-Sun all day"``; ``"daily 23-07"`` is not joined across
    midnight (each day is listed from 00 to 24).
    """
    chosen = set(int(h) for h in hours)
    if not chosen:
        return "none"
    by_day = []
    for day in range(7):
        day_spans: list[tuple[int, int]] = []
        start = None
        for h in range(25):
            inside = h < 24 and day * 24 + h in chosen
            if inside and start is None:
                start = h
            elif not inside and start is not None:
                day_spans.append((start, h))
                start = None
        by_day.append(tuple(day_spans))
    groups: list[tuple[list[int], tuple]] = []
    for day, spans in enumerate(by_day):
        if not spans:
            continue
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    parts = []
    for days, spans in groups:
        name = "daily" if len(days) == 7 else DAYS[days[0]] if len(days) == 1 else f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
        text = "all day" if spans == ((0, 24),) else ", ".join(f"{a:02d}-{b:02d}" for a, b in spans)
        parts.append(f"{name} {text}")
    return "; ".join(parts)


def on_duty_by_hour(steps: WeeklySteps) -> np.ndarray:
    """Mean value of a weekly step function in each of the 168 hours (e.g. units on duty)."""
    return np.array([steps.integral(60.0 * h, 60.0 * (h + 1)) / 60.0 for h in range(HOURS_PER_WEEK)])


# --------------------------------------------------------------------------- offered load


def _detected_share(scenario: Scenario, town: Town, coverage: PatrolCoverage, itype) -> float:
    """Share of a type's matters ever detected (see the module's assumptions)."""
    if town.camera_view is not None:
        return _detected_share_with_cameras(town, coverage, itype)
    other = 1.0
    for name in CHANNELS[1:]:
        other *= 1.0 - getattr(itype.detection, name).probability
    other = 1.0 - other
    if itype.detection.patrol.notice_probability <= 0:
        return other
    covered = np.array([rate.weekly_total > 0 for rate in coverage.rate])
    share_covered = float(town.weights[covered[town.sector]].sum())
    return share_covered + (1.0 - share_covered) * other


def _detected_share_with_cameras(town: Town, coverage: PatrolCoverage, itype) -> float:
    """As :func:`_detected_share`, the camera channel counted only in the patches a camera sees."""
    assert town.camera_view is not None
    missed = np.ones(town.size)
    for name in CHANNELS[1:]:
        chance = getattr(itype.detection, name).probability
        missed *= 1.0 - (chance * town.camera_view if name == "camera" else chance)
    other = 1.0 - missed
    if itype.detection.patrol.notice_probability > 0:
        covered = np.array([rate.weekly_total > 0 for rate in coverage.rate])
        other = np.where(covered[town.sector], 1.0, other)
    return float(town.weights @ other)


def _travel_min(department: Department, town: Town, dispatch: str) -> float:
    """Mean travel time (minutes, set-off included) of the department's units to matters."""
    bases = [department.base] if isinstance(department.base, str) else list(department.base)
    patches = [town.index(b) for b in bases] or [town.index("centre")]
    delta = np.abs(town.xy_km[None, :, :] - town.xy_km[patches][:, None, :])  # bases x patches x 2
    straight = delta.sum(axis=-1) if town.manhattan else np.sqrt((delta**2).sum(axis=-1))
    km = straight * town.detour_factor
    road = km.min(axis=0) if dispatch == "nearest" else km.mean(axis=0)
    return department.setoff_min + 60.0 * float(road @ town.weights) / department.speed_kmh


def offered_load(scenario: Scenario, modes: Sequence[str] | None = None) -> CapacityReport:
    """Offered load against units on duty per department and mode, by hour of the week.

    Parameters
    ----------
    scenario:
        A validated scenario.
    modes:
        Modes to include (default every mode the scenario defines).

    Returns
    -------
    CapacityReport
        One :class:`DepartmentLoad` per mode and department, in the scenario's order.
    """
    town = build_town(scenario.territory)
    rosters = {d.name: build_roster(d, town) for d in scenario.departments}
    coverage = PatrolCoverage(rosters, town)
    taken = campaign_units_by_hour(scenario, rosters)
    duty = {name: np.maximum(on_duty_by_hour(r.on_duty) - taken[name][0], 0.0) for name, r in rosters.items()}
    all_modes = modes_of(scenario)
    chosen = [all_modes[m] for m in (modes or all_modes)]
    grid_share = scenario.grid_management is not None
    hours_of_day = np.arange(HOURS_PER_WEEK) % 24
    arrivals = {}
    for itype in scenario.incident_types:
        profile = np.ones(24) if itype.profile is None else np.asarray(itype.profile, dtype=float)
        per_hour = profile / profile.mean() * itype.rate_per_day / 24.0
        town_share = 1.0 - (itype.escalation.grid if grid_share else 0.0)
        arrivals[itype.name] = per_hour[hours_of_day] * _detected_share(scenario, town, coverage, itype) * town_share
    loads = []
    for mode in chosen:
        loads += _mode_loads(scenario, mode, town, duty, arrivals)
    if scenario.campaigns:
        loads = [
            replace(x, campaign_units=tuple(map(float, taken[x.department][0])), campaigns=taken[x.department][1])
            for x in loads
        ]
        return CapacityReport(tuple(loads), ASSUMPTIONS + (CAMPAIGN_ASSUMPTION,))
    return CapacityReport(tuple(loads))


def campaign_units_by_hour(scenario: Scenario, rosters: dict) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Per department, the mean units on joint campaigns in each hour of the week, and the campaigns' names.

    Over the whole weeks that cover the run, a session takes its units while they are on shift (at
    most the shift's count, as :class:`~sim.engine.campaigns.DemandSteps` splits them in the run);
    each hour of the week gets the mean over those weeks. A weekly calendar repeats through every
    one of them (its pattern exactly, a session over Sunday midnight wrapping to Monday); monthly and
    dated sessions are those of the run (up to its end), spread over its length in weeks (a 10-day
    run is 10/7 weeks, not 2). Cost grows with the sessions, not with the minutes of the horizon.
    """
    horizon = scenario.days * MINUTES_PER_DAY
    weeks = max(1, math.ceil(horizon / MINUTES_PER_WEEK))
    span = weeks * MINUTES_PER_WEEK
    spans: dict[str, list[tuple[float, float, int]]] = {}
    weekly_spans: dict[str, list[tuple[float, float, int]]] = {}
    names: dict[str, list[str]] = {}
    for c in scenario.campaigns:
        weekly = not c.schedule.dated
        starts = c.schedule.starts_min(scenario.start_date, span if weekly else horizon)
        sessions = [(s, s + c.duration_min if weekly else min(s + c.duration_min, horizon)) for s in starts]
        if weekly:  # the last week's sessions over its end wrap to the first week's start
            sessions += [(s - span, e - span) for s, e in sessions if e > span]
        for dept, units in c.departments.items():
            spans.setdefault(dept, []).extend((s, e, units) for s, e in sessions)
            if weekly:
                weekly_spans.setdefault(dept, []).extend((s, e, units) for s, e in sessions)
            names.setdefault(dept, []).append(c.name)
    out = {}
    for name, roster in rosters.items():
        taken = _taken_by_hour(spans.get(name, []), roster, span)
        weekly_taken = taken if len(weekly_spans.get(name, [])) == len(spans.get(name, [])) else None
        if weekly_taken is None:  # weekly sessions lie over whole weeks; monthly and dated ones over the run only
            weekly_taken = _taken_by_hour(weekly_spans.get(name, []), roster, span)
            dated = (taken - weekly_taken) / (60.0 * horizon / MINUTES_PER_WEEK)
            out[name] = (weekly_taken / (60.0 * weeks) + dated, tuple(names.get(name, ())))
        else:
            out[name] = (taken / (60.0 * weeks), tuple(names.get(name, ())))
    return out


def _taken_by_hour(spans: list[tuple[float, float, int]], roster, span: float) -> np.ndarray:
    """Unit-minutes the sessions *spans* take from *roster*'s shifts in each hour of the week, summed over weeks.

    Concurrent sessions share the units on shift (:class:`~sim.engine.campaigns.DemandSteps`).
    """
    total = np.zeros(HOURS_PER_WEEK)
    if spans:
        demand = DemandSteps(spans)
        hours = {k for s, e, _ in spans for k in range(max(0, int(s // 60)), math.ceil(min(e, span) / 60))}
        for k in sorted(hours):
            total[k % HOURS_PER_WEEK] += demand.split_min(roster.on_duty, 60.0 * k, 60.0 * (k + 1))[1]
    return total


def _mode_loads(scenario: Scenario, mode: Mode, town: Town, duty: dict, arrivals: dict) -> list[DepartmentLoad]:
    names = [d.name for d in scenario.departments]
    offered = {name: np.zeros(HOURS_PER_WEEK) for name in names}
    travel = {d.name: _travel_min(d, town, mode.dispatch) for d in scenario.departments}
    units = {d.name: float(d.units) for d in scenario.departments}
    for itype in scenario.incident_types:
        service = mean_of(itype.service_min)
        rate = arrivals[itype.name]
        for capable, parts in jobs_of(scenario, mode, itype):
            members = sorted(capable)
            on = np.array([duty[d] for d in members])  # members x hours
            total = on.sum(axis=0)
            fallback = np.array([units[d] for d in members])
            fallback = fallback / fallback.sum() if fallback.sum() > 0 else np.full(len(members), 1.0 / len(members))
            with np.errstate(divide="ignore", invalid="ignore"):
                shares = np.where(total > 0, on / np.where(total > 0, total, 1.0), fallback[:, None])
            for k, d in enumerate(members):
                offered[d] += rate * shares[k] * (service * len(parts) + travel[d])
    return [_load(name, mode.name, offered[name], duty[name]) for name in names]


def _load(department: str, mode: str, offered: np.ndarray, units: np.ndarray) -> DepartmentLoad:
    capacity = 60.0 * units
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(
            capacity > 0, offered / np.where(capacity > 0, capacity, 1.0), np.where(offered > 0, np.inf, 0.0)
        )
    week_offered, week_capacity = float(offered.sum()), float(capacity.sum())
    weekly = week_offered / week_capacity if week_capacity > 0 else (math.inf if week_offered > 0 else 0.0)
    staffed = np.flatnonzero(capacity > 0)
    if len(staffed):
        peak_hour = int(staffed[np.argmax(rho[staffed])])
        peak = float(rho[peak_hour])
    else:
        peak_hour, peak = None, (math.inf if week_offered > 0 else 0.0)
    uncovered = tuple(int(h) for h in np.flatnonzero((capacity <= 0) & (offered > 1e-9)))
    return DepartmentLoad(
        department,
        mode,
        tuple(map(float, offered)),
        tuple(map(float, units)),
        tuple(map(float, rho)),
        weekly,
        peak,
        peak_hour,
        uncovered,
    )


def border_messages(scenario: Scenario, modes: Sequence[str] | None = None) -> list[str]:
    """Warnings for towns without a unit of their own: closed borders, units living in their sectors.

    With a mode's borders closed (``dispatch_across_borders: false``), a matter may take only the
    units whose home is its own sector. A sector that has no such unit on duty at some hour while
    the department has units on duty elsewhere (few units, or a quiet sector that sharing units out
    by load passes over) leaves its matters waiting for a shift that brings one, or for ever.
    """
    all_modes = modes_of(scenario)
    closed = [name for name in (modes or all_modes) if name in all_modes and not all_modes[name].across_borders]
    homed = [d for d in scenario.departments if d.home != "bases" and d.powers and d.units > 0]
    if not closed or not homed:
        return []
    town = build_town(scenario.territory)
    weights = np.bincount(town.sector, weights=town.weights, minlength=len(town.sector_names))
    lines = []
    for department in homed:
        roster = build_roster(department, town)
        homes = [u.sector for u in roster.units]
        on_duty = on_duty_by_hour(roster.on_duty).astype(int)
        gaps = {}
        for s, name in enumerate(town.sector_names):
            if weights[s] <= 0:
                continue  # nothing happens there
            none = [h for h in range(HOURS_PER_WEEK) if on_duty[h] > 0 and s not in homes[: on_duty[h]]]
            if none:
                gaps[name] = len(none)
        if gaps:
            worst = sorted(gaps.items(), key=lambda kv: -kv[1])[:5]
            listed = ", ".join(f"{name} {hours} h a week" for name, hours in worst)
            more = f" and {len(gaps) - len(worst)} more" if len(gaps) > len(worst) else ""
            lines.append(
                f"warning: department '{department.name}' (home: {department.home}): with borders closed "
                f"({', '.join(closed)}), sectors without a unit of their own on duty while others have one: "
                f"{listed}{more}; their matters wait (more units, or dispatch_across_borders: true)"
            )
    return lines


def centre_messages(scenario: Scenario, modes: Sequence[str] | None = None) -> list[str]:
    """Notes for staffed centres with hours of the week when no operator is on duty.

    A report that reaches such a centre then waits in its queue until an operator comes on (its
    shift, or the centre's hours): it is not passed to another centre, so a centre staffed by day
    only holds the night's reports until morning. Only for the *modes* (default: all) whose reports
    go through staffed centres (the shared channel, or the closed loop); centres of one level with
    the same hours are named together.
    """
    all_modes = modes_of(scenario)
    chosen = [all_modes[name] for name in (modes or all_modes) if name in all_modes]
    through = [m.name for m in chosen if m.information == "instant" or m.closed_loop]
    governance = scenario.governance
    if not through:
        return []
    staffed: list[tuple[str, str, InstantSpec | CentreSpec]]
    if governance.centres is not None:
        staffed = [(c.name, c.level, c) for c in governance.centres if c.operators is not None]
    elif governance.instant.operators is not None:
        staffed = [("centre", "", governance.instant)]
    else:
        staffed = []
    groups: dict[tuple[str, tuple[int, ...]], list[str]] = {}
    hours: dict[str, tuple[int, ...]] = {}  # closed hours by duty settings: a city's village centres share theirs
    for name, level, spec in staffed:
        key = spec.model_dump_json(include={"operators", "operator_shift", "centre_hours"})
        closed = hours.get(key)
        if closed is None:
            duty = on_duty_by_hour(operators_on_duty(spec))
            closed = hours[key] = tuple(int(h) for h in np.flatnonzero(duty <= 0.0))
        if closed:
            groups.setdefault((level, closed), []).append(name)
    lines = []
    for (level, closed), names in groups.items():
        who = f"centre '{names[0]}'" + (f" and {len(names) - 1} more of level '{level}'" if len(names) > 1 else "")
        lines.append(
            f"note: {who} {'have' if len(names) > 1 else 'has'} no operator on duty {len(closed)} h a week "
            f"({hour_ranges(closed)}; "
            f"{', '.join(through)}): a report reaching it then waits until one comes on, it is not passed "
            "to another centre (operator_shift and centre_hours set when operators are on duty)"
        )
    return lines


def overload_messages(report: CapacityReport) -> list[str]:
    """Warnings and notes about overload, one line each, the same department in several modes joined.

    A ``warning`` when a department is offered at least its capacity over the week; a ``note``
    when work arrives in hours with no unit of the department on duty (it waits for the shift).
    """
    lines: list[str] = []
    by_department: dict[str, list[DepartmentLoad]] = {}
    for load in report.loads:
        by_department.setdefault(load.department, []).append(load)
    for department, loads in by_department.items():
        over = [x for x in loads if x.overloaded]
        if over:
            worst = max(over, key=lambda x: x.weekly_utilisation)
            modes = ", ".join(x.mode for x in over)
            if math.isfinite(worst.weekly_utilisation):
                amount = (
                    f"offered {worst.offered_per_week_min:,.0f} unit-minutes a week against {worst.on_duty_per_week_min:,.0f} "
                    f"on duty (utilisation {worst.weekly_utilisation:.2f})"
                )
            else:
                amount = f"offered {worst.offered_per_week_min:,.0f} unit-minutes a week and no unit ever on duty"
            lines.append(
                f"warning: department '{department}' is over capacity in {modes}: {amount}{_campaign_text(worst)}; "
                "its queue grows without bound, and response times depend on how long the run is"
            )
        gaps = [x for x in loads if x.uncovered_hours and not x.overloaded]
        if gaps:
            first = gaps[0]
            modes = ", ".join(x.mode for x in gaps)
            lines.append(
                f"note: department '{department}' has no unit on duty {len(first.uncovered_hours)} h a week while its matters "
                f"arrive ({hour_ranges(first.uncovered_hours)}; {modes}): they wait for the next shift"
            )
    return lines


def _campaign_text(load: DepartmentLoad) -> str:
    """What joint campaigns take of an overloaded department's duty, and whether they push it over."""
    if load.campaign_per_week_min <= 0:
        return ""
    names = ", ".join(f"'{name}'" for name in load.campaigns)
    label = "campaign" if len(load.campaigns) == 1 else "campaigns"
    text = f", after {load.campaign_per_week_min:,.0f} unit-minutes a week on {label} {names}"
    without = load.weekly_utilisation_without_campaigns
    if without < 1.0:
        text += f", which push it over (utilisation {without:.2f} without them)"
    return text


# --------------------------------------------------------------------------- backlog after a run


@dataclass(frozen=True)
class BacklogTrend:
    """Jobs waiting for a department's units in the first and second half of the measured window.

    Attributes
    ----------
    department, mode:
        Names (``department`` may be several joined by ``+`` for a job that any of them may do).
    first_half, second_half:
        Mean number of jobs waiting for a unit, over the hours with a unit on duty, in each half of
        the measured window (after warm-up, before arrivals stop), averaged over replications.
    jobs_per_day:
        Jobs requested per day in the measured window.
    growing:
        Whether the backlog grew (see :func:`backlog_trends`).
    """

    department: str
    mode: str
    first_half: float
    second_half: float
    jobs_per_day: float
    growing: bool

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            k: getattr(self, k) for k in ("department", "mode", "first_half", "second_half", "jobs_per_day", "growing")
        }


GROWTH_SHARE_OF_DAILY_JOBS = 0.25
"""The backlog grows when its second-half mean exceeds the first by this share of a day's jobs (and 2 jobs)."""


def backlog_trends(scenario: Scenario, mode: str, outputs: Sequence) -> list[BacklogTrend]:
    """Whether the jobs waiting for each department's units grew through the run.

    The test: the number of jobs waiting for a unit (requested, not yet dispatched) is a step
    function of time, rebuilt from the finished jobs' records and the jobs still waiting at the end
    of the run. Its mean over the first and over the second half of the measured window (warm-up
    to the horizon where arrivals stop) are compared. Only hours with a unit of the department on
    duty count, so that the queue that builds up every night or weekend with nobody on duty, and
    is cleared next morning, is not taken for growth. With two or more whole weeks measured, the
    first and the last week are compared (the same hours of the week); with less, the two halves
    differ by weekday (a Monday after a weekend of closed desks), so growth is only reported for a
    department whose offered load (:func:`offered_load`) is at least its capacity over the week. The backlog is *growing* when the second
    half's mean exceeds the first's by more than a quarter of a day's jobs (and by at least 2): a
    stable department's queue goes up and down around the same level, while a department offered
    more than its capacity adds (offered - capacity) jobs every day, so with rho = 1.5 its mean
    rises by about a day's jobs between the halves of a six-day window.

    Parameters
    ----------
    scenario:
        The scenario that was run.
    mode:
        The mode's name.
    outputs:
        The mode's :class:`~sim.engine.model.RunOutput` of every replication.

    Returns
    -------
    list of BacklogTrend
        One per group of capable departments that had jobs, in the scenario's order.
    """
    resolved = modes_of(scenario)[mode]
    start = scenario.warmup_days * MINUTES_PER_DAY
    end = scenario.days * MINUTES_PER_DAY
    week = 7 * MINUTES_PER_DAY
    if end - start >= 2 * week:
        # the first and the last whole week: the same hours of the week, so the weekly cycle cancels
        first_span, second_span = (start, start + week), (end - week, end)
        loads = None
    else:
        # halves of a shorter window differ by weekday (a Monday after a weekend with desks shut): count
        # growth only where the department is offered at least its capacity over the week
        first_span, second_span = (start, (start + end) / 2), ((start + end) / 2, end)
        loads = offered_load(scenario, [mode])
    town = build_town(scenario.territory)
    rosters = {d.name: build_roster(d, town) for d in scenario.departments}
    classes: dict[str, list[frozenset]] = {}
    for itype in scenario.incident_types:
        classes[itype.name] = [capable for capable, _ in jobs_of(scenario, resolved, itype)]
    spans = job_spans(outputs, classes)
    replications = max(1, len(outputs))
    order = {d.name: i for i, d in enumerate(scenario.departments)}
    trends = []
    for capable in sorted(spans, key=lambda c: min(order.get(d, 0) for d in c)):
        duty = WeeklySteps.combine([rosters[d].on_duty for d in capable if d in rosters], lambda *v: float(sum(v)))
        pairs = np.concatenate(spans[capable])
        first = max(0.0, _mean_waiting(pairs, duty, *first_span) / replications)
        second = max(0.0, _mean_waiting(pairs, duty, *second_span) / replications)
        requested = int(np.count_nonzero((pairs[:, 0] >= start) & (pairs[:, 0] < end)))
        per_day = float(requested / replications / max((end - start) / MINUTES_PER_DAY, 1e-9))
        growing = bool(second - first > max(2.0, GROWTH_SHARE_OF_DAILY_JOBS * per_day))
        if growing and loads is not None:
            offered = [
                loads.of(d, mode) for d in capable if any(x.department == d and x.mode == mode for x in loads.loads)
            ]
            growing = any(x.weekly_utilisation >= 1.0 for x in offered)
        trends.append(
            BacklogTrend(
                "+".join(sorted(capable, key=lambda d: order.get(d, 0))), mode, first, second, per_day, growing
            )
        )
    return trends


def job_spans(outputs: Sequence, classes: dict[str, list[frozenset]]) -> dict[frozenset, list[np.ndarray]]:
    """(requested, dispatched) minutes of the jobs that waited for a unit, per group of capable departments.

    A job counts for the group of its incident type's *classes* holding its department (none: not
    counted), unless it was done on the spot; a job still waiting at the end has ``inf`` as its
    dispatch. Computed on the job columns; the groups come in order of their first job.
    """
    spans: dict[frozenset, list[np.ndarray]] = {}
    for output in outputs:
        jobs = job_table(output.jobs)
        if len(jobs):
            types, departments = jobs.categories("incident_type"), jobs.categories("department")
            groups: list[frozenset] = []
            lookup = np.full((len(types), len(departments)), -1, dtype=np.int64)
            for t, name in enumerate(types):
                for d, department in enumerate(departments):
                    capable = next((c for c in classes.get(name, ()) if department in c), None)
                    if capable is not None:
                        groups.append(capable)
                        lookup[t, d] = len(groups) - 1
            group = lookup[jobs.codes("incident_type"), jobs.codes("department")]
            counted = (group >= 0) & ~jobs.column("on_the_spot").astype(bool)
            pairs = np.column_stack((jobs.column("requested_min"), jobs.column("dispatched_min")))[counted]
            group = group[counted]
            found, first = np.unique(group, return_index=True)
            for g in found[np.argsort(first)].tolist():
                spans.setdefault(groups[g], []).append(pairs[group == g])
        for capable, requested in getattr(output, "waiting", ()):
            spans.setdefault(frozenset(capable), []).append(np.array([[requested, math.inf]]))
    return spans


def _mean_waiting(pairs: np.ndarray, duty: WeeklySteps, a: float, b: float) -> float:
    """Mean number of jobs waiting over the on-duty part of [a, b) (plain mean if never on duty).

    *pairs* holds (requested, dispatched) per job, ``inf`` for never dispatched.
    """
    changes = [a]
    t = a
    while True:
        t = duty.next_change(t)
        if t >= b:
            break
        changes.append(t)
    cuts = np.array(changes + [b])
    area = _waiting_area(pairs, cuts)  # job-minutes waiting in each segment
    lengths = np.diff(cuts)
    staffed = np.array([duty.value(lo) > 0 for lo in cuts[:-1]])
    if lengths[staffed].sum() > 0:
        return float(area[staffed].sum() / lengths[staffed].sum())
    return float(area.sum() / lengths.sum()) if lengths.sum() > 0 else 0.0


def _waiting_area(pairs: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Job-minutes of waiting between consecutive *cuts*, by sorted prefix sums (no loop over jobs)."""
    if len(pairs) == 0:
        return np.zeros(len(cuts) - 1)
    requested = np.sort(pairs[:, 0])
    dispatched = np.sort(pairs[np.isfinite(pairs[:, 1]), 1])

    def before(times: np.ndarray, t: np.ndarray) -> np.ndarray:
        # sum over times < t of (t - time)
        n = np.searchsorted(times, t, side="left")
        prefix = np.concatenate([[0.0], np.cumsum(times)])
        return n * t - prefix[n]

    cumulative = before(requested, cuts) - before(dispatched, cuts)
    return np.diff(cumulative)


def backlog_messages(trends: Sequence[BacklogTrend]) -> list[str]:
    """One warning line per department whose backlog grew through the run."""
    return [
        f"warning: the backlog of '{t.department}' grew through the run in {t.mode}: on average {t.first_half:,.1f} jobs "
        f"waited for a unit in the first half of the measured window, {t.second_half:,.1f} in the second "
        f"({t.jobs_per_day:,.1f} jobs a day); its times depend on how long the run is"
        for t in trends
        if t.growing
    ]
