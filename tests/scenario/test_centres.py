"""Centres declared once per sector or grid (``each``): expansion, parents, the straddling rule, errors."""

from __future__ import annotations

import copy

import pytest
import yaml

import sim
from sim.cli import main
from sim.engine.clock import Clock
from sim.engine.levels import Levels
from sim.engine.territory import build_town
from sim.errors import ScenarioError
from sim.scenario.centres import expand, straddling
from tests.conftest import SCENARIOS


def towns(cols: int = 4, sectors=(1, 2), grids=(1, 4), village: dict | None = None, extra: list | None = None) -> dict:
    """A row of patches, towns by sector (T_S1, T_S2 ...) under a city, and villages per grid."""
    return {
        "name": "towns",
        "days": 2,
        "warmup_days": 1,
        "territory": {"grid": {"rows": 1, "cols": cols, "sectors": list(sectors), "grids": list(grids)}},
        "departments": [
            {"name": "police", "units": 4, "home": "sectors", "powers": ["dispute"]},
            {"name": "sanitation", "units": 4, "home": "sectors", "powers": ["garbage"]},
        ],
        "incident_types": [
            {"name": name, "rate_per_day": 40, "detection": {"hotline": {"probability": 1}}}
            for name in ("dispute", "garbage")
        ],
        "governance": {
            "centres": [
                {"name": "city", "level": "city", "operators": 2},
                {"name": "T", "level": "town", "each": "sector", "parent": "city", "operators": 1},
                {"name": "village", "level": "village", "each": "grid", "operators": 1, "dispatches": ["police"]}
                | (village or {}),
                *(extra or []),
            ],
            "modes": {"joint": {"dispatch_across_borders": False}},
        },
    }


def test_one_centre_per_area_named_after_it_under_the_centre_serving_it_above():
    scenario = sim.scenario_from_dict(towns())
    centres = scenario.governance.centres
    assert [c.name for c in centres] == ["city", "T_S1", "T_S2", "village_G1", "village_G2", "village_G3", "village_G4"]
    assert [c.parent for c in centres] == [None, "city", "city", "T_S1", "T_S1", "T_S2", "T_S2"]
    assert [c.serves.grids for c in centres[3:]] == [["G1"], ["G2"], ["G3"], ["G4"]]
    assert all(c.each is None and c.operators == 1 and c.dispatches == ["police"] for c in centres[3:])


def test_a_village_settles_what_it_may_send_and_passes_the_rest_up_to_its_town():
    """The engine's routing on the expanded centres: police matters stop at the village, the rest go up."""
    scenario = sim.scenario_from_dict(towns())

    levels = Levels(Clock(), scenario.governance, build_town(scenario.territory), 100.0, (0.0, 100.0))
    names = [c.name for c in levels.specs]
    route = {t: [names[k] for k in levels.path(3, t, [frozenset({d})])] for t, d in (("dispute", "police"),)}
    route["garbage"] = [names[k] for k in levels.path(3, "garbage", [frozenset({"sanitation"})])]
    assert route == {"dispute": ["village_G4"], "garbage": ["village_G4", "T_S2"]}


def test_expanding_gives_exactly_the_run_of_the_centres_written_out():
    """An each entry is shorthand: the run is identical, record for record, to the hand-written centres."""
    short = sim.scenario_from_dict(towns())
    data = towns()
    data["governance"]["centres"] = [c.model_dump(exclude={"each"}) for c in short.governance.centres]
    written = sim.scenario_from_dict(data)
    assert short.governance.centres == written.governance.centres
    a, b = sim.run(short, "joint"), sim.run(written, "joint")
    assert [repr(r) for r in a.records] == [repr(r) for r in b.records]  # repr: nan == nan
    assert a.busy_min == b.busy_min and any(key.startswith("centre:village_") for key in a.busy_min)


def test_a_grid_across_two_towns_goes_to_the_one_with_most_of_its_patches():
    """Five columns: S1 holds columns 0-2, S2 columns 3-4; one grid over all five goes to S1's town."""
    data = towns(cols=5, grids=(1, 1))
    data["governance"]["centres"][1:2] = [  # towns listed S2 first: the majority, not the order, decides
        {"name": "east", "parent": "city", "serves": {"sectors": ["S2"]}, "operators": 1},
        {"name": "west", "parent": "city", "serves": {"sectors": ["S1"]}, "operators": 1},
    ]
    scenario = sim.scenario_from_dict(data)
    assert scenario.governance.centres[-1].parent == "west"
    raw = sim.scenario_from_dict(
        data | {"governance": data["governance"] | {"centres": data["governance"]["centres"][:2]}}
    )
    assert raw.governance.centres is not None  # the same territory without the villages
    entries = [
        *raw.governance.centres,
        *(sim.scenario.schema.CentreSpec(**c) for c in data["governance"]["centres"][2:]),
    ]
    assert straddling(entries, raw.territory) == {3: ["G1"]}


def test_a_tie_goes_to_the_centre_listed_first():
    data = towns(cols=4, grids=(1, 1))  # S1 columns 0-1, S2 columns 2-3: two patches each
    data["governance"]["centres"][1:2] = [
        {"name": "east", "parent": "city", "serves": {"sectors": ["S2"]}, "operators": 1},
        {"name": "west", "parent": "city", "serves": {"sectors": ["S1"]}, "operators": 1},
    ]
    assert sim.scenario_from_dict(data).governance.centres[-1].parent == "east"


def test_a_parent_given_is_kept_for_every_centre():
    scenario = sim.scenario_from_dict(towns(village={"parent": "T_S1"}))
    assert {c.parent for c in scenario.governance.centres[3:]} == {"T_S1"}
    with pytest.raises(ScenarioError, match="served by T_S1 and village_G1 at the same level"):
        sim.scenario_from_dict(towns(village={"parent": "city"}))  # a village beside the towns, not under them


