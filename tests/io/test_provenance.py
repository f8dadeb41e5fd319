"""Provenance: one block, well formed, in summary.json, sweep.json and Parquet metadata; never in a table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest

import sim
from sim.io import provenance as prov
from sim.io.results import write_comparison
from sim.io.sweepfile import sweep_from_dict
from tests.conftest import SCENARIOS

SHA = re.compile(r"[0-9a-f]{64}")


def _well_formed(block: dict, seed) -> None:
    assert set(block) == set(prov.Provenance.__annotations__)
    assert SHA.fullmatch(block["code_sha256"]) and block["code_sha256"] == prov.code_fingerprint()
    assert block["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", block["git_commit"])
    assert block["sim_version"] == sim.__version__ == block["versions"]["sim"]
    assert set(block["versions"]) == {"sim", "python", *prov.DEPENDENCIES}
    assert all(block["versions"][name] for name in ("python", "simpy", "numpy", "scipy", "pydantic"))
    created = datetime.strptime(block["created_utc"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((datetime.now(timezone.utc).replace(tzinfo=None) - created).total_seconds()) < 3600
    assert isinstance(block["host"], str) and isinstance(block["command"], str) and block["command"]
    assert block["seed"] == seed


def test_the_block_is_well_formed():
    block = prov.provenance(seed=42, command=["python", "-m", "sim", "compare", "a b.yaml"])
    _well_formed(block, 42)
    assert block["command"] == "python -m sim compare 'a b.yaml'"
    assert json.loads(json.dumps(block)) == block
    assert set(prov.stable_part(block)) == set(block) - {"created_utc", "host", "command"}


def _package(tmp_path):
    package = tmp_path / "pkg" / "sim"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    (package / "sub").mkdir()
    (package / "sub" / "mod.py").write_text("y = 2\n")
    return package


def test_the_code_fingerprint_follows_the_source(tmp_path):
    package = _package(tmp_path)
    first = prov.code_fingerprint.__wrapped__(package)
    assert first == prov.code_fingerprint.__wrapped__(package)
    (package / "sub" / "mod.py").write_text("y = 3\n")
    assert prov.code_fingerprint.__wrapped__(package) != first
    (package / "sub" / "mod.py").write_text("y = 2\n")
    (package / "sub" / "mod.py").rename(package / "sub" / "other.py")  # same bytes, another file
    assert prov.code_fingerprint.__wrapped__(package) != first


def test_no_git_is_no_commit_never_an_error(tmp_path, monkeypatch):
    package = _package(tmp_path)
    assert prov.git_commit.__wrapped__(package) is None  # not a checkout
    (package.parent / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # git itself is absent
    assert prov.git_commit.__wrapped__(package) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_checkout_gives_its_commit(tmp_path):
    package = _package(tmp_path)
    root = package.parent
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert prov.git_commit.__wrapped__(package) == head.strip()


def test_summary_json_carries_the_block_beside_an_unchanged_summary(tmp_path):
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=1", "warmup_days=0.2", "drain_days=0.2"])
    comparison = sim.compare(scenario, seed=5)
    write_comparison(tmp_path, comparison)
    data = json.loads((tmp_path / "summary.json").read_text())
    _well_formed(data.pop("provenance"), 5)
    assert data == json.loads(json.dumps(comparison.summary))  # the rest is the summary, as before


def test_sweep_json_carries_the_block_outside_the_fingerprint(tmp_path):
    data = {
        "scenario": str(SCENARIOS / "classroom.yaml"),
        "set": ["days=1", "warmup_days=0.2", "drain_days=0.2"],
        "parameters": {"departments.sanitation.units": [1]},
        "modes": ["joint"],
        "metrics": ["within_target"],
        "seed": 9,
    }
    sweep = sweep_from_dict(data)
    manifest = sweep.manifest()
    _well_formed(manifest["provenance"], 9)
    again = sweep_from_dict(data)
    assert again.fingerprint() == sweep.fingerprint()  # however often (and wherever) it is made
    assert "provenance" not in json.dumps(sweep.design_record())
