"""Joint campaigns (联合执法行动, 专项整治): scheduled inspections by named units of named departments.

A campaign (:class:`~sim.scenario.schema.Campaign`) runs sessions on a calendar. During a session:

* **Its units are off response duty.** A department's units on response duty at minute t are its
  shift's count less the units its campaigns take then, never below zero; the campaign's units are
  the highest-numbered of those on shift (the shift itself puts the lowest-numbered on duty). They
  leave through the dispatcher's ordinary off-duty path: a free unit leaves at once, a unit on a
  job finishes that job (travel and on-scene work, never pre-empted) and then joins the campaign
  instead of taking the next job. At the session's end they are back on response duty and take the
  most urgent waiting job. When a shift holds fewer units than the campaigns ask, the campaigns get
  those on shift and response duty none. Campaign time is neither busy nor idle response time: it
  is left out of the department's on-duty minutes (so out of its utilisation) and reported as
  campaign unit-minutes.
* **It finds matters.** Each of its types is found at ``finds_per_unit_hour`` per unit-hour the
  team actually gets from the shifts (all of it when the planned units are on shift; nothing when
  nobody is; finds stop at the horizon): a Poisson count per session, at uniform times within the
  session, in the inspected
  patches in proportion to the town's incident weights. A find is a new matter (channel
  ``campaign``) detected the moment it is found. When, in the mode, every part of it may be done by
  a department of the campaign, the campaign settles it on the spot (on scene at once, parts
  concurrently, the work counted within the campaign's time); otherwise it is reported and
  dispatched like any other matter (the referral chain counts one hand-over for it).
* **It may deter.** After a session ends at minute e, an arrival of the campaign's types in its
  patches at minute t is kept with probability 1 - f exp(-(t - e) / decay); sessions multiply. The
  incidents of the common-random-number stream are thinned with uniforms of their own, drawn for
  every incident in a fixed order, so every mode faces the same thinned incidents.

Campaigns run in every mode: they are the town's routine, not a way of working, so modes compare on
equal terms; compare with and without by removing them (``--set campaigns=[]``). Everything here
draws from the ``campaigns`` stream (appended last to ``STREAMS``), after every other incident draw,
so a scenario without campaigns is untouched. Patrol coverage (who may pass a patch and find a
matter) leaves out the units of every campaign while its sessions run, whatever the calendar:
weekly campaigns' units come out of the weekly patrol rate (:meth:`CampaignPlan.patrolling`);
monthly and dated ones make the rate follow the run's days up to their last session
(:meth:`CampaignPlan.on_patrol`, :class:`~sim.scenario.schedule.DatedSteps`: a step function over
the weeks with sessions, weekly after; no per-minute ticks), so a scenario whose campaigns are all
weekly keeps its weekly rates and every number as before.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

import numpy as np

from sim.engine.department import Roster
from sim.engine.incidents import TOWN, IncidentSet, ServiceRows
from sim.engine.lifetimes import natural_end_times
from sim.engine.territory import Town
from sim.scenario.distributions import sample
from sim.scenario.governance import parts_of
from sim.scenario.schedule import DAY_SETS, MINUTES_PER_DAY, MINUTES_PER_WEEK, DatedSteps, WeeklySteps
from sim.scenario.schema import Campaign, Scenario

__all__ = ["CAMPAIGN", "CampaignPlan", "CampaignOutput", "DemandSteps"]

CAMPAIGN = "campaign"
"""The detection channel of matters found by a campaign."""


class DemandSteps:
    """Units a department's campaigns take, a step function of the run's minutes (not weekly).

    Parameters
    ----------
    intervals:
        (start, end, units) of every session that takes units of the department.
    """

    def __init__(self, intervals: list[tuple[float, float, int]]):
        delta: dict[float, int] = {}
        for start, end, units in intervals:
            delta[start] = delta.get(start, 0) + units
            delta[end] = delta.get(end, 0) - units
        self.breaks = sorted(delta)
        level, values = 0, []
        for b in self.breaks:
            level += delta[b]
            values.append(level)
        self.values = values

    def value(self, t: float) -> int:
        """Units taken at minute *t*."""
        i = bisect.bisect_right(self.breaks, t) - 1
        return self.values[i] if i >= 0 else 0

    def next_change(self, t: float) -> float:
        """The first breakpoint strictly after *t* (``inf`` when none)."""
        i = bisect.bisect_right(self.breaks, t)
        return self.breaks[i] if i < len(self.breaks) else math.inf

    def split_min(self, shift: WeeklySteps, a: float, b: float) -> tuple[float, float]:
        """Unit-minutes over [*a*, *b*] on response duty and on campaign, given the shift's on-duty count."""
        response = campaign = 0.0
        t = a
        while t < b:
            nxt = min(shift.next_change(t), self.next_change(t), b)
            on_shift, taken = shift.value(t), self.value(t)
            response += max(0.0, on_shift - taken) * (nxt - t)
            campaign += min(on_shift, taken) * (nxt - t)
            t = nxt
        return response, campaign


