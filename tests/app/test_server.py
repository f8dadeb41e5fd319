"""The app's API as the page uses it: runs in workers, progress, cancelling, problems, downloads."""

from __future__ import annotations

import csv
import io
import itertools
import time

import sim
from sim.app.settings import preset_levers
from sim.io.loader import load_scenario
from sim.io.results import INCIDENT_COLUMNS
from tests.app.conftest import call, serving, wait_for
from tests.conftest import SCENARIOS

FAST = {"levers": preset_levers("unified"), "days": 2}


def test_the_page_and_its_files_come_from_the_package(app_url):
    status, page = call(app_url + "/")
    assert status == 200 and "/static/app.js" in page and "http" not in page.split("<body>")[1]
    for name in ("app.js", "charts.js", "app.css"):
        assert call(f"{app_url}/static/{name}")[0] == 200
    assert call(app_url + "/static/../server.py")[0] == 404


def test_init_offers_the_shipped_scenarios_and_words_in_both_languages(app_url):
    status, data = call(app_url + "/api/init")
    assert status == 200
    assert "anhai_garbage.yaml" in [s["id"] for s in data["scenarios"]]
    assert data["controls"]["focus"] == "garbage_overflow"
    assert {d["name"] for d in data["controls"]["departments"]} >= {"sanitation", "enforcement"}
    assert data["text"]["zh"]["unified"] == "统一" and data["text"]["en"]["unified"] == "unified"