def test_an_each_entry_with_no_centre_above_it_makes_top_centres():
    data = towns()
    data["governance"]["centres"] = [{"name": "T", "each": "sector", "operators": 1}]
    centres = sim.scenario_from_dict(data).governance.centres
    assert [(c.name, c.parent) for c in centres] == [("T_S1", None), ("T_S2", None)]


def test_expand_leaves_plain_centres_alone():
    scenario = sim.scenario_from_dict(towns())
    plain = scenario.governance.centres
    assert expand(plain, scenario.territory) == (plain, list(range(len(plain))))


@pytest.mark.parametrize(
    "change, path, expected",
    [
        ({"dispatches": ["polise"]}, "governance.centres.village.dispatches.0", "did you mean 'police'"),
        ({"parent": "citty"}, "governance.centres.village.parent", "unknown centre 'citty'"),
        ({"serves": {"grids": ["G1"]}}, "governance.centres.village", "leave out serves"),
        ({"each": "village"}, "governance.centres.village.each", "expected one of 'sector', 'grid'"),
    ],
)
def test_a_mistake_in_an_each_entry_is_reported_once_at_the_entry(tmp_path, capsys, change, path, expected):
    path_file = tmp_path / "towns.yaml"
    path_file.write_text(yaml.safe_dump(towns(village=change)), encoding="utf-8")
    assert main(["validate", str(path_file)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if path in line]
    assert len(lines) == 1 and expected in lines[0], err
    assert "line " in lines[0] or ":" in lines[0].split(path)[0]
    with pytest.raises(ScenarioError):
        sim.scenario_from_dict(towns(village=change))


def test_a_generated_name_taken_by_another_centre_is_an_error():
    data = towns(extra=[{"name": "village_G2", "parent": "city", "serves": {"grids": ["G2"]}}])
    with pytest.raises(ScenarioError, match="already used"):
        sim.scenario_from_dict(data)


def test_jinjiang_has_19_towns_each_with_its_centre_and_a_sub_centre_per_level_1_grid():
    scenario = sim.load_scenario(SCENARIOS / "jinjiang.yaml")
    town = build_town(scenario.territory)
    assert len(town.sector_names) == 19
    centres = scenario.governance.centres
    by_level = {level: [c for c in centres if c.level == level] for level in ("city", "town", "village")}
    assert [len(v) for v in by_level.values()] == [1, 19, 440]
    assert sorted(s for c in by_level["town"] for s in c.serves.sectors) == sorted(town.sector_names)
    towns_by_name = {c.name: c.serves.sectors[0] for c in by_level["town"]}
    for village in by_level["village"]:  # each village passes up to the town holding most of its patches
        (grid,) = village.serves.grids
        g = town.grid_names.index(grid)
        sectors = [town.patch_sector_names[p] for p in range(town.size) if town.grid[p] == g]
        assert sectors.count(towns_by_name[village.parent]) * 2 >= len(sectors)


def test_the_overview_names_the_joined_blocks(capsys):
    assert main(["validate", str(SCENARIOS / "jinjiang.yaml")]) == 0
    out = capsys.readouterr().out
    assert "sectors: 19 (sectors [4, 5] = 4 x 5 blocks, S19 = S19 + S20;" in out


def test_a_copy_of_the_data_is_not_changed_by_loading():
    data = towns()
    before = copy.deepcopy(data)
    sim.scenario_from_dict(data)
    assert data == before


def test_each_works_on_named_patches_as_a_gis_layer_gives_them():
    """Patches with sector and grid names (what territory.gis reads): one village per grid name, under its town."""
    data = towns()
    data["territory"] = {
        "patches": [
            {"name": f"p{k}", "x_km": k, "y_km": 0, "sector": sector, "grid": grid}
            for k, (sector, grid) in enumerate([("Anhai", "Dongshi"), ("Anhai", "Xinan"), ("Yonghe", "Maying")])
        ]
    }
    centres = sim.scenario_from_dict(data).governance.centres
    assert [(c.name, c.parent) for c in centres[3:]] == [
        ("village_Dongshi", "T_Anhai"),
        ("village_Xinan", "T_Anhai"),
        ("village_Maying", "T_Yonghe"),
    ]


def test_many_centres_never_staffed_are_one_warning():
    """One entry with each: grid and a shift never inside its hours: one line, not one per village."""
    from sim.scenario.checks import warnings

    change = {"operator_shift": [{"times": ["08:00-12:00"], "units": 1}], "centre_hours": {"times": ["13:00-17:00"]}}
    found = [w for w in warnings(sim.scenario_from_dict(towns(village=change))) if "waits for ever" in w[1]]
    assert found == [
        (
            ("governance", "centres"),
            "no operator is ever on duty while these centres are open: village_G1, village_G2, village_G3 and 1 more; "
            "every report they take waits for ever",
        )
    ]


def test_an_area_name_that_is_no_usable_name_gives_a_numbered_centre():
    """A sector named in Chinese (from a GIS column) gives T_1, T_2 ...: centre names stay usable in --set."""
    data = towns()
    data["territory"] = {
        "patches": [{"name": "p0", "x_km": 0, "y_km": 0, "sector": "安海"}, {"name": "p1", "x_km": 1, "y_km": 0}]
    }
    data["governance"]["centres"] = data["governance"]["centres"][:2]
    centres = sim.scenario_from_dict(data).governance.centres
    assert [(c.name, c.serves.sectors) for c in centres[1:]] == [("T_1", ["安海"]), ("T_all", ["all"])]
