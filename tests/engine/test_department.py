"""Units based by sector: who belongs to which town, and the patrols each sector gets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.department import build_roster, sector_centres, sector_sequence
from sim.engine.territory import build_town
from sim.scenario.schema import Department, Territory


def test_in_turn_without_weights_and_with_equal_weights():
    assert sector_sequence(7, None, 3) == [0, 1, 2, 0, 1, 2, 0]
    assert sector_sequence(7, [1.0, 1.0, 1.0], 3) == [0, 1, 2, 0, 1, 2, 0]


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=8), units=st.integers(0, 120))
def test_every_prefix_is_a_sainte_lague_apportionment(weights, units):
    """The first n units of the sequence are Sainte-Laguë's (Webster's) apportionment of n, for every n.

    A count per sector is Webster's apportionment when one divisor d rounds every sector's weight to it:
    c - 1/2 <= w / d <= c + 1/2, i.e. the largest (c - 1/2) / w of the sectors with a unit is at most
    the smallest (c + 1/2) / w. (Not "within two units of the exact share": no divisor method keeps to
    the quota; six sectors of weight 0.5 beside one of 6 get none of six units between them.)
    """
    seq = sector_sequence(units, weights, len(weights))
    w = np.asarray(weights)
    counts = np.zeros(len(weights))
    for n, s in enumerate(seq, start=1):
        counts[s] += 1
        held = counts > 0
        highest_low = np.max((counts[held] - 0.5) / w[held])
        lowest_high = np.min((counts + 0.5) / w)
        assert highest_low <= lowest_high * (1 + 1e-12), (n, counts)
    assert len(seq) == units


def test_many_small_sectors_may_get_none_of_a_few_units():
    """The example no divisor method keeps within two units of quota: all six go to the big sector."""
    assert sector_sequence(6, [6.0] + [0.5] * 6, 7) == [0] * 6
    assert sector_sequence(7, [6.0] + [0.5] * 6, 7) == [0] * 6 + [1]


def test_two_sectors_stay_within_one_unit_of_their_share():
    """With two sectors Webster's apportionment is rounding the share, so no prefix is a unit off."""
    for weights in ([1.0, 3.0], [0.2, 9.0], [5.0, 5.5]):
        counts, share = np.zeros(2), np.asarray(weights) / sum(weights)
        for n, s in enumerate(sector_sequence(60, weights, 2), start=1):
            counts[s] += 1
            assert np.all(np.abs(counts - n * share) <= 1), (weights, n, counts)


def test_units_live_and_patrol_in_their_sector():
    town = build_town(Territory(grid={"rows": 4, "cols": 8, "sectors": [1, 4], "centre_peak": 4.0}))
    team = Department(
        name="team",
        units=24,
        home="sectors_by_load",
        patrols=True,
        shift=[{"times": ["08:00-20:00"], "units": 12}, {"times": ["20:00-08:00"], "units": 12}],
    )
    roster = build_roster(team, town)
    centres = sector_centres(town)
    for unit in roster.units:
        assert town.sector[unit.base] == unit.sector and unit.base == centres[unit.sector]
        assert unit.home_sector == town.sector_names[unit.sector]
    busy = np.bincount(town.sector, weights=town.weights, minlength=4)
    counts = np.bincount([u.sector for u in roster.units], minlength=4)
    assert counts[1] > counts[0] and counts[2] > counts[3]  # the peak is in the middle sectors
    on_day = [steps.value(9 * 60) for steps in roster.patrol_count_in_sector(4)]
    assert on_day == np.bincount([u.sector for u in roster.units[:12]], minlength=4).tolist()
    assert sum(on_day) == 12 and np.argmax(on_day) == np.argmax(busy)
