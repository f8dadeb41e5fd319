"""Experiments: run a mode, replicate it, compare modes on common random numbers.

Replication ``r`` of base seed ``s`` uses ``SeedSequence(s, spawn_key=(r,))`` (what
``SeedSequence(s).spawn`` gives), and every mode of a replication uses that same seed, so the
modes face identical incidents. These are the library calls the command line is built on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from sim import __version__
from sim.governance import modes_of
from sim.metrics import summarise
from sim.model import RunOutput, Simulation
from sim.rng import replication_seed
from sim.scenario import Scenario
from sim.schedule import MINUTES_PER_DAY

__all__ = ["run", "replicate", "compare", "Comparison"]


def run(
    scenario: Scenario, mode: str | None = None, seed: int | None = None, replication: int = 0, trace: bool = False
) -> RunOutput:
    """Simulate one replication of one mode.

    Parameters
    ----------
    scenario:
        A validated scenario (:func:`sim.load_scenario`).
    mode:
        Name of one of the scenario's modes; default the first.
    seed:
        Base seed; default the scenario's.
    replication:
        Replication number; each has its own independent streams.
    trace:
        Keep each incident's story (``RunOutput.trace``) for timelines.
    """
    modes = modes_of(scenario)
    name = mode or next(iter(modes))
    if name not in modes:
        raise KeyError(f"unknown mode {name!r}; the scenario defines {', '.join(modes)}")
    base = scenario.seed if seed is None else seed
    return Simulation(scenario, modes[name], replication_seed(base, replication), trace=trace).run()


def replicate(scenario: Scenario, mode: str | None = None, replications: int = 1, seed: int | None = None) -> list[RunOutput]:
    """Independent replications of one mode."""
    return [run(scenario, mode, seed, r) for r in range(replications)]


@dataclass(frozen=True)
class Comparison:
    """Modes run on the same incidents: the outputs per mode and the summary (``summary.json``)."""

    scenario: Scenario
    seed: int
    replications: int
    outputs: dict[str, list[RunOutput]]
    runtime_s: float
    summary: dict = field(repr=False)

    def records(self):
        """(mode, replication, record) for every incident of every run."""
        for mode, outputs in self.outputs.items():
            for rep, output in enumerate(outputs):
                for record in output.records:
                    yield mode, rep, record


def compare(
    scenario: Scenario, modes: Sequence[str] | None = None, replications: int = 1, seed: int | None = None
) -> Comparison:
    """Run every mode on the same incident streams and summarise each.

    Raises
    ------
    KeyError
        If a mode is not defined by the scenario.
    """
    defined = modes_of(scenario)
    names = list(modes) if modes else list(defined)
    unknown = [m for m in names if m not in defined]
    if unknown:
        raise KeyError(f"unknown mode(s) {', '.join(unknown)}; the scenario defines {', '.join(defined)}")
    base = scenario.seed if seed is None else seed
    started = time.perf_counter()
    outputs = {m: replicate(scenario, m, replications, base) for m in names}
    runtime = time.perf_counter() - started
    summary = build_summary(scenario, base, replications, outputs)
    return Comparison(scenario, base, replications, outputs, runtime, summary)


def build_summary(scenario: Scenario, seed: int, replications: int, outputs: dict[str, list[RunOutput]]) -> dict:
    """The ``summary.json`` contract: scenario, seed, version and per-mode statistics."""
    warmup = scenario.warmup_days * MINUTES_PER_DAY
    types = [t.name for t in scenario.incident_types]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "version": __version__,
        "replications": replications,
        "days": scenario.days,
        "warmup_days": scenario.warmup_days,
        "target_min": scenario.target_min,
        "modes": {m: summarise(outs, warmup, scenario.target_min, types) for m, outs in outputs.items()},
    }
