"""Bad input to the scenario loader: every user mistake is one clear problem, never a traceback.

Each test writes a small scenario with a known mistake and checks the problem names the file,
the exact line, the key path as ``--set`` takes it (list items by name), what was expected and
what was given.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim import ScenarioError, load_scenario, scenario_from_dict
from sim.errors import USER_ERROR_EXIT, Problem
from sim.io.loader import MAX_NODES, apply_overrides, parse_yaml, read_yaml
from tests.conftest import SCENARIOS

CLASSROOM = SCENARIOS / "classroom.yaml"

BASE = """\
name: tiny
seed: 7
days: 7
warmup_days: 1
territory:
  grid: {rows: 3, cols: 3}
departments:
  - name: enforcement
    units: 2
    base: r1c1
    shift: day_night
    powers: [street_vending]
  - name: sanitation
    units: 2
    base: r2c0
    shift: 24h
    powers: [garbage_overflow]
incident_types:
  - name: garbage_overflow
    rate_per_day: 6
    service_min: {dist: lognormal, mean: 15, cv: 0.5}
  - name: street_vending
    rate_per_day: 5
    detection:
      hotline: {probability: 0.5, hours: {times: ["08:00-20:00"]}}
"""


# --------------------------------------------------------------------------- helpers


def write(tmp_path: Path, text: str, name: str = "town.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edit(old: str, new: str, text: str = BASE) -> str:
    """BASE with one exact fragment replaced (the fragment must occur once)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the *nth* line containing *needle*."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, needle
    return hits[nth - 1]


def problems_of(path: Path, overrides=()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    problems = info.value.problems
    assert problems and all(isinstance(p, Problem) for p in problems)
    assert "Traceback" not in str(info.value)
    return problems


def only_problem(path: Path, overrides=()) -> Problem:
    problems = problems_of(path, overrides)
    assert len(problems) == 1, problems
    return problems[0]


def assert_words(message: str, *words: str) -> None:
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# --------------------------------------------------------------------------- the good case


def test_base_and_classroom_are_valid(tmp_path):
    assert load_scenario(write(tmp_path, BASE)).name == "tiny"
    assert load_scenario(CLASSROOM).name == "classroom"


def test_problem_str_names_file_line_and_path():
    problem = Problem("town.yaml", 12, "departments.sanitation.units", "expected a whole number; got 'lots'")
    assert str(problem) == "town.yaml:12: departments.sanitation.units: expected a whole number; got 'lots'"
    assert str(Problem("town.yaml", None, "", "file not found")) == "town.yaml: file not found"
    assert USER_ERROR_EXIT == 2


# --------------------------------------------------------------------------- the file itself


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    problem = only_problem(path)
    assert problem.source == str(path)
    assert problem.line is None and problem.path == ""
    assert_words(problem.message, "not found")


def test_folder_instead_of_file(tmp_path):
    problem = only_problem(tmp_path)
    assert problem.source == str(tmp_path)
    assert_words(problem.message, "folder", "expected")


def test_file_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.io.loader.MAX_FILE_BYTES", 100)
    path = write(tmp_path, BASE)
    problem = only_problem(path)
    assert problem.source == str(path)
    assert_words(problem.message, "bytes", "at most 100")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    assert_words(only_problem(path).message, "not UTF-8")


def test_control_character_names_its_line(tmp_path):
    path = write(tmp_path, "name: tiny\nseed: 7\ndescription: a\x00b\n")
    problem = only_problem(path)
    assert (problem.source, problem.line) == (str(path), 3)
    assert_words(problem.message, "#x0000", "not allowed")


def test_yaml_syntax_error(tmp_path):
    text = edit("days: 7\n", "days: 7: 3\n")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert problem.source == str(path)
    assert problem.line == line_of(text, "days: 7: 3")
    assert_words(problem.message, "YAML syntax error", "mapping values are not allowed")


def test_unclosed_bracket(tmp_path):
    text = edit("powers: [garbage_overflow]\n", "powers: [garbage_overflow\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line is not None and problem.line >= line_of(text, "powers: [garbage_overflow")
    assert_words(problem.message, "YAML syntax error", "']'")


def test_tab_indentation_says_use_spaces(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: 2\n\tbase: r2c0")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "\tbase: r2c0")
    assert_words(problem.message, "tab")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert problem.source == str(path)
    assert_words(problem.message, "empty", "expected a scenario")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- name: a\n- name: b\n", "a list"), ("just some words\n", "text"), ("42\n", "a number")],
)
def test_non_mapping_document(tmp_path, text, kind):
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.source, problem.line, problem.path) == (str(path), 1, "")
    assert_words(problem.message, "expected a scenario", "mapping", f"got {kind}")


def test_second_document_is_refused(tmp_path):
    text = BASE + "---\nname: other\n"
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "---")
    assert_words(problem.message, "single document")


# --------------------------------------------------------------------------- safe YAML


def test_python_tag_is_rejected_without_running(tmp_path):
    marker = tmp_path / "executed"
    text = edit("name: tiny\n", f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert not marker.exists()
    assert (problem.source, problem.line, problem.path) == (str(path), 1, "name")
    assert_words(problem.message, "!!python/object/apply:os.system", "not allowed", "plain values")


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/new:os.system ["echo hi"]',
        "!!python/name:os.system",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!custom 3",
    ],
)
def test_other_tags_are_rejected(tmp_path, tagged):
    text = edit("seed: 7\n", f"seed: {tagged}\n")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "seed:"), "seed")
    assert_words(problem.message, "not allowed")


