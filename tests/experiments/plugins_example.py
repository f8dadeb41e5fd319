"""A dispatch rule and metrics defined outside the package, as a researcher would write them.

Named by dotted path in the tests (``tests.experiments.plugins_example:straight_line``); the
workers of a process pool or a Dask cluster import this module by that name, so it must be on
their ``PYTHONPATH`` (the repository root, as for the tests themselves).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sim.engine import rules


def straight_line(request: rules.DispatchRequest) -> rules.FreeUnit | None:
    """The free unit whose patch is nearest the job as the crow flies; ties to the one listed first."""
    best, best_km = None, math.inf
    for unit in request.units:
        km = math.hypot(unit.x_km - request.x_km, unit.y_km - request.y_km)
        if km < best_km:
            best, best_km = unit, km
    return best


def nearest_again(request: rules.DispatchRequest) -> rules.FreeUnit | None:
    """The built-in nearest rule through the plug-in path (not the dispatcher's fast path)."""
    return rules.nearest(request)


def own_queue_again(request: rules.DispatchRequest) -> rules.FreeUnit | None:
    """The built-in own-queue rule through the plug-in path."""
    return rules.own_queue(request)


def share_over_30(run) -> float:
    """Share of reached matters with a response over 30 minutes."""
    times = [r.response_min for r in run.records if not math.isnan(r.response_min)]
    return sum(t > 30 for t in times) / len(times) if times else math.nan


def shares(run) -> dict[str, float]:
    """Several values at once: named in a sweep as ``...:shares.over_30`` and ``...:shares.patrol``."""
    found = [r for r in run.records if r.channel]
    return {
        "over_30": share_over_30(run),
        "patrol": sum(r.channel == "patrol" for r in found) / len(found) if found else math.nan,
    }


def wrong_unit(request: rules.DispatchRequest) -> rules.FreeUnit | None:
    """A broken rule, for the test of its error: returns a unit it was not given."""
    return dataclasses.replace(request.units[0], uid="nobody") if request.units else None


def camera_near(request) -> np.ndarray:
    """A camera that sees only matters within ``options.radius_km`` of the town's first patch, ``options.delay_min`` later."""
    radius, delay = request.options.get("radius_km", 1.0), request.options.get("delay_min", 5.0)
    x0, y0 = request.options.get("x_km", 0.0), request.options.get("y_km", 0.0)
    near = np.hypot(request.x_km - x0, request.y_km - y0) <= radius
    return np.where(near, request.occurred_min + delay, np.inf)


def camera_too_early(request) -> np.ndarray:
    """A broken channel, for the test of its error: reports before the matter occurs."""
    return request.occurred_min - 1.0
