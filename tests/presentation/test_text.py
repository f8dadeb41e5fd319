"""Tests of sim.presentation.text: the utilisation table's rows, many centres of a level as one row."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.presentation.text import utilisation_rows


def test_a_level_of_many_centres_is_one_row_with_median_and_range():
    joint = {"police": 0.5, "centre:city": 0.2, **{f"centre:v{i}": i / 100 for i in range(1, 6)}}
    unified = {"police": 0.4}  # no centres in this mode
    levels = {"centre:city": "city", **{f"centre:v{i}": "village" for i in range(1, 6)}}
    rows = utilisation_rows([joint, unified], levels, many=4)
    assert rows == [
        ("police", ["50%", "40%"]),
        ("centre:city", ["20%", "-"]),
        ("centre:village (5 centres): median (lowest-highest)", ["3% (1-5%)", "-"]),
    ]


def test_a_level_of_few_centres_keeps_a_row_per_centre():
    util = {"centre:a": 0.1, "centre:b": 0.3}
    rows = utilisation_rows([util], {"centre:a": "town", "centre:b": "town"}, many=2)
    assert rows == [("centre:a", ["10%"]), ("centre:b", ["30%"])]
    assert utilisation_rows([util]) == rows  # without levels nothing is grouped


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.integers(0, 45))
def test_every_centre_is_in_exactly_one_row(shares, many):
    util = {f"centre:c{i}": s for i, s in enumerate(shares)}
    rows = utilisation_rows([util], {key: "village" for key in util}, many=many)
    if len(shares) > many:
        assert len(rows) == 1 and rows[0][0].startswith(f"centre:village ({len(shares)} centres)")
        low, high = min(shares), max(shares)
        assert rows[0][1][0].endswith(f"({100 * low:.0f}-{100 * high:.0f}%)")
    else:
        assert [key for key, _ in rows] == list(util)
