"""The app's web server: one HTML page, its script and style, and a small JSON API.

Built on the standard library's :mod:`http.server` (one thread per request), so the app needs
nothing beyond the simulator itself, and every file it serves comes from the installed package:
it works with no network. Runs go to worker processes (:mod:`sim.app.jobs`), so the server
answers at once and the page polls for progress.

API (JSON unless said otherwise)::

    GET  /api/init?scenario=NAME      shipped scenarios, the controls of NAME, the page's words
    POST /api/upload   {name, text}   a scenario file checked by the schema: {id, controls} or {problems}
    POST /api/run      {client, scenario, settings}   start a comparison (cancels the client's last): {job}
    GET  /api/job/ID                  state (queued, running, done …), progress, the view when there is one
    POST /api/cancel   {job}
    POST /api/yaml     {scenario, settings}           the scenario file of these settings (text/yaml)
    GET  /api/job/ID/incidents.csv    the results (as ``compare --out`` writes them)
    POST /api/report   {job, lang}    start drawing the report: {job}; then GET /api/job/ID/report.html

A mistake in the input (a scenario, a setting) is answered with status 400 and its problems,
each with its line and key path; the page shows them. Runs share the machine's workers
(:class:`~sim.app.jobs.Jobs`: a few at once, the rest queued); when the queue is full too, a new
run or report is answered with status 503, ``busy: true`` and the reason, which the page shows.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sim.app import worker
from sim.app.jobs import Busy, Jobs
from sim.app.settings import ScenarioSource, Settings, controls_of, open_source, scenario_yaml, shipped_scenarios
from sim.app.views import ui_text
from sim.errors import Problem, ScenarioError
from sim.presentation.i18n import LANGUAGES, term, use_language
from sim.registry import registered_names_only
from sim.version import __version__

__all__ = ["App", "make_server", "STATIC_FILES", "MAX_BODY"]

STATIC_FILES = {
    "app.js": "text/javascript",
    "charts.js": "text/javascript",
    "lesson.js": "text/javascript",
    "app.css": "text/css",
}
MAX_BODY = 6_000_000
DEFAULT_SCENARIO = "anhai_garbage.yaml"


def static_text(name: str) -> str:
    """A file of the page, from the installed package."""
    return resources.files("sim.app").joinpath("static").joinpath(name).read_text(encoding="utf-8")


class App:
    """The state behind the server: the scenarios offered, uploads, and the jobs."""

    def __init__(self, scenario: str | Path | None = None, jobs: Jobs | None = None, lang: str = "en"):
        self.jobs = jobs or Jobs()
        self.lang = lang
        self.uploads: dict[str, ScenarioSource] = {}
        self.first = DEFAULT_SCENARIO
        self._lock = threading.Lock()
        if scenario is not None:
            path = Path(scenario)
            if path.name in shipped_scenarios() and not path.is_file():
                self.first = path.name
            else:
                source = open_source(name=path.name, path=path)
                controls_of(source)  # refuse an invalid scenario at start, with its problems
                self.first = self._keep(source)

    def _keep(self, source: ScenarioSource) -> str:
        key = f"upload:{secrets.token_hex(4)}:{source.name}"
        with self._lock:
            self.uploads[key] = source
        return key

    def source(self, name: str | None) -> ScenarioSource:
        """The scenario named by the page: an upload's key or a shipped file name."""
        name = name or self.first
        with self._lock:
            if name in self.uploads:
                return self.uploads[name]
        return open_source(name=name)

    def init(self, name: str | None) -> dict:
        """What the page needs to draw itself."""
        source = self.source(name)
        controls = controls_of(source)
        controls["scenario"] = name or self.first
        controls["department_labels"] = {}
        controls["level_labels"] = {}
        for lang in LANGUAGES:
            with use_language(lang):
                controls["department_labels"][lang] = {d["name"]: term(d["name"]) for d in controls["departments"]}
                controls["level_labels"][lang] = {c["level"]: term(c["level"]) for c in controls["centres"]}
        scenarios = [{"id": n, "label": n} for n in shipped_scenarios()]
        scenarios += [{"id": k, "label": k.split(":", 2)[2]} for k in self.uploads]
        return {
            "version": __version__,
            "scenarios": scenarios,
            "controls": controls,
            "text": ui_text(),
            "languages": list(LANGUAGES),
            "lang": self.lang,
        }

    def upload(self, name: str, text: str) -> dict:
        """Check an uploaded scenario with the schema; keep it if valid (plug-ins by registered name only)."""
        with registered_names_only():  # a dotted path would import any module on this machine
            source = open_source(name=Path(name or "upload.yaml").name, text=text)
            controls = controls_of(source)
        key = self._keep(source)
        controls["scenario"] = key
        return {"id": key, "controls": controls}

    def run(self, body: dict) -> dict:
        """Check the settings, then start the comparison in a worker."""
        source = self.source(body.get("scenario"))
        settings = Settings.from_json(body.get("settings"))
        from sim.app.settings import load_settings

        load_settings(source, settings)  # the mistakes are shown at once, not after a worker starts
        job = self.jobs.start(
            "run", worker.comparison_job, (source, settings), client=str(body.get("client") or "") or None
        )
        return {"job": job.id}

    def report(self, body: dict) -> dict:
        """Start drawing the report of a finished comparison."""
        run = self.jobs.get(str(body.get("job")))
        if run is None or run.kind != "run" or run.state != "done":
            raise ScenarioError([Problem("report", None, "", "no finished run to report on; run first")])
        lang = body.get("lang") if body.get("lang") in LANGUAGES else "en"
        client = f"{run.client}:{lang}" if run.client else None  # a page has one report going per language
        job = self.jobs.start("report", worker.report_job, (lang,), client=client, folder=run.folder)
        return {"job": job.id, "file": f"report-{lang}.html"}

    def yaml(self, body: dict) -> str:
        """The scenario file of the page's settings."""
        return scenario_yaml(self.source(body.get("scenario")), Settings.from_json(body.get("settings")))


