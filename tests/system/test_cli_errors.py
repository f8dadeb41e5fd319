"""The command line on bad input: exit code 2, one message per problem, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLASSROOM = "scenarios/classroom.yaml"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m sim ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> list[str]:
    """Exit code 2, no traceback, and each of *words* in stderr; returns the error lines."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for word in words:
        assert word in result.stderr, f"{word!r} not in {result.stderr!r}"
    return [line for line in result.stderr.splitlines() if line.strip()]


def bad_file(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The classroom scenario with *old* replaced by *new*; returns the file and the changed line."""
    text = (ROOT / CLASSROOM).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if new.splitlines()[0] in row)
    return path, line


def test_validate_classroom_says_valid_first():
    result = cli("validate", CLASSROOM)
    assert result.returncode == 0, result.stderr
    assert "whole number of weeks" not in result.stderr  # it measures one whole week
    lines = result.stdout.strip().splitlines()
    assert "classroom" in lines[0] and "valid" in lines[0]
    pooled = next(line for line in lines if line.startswith("pooled "))
    assert pooled.split()[1:] == ["none", "none", "enforcement,", "sanitation"]


@pytest.mark.parametrize("command", ["validate", "run", "compare"])
def test_missing_file(tmp_path, command):
    missing = tmp_path / "nowhere.yaml"
    lines = assert_user_error(cli(command, str(missing)), str(missing), "not found")
    assert len(lines) == 1


def test_yaml_syntax_error(tmp_path):
    path, line = bad_file(tmp_path, "days: 8\n", "days: 8: 3\n")
    lines = assert_user_error(cli("validate", str(path)), f"{path}:{line}:", "YAML syntax error")
    assert len(lines) == 1


def test_unknown_key(tmp_path):
    path, line = bad_file(tmp_path, "    shift: 24h\n", "    shfit: 24h\n")
    lines = assert_user_error(
        cli("run", str(path)),
        f"{path}:{line}: departments.sanitation.shfit: unknown key 'shfit'",
        "did you mean 'shift'?",
    )
    assert len(lines) == 1


def test_several_problems_one_line_each(tmp_path):
    path, seed_line = bad_file(tmp_path, "seed: 7\n", "seed: -7\n")
    text = path.read_text().replace("target_min: 30", "target_mins: 30")
    path.write_text(text)
    lines = assert_user_error(cli("validate", str(path)), f"{path}:{seed_line}: seed:", "target_mins")
    assert len(lines) == 2


def test_python_tag_is_not_run(tmp_path):
    marker = tmp_path / "executed"
    path, line = bad_file(tmp_path, "name: classroom\n", f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert_user_error(cli("validate", str(path)), f"{path}:{line}: name:", "not allowed")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("departments.sanitation.units=abc", ["--set: departments.sanitation.units:", "whole number", "'abc'"]),
        ("departments.sanitation.unitz=3", ["--set: departments.sanitation.unitz:", "did you mean 'units'?"]),
        ("departments.sanitaton.units=3", ["did you mean 'sanitation'?"]),
        ("governance.modes.jiont.dispatch=nearest", ["unknown mode 'jiont'", "did you mean 'joint'?"]),
        ("seed", ["expected key.path=value"]),
    ],
)
def test_bad_set(override, words):
    lines = assert_user_error(cli("validate", CLASSROOM, "--set", override), *words)
    assert len(lines) == 1


def test_bad_set_on_run_and_compare():
    assert_user_error(cli("run", CLASSROOM, "--set", "days=0"), "days", "greater than 0")
    assert_user_error(cli("compare", CLASSROOM, "--set", "warmup_days=-1"), "warmup_days", "0 or more")


def test_unknown_mode():
    assert_user_error(cli("run", CLASSROOM, "--mode", "jiont", "--days", "2"), "--mode", "jiont")
    assert_user_error(cli("compare", CLASSROOM, "--modes", "joint,fusion", "--days", "2"), "--modes", "fusion")


@pytest.mark.parametrize("command", ["run", "compare"])
def test_zero_replications(command):
    lines = assert_user_error(cli(command, CLASSROOM, "--replications", "0"), "--replications", "at least 1")
    assert len(lines) == 1


def test_negative_seed():
    assert_user_error(cli("run", CLASSROOM, "--seed", "-1"), "--seed")
