"""The scenario: a town, its departments, its incidents and its ways of working, as plain data.

A scenario file (YAML) is validated once, here, into frozen pydantic models; nothing deeper in
the model reads YAML or dicts. Each field carries a default and a description, so the JSON
Schema printed by ``python -m sim schema`` documents the file format for editors and people.

Checks that span several parts of the file (a department named in an incident type must
exist, every matter must be actionable by someone in every mode) live in
:func:`sim.scenario.checks.cross_check`, which returns problems with key paths rather than
raising on the first.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import Duration, Exponential, Lognormal
from sim.scenario.schedule import DAY_SETS, WeeklyHours, parse_window

__all__ = [
    "Scenario",
    "Territory",
    "GridSpec",
    "PatchSpec",
    "Department",
    "ShiftWindow",
    "IncidentType",
    "Detection",
    "ChannelSpec",
    "PatrolDetection",
    "Hours",
    "Governance",
    "ReferralSpec",
    "InstantSpec",
    "ModeSpec",
    "AuthoritySpec",
    "Escalation",
    "ClosedLoopSpec",
    "GridManagement",
    "CHANNELS",
    "apportion",
]

MAX_EXPECTED_INCIDENTS = 20_000_000
"""More incidents than this in one run is refused: it would take hours and gigabytes."""

CHANNELS = ("patrol", "grid_worker", "hotline", "camera")
"""Ways a matter is detected, in the order they are reported."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a usable name: use letters, digits, '_' or '-', starting with a letter"
        )
    return value


def _check_windows(times: list[str]) -> list[str]:
    for window in times:
        parse_window(window)
    return times


def _check_days(days):
    if isinstance(days, list) and (not days or any(not 0 <= d <= 6 for d in days)):
        raise ValueError("days must be a non-empty list of numbers 0 (Monday) to 6 (Sunday)")
    return days


Name = Annotated[str, AfterValidator(_check_name)]
Windows = Annotated[list[str], Field(min_length=1), AfterValidator(_check_windows)]
Days = Annotated[Literal["daily", "weekdays", "weekends"] | list[int], AfterValidator(_check_days)]


class Hours(_Model):
    """Weekly opening hours: daily time windows repeated on some days."""

    days: Days = Field("daily", description="days the windows repeat on: daily, weekdays, weekends, or a list (0 = Monday)")
    times: Windows = Field(
        ["00:00-24:00"], description="daily windows 'HH:MM-HH:MM'; an end before the start runs past midnight"
    )

    def weekly(self) -> WeeklyHours:
        """The hours as a :class:`~sim.scenario.schedule.WeeklyHours`."""
        days = DAY_SETS[self.days] if isinstance(self.days, str) else self.days
        return WeeklyHours.from_windows(self.times, days)


ALWAYS = Hours()
OFFICE_HOURS = Hours(days="weekdays", times=["08:30-12:00", "14:00-17:30"])


# --------------------------------------------------------------------------- territory


class GridSpec(_Model):
    """A rows x cols grid of square patches, grouped into sectors and higher-level grids by blocks."""

    rows: PositiveInt = Field(le=1000, description="patch rows")
    cols: PositiveInt = Field(le=1000, description="patch columns")
    sectors: tuple[PositiveInt, PositiveInt] = Field(
        (1, 1), description="patrol sectors as [rows, cols] blocks of patches"
    )
    grids: tuple[PositiveInt, PositiveInt] = Field(
        (1, 1), description="higher-level grids (e.g. village/community) as [rows, cols] blocks"
    )
    weights: list[NonNegativeFloat] | None = Field(
        None, description="incident weight per patch, row by row (rows*cols numbers); default equal"
    )
    centre_peak: NonNegativeFloat = Field(
        0.0, allow_inf_nan=False, description="extra weight at the centre (0 = flat); weight = 1 + peak*exp(-d^2/2s^2)"
    )

    @model_validator(mode="after")
    def _shapes(self) -> GridSpec:
        if self.weights is not None and len(self.weights) != self.rows * self.cols:
            raise ValueError(f"weights has {len(self.weights)} numbers, expected rows*cols = {self.rows * self.cols}")
        if self.weights is not None and sum(self.weights) <= 0:
            raise ValueError("weights must not all be zero")
        for name, (r, c) in (("sectors", self.sectors), ("grids", self.grids)):
            if r > self.rows or c > self.cols:
                raise ValueError(f"{name} [{r}, {c}] has more blocks than the grid has patches")
        return self


