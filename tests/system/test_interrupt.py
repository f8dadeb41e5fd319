"""Ctrl-C during a run: it stops within a second, leaves no half-written file and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, SCENARIOS


def test_sigint_during_compare_stops_fast_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "compare", str(SCENARIOS / "jinjiang.yaml"), "--days", "60", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(3.0)
    assert process.poll() is None, "the run finished before it could be interrupted"
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert time.perf_counter() - sent < 1.0
    assert process.returncode == 130
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not out.exists() or not any(out.iterdir())
