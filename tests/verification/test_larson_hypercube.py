"""The exact hypercube solver against the published example, hand-solved cases and Erlang's formulas.

Larson and Odoni (*Urban Operations Research*, 1981, section 5.4.3) solve a three-unit city of
10 atoms at utilisation 0.5. The text gives what the chain depends on: unit 1's primary area
carries half the load (0.75 calls per mean service time), unit 2's (atoms 3, 5, 6) 0.35 and
unit 3's 0.40; unit 1 is first backup everywhere outside its own area; inside it, unit 2 backs
up atoms 1 and 2 and unit 3 backs up atom 4. Atoms with the same preference list can be merged
without changing the chain, so the example is four preference classes. The only number not in
the text is how unit 1's 0.75 splits between the two backup orders; 0.50 / 0.25 reproduces the
published workloads to four decimals, and the published f11 = 0.087 then implies atom 1 carries
0.25 (so atoms 1 and 2 carry 0.25 each).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.verification import larson_hypercube as hypercube

# Units 1, 2, 3 of the book are 0, 1, 2 here. Classes: atom 1, atom 2, rest of area 1 (atom 4
# and any other atom backed up by unit 3), area 2 (atoms 3, 5, 6), area 3.
BOOK_RATES = [0.25, 0.25, 0.25, 0.35, 0.40]
BOOK_PREFERENCES = [(0, 1, 2), (0, 1, 2), (0, 2, 1), (1, 0, 2), (2, 0, 1)]


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/c/c, from its definition."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


def erlang_c(servers: int, load: float) -> float:
    """Waiting probability of M/M/c, from its definition."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


@pytest.fixture(scope="module")
def book():
    return hypercube.solve(BOOK_RATES, BOOK_PREFERENCES, service_rate=1.0, queue=True)


def test_book_probability_of_queueing_is_erlang_c(book):
    assert book.p_all_busy == pytest.approx(0.23684, abs=5e-6)
    assert book.p_all_busy == pytest.approx(erlang_c(3, 1.5), rel=1e-10)


def test_book_exact_workloads(book):
    assert book.workloads == pytest.approx([0.5574, 0.4734, 0.4693], abs=5e-5)
    assert book.workloads.sum() == pytest.approx(1.5, rel=1e-10)


def test_book_f11_and_the_state_sets(book):
    p = book.probabilities  # bit i = unit i busy; the book writes states as (unit 3, unit 2, unit 1)
    e11 = p[0b000] + p[0b010] + p[0b100] + p[0b110]
    e21 = p[0b001] + p[0b101]
    share = 0.25 / 1.5
    assert book.dispatch[0, 0] == pytest.approx(share * e11, rel=1e-12)
    assert book.dispatch[1, 0] == pytest.approx(share * e21, rel=1e-12)
    f11 = book.dispatch_all[0, 0]
    assert f11 == pytest.approx(0.087, abs=5e-4)


def test_book_share_outside_primary_area(book):
    # The book prints 0.43529; the exact chain gives 0.435325 (the book's figure is presumably
    # summed from rounded f_nj). Agreement to 4e-5.
    assert hypercube.outside_primary_share(book) == pytest.approx(0.43529, abs=1e-4)


def two_unit_loss(l1: float, l2: float) -> dict:
    """Larson's two-unit model with zero line capacity, solved by hand (mu = 1).

    Unit 1 serves area 1 first, unit 2 area 2; each backs the other up. The number busy is an
    M/M/2/2 chain; balance at "only unit 1 busy" gives P10 = (l1 P0 + P2) / (l + 1).
    """
    lam = l1 + l2
    p0 = 1 / (1 + lam + lam**2 / 2)
    p2 = lam**2 / 2 * p0
    only1 = (l1 * p0 + p2) / (lam + 1)
    only2 = (l2 * p0 + p2) / (lam + 1)
    return {"p0": p0, "p2": p2, "only1": only1, "only2": only2}


@pytest.mark.parametrize("l1, l2", [(0.3, 0.9), (1.0, 1.0), (2.5, 0.4)])
def test_two_units_zero_line_capacity_by_hand(l1, l2):
    hand = two_unit_loss(l1, l2)
    s = hypercube.solve([l1, l2], [(0, 1), (1, 0)], queue=False)
    assert s.probabilities == pytest.approx([hand["p0"], hand["only1"], hand["only2"], hand["p2"]], rel=1e-10)
    assert s.workloads == pytest.approx([hand["only1"] + hand["p2"], hand["only2"] + hand["p2"]], rel=1e-10)
    assert s.p_all_busy == pytest.approx(erlang_b(2, l1 + l2), rel=1e-10)
    # calls from area 1 go to unit 2 exactly when unit 1 alone is busy
    assert s.dispatch[1, 0] == pytest.approx(l1 / (l1 + l2) * hand["only1"], rel=1e-10)


def test_two_units_with_a_queue_by_hand():
    l1, l2 = 0.5, 0.9
    lam, load = l1 + l2, (l1 + l2) / 2
    hand = two_unit_loss(l1, l2)
    scale = 1 / (1 - hand["p2"] + hand["p2"] / (1 - load))  # the all-busy state carries every queue length
    s = hypercube.solve([l1, l2], [(0, 1), (1, 0)], queue=True)
    assert s.probabilities[:3] == pytest.approx(
        [scale * hand["p0"], scale * hand["only1"], scale * hand["only2"]], rel=1e-10
    )
    assert s.p_all_busy == pytest.approx(erlang_c(2, lam), rel=1e-10)
    assert s.dispatch_queued.sum() == pytest.approx(s.p_all_busy, rel=1e-12)