class PatchSpec(_Model):
    """One patch (grid cell / patrol patch) given explicitly."""

    name: Name = Field(description="unique patch name")
    x_km: float = Field(allow_inf_nan=False, description="east position of the patch centre, km")
    y_km: float = Field(allow_inf_nan=False, description="north position of the patch centre, km")
    weight: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="share of incidents (relative)")
    sector: str = Field("all", description="patrol sector the patch belongs to")
    grid: str = Field("all", description="higher-level grid the patch belongs to")


class Territory(_Model):
    """Where incidents happen and how long it takes to get there."""

    grid: GridSpec | None = Field(None, description="generate a rows x cols grid (give this or patches)")
    patches: list[PatchSpec] | None = Field(None, min_length=1, description="explicit patches (give this or grid)")
    patch_km: PositiveFloat = Field(
        1.0, allow_inf_nan=False, le=1000, description="side of one patch, km (grid spacing; a patrol's beat per patch)"
    )
    detour_factor: float = Field(1.3, ge=1.0, le=5.0, description="road distance / straight-line distance")
    distance: Literal["euclidean", "manhattan"] = Field("euclidean", description="straight-line metric")

    @model_validator(mode="after")
    def _one_source(self) -> Territory:
        if (self.grid is None) == (self.patches is None):
            raise ValueError("give exactly one of 'grid' or 'patches'")
        if self.patches is not None:
            names = [p.name for p in self.patches]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"patch names must be unique; repeated: {', '.join(dupes)}")
            if sum(p.weight for p in self.patches) <= 0:
                raise ValueError("patch weights must not all be zero")
        return self


# --------------------------------------------------------------------------- departments


def apportion(weights: list[float], total: int) -> list[int]:
    """Share *total* whole units among windows in proportion to *weights* (largest remainder).

    Each window's quota is ``total * weight / sum(weights)``; every window gets the whole part
    of its quota and the units left over go to the largest remainders (remainders compared to
    9 decimals, a tie going to the earlier window, so a half is rounded up for the first
    window). Then, when *total* is at least the number of windows with a positive weight, no
    such window is left empty: an empty one takes a unit from the window with the most units
    (the later one on a tie). The counts always add up to *total* (0 when every weight is 0).
    """
    if total < 0:
        raise ValueError(f"cannot share out {total} units")
    weight_sum = float(sum(weights))
    if weight_sum <= 0 or total == 0:
        return [0] * len(weights)
    quotas = [total * w / weight_sum for w in weights]
    counts = [math.floor(round(q, 9)) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-round(quotas[i] - counts[i], 9), i))
    for i in order[: max(0, total - sum(counts))]:
        counts[i] += 1
    staffed = [i for i, w in enumerate(weights) if w > 0]
    if total >= len(staffed):
        for i in staffed:
            if counts[i] == 0:
                donor = max(range(len(counts)), key=lambda j: (counts[j], j))
                counts[donor] -= 1
                counts[i] += 1
    return counts


class ShiftWindow(_Model):
    """How many of a department's units are on duty during some weekly hours (a part of a rota pattern)."""

    days: Days = Field("daily", description="days the windows repeat on, as in Hours")
    times: Windows = Field(description="daily windows 'HH:MM-HH:MM'")
    units: NonNegativeInt = Field(
        description="units on duty in these windows in the rota pattern; the department's units scale the pattern"
    )

    def hours(self) -> Hours:
        """The window's hours."""
        return Hours(days=self.days, times=self.times)

    def weekdays(self) -> tuple[int, ...]:
        """The days (0 = Monday) the window starts on."""
        return DAY_SETS[self.days] if isinstance(self.days, str) else tuple(self.days)