def test_python_tag_as_whole_document(tmp_path):
    problem = only_problem(write(tmp_path, '!!python/object/apply:os.system ["echo hi"]\n'))
    assert problem.line == 1
    assert_words(problem.message, "not allowed")


def test_billion_laughs_fails_fast(tmp_path):
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"lol{i}: &l{i} [{refs}]")
    text = "\n".join(lines) + "\n"
    path = write(tmp_path, text)
    start = time.process_time()  # CPU time of this process, which parses: not inflated by a busy machine
    problem = only_problem(path)
    assert time.process_time() - start < 10
    assert problem.source == str(path)
    assert problem.path.startswith("lol")
    assert problem.line == line_of(text, f"{problem.path}: ")
    assert_words(problem.message, f"more than {MAX_NODES:,} values", "aliases")


def test_alias_inside_its_own_anchor(tmp_path):
    text = "name: tiny\nloop: &a [1, *a]\n"
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (2, "loop")
    assert_words(problem.message, "alias", "contains it")


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting(tmp_path, depth):
    text = "name: tiny\ndeep: " + "[" * depth + "]" * depth + "\n"
    problem = only_problem(write(tmp_path, text))
    assert problem.line == 2
    assert_words(problem.message, "nesting", "64")


def test_duplicate_keys_are_all_reported(tmp_path):
    text = edit("seed: 7\n", "seed: 7\nseed: 8\n")
    text = edit("    units: 2\n    base: r2c0", "    units: 2\n    units: 3\n    base: r2c0", text)
    path = write(tmp_path, text)
    first, second = problems_of(path)
    assert (first.source, first.line, first.path) == (str(path), line_of(text, "seed: 8"), "seed")
    assert_words(first.message, "duplicate key 'seed'", f"line {line_of(text, 'seed: 7')}")
    assert (second.line, second.path) == (line_of(text, "units: 3"), "departments.1.units")
    assert_words(second.message, "duplicate key 'units'")


def test_merge_key_lets_own_keys_win(tmp_path):
    text = edit(
        "  - name: sanitation\n    units: 2\n    base: r2c0\n    shift: 24h\n    powers: [garbage_overflow]\n",
        "  - <<: *first\n    name: sanitation\n    units: -1\n    powers: [garbage_overflow]\n",
        edit("  - name: enforcement\n", "  - &first\n    name: enforcement\n"),
    )
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "units: -1"), "departments.sanitation.units")
    assert_words(problem.message, "0 or more", "got -1")


def test_dates_stay_text(tmp_path):
    scenario = load_scenario(write(tmp_path, edit("name: tiny\n", "name: 2024-06-01\n")))
    assert scenario.name == "2024-06-01"


def test_read_yaml_gives_lines():
    data, lines = parse_yaml("a: 1\nb:\n  - name: x\n    c: 2\n", "mem")
    assert data == {"a": 1, "b": [{"name": "x", "c": 2}]}
    assert lines[("a",)] == 1 and lines[("b", 0, "c")] == 4
    data, _ = read_yaml(CLASSROOM)
    assert data["name"] == "classroom"


