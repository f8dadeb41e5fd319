"""The generated grid's sectors: blocks, and towns joined from several blocks (``sector_blocks``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.territory import build_town
from sim.scenario.centres import patch_areas
from sim.scenario.schema import Territory


def test_joined_blocks_are_one_sector_named_once_in_the_order_of_their_first_block():
    grid = {"rows": 4, "cols": 6, "sectors": [2, 3], "sector_blocks": {"east": ["S3", "S6"], "mid": ["S5"]}}
    town = build_town(Territory(grid=grid))
    assert town.sector_names == ("S1", "S2", "east", "S4", "mid")
    blocks = build_town(Territory(grid={**grid, "sector_blocks": None}))
    joined = {"S3": "east", "S6": "east", "S5": "mid"}
    expected = [joined.get(blocks.sector_names[b], blocks.sector_names[b]) for b in blocks.sector]
    assert list(town.patch_sector_names) == expected
    assert town.patches_in_sector().tolist() == [4, 4, 8, 4, 4]


def test_without_joins_the_sectors_are_the_blocks_as_before():
    town = build_town(Territory(grid={"rows": 5, "cols": 7, "sectors": [2, 3]}))
    rows, cols = np.divmod(np.arange(35), 7)
    assert town.sector.tolist() == (rows * 2 // 5 * 3 + cols * 3 // 7).tolist()
    assert town.sector_names == ("S1", "S2", "S3", "S4", "S5", "S6")


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    data=st.data(),
)
def test_the_checks_and_the_engine_name_every_patch_alike(rows, cols, data):
    """The checks' areas (scenario layer) and the engine's town agree on every patch's sector and grid."""
    shape = (data.draw(st.integers(1, rows)), data.draw(st.integers(1, cols)))
    grids = (data.draw(st.integers(1, rows)), data.draw(st.integers(1, cols)))
    blocks = [f"S{k + 1}" for k in range(shape[0] * shape[1])]
    members = data.draw(st.lists(st.sampled_from(blocks), unique=True, max_size=len(blocks)))
    cut = data.draw(st.integers(0, len(members)))
    joins = {name: part for name, part in (("a", members[:cut]), ("b", members[cut:])) if part}
    territory = Territory(grid={"rows": rows, "cols": cols, "sectors": shape, "grids": grids, "sector_blocks": joins})
    town = build_town(territory)
    sector_of, grid_of, sector_names, grid_names = patch_areas(territory)
    assert list(town.patch_sector_names) == sector_of
    assert [town.grid_names[g] for g in town.grid] == grid_of
    assert list(town.sector_names) == sector_names and list(town.grid_names) == grid_names
