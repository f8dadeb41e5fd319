"""``python -m sim app``: mistakes are exit 2 with a message; the app answers on 127.0.0.1 by default."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from sim.cli import build_parser, main
from tests.conftest import SCENARIOS


def test_the_app_listens_on_this_computer_only_by_default():
    args = build_parser().parse_args(["app"])
    assert args.host == "127.0.0.1" and args.lang == "en"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["app", "no/such.yaml"], "no such file"),
        (["app", "--port", "70000"], "--port"),
        (["app", "--workers", "0"], "--workers"),
        (["app", "--export", "{tmp}/a-file/lesson.html", "classroom.yaml"], "cannot write there"),
    ],
)
def test_mistakes_are_exit_2_with_a_message(argv, words, capsys, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--export" in argv:  # fail at writing, not after a minute of runs
        import sim.app.lesson as lesson

        monkeypatch.setattr(lesson, "lesson_data", lambda *a, **k: {})
        monkeypatch.setattr(lesson, "lesson_html", lambda data, lang="en": "<html></html>")
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_an_invalid_scenario_is_refused_with_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8").replace("units: 2", "units: -2", 1), encoding="utf-8"
    )
    assert main(["app", str(bad), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{bad.name}:" in err and "units" in err


def test_the_command_serves_the_page_until_stopped(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "classroom.yaml", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("the app is at http://127.0.0.1:"), line
        url = line.split()[4]
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "api/init", timeout=30) as answer:
                    assert b"classroom.yaml" in answer.read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the app did not answer")
    finally:
        process.terminate()
        process.wait(timeout=30)
