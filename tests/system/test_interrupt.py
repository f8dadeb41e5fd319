"""Ctrl-C at any moment: while ``sim`` starts up and during a run, it ends with exit code 130,
says so, leaves no half-written file, and stops computing at once.

No assertion here reads a clock. "At once" is a bound on the CPU time the process spends after
the signal (see :mod:`tests.processes`); the moments the signal is sent are defined by the
child's own progress (its imports, read from ``python -X importtime``, or the CPU time it has
used), so a busy machine moves them in time but not in the program.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCENARIOS
from tests.processes import cpu_of_run, cpu_seconds, signal_and_reap, wait_until

AFTER_SIGNAL_CPU_S = 1.0
"""CPU seconds a process may spend after Ctrl-C: unwinding, removing files, exiting. The run it
stops has many more seconds of work left (checked), so a process that ignored the signal fails."""

LONG_COMPARE = ["compare", str(SCENARIOS / "jinjiang.yaml"), "--days", "60"]
"""About 60 CPU seconds of work: never over before the signal."""


def _import_lines_after(marker: str, command: list[str]) -> int:
    """How many ``-X importtime`` lines *command* prints after the import of module *marker* ends."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return len(names) - names.index(marker) - 1


def _interrupt_after_imports(command: list[str], marker: str, k: int):
    """Start *command*, send SIGINT as soon as it has printed *k* import lines after *marker*'s, and reap it."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, after = [], None
    while after is None or after < k:
        line = process.stderr.readline()
        assert line, f"the process ended before its import {k} after {marker}: {seen[-5:]}"
        seen.append(line)
        if line.startswith("import time:"):
            if after is not None:
                after += 1
            elif line.rsplit("|", 1)[1].strip() == marker:
                after = 0
    return signal_and_reap(process)


def _entry_points() -> list[tuple[str, list[str], str]]:
    """``python -m sim`` and the console script (``sim.__main__:run``), each counted from the end of ``import sim``."""
    script = Path(sys.executable).parent / "town-sim"
    entries = [("python -m sim", [sys.executable, "-X", "importtime", "-m", "sim"], "sim")]
    if script.exists():
        entries.append(("town-sim", [sys.executable, "-X", "importtime", str(script)], "sim"))
    return entries


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "name, start, marker", _entry_points(), ids=["python-m-sim", "town-sim"][: len(_entry_points())]
)
def test_sigint_at_any_moment_of_start_up_exits_130_with_a_message(name, start, marker, tmp_path):
    """Ctrl-C after the 1st, 2nd, 4th, ... import of start-up (up to the last before the work):
    each time exit code 130, a line starting with ``interrupted``, no traceback, no file.

    Before ``import sim`` ends, Python itself is starting and a Ctrl-C is the interpreter's (exit
    by signal, or 1 from ``site``); those moments are not sent here. The imports counted are
    those of a short ``compare`` run; the first one after ``sim`` is already inside
    ``sim.__main__.run``.
    """
    total = _import_lines_after(marker, [*start, "compare", str(SCENARIOS / "classroom.yaml"), "--days", "2"])
    moments = sorted({1, *(2**j for j in range(1, 12) if 2**j < total), total - 1})
    assert len(moments) >= 6, f"only {total} imports after {marker}: nothing to interrupt"
    for k in moments:
        out = tmp_path / f"out-{k}"
        stopped = _interrupt_after_imports([*start, *LONG_COMPARE, "--out", str(out)], marker, k)
        stderr = "".join(
            line
            for line in stopped.stderr.splitlines(keepends=True)
            if not line.startswith(("import time:", "warning:"))
        )
        assert stopped.returncode == 130, (name, k, stopped.returncode, stderr[-2000:])
        assert "Traceback" not in stderr and stderr.startswith("interrupted"), (name, k, stderr[-2000:])
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.timeout(600)
def test_sigint_during_compare_stops_at_once_and_writes_nothing(tmp_path):
    """Ctrl-C once the simulation runs (the child has used twice the CPU time of a whole 2-day
    run): exit 130, a message, no file, and at most AFTER_SIGNAL_CPU_S of CPU after the signal."""
    startup = cpu_of_run(
        [sys.executable, "-m", "sim", "compare", str(SCENARIOS / "jinjiang.yaml"), "--days", "2"], ROOT
    )
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", *LONG_COMPARE, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_until(lambda: cpu_seconds(process.pid) >= 2 * startup, process)
    stopped = signal_and_reap(process)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr and "interrupted" in stopped.stderr
    assert stopped.cpu_after_s < AFTER_SIGNAL_CPU_S, f"{stopped.cpu_after_s:.2f} CPU s after Ctrl-C"
    assert not out.exists() or not any(out.iterdir())


def test_ctrl_c_in_an_import_while_a_folder_is_held_leaves_no_lock_file(tmp_path):
    """A command may import lazily as it works (numpy loads ``numpy.ma`` on first use): a Ctrl-C that
    lands in such an import ends the program at once with 130 and removes the output folder's lock file
    (it was left behind, the folder no longer empty)."""
    (tmp_path / "slow_module.py").write_text(
        "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n"
    )
    out = tmp_path / "out"
    child = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import sim.__main__ as entry
        from sim.io.results import FolderLock
        entry._IN_RUN = True  # as inside run(): a command at work
        lock = FolderLock({str(out)!r}, "compare").acquire()
        import slow_module  # Ctrl-C lands inside this import
        print("not interrupted")
        """
    )
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith("interrupted") and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert out.is_dir() and not any(out.iterdir()), sorted(p.name for p in out.iterdir())