@dataclass(frozen=True)
class CampaignOutput:
    """What campaigns leave in one run's output (measured window: after warm-up, before the horizon).

    Attributes
    ----------
    unit_min:
        Per department, unit-minutes on campaign (as the shifts allowed: at most the units on shift).
    planned_unit_min:
        Per campaign, the unit-minutes planned (team size x session minutes).
    sessions:
        Per campaign, the sessions that started in the window.
    deterred:
        Per incident type, arrivals in the window that deterrence prevented.
    """

    unit_min: dict[str, float]
    planned_unit_min: dict[str, float]
    sessions: dict[str, int]
    deterred: dict[str, int]


class CampaignPlan:
    """The scenario's campaigns placed in the run: their sessions, patches, types and the units they take.

    Parameters
    ----------
    scenario:
        A validated scenario with ``campaigns``.
    town:
        Its territory (patch, sector and grid names).
    """

    def __init__(self, scenario: Scenario, town: Town):
        self.scenario = scenario
        self.town = town
        self.horizon = horizon = scenario.days * MINUTES_PER_DAY
        self.campaigns: tuple[Campaign, ...] = tuple(scenario.campaigns)
        self.sessions = [
            [(s, s + c.duration_min) for s in c.schedule.starts_min(scenario.start_date, horizon)]
            for c in self.campaigns
        ]
        self.patches = [_inspected(c, town) for c in self.campaigns]
        type_number = {t.name: k for k, t in enumerate(scenario.incident_types)}
        self.types = [[type_number[name] for name in c.finds_per_unit_hour] for c in self.campaigns]
        intervals: dict[str, list[tuple[float, float, int]]] = {}
        for c, sessions in zip(self.campaigns, self.sessions):
            for dept, units in c.departments.items():
                intervals.setdefault(dept, []).extend((s, e, units) for s, e in sessions)
        self.demand = {dept: DemandSteps(spans) for dept, spans in intervals.items()}
        self._deterred_at: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0, dtype=int))
        self._staffed: list[list[float]] = [[1.0] * len(ss) for ss in self.sessions]

    def patrolling(self, rosters: dict[str, Roster]) -> dict[str, Roster]:
        """The rosters as patrol coverage sees them: a patrolling department's weekly campaign units left out."""
        out = dict(rosters)
        for name, roster in rosters.items():
            weekly = _weekly_demand(self.campaigns, name)
            if roster.department.patrols and weekly is not None:
                on_patrol = WeeklySteps.combine([roster.on_duty, weekly], lambda on, taken: max(0.0, on - taken))
                out[name] = replace(roster, on_duty=on_patrol)
        return out

    def on_patrol(self, patrolling: dict[str, Roster]) -> dict[str, DatedSteps]:
        """Units on patrol of each patrolling department whose monthly or dated campaigns take some.

        *patrolling* are the rosters of :meth:`patrolling` (weekly campaigns' units already out). The
        answer follows the run's days up to the last such session's end, then the weekly count: at
        minute t, max(0, weekly count - units those campaigns take), the same rule as response duty
        (:class:`DemandSteps`). Departments without such campaigns are left out (their count stays weekly).
        """
        out = {}
        for name, roster in patrolling.items():
            spans = [
                (s, e, c.departments[name])
                for c, sessions in zip(self.campaigns, self.sessions)
                if c.schedule.dated and name in c.departments
                for s, e in sessions
            ]
            if not roster.department.patrols or not spans:
                continue
            taken, until = DemandSteps(spans), max(e for _, e, _ in spans)
            weekly = DatedSteps.unrolled(roster.on_duty, until)
            breaks = sorted(set(weekly.breaks) | {b for b in taken.breaks if b < until})
            values = (max(0.0, weekly.value(b) - taken.value(b)) for b in breaks)
            out[name] = DatedSteps(roster.on_duty, breaks, values, until)
        return out

    # ------------------------------------------------------------------ incidents

    def apply(
        self,
        incidents: IncidentSet,
        natural_end: np.ndarray,
        rng: np.random.Generator,
        shifts: dict[str, WeeklySteps] | None = None,
        finds_rng: np.random.Generator | None = None,
    ) -> tuple[IncidentSet, np.ndarray]:
        """Thin the arrivals by deterrence and add the campaigns' finds, in order of occurrence.

        Returns the new incident set (``found_by`` gives each find's campaign, -1 for arrivals) and
        the natural ends in the same order. When and of which type the deterred arrivals would have
        occurred is kept for :meth:`output`. With *shifts* (units on duty per department), a session
        finds and deters in proportion to the unit-minutes it actually gets (a team of which only half
        is on shift finds half as much; one with nobody on shift finds and deters nothing), and finds
        stop at the horizon, as arrivals do. The finds are drawn from *finds_rng* (default *rng*), a
        generator of their own, so that a change to other arrivals (one more incident type, a higher
        rate) leaves them as they were: common random numbers across variants of a scenario.
        """
        self._staffed = [
            [self._staffed_share(c, s, e, shifts) for s, e in ss] for c, ss in zip(self.campaigns, self.sessions)
        ]
        u = rng.random(len(incidents))
        kept = u < self.keep_probability(incidents.occurred_min, incidents.type_index, incidents.patch)
        self._deterred_at = (incidents.occurred_min[~kept], incidents.type_index[~kept])
        finds_rng = rng if finds_rng is None else finds_rng
        occurred, types, patch, service, found_by = self._finds(finds_rng)
        ends = natural_end_times(self.scenario, occurred, types, finds_rng)
        n, m = int(kept.sum()), len(occurred)
        width = 0 if incidents.rounds_min is None else incidents.rounds_min.shape[1]
        merged_occurred = np.concatenate([incidents.occurred_min[kept], occurred])
        order = np.argsort(merged_occurred, kind="stable")

        def both(a, b):
            return np.concatenate([a[kept], b])[order]

        merged = IncidentSet(
            occurred_min=merged_occurred[order],
            type_index=both(incidents.type_index, types),
            patch=both(incidents.patch, patch),
            service_min=(incidents.service_min.take(kept) + ServiceRows.of_rows(service)).take(order),
            channel_min=both(incidents.channel_min, np.full((m, incidents.channel_min.shape[1]), np.inf)),
            finder_u=both(incidents.finder_u, np.zeros(m)),
            leave_u=both(incidents.leave_u, np.ones(m)),
            layer=both(incidents.layer, np.full(m, TOWN)),
            rounds_min=None
            if incidents.rounds_min is None
            else both(incidents.rounds_min, np.full((m, width), np.inf)),
            rounds_by=incidents.rounds_by,
            found_by=np.concatenate([np.full(n, -1), found_by])[order],
        )
        ends_all = np.concatenate([np.asarray(natural_end, dtype=float)[kept], ends])[order]
        return merged, ends_all

    def _staffed_share(self, c: Campaign, start: float, end: float, shifts: dict[str, WeeklySteps] | None) -> float:
        """The share of a session's planned unit-minutes (up to the horizon) it gets from the shifts (1 without shifts)."""
        end = min(end, self.horizon)
        if shifts is None or end <= start:
            return 1.0 if shifts is None else 0.0
        got = 0.0
        for dept, units in c.departments.items():
            shift, t = shifts[dept], start
            while t < end:
                nxt = min(shift.next_change(t), end)
                got += min(shift.value(t), units) * (nxt - t)
                t = nxt
        planned = c.units * (end - start)
        return 1.0 if got >= planned else got / planned

    def keep_probability(self, occurred: np.ndarray, types: np.ndarray, patch: np.ndarray) -> np.ndarray:
        """The probability that each arrival is not deterred (1 outside every campaign's types, patches and times)."""
        keep = np.ones(len(occurred))
        plans = zip(self.campaigns, self.sessions, self.types, self.patches, self._staffed)
        for c, sessions, mine_types, mine_patches, staffed_shares in plans:
            if c.deterrence is None or c.deterrence.factor == 0:
                continue
            concerned = np.isin(types, mine_types) & np.isin(patch, mine_patches)
            if not concerned.any():
                continue
            idx = np.flatnonzero(concerned)
            t = occurred[idx]
            decay = c.deterrence.decay_days * MINUTES_PER_DAY
            for (_, end), staffed in zip(sessions, staffed_shares):
                after = t > end
                factor = c.deterrence.factor if staffed == 1.0 else c.deterrence.factor * staffed
                keep[idx[after]] *= 1.0 - factor * np.exp(-(t[after] - end) / decay)
        return keep

    def _finds(self, rng: np.random.Generator):
        """Every session's finds: occurrence, type, patch, on-scene work per part, campaign; in a fixed order of draws."""
        occurred, types, patches, found_by = [], [], [], []
        service: list[tuple] = []
        itypes = self.scenario.incident_types
        weights = self.town.weights
        for number, (c, sessions, mine_patches) in enumerate(zip(self.campaigns, self.sessions, self.patches)):
            w = np.asarray(weights, dtype=float)[mine_patches]
            p = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
            for (start, end), staffed in zip(sessions, self._staffed[number]):
                end = min(end, self.horizon)  # finds stop at the horizon, as arrivals do
                for k in (self.types[number][j] for j in range(len(c.finds_per_unit_hour))):
                    rate = c.finds_per_unit_hour[itypes[k].name] * c.units / 60.0
                    expected = rate * (end - start) if staffed == 1.0 else rate * (end - start) * staffed
                    count = int(rng.poisson(expected))
                    occurred.append(start + rng.random(count) * (end - start))
                    patches.append(rng.choice(mine_patches, size=count, p=p))
                    parts = [np.atleast_1d(sample(itypes[k].service_min, rng, count)) for _ in parts_of(itypes[k])]
                    service += [tuple(float(x) for x in row) for row in zip(*parts)] if count else []
                    types.append(np.full(count, k))
                    found_by.append(np.full(count, number))
        if not occurred:
            return np.zeros(0), np.zeros(0, dtype=int), np.zeros(0, dtype=int), [], np.zeros(0, dtype=int)
        return (
            np.concatenate(occurred),
            np.concatenate(types),
            np.concatenate(patches),
            service,
            np.concatenate(found_by),
        )

    # ------------------------------------------------------------------ handling and accounting

    def acting(self, campaign: int, jobs) -> list[str] | None:
        """For each job of a found matter, the campaign's department that does it; None if one has none."""
        present = sorted(self.campaigns[campaign].departments)
        out = []
        for capable, _ in jobs:
            dept = next((d for d in present if d in capable), None)
            if dept is None:
                return None
            out.append(dept)
        return out

    def output(self, shifts: dict[str, WeeklySteps], window: tuple[float, float]) -> CampaignOutput:
        """Campaign unit-minutes, sessions and deterred arrivals in the measured *window*."""
        a, b = window
        unit_min = {dept: demand.split_min(shifts[dept], a, b)[1] for dept, demand in self.demand.items()}
        planned = {
            c.name: float(sum(c.units * max(0.0, min(e, b) - max(s, a)) for s, e in sessions))
            for c, sessions in zip(self.campaigns, self.sessions)
        }
        started = {
            c.name: sum(1 for s, _ in sessions if a <= s < b) for c, sessions in zip(self.campaigns, self.sessions)
        }
        at, kinds = self._deterred_at
        inside = (at >= a) & (at < b)
        names = [t.name for t in self.scenario.incident_types]
        deterred = {names[k]: int(np.sum(inside & (kinds == k))) for k in sorted({k for ts in self.types for k in ts})}
        return CampaignOutput(unit_min, planned, started, deterred)