# --------------------------------------------------------------------------- schema problems


def test_unknown_key_suggests(tmp_path):
    text = edit("    shift: 24h\n", "    shfit: 24h\n")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.source, problem.line) == (str(path), line_of(text, "shfit"))
    assert problem.path == "departments.sanitation.shfit"
    assert_words(problem.message, "unknown key 'shfit'", "did you mean 'shift'?")


def test_unknown_key_without_likeness_lists_keys(tmp_path):
    text = BASE + "colour: blue\n"
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "colour"), "colour")
    assert_words(problem.message, "unknown key 'colour'", "expected one of", "departments", "territory")


def test_unknown_key_in_a_duration_suggests_from_its_distribution(tmp_path):
    text = edit("{dist: lognormal, mean: 15, cv: 0.5}", "{dist: lognormal, mean: 15, cvv: 0.5}")
    problems = problems_of(write(tmp_path, text))
    paths = {p.path: p for p in problems}
    unknown = paths["incident_types.garbage_overflow.service_min.cvv"]
    assert unknown.line == line_of(text, "cvv")
    assert_words(unknown.message, "did you mean 'cv'?")
    assert "required key 'cv' is missing" in paths["incident_types.garbage_overflow.service_min.cv"].message


def test_wrong_type(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: lots\n    base: r2c0")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.source, problem.line) == (str(path), line_of(text, "units: lots"))
    assert problem.path == "departments.sanitation.units"
    assert_words(problem.message, "expected a whole number", "got 'lots'")


def test_fraction_where_whole_number_needed(tmp_path):
    text = edit("    units: 2\n    base: r1c1", "    units: 2.5\n    base: r1c1")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "units: 2.5"), "departments.enforcement.units")
    assert_words(problem.message, "whole number", "2.5")


def test_negative_value(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: -1\n    base: r2c0")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "units: -1"), "departments.sanitation.units")
    assert_words(problem.message, "0 or more", "got -1")


@pytest.mark.parametrize("value", ["0", "-3", ".nan", ".inf"])
def test_zero_or_negative_where_positive_needed(tmp_path, value):
    text = edit("days: 7\n", f"days: {value}\n")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "days:"), "days")
    assert "expected" in problem.message and "got" in problem.message


def test_zero_crew(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: 2\n    crew: 0\n    base: r2c0")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "crew: 0"), "departments.sanitation.crew")
    assert_words(problem.message, "greater than 0", "got 0")


def test_empty_value(tmp_path):
    text = edit("days: 7\n", "days:\n")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "days:"), "days")
    assert_words(problem.message, "expected a number", "got nothing")


def test_missing_required_key(tmp_path):
    text = edit("    rate_per_day: 5\n", "")
    problem = only_problem(write(tmp_path, text))
    assert problem.path == "incident_types.street_vending.rate_per_day"
    assert problem.line == line_of(text, "- name: street_vending")
    assert_words(problem.message, "required key 'rate_per_day' is missing", "incidents per day")


def test_missing_top_level_key_has_no_line(tmp_path):
    text = edit("territory:\n  grid: {rows: 3, cols: 3}\n", "")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (None, "territory")
    assert_words(problem.message, "required key 'territory' is missing")


def test_choice_with_suggestion(tmp_path):
    text = edit("shift: day_night", "shift: day_nite")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "day_nite"), "departments.enforcement.shift")
    assert_words(problem.message, "'24h'", "'office_hours'", "or a list", "got 'day_nite'", "did you mean 'day_night'?")


def test_bad_item_in_a_list_shift_names_the_item_only(tmp_path):
    text = edit("    shift: 24h\n", '    shift:\n      - {times: ["08:00-20:00"], units: -2}\n')
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "units: -2"), "departments.sanitation.shift.0.units")
    assert_words(problem.message, "0 or more", "got -2")


def test_wrong_dist(tmp_path):
    text = edit("dist: lognormal", "dist: lognormall")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.source, problem.line) == (str(path), line_of(text, "lognormall"))
    assert problem.path == "incident_types.garbage_overflow.service_min.dist"
    assert_words(problem.message, "unknown distribution 'lognormall'", "exponential", "did you mean 'lognormal'?")


