"""The model: one replication of one way of working, each incident a chain of SimPy events.

The life of a matter (:meth:`Simulation._begin` onwards) is: it occurs; it is detected by the first
channel to fire (a patrol that may not act on it may leave it, and a later pass may find it
again); the report travels to someone able to dispatch (:mod:`sim.engine.channel`); a unit is
assigned (:mod:`sim.engine.dispatch`), travels, works on scene, and the matter is resolved once every
department it needs has done its part, one after another or all at once (the
``coordination`` lever). Shift changes are the only other events. The cost of a run grows with
incidents and dispatches, not with simulated minutes. The common matter -- reported once, one job,
no staffed centre -- takes a short path decided once per incident type (:meth:`Simulation._short_paths`):
the general path without the branches it cannot take, the same draws and events in the same order.
"""

from __future__ import annotations

import array
import functools
import gc
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import simpy

from sim.engine.campaigns import CAMPAIGN, CampaignOutput, CampaignPlan
from sim.engine.centre import CENTRE, Centre
from sim.engine.channel import Delivery, ReferralChain, SharedChannel, channel_for, delivery_of
from sim.engine.clock import Callback, Clock
from sim.engine.closedloop import ClosedLoop
from sim.engine.competence import CompetenceTable
from sim.engine.department import build_roster
from sim.engine.dispatch import Dispatcher, Job
from sim.engine.duplicates import Duplication
from sim.engine.gridworkers import GRID_LEADERS, GridLeaders, GridWorkers
from sim.engine.incidents import CITY, GRID, IncidentSet, IncidentState, generate_incidents
from sim.engine.levels import Levels
from sim.engine.lifetimes import natural_end_times
from sim.engine.patrol import PatrolCoverage
from sim.engine.records import RecordTable, incident_buffers, job_buffers, write_record
from sim.engine.rng import RandomStreams
from sim.engine.territory import build_town
from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sample
from sim.scenario.governance import Mode, jobs_of
from sim.scenario.schedule import MINUTES_PER_DAY, WeeklySteps
from sim.scenario.schema import CHANNELS, Scenario

__all__ = ["Simulation", "RunOutput", "GRID_WORKERS"]

GRID_WORKERS = "grid_workers"
"""The name under which grid workers appear in utilisation and job records."""

_Step = tuple[Centre | None, str, float, Stage | tuple[tuple[float, Stage], ...]]
"""One step of a report through the centres (:class:`_CentreWalk`): who handles it (None: a fixed delay, no
queue), the centre's name for the trace, its minutes in all, and the stage it ends in, or for a step of
several parts (the loop's verify, accept and assign) each part's minutes and stage."""

_Hop = tuple[Centre | None, str, int, Stage, Callable[[np.random.Generator], float]]
"""A centre on a report's path (:meth:`Simulation._path`): its operators, its name, its depth (the row of the
handling drawn ahead), the stage it ends in there (passed up or decided) and its handling for a later pass."""


