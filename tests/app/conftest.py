"""Fixtures of the app's tests: a running app on a free port, and Chromium through Playwright."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request

import pytest

from tests.presentation.test_report import chromium

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def serving(jobs):
    """An app over *jobs*, served on 127.0.0.1 at a free port: its URL."""
    from sim.app.server import App, make_server

    server = make_server(App(jobs=jobs), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        jobs.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app, served on 127.0.0.1 at a free port for the module's tests."""
    from sim.app.jobs import Jobs

    with serving(Jobs(tmp_path_factory.mktemp("jobs"))) as url:
        yield url


def call(url: str, body: dict | None = None) -> tuple[int, object]:
    """GET (or POST *body* as JSON) and read the JSON answer: (status, data)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw, status, kind = answer.read(), answer.status, answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        raw, status, kind = err.read(), err.code, err.headers.get("Content-Type", "")
    return status, json.loads(raw) if "json" in kind else raw.decode("utf-8")


def wait_for(url: str, job: str, limit_s: float = 300) -> dict:
    """Poll a job until it is no longer running or queued (a generous bound, not a timing assertion)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        _, state = call(f"{url}/api/job/{job}")
        if state["state"] not in ("running", "queued"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job} still running after {limit_s} s")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install '.[app]' for the browser tests")
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        yield instance
        instance.close()


def not_blank(path) -> float:
    """The screenshot's pixel standard deviation (0 for a blank page)."""
    import matplotlib.image as mpimg

    pixels = mpimg.imread(path)[..., :3]
    return float(pixels.std())
