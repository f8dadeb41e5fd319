"""Random streams: replication seeds are SeedSequence children, streams are reproducible and independent."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.rng import STREAMS, RandomStreams, replication_seed


def _state(generator: np.random.Generator) -> dict:
    return generator.bit_generator.state


@pytest.mark.parametrize("seed, replication", [(0, 0), (7, 3), (2**63, 41)])
def test_a_replication_seed_is_the_child_seedsequence_spawn_gives(seed, replication):
    """``replication_seed(s, r)`` is the r-th child of ``SeedSequence(s)``: same entropy, same spawn key, same state."""
    child = np.random.SeedSequence(seed).spawn(replication + 1)[replication]
    ours = replication_seed(seed, replication)
    assert (ours.entropy, ours.spawn_key) == (child.entropy, child.spawn_key) == (seed, (replication,))
    assert np.array_equal(ours.generate_state(8), child.generate_state(8))


def test_each_stream_is_the_matching_grandchild():
    """Stream i of replication r is ``SeedSequence(s, spawn_key=(r, i))``, in the order of STREAMS."""
    streams = RandomStreams(replication_seed(11, 2))
    for i, name in enumerate(STREAMS):
        expected = np.random.Generator(np.random.PCG64(np.random.SeedSequence(11, spawn_key=(2, i))))
        assert _state(getattr(streams, name)) == _state(expected), name


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), replication=st.integers(0, 10_000))
def test_the_same_seed_gives_the_same_streams(seed, replication):
    one, two = RandomStreams(replication_seed(seed, replication)), RandomStreams(replication_seed(seed, replication))
    for name in STREAMS:
        assert np.array_equal(getattr(one, name).random(16), getattr(two, name).random(16)), name


def test_streams_differ_and_are_uncorrelated():
    """Within a replication and across replications, no two streams repeat each other: 100,000
    uniforms from any two have a correlation within 5 standard errors (1/sqrt(n)) of 0."""
    n = 100_000
    draws = {}
    for replication in (0, 1):
        streams = RandomStreams(replication_seed(7, replication))
        for name in STREAMS:
            draws[(replication, name)] = getattr(streams, name).random(n)
    for a, b in itertools.combinations(draws, 2):
        assert not np.array_equal(draws[a][:100], draws[b][:100]), (a, b)
        assert abs(np.corrcoef(draws[a], draws[b])[0, 1]) < 5 / math.sqrt(n), (a, b)


def test_different_base_seeds_give_different_streams():
    assert not np.array_equal(
        RandomStreams(replication_seed(1, 0)).arrivals.random(8),
        RandomStreams(replication_seed(2, 0)).arrivals.random(8),
    )


def test_stream_names_are_unique_and_the_incident_streams_come_first():
    """The incident streams are spawned first, so streams added later cannot change the incidents."""
    assert len(set(STREAMS)) == len(STREAMS)
    assert STREAMS[:3] == ("arrivals", "detection", "service")
