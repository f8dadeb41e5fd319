"""Memory: estimate what a run needs from its scenario, before running, against what the machine has.

A run keeps every incident's state, record and job records; the cost per incident hardly depends
on the town, so expected incidents (the daily rates times the horizon) times a measured cost per
incident is a good estimate. Measured on the Anhai garbage case and on Jinjiang (one run of the
unified mode, the difference between a short and a long horizon, so that fixed costs cancel):

* peak while a run runs: 1.01-1.16 KB per incident (``tracemalloc``), 1.17 KB by the growth of the
  resident set (Anhai, 2 and 500 days: 395 and 99,859 incidents, 112 and 222 MB);
* kept after a run (its records and job records, which ``compare`` holds for every mode and
  replication): 0.79-0.90 KB per incident;
* the CSV text of ``incidents.csv`` and ``jobs.csv`` while they are written: about 0.32 KB per incident.

A run that would need more than the memory available (``MemAvailable`` of ``/proc/meminfo``, else
the free physical pages) is refused before it starts; one that needs more than half of it is
warned about.
"""

from __future__ import annotations

import os

from sim.errors import Problem, ScenarioError

__all__ = [
    "BYTES_PER_INCIDENT",
    "KEPT_BYTES_PER_INCIDENT",
    "WRITTEN_BYTES_PER_INCIDENT",
    "available_memory",
    "check_memory",
    "expected_incidents",
    "memory_needed",
]

BYTES_PER_INCIDENT = 1_200
"""Peak bytes per incident while one run runs (measured 1.0-1.17 KB, rounded up)."""
KEPT_BYTES_PER_INCIDENT = 900
"""Bytes per incident of a finished run's records and job records (measured 0.79-0.90 KB)."""
WRITTEN_BYTES_PER_INCIDENT = 400
"""Bytes per incident of the CSV text while ``incidents.csv`` and ``jobs.csv`` are written (measured 0.32 KB)."""
WARN_SHARE = 0.5
"""Warn when a run needs more than this share of the available memory."""


def expected_incidents(scenario) -> float:
    """Incidents one run is expected to have: the daily rates times the horizon."""
    return scenario.days * sum(t.rate_per_day for t in scenario.incident_types)


def memory_needed(scenario, runs_kept: int = 1, written: bool = False, concurrent: int = 1) -> float:
    """Bytes a command needs for *scenario*.

    *runs_kept* runs are held at once in one process (``compare``: modes x replications), and
    *concurrent* processes each run one (a sweep's workers); *written*: the records are also
    written as CSV.
    """
    n = expected_incidents(scenario)
    per_process = n * (BYTES_PER_INCIDENT + max(0, runs_kept - 1) * KEPT_BYTES_PER_INCIDENT)
    if written:
        per_process += n * WRITTEN_BYTES_PER_INCIDENT
    return per_process * max(1, concurrent)


def available_memory() -> int | None:
    """Bytes of memory available to new work now (``MemAvailable``), or None where it cannot be told."""
    try:
        with open("/proc/meminfo", "rb") as handle:
            for line in handle.read(1 << 16).decode("ascii", "replace").splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _size(nbytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes / 1e3:,.0f} KB"


def check_memory(
    scenario, runs_kept: int = 1, written: bool = False, concurrent: int = 1, source: str = "memory"
) -> str | None:
    """Refuse a command that cannot fit in memory; a warning (text) when it needs more than half of it.

    Raises
    ------
    ScenarioError
        If the estimate (:func:`memory_needed`) exceeds the memory available, with both figures.
    """
    needed = memory_needed(scenario, runs_kept, written, concurrent)
    available = available_memory()
    if available is None or needed <= WARN_SHARE * available:
        return None
    n = expected_incidents(scenario)
    runs = max(runs_kept, concurrent)
    what = (
        f"about {_size(needed)} of memory ({n:,.0f} expected incidents a run x {runs} run(s) at once, "
        f"about {BYTES_PER_INCIDENT / 1000:.1f} KB per incident); {_size(available)} is available"
    )
    if needed > available:
        raise ScenarioError(
            [
                Problem(
                    source,
                    None,
                    "",
                    (
                        f"this needs {what}. Shorten days, lower the rates, or run fewer modes, replications or workers at once"
                    ),
                )
            ]
        )
    return f"warning: this needs {what}; other programs may be pushed out of memory"
