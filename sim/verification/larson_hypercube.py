"""Larson's hypercube queueing model: the exact answer for a small town with fixed dispatch preferences.

A town is cut into *atoms* (here: patches), each an independent Poisson source of calls. ``N``
units each wait at a fixed post when free. The dispatcher sends a call from atom ``j`` to the
first free unit on that atom's preference list (the nearest free unit, when the list is the
order of travel times). Service (travel included) is exponential. The state of the town is
which units are busy, a corner of the ``N``-dimensional unit cube; the ``2^N`` corners form a
continuous-time Markov chain whose balance equations are solved here exactly, with numpy and
scipy (Larson 1974; Larson and Odoni, *Urban Operations Research*, 1981, section 5.4).

Calls that find every unit busy either wait in one first-come-first-served queue (``queue=True``,
infinite line capacity: the busy set stays "all busy" and the queue is a birth-death chain on
top of it) or are lost to a backup service (``queue=False``, zero line capacity).

Units are numbered from 0; bit ``i`` of a state is 1 when unit ``i`` is busy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

__all__ = [
    "HypercubeSolution",
    "solve",
    "nearest_preferences",
    "mean_travel",
    "outside_primary_share",
]

MAX_UNITS = 16
"""Largest fleet solved (2^16 states); the chain grows as 2^N."""


@dataclass(frozen=True, eq=False)
class HypercubeSolution:
    """The steady state of a hypercube model and the performance measures that follow from it.

    Attributes
    ----------
    rates:
        Call rate of each atom (calls per unit of time).
    preferences:
        Shape (atoms, units): the order in which units are asked for a call from each atom.
    service_rate:
        Service rate of each unit (1 / mean busy time per call).
    queue:
        True for infinite line capacity, False for zero line capacity (calls lost).
    probabilities:
        Probability of each busy set, indexed by state (bit ``i`` = unit ``i`` busy). Under
        ``queue=True`` the all-busy state holds the mass of every queue length.
    p_all_busy:
        Probability that a call finds every unit busy: it queues (``queue=True``, Erlang C for
        equal service rates) or is lost (``queue=False``, Erlang B).
    workloads:
        Fraction of time each unit is busy.
    dispatch:
        Shape (units, atoms): fraction of all calls that send unit ``i`` to atom ``j`` without
        waiting (Larson's f_nj restricted to calls that find a unit free).
    dispatch_queued:
        Shape (units, atoms): fraction of all calls that wait in the queue and are then served
        by unit ``i`` (zero under ``queue=False``).
    """

    rates: np.ndarray
    preferences: np.ndarray
    service_rate: np.ndarray
    queue: bool
    probabilities: np.ndarray
    p_all_busy: float
    workloads: np.ndarray
    dispatch: np.ndarray
    dispatch_queued: np.ndarray

    @property
    def units(self) -> int:
        """Number of units."""
        return len(self.service_rate)

    @property
    def dispatch_all(self) -> np.ndarray:
        """Fraction of all calls that send unit ``i`` to atom ``j``, waiting or not (Larson's f_nj)."""
        return self.dispatch + self.dispatch_queued


def solve(rates, preferences, service_rate=1.0, queue: bool = True) -> HypercubeSolution:
    """Solve the hypercube model exactly.

    Parameters
    ----------
    rates:
        Call rate of each atom; the total must be below the fleet's service capacity when
        ``queue`` is True.
    preferences:
        For each atom, every unit number once, in the order the dispatcher asks them.
    service_rate:
        One rate for every unit, or one per unit.
    queue:
        Whether calls that find all units busy wait (True) or are lost (False).

    Returns
    -------
    HypercubeSolution
        State probabilities, workloads and dispatch fractions.

    Raises
    ------
    ValueError
        If the inputs are inconsistent or the queue would grow without bound.
    """
    rates, prefs, mu = _validated(rates, preferences, service_rate)
    first_free = _first_free(prefs, len(mu))
    loss = _stationary(_generator(rates, first_free, mu))
    total = rates.sum()
    if queue:
        load = total / mu.sum()
        if load >= 1:
            raise ValueError(f"offered load {load:.3f} of capacity: the queue grows without bound")
        probabilities = loss.copy()
        probabilities[-1] /= 1.0 - load
        probabilities /= probabilities.sum()
    else:
        probabilities = loss
    return _measures(rates, prefs, mu, queue, probabilities, first_free)


def nearest_preferences(travel) -> np.ndarray:
    """Preference lists that ask units in order of travel time to each atom.

    Parameters
    ----------
    travel:
        Shape (units, atoms): travel time from each unit's post to each atom.

    Returns
    -------
    numpy.ndarray
        Shape (atoms, units): unit numbers, nearest first.

    Raises
    ------
    ValueError
        If two units are equally near an atom (the order would be arbitrary).
    """
    travel = np.asarray(travel, dtype=float)
    order = np.argsort(travel.T, axis=1, kind="stable")
    ranked = np.take_along_axis(travel.T, order, axis=1)
    gaps = np.diff(ranked, axis=1)
    if np.any(gaps <= 1e-9 * np.maximum(1.0, np.abs(ranked[:, 1:]))):
        raise ValueError("two units are equally near an atom; nearest dispatch would break the tie arbitrarily")
    return order


def mean_travel(solution: HypercubeSolution, travel) -> float:
    """Mean travel time of calls that find a unit free (travel from the unit's post).

    Parameters
    ----------
    solution:
        A solved model.
    travel:
        Shape (units, atoms): travel time from each unit's post to each atom.
    """
    f = solution.dispatch
    return float((f * np.asarray(travel, dtype=float)).sum() / f.sum())


def outside_primary_share(solution: HypercubeSolution, queued: bool = True) -> float:
    """Share of dispatches that send a unit outside its primary response area.

    A unit's primary response area is the set of atoms that ask it first. With ``queued``,
    calls served from the queue count as dispatches too (Larson and Odoni's definition).
    """
    f = solution.dispatch_all if queued else solution.dispatch
    primary = np.zeros_like(f, dtype=bool)
    primary[solution.preferences[:, 0], np.arange(f.shape[1])] = True
    return float(f[~primary].sum() / f.sum())


# --------------------------------------------------------------------------- the chain


def _validated(rates, preferences, service_rate) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rates = np.asarray(rates, dtype=float)
    prefs = np.asarray(preferences, dtype=int)
    if rates.ndim != 1 or rates.size == 0 or np.any(rates < 0) or rates.sum() <= 0:
        raise ValueError("rates must be a non-empty list of non-negative numbers, not all zero")
    if prefs.ndim != 2 or prefs.shape[0] != rates.size:
        raise ValueError(f"preferences must have one list per atom ({rates.size}), got shape {prefs.shape}")
    units = prefs.shape[1]
    if not 1 <= units <= MAX_UNITS:
        raise ValueError(f"between 1 and {MAX_UNITS} units are supported, got {units}")
    if np.any(np.sort(prefs, axis=1) != np.arange(units)):
        raise ValueError("each preference list must name every unit exactly once")
    mu = np.broadcast_to(np.asarray(service_rate, dtype=float), (units,)).copy()
    if np.any(mu <= 0):
        raise ValueError("service rates must be positive")
    return rates, prefs, mu


def _first_free(prefs: np.ndarray, units: int) -> np.ndarray:
    """Shape (states, atoms): the unit a call from each atom gets in each state (-1 if none is free)."""
    states = np.arange(1 << units)
    out = np.full((states.size, prefs.shape[0]), -1)
    for rank in range(units - 1, -1, -1):
        unit = prefs[:, rank]
        free = (states[:, None] >> unit[None, :]) & 1 == 0
        out = np.where(free, unit[None, :], out)
    return out


def _generator(rates: np.ndarray, first_free: np.ndarray, mu: np.ndarray) -> sparse.csr_matrix:
    """The transition-rate matrix of the busy set (zero line capacity: all-busy has no arrivals)."""
    n_states, units = first_free.shape[0], mu.size
    states = np.arange(n_states)
    rows, cols, vals = [], [], []
    for i in range(units):
        busy = states[(states >> i) & 1 == 1]
        rows.append(busy)
        cols.append(busy & ~(1 << i))
        vals.append(np.full(busy.size, mu[i]))
    for j, rate in enumerate(rates):
        to = first_free[:, j]
        ok = to >= 0
        rows.append(states[ok])
        cols.append(states[ok] | (1 << to[ok]))
        vals.append(np.full(ok.sum(), rate))
    q = sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_states, n_states)
    )
    q = q.tocsr()
    return q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())


