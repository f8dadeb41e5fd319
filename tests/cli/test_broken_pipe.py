"""A reader that goes away (``python -m sim schema | head -1``) ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_schema_into_a_closed_pipe_exits_without_a_traceback():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sim", "schema"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.stderr == ""
    assert done.returncode == 1


def test_schema_piped_into_head_prints_its_first_line_only():
    done = subprocess.run(
        f"{sys.executable} -m sim schema | head -1", shell=True, capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.stdout == "{\n" and "Traceback" not in done.stderr, done.stderr
