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


@settings(max_examples=80, deadline=None)
@given(weights=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=8), units=st.integers(0, 120))
def test_every_prefix_is_shared_out_by_weight(weights, units):
    """The first n units of the sequence are within two units of each sector's exact share, for every n."""
    seq = sector_sequence(units, weights, len(weights))
    share = np.asarray(weights) / sum(weights)
    counts = np.zeros(len(weights))
    for n, s in enumerate(seq, start=1):
        counts[s] += 1
        assert np.all(np.abs(counts - n * share) < 2), (n, counts, n * share)


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