def test_missing_dist(tmp_path):
    text = edit("{dist: lognormal, mean: 15, cv: 0.5}", "{mean: 15}")
    problem = only_problem(write(tmp_path, text))
    assert problem.path == "incident_types.garbage_overflow.service_min.dist"
    assert_words(problem.message, "required key 'dist' is missing", "lognormal", "number of minutes")


def test_duration_of_wrong_kind(tmp_path):
    text = edit("{dist: lognormal, mean: 15, cv: 0.5}", "fast")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (
        line_of(text, "service_min: fast"),
        "incident_types.garbage_overflow.service_min",
    )
    assert_words(problem.message, "expected a duration", "got 'fast'")


def test_uniform_high_below_low_points_at_high(tmp_path):
    text = edit("{dist: lognormal, mean: 15, cv: 0.5}", "{dist: uniform, low: 10, high: 5}")
    problem = only_problem(write(tmp_path, text))
    assert problem.path == "incident_types.garbage_overflow.service_min.high"
    assert_words(problem.message, "must be at least low")


def test_bad_time_window(tmp_path):
    text = edit('"08:00-20:00"', '"25:00-08:00"')
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.source, problem.line) == (str(path), line_of(text, "25:00-08:00"))
    assert problem.path == "incident_types.street_vending.detection.hotline.hours.times"
    assert_words(problem.message, "'25:00-08:00'", "expected windows like '08:30-17:30'")


def test_warmup_not_shorter_than_days(tmp_path):
    text = edit("warmup_days: 1\n", "warmup_days: 7\n")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "warmup_days"), "warmup_days")
    assert_words(problem.message, "warmup_days (7.0) must be less than days (7.0)")


def test_bad_name(tmp_path):
    text = edit("  - name: sanitation\n", "  - name: sani tation\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "sani tation")
    assert problem.path.endswith(".name") and problem.path.startswith("departments.")
    assert_words(problem.message, "not a usable name", "letters")


def test_several_problems_reported_at_once(tmp_path):
    text = edit("seed: 7\n", "seed: -1\n")
    text = edit("    units: 2\n    base: r2c0", "    units: lots\n    base: r2c0", text)
    text = edit("days: 7\n", "days: 7\ntarget_mins: 30\n", text)
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert [(p.line, p.path) for p in problems] == [
        (line_of(text, "seed: -1"), "seed"),
        (line_of(text, "target_mins"), "target_mins"),
        (line_of(text, "units: lots"), "departments.sanitation.units"),
    ]
    assert all(p.source == str(path) for p in problems)
    assert "did you mean 'target_min'?" in problems[1].message


# --------------------------------------------------------------------------- cross-checks


def test_unknown_incident_type_in_powers(tmp_path):
    text = edit("powers: [garbage_overflow]", "powers: [garbage_overflw]")
    problems = problems_of(write(tmp_path, text))
    first = problems[0]
    assert (first.line, first.path) == (line_of(text, "garbage_overflw"), "departments.sanitation.powers.0")
    assert_words(first.message, "unknown incident type 'garbage_overflw'", "did you mean 'garbage_overflow'?")
    # the type that lost its only department is reported too, at its own line
    assert any(p.path == "incident_types.garbage_overflow.name" and "powers" in p.message for p in problems)


def test_unknown_department_in_requires(tmp_path):
    text = edit("    rate_per_day: 5\n", "    rate_per_day: 5\n    requires: [enforcment]\n")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "enforcment"), "incident_types.street_vending.requires.0")
    assert_words(problem.message, "unknown department 'enforcment'", "did you mean 'enforcement'?")


def test_unknown_base_patch(tmp_path):
    text = edit("base: r2c0", "base: r9c9")
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "r9c9"), "departments.sanitation.base")
    assert_words(problem.message, "unknown patch 'r9c9'")


def test_unknown_department_pooled_in_a_mode(tmp_path):
    text = BASE + "governance:\n  modes:\n    team:\n      authority: {pooled: [sanitaton]}\n"
    problem = only_problem(write(tmp_path, text))
    assert problem.path == "governance.modes.team.authority.pooled.0"
    assert problem.line == line_of(text, "sanitaton")
    assert_words(problem.message, "unknown department 'sanitaton'", "did you mean 'sanitation'?")


