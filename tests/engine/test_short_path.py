"""The short path of a one-job matter (``Simulation._short_paths``) gives the records the general path gives.

Each scenario runs in every mode twice, once with the short path and once with it switched off
(``Simulation.SHORT_PATH``), and every record, job, busy and on-duty minute and the backlog must be
equal: the short path only leaves out branches that cannot be taken, it must not change a draw or the
order of events.
"""

from __future__ import annotations

import pytest

import sim
from sim.engine.model import Simulation
from sim.scenario.governance import modes_of
from tests.conftest import SCENARIOS, queue_scenario, ties_scenario

CASES = {  # scenario, overrides, whether some matters take the short path
    "classroom": (SCENARIOS / "classroom.yaml", ["days=10", "warmup_days=1"], True),
    "anhai": (SCENARIOS / "anhai.yaml", ["days=6"], True),  # grid workers, rounds, campaigns, loop, duplicates, ends
    "anhai_garbage": (SCENARIOS / "anhai_garbage.yaml", ["days=8"], True),
    "huagang": (SCENARIOS / "huagang.yaml", ["days=6"], True),
    "zhewang": (SCENARIOS / "zhewang.yaml", ["days=6"], False),  # staffed centres and grid leaders
    "jinjiang": (SCENARIOS / "jinjiang.yaml", ["days=1.5", "warmup_days=0.5"], True),  # centres at three levels
}


def _both_ways(scenario: sim.Scenario, mode: str, monkeypatch, seed: int | None = None):
    """The run of *mode* with the short path, the run without it, and how many matters took it."""
    taken = []
    begin = Simulation._short_begin

    def counted(self, *args):
        taken.append(1)
        return begin(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(Simulation, "_short_begin", counted)
        short = sim.run(scenario, mode, seed=seed)
    with monkeypatch.context() as patch:
        patch.setattr(Simulation, "SHORT_PATH", False)
        general = sim.run(scenario, mode, seed=seed)
    return short, general, len(taken)


def _same(short, general) -> None:
    assert short.records == general.records
    assert short.jobs == general.jobs
    assert short.busy_min == general.busy_min and short.on_duty_min == general.on_duty_min
    assert short.backlog == general.backlog and short.waiting == general.waiting


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_short_path_gives_the_general_paths_records(name, monkeypatch):
    path, overrides, some = CASES[name]
    scenario = sim.load_scenario(path, overrides)
    took = 0
    for mode in modes_of(scenario):
        short, general, taken = _both_ways(scenario, mode, monkeypatch)
        _same(short, general)
        took += taken
    assert (took > 0) == some  # the comparison is not vacuous where the short path is open


@pytest.mark.parametrize(
    "extra",
    [
        {},  # the M/M/c of the benchmark: one patch, nearest
        {"mode": {"based_on": "fragmented"}},  # desk-to-desk referral, own queue
        {"service": {"dist": "fixed", "value": 10}},  # ties between events at one minute
    ],
)
def test_a_queue_takes_the_short_path_with_the_same_records(extra, monkeypatch):
    scenario = queue_scenario(3, 0.28, 10.0, days=6.0, warmup_days=1.0, **extra)
    for mode in modes_of(scenario):
        short, general, taken = _both_ways(scenario, mode, monkeypatch, seed=5)
        _same(short, general)
        assert taken == len(short.records)  # every matter: one job, no centre


def test_a_traced_run_takes_the_general_path(classroom, monkeypatch):
    short, _, taken = _both_ways(classroom, "joint", monkeypatch)
    assert taken > 0
    traced = []
    begin = Simulation._short_begin
    monkeypatch.setattr(Simulation, "_short_begin", lambda self, *args: traced.append(1) or begin(self, *args))
    output = sim.run(classroom, "joint", trace=True)
    assert not traced and output.records == short.records


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_untraced_run_gives_the_traced_runs_records(name):
    """Untraced, the short path, the loop's minutes without stages and the city's sampler (no stages built)
    take the place of the traced code: the records must not depend on whether the story is kept."""
    path, overrides, _ = CASES[name]
    scenario = sim.load_scenario(path, overrides)
    for mode in modes_of(scenario):
        untraced, traced = sim.run(scenario, mode), sim.run(scenario, mode, trace=True)
        _same(untraced, traced)
        assert traced.trace and untraced.trace is None


def test_on_exact_ties_the_walk_through_centres_at_levels_asks_for_a_unit_one_event_later(monkeypatch):
    """Through centres at levels, as through one centre: a unit freed at the minute the last centre decides is free.

    Fixed handling, service and travel make ties common; the short path's request after its walk is a
    timed call where the general path's walk fires its event (asking at once sends other units), so both
    paths must give the same records, and some matters must take the short path.
    """
    scenario = ties_scenario(
        {
            "instant": {"report_min": 0, "centre_min": {"dist": "fixed", "value": 5}},
            "centres": [
                {"name": "city", "level": "city", "operators": 1},
                {"name": "town", "parent": "city", "operators": 2, "passes_up": ["h"]},
            ],
        }
    )
    short, general, taken = _both_ways(scenario, "pooled", monkeypatch, seed=2)
    _same(short, general)
    assert taken > 100
    jobs = list(short.jobs)
    assert any(j.done_min == k.requested_min == k.dispatched_min for j in jobs for k in jobs if j is not k)  # ties