@dataclass(frozen=True)
class RunOutput:
    """What one replication of one mode leaves behind.

    Incidents occur until the horizon (``days``); the run goes on for ``drain_days`` more so
    that late incidents can finish.

    Attributes
    ----------
    records:
        One record per incident that occurred, in order of occurrence: a read-only
        :class:`~sim.engine.records.RecordTable` of columns; iterating it yields
        :class:`~sim.engine.records.IncidentRecord` named tuples.
    jobs:
        One record per finished unit visit, in order of completion (a table like *records*, iterating
        as :class:`~sim.engine.records.JobRecord`).
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
    campaigns:
        With campaigns: their unit-minutes, sessions and deterred arrivals
        (:class:`~sim.engine.campaigns.CampaignOutput`); campaign time is not in ``on_duty_min``.
    mode, replication, warmup_min:
        Which mode and replication this is, and the warm-up (minutes): incidents occurring before
        it are not measured. They label the rows of :meth:`to_frame` and :meth:`jobs_frame`.
    """

    records: RecordTable
    jobs: RecordTable
    busy_min: dict[str, float]
    on_duty_min: dict[str, float]
    backlog: int
    trace: dict[int, list[TraceEvent]] | None = None
    end_min: float = math.inf
    waiting: tuple[tuple[frozenset[str], float], ...] = ()
    campaigns: CampaignOutput | None = None
    mode: str = ""
    replication: int = 0
    warmup_min: float = 0.0

    def to_frame(self):
        """The incidents as a pandas DataFrame, one row each (:func:`sim.engine.frames.incidents_frame`).

        Every record field, every derived field (``response_min``, ``resolution_min``, ...), ``mode``,
        ``replication`` and ``measured`` (False for an incident that occurred during the warm-up).
        Needs pandas (``pip install '.[frames]'``).
        """
        from sim.engine.frames import incidents_frame

        return incidents_frame([self])

    def jobs_frame(self):
        """The unit visits as a pandas DataFrame, one row each (:func:`sim.engine.frames.jobs_frame`)."""
        from sim.engine.frames import jobs_frame

        return jobs_frame([self])


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
        self.env = Clock()
        self.town = build_town(scenario.territory, scenario.travel)
        self.rosters = {d.name: build_roster(d, self.town) for d in scenario.departments}
        self.campaign_plan = CampaignPlan(scenario, self.town) if scenario.campaigns else None
        patrolling = self.rosters if self.campaign_plan is None else self.campaign_plan.patrolling(self.rosters)
        on_patrol = None if self.campaign_plan is None else self.campaign_plan.on_patrol(patrolling)  # monthly, dated
        self.coverage = PatrolCoverage(patrolling, self.town, on_patrol)
        self.streams = RandomStreams(seed)
        with _cyclic_gc_paused():
            self.incidents = generate_incidents(scenario, self.town, self.coverage, self.streams)
        self.jobs = [jobs_of(scenario, mode, t) for t in scenario.incident_types]
        self.may_act = [frozenset().union(*(capable for capable, _ in jobs)) for jobs in self.jobs]
        self._sector_of: list[int] = self.town.sector.tolist()  # per patch (_detection reads no numpy scalar)
        # the re-pass draws kept, by block (_repass_block)
        self._repass: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._notice = [t.detection.patrol.notice_probability for t in scenario.incident_types]  # per type
        units = [u for r in self.rosters.values() for u in r.units]
        homes: dict[tuple[int, float], dict[int, float]] = {}  # driving minutes home from a patch (_end_job)
        self._home_min = {unit: homes.setdefault((unit.base, unit.speed_kmh), {}) for unit in units}
        keys = dict.fromkeys(capable for jobs in self.jobs for capable, _ in jobs)
        self._mechanisms(scenario, mode, keys)
        bordered = frozenset(() if mode.across_borders else (d.name for d in scenario.departments if d.home != "bases"))
        self.dispatcher = Dispatcher(self.env, self.town, units, mode.dispatch, keys, bordered)
        dated = scenario.desk_calendar()
        desks = {d.name: dated(d.desk_hours.weekly()) for d in scenario.departments if d.desk_hours is not None}
        self.channel = channel_for(mode.information, scenario.governance, trace, desks, dated)
        self.coordinate = {"sequential": self._sequential, "concurrent": self._concurrent}[mode.coordination]
        self.horizon = scenario.days * MINUTES_PER_DAY
        self.end = self.horizon + scenario.drain_days * MINUTES_PER_DAY
        self.warmup = scenario.warmup_days * MINUTES_PER_DAY
        self.states: dict[int, IncidentState] = {}  # the open matters; a state goes once its record is written
        names = ([t.name for t in scenario.incident_types], self.town.names, self.town.patch_sector_names)
        self.record_log = incident_buffers(*names)  # type, patch, sector written as indices, named when frozen
        self.traces: dict[int, list[TraceEvent]] = {}
        self._labels: dict[str | None, int] = {}  # channels and finders of the reports waiting to be made
        self._stories: dict[int, list[TraceEvent]] = {}  # when traced: the story of a matter before its report
        self.job_log = job_buffers(*names)
        self.tracing = trace
        grid_spec = scenario.grid_management
        self.grid_workers = GridWorkers(grid_spec, len(self.town.grid_names)) if grid_spec else None
        self.loop = ClosedLoop(scenario.governance.closed_loop) if mode.closed_loop else None
        self._city_ahead = self._city_turns()
        self.centre = self._staffed_centre()
        self.levels = self._levels()
        self.leaders = self._grid_leaders()
        self._heads = [(t.name, t.priority) for t in scenario.incident_types]  # read per matter by _state
        self.short = self._short_paths()
        if self.grid_workers is not None:  # each matter's first visit by a grid worker, the same in every mode
            n = len(self.incidents.patch)
            self.grid_workers.draw_ahead(n, self.streams.grid, self.streams.child("grid", 1))
        if self.loop is not None:  # each matter's first pass through the loop, the same in every mode
            streams = self.streams
            later, later_reopen = streams.child("loop", 1), streams.child("reopen", 1)
            self.loop.draw_ahead(len(self.incidents.patch), streams.loop, streams.reopen, later, later_reopen)
        if isinstance(self.channel, SharedChannel):  # each matter's first posting and decision, the same in every mode
            n = len(self.incidents.patch)
            later = self.streams.child("information", 1)
            self.channel.draw_ahead(n, self.streams.information, later, decisions=self.levels is None)
        elif isinstance(self.channel, ReferralChain):  # each matter's first way through the desks, likewise
            streams = self.streams
            blocks = functools.partial(streams.child, "information", 2)  # block b's stream: child("information", 2, b)
            self.channel.draw_ahead(len(self.incidents.patch), blocks, streams.child("information", 1))

    def _city_turns(self) -> np.ndarray | None:
        """Each matter's minutes of the city centre's turn (a city-layer matter's, once), drawn ahead.

        Drawn for every incident before the run, so that a matter has the same turn in every mode
        whatever the order of escalations (common random numbers); None without grid management.
        """
        spec = self.scenario.grid_management
        if spec is None:
            return None
        return sample(spec.city_min, self.streams.escalation, size=len(self.incidents.patch))

    def _mechanisms(self, scenario: Scenario, mode: Mode, keys: dict) -> None:
        """Set up duplicated enforcement, competence and natural ends; add their dispatch queues to *keys*."""
        self.duplication = Duplication(scenario, mode)
        self.competence = CompetenceTable(scenario)
        inc = self.incidents
        self.natural_end: np.ndarray = natural_end_times(  # an array: a float each costs 4 times as much
            scenario, inc.occurred_min, inc.type_index, self.streams.lifetime
        )
        self.required = [frozenset(t.requires or ()) for t in scenario.incident_types]
        extra = (self.duplication.keys() | self.competence.keys()) - keys.keys()
        keys.update(dict.fromkeys(sorted(extra, key=sorted)))
        if self.campaign_plan is not None:  # thin by deterrence, add the finds (sim.engine.campaigns)
            shifts = {name: roster.on_duty for name, roster in self.rosters.items()}
            finds = self.streams.child("campaigns", 1)  # the finds' own: other arrivals do not shift them
            self.incidents, self.natural_end = self.campaign_plan.apply(
                inc, self.natural_end, self.streams.campaigns, shifts, finds
            )

    def run(self, progress: Callable[[float, float], object] | None = None) -> RunOutput:
        """Simulate to the horizon and collect the records.

        With *progress*, ``progress(minute, end_min)`` is called as the clock reaches the end of each
        simulated day and once at the end (:meth:`_run_clock`); the records are the same either way.
        """
        with _cyclic_gc_paused():
            return self._run(progress)

    def let_go(self) -> None:
        """Drop everything the simulation holds once its output is taken (the caller's last use of it).

        A finished simulation lives on in reference cycles (its environment, processes and
        callbacks) until the cyclic collector's next full pass, and with it its per-incident arrays
        and record buffers: on a city year, while the summary is computed. :func:`sim.run` lets go at once.
        """
        vars(self).clear()

    def _run(self, progress: Callable[[float, float], object] | None = None) -> RunOutput:
        for roster in self.rosters.values():
            self.env.process(self._shifts(roster))
        self._feed(self._detect_all())  # the reports are let go of once fed (no name holds them through the run)
        self._run_clock(progress)
        self._drop_draws()
        busy = {name: 0.0 for name in self.rosters}
        for roster in self.rosters.values():
            for unit in roster.units:
                if unit.busy:
                    self._account_busy(unit, self.end)
                busy[unit.department] += unit.busy_min
        on_duty = {name: r.on_duty.integral(self.warmup, self.horizon) for name, r in self.rosters.items()}
        campaigns = None
        if self.campaign_plan is not None:  # campaign time is neither busy nor idle response time
            shifts = {name: r.on_duty for name, r in self.rosters.items()}
            for name, demand in self.campaign_plan.demand.items():
                on_duty[name] = demand.split_min(shifts[name], self.warmup, self.horizon)[0]
            campaigns = self.campaign_plan.output(shifts, (self.warmup, self.horizon))
        if self.centre is not None:
            busy[CENTRE] = self.centre.busy_min
            on_duty[CENTRE] = self.centre.on_duty_min(self.warmup, self.horizon)
        if self.levels is not None:
            busy.update(self.levels.busy_min())
            on_duty.update(self.levels.on_duty_min(self.warmup, self.horizon))
        if self.leaders is not None:
            busy[GRID_LEADERS] = self.leaders.busy_min()
            on_duty[GRID_LEADERS] = self.leaders.on_duty_min(self.warmup, self.horizon)
        if self.grid_workers is not None:
            busy[GRID_WORKERS] = self.grid_workers.busy_min
            on_duty[GRID_WORKERS] = self.grid_workers.on_duty_min(self.warmup, self.horizon)
        records = self._records()
        trace = {n: self.traces[n] for n in sorted(self.traces)} if self.tracing else None
        return RunOutput(
            records,
            self.job_log.freeze(),
            busy,
            on_duty,
            self.dispatcher.waiting(),
            trace,
            self.end,
            self.dispatcher.waiting_jobs(),
            campaigns,
            mode=self.mode.name,
            warmup_min=self.warmup,
        )

    def _run_clock(self, progress: Callable[[float, float], object] | None) -> None:
        """Run the clock to the end; with *progress*, stop at each simulated day's end to call it.

        The clock is run to each day's end in turn: a run stopped at a minute and resumed goes through the
        same events in the same order as one run straight through (:meth:`sim.engine.clock.Clock.run`), so the
        records do not depend on whether anyone watches. Nothing is scheduled for it.
        """
        if progress is None:
            self.env.run(until=self.end)
            return
        day = (int(self.env.now // MINUTES_PER_DAY) + 1) * MINUTES_PER_DAY
        while day < self.end:
            self.env.run(until=day)
            progress(float(day), self.end)
            day += MINUTES_PER_DAY
        self.env.run(until=self.end)
        progress(self.end, self.end)

    def _drop_draws(self) -> None:
        """The clock has stopped: let go of what was drawn ahead for the reports.

        The handling at centres and by leaders, the channel's postings and decisions (the desks'
        first hand-overs are kept a few blocks at a time), the city's turns,
        the loop's first passes, the grid workers' first visits:
        a float or two per incident and level, read only while reports pass but held through the run,
        so they add to its peak (about 25 bytes per incident on a city year); they are let go of
        before the records freeze.
        """
        for name in ("_handling", "_leader_handling", "_passed", "_led"):
            self.__dict__.pop(name, None)
        self._city_ahead = None
        if isinstance(self.channel, (SharedChannel, ReferralChain)):
            self.channel.let_go()
        if self.loop is not None:
            self.loop.let_go()
        if self.grid_workers is not None:
            self.grid_workers.let_go()

    def _records(self) -> RecordTable:
        """Write the records of the matters still open at the end; every record in order of occurrence."""
        for number in sorted(self.states):
            self._finish(self.states.pop(number))
        return self.record_log.freeze(sort_by="incident")

    def _finish(self, state: IncidentState) -> None:
        """The matter's life in the run is over: write its record and let go of its state.

        Called once nothing can change the state any more: when its last piece of work lets go of it
        (:meth:`_release`), at once for a matter never reported, or at the end of the run. A matter
        nobody reached that ended by itself before the end ended unattended.
        """
        if state.on_scene_min != state.on_scene_min and state.natural_end_min < self.end:
            self._ends_unattended(state)
        if self.tracing:
            self.traces[state.number] = sorted(state.trace or (), key=lambda event: event.at_min)
        write_record(self.record_log, state, self.end)

    def _release(self, state: IncidentState) -> None:
        """A piece of work on the matter is over; after the last one its record is written (:meth:`_finish`)."""
        state.holds -= 1
        if state.holds == 0:
            del self.states[state.number]
            self._finish(state)

    def _spawn(self, state: IncidentState, work) -> None:
        """Run *work* (a generator) as a task (:meth:`Clock.start`) that holds the matter open until it is over.

        The hold is let go where the process's end would have fired (no wrapping generator per task).
        """
        state.holds += 1
        self.env.start(work, lambda _: self._release(state))

    # ------------------------------------------------------------------ processes

    def _shifts(self, roster):
        """Put the right units on duty at every shift change of a department."""
        env = self.env
        plan = self.campaign_plan
        demand = plan.demand.get(roster.department.name) if plan is not None else None
        units = roster.units
        # Units 0..k-1 are on duty and the rest off (every unit starts off duty): a change of k moves only the
        # units between the old and the new k, in index order, as a pass over every unit would.
        ordered = all(unit.index == i and not unit.on_duty for i, unit in enumerate(units))
        was = 0
        while True:
            on_duty = roster.on_duty_count(env.now)
            if demand is not None:  # the highest-numbered units on shift are on campaign
                on_duty = max(0, on_duty - demand.value(env.now))
            changed = units[min(was, on_duty) : max(was, on_duty)] if ordered else units
            self.dispatcher.set_on_duty_many(changed, on_duty)
            was = on_duty
            change = roster.on_duty.next_change(env.now)
            if demand is not None:
                change = min(change, demand.next_change(env.now))
            if change >= self.end:
                return
            yield self._until(change)

    def _states(self, numbers) -> Iterator[IncidentState]:
        """New states of the matters *numbers* (a block of them), as they occurred.

        What the handling reads per matter (type, natural end, on-scene work per part) is read for the
        block at once and kept in the state, so the simulation reads no numpy scalar per matter.
        """
        inc = self.incidents
        columns = (inc.type_index, inc.patch, inc.occurred_min, inc.layer, self.natural_end)
        services = inc.service_min.rows_of(numbers)
        rows = zip(numbers.tolist(), *(column[numbers].tolist() for column in columns), services)
        state = self._state
        for i, k, patch, occurred, layer, natural_end, service in rows:
            yield state(i, k, patch, occurred, layer, natural_end, service)

    def _state(
        self,
        i: int,
        k: int,
        patch: int,
        occurred: float,
        layer: int,
        natural_end: float = math.inf,
        service: tuple[float, ...] = (),
    ) -> IncidentState:
        """A new state of matter *i* (of type number *k*, in *patch*, occurred at *occurred*, settled by *layer*)."""
        name, priority = self._heads[k]
        state = IncidentState(i, name, patch, priority, occurred, k, layer, natural_end, service)
        if self.tracing:
            state.trace = [TraceEvent(occurred, Stage.OCCURRED)]
        return state

    def _detect_all(self) -> tuple[np.ndarray, ...]:
        """Find when and how every incident is reported; write the records of those never reported.

        Detection depends only on the incident's own draws and on who may act (the mode), never
        on the state of the system, so it is settled up front in order of occurrence; the
        simulation then only has to wake up at each detection. It is worked out on whole arrays, a block
        of matters at a time (:meth:`_detect_block`); only a matter a patrol passes first takes a step of
        its own (the patrol may leave it to a later pass). A reported matter's state is made
        once, when it is reported (peak memory); until then only its report is kept, as columns (minute,
        number, channel and finder coded in :attr:`_labels`, how many patrols left it) in order of
        report, and its story when traced (:attr:`_stories`). A matter never reported gets its state
        here, only to write its record.
        """
        inc = self.incidents
        label = self._labels.setdefault
        for name in (*CHANNELS, "rounds", CAMPAIGN, "", *inc.rounds_by):
            label(name, len(self._labels))
        reports: tuple[array.array, ...] = (array.array("d"), *(array.array("i") for _ in range(4)))  # 32-bit ints
        stories: dict[int, list[TraceEvent]] | None = {} if self.tracing else None
        step = 16 * self.BLOCK  # whole arrays a block at a time: a bounded transient, whatever the run's size
        for start in range(0, len(inc), step):
            self._detect_block(inc, start, min(start + step, len(inc)), reports, stories)
        self._settled(inc)
        columns: tuple[np.ndarray, ...] = (
            np.frombuffer(reports[0], dtype=np.float64),
            *(np.frombuffer(column, dtype=np.int32) for column in reports[1:]),
        )
        order = np.lexsort((columns[1], columns[0]))  # by minute, then number
        if np.array_equal(order, np.arange(len(order))):
            return columns  # reported in order of occurrence already: no copy
        return tuple(column[order] for column in columns)

    def _detect_block(self, inc: IncidentSet, start: int, stop: int, reports: tuple, stories) -> None:
        """Detection of the matters *start* to *stop*: whole arrays, and a matter at a time where a patrol comes first.

        A matter found by a campaign is reported as it occurs; else the first of the rounds that may act and
        the channels (ties: the first channel) reports it, before it ends by itself and before the run
        ends. Where a patrol passes first, whether it acts or leaves the matter to a later pass is worked
        out a matter at a time (:meth:`_patrols_first`). The reports are added to the columns *reports*.
        """
        block = slice(start, stop)
        n, codes = stop - start, self._labels
        times = inc.channel_min[block]
        until = np.minimum(self.end, self.natural_end[block])
        first = times.argmin(axis=1)
        at = times[np.arange(n), first]
        rounds_at, rounds_col = self._first_rounds(inc, block)
        campaign = inc.found_by[block] >= 0 if inc.found_by is not None else np.zeros(n, dtype=bool)
        by_rounds = ~campaign & (rounds_at < at)
        by_channel = ~campaign & ~by_rounds & (at < until)
        when = np.where(by_rounds, rounds_at, np.where(by_channel, at, np.inf))
        detected = np.where(campaign, inc.occurred_min[block], when)
        channel = np.where(by_rounds, codes["rounds"], np.asarray([codes[c] for c in CHANNELS])[first])
        channel[campaign] = codes[CAMPAIGN]
        finder = np.full(n, codes[""])
        if inc.rounds_by:
            finder[by_rounds] = np.asarray([codes[d] for d in inc.rounds_by])[rounds_col[by_rounds]]
        seen = np.zeros(n, dtype=np.int64)
        patrol = np.flatnonzero(by_channel & (first == 0))  # a patrol passes first: it may leave the matter
        rounds = (rounds_at, rounds_col)
        self._patrols_first(inc, start, patrol, until, rounds, (detected, channel, finder, seen), stories)
        reported = detected < until
        self._never_reported(inc, start, np.flatnonzero(~reported), seen, stories)
        local = np.flatnonzero(reported)
        numbers = local + start
        if stories is not None:  # the story of a reported matter waits for its report
            for i, occurred in zip(numbers.tolist(), inc.occurred_min[numbers].tolist()):
                self._stories[i] = stories.pop(i) if i in stories else [TraceEvent(occurred, Stage.OCCURRED)]
        reports[0].frombytes(detected[local].tobytes())
        for column, values in zip(reports[1:], (numbers, channel[local], finder[local], seen[local])):
            column.frombytes(values.astype(np.int32).tobytes())

    def _first_rounds(self, inc: IncidentSet, block: slice) -> tuple[np.ndarray, np.ndarray]:
        """Per matter of *block*, the first rounds find by a department that may act on it: (minute, its column).

        The minute is inf when none may (as :func:`~sim.engine.incidents.first_of` finds, a matter at a time).
        """
        types = inc.type_index[block]
        n = len(types)
        if not inc.rounds_by or inc.rounds_min is None:
            return np.full(n, np.inf), np.zeros(n, dtype=np.int64)
        allowed = np.asarray([[name in may for name in inc.rounds_by] for may in self.may_act], dtype=bool)
        minutes = np.where(allowed[types], inc.rounds_min[block], np.inf)
        column = minutes.argmin(axis=1)  # ties: the first department, as first_of keeps the first strictly sooner
        return minutes[np.arange(n), column], column

    def _patrols_first(self, inc: IncidentSet, start: int, patrol, until, rounds, out, stories) -> None:
        """The matters a patrol passes first (*patrol*: their places after *start*), in order of occurrence.

        A patrol that may not act leaves the matter to a later pass, drawn from the ``repatrol`` stream.
        Writes each one's (minute, channel, finder, patrols that left it) into the arrays *out* (indexed
        like *until* and *rounds*, from *start*) and its story into *stories* when traced.
        """
        detected, channel, finder, seen = out
        rounds_at, rounds_col = rounds
        label = self._labels.setdefault
        passed = np.zeros(len(patrol), dtype=np.int64)  # patrols that left each matter so far
        # the first pass's finder, on whole arrays: most act at once; those left, pass after pass (_repasses)
        if stories is None and len(patrol) and self.coverage.departments:
            acting, finders = self._act_at_first_pass(inc, start, patrol)
            finder[patrol[acting]] = finders[acting]
            patrol = patrol[~acting]
            patrol, passed = self._repasses(inc, start, patrol, until, rounds, out)
        local = (until, rounds_at, rounds_col)
        columns = (inc.channel_min, inc.patch, inc.type_index, inc.occurred_min)
        for i, end, r_at, r_col, times, patch, k, occurred, left in zip(
            patrol.tolist(),
            *(column[patrol].tolist() for column in local),
            *(column[patrol + start].tolist() for column in columns),
            passed.tolist(),
        ):
            story = [TraceEvent(occurred, Stage.OCCURRED)] if stories is not None else None
            rounds_by = inc.rounds_by[r_col] if r_at < math.inf else ""
            if left:  # left by every pass _repasses worked out: go on from its last
                times[0] = float(detected[i])
            at, by, who, left = self._detection(i + start, patch, times, k, end, story, (r_at, rounds_by), left)
            detected[i], seen[i] = at, left
            channel[i], finder[i] = label(by, len(self._labels)), label(who, len(self._labels))
            if stories is not None:
                stories[i + start] = story

    REPASSES = 4
    """Passes after a patrol left a matter whose draws are the matter's own (:meth:`_repass_draws`)."""

    REPASS_BLOCK = 4096
    """Matters whose re-pass draws are drawn together, from a stream of their own."""

    REPASS_KEPT = 4
    """Blocks of re-pass draws kept at once (matters come in order; one let go of is drawn again, the same)."""

    def _repass_block(self, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The re-pass draws of the matters of *block*: a unit exponential, a finder's and a leave uniform per pass.

        Rows of :data:`REPASSES` each, drawn from ``child("repatrol", 1, block)`` (the exponentials, then the
        finders' uniforms, then the leave uniforms): a matter's draws are its own, whatever other matters do. A few
        blocks are kept; one let go of is drawn again, the same.
        """
        drawn = self._repass.get(block)
        if drawn is None:
            rng = self.streams.child("repatrol", 1, block)
            shape = (self.REPASS_BLOCK, self.REPASSES)
            drawn = self._repass[block] = (rng.standard_exponential(shape), rng.random(shape), rng.random(shape))
            if len(self._repass) > self.REPASS_KEPT:
                del self._repass[next(iter(self._repass))]
        return drawn

    def _repass_draws(self, i: int, r: int) -> tuple[float, float, float]:
        """Matter *i*'s draws for the pass after the *r*-th (from 0) patrol that left it: (unit exponential, finder, leave).

        Common random numbers: the first :data:`REPASSES` are the matter's own (:meth:`_repass_block`), so
        a matter left in one mode and not in another (a department that may act on it, another leave
        probability) changes no other matter's passes. A matter left more often than that draws its further
        passes from the ``repatrol`` stream, in order (matters in order of occurrence).
        """
        if r < self.REPASSES:
            block, row = divmod(i, self.REPASS_BLOCK)
            exps, finders, leaves = self._repass_block(block)
            return exps.item(row, r), finders.item(row, r), leaves.item(row, r)
        rng = self.streams.repatrol
        return rng.standard_exponential(), rng.random(), rng.random()

    def _repasses(
        self, inc: IncidentSet, start: int, left: np.ndarray, until: np.ndarray, rounds, out
    ) -> tuple[np.ndarray, np.ndarray]:
        """The matters the first patrol left (places *left* after *start*), :data:`REPASSES` passes at a time, on whole arrays.

        Pass by pass, what :meth:`_detection` decides a matter at a time: the next noticing pass from the matter's
        own draws; then the rounds that come first, the end of the matter or of the run, another channel sooner
        than the pass, or the pass's finder, who acts or leaves the matter again. Writes each settled matter's
        (minute, channel, finder, patrols that left it) into *out*; returns the places still left after the last
        pass worked out here and how many patrols left each (their last pass's minute is in *out*'s minutes).
        """
        detected, channel, finder, seen = out
        rounds_at, rounds_col = rounds
        passed = np.ones(len(left), dtype=np.int64)
        if not len(left):
            return left, passed
        label = self._labels.setdefault
        codes = {name: label(name, len(self._labels)) for name in ("", "rounds", "patrol", *CHANNELS)}
        rounds_codes = np.asarray([label(d, len(self._labels)) for d in inc.rounds_by] or [codes[""]])
        finder_codes, may = self._patrol_tables()
        at = left + start
        others = inc.channel_min[at, 1:]
        other_at = others.min(axis=1) if others.shape[1] else np.full(len(at), np.inf)
        other_channel = np.asarray([codes[c] for c in CHANNELS[1:]] or [codes[""]])[
            others.argmin(axis=1) if others.shape[1] else np.zeros(len(at), dtype=np.int64)
        ]
        exps, finder_u, leave_u = self._repass_rows(at)
        sector, k = self.town.sector[inc.patch[at]], inc.type_index[at]
        notice = np.asarray(self._notice, dtype=float)[k]
        passing = inc.channel_min[at, 0]  # the minute of the pass that left each matter
        for r in range(self.REPASSES):
            passing = self._first_passages(sector, passing, exps[:, r] / notice)
            soonest = np.minimum(passing, other_at)
            end, r_at = until[left], rounds_at[left]
            by_rounds = r_at < soonest
            never = np.where(by_rounds, ~(r_at < end), soonest >= end)
            by_other = ~by_rounds & ~never & (other_at < passing)
            by_patrol = ~by_rounds & ~never & ~by_other
            found = np.zeros(len(left), dtype=np.int64)
            found[by_patrol] = self.coverage.finders(sector[by_patrol], passing[by_patrol], finder_u[by_patrol, r])
            acts = by_patrol & (may[k, found] | (leave_u[:, r] >= self.mode.leave_probability))
            settled = ~(by_patrol & ~acts)
            places = left[settled]
            detected[places] = np.where(
                never, np.inf, np.where(by_rounds, r_at, np.where(by_other, other_at, passing))
            )[settled]
            channel[places] = np.where(
                never,
                codes[""],
                np.where(by_rounds, codes["rounds"], np.where(by_other, other_channel, codes["patrol"])),
            )[settled]
            finder[places] = np.where(
                by_rounds & ~never, rounds_codes[rounds_col[left]], np.where(acts, finder_codes[found], codes[""])
            )[settled]
            seen[places] = passed[settled]
            still = ~settled
            left, passed, passing = left[still], passed[still] + 1, passing[still]
            other_at, other_channel, sector, k, notice = (
                a[still] for a in (other_at, other_channel, sector, k, notice)
            )
            exps, finder_u, leave_u = exps[still], finder_u[still], leave_u[still]
            detected[left] = passing
            if not len(left):
                break
        return left, passed

    def _repass_rows(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The re-pass draws (:meth:`_repass_block`) of the matters *numbers*: three arrays of rows."""
        blocks, rows = np.divmod(numbers, self.REPASS_BLOCK)
        out = tuple(np.empty((len(numbers), self.REPASSES)) for _ in range(3))
        for block in np.unique(blocks).tolist():
            these = blocks == block
            for into, drawn in zip(out, self._repass_block(block)):
                into[these] = drawn[rows[these]]
        return out  # type: ignore[return-value]

    def _first_passages(self, sector: np.ndarray, start: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """Each matter's next noticing pass in its sector (:meth:`WeeklySteps.first_passage` on whole arrays).

        A sector whose rate is dated (a campaign on a monthly calendar) is asked a matter at a time, as
        :meth:`_detection` asks it.
        """
        out = np.empty(len(start))
        for s in np.unique(sector).tolist():
            these = sector == s
            rate = self.coverage.rate[s]
            if isinstance(rate, WeeklySteps):
                out[these] = rate.first_passage(start[these], amount[these])
            else:
                out[these] = [rate.first_passage(a, b) for a, b in zip(start[these].tolist(), amount[these].tolist())]
        return out

    def _act_at_first_pass(self, inc: IncidentSet, start: int, patrol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether the patrol passing first acts on each matter of *patrol* (places after *start*), and its finder's code.

        :meth:`_detection`'s first pass on whole arrays: the finder (:meth:`PatrolCoverage.finders`) acts when it
        may, or when the matter's leave draw says it would not leave it. Such a matter is reported at its patrol
        channel's minute, through the patrol, with no patrol having left it: what :meth:`_detection` returns.
        """
        codes, may = self._patrol_tables()
        at = patrol + start
        found = self.coverage.finders(self.town.sector[inc.patch[at]], inc.channel_min[at, 0], inc.finder_u[at])
        acting = may[inc.type_index[at], found] | (inc.leave_u[at] >= self.mode.leave_probability)
        return acting, codes[found]

    def _patrol_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Each patrolling department's code in :attr:`_labels`, and whether it may act on each type (type x department)."""
        label = self._labels.setdefault
        departments = self.coverage.departments
        codes = np.asarray([label(name, len(self._labels)) for name in departments])
        may = np.asarray([[name in may_act for name in departments] for may_act in self.may_act], dtype=bool)
        return codes, may

    def _never_reported(self, inc: IncidentSet, start: int, places: np.ndarray, seen: np.ndarray, stories) -> None:
        """Write the records of the matters never reported (at *places* after *start*), in order of occurrence."""
        numbers = places + start
        columns = (inc.type_index, inc.patch, inc.occurred_min, inc.layer, self.natural_end)
        for i, left, k, patch, occurred, layer, natural_end in zip(
            numbers.tolist(), seen[places].tolist(), *(column[numbers].tolist() for column in columns)
        ):
            state = self._state(i, k, patch, occurred, layer, natural_end)
            state.seen_not_handled = left
            if stories is not None:
                state.trace = stories.pop(i, state.trace or [])
            self._finish(state)

    def _settled(self, inc: IncidentSet) -> None:
        """Detection is settled: let go of the draws only it reads (each channel's minute, the patrols' draws, rounds).

        They are a third of the incidents' arrays, and the run's peak memory comes at its end.
        """
        self.incidents = replace(
            inc,
            channel_min=np.empty((0, inc.channel_min.shape[1])),
            finder_u=np.empty(0),
            leave_u=np.empty(0),
            rounds_min=None,
        )
        self._repass.clear()  # the re-pass draws kept by block

    BLOCK = 4096

    def _feed(self, pending: tuple[np.ndarray, ...]) -> None:
        """Start each incident's handling at its detection time (*pending*: the reports of :meth:`_detect_all`).

        A chain of event callbacks, not a process: one event, scheduled again for each detection minute
        (where a new timeout would be scheduled), whose callback begins every report due then. The chain
        starts with an urgent event at the present minute, in the place where a process would have started
        (same order of events).
        """
        self._labels_list = list(self._labels)
        self._campaign_code = self._labels[CAMPAIGN]
        if isinstance(self.channel, ReferralChain):  # first deliveries worked out a block at a time, where they can be
            # a report goes to the departments of its matter's first job; all of them at once when they come together
            sequential = self.mode.coordination == "sequential"
            tos = [jobs[0][0] if len(jobs) == 1 or sequential else frozenset() for jobs in self.jobs]
            types = self.incidents.type_index[pending[1]]
            self.channel.expect_reports(pending[1], pending[0], pending[2], self._labels_list, types, tos)
        self._reports = self._pending_reports(pending)
        self._next_report: tuple | None = None
        start = simpy.Event(self.env)
        start._ok, start._value = True, None
        start.callbacks.append(self._report_due)
        self.env.schedule(start, simpy.core.URGENT)

    def _pending_reports(self, pending: tuple[np.ndarray, ...]) -> Iterator[tuple]:
        """The reports in order: (state, minute, number, channel, finder, patrols that left it), a block at a time."""
        for start in range(0, len(pending[0]), self.BLOCK):
            yield from zip(
                self._states(pending[1][start : start + self.BLOCK]),
                *(column[start : start + self.BLOCK].tolist() for column in pending),
            )

    def _report_due(self, _event: object) -> None:
        """Begin the reports due now; wake up again at the next one's minute.

        The wake-up is a timed call (:meth:`Clock.call_in`): the place in the order of events a new
        timeout would have, with no event made per report minute.

        A matter of a type with a short path (:attr:`short`) takes it (:meth:`_short_begin`) unless a campaign
        found it or it is the grid's to settle; every other matter the general path (:meth:`_begin`).
        """
        env, labels, states, short = self.env, self._labels_list, self.states, self.short
        report = self._next_report
        reports = self._reports
        campaign = self._campaign_code
        if report is None:
            report = next(reports, None)
        while report is not None:
            state, detected, i, channel, finder, seen_not_handled = report
            if detected > env._now:
                self._next_report = report
                env.call_in(detected - env._now, self._report_due)
                return
            state.seen_not_handled = seen_not_handled
            if self.tracing:
                state.trace = self._stories.pop(i)
            states[i] = state
            one = short[state.type_index]
            if one is not None and channel != campaign and (state.layer != GRID or labels[finder] in one.capable):
                self._short_begin(state, detected, labels[channel], labels[finder], one)
                report = next(reports, None)
                continue
            state.holds = 1  # the report's own hold, let go of at once (_release inlined)
            self._begin(state, i, detected, labels[channel], labels[finder])
            state.holds -= 1
            if state.holds == 0:
                del states[i]
                self._finish(state)
            report = next(reports, None)
        self._next_report = None

    def _detection(
        self,
        i: int,
        patch: int,
        times: list[float],
        k: int,
        until: float,
        story: list | None,
        rounds: tuple[float, str],
        left: int = 0,
    ) -> tuple[float, str, str | None, int]:
        """When and how the matter is first reported, before *until*; patrols that may not act may leave it.

        A department's rounds that may act on it find it like a patrol (channel ``rounds``; *rounds* is
        their first find, minute and department). Returns (minute, channel, finder, how many patrols left
        it); those patrols are noted in *story* when traced. Each pass after one that left the matter takes
        the matter's own draws (:meth:`_repass_draws`). With *left* > 0 the matter is taken up where that many
        patrols have left it, the last at ``times[0]`` (after :meth:`_repasses`' rounds on whole arrays).
        """
        rounds_at, rounds_by = rounds
        sector = self._sector_of[patch]
        finder_u = leave_u = 0.0
        while True:
            # the last pass (times[0]) left the matter: the next noticing pass, with its finder and leave draws
            if left:
                unit_exp, finder_u, leave_u = self._repass_draws(i, left - 1)
                passage = self.coverage.rate[sector].first_passage(times[0], unit_exp / self._notice[k])
                times = [float(passage)] + times[1:]
            at = min(times)
            if rounds_at < at:
                return (rounds_at, "rounds", rounds_by, left) if rounds_at < until else (math.inf, "", "", left)
            if at >= until:
                return math.inf, "", "", left
            j = times.index(at)
            if j != 0:
                return at, CHANNELS[j], "", left
            if left == 0:  # a patrol's pass comes first: read the matter's patrol draws (only now), as floats
                inc = self.incidents
                finder_u, leave_u = float(inc.finder_u[i]), float(inc.leave_u[i])
            finder = self.coverage.finder(sector, at, finder_u)
            if finder in self.may_act[k] or leave_u >= self.mode.leave_probability:
                return at, "patrol", finder, left
            left += 1
            if story is not None:
                story.append(TraceEvent(float(at), Stage.SEEN_NOT_HANDLED, department=finder))  # type: ignore[arg-type]

    def _begin(self, state: IncidentState, i: int, detected: float, channel: str, finder: str) -> None:
        """The matter is reported: route it to the grid, a coordinated set of jobs, or one unit.

        Every case runs as a chain of callbacks rather than a process (cheaper, the same order of events):
        one job (:meth:`_request`), the grid (:meth:`_grid_settles`) and coordinated jobs (:meth:`_as_task`,
        which starts and ends where a process would). Only duplicate visits and follow-ups after a one-job
        matter run as tasks of the clock (:meth:`Clock.start`: a generator driven as a SimPy process).
        """
        state.detected_min, state.channel, state.finder = detected, channel, finder
        if self.tracing:
            if finder:
                state.note(
                    detected, Stage.FOUND_ON_ROUNDS if channel == "rounds" else Stage.FOUND_ON_PATROL, department=finder
                )
            else:
                state.note(detected, Stage.REPORTED, channel=channel)
        jobs: Sequence[tuple[frozenset[str], tuple[int, ...]]] = self.jobs[state.type_index]
        if channel == CAMPAIGN and self._campaign_settles(state, i, jobs):
            return
        if len(jobs) > 1:
            jobs = sorted(jobs, key=lambda job: finder not in job[0])
        if state.layer == GRID and not any(finder in capable for capable, _ in jobs):
            self._grid_settles(state, channel)
        elif len(jobs) == 1:
            capable, parts = jobs[0]
            delivery = self._deliver(state, capable, channel, finder)
            ready = delivery.ready_min
            state.holds += 1  # let go of when the unit is done (_one_job_over)
            over = functools.partial(self._one_job_over, state)
            if delivery.ready is not None:
                delivery.ready.callbacks.append(lambda _: self._request(state, i, capable, parts, finder, over))
            elif ready > self.env.now:
                self.env.call_at(ready, lambda _: self._request(state, i, capable, parts, finder, over))
            else:
                self._request(state, i, capable, parts, finder, over)
        else:
            self._as_task(state, self.coordinate(state, i, jobs, channel, finder))

    def _campaign_settles(self, state: IncidentState, i: int, jobs) -> bool:
        """A campaign's find that its departments may do in this mode is settled on the spot; else False.

        Every part is done at once by the campaign's departments present (on-scene minutes as any
        unit of that department would take); the work is within the campaign's time, not logged as a job.
        """
        assert self.campaign_plan is not None and self.incidents.found_by is not None  # only finds come here
        number = int(self.incidents.found_by[i])
        acting = self.campaign_plan.acting(number, jobs)
        if acting is None:
            return False
        now, k = self.env.now, state.type_index
        state.reached_min = state.dispatched_min = state.on_scene_min = now
        state.on_the_spot = True
        name = self.campaign_plan.campaigns[number].name
        work = 0.0
        for dept, (_, parts) in zip(acting, jobs):
            state.note(now, Stage.ON_THE_SPOT, department=dept)
            state.departments.append(dept)
            state.units.append(f"{CAMPAIGN}:{name}")
            work = max(work, self.competence.on_scene_min(k, parts, dept, state.service))
        state.holds += 1
        self.env.call_at(now + work, lambda _: self._resolved(state, release=True))
        return True

    def _resolving(self, state: IncidentState, work):
        """Run the handling *work* (a generator), then mark the matter resolved."""
        yield from work
        self._resolved(state)

    def _as_task(self, state: IncidentState, work: Callable[[Callable[[], None]], None]) -> None:
        """Run *work* (a callback chain, given what to call when it is over) as a task resolving the matter would.

        ``self._spawn(state, self._resolving(state, generator))`` as callbacks: *work* starts where the task would
        (:meth:`Clock.call_first`), and when it is over the matter is resolved and let go of where the task's
        end would have fired (a timed call of no delay). The order of events is the task's.
        """
        state.holds += 1
        env = self.env

        def over() -> None:
            self._resolved(state)
            env.call_in(0.0, lambda _: self._release(state))

        env.call_first(lambda _: work(over))

    def _resolved(self, state: IncidentState, release: bool = False) -> None:
        """Every part is done: the matter is resolved (and, with the closed loop, later closed).

        A matter that ended by itself before anyone was on scene is not resolved: it ended unattended.
        With *release*, the callback chain that called it lets go of the matter (:meth:`_release`).
        """
        if release:
            self._resolved(state)
            self._release(state)
            return
        now = self.env.now
        if state.ended_min == state.ended_min:
            return
        state.resolved_min = now
        state.note(now, Stage.RESOLVED)
        if self.loop is not None and not self.tracing:  # the same draws, no stages (none are kept)
            state.closed_min = self.loop.closed_min(now, self.streams.loop, state.number)
            if self.loop.check_fails(self.streams.reopen, state.number):
                self._reopen(state, None)
        elif self.loop is not None:
            state.closed_min, stages = self.loop.after_fix(now, self.streams.loop, state.number)
            if self.loop.check_fails(self.streams.reopen, state.number):
                self._reopen(state, stages[0])
            else:
                state.keep(stages)

    def _reopen(self, state: IncidentState, fed_back: TraceEvent | None) -> None:
        """The check fails: the case is reopened at the failed check and the work is done again.

        *fed_back* is the feedback's stage, kept for a trace (None in an untraced run).
        """
        checked, state.closed_min = state.closed_min, math.nan
        state.reopened += 1
        if fed_back is not None:
            state.keep((fed_back,))
        state.note(checked, Stage.REOPENED)
        self._as_task(state, lambda then: self._revisit(state, checked, then))

    def _revisit(self, state: IncidentState, checked: float, then: Callable[[], None]) -> None:
        """Assign the reopened case again at *checked* and send it back (:meth:`_reassign`); then ``then()``."""
        if checked > self.env._now:
            self.env.call_at(checked, lambda _: self._reassign(state, then))
        else:
            self._reassign(state, then)

    def _reassign(self, state: IncidentState, then: Callable[[], None]) -> None:
        """Send the reopened case back: to a grid worker, or to each job's departments in turn; then ``then()``.

        The first response stays the matter's response; the revisit's visits are logged as jobs.
        """
        env = self.env
        ready = env._now + sample(self.scenario.governance.closed_loop.assign_min, self.streams.reopen)
        if GRID_WORKERS in state.departments:
            first = state.dispatched_min, state.on_scene_min, state.on_the_spot

            def back() -> None:
                state.dispatched_min, state.on_scene_min, state.on_the_spot = first
                then()

            self._grid(state, ready, False, back)
            return
        self._jobs_in_turn(state, self.jobs[state.type_index], [ready], None, then)

    def _jobs_in_turn(self, state: IncidentState, jobs, ready: list, finder: str | None, then, k: int = 0) -> None:
        """Do *jobs* one after another from job *k* (:meth:`_job`), then ``then()``.

        *ready* gives job *k* its ready minute or event, or, when it has no entry, the minute the job before ends.
        Only the first job may find its *finder* on the spot.
        """
        if k == len(jobs):
            then()
            return
        capable, parts = jobs[k]
        moment = ready[k] if k < len(ready) else self.env._now
        self._job(
            state,
            state.number,
            capable,
            parts,
            moment() if callable(moment) else moment,
            finder if k == 0 else None,
            lambda: self._jobs_in_turn(state, jobs, ready, finder, then, k + 1),
        )

    def _request(self, state: IncidentState, i: int, capable, parts, finder: str | None, over) -> None:
        """Ask for a unit now; when one is assigned, send it (:meth:`_send`; *over* as there)."""
        job = Job(capable, state.patch, state.priority, self.env._now, finder, incident_type=state.type_name)
        unit = self.dispatcher.request(job)
        if unit is None:
            assert job.event is not None  # request() gives a waiting job its event
            job.event.callbacks.append(lambda event: self._send(state, i, job, parts, event.value, over))
        else:
            self._send(state, i, job, parts, unit, over)

    def _send(self, state: IncidentState, i: int, job: Job, parts, unit, over) -> None:
        """Send the unit; once it is done, free it and call ``over(follow_ups)`` (a generator, or None)."""
        duration, ended = self._start_job(state, i, job, parts, unit)

        def done(_) -> None:
            self._end_job(state, job, unit, ended=ended)
            over(self._follow_ups(state, i, parts, unit, ended))

        self.env.call_in(duration, done)

    def _one_job_over(self, state: IncidentState, follow) -> None:
        """A one-job matter's unit is done: it is resolved, or its follow-up visits run as a task; then let go of."""
        if follow is None:
            self._resolved(state)
        else:
            self._spawn(state, self._resolving(state, follow))
        self._release(state)

    # The short path: a one-job matter of the town (see _short_paths).

    def _short_paths(self) -> list[_OneJob | None]:
        """Per incident type, its only job when its matters may take the short path, else None.

        Every scenario's common matter is reported once, needs one job of one department and goes through
        no staffed centre. For it the general path (:meth:`_begin`, :meth:`_deliver`, :meth:`_request`,
        :meth:`_send`, :meth:`_resolved`, :meth:`_release`) takes none of its other branches; the short path
        (:meth:`_short_begin` onwards) is that path with those branches left out, decided once here. It
        makes the same draws and schedules the same events in the same order, so the records are the same
        (a test runs every shipped scenario both ways). A type may take it when the run is not traced and has
        no single staffed centre and no grid leaders (centres at levels only without the closed loop: the walk
        through them, :meth:`_short_walk`), and the type needs one job, with no follow-up possible for any
        department that may do it (and no gap when there are centres at levels). A matter of such a type takes
        it unless a campaign found it or it is the grid's to settle (a grid worker's, unless its finder may act).
        A type whose departments may all leave a matter (a gap) or send duplicate visits takes those branches
        of the general path too (:attr:`_OneJob.gapping`, :attr:`_OneJob.duplicating`).
        """
        none: list[_OneJob | None] = [None] * len(self.jobs)
        if not self.SHORT_PATH or self.tracing:
            return none
        if self.centre is not None or self.leaders is not None:
            return none
        if self.levels is not None and self.loop is not None:  # the loop's steps at the last centre: general path
            return none
        duplication, competence = self.duplication, self.competence
        for k, jobs in enumerate(self.jobs):
            gapping, duplicating = bool(duplication.gapping[k]), bool(duplication.duplicating[k])
            if len(jobs) != 1 or (gapping and self.levels is not None):
                continue
            capable, parts = jobs[0]
            if not any(competence.may_follow_up(k, parts, department) for department in capable):
                owned = len(parts) == 1 and all(d in competence.owners[k][parts[0]] for d in capable)
                none[k] = _OneJob(capable, parts, parts[0] if owned else -1, gapping, duplicating)
        return none

    SHORT_PATH = True
    """Whether matters may take the short path (a test sets it off to compare the records of both paths)."""

    def _short_begin(self, state: IncidentState, detected: float, channel: str, finder: str, one: _OneJob) -> None:
        """A matter on the short path is reported: :meth:`_begin` and :meth:`_deliver` with one job, no centre."""
        state.detected_min, state.channel, state.finder = detected, channel, finder
        state.holds = 1  # let go of when the unit is done (or, with the closed loop, after a revisit)
        now = self.env._now
        if finder and finder in one.capable:
            state.reached_min = ready = now
        else:
            delivery = self.channel.deliver(now, channel, self.streams.information, one.capable, state.number)
            if self.levels is not None:
                self._short_walk(state, delivery.reached_min, one)
                return
            if self.loop is not None or state.layer == CITY:
                delivery = self._escalate(state, delivery)
            if one.gapping:  # _deliver's gap: every claiming department may leave it to another
                delivery = self._gap(state, delivery)
            state.reached_min, ready = delivery.reached_min, delivery.ready_min
            state.referrals += delivery.referrals
            state.bounces += delivery.bounces
        if ready > now:
            self.env.call_at(ready, lambda _: self._short_request(state, one))
        else:
            self._short_request(state, one)

    def _short_walk(self, state: IncidentState, arrive: float, one: _OneJob) -> None:
        """The report goes through the centres at levels from *arrive*, then a unit is asked for (:meth:`_short_request`).

        :meth:`_deliver`'s way through :meth:`_escalate` and :meth:`_through_centre` with one job, no leader
        and no loop: the centres' steps (and the city's turn for a city matter), walked as
        :meth:`_centre_steps` walks them, with the same handling minutes (:meth:`_handling_min`) and
        the same timed calls (:class:`_ShortWalk`); where that walk's event would fire, the request is a
        timed call of no delay, in the same place in the order of events.
        """
        state.reached_min = arrive
        levels = self.levels
        assert levels is not None  # the short path walks centres only in a town with levels
        key = levels.entry[state.patch] * len(self.jobs) + state.type_index
        route = self._short_routes.get(key)
        if route is None:
            path = self._path(state)
            route = self._short_routes[key] = (
                tuple(hop[0] for hop in path),
                tuple(hop[2] for hop in path),
                tuple(hop[4] for hop in path),
            )
        centres, depths, handlings = route
        i = state.number
        minutes = self._handling_min(i, depths, handlings)
        if state.layer == CITY and self._city_ahead is not None and not state.escalated:
            centres += (None,)
            minutes.append(self._city_ahead.item(i))
            state.escalated = True
        walk = _ShortWalk(self, state, one, centres, minutes)
        if arrive > self.env._now:
            self.env.call_at(arrive, walk.step)
        else:
            walk.step()

    def _short_request(self, state: IncidentState, one: _OneJob) -> None:
        """Ask for a unit now (:meth:`_request`); when one is assigned, send it."""
        job = Job(one.capable, state.patch, state.priority, self.env._now, state.finder)
        job.incident_type = state.type_name
        unit = self.dispatcher.request(job)
        if unit is None:
            assert job.event is not None  # request() gives a waiting job its event
            job.event.callbacks.append(lambda event: self._short_send(state, job, one, event.value))
        else:
            self._short_send(state, job, one, unit)

    def _short_send(self, state: IncidentState, job: Job, one: _OneJob, unit) -> None:
        """Send the unit (:meth:`_send`); once it is done, the matter is resolved and its record written."""
        duration, ended = self._start_job(state, state.number, job, one.parts, unit, one.part)

        def done(_):
            self._end_job(state, job, unit, ended=ended)
            if self.loop is not None or one.duplicating:  # a reopened matter or a duplicate visit may hold it
                self._resolved(state)
                self._release(state)
                return
            if state.ended_min != state.ended_min:  # _resolved: not a matter that ended by itself
                state.resolved_min = self.env._now
            del self.states[state.number]  # _release: nothing else holds the matter
            self._finish(state)

        self.env.call_in(duration, done)

    # Coordination reports at once (a plain call, in order of detection) and returns the rest of the
    # work as a callback chain given what to call when it is over, which runs as a task would (_as_task).

    def _sequential(self, state, i, jobs, channel, finder) -> Callable[[Callable[[], None]], None]:
        """One department after another; each hand-over travels the information channel again."""
        first = self._deliver(state, jobs[0][0], channel, finder)

        def handed_over(capable) -> Callable[[], object]:  # the next department's delivery, made when its turn comes
            return lambda: self._ready(self._deliver(state, capable, "coordination", None))

        ready = [self._ready(first), *(handed_over(capable) for capable, _ in jobs[1:])]
        return lambda then: self._jobs_in_turn(state, jobs, ready, finder, then)

    def _concurrent(self, state, i, jobs, channel, finder) -> Callable[[Callable[[], None]], None]:
        """Every department needed is dispatched at once ("whistle and report").

        Each visit starts as a task would (:meth:`Clock.call_first`) and ends where its end would fire; after
        the last one, the work is over one event later, where the condition on the visits would have fired.
        """
        if any(finder in capable for capable, _ in jobs):
            state.first("reached_min", self.env.now)
        shared = self._deliver(state, frozenset(), channel, None)

        def work(then: Callable[[], None]) -> None:
            env = self.env
            now = env._now
            left = len(jobs)

            def over(_) -> None:
                nonlocal left
                left -= 1
                if left == 0:
                    env.call_in(0.0, lambda _: then())

            def visit(capable, parts, ready) -> Callable[[object], None]:
                return lambda _: self._job(state, i, capable, parts, ready, finder, lambda: env.call_in(0.0, over))

            for capable, parts in jobs:
                env.call_first(visit(capable, parts, now if finder in capable else self._ready(shared)))

        return work

    def _deliver(self, state: IncidentState, capable, source: str, finder: str | None) -> Delivery:
        """Get the report to someone able to act: the finder itself, or through the channel."""
        now = self.env.now
        if finder and finder in capable:
            delivery = Delivery(now, now)
            if self.tracing:
                state.note(now, Stage.ON_THE_SPOT, department=finder)
        else:
            delivery = self.channel.deliver(now, source, self.streams.information, capable, state.number)
            delivery = self._escalate(state, delivery, lead=source == "grid_worker")
            if state.reached_min != state.reached_min and self.duplication.gapping[state.type_index]:
                delivery = self._gap(state, delivery)
            if self.tracing:
                state.keep(delivery.stages)
        if state.reached_min != state.reached_min:
            state.reached_min = delivery.reached_min
        state.referrals += delivery.referrals
        state.bounces += delivery.bounces
        return delivery

    def _gap(self, state: IncidentState, delivery: Delivery) -> Delivery:
        """Every department claiming the matter may leave it to another (:mod:`sim.engine.duplicates`).

        The gap runs from when a unit could first be sent: the delivery's ready minute, or, through staffed
        centres, when their decision fires (:attr:`Delivery.ready`); a unit may then be sent *gap* minutes
        later (a new event, fired by a timed call that long after the decision).
        """
        gap = self.duplication.gap_min(state.type_index, self.streams.duplicates)
        if gap <= 0:
            return delivery
        state.left_by_all = True
        decided = delivery.ready
        if decided is None:
            state.note(delivery.ready_min, Stage.LEFT_BY_ALL)
            return delivery._replace(ready_min=delivery.ready_min + gap)
        env, taken_up = self.env, self.env.event()

        def left(_) -> None:
            state.note(env.now, Stage.LEFT_BY_ALL)
            env.call_in(gap, lambda _: taken_up.succeed())

        assert decided.callbacks is not None  # the centres are still deciding (their walk has just begun)
        decided.callbacks.append(left)
        return delivery._replace(ready_min=delivery.ready_min + gap, ready=taken_up)

    def _escalate(self, state: IncidentState, delivery: Delivery, lead: bool = False) -> Delivery:
        """Add the city centre's turn (city matters, once) and the loop's verify-accept-assign.

        *lead*: a grid worker's report, which the grid leader handles first when the town has leaders.
        """
        if self.centre is not None or self.levels is not None:
            return self._through_centre(state, delivery, lead)
        if self.loop is None and (state.layer != CITY or state.escalated):
            return delivery
        if not self.tracing:
            return self._escalate_untraced(state, delivery)
        ready, stages = delivery.ready_min, list(delivery.stages)
        city = self.scenario.grid_management
        if state.layer == CITY and city is not None and not state.escalated:
            ready += self._city_ahead.item(state.number)  # type: ignore[union-attr]  # set with grid management
            stages.append(TraceEvent(ready, Stage.CITY_CENTRE_DECIDES))
            state.escalated = True
        if self.loop is not None:
            ready, loop_stages = self.loop.before_dispatch(ready, self.streams.loop, state.number)
            stages += loop_stages
        return delivery._replace(ready_min=ready, stages=tuple(stages))

    def _escalate_untraced(self, state: IncidentState, delivery: Delivery) -> Delivery:
        """:meth:`_escalate` without a staffed centre in an untraced run: the same draws, no stages built.

        An untraced run keeps no stages (:meth:`IncidentState.keep`), so only the minute changes; the
        city's turn is the one drawn ahead (:meth:`_city_turns`).
        """
        ready = delivery.ready_min
        if state.layer == CITY and self._city_ahead is not None and not state.escalated:
            ready += self._city_ahead.item(state.number)
            state.escalated = True
        if self.loop is not None:
            ready = self.loop.ready_min(ready, self.streams.loop, state.number)
        return delivery_of((delivery[0], ready, *delivery[2:]))  # delivery._replace(ready_min=ready)

    # ------------------------------------------------------------------ a staffed centre

    def _staffed_centre(self) -> Centre | None:
        """The centre's operators, when the scenario staffs it and this mode goes through it."""
        spec = self.scenario.governance.instant
        if spec.operators is None or (self.mode.information != "instant" and self.loop is None):
            return None
        return Centre(self.env, spec, self.end, (self.warmup, self.horizon))

    def _levels(self) -> Levels | None:
        """The centres at several levels (``governance.centres``), when this mode goes through them.

        Their operators take the place of the one centre: the shared channel leaves the decision to them.
        """
        governance = self.scenario.governance
        if governance.centres is None or (self.mode.information != "instant" and self.loop is None):
            return None
        if isinstance(self.channel, SharedChannel):
            self.channel.staffed = True
        self._paths: dict[int, tuple[_Hop, ...]] = {}  # by type index and first centre (_path)
        self._short_routes: dict[int, tuple[tuple, tuple, tuple]] = {}  # the same paths, as _short_walk reads them
        levels = Levels(self.env, governance, self.town, self.end, (self.warmup, self.horizon))
        # handling per incident and level, drawn ahead (the same in every mode); a later pass of the
        # same matter (a sequential hand-over) draws from a stream of its own, in order
        self._handling = levels.draw_handling(self.incidents.patch, self.streams.levels)
        self._passed = bytearray(len(self.incidents.patch))
        self._later_handling = self.streams.child("levels", 1)
        return levels

    def _path(self, state: IncidentState) -> tuple[_Hop, ...]:
        """The centres a report on *state* goes through (lowest first), cached per type and first centre.

        The route depends on the patch only through the centre serving it (:meth:`Levels.path`), so a
        city of thousands of patches and hundreds of centres looks up each route once per centre and
        type. Each centre as a :data:`_Hop`: what a step there needs, looked up once per path, not per report.
        """
        levels = self.levels
        assert levels is not None  # only a town with levels routes reports through them
        key = levels.entry[state.patch] * len(self.jobs) + state.type_index
        path = self._paths.get(key)
        if path is None:
            jobs = self.jobs[state.type_index]
            centres = levels.path(state.patch, state.type_name, (c for c, _ in jobs))
            last = len(centres) - 1
            path = self._paths[key] = tuple(
                (
                    levels.centres[k],
                    levels.specs[k].name,
                    levels.depth[k],
                    Stage.CENTRE_DECIDES if n == last else Stage.PASSED_UP,
                    levels.handling[k],
                )
                for n, k in enumerate(centres)
            )
        return path

    @staticmethod
    def _ready(delivery: Delivery):
        """When a unit may be sent: a minute, or the event of a staffed centre's decision."""
        return delivery.ready_min if delivery.ready is None else delivery.ready

    def _grid_leaders(self) -> GridLeaders | None:
        """The grid leaders, when the town has them and reports reach a staffed centre on the shared channel."""
        spec = self.scenario.grid_management
        if spec is None or spec.leaders is None or self.mode.information != "instant":
            return None
        if self.centre is None and self.levels is None:
            return None  # the checks make leaders need a staffed centre
        # a leader's handling per incident, drawn ahead (the same in every mode); a later report of
        # the same matter to a leader draws from a stream of its own, in order
        n = len(self.incidents.patch)
        self._leader_handling = sample(spec.leaders.handling_min, self.streams.leaders, size=n)
        self._led = bytearray(n)
        self._later_leaders = self.streams.child("leaders", 1)
        return GridLeaders(self.env, spec, len(self.town.grid_names), self.end, (self.warmup, self.horizon))

    def _through_centre(self, state: IncidentState, delivery: Delivery, lead: bool = False) -> Delivery:
        """The centre's decision, the city's turn and the loop's verify-accept-assign, with operators.

        The durations are those drawn ahead for the matter (the centres' handling, the city's turn) or
        drawn now (a later pass, the leader's, the loop's); only the waits for an operator are
        simulated. The delivery's ``ready`` event fires when a unit may be sent.
        """
        steps: list[_Step] = []
        loop_at: tuple[Centre | None, str] = (self.centre, "")
        if lead and self.leaders is not None and delivery.handling_min is not None:
            leader, name = self.leaders.of_grid(int(self.town.grid[state.patch]))
            i = state.number
            if self._led[i]:
                minutes = self.leaders.handling_min(self._later_leaders)
            else:
                minutes, self._led[i] = float(self._leader_handling[i]), 1
            steps.append((leader, name, minutes, Stage.GRID_LEADER_HANDLES))
        if self.levels is not None:
            path = self._path(state)
            if delivery.handling_min is not None:
                steps += self._level_steps(state.number, path)
            loop_at = path[-1][:2]
        elif delivery.handling_min is not None:
            steps.append((self.centre, "", delivery.handling_min, Stage.CENTRE_DECIDES))
        city = self.scenario.grid_management
        if state.layer == CITY and city is not None and not state.escalated:
            turn = self._city_ahead.item(state.number)  # type: ignore[union-attr]  # set with grid management
            steps.append((None, "", turn, Stage.CITY_CENTRE_DECIDES))
            state.escalated = True
        if self.loop is not None:
            minutes = self.loop.before_dispatch_min(self.streams.loop, state.number)
            steps.append((*loop_at, sum(minutes), tuple(zip(minutes, (stage for _, stage in self.loop.STEPS_BEFORE)))))
        if not steps:
            return delivery
        ready = self._centre_steps(state, delivery.reached_min, steps)
        return delivery_of((*delivery[:-1], ready))  # delivery._replace(ready=ready), sooner

    def _level_steps(self, i: int, path: tuple[_Hop, ...]) -> list[_Step]:
        """The steps of matter *i* through the centres of *path*: handling drawn ahead for its first pass.

        A later pass of the same matter (a sequential hand-over) draws each centre's handling from a
        stream of its own, in order.
        """
        minutes = self._handling_min(i, [hop[2] for hop in path], [hop[4] for hop in path])
        return [(centre, name, m, stage) for (centre, name, _, stage, _), m in zip(path, minutes)]

    def _handling_min(self, i: int, depths, handlings) -> list[float]:
        """Matter *i*'s handling at centres of *depths* (each with its sampler in *handlings*), in path order.

        Its first pass takes the minutes drawn ahead (row *depth*, column *i*); a later pass (a sequential
        hand-over) draws each from a stream of its own, in order.
        """
        if self._passed[i]:
            later = self._later_handling
            return [handling(later) for handling in handlings]
        self._passed[i] = 1
        item = self._handling.item
        return [item(depth, i) for depth in depths]

    def _centre_steps(self, state: IncidentState, arrive: float, steps: list[_Step]) -> simpy.Event:
        """Go through the steps in turn: an operator's handling (after a wait in the queue) or a fixed delay.

        A step without operators (the city's turn, a centre of unlimited operators) is a fixed delay.
        A chain of callbacks (:class:`_CentreWalk`), not a process; the matter is held open until the
        returned event fires, when the last step is over.
        """
        state.holds += 1
        walk = _CentreWalk(self, state, steps)
        if arrive > self.env._now:
            self.env.call_at(arrive, walk.step)
        else:
            walk.step()
        assert walk.ready is not None  # a walk without *then* fires its event
        return walk.ready

    def _grid_settles(self, state: IncidentState, channel: str) -> None:
        """A simple matter goes to a worker of its grid, who settles it (:meth:`_grid`, run as a task would)."""
        env = self.env
        if channel == "grid_worker":
            ready = env.now
            state.first("reached_min", ready)
            state.note(ready, Stage.GRID_WORKER_SETTLES)
        else:
            delivery = self._escalate(
                state, self.channel.deliver(env.now, "grid", self.streams.information, incident=state.number)
            )
            state.keep(delivery.stages)
            state.first("reached_min", delivery.reached_min)
            state.referrals += delivery.referrals
            state.bounces += delivery.bounces
            ready = self._ready(delivery)
        self._as_task(state, lambda then: self._grid(state, ready, channel == "grid_worker", then))

    def _grid(self, state: IncidentState, ready, on_the_spot: bool, then: Callable[[], None]) -> None:
        """Once *ready* (a minute or an event), a worker of the matter's grid settles it (:meth:`_grid_take`)."""
        env = self.env
        if isinstance(ready, simpy.Event):
            if ready.callbacks is not None:  # not yet processed: wait for it
                ready.callbacks.append(lambda _: self._grid_take(state, env._now, on_the_spot, then))
                return
            ready = env._now
        elif ready > env._now:
            env.call_at(ready, lambda _: self._grid_take(state, ready, on_the_spot, then))
            return
        self._grid_take(state, ready, on_the_spot, then)

    def _grid_take(self, state: IncidentState, ready: float, on_the_spot: bool, then: Callable[[], None]) -> None:
        """A worker of the grid takes the matter now (asked for at *ready*); once done, its job is logged, then ``then()``."""
        env = self.env
        grid = int(self.town.grid[state.patch])
        assert self.grid_workers is not None  # only matters settled by grid workers come here
        window = (self.warmup, self.horizon)
        start, done, worker = self.grid_workers.take(grid, env._now, self.streams.grid, window, state.number)
        if start >= state.natural_end_min:
            self._ends_unattended(state)  # the worker's booked time is spent finding nothing
        else:
            state.dispatched_min = start
            state.on_scene_min = start
            state.on_the_spot = on_the_spot
        unit = f"{self.town.grid_names[grid]}-worker-{worker}"
        state.departments.append(GRID_WORKERS)
        state.units.append(unit)
        env.call_at(done, lambda _: self._grid_done(state, grid, unit, (ready, start, done), on_the_spot, then))

    def _grid_done(self, state: IncidentState, grid: int, unit: str, times, on_the_spot: bool, then) -> None:
        """The grid worker is done: log the job (*times*: asked for, started, done), then ``then()``."""
        ready, start, done = times
        town = self.town
        self.job_log.append(  # a JobRecord's fields, in order (the rest take their defaults)
            (
                state.number,
                state.type_index,  # type, patch and sector as indices (job_buffers)
                unit,
                GRID_WORKERS,
                town.grid_names[grid],
                state.patch,
                state.patch,
                ready,
                start,
                start,
                done,
                on_the_spot,
            )
        )
        then()

    def _job(self, state: IncidentState, i: int, capable, parts, ready, finder: str | None, then) -> None:
        """Wait for a unit, travel, work on scene, free the unit; then ``then()`` (a chain of callbacks).

        *ready* is the minute a unit may be sent, or an event that fires then (a staffed centre).
        Units are never pre-empted, so once a unit is assigned its arrival and finish times are
        known: travel and on-scene work are one timed call. Each wait takes the place in the order of
        events that the same wait in a process would. Follow-up visits after the job (a generator) go on at
        once, as within the same process (:meth:`Clock.drive`).
        """
        env = self.env

        def over(follow) -> None:
            if follow is None:
                then()
            else:
                env.drive(follow, then)

        if isinstance(ready, simpy.Event):
            if ready.callbacks is not None:  # not yet processed: wait for it
                ready.callbacks.append(lambda _: self._request(state, i, capable, parts, finder, over))
                return
        elif ready > env._now:
            env.call_at(ready, lambda _: self._request(state, i, capable, parts, finder, over))
            return
        self._request(state, i, capable, parts, finder, over)

    def _start_job(self, state: IncidentState, i: int, job: Job, parts, unit, part: int = -1) -> tuple[float, bool]:
        """A unit is assigned: note dispatch and arrival; return minutes until it is done, and whether it ended.

        A unit that arrives after the matter ended by itself (nobody on scene before) finds nothing
        and is done on arrival. *part* (from the short path, :class:`_OneJob`) is the job's one part when
        the unit's department owns it: its on-scene minutes are then the part's own.
        """
        dispatched = self.env._now
        if state.dispatched_min != state.dispatched_min:
            state.dispatched_min = dispatched
        unit.busy_since_min = dispatched
        if job.on_the_spot:
            travel = 0.0
        elif job.travel_min is not None and not unit.travel_cv > 0:  # known, and no noise (_travel_min)
            travel = job.travel_min
        else:
            travel = self._travel_min(unit, state.patch, job.travel_min)
        arrived = dispatched + travel
        job.arrived_min = arrived
        if arrived >= state.natural_end_min and not arrived >= state.on_scene_min:
            self._ends_unattended(state)
            return travel, True
        if not arrived >= state.on_scene_min:
            state.on_scene_min = arrived
            state.on_the_spot = job.on_the_spot
        k = state.type_index
        if not state.duplicates_decided:
            state.duplicates_decided = True
            if self.duplication.duplicating[k]:
                self._duplicate_visits(state, k, unit.department)
        if part >= 0:  # CompetenceTable.on_scene_min of one part of the department's own: the same sum
            return travel + (0.0 + state.service[part]), False
        return travel + self.competence.on_scene_min(k, parts, unit.department, state.service), False

    # Mechanisms of issue 15: duplicated enforcement, specialist follow-ups, natural ends.

    def _duplicate_visits(self, state: IncidentState, k: int, department: str) -> None:
        """When a matter's first unit is assigned, other claiming departments may send units too."""
        state.duplicates_decided = True
        acting = self.required[k] | {department}
        for other, on_scene in self.duplication.visits(k, acting, self.streams.duplicates):
            self._spawn(state, self._extra_visit(state, frozenset({other}), on_scene, duplicate=True))

    def _follow_ups(self, state: IncidentState, i: int, parts, unit, ended: bool):
        """A pooled unit's job outside its powers may need the owning specialists back (a generator), or None."""
        if ended:
            return None
        if not self.competence.may_follow_up(state.type_index, parts, unit.department):
            return None
        needs = self.competence.follow_ups(state.type_index, parts, unit.department, self.streams.competence)
        if not needs:
            return None
        return self._follow_up_visits(state, needs, state.service)

    def _follow_up_visits(self, state: IncidentState, needs, service):
        """The owning specialists do each part that needs them, one after another, at their own pace."""
        for owners, p in needs:
            yield from self._extra_visit(state, owners, service[p], duplicate=False)

    def _extra_visit(self, state: IncidentState, capable: frozenset[str], on_scene_min: float, duplicate: bool):
        """A unit of *capable* goes to the matter and works *on_scene_min*: a duplicate visit or a follow-up."""
        env = self.env
        job = Job(capable, state.patch, state.priority, env.now, incident_type=state.type_name)
        unit = self.dispatcher.request(job)
        if unit is None:
            unit = yield job.event
        unit.busy_since_min = env.now
        travel = self._travel_min(unit, state.patch, job.travel_min)
        job.arrived_min = env.now + travel
        yield env.timeout(travel + on_scene_min)
        if duplicate:
            state.duplicate_visits += 1
        else:
            state.follow_ups += 1
        self._end_job(state, job, unit, duplicate=duplicate, follow_up=not duplicate)

    def _ends_unattended(self, state: IncidentState) -> None:
        """The matter ended by itself before any unit was on scene."""
        if state.ended_min != state.ended_min:
            state.ended_min = state.natural_end_min
            if state.trace is not None:
                state.note(state.ended_min, Stage.ENDED_UNATTENDED)

    def _end_job(
        self,
        state: IncidentState,
        job: Job,
        unit,
        duplicate: bool = False,
        follow_up: bool = False,
        ended: bool = False,
    ) -> None:
        """The unit is done: log the visit, send it home or leave it on patrol, free it.

        A duplicate visit is logged and costs the unit its time, but is not among the matter's
        departments and units (it did not act on the matter's behalf).
        """
        done = self.env._now
        dispatched, arrived = unit.busy_since_min, job.arrived_min
        if self.tracing:
            who = {"unit": unit.uid, "department": unit.department}
            if duplicate:
                state.note(arrived, Stage.DUPLICATE_VISIT, **who)
            else:
                if follow_up:
                    state.note(dispatched, Stage.FOLLOW_UP, **who)
                state.note(dispatched, Stage.DISPATCHED, **who)
                state.note(arrived, Stage.ON_SCENE, **who)
                state.note(done, Stage.DONE, **who)
        town = self.town
        jobs = self.job_log.rows  # ColumnBuffers.append inlined (the check for a full block below): once per job
        jobs.append(  # a JobRecord's fields, in order
            (
                state.number,
                state.type_index,  # type, patch and sector as indices (job_buffers)
                unit.uid,
                unit.department,
                unit.home_sector,
                state.patch,
                state.patch,
                job.requested_min,
                dispatched,
                arrived,
                done,
                job.on_the_spot,
                duplicate,
                follow_up,
                ended,
            )
        )
        if len(jobs) >= self.job_log.BLOCK:
            self.job_log._flush()
        if unit.patrols:
            back = 0.0
        else:  # Town.drive_min home, once per patch, base and speed
            home = self._home_min[unit]
            minutes = home.get(state.patch)
            if minutes is None:
                minutes = home[state.patch] = town.drive_min(state.patch, unit.base, unit.speed_kmh)
            back = done + minutes
        if not duplicate:
            state.departments.append(unit.department)
            state.units.append(unit.uid)
        start = unit.busy_since_min  # _account_busy inlined: once per job
        if start < self.warmup:
            start = self.warmup
        horizon = self.horizon
        busy = (done if done < horizon else horizon) - start
        if busy > 0.0:
            unit.busy_min += busy
        self.dispatcher.release_at(unit, state.patch, back)

    def _until(self, moment: float) -> simpy.Timeout:
        """A timeout that ends at clock time *moment* (never negative through rounding)."""
        return self.env.timeout(max(0.0, moment - self.env._now))

    def _travel_min(self, unit, patch: int, known: float | None = None) -> float:
        """Travel time of *unit* to *patch* now (*known* when the dispatcher just computed it), with noise."""
        minutes = unit.travel_min(self.town, patch, self.env._now) if known is None else known
        if unit.travel_cv > 0:
            sigma2 = math.log1p(unit.travel_cv**2)
            minutes *= self.streams.travel.lognormal(-sigma2 / 2, math.sqrt(sigma2))
        return minutes

    def _account_busy(self, unit, end: float) -> None:
        start = max(unit.busy_since_min, self.warmup)
        unit.busy_min += max(0.0, min(end, self.horizon) - start)


class _OneJob(NamedTuple):
    """The only job of a type whose matters take the short path (:meth:`Simulation._short_paths`).

    *part* is the job's one part when every capable department owns its power (its on-scene minutes
    are then the part's own, :meth:`CompetenceTable.on_scene_min`), else -1. *gapping*: every claiming
    department may leave the matter to another (:meth:`Simulation._gap`, after the channel); *duplicating*:
    other claiming departments may send units too (decided in :meth:`Simulation._start_job`, and each
    such visit holds the matter open).
    """

    capable: frozenset[str]
    parts: tuple[int, ...]
    part: int
    gapping: bool = False
    duplicating: bool = False


class _CentreWalk:
    """A report's way through the centres' steps (:meth:`Simulation._centre_steps`) as callbacks.

    The walk refers to the simulation and the matter, and nothing refers back to it but the pending
    event's callback: no reference cycle, so it is freed with the cyclic collector paused.
    """

    __slots__ = ("at", "queued", "ready", "sim", "state", "steps", "then")

    def __init__(self, sim: Simulation, state: IncidentState, steps: list[_Step], then: Callback | None = None):
        self.sim, self.state, self.steps, self.at = sim, state, steps, 0
        self.then = then  # called (a timed call of no delay) after the last step, where :attr:`ready` would fire
        self.ready = simpy.Event(sim.env) if then is None else None
        self.queued = 0.0

    def step(self, _previous=None) -> None:
        """Start the next step, or after the last one fire :attr:`ready` (or call :attr:`then`).

        *_previous* (unused) is what the previous step's end passes: None from a timed call (the
        arrival, a fixed delay) or the operator's start. Untraced, the step's end calls this at once; traced, it
        calls :meth:`_delayed` or :meth:`_handled` first, which note the step's stages.
        """
        at = self.at
        if at == len(self.steps):
            self.sim._release(self.state)
            if self.ready is not None:
                self.ready.succeed()  # its waiters go on after the events already due now, as they always have
            else:
                self.sim.env.call_in(0.0, self.then)  # type: ignore[arg-type]  # set when ready is not
            return
        self.at = at + 1
        centre, _, minutes, _ = self.steps[at]
        env = self.sim.env
        traced = self.state.trace is not None
        self.queued = env._now
        if centre is None:
            env.call_in(minutes, self._delayed if traced else self.step)
        else:
            centre.take_then(self.state.priority, minutes, self._handled if traced else self.step)

    def _delayed(self, _event) -> None:
        self._handled(self.queued)

    def _handled(self, start: float) -> None:
        """The step began at *start* and is over: note its stages (a traced run), then go on."""
        state = self.state
        _, name, minutes, stages = self.steps[self.at - 1]
        if start > self.queued:
            state.note(self.queued, Stage.WAITING_FOR_OPERATOR, centre=name)
        if isinstance(stages, Stage):
            state.note(start + minutes, stages, centre=name)
        else:
            t = start
            for part, stage in stages:
                t += part
                state.note(t, stage, centre=name)
        self.step()


class _ShortWalk:
    """A short-path report's way through the centres at levels (:meth:`Simulation._short_walk`), untraced.

    :class:`_CentreWalk`'s steps with nothing to note: the *centres* in turn (None: a fixed delay, such
    as the city's turn) with the matter's handling *minutes* at each, an operator's handling after a
    wait in its queue; after the last, :meth:`Simulation._short_request` as a timed call of no delay.
    The matter takes no hold of its own for the walk: on the short path nothing else can let go of it
    meanwhile (its one hold is the unit's, let go of when the unit is done).
    """

    __slots__ = ("at", "centres", "minutes", "one", "sim", "state")

    def __init__(self, sim: Simulation, state: IncidentState, one: _OneJob, centres: tuple, minutes: list[float]):
        self.sim, self.state, self.one, self.centres, self.minutes, self.at = sim, state, one, centres, minutes, 0

    def step(self, _previous=None) -> None:
        """Start the next step; after the last, ask for a unit where the walk's event would have fired."""
        at = self.at
        centres = self.centres
        if at == len(centres):
            self.sim.env.call_in(0.0, self._request)
            return
        self.at = at + 1
        centre = centres[at]
        if centre is None:
            self.sim.env.call_in(self.minutes[at], self.step)
        else:
            centre.take_then(self.state.priority, self.minutes[at], self.step)

    def _request(self, _call: None) -> None:
        """The walk is over: ask for a unit (:meth:`Simulation._short_request`)."""
        self.sim._short_request(self.state, self.one)