def _weekly_demand(campaigns, department: str) -> WeeklySteps | None:
    """Units of *department* that weekly campaigns take, over the week (None when they take none)."""
    spans: list[tuple[float, float, int]] = []
    for c in campaigns:
        units = c.departments.get(department, 0)
        if c.schedule.every != "week" or not units:
            continue
        hour, minute = (int(x) for x in c.schedule.start.split(":"))
        days = DAY_SETS[c.schedule.days] if isinstance(c.schedule.days, str) else c.schedule.days
        for day in days:
            start = day * MINUTES_PER_DAY + 60.0 * hour + minute
            end = start + c.duration_min
            spans.append((start, min(end, MINUTES_PER_WEEK), units))
            if end > MINUTES_PER_WEEK:  # a Sunday session running into Monday
                spans.append((0.0, end - MINUTES_PER_WEEK, units))
    if not spans:
        return None
    breaks = sorted({0.0} | {t for s, e, _ in spans for t in (s, e) if t < MINUTES_PER_WEEK})
    values = tuple(float(sum(u for s, e, u in spans if s <= b < e)) for b in breaks)
    return WeeklySteps(tuple(breaks), values)


def _inspected(campaign: Campaign, town: Town) -> np.ndarray:
    """Patch numbers a campaign inspects (all patches when it names none)."""
    if campaign.patches is not None:
        return np.array([_known(town.names, name, "patch", campaign.name) for name in campaign.patches])
    for key, names, of_patch in (("sectors", town.sector_names, town.sector), ("grids", town.grid_names, town.grid)):
        wanted = getattr(campaign, key)
        if wanted is not None:
            numbers = [_known(names, name, key[:-1], campaign.name) for name in wanted]
            return np.flatnonzero(np.isin(of_patch, numbers))
    return np.arange(town.size)


def _known(names, name: str, kind: str, campaign: str) -> int:
    names = list(names)
    if name not in names:
        raise ValueError(f"campaign '{campaign}': unknown {kind} '{name}'; known: {', '.join(names)}")
    return names.index(name)
