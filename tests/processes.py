"""Child processes measured by the work they do, not by the clock (Linux ``/proc`` and ``wait4``).

A test that stops a process (Ctrl-C) bounds the CPU time the process and its descendants spend
*after* the signal: unlike wall time, CPU time does not grow when the machine is busy with other
work, and it does grow when a process ignores the signal and goes on computing. Waits for a
process to get somewhere poll its progress with no deadline of their own; the test's
``pytest.mark.timeout`` is the guard against a hang.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.005
"""Pause between two looks at a child's progress (not a bound on anything)."""


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (field 3 onwards), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """Every live process below *pid* (children, their children, ...)."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parent_of[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parent_of.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of *pid*, its live descendants, and the children each has waited for."""
    total = 0
    for p in [pid, *descendants(pid)]:
        fields = _stat(p)
        if fields is not None:  # utime, stime, cutime, cstime are fields 14-17
            total += sum(int(x) for x in fields[11:15])
    return total / TICK


def cpu_of_run(command: list[str], cwd: Path) -> float:
    """CPU seconds *command* takes from start to exit (it and the descendants it waits for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=cwd, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def wait_until(predicate, process: subprocess.Popen) -> None:
    """Poll *predicate* until it holds; fail if *process* ends first. No deadline: see the module docstring."""
    while not predicate():
        assert process.poll() is None, f"the process ended first: {process.communicate()}"
        time.sleep(POLL_S)


@dataclass
class Stopped:
    """How a process ended after a signal."""

    returncode: int
    stdout: str
    stderr: str
    cpu_after_s: float
    """CPU seconds the process and the descendants it waited for spent after the signal."""
    processes: int
    """The process and its live descendants when the signal was sent."""


def signal_and_reap(process: subprocess.Popen, signum: int = signal.SIGINT, group: bool = False) -> Stopped:
    """Send *signum* to *process* (to its whole process group with *group*), read its output to the
    end, reap it with ``wait4`` and measure the CPU time spent after the signal.

    ``wait4`` reports the CPU time of the process and of every descendant it waited for; the
    same quantity read from ``/proc`` just before the signal (live descendants included) is
    subtracted.
    """
    processes = 1 + len(descendants(process.pid))
    before = cpu_seconds(process.pid)
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    output = {}
    readers = [
        threading.Thread(target=lambda name=name, stream=stream: output.__setitem__(name, stream.read()))
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Stopped(
        process.returncode, output["stdout"], output["stderr"], usage.ru_utime + usage.ru_stime - before, processes
    )