class Department(_Model):
    """A department with field units and the incident types it may legally act on."""

    name: Name = Field(description="unique department name")
    units: NonNegativeInt = Field(le=100_000, description="field units (teams or vehicles)")
    crew: PositiveInt = Field(2, le=100, description="people per unit (reported, not simulated)")
    base: str | list[str] = Field(
        "centre", description="patch name(s) of the base(s); units are spread over them in turn; 'centre' = the central patch"
    )
    speed_kmh: PositiveFloat = Field(25.0, allow_inf_nan=False, le=300, description="travel speed on roads, km/h")
    setoff_min: NonNegativeFloat = Field(2.0, allow_inf_nan=False, description="time to set off after dispatch, minutes")
    travel_cv: NonNegativeFloat = Field(
        0.0, allow_inf_nan=False, le=5, description="random variation of travel time (lognormal CV; 0 = deterministic)"
    )
    shift: Literal["24h", "office_hours", "day_night"] | list[ShiftWindow] = Field(
        "24h",
        description="'24h' (all units always), 'office_hours' (all units weekdays 08:30-12:00, 14:00-17:30), "
        "'day_night' (day_share of units 08:00-20:00, the rest 20:00-08:00), or a list of windows with unit counts: "
        "a rota pattern that the department's units scale (the pattern's size is the most units its windows roster "
        "on one day; at that size the windows are used as written, otherwise each window gets its share of the units "
        "by largest remainder, and no window of the pattern is left empty while there is a unit for each)",
    )
    day_share: float = Field(
        0.65,
        ge=0,
        le=1,
        description="share of units on the day shift under 'day_night' (rounded half up; with 2 or more units and "
        "a share strictly between 0 and 1, each shift keeps at least one unit)",
    )
    patrols: bool = Field(False, description="units patrol their sector between jobs (and can find matters there)")
    patrol_speed_kmh: PositiveFloat = Field(8.0, allow_inf_nan=False, le=100, description="patrolling speed, km/h")
    powers: list[str] = Field([], description="incident types the department may legally act on")
    poolable: bool = Field(
        False,
        description="joins the team of a mode that pools 'all'; a department's powers are pooled only when the "
        "scenario says so (here, or by naming it in a mode's authority.pooled)",
    )
    desk_hours: Hours | None = Field(
        None,
        description="when the department's desk works: a referral's last hand-over, onto this department's desk, "
        "counts working minutes in these hours; default: governance.referral.desk_hours",
    )

    def pattern_units(self) -> int:
        """The size of the team an explicit rota is written for: the most units its windows roster on one day.

        Windows are counted on the days they start (a night window starting on Monday belongs to
        Monday). For a named shift (``24h``, ``office_hours``, ``day_night``) it is ``units``.
        """
        if not isinstance(self.shift, list):
            return self.units
        per_day = [0] * 7
        for window in self.shift:
            for day in window.weekdays():
                per_day[day] += window.units
        return max(per_day)

    def shift_windows(self) -> list[ShiftWindow]:
        """The shift as explicit windows with the unit counts of this team size.

        Explicit windows are a pattern scaled to ``units`` (:func:`apportion` with the pattern's
        counts as weights, over ``units * total / pattern_units`` rounded half up, which is
        ``units`` when every window runs on the same days); at ``units == pattern_units()`` they
        are used as written. ``day_night`` shares the units between its two shifts in the same way.
        """
        if isinstance(self.shift, list):
            pattern = self.pattern_units()
            if self.units == pattern:
                return list(self.shift)
            total = sum(w.units for w in self.shift)
            share = 0 if pattern == 0 else math.floor(round(self.units * total / pattern, 9) + 0.5)
            counts = apportion([w.units for w in self.shift], share)
            return [w.model_copy(update={"units": n}) for w, n in zip(self.shift, counts)]
        if self.shift == "24h":
            return [ShiftWindow(times=["00:00-24:00"], units=self.units)]
        if self.shift == "office_hours":
            return [ShiftWindow(days=OFFICE_HOURS.days, times=OFFICE_HOURS.times, units=self.units)]
        day, night = apportion([self.day_share, 1.0 - self.day_share], self.units)
        return [ShiftWindow(times=["08:00-20:00"], units=day), ShiftWindow(times=["20:00-08:00"], units=night)]