def test_unknown_preset_in_a_mode(tmp_path):
    text = BASE + "governance:\n  modes:\n    team: {based_on: jiont}\n"
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.path) == (line_of(text, "jiont"), "governance.modes.team.based_on")
    assert_words(problem.message, "'fragmented'", "got 'jiont'", "did you mean 'joint'?")


def test_incident_type_no_one_may_act_on_in_a_mode(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: 0\n    base: r2c0")
    text += "governance:\n  modes:\n    fragmented: {}\n    unified: {authority: {pooled: [enforcement, sanitation]}}\n"
    path = write(tmp_path, text)
    problem = only_problem(path)  # unified pools sanitation's power into the enforcement team
    assert (problem.source, problem.line) == (str(path), line_of(text, "fragmented: {}"))
    assert problem.path == "governance.modes.fragmented"
    assert_words(problem.message, "garbage_overflow", "no unit may act on it", "'fragmented'")


def test_incident_type_no_one_may_act_on_in_default_modes(tmp_path):
    text = edit("    units: 2\n    base: r2c0", "    units: 0\n    base: r2c0")
    problems = problems_of(write(tmp_path, text))
    # no department is poolable unless the file says so, so the unified preset's team pools no one
    assert [p.path for p in problems] == [
        "governance.modes.fragmented",
        "governance.modes.joint",
        "governance.modes.unified",
    ]
    assert all(p.line is None for p in problems)  # the default modes are not in the file


def test_repeated_department_name(tmp_path):
    text = edit("  - name: sanitation\n", "  - name: enforcement\n")
    problems = problems_of(write(tmp_path, text))
    assert any(p.path.endswith(".name") and "already used" in p.message for p in problems)


# --------------------------------------------------------------------------- plain data


def test_scenario_from_dict_non_mapping_and_none():
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(None, source="mem")
    assert_words(str(info.value), "mem", "empty")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict([1, 2], source="mem")
    assert info.value.problems[0].source == "mem"
    assert_words(info.value.problems[0].message, "got a list")


def test_scenario_from_dict_without_lines(classroom_data):
    classroom_data["departments"][1]["units"] = "two"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(classroom_data)
    (problem,) = info.value.problems
    assert (problem.source, problem.line, problem.path) == ("<scenario>", None, "departments.sanitation.units")


# --------------------------------------------------------------------------- --set overrides


def test_set_list_item_by_name_and_by_index(tmp_path):
    path = write(tmp_path, BASE)
    by_name = load_scenario(path, ["departments.sanitation.units=6"])
    by_index = load_scenario(path, ["departments.1.units=7", "departments.-2.crew=3"])
    assert by_name.department("sanitation").units == 6
    assert by_index.department("sanitation").units == 7
    assert by_index.department("enforcement").crew == 3
    assert load_scenario(path).department("sanitation").units == 2


def test_set_changes_values_of_several_kinds(tmp_path):
    path = write(tmp_path, BASE)
    scenario = load_scenario(
        path,
        [
            "days=14",
            "incident_types.garbage_overflow.service_min={dist: exponential, mean: 9}",
            "departments.enforcement.powers=[street_vending, garbage_overflow]",
            "territory.grid.rows=4",
        ],
    )
    assert scenario.days == 14
    assert scenario.incident_types[0].service_min.mean == 9
    assert scenario.department("enforcement").powers == ["street_vending", "garbage_overflow"]
    assert scenario.territory.grid.rows == 4


def test_set_inside_defaults_keeps_the_other_defaults(tmp_path):
    scenario = load_scenario(
        write(tmp_path, BASE), ["governance.modes.joint.dispatch=own_queue", "governance.referral.steps.patrol=1"]
    )
    modes = scenario.governance.modes
    assert list(modes) == ["fragmented", "joint", "unified"]
    assert modes["joint"].dispatch == "own_queue"
    assert scenario.governance.referral.steps == {
        "patrol": 1,
        "grid_worker": 3,
        "hotline": 2,
        "camera": 3,
        "coordination": 2,
        "grid": 1,
    }


def test_set_unknown_key_suggests(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["departments.sanitation.unitz=3"])
    assert (problem.source, problem.line, problem.path) == ("--set", None, "departments.sanitation.unitz")
    assert_words(problem.message, "unknown key 'unitz'", "did you mean 'units'?")


def test_set_unknown_list_item_suggests(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["departments.sanitaton.units=3"])
    assert (problem.source, problem.path) == ("--set", "departments.sanitaton.units")
    assert_words(problem.message, "no item 'sanitaton' in departments", "did you mean 'sanitation'?")


def test_set_index_out_of_range(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["departments.5.units=3"])
    assert_words(problem.message, "no item '5'", "enforcement, sanitation", "index 0 to 1")


def test_set_ill_typed_value_names_set(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["departments.sanitation.units=abc"])
    assert (problem.source, problem.line, problem.path) == ("--set", None, "departments.sanitation.units")
    assert_words(problem.message, "expected a whole number", "got 'abc'")
    assert str(problem).startswith("--set: departments.sanitation.units: ")


def test_set_unknown_mode(tmp_path):
    text = BASE + "governance:\n  modes:\n    fragmented: {}\n    joint: {}\n"
    problem = only_problem(write(tmp_path, text), ["governance.modes.jiont.dispatch=nearest"])
    assert (problem.source, problem.path) == ("--set", "governance.modes.jiont.dispatch")
    assert_words(problem.message, "unknown mode 'jiont'", "did you mean 'joint'?")


def test_set_unknown_mode_among_defaults(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["governance.modes.fusion.dispatch=nearest"])
    assert_words(problem.message, "unknown mode 'fusion'", "fragmented, joint, unified")


def test_set_unknown_literal_key(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["governance.referral.steps.patroll=1"])
    assert_words(problem.message, "unknown key 'patroll'", "did you mean 'patrol'?")


def test_set_inside_a_single_value(tmp_path):
    problem = only_problem(write(tmp_path, BASE), ["seed.low=1"])
    assert (problem.source, problem.path) == ("--set", "seed.low")
    assert_words(problem.message, "'seed' is a single value", "not a mapping")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("departments.sanitation.units", ["expected key.path=value"]),
        ("=3", ["expected a key path"]),
        ("departments..units=3", ["expected a key path"]),
        ("seed=[1", ["cannot read the value", "YAML syntax error"]),
        ('seed=!!python/object/apply:os.system ["echo hi"]', ["not allowed"]),
    ],
)
def test_set_malformed(tmp_path, text, words):
    problem = only_problem(write(tmp_path, BASE), [text])
    assert problem.source == "--set"
    assert_words(problem.message, *words)


