"""The app and the lesson page, used as a person uses them: in headless Chromium, through Playwright.

Open the app, click "unified", move the sanitation crews slider with the keyboard, see the headline
number become what ``compare`` gives for the same settings, switch to 中文, download the YAML and
validate it; no console errors; screenshots not blank. The exported lesson page is opened from a
file, and its switches change the figures.
"""

from __future__ import annotations

import json

import sim
from sim.app.settings import scaled_operators
from sim.cli import main
from tests.app.conftest import not_blank
from tests.conftest import SCENARIOS


def _errors_of(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    return errors


def _wait_done(page) -> None:
    page.wait_for_selector("#status[data-state=done]", timeout=180_000)


def _median(page, mode: str) -> float:
    return float(page.get_attribute(f"#headline ~ .medians .median[data-mode={mode}]", "data-value"))


def test_pull_a_lever_and_see_the_headline_change_to_what_compare_gives(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors = _errors_of(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(app_url + "/")
    _wait_done(page)
    assert "garbage overflow" in page.inner_text("#headline")
    page.click("[data-preset=unified]")
    assert page.get_attribute("[data-preset=unified]", "class") == "on"
    _wait_done(page)
    before = _median(page, "custom")
    assert before == _median(page, "unified")

    slider = page.locator("#units-sanitation")
    start = int(slider.input_value())
    slider.focus()
    for _ in range(start - 4):
        page.keyboard.press("ArrowLeft")  # each step cancels the run going and starts another
    assert slider.input_value() == "4"
    page.wait_for_selector("#status[data-state=running]", timeout=30_000)
    _wait_done(page)
    after = _median(page, "unified")
    assert after != before

    with page.expect_download() as download:
        page.click("#download-yaml")
    path = tmp_path / "mine.yaml"
    download.value.save_as(path)
    assert main(["validate", str(path)]) == 0
    expected = sim.compare(sim.load_scenario(path)).summary["modes"]
    assert sim.load_scenario(path).department("sanitation").units == 4
    for mode in ("unified", "custom", "fragmented"):
        assert _median(page, mode) == expected[mode]["by_type"]["garbage_overflow"]["response_min"]["median"]
    shot = tmp_path / "app_en.png"
    page.screenshot(path=str(shot), full_page=True)
    assert not_blank(shot) > 0.08

    page.click("[data-lang=zh]")
    headline = page.inner_text("#headline")
    assert "垃圾满溢" in headline and "统一" in headline and "分散" in headline
    assert page.inner_text("[data-preset=unified]") == "统一"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    shot = tmp_path / "app_zh.png"
    page.screenshot(path=str(shot))
    assert not_blank(shot) > 0.08

    with page.expect_download() as download:
        page.click("#download-csv")
    assert download.value.suggested_filename == "incidents.csv"
    assert errors == []
    assert all(url.startswith(app_url) for url in requests), "the app must fetch nothing from the network"
    page.close()


def test_the_lesson_page_switches_instantly_offline(browser, tmp_path):
    from sim.app.lesson import write_lesson

    path = write_lesson(tmp_path / "lesson.html", "classroom.yaml", overrides={"days": 2})
    text = path.read_text(encoding="utf-8")
    assert "<script src=" not in text and "http://" not in text.split("<script")[0]
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors = _errors_of(page)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(path.as_uri())
    results = page.locator("#results")
    assert results.get_attribute("data-key").startswith("none|referral|own_queue|sequential|")
    fragmented_like = _median(page, "custom")
    assert fragmented_like == _median(page, "fragmented")
    first_curve = page.get_attribute("#distribution-card path[data-mode=custom]", "d")

    page.check("#instant")  # the shared channel alone
    assert results.get_attribute("data-key").startswith("none|instant|own_queue|sequential|")
    assert _median(page, "custom") < fragmented_like
    assert page.get_attribute("#distribution-card path[data-mode=custom]", "d") != first_curve

    page.click("[data-preset=unified]")
    assert _median(page, "custom") == _median(page, "unified")
    sizes = page.locator("#sizes button")
    assert sizes.count() == 3
    sizes.nth(0).click()
    assert results.get_attribute("data-key").endswith("|" + sizes.nth(0).inner_text())
    page.click("[data-lang=zh]")
    assert "垃圾满溢" in page.inner_text("#headline")
    shot = tmp_path / "lesson.png"
    page.screenshot(path=str(shot))
    assert not_blank(shot) > 0.08
    assert errors == []
    page.close()


def _set_days(page, days: float) -> None:
    page.fill("#days", str(days))
    page.locator("#days").blur()  # as a person leaving the field: a run with the short horizon starts


def _card_values(page, card: str) -> dict:
    return json.loads(page.get_attribute(f"#{card}", "data-values"))


def test_centre_operators_and_campaign_switch_move_their_figures(app_url, browser, tmp_path):
    """Jinjiang: one more operator per town centre halves the town centres' busy share; Anhai: no campaign, no card."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors = _errors_of(page)
    page.goto(app_url + "/")
    page.wait_for_selector("#scenario option[value='jinjiang.yaml']", state="attached")
    page.select_option("#scenario", "jinjiang.yaml")
    page.wait_for_selector("#centre-ops-town")
    assert page.is_visible("#dispatch_across_borders") and not page.is_visible("#campaign-controls")
    assert not page.is_checked("#dispatch_across_borders")  # Jinjiang's modes keep jobs within their town
    _set_days(page, 1.5)  # a warm-up day and half a measured one: seconds, not minutes
    _wait_done(page)
    before = _card_values(page, "centres-card")
    town = page.locator("#centre-ops-town")
    start = int(town.input_value())  # the smallest town centre's seats (Jinjiang: 1)
    town.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#status[data-state=running]", timeout=30_000)
    _wait_done(page)
    after = _card_values(page, "centres-card")
    levels = {v["level"]: v for v in after["levels"]}
    old = {v["level"]: v for v in before["levels"]}
    busy, was = levels["town"]["utilisation"]["unified"], old["town"]["utilisation"]["unified"]
    # the same reports and handling over more seats: busy a share start/(start+1) of what it was (1 -> 2: half)
    assert abs(busy["high"] / was["high"] - start / (start + 1)) < 0.1
    assert f"town centres ({levels['town']['centres']})" in page.inner_text("#centres-card")
    with page.expect_download() as download:
        page.click("#download-yaml")
    path = tmp_path / "jinjiang_mine.yaml"
    download.value.save_as(path)
    shipped = sim.load_scenario(SCENARIOS / "jinjiang.yaml").governance.centres
    mine = sim.load_scenario(path).governance.centres
    more = [scaled_operators(c.operators, start, start + 1) if c.level == "town" else c.operators for c in shipped]
    assert more == [c.operators for c in mine]

    page.select_option("#scenario", "anhai.yaml")
    page.wait_for_selector("#campaign-joint_operation")
    assert not page.is_visible("#centre-controls") and not page.is_visible("#dispatch_across_borders")
    _set_days(page, 3)  # the campaign goes out on Wednesday, the third day
    _wait_done(page)
    assert _card_values(page, "campaigns-card")["custom"]["unit_hours"] == 15.0  # 6 units for 150 minutes
    page.uncheck("#campaign-joint_operation")
    page.wait_for_selector("#status[data-state=running]", timeout=30_000)
    _wait_done(page)
    assert page.locator("#campaigns-card").count() == 0
    assert errors == []
    page.close()