# --------------------------------------------------------------------------- incidents


class ChannelSpec(_Model):
    """A detection channel other than patrols: grid worker, hotline, camera."""

    probability: float = Field(0.0, ge=0, le=1, description="chance this channel ever reports the matter")
    delay_min: Duration = Field(Exponential(dist="exponential", mean=60.0), description="occurrence to report, minutes")
    hours: Hours | None = Field(
        None,
        description="when the people behind the channel work; a report falling outside waits for them to come on duty. "
        "Default: grid_worker works the grid workers' hours (grid_management.hours, else daily 08:00-20:00); "
        "hotline and camera 24 h (a camera's reports are read in the camera room: give its hours if not watched 24 h)",
    )


class PatrolDetection(_Model):
    """Detection by patrolling units passing through the patch."""

    notice_probability: float = Field(
        0.5, ge=0, le=1, description="chance that a patrol passing through the patch notices the matter"
    )


class Detection(_Model):
    """How a matter comes to someone's attention; the first channel to fire detects it."""

    patrol: PatrolDetection = Field(PatrolDetection(), description="found by a patrolling unit")
    grid_worker: ChannelSpec = Field(ChannelSpec(), description="found by a grid worker on rounds")
    hotline: ChannelSpec = Field(
        ChannelSpec(probability=0.3), description="reported by a citizen's hotline call"
    )
    camera: ChannelSpec = Field(ChannelSpec(), description="seen on a watched camera")


class Escalation(_Model):
    """Shares of matters by the layer that can settle them (grid management, seeds/004_zhewang.md).

    ``grid`` matters are simple (mediation, advice) and solved by the grid's own workers when the
    scenario has ``grid_management``; ``city`` matters go up to the city centre before a
    department is sent; the rest are the town's, dispatched to departments.
    """

    grid: float = Field(0.0, ge=0, le=1, description="share a grid worker can solve (needs grid_management)")
    city: float = Field(0.0, ge=0, le=1, description="share that must go up to the city centre")

    @model_validator(mode="after")
    def _shares(self) -> Escalation:
        if self.grid + self.city > 1 + 1e-12:
            raise ValueError(f"grid + city shares add up to {self.grid + self.city:g}; expected at most 1")
        return self


class IncidentType(_Model):
    """A kind of matter: how often it happens, where, how it is found, who must act, how long it takes."""

    name: Name = Field(description="unique incident type name")
    rate_per_day: NonNegativeFloat = Field(allow_inf_nan=False, le=1e7, description="incidents per day in the whole town")
    profile: list[NonNegativeFloat] | None = Field(
        None, description="24 relative hourly rates (hour 0 = 00:00-01:00); default flat"
    )
    service_min: Duration = Field(
        Lognormal(dist="lognormal", mean=30.0, cv=1.0), description="on-scene work per department involved, minutes"
    )
    priority: int = Field(3, ge=1, le=9, description="1 = most urgent; queues serve lower numbers first")
    requires: list[str] | None = Field(
        None,
        min_length=1,
        description="departments that must all act (multi-department matter); default: any one department with power over it",
    )
    detection: Detection = Field(Detection(), description="detection channels")
    escalation: Escalation = Field(
        default_factory=lambda: Escalation(), description="which layer a matter needs: grid, town (the rest) or city"
    )
    target_min: PositiveFloat | None = Field(
        None, allow_inf_nan=False, description="response-time target for this type, minutes; default: the scenario's target_min"
    )

    @field_validator("profile")
    @classmethod
    def _profile(cls, profile):
        if profile is not None:
            if len(profile) != 24:
                raise ValueError(f"profile needs 24 hourly numbers, got {len(profile)}")
            if sum(profile) <= 0:
                raise ValueError("profile must not be all zeros")
        return profile

    @field_validator("requires")
    @classmethod
    def _unique(cls, requires):
        if requires is not None and len(set(requires)) != len(requires):
            raise ValueError("requires lists a department twice")
        return requires


# --------------------------------------------------------------------------- governance