def test_set_problems_all_reported_with_file_problems(tmp_path):
    text = edit("seed: 7\n", "seed: x\n")
    path = write(tmp_path, text)
    problems = problems_of(path, ["departments.police.units=2", "days=-1", "colour=red"])
    summary = {(p.source, p.path) for p in problems}
    assert summary == {
        ("--set", "departments.police.units"),
        ("--set", "colour"),
        ("--set", "days"),
        (str(path), "seed"),
    }


def test_apply_overrides_directly():
    data = {"seed": 1, "departments": [{"name": "a", "units": 1}]}
    new, paths = apply_overrides(data, ["departments.a.units=5"])
    assert new["departments"][0]["units"] == 5 and data["departments"][0]["units"] == 1
    assert paths == {("departments", 0, "units")}
    with pytest.raises(ScenarioError) as info:
        apply_overrides(data, ["departments.b.units=5"])
    assert info.value.problems[0].source == "--set"


# --------------------------------------------------------------------------- property: never a traceback


def _paths(node, prefix=()):
    """Every key path in plain data, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for key, value in items:
        out.append((prefix + (key,), value))
        out += _paths(value, prefix + (key,))
    return out


_ODD_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, 0, -0.5, math.nan, math.inf, -math.inf, None, True, "24h", "daily", "r0c0", ""]),
    st.lists(st.one_of(st.integers(-3, 30), st.text(max_size=4)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.none(),
)


@st.composite
def mutated_classroom(draw):
    data, _ = read_yaml(CLASSROOM)
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path, old = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            new = draw(_ODD_VALUES.filter(lambda v, old=old: type(v) is not type(old)))
            parent[path[-1]] = new
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutated_classroom())
def test_mutated_classroom_gives_a_scenario_or_problems(data):
    try:
        scenario = scenario_from_dict(data, source="classroom.yaml")
    except ScenarioError as err:
        assert err.problems
        for problem in err.problems:
            assert isinstance(problem, Problem) and str(problem)
            assert problem.message
            assert problem.source in ("classroom.yaml", "--set")
    else:
        assert isinstance(scenario, sim.Scenario)


# --------------------------------------------------------------------------- --set adds keys to mappings

CAMPAIGN_TEXT = (
    BASE
    + """\
