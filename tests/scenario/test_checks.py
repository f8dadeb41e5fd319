"""Checks across parts of a scenario: warnings for the border lever and per-sector homes."""

from __future__ import annotations

import pytest
import yaml

import sim
from sim.cli import main
from sim.scenario.checks import warnings


def _town(home: str, base: str | None = None, across: bool = False) -> sim.Scenario:
    team = {"name": "team", "units": 4, "home": home, "powers": ["job"], **({"base": base} if base else {})}
    return sim.scenario_from_dict(
        {
            "territory": {"grid": {"rows": 2, "cols": 2, "sectors": [1, 2]}},
            "departments": [team],
            "incident_types": [{"name": "job", "rate_per_day": 1}],
            "governance": {"modes": {"towns": {"based_on": "joint", "dispatch_across_borders": across}}},
        }
    )


def test_a_closed_border_without_units_of_a_sector_has_no_effect():
    found = dict(warnings(_town("bases")))
    assert (
        "no department's units belong to a sector" in found[("governance", "modes", "towns", "dispatch_across_borders")]
    )
    assert not any("dispatch_across_borders" in path for path, _ in warnings(_town("sectors")))


def test_a_base_is_ignored_when_units_live_in_their_sectors():
    found = dict(warnings(_town("sectors_by_load", base="r0c0", across=True)))
    assert "bases the units at their sectors' centres" in found[("departments", "team", "base")]


def test_fewer_units_than_sectors_under_closed_borders_is_flagged():
    data = _town("sectors").model_dump(mode="json")
    data["departments"][0]["units"] = 1
    found = dict(warnings(sim.scenario_from_dict(data)))
    assert "1 units for 2 sectors" in found[("departments", "team", "units")]
    assert ("departments", "team", "units") not in dict(warnings(_town("sectors")))


def _centre(shift, hours=None) -> sim.Scenario:
    instant = {"operators": 2, "operator_shift": shift, **({"centre_hours": hours} if hours else {})}
    return sim.scenario_from_dict(
        {
            "territory": {"grid": {"rows": 2, "cols": 2}},
            "departments": [{"name": "team", "units": 2, "powers": ["job"]}],
            "incident_types": [{"name": "job", "rate_per_day": 1}],
            "governance": {"instant": instant},
        }
    )


def test_a_centre_whose_operators_are_never_on_duty_while_it_is_open_is_flagged():
    path = ("governance", "instant", "operator_shift")
    assert "waits for ever" in dict(warnings(_centre([])))[path]
    mornings = [{"times": ["08:00-12:00"], "units": 2}]
    assert "waits for ever" in dict(warnings(_centre(mornings, {"days": "daily", "times": ["13:00-17:00"]})))[path]
    assert path not in dict(warnings(_centre(mornings, {"days": "daily", "times": ["11:00-17:00"]})))
    assert path not in dict(warnings(_centre("24h")))


def _joined(blocks: dict) -> dict:
    """Two rows of four patches in 1 x 4 blocks (S1 .. S4), some joined into towns."""
    return {
        "territory": {"grid": {"rows": 2, "cols": 4, "sectors": [1, 4], "sector_blocks": blocks}},
        "departments": [{"name": "team", "units": 4, "home": "sectors", "powers": ["job"]}],
        "incident_types": [{"name": "job", "rate_per_day": 1}],
        "governance": {"modes": {"towns": {"based_on": "joint", "dispatch_across_borders": False}}},
    }


@pytest.mark.parametrize(
    "blocks, path, expected",
    [
        ({"west": ["S1", "S5"]}, "territory.grid.sector_blocks.west.1", "unknown block 'S5'; expected a block name"),
        ({"west": ["S1"], "east": ["S1"]}, "territory.grid.sector_blocks.east.0", "already in sector 'west'"),
        ({"S2": ["S1"]}, "territory.grid.sector_blocks.S2", "list S2 in it or choose another name"),
        ({"west": []}, "territory.grid.sector_blocks.west", "at least 1 item"),
    ],
)
def test_a_wrong_join_of_blocks_is_a_clear_error_with_its_line(tmp_path, capsys, blocks, path, expected):
    file = tmp_path / "joined.yaml"
    file.write_text(yaml.safe_dump(_joined(blocks), sort_keys=False), encoding="utf-8")
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if path in line)
    assert expected in line and f"{file}:" in line, err
    assert "Traceback" not in err


def test_a_joined_town_is_one_sector_for_names_elsewhere():
    """Centres and campaigns name the joined town; its blocks' own names are gone."""
    data = _joined({"west": ["S1", "S2"]})
    data["governance"]["centres"] = [
        {"name": "city"},
        {"name": "w", "parent": "city", "serves": {"sectors": ["west"]}},
        {"name": "e", "parent": "city", "serves": {"sectors": ["S3", "S4"]}},
    ]
    assert [c.name for c in sim.scenario_from_dict(data).governance.centres] == ["city", "w", "e"]
    data["governance"]["centres"][1]["serves"] = {"sectors": ["S1"]}
    with pytest.raises(sim.ScenarioError, match="unknown sector 'S1'"):
        sim.scenario_from_dict(data)
