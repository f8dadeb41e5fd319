"""Named, independent random streams for one run, spawned from one seed.

Each stochastic source gets its own :class:`numpy.random.Generator`, spawned from a
:class:`numpy.random.SeedSequence` in a fixed order. The incident streams (``arrivals``,
``detection``, ``service``) are consumed before any way of working is applied, so every mode
of a replication faces the same incidents: common random numbers by construction.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "RandomStreams", "replication_seed"]

STREAMS = (
    "arrivals",
    "detection",
    "service",
    "repatrol",
    "leave",
    "information",
    "travel",
    "escalation",
    "grid",
    "loop",
    "rounds",
    "reopen",
    "duplicates",
    "competence",
    "lifetime",
    "campaigns",
    "levels",
    "leaders",
    "channels",
)
"""Stream names, in spawn order (append only: reordering changes every result)."""


class RandomStreams:
    """One generator per stream name, e.g. ``streams.arrivals``."""

    # Set in __init__ from STREAMS, one per name.
    arrivals: np.random.Generator
    detection: np.random.Generator
    service: np.random.Generator
    repatrol: np.random.Generator
    leave: np.random.Generator
    information: np.random.Generator
    travel: np.random.Generator
    escalation: np.random.Generator
    grid: np.random.Generator
    loop: np.random.Generator
    rounds: np.random.Generator
    reopen: np.random.Generator
    duplicates: np.random.Generator
    competence: np.random.Generator
    lifetime: np.random.Generator
    campaigns: np.random.Generator
    levels: np.random.Generator
    leaders: np.random.Generator
    channels: np.random.Generator

    def __init__(self, seed: np.random.SeedSequence):
        self._seeds: dict[str, np.random.SeedSequence] = {}
        for name, child in zip(STREAMS, seed.spawn(len(STREAMS))):
            self._seeds[name] = child
            setattr(self, name, np.random.Generator(np.random.PCG64(child)))

    def child(self, name: str, *key: int) -> np.random.Generator:
        """A generator of its own under stream *name* for *key* (e.g. an incident type and a channel).

        It is ``SeedSequence(entropy, spawn_key=stream's key + key)``: independent of the stream's
        own draws and of every other key, whatever else is drawn or in what order.
        """
        seed = self._seeds[name]
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *key)))
        )


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of replication *replication* of base seed *seed* (``SeedSequence.spawn``)."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))
