"""The HTML report, opened as a person would: in a real (headless) browser, with no network.

These tests need Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it). Without
it they fail, on purpose: a report nobody has looked at in a browser is not tested.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import re
import shutil
import subprocess

import matplotlib.image as mpimg
import pytest

import sim
from sim.cli import main
from sim.io.results import write_comparison
from sim.presentation import figures as plots
from sim.presentation.report import build_report, write_report
from tests.conftest import SCENARIOS

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]
SWEEP_ROWS = [
    {
        "point": p,
        "departments.sanitation.units": units,
        "mode": mode,
        "response_min.median.mean": value,
        "response_min.median.ci_low": value * 0.8,
        "response_min.median.ci_high": value * 1.2,
    }
    for p, units in enumerate((1, 2, 3))
    for mode, value in (("fragmented", 600.0 / units), ("joint", 12.0), ("unified", 10.0))
]


def chromium() -> str:
    """The browser to test with, or a failure that says how to install it."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail(
        "Chromium is needed to test the HTML report in a real browser and was not found. "
        "Install it with `apt-get update && apt-get install -y chromium` (.ci/run does this), "
        "or point the CHROMIUM environment variable at a Chromium or Chrome binary."
    )


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A classroom comparison plus a sweep table in one folder, and its report."""
    folder = tmp_path_factory.mktemp("report")
    write_comparison(folder, sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml"), replications=2))
    with (folder / "summary.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SWEEP_ROWS[0]))
        writer.writeheader()
        writer.writerows(SWEEP_ROWS)
    write_report(folder)
    return folder


def _titles() -> list[str]:
    """The title of every figure the report of ``report_dir`` must show."""
    titles = [title for title, _ in plots.COMPARISON_FIGURES.values()]
    rows = [{k: str(v) for k, v in r.items()} for r in SWEEP_ROWS]
    return titles + [title for title, _ in plots.sweep_figures(rows).values()]


def _browse(folder, *args, page="report.html", timeout=120) -> subprocess.CompletedProcess:
    profile = folder / "browser-profile"
    command = [chromium(), *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, (folder / page).as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _page_errors(stderr: str) -> list[str]:
    """Console messages and failed loads that Chromium logs for the page (not its own D-Bus noise)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "net::ERR" in line or "Uncaught" in line]


def test_report_is_one_self_contained_file(report_dir):
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == len(_titles())
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        image = mpimg.imread(io.BytesIO(base64.b64decode(source.split(",", 1)[1])), format="png")
        assert image.shape[0] > 200 and image[..., :3].std() > 0.05
    assert not re.search(r'(src|href)=["\']?(https?:|//)', text), "the report must not fetch anything"
    assert "<script" not in text
    for words in (
        "classroom",
        "seed",
        "7",
        "fragmented",
        "joint",
        "unified",
        "At a glance",
        "scenario.json",
        "python -m sim compare",
        "garbage overflow",
        "departments.sanitation.units",
    ):
        assert words in text


def test_report_opens_in_a_browser_without_errors_and_shows_every_figure(report_dir):
    done = _browse(report_dir, "--dump-dom", "--virtual-time-budget=5000")
    assert not _page_errors(done.stderr), _page_errors(done.stderr)
    dom = done.stdout
    assert "<title>Town enforcement simulation: classroom</title>" in dom
    assert re.search(r"<h1>Garbage overflow: a unit able to act is on scene in a median [^<]+\.</h1>", dom)
    images = re.findall(r"<img [^>]*>", dom)
    assert len(images) == len(_titles())
    assert all('src="data:image/png;base64,' in tag for tag in images)
    for title in _titles():
        assert f"<h3>{html.escape(title)}</h3>" in dom, title


def test_the_browser_check_catches_a_broken_page(tmp_path):
    (tmp_path / "broken.html").write_text(
        "<html><body><h1>x</h1><script>throw new Error('boom')</script></body></html>", encoding="utf-8"
    )
    done = _browse(tmp_path, "--dump-dom", "--virtual-time-budget=2000", page="broken.html")
    assert any("boom" in line for line in _page_errors(done.stderr))