class AuthoritySpec(_Model):
    """Who may act on what: which departments' powers are merged into one team."""

    pooled: Literal["all", "none"] | list[str] = Field(
        "none", description="'none', 'all' (every poolable department), or the departments pooled into one team"
    )


class ModeSpec(_Model):
    """A way of working: values of the four levers. Unset levers come from ``based_on``."""

    based_on: Literal["fragmented", "joint", "unified"] | None = Field(
        None, description="preset this mode starts from (default: the preset of the same name, else fragmented)"
    )
    authority: AuthoritySpec | None = Field(None, description="who may act on what")
    information: Literal["referral", "instant"] | None = Field(
        None, description="'referral': through office-hours desks; 'instant': a shared channel to a 24 h centre"
    )
    dispatch: Literal["own_queue", "nearest"] | None = Field(
        None, description="'own_queue': the owning department's first free unit; 'nearest': nearest free capable unit"
    )
    coordination: Literal["sequential", "concurrent"] | None = Field(
        None, description="multi-department matters: one department after another, or all at once"
    )
    leave_probability: float | None = Field(
        None, ge=0, le=1, description="chance a unit that finds a matter outside its powers leaves it (seen, not handled)"
    )
    closed_loop: bool | None = Field(
        None, description="run the eight-step closed loop (verify, accept, assign ... check and close) around each fix"
    )


class ReferralSpec(_Model):
    """The referral chain of fragmented working: desks, hand-overs, misrouting."""

    desk_hours: Hours = Field(
        OFFICE_HOURS,
        description="when the town's desks work: every hand-over step except the last (a department's own "
        "desk_hours, which default to these) and, unless hotline_hours is given, the hotline back office",
    )
    hotline_hours: Hours | None = Field(
        None,
        description="when the hotline's back office forwards reports (the first hand-over of a hotline report); "
        "default: desk_hours",
    )
    handover_min: Duration = Field(
        Lognormal(dist="lognormal", mean=60.0, cv=1.0), description="working minutes per hand-over step"
    )
    steps: dict[Literal["patrol", "grid_worker", "hotline", "camera", "coordination", "grid"], NonNegativeInt] = Field(
        {"patrol": 3, "grid_worker": 3, "hotline": 2, "camera": 3, "coordination": 2, "grid": 1},
        description="hand-over steps from each channel's report until the owning department's unit has the job "
        "(patrol: own desk, owning desk, its unit; grid: to the grid's workers)",
    )
    misroute_probability: float = Field(
        0.12, ge=0, lt=1, description="chance a forward goes to the wrong department and bounces back"
    )


class InstantSpec(_Model):
    """The shared channel of joint and unified working: a post in a group, a 24 h centre."""

    report_min: Duration = Field(
        Lognormal(dist="lognormal", mean=2.0, cv=0.5), description="finding to posting the report, minutes"
    )
    centre_min: Duration = Field(
        Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="centre's triage and dispatch decision, minutes"
    )
    centre_hours: Hours = Field(ALWAYS, description="when the command centre dispatches")


class ClosedLoopSpec(_Model):
    """Durations of the eight-step closed loop (seeds/004_zhewang.md#eight-step-closed-loop).

    Collect-and-report is the detection and report; verify, accept and assign happen before a
    unit is sent; tracking runs alongside the work; feedback and check-and-close follow the fix,
    so the case is *closed* after it is *resolved*; evaluation comes last.
    """

    verify_min: Duration = Field(Lognormal(dist="lognormal", mean=10.0, cv=0.5), description="verify the report, minutes")
    accept_min: Duration = Field(Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="accept the case, minutes")
    assign_min: Duration = Field(Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="triage and assign, minutes")
    feedback_min: Duration = Field(Lognormal(dist="lognormal", mean=10.0, cv=0.5), description="report the result, minutes")
    check_min: Duration = Field(Lognormal(dist="lognormal", mean=20.0, cv=0.5), description="check and close, minutes")
    evaluate_min: Duration = Field(Lognormal(dist="lognormal", mean=30.0, cv=0.5), description="evaluate, minutes (after closing)")


