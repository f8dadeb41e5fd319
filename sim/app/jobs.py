"""Jobs in worker processes: start, follow, cancel.

A :class:`Jobs` keeps every job of the app. Each job is one process started from a
``forkserver`` that has imported :mod:`sim.app.worker` once (so a run starts in milliseconds,
and the server's threads are never forked); a thread reads what the job sends through its pipe
into the :class:`Job`. Cancelling a job that has not finished ends its process. A client (one
open page) has at most one job of each kind: starting another cancels the first, which is how
moving a slider while a run is going cancels that run.

The machine's cores are shared by every open page: at most ``max_running`` jobs run at once
(default: the number of cores); a job started beyond that waits in a queue (state ``queued``,
with its place in the queue as its step) and starts when a running one ends or is cancelled. At
most ``max_queued`` jobs wait; one more is refused with :class:`Busy`, which the page shows.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Job", "Jobs", "Busy", "ACTIVE"]

ACTIVE = ("queued", "running")
"""The states of a job that has not ended."""


class Busy(RuntimeError):
    """Every worker is busy and the queue is full: the job was not started."""


@dataclass
class Job:
    """One job and what is known of it (read by the page's polling)."""

    id: str
    kind: str
    folder: Path
    state: str = "running"  # queued, running, done, cancelled, problems, error
    progress: float = 0.0
    step: str = ""
    view: dict | None = None
    problems: list | None = None
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    process: Any = field(default=None, repr=False)
    client: str | None = None
    ahead: int = 0
    launched: bool = False
    pending: tuple | None = field(default=None, repr=False)

    def as_json(self, with_view: bool = True) -> dict:
        """What the page is told of the job."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 3),
            "step": self.step,
        }
        if self.state == "queued":
            out["ahead"] = self.ahead
        if self.finished is not None:
            out["seconds"] = round(self.finished - self.started, 2)
        if with_view and self.view is not None:
            out["view"] = self.view
        if self.problems is not None:
            out["problems"] = self.problems
        if self.error is not None:
            out["error"] = self.error
        return out


class Jobs:
    """The app's jobs, each in its own worker process, at most ``max_running`` at once.

    Parameters
    ----------
    folder:
        Where the jobs write their files (a new temporary folder by default, removed by :meth:`close`).
    max_running:
        Jobs running at once, over every client (default: the number of cores).
    max_queued:
        Jobs waiting for a worker; one more is refused with :class:`Busy` (default: four per worker).
    """

    def __init__(self, folder: str | Path | None = None, max_running: int | None = None, max_queued: int | None = None):
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["sim.app.worker"])
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="sim-app-"))
        self.max_running = max(1, int(max_running or os.cpu_count() or 2))
        self.max_queued = max(0, int(4 * self.max_running if max_queued is None else max_queued))
        self._jobs: dict[str, Job] = {}
        self._by_client: dict[tuple[str, str], str] = {}
        self._running: set[str] = set()
        self._queue: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def warm_up(self) -> None:
        """Start the fork server now (it imports the simulator once), not at the first run."""
        from sim.app import worker

        process = self._context.Process(target=worker.ready)
        process.start()
        process.join()

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def counts(self) -> tuple[int, int]:
        """Jobs running and jobs waiting, now."""
        with self._lock:
            return len(self._running), len(self._queue)

    def start(self, kind: str, target, args: tuple, client: str | None = None, folder: Path | None = None) -> Job:
        """Start ``target(conn, *args, folder)`` in a new process; *folder* is a new one by default.

        A job for a *client* cancels that client's previous job of the same *kind* (its worker
        goes to the first job waiting). When every worker is busy the job waits at the end of the
        queue (state ``queued``).

        Raises
        ------
        Busy
            Every worker is busy and the queue is full (never when the client's previous job is
            replaced: that frees a worker or a place in the queue).
        """
        with self._lock:
            previous = self._jobs.get(self._by_client.get((client, kind), "")) if client else None
            stop = self._end(previous) if previous is not None and previous.state in ACTIVE else None
            launch = self._take_free()
            job, refusal = None, ""
            if len(self._running) >= self.max_running and len(self._queue) >= self.max_queued:
                refusal = (
                    f"the app is busy: {len(self._running)} runs going and {len(self._queue)} waiting, "
                    f"the most it takes ({self.max_running} at once, {self.max_queued} waiting); "
                    "try again in a moment"
                )
            else:
                job_id = f"{kind}-{next(self._ids)}"
                job = Job(job_id, kind, folder or self.folder / job_id, "queued", client=client, pending=(target, args))
                self._jobs[job_id] = job
                if client:
                    self._by_client[(client, kind)] = job_id
                self._queue.append(job_id)
                launch += self._take_free()
                self._number_queue()
        self._settle(stop, launch)  # whatever was ended or given a worker above, even when refused
        if job is None:
            raise Busy(refusal)
        return job

    def _settle(self, stop, launch: list[Job]) -> None:
        """End the process of a cancelled job (if any) and start those given a worker (outside the lock)."""
        if stop is not None:
            stop.terminate()
        for waiting in launch:
            self._launch(waiting)

    def _number_queue(self) -> None:
        """Tell each waiting job how many wait before it (under the lock)."""
        for ahead, job_id in enumerate(self._queue):
            self._jobs[job_id].ahead = ahead

    def _take_free(self) -> list[Job]:
        """Move waiting jobs to the free workers, first come first served (under the lock); they are to launch."""
        taken = []
        while self._queue and len(self._running) < self.max_running:
            job = self._jobs[self._queue.pop(0)]
            job.state, job.started = "running", time.perf_counter()
            self._running.add(job.id)
            taken.append(job)
        self._number_queue()
        return taken

    def _end(self, job: Job):
        """Mark *job* cancelled and free its place (under the lock); its process to terminate, if any."""
        job.state, job.finished = "cancelled", time.perf_counter()
        if job.id in self._queue:
            self._queue.remove(job.id)
            self._number_queue()
            return None
        self._running.discard(job.id)
        return job.process if job.launched else None

    def _launch(self, job: Job) -> None:
        """Start the process of a job given a worker (outside the lock)."""
        assert job.pending is not None, "a job is launched once"
        (target, args), job.pending = job.pending, None
        job.folder.mkdir(parents=True, exist_ok=True)
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=target, args=(send, *args, str(job.folder)), daemon=True)
        job.process = process
        process.start()
        send.close()
        with self._lock:
            job.launched = True
            cancelled = job.state != "running"
        if cancelled:  # cancelled while its process was starting
            process.terminate()
        threading.Thread(target=self._follow, args=(job, receive), daemon=True).start()

    def _promote(self) -> None:
        """Start waiting jobs on the free workers."""
        with self._lock:
            launch = self._take_free()
        for job in launch:
            self._launch(job)

    def _follow(self, job: Job, conn) -> None:
        while True:
            try:
                kind, *payload = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                if job.state != "running":
                    continue
                if kind == "progress":
                    job.progress, job.step = payload
                elif kind == "partial":
                    job.view = payload[0]
                elif kind == "done":
                    job.view, job.state, job.progress = payload[0], "done", 1.0
                elif kind == "problems":
                    job.problems, job.state = payload[0], "problems"
                elif kind == "error":
                    job.error, job.state = payload[0], "error"
        conn.close()
        job.process.join(timeout=5)
        with self._lock:
            if job.state == "running":  # the process died without a word
                job.state, job.error = (
                    "error",
                    f"the worker process ended unexpectedly (exit code {job.process.exitcode})",
                )
            job.finished = job.finished or time.perf_counter()
            self._running.discard(job.id)
        self._promote()

    def cancel(self, job_id: str) -> bool:
        """End the job (its process, or its place in the queue) if it has not ended; True if it had not."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state not in ACTIVE:
                return False
            stop = self._end(job)
        if stop is not None:
            stop.terminate()
        self._promote()
        return True

    def close(self) -> None:
        """Cancel every job not ended and remove the app's temporary files."""
        with self._lock:
            self._queue.clear()
        for job_id in list(self._jobs):
            self.cancel(job_id)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
