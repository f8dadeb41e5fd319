"""How a report travels from whoever found a matter to someone able to dispatch it.

Two channels, one per value of the ``information`` lever:

* :class:`ReferralChain` -- the fragmented way. The report passes from desk to desk; each
  hand-over takes working minutes that only elapse while desks are open, and a forward may go
  to the wrong department, which sends it back (a bounce). This is where half a day goes.
* :class:`SharedChannel` -- the joint and unified way. The finder posts in a shared group; a
  centre that works round the clock decides within minutes.

Both compute a :class:`Delivery` arithmetically from the clock, with no simulated events. The
stages of the story (typed :class:`~sim.engine.trace.TraceEvent` s) are kept only when the run is
traced.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np

from sim.engine.trace import Stage, TraceEvent
from sim.scenario.distributions import sampler
from sim.scenario.schema import InstantSpec, ReferralSpec

__all__ = ["Delivery", "ReferralChain", "SharedChannel", "channel_for"]


class Delivery(NamedTuple):
    """When a report reached someone able to act, and when a unit could be dispatched."""

    reached_min: float
    ready_min: float
    referrals: int = 0
    bounces: int = 0
    stages: tuple[TraceEvent, ...] = ()


class ReferralChain:
    """Desk-to-desk referral with office hours, hand-over times and misrouting."""

    def __init__(self, spec: ReferralSpec, trace: bool = False):
        self.spec = spec
        self.desk = spec.desk_hours.weekly()
        self.handover_min = sampler(spec.handover_min)
        self.trace = trace

    def deliver(self, now: float, source: str, rng: np.random.Generator) -> Delivery:
        """Pass a report found through channel *source* (or ``coordination``) to the owning desk."""
        steps = cast(dict[str, int], self.spec.steps).get(source, 1)  # keyed by channel name
        t, referrals, bounces = now, 0, 0
        stages: list[TraceEvent] = []
        for k in range(steps):
            t = self._handover(t, rng)
            referrals += 1
            if self.trace:
                stages.append(TraceEvent(t, Stage.HANDED_OVER, step=k + 1, steps=steps))
        while steps and rng.random() < self.spec.misroute_probability:
            sent_back = self._handover(t, rng)
            t = self._handover(sent_back, rng)
            referrals += 2
            bounces += 1
            if self.trace:
                stages += [TraceEvent(sent_back, Stage.SENT_BACK), TraceEvent(t, Stage.FORWARDED_AGAIN)]
        return Delivery(t, t, referrals, bounces, tuple(stages))

    def _handover(self, t: float, rng: np.random.Generator) -> float:
        return self.desk.add_open_minutes(t, self.handover_min(rng))


class SharedChannel:
    """A post in the shared group, read by a command centre that dispatches."""

    def __init__(self, spec: InstantSpec, trace: bool = False):
        self.spec = spec
        self.centre = spec.centre_hours.weekly()
        self.report_min = sampler(spec.report_min)
        self.centre_min = sampler(spec.centre_min)
        self.trace = trace

    def deliver(self, now: float, source: str, rng: np.random.Generator) -> Delivery:
        """Post the report, then let the centre decide once it is open."""
        reached = now + self.report_min(rng)
        ready = self.centre.next_open(reached) + self.centre_min(rng)
        if not self.trace:
            return Delivery(reached, ready)
        return Delivery(reached, ready, stages=(TraceEvent(reached, Stage.POSTED), TraceEvent(ready, Stage.CENTRE_DECIDES)))


_CHANNELS = {"referral": (ReferralChain, "referral"), "instant": (SharedChannel, "instant")}


def channel_for(information: str, governance, trace: bool = False) -> ReferralChain | SharedChannel:
    """The channel object for a value of the ``information`` lever (writing stages if *trace*)."""
    cls, attribute = _CHANNELS[information]
    return cls(getattr(governance, attribute), trace)