def _stationary(q: sparse.csr_matrix) -> np.ndarray:
    """Solve pi Q = 0 with sum(pi) = 1 (one balance equation replaced by the normalisation)."""
    a = q.T.tolil()
    a[0, :] = 1.0
    b = np.zeros(q.shape[0])
    b[0] = 1.0
    pi = np.asarray(spsolve(a.tocsc(), b)).ravel() if q.shape[0] > 1 else np.ones(1)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _measures(rates, prefs, mu, queue, probabilities, first_free) -> HypercubeSolution:
    """Workloads and dispatch fractions from the state probabilities."""
    units, total = mu.size, rates.sum()
    states = np.arange(probabilities.size)
    busy = (states[:, None] >> np.arange(units)[None, :]) & 1
    workloads = probabilities @ busy
    all_busy = float(probabilities[-1])
    dispatch = np.zeros((units, rates.size))
    for j, rate in enumerate(rates):
        ok = first_free[:, j] >= 0
        np.add.at(dispatch[:, j], first_free[ok, j], probabilities[ok] * rate / total)
    queued = np.zeros_like(dispatch)
    if queue:
        queued = np.outer(mu / mu.sum(), rates / total) * all_busy
    return HypercubeSolution(rates, prefs, mu, queue, probabilities, all_busy, workloads, dispatch, queued)
