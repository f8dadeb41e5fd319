"""The engine against queueing theory: a degenerate town that is an M/M/c queue.

One patch, no travel, instant detection and reporting, Poisson arrivals, exponential service,
``c`` units: the response time is the wait in queue, whose mean Erlang C gives exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.stats.metrics import t_interval
from tests.conftest import queue_scenario


def erlang_c_wait(servers: int, arrivals: float, service_mean: float) -> float:
    """Mean wait in queue of an M/M/c queue (minutes), computed independently of the project."""
    load = arrivals * service_mean
    rho = load / servers
    top = load**servers / math.factorial(servers) / (1 - rho)
    bottom = sum(load**k / math.factorial(k) for k in range(servers)) + top
    prob_wait = top / bottom
    return prob_wait * service_mean / (servers - load)


def replication_means(scenario, replications: int) -> list[float]:
    """Mean response (= queue wait) of each independent replication."""
    means = []
    for output in sim.replicate(scenario, "pooled", replications):
        warm = scenario.warmup_days * 1440
        waits = [r.response_min for r in output.records if r.occurred_min >= warm and not math.isnan(r.response_min)]
        means.append(float(np.mean(waits)))
    return means


@pytest.mark.parametrize(
    "servers, utilisation",
    [(1, 0.7), (3, 0.8), (6, 0.85)],
)
def test_mean_wait_matches_erlang_c(servers, utilisation):
    service_mean = 10.0
    arrivals = utilisation * servers / service_mean
    scenario = queue_scenario(servers, arrivals, service_mean, days=40, warmup_days=3)
    means = replication_means(scenario, 10)
    low, high = t_interval(means, confidence=0.99)
    theory = erlang_c_wait(servers, arrivals, service_mean)
    assert low <= theory <= high, f"Erlang C {theory:.2f} min outside the 99% interval [{low:.2f}, {high:.2f}]"
    assert (high - low) / 2 < 0.15 * theory, "interval too wide to be a real check"


def test_erlang_c_helper_matches_published_value():
    # Larson & Odoni's hypercube example is an M/M/3 at utilisation 0.5: P(wait) = 0.23684.
    load, servers = 1.5, 3
    rho = load / servers
    top = load**servers / math.factorial(servers) / (1 - rho)
    prob_wait = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    assert prob_wait == pytest.approx(0.23684, abs=5e-5)
    assert erlang_c_wait(3, 1.5, 1.0) == pytest.approx(prob_wait / 1.5)
