"""The simulating commands have glibc return big freed blocks to the system (``return_big_blocks_when_freed``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from sim.cli.common import return_big_blocks_when_freed

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

done = return_big_blocks_when_freed() if sys.argv[1] == "set" else None
big = np.ones(24 * 2**20 // 8)  # a big block freed: glibc raises its threshold to its size
del big
block = np.ones(8 * 2**20 // 8)  # 8 MiB: from the heap once the threshold is raised
small = np.ones(64)  # something after it on the heap
before = rss_kib()
del block
print(done, (before - rss_kib()) / 1024)
"""


def _freed_mib(how: str) -> tuple[str, float]:
    # glibc's own defaults: a tunable in the environment (Dask's workers set MALLOC_TRIM_THRESHOLD_) would change them
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True, env=env)
    done, freed = out.stdout.split()
    return done, float(freed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, on Linux")
def test_a_freed_big_array_goes_back_to_the_system_once_the_threshold_is_fixed():
    done, freed = _freed_mib("set")
    if done != "True":
        pytest.skip("not glibc (mallopt refused the threshold)")
    assert freed >= 7.0
    _, kept = _freed_mib("default")
    assert kept <= 1.0  # without it, the heap kept the block: the memory a run's peak was made of


def test_the_run_command_fixes_the_threshold(monkeypatch):
    from pathlib import Path

    from sim.cli import main, simulate

    calls = []
    monkeypatch.setattr(simulate, "return_big_blocks_when_freed", lambda: calls.append(1) or True)
    classroom = Path(__file__).parents[2] / "scenarios" / "classroom.yaml"
    assert main(["run", str(classroom), "--days", "3"]) == 0
    assert calls == [1]
