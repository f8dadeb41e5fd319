"""Dispatch rules: which free capable unit takes a job.

A dispatch rule is a function ``rule(request: DispatchRequest) -> FreeUnit | None``. It sees one
job (:class:`DispatchRequest`: the incident type, the patch, the priority, the departments that may
legally do it, the minute) and every free unit on duty of those departments (:class:`FreeUnit`:
where it stands, how many minutes it needs to reach the job, how long it has been free, how long it
has worked). It returns one of those units, or None to let the job wait for the next unit that
becomes free (which then takes the most urgent, oldest job it may do, whatever the rule).

A rule must be a pure function of its request: no random draws, no state kept between calls.
Then a plugged-in rule keeps the comparison on common random numbers (every mode replays the
same incidents) and gives the same result on every backend. Name a rule in a scenario by its
registered name (``dispatch: least_loaded``) or by a dotted path (``dispatch: mypkg.rules:least_busy``);
see :mod:`sim.registry`.

The built-in rules :func:`own_queue` and :func:`nearest` are the reference definitions of the two
values of the ``dispatch`` lever; the dispatcher runs them through equivalent fast paths (for
``nearest``, a map index of free units), and a test checks that both paths give the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["FreeUnit", "DispatchRequest", "DispatchRule", "own_queue", "nearest", "least_loaded"]


@dataclass(frozen=True, slots=True)
class FreeUnit:
    """A free unit on duty, as a dispatch rule sees it.

    Attributes
    ----------
    uid:
        The unit's name, e.g. ``sanitation-3``.
    department:
        Its department.
    patch:
        The patch where it stands now (its base, or its last job while it has not gone home).
    x_km, y_km:
        The centre of that patch, km.
    travel_min:
        Mean minutes to reach the job (set-off included), as the model will send it.
    idle_since_min:
        When it became free.
    worked_min:
        Minutes it has spent on jobs since the run began (dispatch to done, finished jobs only).
    free_order:
        Order in which the free units became free (smaller: free longer); unique, so it breaks any tie.
    """

    uid: str
    department: str
    patch: int
    x_km: float
    y_km: float
    travel_min: float
    idle_since_min: float
    worked_min: float
    free_order: int


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    """A job looking for a unit.

    Attributes
    ----------
    incident_type:
        The type of the matter (a name from the scenario's ``incident_types``; empty if unknown).
    patch:
        Where the job is.
    x_km, y_km:
        The centre of that patch, km.
    priority:
        The matter's priority (smaller: more urgent).
    capable:
        The departments whose units may legally do the job, in name order.
    now_min:
        The minute of the decision.
    units:
        Every free unit on duty of the capable departments: departments in name order, within a
        department the unit free longest first.
    """

    incident_type: str
    patch: int
    x_km: float
    y_km: float
    priority: int
    capable: tuple[str, ...]
    now_min: float
    units: tuple[FreeUnit, ...]


class DispatchRule(Protocol):
    """What a dispatch rule is: a function of the request returning one of its units, or None."""

    def __call__(self, request: DispatchRequest) -> FreeUnit | None:
        """Choose a unit of ``request.units`` for the job, or None to keep it waiting."""
        ...


def own_queue(request: DispatchRequest) -> FreeUnit | None:
    """The department desk's way: the unit free longest takes the job (``dispatch: own_queue``).

    Ties (units free since the same minute) go to the department first in name order, then to
    the unit that became free first.
    """
    best = None
    for unit in request.units:
        if best is None or unit.idle_since_min < best.idle_since_min:
            best = unit
    return best


def nearest(request: DispatchRequest) -> FreeUnit | None:
    """The centre's way: the free unit with the shortest travel time (``dispatch: nearest``).

    Ties go to the department first in name order, then to the unit free longest.
    """
    best = None
    for unit in request.units:
        if best is None or unit.travel_min < best.travel_min:
            best = unit
    return best


def least_loaded(request: DispatchRequest) -> FreeUnit | None:
    """Share the work: the free unit that has worked least so far; ties to the nearest (``dispatch: least_loaded``).

    A workload-balancing rule, to keep crews' hours even: among the free capable units, the one
    with the fewest minutes on jobs since the run began (finished jobs, warm-up included);
    among those equally loaded, the one with the shortest travel time; then the department
    first in name order, then the unit free longest. It trades response time for an even load.
    """
    best = None
    for unit in request.units:
        if best is None or (unit.worked_min, unit.travel_min) < (best.worked_min, best.travel_min):
            best = unit
    return best