campaigns:
  - name: check
    schedule: {every: week, days: [1]}
    duration_min: 120
    departments: {enforcement: 1}
    finds_per_unit_hour: {street_vending: 0.5}
"""
)


def test_set_adds_a_department_and_a_type_to_a_campaign(tmp_path):
    path = write(tmp_path, CAMPAIGN_TEXT)
    scenario = load_scenario(
        path, ["campaigns.0.departments.sanitation=2", "campaigns.check.finds_per_unit_hour.garbage_overflow=0.25"]
    )
    (campaign,) = scenario.campaigns
    assert campaign.departments == {"enforcement": 1, "sanitation": 2}
    assert campaign.finds_per_unit_hour == {"street_vending": 0.5, "garbage_overflow": 0.25}


def test_set_adds_an_entry_set_whole_to_any_mapping(tmp_path):
    path = write(tmp_path, BASE)
    scenario = load_scenario(
        path,
        [
            "departments.enforcement.competence.garbage_overflow={on_scene_factor: 1.5}",
            "governance.modes.slow_joint={based_on: joint, dispatch: own_queue}",
        ],
    )
    enforcement = next(d for d in scenario.departments if d.name == "enforcement")
    assert enforcement.competence["garbage_overflow"].on_scene_factor == 1.5
    assert scenario.governance.modes["slow_joint"].dispatch == "own_queue"


def test_an_added_key_is_checked_like_one_in_the_file(tmp_path):
    path = write(tmp_path, CAMPAIGN_TEXT)
    problem = only_problem(path, ["campaigns.0.departments.sanitaton=2"])
    assert (problem.source, problem.path) == ("--set", "campaigns.check.departments.sanitaton")
    assert_words(problem.message, "unknown department 'sanitaton'", "did you mean 'sanitation'?")
    problem = only_problem(path, ["campaigns.0.departments.sanitation=0"])
    assert (problem.source, problem.path) == ("--set", "campaigns.check.departments.sanitation")
    problem = only_problem(path, ["campaigns.0.finds_per_unit_hour.garbage=1"])
    assert (problem.source, problem.path) == ("--set", "campaigns.check.finds_per_unit_hour.garbage")
    assert_words(problem.message, "unknown incident type 'garbage'")


def test_unknown_keys_of_models_are_still_refused(tmp_path):
    path = write(tmp_path, CAMPAIGN_TEXT)
    problem = only_problem(path, ["campaigns.0.departmentz.sanitation=2"])
    assert (problem.source, problem.path) == ("--set", "campaigns.0.departmentz.sanitation")
    assert_words(problem.message, "unknown key 'departmentz'", "did you mean 'departments'?")
    problem = only_problem(path, ["governance.modes.jiont.dispatch=nearest"])  # into an entry that is not there
    assert_words(problem.message, "unknown mode 'jiont'", "did you mean 'joint'?", "governance.modes.jiont=")


NAMES = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, units=st.integers(min_value=-2, max_value=9))
def test_set_into_a_campaigns_departments_adds_or_refuses_clearly(tmp_path, name, units):
    """Any name and count: a known department with a positive count is added; anything else is one
    problem from --set at exactly that key path, never a traceback."""
    path = write(tmp_path, CAMPAIGN_TEXT)
    override = f"campaigns.0.departments.{name}={units}"
    if name in ("enforcement", "sanitation") and units > 0:
        (campaign,) = load_scenario(path, [override]).campaigns
        assert campaign.departments[name] == units
        assert sum(campaign.departments.values()) == units + (0 if name == "enforcement" else 1)
    else:
        problems = problems_of(path, [override])
        assert [(p.source, p.path) for p in problems] == [("--set", f"campaigns.check.departments.{name}")]