@pytest.mark.parametrize("units, queue", [(4, True), (4, False), (5, True), (6, False)])
def test_any_preferences_reduce_to_erlang(units, queue):
    rng = np.random.default_rng(units)
    atoms = 7
    rates = rng.uniform(0.1, 1.0, atoms)
    rates *= 0.7 * units / rates.sum()
    prefs = np.array([rng.permutation(units) for _ in range(atoms)])
    s = hypercube.solve(rates, prefs, queue=queue)
    load = rates.sum()
    blocking = erlang_c(units, load) if queue else erlang_b(units, load)
    assert s.p_all_busy == pytest.approx(blocking, rel=1e-9)
    served = 1.0 if queue else 1 - blocking
    assert s.workloads.sum() == pytest.approx(load * served, rel=1e-9)
    assert s.dispatch_all.sum() == pytest.approx(served, rel=1e-9)
    # the number of busy units follows the M/M/N birth-death chain whatever the preferences
    busy_count = np.array([bin(b).count("1") for b in range(1 << units)])
    by_count = np.bincount(busy_count, weights=s.probabilities)
    terms = np.array([load**k / math.factorial(k) for k in range(units + 1)])
    if queue:
        terms[-1] /= 1 - load / units
    assert by_count == pytest.approx(terms / terms.sum(), rel=1e-9)


@pytest.mark.parametrize("queue", [True, False])
def test_each_unit_finishes_what_it_is_sent(queue):
    """Dispatch rate to a unit equals its completion rate: lambda sum_j f_ij = mu_i rho_i."""
    rates = [0.4, 0.2, 0.5, 0.3]
    prefs = [(0, 1, 2), (1, 2, 0), (2, 0, 1), (1, 0, 2)]
    mu = [1.0, 1.5, 0.8]
    s = hypercube.solve(rates, prefs, service_rate=mu, queue=queue)
    assert sum(rates) * s.dispatch_all.sum(axis=1) == pytest.approx(np.array(mu) * s.workloads, rel=1e-9)


def test_symmetric_city_has_equal_workloads():
    s = hypercube.solve([0.6, 0.6, 0.6], [(0, 1, 2), (1, 2, 0), (2, 0, 1)])
    assert s.workloads == pytest.approx([0.6] * 3, rel=1e-9)
    own = s.dispatch[[0, 1, 2], [0, 1, 2]].sum() + s.p_all_busy / 3  # queued calls: any unit, one in three is own
    assert hypercube.outside_primary_share(s) == pytest.approx(1 - own, rel=1e-9)


def test_nearest_preferences_and_mean_travel():
    travel = np.array([[1.0, 5.0, 3.0], [2.0, 1.0, 4.0]])
    prefs = hypercube.nearest_preferences(travel)
    assert prefs.tolist() == [[0, 1], [1, 0], [0, 1]]
    s = hypercube.solve([0.1, 0.1, 0.1], prefs, queue=False)
    expected = (s.dispatch * travel).sum() / s.dispatch.sum()
    assert hypercube.mean_travel(s, travel) == pytest.approx(expected)
    assert 1.0 <= hypercube.mean_travel(s, travel) <= 5.0


def test_ties_are_refused():
    with pytest.raises(ValueError, match="equally near"):
        hypercube.nearest_preferences([[1.0, 2.0], [1.0, 3.0]])


@pytest.mark.parametrize(
    "rates, prefs, kwargs, message",
    [
        ([1.0, 1.5], [(0, 1), (1, 0)], {}, "without bound"),
        ([0.5], [(0, 0)], {}, "exactly once"),
        ([0.5, 0.5], [(0, 1)], {}, "one list per atom"),
        ([-0.1], [(0,)], {}, "non-negative"),
        ([0.5], [(0,)], {"service_rate": 0.0}, "positive"),
    ],
)
def test_bad_inputs(rates, prefs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hypercube.solve(rates, prefs, **kwargs)


def test_brute_force_agrees_on_a_small_city():
    """An independent dense solve of the same chain, written out state by state."""
    rates, prefs, units = [0.3, 0.5, 0.2], [(0, 1, 2), (2, 1, 0), (1, 0, 2)], 3
    states = list(itertools.product([0, 1], repeat=units))
    index = {s: k for k, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for s in states:
        for i in range(units):
            if s[i]:
                q[index[s], index[tuple(0 if k == i else v for k, v in enumerate(s))]] += 1.0
        for rate, pref in zip(rates, prefs):
            free = [u for u in pref if not s[u]]
            if free:
                q[index[s], index[tuple(1 if k == free[0] else v for k, v in enumerate(s))]] += rate
    q -= np.diag(q.sum(axis=1))
    a = np.vstack([q.T, np.ones(len(states))])
    pi = np.linalg.lstsq(a, np.r_[np.zeros(len(states)), 1.0], rcond=None)[0]
    solved = hypercube.solve(rates, prefs, queue=False)
    for s, p in zip(states, pi):
        assert solved.probabilities[sum(bit << i for i, bit in enumerate(s))] == pytest.approx(p, abs=1e-12)
