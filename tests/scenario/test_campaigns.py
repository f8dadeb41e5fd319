"""The ``campaigns`` section: its calendar, and a user's mistakes as clear errors with file, line and key path."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from sim import ScenarioError, load_scenario
from sim.errors import USER_ERROR_EXIT
from sim.scenario.schema import CampaignSchedule

DAY = 1440.0

BASE = """\
name: tiny
days: 7
territory:
  grid: {rows: 3, cols: 3, sectors: [1, 2], grids: [1, 1]}
departments:
  - name: market
    units: 2
    powers: [food_safety]
incident_types:
  - name: food_safety
    rate_per_day: 6
campaigns:
  - name: food_check
    schedule: {every: week, days: [1]}
    duration_min: 120
    departments: {market: 1}
    sectors: [S2]
    finds_per_unit_hour: {food_safety: 0.5}
    deterrence: {factor: 0.2, decay_days: 7, basis: "assumption: no source figure"}
"""


def _problems(tmp_path: Path, old: str, new: str):
    assert BASE.count(old) == 1, old
    text = BASE.replace(old, new)
    path = tmp_path / "town.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "Traceback" not in str(info.value)
    return text, info.value.problems


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


# --------------------------------------------------------------------------- the calendar


def test_the_base_file_is_valid_and_its_sessions_fall_on_tuesdays(tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text(BASE, encoding="utf-8")
    campaign = load_scenario(path).campaigns[0]
    assert campaign.units == 1
    assert campaign.schedule.starts_min(None, 15 * DAY) == [DAY + 540, 8 * DAY + 540]


def test_weekly_day_sets_and_the_horizon():
    weekdays = CampaignSchedule(every="week", days="weekdays", start="14:30")
    assert weekdays.starts_min(None, 7 * DAY) == [k * DAY + 870 for k in range(5)]
    assert weekdays.starts_min(None, 870) == []  # a session starting at the horizon is not in the run


def test_monthly_days_are_placed_by_the_start_date_and_a_missing_day_is_skipped():
    schedule = CampaignSchedule(every="month", days=[1, 30], start="08:00")
    start = dt.date(2024, 1, 29)  # a Monday; February 2024 has no 30th
    starts = schedule.starts_min(start, 63 * DAY)  # to 1 April 00:00
    dates = [start + dt.timedelta(days=int(t // DAY)) for t in starts]
    assert dates == [dt.date(2024, 1, 30), dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 30)]
    assert all(t % DAY == 480 for t in starts)


def test_dates_are_placed_by_the_start_date():
    schedule = CampaignSchedule(dates=[dt.date(2024, 3, 6), dt.date(2024, 2, 1)], start="09:00")
    assert schedule.starts_min(dt.date(2024, 3, 4), 30 * DAY) == [2 * DAY + 540]


# --------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("{market: 1}", "{markt: 1}", "campaigns.food_check.departments.markt", ["unknown department", "market"]),
        ("{market: 1}", "{market: 3}", "campaigns.food_check.departments.market", ["takes 3 units", "has 2"]),
        ("{food_safety: 0.5}", "{food: 0.5}", "campaigns.food_check.finds_per_unit_hour.food", ["unknown incident"]),
        ("sectors: [S2]", "sectors: [S7]", "campaigns.food_check.sectors.0", ["unknown sector 'S7'", "S1, S2"]),
        ("sectors: [S2]", "grids: [G3]", "campaigns.food_check.grids.0", ["unknown grid 'G3'"]),
        ("sectors: [S2]", "patches: [r5c5]", "campaigns.food_check.patches.0", ["unknown patch 'r5c5'"]),
        ("[1]}", "[1], dates: [2024-03-05]}", "campaigns.food_check.schedule", ["either 'every'"]),
        ("every: week, days: [1]", "every: week", "campaigns.food_check.schedule", ["'days' is missing"]),
        ("every: week, days: [1]", "every: month, days: [0]", "campaigns.food_check.schedule", ["1 to 31"]),
        ("every: week, days: [1]", "every: week, days: [7]", "campaigns.food_check.schedule", ["0 (Monday) to 6"]),
        ("every: week, days: [1]", "every: month, days: [5]", "campaigns.food_check.schedule", ["needs start_date"]),
        ("days: [1]}", "days: [1], start: '25:00'}", "campaigns.food_check.schedule.start", ["HH:MM"]),
        ("days: [1]}", "days: [1], start: 10:00}", "campaigns.food_check.schedule.start", ["in quotes", "'10:00'"]),
        ("duration_min: 120", "duration_min: 2000", "campaigns.food_check.duration_min", ["1440"]),
        ('basis: "assumption: no source figure"', 'basis: ""', "campaigns.food_check.deterrence.basis", ["1"]),
        ("factor: 0.2", "factor: 1.5", "campaigns.food_check.deterrence.factor", ["1 or less"]),
        ("sectors: [S2]", "sectors: [S2]\n    grids: [G1]", "campaigns.food_check", ["one of patches, sectors"]),
    ],
)
def test_a_mistake_names_its_line_key_and_what_was_expected(tmp_path, old, new, key, words):
    text, problems = _problems(tmp_path, old, new)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.path == key
    for word in words:
        assert word in problem.message, (word, problem.message)
    assert problem.line is not None and problem.line >= _line(text, "campaigns:")


def test_two_campaigns_of_one_name_are_refused(tmp_path):
    block = BASE[BASE.index("  - name: food_check") :]
    _, problems = _problems(tmp_path, "campaigns:\n", "campaigns:\n" + block)
    assert any("already used" in p.message for p in problems)


def test_validate_exits_2_with_the_message(tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text(BASE.replace("{market: 1}", "{market: 9}"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == USER_ERROR_EXIT
    assert "campaigns.food_check.departments.market" in done.stderr and "Traceback" not in done.stderr


def test_a_campaign_asking_for_more_units_than_are_on_shift_is_warned_about(tmp_path):
    from sim.scenario.checks import warnings

    text = BASE.replace("    units: 2\n", "    units: 2\n    shift: office_hours\n").replace(
        "days: [1]}", 'days: [1], start: "11:00"}'
    )
    path = tmp_path / "town.yaml"
    path.write_text(text, encoding="utf-8")
    found = [(p, m) for p, m in warnings(load_scenario(path)) if p[0] == "campaigns"]
    assert found == [
        (
            ("campaigns", "food_check", "departments", "market"),
            "asks for 1 units of 'market', but only 0 are on shift at day 1 (Tue) 12:00: the campaign gets those "
            "on shift and response duty none",
        )
    ]
    path.write_text(text.replace('start: "11:00"', 'start: "09:00"'), encoding="utf-8")
    assert not [p for p, _ in warnings(load_scenario(path)) if p[0] == "campaigns"]


def test_a_campaign_with_no_session_in_the_run_is_warned_about(tmp_path):
    """Dates before the run (or a weekday the run never reaches) leave a campaign doing nothing: say so."""
    from sim.scenario.checks import warnings

    path = tmp_path / "town.yaml"
    path.write_text(BASE, encoding="utf-8")
    scenario = load_scenario(path)
    assert not [p for p, _ in warnings(scenario) if p[0] == "campaigns"]  # its Tuesday session is in the run
    before = load_scenario(path, ["start_date=2024-03-04", "campaigns.food_check.schedule={dates: [2023-01-02]}"])
    found = [(p, m) for p, m in warnings(before) if p[0] == "campaigns"]
    assert len(found) == 1 and found[0][0] == ("campaigns", "food_check", "schedule")
    assert f"no session within the run ({before.days:g} days from 2024-03-04)" in found[0][1]
    short = load_scenario(path, ["days=1", "warmup_days=0"])  # Monday only: the Tuesday session never comes
    assert [p for p, _ in warnings(short) if p[0] == "campaigns"] == [("campaigns", "food_check", "schedule")]
