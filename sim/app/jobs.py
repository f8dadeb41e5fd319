"""Jobs in worker processes: start, follow, cancel.

A :class:`Jobs` keeps every job of the app. Each job is one process started from a
``forkserver`` that has imported :mod:`sim.app.worker` once (so a run starts in milliseconds,
and the server's threads are never forked); a thread reads what the job sends through its pipe
into the :class:`Job`. Cancelling a job that has not finished ends its process. A client (one
open page) has at most one comparison running: starting another cancels the first, which is how
moving a slider while a run is going cancels that run.
"""

from __future__ import annotations

import itertools
import multiprocessing
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Job", "Jobs"]


@dataclass
class Job:
    """One job and what is known of it (read by the page's polling)."""

    id: str
    kind: str
    folder: Path
    state: str = "running"  # running, done, cancelled, problems, error
    progress: float = 0.0
    step: str = ""
    view: dict | None = None
    problems: list | None = None
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    process: object = field(default=None, repr=False)

    def as_json(self, with_view: bool = True) -> dict:
        """What the page is told of the job."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 3),
            "step": self.step,
        }
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
    """The app's jobs, each in its own worker process."""

    def __init__(self, folder: str | Path | None = None):
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["sim.app.worker"])
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="sim-app-"))
        self._jobs: dict[str, Job] = {}
        self._by_client: dict[str, str] = {}
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

    def start(self, kind: str, target, args: tuple, client: str | None = None, folder: Path | None = None) -> Job:
        """Start ``target(conn, *args, folder)`` in a new process; *folder* is a new one by default.

        A job for a *client* cancels that client's previous job.
        """
        with self._lock:
            job_id = f"{kind}-{next(self._ids)}"
            previous = self._by_client.get(client) if client else None
            if client:
                self._by_client[client] = job_id
        if previous:
            self.cancel(previous)
        folder = folder or self.folder / job_id
        folder.mkdir(parents=True, exist_ok=True)
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=target, args=(send, *args, str(folder)), daemon=True)
        job = Job(job_id, kind, folder, process=process)
        with self._lock:
            self._jobs[job_id] = job
        process.start()
        send.close()
        threading.Thread(target=self._follow, args=(job, receive), daemon=True).start()
        return job

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

    def cancel(self, job_id: str) -> bool:
        """End the job's process if it is still running; True if it was."""
        job = self.get(job_id)
        if job is None:
            return False
        with self._lock:
            if job.state != "running":
                return False
            job.state, job.finished = "cancelled", time.perf_counter()
        job.process.terminate()
        return True

    def close(self) -> None:
        """Cancel every running job and remove the app's temporary files."""
        for job_id in list(self._jobs):
            self.cancel(job_id)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
