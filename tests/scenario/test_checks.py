"""Checks across parts of a scenario: warnings for the border lever and per-sector homes."""

from __future__ import annotations

import sim
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