class Handler(BaseHTTPRequestHandler):
    """Requests to the app (one thread each)."""

    app: App
    server_version = f"town-sim-app/{__version__}"

    def log_message(self, format, *args):
        """Quiet: a teacher's terminal is not a log."""

    # ----------------------------------------------------------------- replies

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data, status: int = 200) -> None:
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=_plain)
        except ValueError:  # a NaN somewhere: JSON has no such number, the page reads null
            text = json.dumps(_finite(data), ensure_ascii=False, allow_nan=False, default=_plain)
        self._send(status, text.encode("utf-8"), "application/json; charset=utf-8")

    def _problems(self, err: ScenarioError) -> None:
        self._json({"problems": worker.problem_json(err)}, HTTPStatus.BAD_REQUEST)

    def _file(self, path: Path, content_type: str, download: str | None = None) -> None:
        if not path.is_file():
            self._json({"problems": [{"text": "not found", "message": "not found"}]}, HTTPStatus.NOT_FOUND)
            return
        extra = {"Content-Disposition": f'attachment; filename="{download}"'} if download else None
        self._send(200, path.read_bytes(), content_type, extra)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ScenarioError([Problem("upload", None, "", f"too large: at most {MAX_BODY:,} bytes")])
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ScenarioError([Problem("request", None, "", f"expected JSON: {err}")]) from None
        if not isinstance(body, dict):
            raise ScenarioError([Problem("request", None, "", "expected a JSON object")])
        return body

    # ----------------------------------------------------------------- routes

    def do_GET(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if not parts or parts == ["index.html"]:
                self._send(200, static_text("index.html").encode("utf-8"), "text/html; charset=utf-8")
            elif len(parts) == 2 and parts[0] == "static" and parts[1] in STATIC_FILES:
                self._send(200, static_text(parts[1]).encode("utf-8"), STATIC_FILES[parts[1]] + "; charset=utf-8")
            elif parts == ["favicon.ico"]:
                self._send(204, b"", "image/x-icon")
            elif parts == ["api", "init"]:
                name = parse_qs(url.query).get("scenario", [None])[0]
                self._json(self.app.init(name))
            elif len(parts) == 3 and parts[:2] == ["api", "job"]:
                job = self.app.jobs.get(parts[2])
                if job is None:
                    self._json({"problems": [{"text": f"no job {parts[2]}"}]}, HTTPStatus.NOT_FOUND)
                else:
                    self._json(job.as_json())
            elif len(parts) == 4 and parts[:2] == ["api", "job"]:
                job = self.app.jobs.get(parts[2])
                files = {
                    "incidents.csv": "text/csv; charset=utf-8",
                    "report-en.html": "text/html; charset=utf-8",
                    "report-zh.html": "text/html; charset=utf-8",
                    "summary.json": "application/json",
                }
                if job is None or parts[3] not in files:
                    self._json({"problems": [{"text": "not found"}]}, HTTPStatus.NOT_FOUND)
                else:
                    download = "report.html" if parts[3].startswith("report") else parts[3]
                    self._file(job.folder / parts[3], files[parts[3]], download)
            else:
                self._json({"problems": [{"text": f"no page {url.path}"}]}, HTTPStatus.NOT_FOUND)
        except ScenarioError as err:
            self._problems(err)

    def do_POST(self):
        parts = [p for p in urlparse(self.path).path.split("/") if p]
        try:
            body = self._body()
            if parts == ["api", "upload"]:
                self._json(self.app.upload(str(body.get("name") or "upload.yaml"), str(body.get("text") or "")))
            elif parts == ["api", "run"]:
                self._json(self.app.run(body))
            elif parts == ["api", "cancel"]:
                self._json({"cancelled": self.app.jobs.cancel(str(body.get("job")))})
            elif parts == ["api", "yaml"]:
                self._send(
                    200,
                    self.app.yaml(body).encode("utf-8"),
                    "application/yaml; charset=utf-8",
                    {"Content-Disposition": 'attachment; filename="scenario.yaml"'},
                )
            elif parts == ["api", "report"]:
                self._json(self.app.report(body))
            else:
                self._json({"problems": [{"text": f"no action {self.path}"}]}, HTTPStatus.NOT_FOUND)
        except ScenarioError as err:
            self._problems(err)
        except Busy as err:
            self._json(
                {"busy": True, "problems": [{"text": str(err), "message": str(err)}]}, HTTPStatus.SERVICE_UNAVAILABLE
            )


def _finite(value):
    """*value* with every NaN or infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return _plain(value) if hasattr(value, "item") else value


def _plain(value):
    """Numpy numbers and other stragglers as JSON."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def make_server(app: App, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    """A server for *app* on *host*:*port* (port 0: any free port); call ``serve_forever()``."""
    handler = type("AppHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