class Governance(_Model):
    """How the information channels work, and the ways of working (modes) to compare."""

    referral: ReferralSpec = Field(ReferralSpec(), description="the referral chain")
    instant: InstantSpec = Field(InstantSpec(), description="the shared channel")
    closed_loop: ClosedLoopSpec = Field(ClosedLoopSpec(), description="step durations of the closed loop (modes switch it on)")
    modes: dict[Name, ModeSpec] = Field(
        {"fragmented": ModeSpec(), "joint": ModeSpec(), "unified": ModeSpec()},
        min_length=1,
        description="modes by name; preset names (fragmented, joint, unified) start from the preset",
    )


class GridManagement(_Model):
    """Grid workers in every higher-level grid, and the layers above them (seeds/002_jinjiang.md, 004_zhewang.md).

    A matter whose layer is ``grid`` is solved by a worker of its grid ("the grid handles it");
    a ``city`` matter waits ``city_min`` for the city centre before a department is dispatched.
    """

    workers_per_grid: PositiveInt = Field(2, le=1000, description="grid workers in each higher-level grid")
    hours: Hours = Field(
        Hours(days="daily", times=["08:00-20:00"]), description="when grid workers take on matters"
    )
    solve_min: Duration = Field(
        Lognormal(dist="lognormal", mean=30.0, cv=0.8), description="a grid worker's time to settle a simple matter, minutes"
    )
    city_min: Duration = Field(
        Lognormal(dist="lognormal", mean=120.0, cv=0.8), description="escalation to the city centre and back, minutes"
    )


# --------------------------------------------------------------------------- the scenario


class Scenario(_Model):
    """A town's enforcement set-up to simulate. Minutes are the unit of time throughout."""

    name: str = Field("scenario", description="short name used in outputs")
    description: str = Field("", description="what the scenario represents")
    seed: int = Field(20240601, ge=0, le=2**63 - 1, description="base random seed")
    days: PositiveFloat = Field(7.0, allow_inf_nan=False, le=36_500, description="simulated horizon, days")
    warmup_days: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="initial days excluded from statistics")
    drain_days: NonNegativeFloat = Field(
        3.0,
        allow_inf_nan=False,
        le=3650,
        description="days simulated after arrivals stop, so that late incidents can finish; still open then = unresolved",
    )
    target_min: PositiveFloat = Field(30.0, allow_inf_nan=False, description="response-time target, minutes")
    territory: Territory
    departments: list[Department] = Field(min_length=1)
    incident_types: list[IncidentType] = Field(min_length=1)
    governance: Governance = Field(Governance(), description="channels and modes")
    grid_management: GridManagement | None = Field(
        None, description="grid workers who solve simple matters in their grid, and escalation up to the city"
    )

    @model_validator(mode="after")
    def _warmup(self) -> Scenario:
        if self.warmup_days >= self.days:
            raise ValueError(f"warmup_days ({self.warmup_days}) must be less than days ({self.days})")
        return self

    def department(self, name: str) -> Department:
        """The department called *name*."""
        return next(d for d in self.departments if d.name == name)

    def incident_type(self, name: str) -> IncidentType:
        """The incident type called *name*."""
        return next(t for t in self.incident_types if t.name == name)

    def target_for(self, type_name: str) -> float:
        """The response-time target of incident type *type_name*: its own ``target_min``, else the scenario's."""
        own = self.incident_type(type_name).target_min
        return self.target_min if own is None else own

    def desk_hours(self, department: str) -> Hours:
        """When *department*'s desk works: its own ``desk_hours``, else the referral's town-wide desk hours."""
        own = self.department(department).desk_hours
        return self.governance.referral.desk_hours if own is None else own

    def channel_hours(self, incident_type: IncidentType, channel: str) -> Hours:
        """When detection *channel* of *incident_type* reports: the hours given, else those of the people behind it.

        Grid workers report in the grid workers' hours (``grid_management.hours``, or that field's
        default when the scenario has no grid management); the hotline and cameras round the clock.
        """
        spec = getattr(incident_type.detection, channel)
        if spec.hours is not None:
            return spec.hours
        if channel == "grid_worker":
            return (self.grid_management or GridManagement()).hours
        return ALWAYS


IncidentType.model_rebuild()
Scenario.model_rebuild()