def test_a_run_gives_the_view_and_results_of_compare(app_url):
    status, started = call(app_url + "/api/run", {"client": "t1", "scenario": "classroom.yaml", "settings": FAST})
    assert status == 200
    job = wait_for(app_url, started["job"])
    assert job["state"] == "done" and job["progress"] == 1.0
    view = job["view"]
    assert view["modes"] == ["fragmented", "joint", "unified", "custom"]
    expected = sim.compare(sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2"]))
    for mode in ("fragmented", "joint", "unified"):
        assert (
            view["medians"][mode]
            == expected.summary["modes"][mode]["by_type"]["garbage_overflow"]["response_min"]["median"]
        )
    assert view["medians"]["custom"] == view["medians"]["unified"]  # custom = the unified levers
    assert "垃圾满溢" in view["text"]["zh"]["headline"] and "garbage overflow" in view["text"]["en"]["headline"]
    assert view["timeline"]["rows"].keys() == set(view["modes"])
    status, text = call(f"{app_url}/api/job/{started['job']}/incidents.csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == INCIDENT_COLUMNS
    assert len(rows) - 1 == sum(1 for _ in expected.records()) * 4 // 3  # every incident of the four modes


def test_a_new_run_of_the_same_page_cancels_the_one_going(app_url):
    _, first = call(app_url + "/api/run", {"client": "t2", "scenario": "anhai_garbage.yaml", "settings": {"days": 7}})
    _, second = call(app_url + "/api/run", {"client": "t2", "scenario": "classroom.yaml", "settings": FAST})
    assert wait_for(app_url, first["job"])["state"] == "cancelled"
    assert wait_for(app_url, second["job"])["state"] == "done"


def test_cancel_ends_the_worker(app_url):
    _, started = call(app_url + "/api/run", {"client": "t3", "scenario": "anhai_garbage.yaml", "settings": {}})
    status, answer = call(app_url + "/api/cancel", {"job": started["job"]})
    assert status == 200 and answer["cancelled"] is True
    assert wait_for(app_url, started["job"])["state"] == "cancelled"


def test_bad_settings_are_400_with_their_key(app_url):
    status, answer = call(app_url + "/api/run", {"client": "t4", "settings": {"units": {"sanitation": "lots"}}})
    assert status == 400 and answer["problems"][0]["path"] == "units.sanitation"


def test_an_upload_with_a_mistake_is_shown_with_its_line_and_key_path(app_url):
    text = (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8").replace("units: 2", "units: -2", 1)
    status, answer = call(app_url + "/api/upload", {"name": "mine.yaml", "text": text})
    assert status == 400
    problem = answer["problems"][0]
    assert (
        problem["line"]
        and problem["path"].endswith("units")
        and problem["text"].startswith(f"mine.yaml:{problem['line']}:")
    )
    status, answer = call(
        app_url + "/api/upload", {"name": "ok.yaml", "text": text.replace("units: -2", "units: 3", 1)}
    )
    assert status == 200 and answer["id"].startswith("upload:")
    _, started = call(app_url + "/api/run", {"client": "t5", "scenario": answer["id"], "settings": FAST})
    assert wait_for(app_url, started["job"])["state"] == "done"


def test_the_yaml_of_the_settings_and_the_report_in_chinese(app_url, tmp_path):
    settings = {**FAST, "units": {"sanitation": 1}}
    status, text = call(app_url + "/api/yaml", {"scenario": "classroom.yaml", "settings": settings})
    assert status == 200 and "custom:" in text
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert sim.load_scenario(path).department("sanitation").units == 1
    _, started = call(app_url + "/api/run", {"client": "t6", "scenario": "classroom.yaml", "settings": settings})
    assert wait_for(app_url, started["job"])["state"] == "done"
    status, report = call(app_url + "/api/report", {"job": started["job"], "lang": "zh"})
    assert status == 200
    assert wait_for(app_url, report["job"])["state"] == "done"
    status, page = call(f"{app_url}/api/job/{started['job']}/report-zh.html")
    assert status == 200 and "镇域综合执法模拟" in page and page.count("data:image/png;base64,") >= 4


def _ran_one_at_a_time(jobs, ids) -> bool:
    """No two of these jobs' processes ran at the same time (each started after the one before ended)."""
    spans = sorted((j.started, j.finished) for j in (jobs.get(i) for i in ids) if j.launched)
    return all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))


def test_runs_share_the_workers_up_to_a_cap_then_queue_then_refuse(tmp_path):
    from sim.app.jobs import Jobs

    jobs = Jobs(tmp_path, max_running=1, max_queued=1)
    long = {"days": 60, "replications": 20}  # minutes of work: still running when the others come
    with serving(jobs) as url:
        _, a = call(url + "/api/run", {"client": "tab-a", "scenario": "anhai_garbage.yaml", "settings": long})
        _, b = call(url + "/api/run", {"client": "tab-b", "scenario": "classroom.yaml", "settings": FAST})
        assert call(f"{url}/api/job/{a['job']}")[1]["state"] == "running"
        waiting = call(f"{url}/api/job/{b['job']}")[1]
        assert waiting["state"] == "queued" and waiting["ahead"] == 0 and jobs.counts() == (1, 1)
        status, refused = call(url + "/api/run", {"client": "tab-c", "scenario": "classroom.yaml", "settings": FAST})
        assert status == 503 and refused["busy"] is True and "busy" in refused["problems"][0]["text"]
        assert jobs.counts() == (1, 1), "a refused run takes no place"
        # tab a starts a new run: its old one is cancelled, its worker goes to b (first come), the new run waits
        _, a2 = call(url + "/api/run", {"client": "tab-a", "scenario": "classroom.yaml", "settings": FAST})
        assert call(f"{url}/api/job/{a['job']}")[1]["state"] == "cancelled"
        assert call(f"{url}/api/job/{a2['job']}")[1]["state"] == "queued"
        assert wait_for(url, b["job"])["state"] == "done"
        assert wait_for(url, a2["job"])["state"] == "done"
        end = time.monotonic() + 60  # a worker is given back when its process has ended, just after "done"
        while jobs.counts() != (0, 0) and time.monotonic() < end:
            time.sleep(0.05)
        assert jobs.counts() == (0, 0)
        assert _ran_one_at_a_time(jobs, [a["job"], b["job"], a2["job"]])


def test_a_queued_run_cancelled_never_starts(tmp_path):
    from sim.app.jobs import Jobs

    jobs = Jobs(tmp_path, max_running=1, max_queued=2)
    with serving(jobs) as url:
        _, a = call(url + "/api/run", {"client": "a", "scenario": "anhai_garbage.yaml", "settings": {"days": 60}})
        _, b = call(url + "/api/run", {"client": "b", "scenario": "classroom.yaml", "settings": FAST})
        _, c = call(url + "/api/run", {"client": "c", "scenario": "classroom.yaml", "settings": FAST})
        assert call(f"{url}/api/job/{c['job']}")[1]["ahead"] == 1
        assert call(url + "/api/cancel", {"job": b["job"]})[1]["cancelled"] is True
        assert call(f"{url}/api/job/{c['job']}")[1]["ahead"] == 0
        call(url + "/api/cancel", {"job": a["job"]})
        assert wait_for(url, c["job"])["state"] == "done"
        assert not jobs.get(b["job"]).launched and jobs.get(b["job"]).state == "cancelled"


def test_an_upload_may_name_registered_plugins_but_no_dotted_path(app_url):
    """A dotted path would import any module on the server: an uploaded file may use registered names only."""
    text = (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n"
    mode = "governance:\n  modes:\n    balanced: {based_on: unified, dispatch: %s}\n"
    status, answer = call(app_url + "/api/upload", {"name": "path.yaml", "text": text + mode % "'os:getcwd'"})
    assert status == 400
    problem = answer["problems"][0]
    assert problem["path"] == "governance.modes.balanced.dispatch"
    assert "a dotted path is not accepted here" in problem["text"] and "least_loaded" in problem["text"]
    status, answer = call(app_url + "/api/upload", {"name": "named.yaml", "text": text + mode % "least_loaded"})
    assert status == 200 and answer["id"].startswith("upload:")


def test_new_controls_offered_with_their_labels_and_refused_values_answered_with_their_key_path(app_url):
    status, data = call(app_url + "/api/init?scenario=jinjiang.yaml")
    scenario = load_scenario(SCENARIOS / "jinjiang.yaml")
    staffed_levels = list(dict.fromkeys(c.level for c in scenario.governance.centres if c.operators is not None))
    assert status == 200 and [c["level"] for c in data["controls"]["centres"]] == staffed_levels
    assert data["controls"]["level_labels"]["zh"]["town"] == "镇（街道）"
    assert "{level}" in data["text"]["zh"]["centre_operators"]
    settings = FAST | {"centre_operators": {"town": 0}}
    status, answer = call(app_url + "/api/run", {"client": "t9", "scenario": "jinjiang.yaml", "settings": settings})
    assert status == 400 and "Traceback" not in str(answer)
    paths = [p["path"] for p in answer["problems"]]
    assert paths and all(p.startswith("governance.centres.") and p.endswith(".operators") for p in paths)
    settings = FAST | {"campaigns": {"joint_operation": {"on": "off"}}}
    status, answer = call(app_url + "/api/run", {"client": "t9", "scenario": "anhai.yaml", "settings": settings})
    assert status == 400 and [p["path"] for p in answer["problems"]] == ["campaigns.joint_operation.on"]
