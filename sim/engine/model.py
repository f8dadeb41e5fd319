"""The model: one replication of one way of working, as a SimPy process per incident.

The life of a matter (:meth:`Simulation._begin` onwards) is: it occurs; it is detected by the first
channel to fire (a patrol that may not act on it may leave it, and a later pass may find it
again); the report travels to someone able to dispatch (:mod:`sim.engine.channel`); a unit is
assigned (:mod:`sim.engine.dispatch`), travels, works on scene, and the matter is resolved once every
department it needs has done its part, one after another or all at once (the
``coordination`` lever). Shift changes are the only other events. The cost of a run grows with
incidents and dispatches, not with simulated minutes.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.engine.channel import Delivery, channel_for
from sim.engine.closedloop import ClosedLoop
from sim.engine.department import build_roster
from sim.engine.dispatch import Dispatcher, Job
from sim.engine.gridworkers import GridWorkers
from sim.engine.incidents import CITY, GRID, IncidentState, generate_incidents
from sim.engine.patrol import PatrolCoverage
from sim.engine.records import IncidentRecord, JobRecord, write_record
from sim.engine.rng import RandomStreams
from sim.engine.territory import build_town
from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sample
from sim.scenario.governance import Mode, jobs_of
from sim.scenario.schedule import MINUTES_PER_DAY
from sim.scenario.schema import CHANNELS, Scenario

__all__ = ["Simulation", "RunOutput", "GRID_WORKERS"]

GRID_WORKERS = "grid_workers"
"""The name under which grid workers appear in utilisation and job records."""


@dataclass(frozen=True)
class RunOutput:
    """What one replication of one mode leaves behind.

    Incidents occur until the horizon (``days``); the run goes on for ``drain_days`` more so
    that late incidents can finish.

    Attributes
    ----------
    records:
        One record per incident that occurred, in order of occurrence.
    jobs:
        One record per finished unit visit, in order of completion.
    busy_min, on_duty_min:
        Per department, unit-minutes busy (dispatched to job done) and on duty, within the
        measured window (after warm-up, before the horizon).
    backlog:
        Jobs still waiting for a unit at the end of the run.
    end_min:
        When the run ended (``days + drain_days``, minutes): a stage not reached by then is
        censored there in the statistics.
    waiting:
        Those jobs as (capable departments, requested minute), so that the backlog's growth
        through the run can be rebuilt together with ``jobs``.
    trace:
        When the run was traced: incident number -> its story, a list of
        :class:`~sim.engine.trace.TraceEvent` in order of time.
    """

    records: list[IncidentRecord]
    jobs: list[JobRecord]
    busy_min: dict[str, float]
    on_duty_min: dict[str, float]
    backlog: int
    trace: dict[int, list[TraceEvent]] | None = None
    end_min: float = math.inf
    waiting: tuple[tuple[frozenset[str], float], ...] = ()


@contextmanager
def _cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while a run builds its states and records.

    A run leaves almost no cyclic garbage (about one object per incident, freed with the
    simulation), but it builds hundreds of thousands of long-lived objects that every automatic
    collection would scan again: a quarter of the run time on a big run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Simulation:
    """One replication of *scenario* under *mode*, with streams spawned from *seed*.

    Parameters
    ----------
    scenario:
        A validated scenario.
    mode:
        The way of working (:func:`sim.scenario.governance.resolve_mode`).
    seed:
        The replication's seed sequence; the same seed gives the same incidents in every mode.
    trace:
        Keep every incident's story (minute, stage) for timelines; costs memory on big runs.
    """

    def __init__(self, scenario: Scenario, mode: Mode, seed: np.random.SeedSequence, trace: bool = False):
        self.scenario = scenario
        self.mode = mode
        self.env = simpy.Environment()
        self.town = build_town(scenario.territory)
        self.rosters = {d.name: build_roster(d, self.town) for d in scenario.departments}
        self.coverage = PatrolCoverage(self.rosters, self.town)
        self.streams = RandomStreams(seed)
        with _cyclic_gc_paused():
            self.incidents = generate_incidents(scenario, self.town, self.coverage, self.streams)
        self.jobs = [jobs_of(scenario, mode, t) for t in scenario.incident_types]
        self.may_act = [frozenset().union(*(capable for capable, _ in jobs)) for jobs in self.jobs]
        units = [u for r in self.rosters.values() for u in r.units]
        keys = dict.fromkeys(capable for jobs in self.jobs for capable, _ in jobs)
        self.dispatcher = Dispatcher(self.env, self.town, units, mode.dispatch, keys)
        desks = {d.name: d.desk_hours.weekly() for d in scenario.departments if d.desk_hours is not None}
        self.channel = channel_for(mode.information, scenario.governance, trace, desks)
        self.coordinate = {"sequential": self._sequential, "concurrent": self._concurrent}[mode.coordination]
        self.horizon = scenario.days * MINUTES_PER_DAY
        self.end = self.horizon + scenario.drain_days * MINUTES_PER_DAY
        self.warmup = scenario.warmup_days * MINUTES_PER_DAY
        self.states: list[IncidentState] = []
        self.job_log: list[JobRecord] = []
        self.tracing = trace
        grid_spec = scenario.grid_management
        self.grid_workers = GridWorkers(grid_spec, len(self.town.grid_names)) if grid_spec else None
        self.loop = ClosedLoop(scenario.governance.closed_loop) if mode.closed_loop else None

    def run(self) -> RunOutput:
        """Simulate to the horizon and collect the records."""
        with _cyclic_gc_paused():
            return self._run()

    def _run(self) -> RunOutput:
        for roster in self.rosters.values():
            self.env.process(self._shifts(roster))
        self.env.process(self._feed(self._detect_all()))
        self.env.run(until=self.end)
        busy = {name: 0.0 for name in self.rosters}
        for roster in self.rosters.values():
            for unit in roster.units:
                if unit.busy:
                    self._account_busy(unit, self.end)
                busy[unit.department] += unit.busy_min
        on_duty = {name: r.on_duty.integral(self.warmup, self.horizon) for name, r in self.rosters.items()}
        if self.grid_workers is not None:
            busy[GRID_WORKERS] = self.grid_workers.busy_min
            on_duty[GRID_WORKERS] = self.grid_workers.on_duty_min(self.warmup, self.horizon)
        trace = {s.number: sorted(s.trace or (), key=lambda event: event.at_min) for s in self.states} if self.tracing else None
        return RunOutput(
            self._records(), self.job_log, busy, on_duty, self.dispatcher.waiting(), trace, self.end,
            self.dispatcher.waiting_jobs(),
        )

    def _records(self) -> list[IncidentRecord]:
        """Freeze every incident's state into its record, letting go of each state as it goes (peak memory)."""
        town = self.town
        states: list[Any] = self.states  # each entry becomes None once its record is written
        records = []
        for i, state in enumerate(states):
            records.append(write_record(state, town.names, town.patch_sector_names))
            states[i] = None
        return records

    # ------------------------------------------------------------------ processes

    def _shifts(self, roster):
        """Put the right units on duty at every shift change of a department."""
        env = self.env
        while True:
            on_duty = roster.on_duty_count(env.now)
            for unit in roster.units:
                self.dispatcher.set_on_duty(unit, unit.index < on_duty)
            change = roster.on_duty.next_change(env.now)
            if change >= self.end:
                return
            yield self._until(change)

    def _detect_all(self) -> list[tuple[float, int, str, str | None]]:
        """Create every incident's state and find when and how it is reported.

        Detection depends only on the incident's own draws and on who may act (the mode), never
        on the state of the system, so it is settled up front in order of occurrence; the
        simulation then only has to wake up at each detection.
        """
        inc = self.incidents
        types = self.scenario.incident_types
        channel_rows = inc.channel_min.tolist()
        pending = []
        rows = zip(inc.occurred_min.tolist(), inc.type_index.tolist(), inc.patch.tolist(), inc.layer.tolist())
        for i, (occurred, k, patch, layer) in enumerate(rows):
            itype = types[k]
            state = IncidentState(i, itype.name, patch, itype.priority, occurred, layer=layer)
            if self.tracing:
                state.trace = [TraceEvent(occurred, Stage.OCCURRED)]
            self.states.append(state)
            detected, channel, finder = self._detection(i, state, channel_rows[i], k)
            if detected < self.end:
                pending.append((detected, i, channel, finder))
        pending.sort()
        return pending

    def _feed(self, pending):
        """Start each incident's handling at its detection time."""
        env = self.env
        for detected, i, channel, finder in pending:
            if detected > env.now:
                yield self._until(detected)
            self._begin(self.states[i], i, detected, channel, finder)

    def _detection(self, i: int, state: IncidentState, times: list[float], k: int) -> tuple[float, str, str | None]:
        """When and how the matter is first reported; patrols that may not act may leave it."""
        inc = self.incidents
        sector = int(self.town.sector[state.patch])
        finder_u, leave_u = inc.finder_u[i], inc.leave_u[i]
        while True:
            at = min(times)
            if at >= self.end:
                return math.inf, "", ""
            j = times.index(at)
            if j != 0:
                return at, CHANNELS[j], ""
            finder = self.coverage.finder(sector, at, finder_u)
            if finder in self.may_act[k] or leave_u >= self.mode.leave_probability:
                return at, "patrol", finder
            state.seen_not_handled += 1
            state.note(at, Stage.SEEN_NOT_HANDLED, department=finder)
            rng = self.streams.repatrol
            notice = self.scenario.incident_types[k].detection.patrol.notice_probability
            times = [float(self.coverage.rate[sector].first_passage(at, rng.exponential() / notice))] + times[1:]
            finder_u, leave_u = rng.random(), rng.random()

    def _begin(self, state: IncidentState, i: int, detected: float, channel: str, finder: str) -> None:
        """The matter is reported: route it to the grid, a coordinated set of jobs, or one unit.

        The common case, one job, runs as a chain of event callbacks rather than a process
        (cheaper, same order of events); the rest run as SimPy processes.
        """
        state.detected_min, state.channel, state.finder = detected, channel, finder
        if self.tracing:
            if finder:
                state.note(detected, Stage.FOUND_ON_PATROL, department=finder)
            else:
                state.note(detected, Stage.REPORTED, channel=channel)
        jobs = self.jobs[self.incidents.type_index[i]]
        if len(jobs) > 1:
            jobs = sorted(jobs, key=lambda job: finder not in job[0])
        if state.layer == GRID and not any(finder in capable for capable, _ in jobs):
            self.env.process(self._resolving(state, self._grid_settles(state, channel)))
        elif len(jobs) == 1:
            capable, parts = jobs[0]
            ready = self._deliver(state, capable, channel, finder).ready_min
            if ready > self.env.now:
                self._until(ready).callbacks.append(lambda _: self._request(state, i, capable, parts, finder))
            else:
                self._request(state, i, capable, parts, finder)
        else:
            self.env.process(self._resolving(state, self.coordinate(state, i, jobs, channel, finder)))

    def _resolving(self, state: IncidentState, work):
        """Run the handling *work* (a generator), then mark the matter resolved."""
        yield from work
        self._resolved(state)

    def _resolved(self, state: IncidentState) -> None:
        """Every part is done: the matter is resolved (and, with the closed loop, later closed)."""
        now = self.env.now
        state.resolved_min = now
        state.note(now, Stage.RESOLVED)
        if self.loop is not None:
            state.closed_min, stages = self.loop.after_fix(now, self.streams.loop)
            state.keep(stages)

    def _request(self, state: IncidentState, i: int, capable, parts, finder) -> None:
        """Ask for a unit now; when one is assigned, send it (callback chain of a one-job matter)."""
        job = Job(capable, state.patch, state.priority, self.env.now, finder)
        unit = self.dispatcher.request(job)
        if unit is None:
            assert job.event is not None  # request() gives a waiting job its event
            job.event.callbacks.append(lambda event: self._send(state, i, job, parts, event.value))
        else:
            self._send(state, i, job, parts, unit)

    def _send(self, state: IncidentState, i: int, job: Job, parts, unit) -> None:
        duration = self._start_job(state, i, job, parts, unit)

        def done(_):
            self._end_job(state, job, unit)
            self._resolved(state)

        self.env.timeout(duration).callbacks.append(done)

    # Coordination and grid handling report at once (a plain call, in order of detection) and
    # return a generator for the rest of the work, which runs as a process.

    def _sequential(self, state, i, jobs, channel, finder):
        """One department after another; each hand-over travels the information channel again."""
        first = self._deliver(state, jobs[0][0], channel, finder)

        def work():
            for k, (capable, parts) in enumerate(jobs):
                delivery = first if k == 0 else self._deliver(state, capable, "coordination", None)
                yield from self._do_job(state, i, capable, parts, delivery.ready_min, finder if k == 0 else None)

        return work()

    def _concurrent(self, state, i, jobs, channel, finder):
        """Every department needed is dispatched at once ("whistle and report")."""
        if any(finder in capable for capable, _ in jobs):
            state.first("reached_min", self.env.now)
        shared = self._deliver(state, frozenset(), channel, None)

        def work():
            now = self.env.now
            visits = [
                self.env.process(self._do_job(state, i, capable, parts, now if finder in capable else shared.ready_min, finder))
                for capable, parts in jobs
            ]
            yield self.env.all_of(visits)

        return work()

    def _deliver(self, state: IncidentState, capable, source: str, finder: str | None) -> Delivery:
        """Get the report to someone able to act: the finder itself, or through the channel."""
        now = self.env.now
        if finder and finder in capable:
            delivery = Delivery(now, now)
            if self.tracing:
                state.note(now, Stage.ON_THE_SPOT, department=finder)
        else:
            delivery = self._escalate(state, self.channel.deliver(now, source, self.streams.information, capable))
            if self.tracing:
                state.keep(delivery.stages)
        if state.reached_min != state.reached_min:
            state.reached_min = delivery.reached_min
        state.referrals += delivery.referrals
        state.bounces += delivery.bounces
        return delivery

    def _escalate(self, state: IncidentState, delivery: Delivery) -> Delivery:
        """Add the city centre's turn (city matters, once) and the loop's verify-accept-assign."""
        if self.loop is None and (state.layer != CITY or state.escalated):
            return delivery
        ready, stages = delivery.ready_min, list(delivery.stages)
        city = self.scenario.grid_management
        if state.layer == CITY and city is not None and not state.escalated:
            ready += sample(city.city_min, self.streams.escalation)
            stages.append(TraceEvent(ready, Stage.CITY_CENTRE_DECIDES))
            state.escalated = True
        if self.loop is not None:
            ready, loop_stages = self.loop.before_dispatch(ready, self.streams.loop)
            stages += loop_stages
        return delivery._replace(ready_min=ready, stages=tuple(stages))

    def _grid_settles(self, state: IncidentState, channel: str):
        """A simple matter goes to a worker of its grid, who settles it."""
        env = self.env
        if channel == "grid_worker":
            ready = env.now
            state.first("reached_min", ready)
            state.note(ready, Stage.GRID_WORKER_SETTLES)
        else:
            delivery = self._escalate(state, self.channel.deliver(env.now, "grid", self.streams.information))
            state.keep(delivery.stages)
            state.first("reached_min", delivery.reached_min)
            state.referrals += delivery.referrals
            state.bounces += delivery.bounces
            ready = delivery.ready_min
        return self._grid_work(state, ready, channel == "grid_worker")

    def _grid_work(self, state: IncidentState, ready: float, on_the_spot: bool):
        env = self.env
        if ready > env.now:
            yield self._until(ready)
        grid = int(self.town.grid[state.patch])
        assert self.grid_workers is not None  # only matters settled by grid workers come here
        start, done, worker = self.grid_workers.take(grid, env.now, self.streams.grid, (self.warmup, self.horizon))
        state.dispatched_min = start
        state.on_scene_min = start
        state.on_the_spot = on_the_spot
        unit = f"{self.town.grid_names[grid]}-worker-{worker}"
        state.departments.append(GRID_WORKERS)
        state.units.append(unit)
        yield self._until(done)
        town = self.town
        self.job_log.append(
            JobRecord(
                state.number, state.type_name, unit, GRID_WORKERS, town.grid_names[grid], town.names[state.patch],
                town.patch_sector_names[state.patch], ready, start, start, done, on_the_spot,
            )
        )

    def _do_job(self, state: IncidentState, i: int, capable, parts, ready: float, finder: str | None):
        """Wait for a unit, travel, work on scene, free the unit.

        Units are never pre-empted, so once a unit is assigned its arrival and finish times are
        known: travel and on-scene work are one timeout.
        """
        env = self.env
        if ready > env.now:
            yield self._until(ready)
        job = Job(capable, state.patch, state.priority, env.now, finder)
        unit = self.dispatcher.request(job)
        if unit is None:
            unit = yield job.event
        yield env.timeout(self._start_job(state, i, job, parts, unit))
        self._end_job(state, job, unit)

    def _start_job(self, state: IncidentState, i: int, job: Job, parts, unit) -> float:
        """A unit is assigned: note dispatch and arrival; return minutes until it is done."""
        dispatched = self.env.now
        if state.dispatched_min != state.dispatched_min:
            state.dispatched_min = dispatched
        unit.busy_since_min = dispatched
        travel = 0.0 if job.on_the_spot else self._travel_min(unit, state.patch, job.travel_min)
        arrived = dispatched + travel
        if not arrived >= state.on_scene_min:
            state.on_scene_min = arrived
            state.on_the_spot = job.on_the_spot
        job.arrived_min = arrived
        service = self.incidents.service_min[i]
        return travel + (service[parts[0]] if len(parts) == 1 else sum(service[p] for p in parts))

    def _end_job(self, state: IncidentState, job: Job, unit) -> None:
        """The unit is done: log the visit, send it home or leave it on patrol, free it."""
        done = self.env.now
        dispatched, arrived = unit.busy_since_min, job.arrived_min
        if self.tracing:
            who = {"unit": unit.uid, "department": unit.department}
            state.note(dispatched, Stage.DISPATCHED, **who)
            state.note(arrived, Stage.ON_SCENE, **who)
            state.note(done, Stage.DONE, **who)
        town = self.town
        self.job_log.append(
            JobRecord(
                state.number, state.type_name, unit.uid, unit.department, unit.home_sector,
                town.names[state.patch], town.patch_sector_names[state.patch],
                job.requested_min, dispatched, arrived, done, job.on_the_spot,
            )
        )
        back = done + 60.0 * town.road_km_between(unit.base, state.patch) / unit.speed_kmh if not unit.patrols else 0.0
        self.dispatcher.move(unit, state.patch, back)
        state.departments.append(unit.department)
        state.units.append(unit.uid)
        self._account_busy(unit, done)
        self.dispatcher.release(unit)

    def _until(self, moment: float) -> simpy.Timeout:
        """A timeout that ends at clock time *moment* (never negative through rounding)."""
        return self.env.timeout(max(0.0, moment - self.env.now))

    def _travel_min(self, unit, patch: int, known: float | None = None) -> float:
        """Travel time of *unit* to *patch* now (*known* when the dispatcher just computed it), with noise."""
        minutes = unit.travel_min(self.town, patch, self.env.now) if known is None else known
        if unit.travel_cv > 0:
            sigma2 = math.log1p(unit.travel_cv**2)
            minutes *= self.streams.travel.lognormal(-sigma2 / 2, math.sqrt(sigma2))
        return minutes

    def _account_busy(self, unit, end: float) -> None:
        start = max(unit.busy_since_min, self.warmup)
        unit.busy_min += max(0.0, min(end, self.horizon) - start)
