"""``staff`` and ``decompose`` results are results: ``report`` and ``plot`` accept their folders."""

from __future__ import annotations

import csv
import json

import pytest

from sim.cli import main
from tests.conftest import SCENARIOS

CLASSROOM = str(SCENARIOS / "classroom.yaml")


@pytest.fixture(scope="module")
def staff_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("staff")
    code = main(
        [
            "staff",
            CLASSROOM,
            "--target",
            "p90 response <= 60",
            "--days",
            "2",
            "--min-replications",
            "3",
            "--max-replications",
            "4",
            "--max-units",
            "8",
            "--baseline",
            "none",
            "--backend",
            "serial",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def decompose_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("decompose")
    assert main(["decompose", CLASSROOM, "-r", "3", "--days", "2", "--backend", "serial", "--out", str(out)]) == 0
    return out


def test_staff_writes_json_and_csv_in_units_and_people(staff_folder):
    data = json.loads((staff_folder / "staffing.json").read_text(encoding="utf-8"))
    result = data["results"][0]
    assert result["answer"] is not None
    crew = result["crew"]
    assert result["answer_people"] == sum(n * crew[d] for d, n in result["allocation"].items())
    assert result["answer_people"] == 2 * result["answer"]  # the classroom's crews are 2 people
    with (staff_folder / "trials.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["units"] for r in rows} == {str(t["units"]) for t in result["trials"]}
    answer = [r for r in rows if r["answer"] == "true"]
    assert len(answer) == 1 and answer[0]["people"] == str(result["answer_people"])


def test_staff_prints_its_answer_in_units_and_people(tmp_path, capsys):
    assert (
        main(
            [
                "staff",
                CLASSROOM,
                "--target",
                "p90 response <= 60",
                "--days",
                "2",
                "--min-replications",
                "3",
                "--max-replications",
                "3",
                "--max-units",
                "6",
                "--baseline",
                "none",
                "--backend",
                "serial",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("unified: "))
    assert " units = " in line and " people (" in line


def test_report_and_plot_accept_a_staff_folder(staff_folder, capsys):
    data = json.loads((staff_folder / "staffing.json").read_text(encoding="utf-8"))
    result = data["results"][0]
    assert main(["report", str(staff_folder)]) == 0
    page = (staff_folder / "report.html").read_text(encoding="utf-8")
    assert f"unified: {result['answer']} units = {result['answer_people']} people" in page
    assert 'id="staffing"' in page and "data:image/png;base64," in page
    figures = staff_folder / "plotted"
    assert main(["plot", str(staff_folder), "--out", str(figures)]) == 0
    assert (figures / "staffing.png").stat().st_size > 0 and (figures / "staffing.svg").exists()


def test_report_and_plot_accept_a_decompose_folder(decompose_folder):
    data = json.loads((decompose_folder / "decompose.json").read_text(encoding="utf-8"))
    assert main(["report", str(decompose_folder)]) == 0
    page = (decompose_folder / "report.html").read_text(encoding="utf-8")
    assert "Which lever buys how much: from fragmented to unified" in page
    assert 'id="waterfall"' in page
    for lever in data["levers"]:
        assert f"<td>{lever}</td>" in page
    figures = decompose_folder / "plotted"
    assert main(["plot", str(decompose_folder), "--out", str(figures)]) == 0
    assert (figures / "waterfall.png").stat().st_size > 0


def test_a_folder_with_no_results_is_still_refused(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "staffing.json" in err and "decompose.json" in err


def test_planning_results_carry_their_provenance(staff_folder, decompose_folder):
    for path in (staff_folder / "staffing.json", decompose_folder / "decompose.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        block = data["provenance"]
        assert len(block["code_sha256"]) == 64 and block["versions"]["simpy"] and block["created_utc"].endswith("Z")
        assert block["seed"] == data["seed"] and isinstance(block["seed"], int)