def test_report_screenshot_is_not_blank(report_dir):
    shot = report_dir / "screenshot.png"
    _browse(report_dir, f"--screenshot={shot}", "--window-size=1200,3000")
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    assert pixels.std() > 0.1, "the page looks blank"
    not_white = (pixels < 0.9).any(axis=-1).mean()
    assert not_white > 0.1, f"only {not_white:.0%} of the page is drawn on"
    colourful = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.25).mean()
    assert colourful > 0.01, "no coloured figure is visible"


def test_report_command_and_its_errors(report_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(report_dir), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_report_of_a_sweep_alone(tmp_path):
    with (tmp_path / "summary.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SWEEP_ROWS[0]))
        writer.writeheader()
        writer.writerows(SWEEP_ROWS)
    text = build_report(tmp_path)
    assert text.count("<img ") == 1 and "Sweep table (summary.csv)" in text


def _headings(text: str) -> list[tuple[str, str]]:
    return re.findall(r"<(h[1-3])[^>]*>(.*?)</\1>", text)


def test_report_leads_with_a_sentence_of_result_then_definitions_timeline_and_garbage(report_dir):
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    summary = plots.load_results(report_dir).summary
    level, first = _headings(text)[0]
    assert level == "h1" and first.endswith(".") and "classroom" not in first and "report" not in first
    for mode in ("fragmented", "joint", "unified"):
        median = summary["modes"][mode]["by_type"]["garbage_overflow"]["response_min"]["median"]
        assert f"{html.escape(plots.format_minutes(median))} under {mode}" in first
    order = [
        text.index(marker)
        for marker in (
            "<h2>The ways of working compared</h2>",
            '<figure id="timeline">',
            '<figure id="response_ecdf">',
            "<h2>The story</h2>",
            "<h2>At a glance: all incidents, every type</h2>",
            '<figure id="response_by_type">',
        )
    ]
    assert order == sorted(order)
    definitions = text[order[0] : order[1]]
    assert "desk to desk" in definitions and "shared group" in definitions and "powers" in definitions
    story = text[text.index("<h2>The story</h2>") : order[4]]
    assert "<pre>" not in story and "<li>" in story, "the story is HTML text, not a monospace block"
    assert "95% confidence interval" in text and "One replication" not in text


def test_one_replication_has_no_interval_column_and_the_animation_is_linked(tmp_path):
    write_comparison(tmp_path, sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml"), replications=1))
    (tmp_path / "town_day.mp4").write_bytes(b"")
    text = build_report(tmp_path, figures={})
    assert "[95% CI]" not in text and "One replication, so no interval" in text
    assert '<a href="town_day.mp4">town_day.mp4</a>' in text


def test_a_report_of_a_run_with_campaigns_says_what_they_took_and_found(tmp_path):
    """The CLI prints the campaigns table; the report must too, or its reader never learns units were away."""
    campaign = (
        "campaigns=[{name: sweep, schedule: {every: week, days: daily, start: '09:00'}, duration_min: 240, "
        "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 1}}]"
    )
    comparison = sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml", [campaign]), modes=["joint"])
    write_comparison(tmp_path, comparison)
    text = build_report(tmp_path, figures={})
    block = comparison.summary["modes"]["joint"]["campaigns"]
    assert "<h2>Joint campaigns</h2>" in text and "left out of every response figure" in text
    found = sum(block["found"].values())
    assert found > 0 and f"{found:,} ({block['found_on_the_spot']:,})" in text
    assert f"{sum(block['unit_hours'].values()):,.1f}" in text
    plain = tmp_path / "plain"
    write_comparison(plain, sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml"), modes=["joint"]))
    assert "Joint campaigns" not in build_report(plain, figures={})
