"""The project against a peer simulator, Ciw: the same M/M/c queue and a two-class priority queue.

Ciw (a test-only dependency) runs each queue with the same rates, servers, horizon, warm-up and
drain; a comparison passes when the 99% interval of the difference of the two means holds 0.
These use other queues and seeds than ``python -m sim verify``.
"""

from __future__ import annotations

import math

import ciw
import numpy as np

from sim.verification import checks as validation
from sim.verification.checks import QUICK


def _failures(rows) -> str:
    bad = [r for r in rows if not r.passed]
    return "\n".join(f"{r.quantity} ({r.reference}): {r.status} {r.expected:.4g} vs {r.simulated:.4g}" for r in bad)


def test_mmc_agrees_with_ciw():
    rows = validation.check_mmc(QUICK, seed=9001, servers=2, rho=0.6, peer=True)
    peer = [r for r in rows if r.reference == "Ciw"]
    assert [r.quantity for r in peer] == ["mean wait, min", "P(wait > 10 min)"]
    assert all(r.passed for r in rows), _failures(rows)


def test_priority_agrees_with_ciw_and_cobham():
    rows = validation.check_priority(QUICK, seed=9002, servers=2, rho=0.6)
    assert {r.reference for r in rows} == {"Ciw", "Cobham"}
    assert all(r.passed for r in rows), _failures(rows)
    urgent, routine = (r.simulated for r in rows if r.reference == "Cobham")
    assert urgent < routine / 2, "priority 1 must wait much less than priority 3"


def test_ciw_itself_matches_erlang_c():
    """The peer earns trust the same way: its M/M/2 wait against Erlang C."""
    means = []
    for rep in range(30):
        ciw.seed(rep)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(0.12)],
            service_distributions=[ciw.dists.Exponential(0.1)],
            number_of_servers=[2],
        )
        simulation = ciw.Simulation(network)
        simulation.simulate_until_max_time(20_000)
        waits = [r.waiting_time for r in simulation.get_all_records() if 2_000 <= r.arrival_date < 18_000]
        means.append(np.mean(waits))
    estimate = validation.mean_estimate(means)
    theory = validation.mmc_wait(2, 0.12, 10)
    assert estimate.low <= theory <= estimate.high
    assert estimate.relative_half_width < 0.15


def test_missing_ciw_is_reported_not_skipped(monkeypatch):
    def no_ciw(r):
        raise ImportError("No module named 'ciw'")

    mine = {"wait": np.array([1.0, 1.1, 0.9])}
    rows = validation._peer_rows("Ciw", "M/M/1", mine, no_ciw, [("wait", "mean wait, min")], QUICK)
    assert [r.status for r in rows] == ["not run"]
    assert "not installed" in rows[0].note and math.isnan(rows[0].expected)
