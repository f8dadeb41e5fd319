"""Detection channels plugged in by name: when a grid worker, the hotline or a camera reports each matter.

Each matter's report time by each channel is drawn up front, once per replication
(:func:`sim.engine.incidents.generate_incidents`). By default a channel fires with its
``probability`` after a ``delay_min`` drawn from the ``detection`` stream. A scenario may instead
name a **channel draw** for a channel of an incident type::

    detection:
      camera: {draw: "mypkg.cameras:near_the_square", options: {radius_km: 0.8}, hours: {...}}

``draw`` is a registered name (the built-in ``delayed``, or an entry point of the group
``town_sim.detection_channels``) or a dotted path ``module:function`` (:mod:`sim.registry`). The
function receives a :class:`ChannelRequest` -- every incident of the type at once, the channel's
spec, and a random generator of its own -- and returns, per incident, the minute the channel would
report it (``inf``: never). The engine then holds a report that falls outside the channel's
``hours`` until they open, as for the built-in draw.

Common random numbers: the generator is spawned from the ``channels`` stream for this incident type
and channel alone, and the built-in draw is still made (and set aside), so plugging a channel
changes that channel's reports and nothing else, and every mode of a replication sees the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sim.scenario.distributions import sample

__all__ = ["ChannelRequest", "ChannelDraw", "delayed", "check_reports"]


@dataclass(frozen=True, eq=False)
class ChannelRequest:
    """What a channel draw sees: every incident of one type, and the channel's spec.

    Attributes
    ----------
    channel:
        Which channel: ``grid_worker``, ``hotline`` or ``camera`` (its reports travel that channel's route).
    incident_type:
        The incident type's name.
    occurred_min:
        Occurrence minutes, shape (n,), sorted.
    patch:
        Patch numbers, shape (n,).
    x_km, y_km:
        The centres of those patches, km, shape (n,).
    probability:
        The spec's ``probability`` (a draw may use it or not).
    delay_min:
        The spec's ``delay_min`` distribution (draw with :func:`sim.scenario.distributions.sample`).
    options:
        The spec's ``options``: anything the draw needs, from the scenario file.
    rng:
        The draw's own generator (never another stream).
    """

    channel: str
    incident_type: str
    occurred_min: np.ndarray
    patch: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    probability: float
    delay_min: Any
    options: Mapping[str, Any]
    rng: np.random.Generator

    def __len__(self) -> int:
        """The number of incidents."""
        return len(self.occurred_min)


class ChannelDraw(Protocol):
    """What a channel draw is: per incident, the minute of its report (``inf``: never)."""

    def __call__(self, request: ChannelRequest) -> np.ndarray:
        """Report minutes, shape (n,), each at or after the occurrence, or ``inf``."""
        ...


def delayed(request: ChannelRequest) -> np.ndarray:
    """The built-in channel: reports with ``probability``, ``delay_min`` after the occurrence (``draw: delayed``).

    The same law as the default draw, from the channel's own generator (the default draws from the
    shared ``detection`` stream, so the two give different, equally distributed, reports).
    """
    n = len(request)
    fires = request.rng.random(n) < request.probability
    at = request.occurred_min + sample(request.delay_min, request.rng, n)
    return np.where(fires, at, np.inf)


def check_reports(name: str, reports, occurred_min: np.ndarray) -> np.ndarray:
    """The report minutes a draw returned, as floats; a clear error if they are not one per incident, at or after it.

    Raises
    ------
    ValueError
        Naming the draw and what is wrong.
    """
    out = np.asarray(reports, dtype=float)
    if out.shape != occurred_min.shape:
        raise ValueError(f"detection channel '{name}' returned shape {out.shape}; expected {occurred_min.shape}")
    if np.isnan(out).any() or (out < occurred_min).any():
        raise ValueError(
            f"detection channel '{name}' reported a matter before it occurred (or nan); expected >= occurred_min or inf"
        )
    return out
