"""Where the runs of a sweep execute: here, in worker processes, or on a dask cluster.

A backend takes a picklable top-level function and a list of tasks and yields
``(index, result)`` as each task finishes, in whatever order they finish. The results do not
depend on the backend: every run is seeded from its own task, so the same sweep gives the same
table byte for byte on all of them (the caller sorts).

* ``serial`` -- one run after another in this process (for debugging and tiny sweeps);
* ``processes`` -- a pool of worker processes on this machine, one per core by default;
* ``dask`` -- a ``dask.distributed`` cluster: a running scheduler given by address
  (``tcp://host:8786``), or a ``LocalCluster`` started here. Installed with
  ``pip install '.[dask]'``.

Closing a backend after an interrupt stops its workers at once: unfinished runs are dropped,
finished ones have already been handed back.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from sim.errors import Problem, ScenarioError

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "DaskBackend",
    "ProcessBackend",
    "SerialBackend",
    "check_options",
    "cpu_count",
    "die_with_parent",
    "worker_count",
    "local_cluster",
    "open_backend",
]

BACKENDS = ("serial", "processes", "dask")
DASK_TIMEOUT_S = 30
DASK_RESUBMITS = 3
"""Times the dask backend submits a run again after its future failed with its worker."""
DASK_FETCH_TIMEOUT_S = 10
"""Seconds to fetch one finished run's row (a few hundred bytes); longer means its worker is gone."""
DASK_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
"""Dask settings for simulation workers: dask's statistical profiler samples every thread every
10 ms, which slows pure-Python runs by 7-15%. Set on a cluster of your own with the environment
variable ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``."""


class BackendError(RuntimeError):
    """The backend failed (a worker died, the scheduler went away); finished runs are kept."""


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Backend:
    """Runs tasks and yields ``(index, result)`` as they finish; use as a context manager."""

    name = "backend"
    workers = 1

    def imap(self, fn: Callable[[Any], Any], tasks: Sequence) -> Iterator[tuple[int, Any]]:
        """Yield ``(index into tasks, fn(task))`` in order of completion."""
        raise NotImplementedError

    def close(self, abort: bool = False) -> None:
        """Release the workers; with *abort*, stop unfinished work at once."""

    def check_code(self, code: dict[str, str]) -> None:
        """Refuse workers whose code differs from *code* (module -> hash, :func:`sim.registry.code_fingerprint`).

        Serial runs and a process pool run this machine's files; each run checks them again
        (:func:`sim.experiments.runs.run_task`). A Dask cluster's workers may run other files.
        """

    def __enter__(self):
        """The backend itself, closed at the end of the ``with`` block."""
        return self

    def __exit__(self, kind, error, trace) -> None:
        """Close the backend; abort unfinished work if the block raised."""
        self.close(abort=kind is not None)

    def describe(self) -> str:
        """E.g. ``processes x2``."""
        return f"{self.name} x{self.workers}"


class SerialBackend(Backend):
    """Every task in this process, in order."""

    name = "serial"

    def imap(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(task))`` for each task in turn."""
        for index, task in enumerate(tasks):
            yield index, fn(task)


def _ignore_interrupt() -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


PARENT_POLL_S = 1.0
"""How often a worker looks whether its parent is still alive (where the kernel cannot tell it)."""

PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal a process gets when its parent dies."""


def _worker_init(main_pid: int | None = None) -> None:
    """Set up a worker process: leave Ctrl-C to the parent, and die with the parent.

    A worker whose parent is killed (``kill -9``, the out-of-memory killer, a lost terminal)
    must not live on holding memory: on Linux the kernel sends it SIGKILL when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread checks every
    :data:`PARENT_POLL_S` seconds that the parent is still there and ends the worker if not.
    A forked worker also closes its copies of the parent's folder locks.
    """
    _ignore_interrupt()
    from sim.io.results import close_inherited_locks

    close_inherited_locks()
    die_with_parent(main_pid=main_pid)


def die_with_parent(kernel: bool = True, watch: bool = True, main_pid: int | None = None) -> None:
    """End this process when its parent process dies (see :func:`_worker_init`).

    With *kernel* (for processes started by the parent's main thread), also ask Linux to send
    SIGKILL at the parent's death; the kernel watches the thread that started the process, so a
    process started by another thread (a dask nanny's) relies on the watching thread only. With
    *watch*, a daemon thread also ends the process once its parent, or *main_pid* (the process
    that made the pool, when a forkserver is the parent), is gone.
    """
    parent = os.getppid()
    if kernel and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    if not watch:
        return

    def watching() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent or (main_pid is not None and not _exists(main_pid)):
                os._exit(1)

    threading.Thread(target=watching, name="parent-watch", daemon=True).start()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


class ProcessBackend(Backend):
    """A pool of worker processes on this machine.

    Workers start by ``fork`` where that is safe (Linux, and no other thread in this process
    when they start): they begin at once with the simulator already loaded. Otherwise they come
    from a ``forkserver`` that imports the simulator once (``spawn`` where there is none).
    *method* forces one of these.
    """

    name = "processes"

    def __init__(
        self,
        workers: int | None = None,
        method: str | None = None,
        preload: Sequence[str] = ("sim.experiments.runs",),
        tasks: int | None = None,
    ):
        self.workers = worker_count(workers, tasks)
        self.method, self.preload = method, list(preload)
        self.requested_method = method
        self.executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers now (call before this process starts threads, e.g. a progress bar's)."""
        if self.executor is not None:
            return
        self.method = self.method or _start_method()
        context = multiprocessing.get_context(self.method)
        if self.method == "forkserver":
            context.set_forkserver_preload([*self.preload, "sim.experiments._forkserver_guard"])
        self.executor = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        )
        if self.method == "fork":
            self.executor.submit(
                int
            ).result()  # a fork pool starts every worker at its first task: now, while single-threaded

    def imap(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(task))`` as tasks finish.

        A worker that dies (killed, out of memory) breaks the whole pool: the results that had
        finished are still yielded, and the unfinished tasks are given once to a fresh pool.
        If that pool breaks too, :class:`BackendError` says so.
        """
        pending = list(range(len(tasks)))
        for _attempt in (1, 2):
            if not pending:
                return
            self.start()
            executor = self.executor
            assert executor is not None  # start() made it
            futures: dict = {}
            yielded: set[int] = set()
            try:
                for index in pending:  # a worker may die, and break the pool, while the rest is submitted
                    futures[executor.submit(fn, tasks[index])] = index
                for future in as_completed(futures):
                    result = future.result()
                    yielded.add(futures[future])
                    yield futures[future], result
                return
            except BrokenProcessPool:
                pass
            finally:
                for future in futures:
                    future.cancel()
            finished = [
                (index, future.result())
                for future, index in futures.items()
                if index not in yielded and future.done() and not future.cancelled() and future.exception() is None
            ]
            for index, result in finished:
                yielded.add(index)
                yield index, result
            pending = [index for index in pending if index not in yielded]
            self._discard_broken_pool()
        raise BackendError(
            "a worker process died (killed, or out of memory?), and again after the unfinished runs went to fresh workers; "
            f"{len(tasks) - len(pending)} of {len(tasks)} runs finished and are kept"
        )

    def _discard_broken_pool(self) -> None:
        """Forget a pool whose worker died; the next :meth:`start` makes a fresh one."""
        self.close(abort=True)
        self.method = self.requested_method  # chosen afresh: a fork is only safe while no other thread runs

    def close(self, abort: bool = False) -> None:
        """Shut the pool down; with *abort*, cancel the tasks not yet started."""
        if self.executor is None:
            return
        executor, self.executor = self.executor, None
        if not abort:
            executor.shutdown(wait=True)
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())  # no public way to stop running work
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=2)


def _start_method() -> str:
    """``fork`` on Linux when this process runs no other thread (then it is safe), else ``forkserver`` or ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class DaskBackend(Backend):
    """A ``dask.distributed`` cluster: connect to *scheduler*, or start a local one with *workers* processes."""

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        timeout_s: float = DASK_TIMEOUT_S,
        tasks: int | None = None,
        dashboard: bool = False,
    ):
        try:
            from dask.distributed import Client
        except ImportError:
            raise ScenarioError(
                [
                    Problem(
                        "--backend",
                        None,
                        "",
                        "the dask backend needs dask.distributed; install it with: pip install '.[dask]'",
                    )
                ]
            ) from None
        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=timeout_s)
            else:
                self.cluster = local_cluster(worker_count(workers, tasks), dashboard=dashboard)
                self.client = Client(self.cluster, timeout=timeout_s)
        except OSError as err:
            self._close_cluster()
            raise ScenarioError(
                [Problem("--scheduler", None, "", f"cannot reach the dask scheduler at {scheduler}: {err}")]
            ) from None
        self.workers = len(self.client.scheduler_info().get("workers", {})) or (workers or 0)
        self.where = scheduler or "a local cluster"

    def imap(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(task))`` as tasks finish, each result fetched as soon as its task is done.

        A worker that dies takes its running task, and maybe finished results not yet fetched,
        with it. Dask reschedules such tasks by itself; a task whose future fails anyway (lost,
        or refused after killing workers ``distributed.scheduler.allowed-failures`` times) is
        submitted again, up to :data:`DASK_RESUBMITS` times, before :class:`BackendError`.
        Runs are seeded by their task, so a rerun gives the same result.
        """
        if not tasks:
            return
        from dask.distributed import as_completed as dask_completed

        futures = self.client.map(fn, list(tasks), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        live = {future.key: future for future in futures}
        resubmitted = dict.fromkeys(range(len(tasks)), 0)
        done = dask_completed(futures)
        try:
            for future in done:
                i = index.pop(future.key)
                live.pop(future.key, None)
                try:
                    result = future.result(timeout=DASK_FETCH_TIMEOUT_S)
                except Exception as err:
                    if resubmitted[i] >= DASK_RESUBMITS:
                        finished = len(tasks) - len(index) - 1
                        raise BackendError(
                            f"the dask cluster lost run {i + 1} {resubmitted[i] + 1} times ({type(err).__name__}: {err}); "
                            f"{finished} of {len(tasks)} runs finished and are kept"
                        ) from None
                    resubmitted[i] += 1
                    again = self.client.submit(fn, tasks[i], pure=False)
                    index[again.key], live[again.key] = i, again
                    done.add(again)
                    continue
                finally:
                    future.release()
                yield i, result
        finally:
            done.clear()
            self.client.cancel(list(live.values()))

    def check_code(self, code: dict[str, str]) -> None:
        """Ask every worker for the fingerprint of the modules in *code*; refuse the cluster if one differs.

        Raises
        ------
        ScenarioError
            Naming the workers and the modules whose source differs from this client's.
        """
        from sim.registry import code_differences, code_fingerprint

        try:
            answers = self.client.run(code_fingerprint, list(code))
        except Exception as err:  # e.g. workers with an older simulator, without sim.registry
            message = (
                f"the dask workers could not report their code ({type(err).__name__}: {err}); they may run another "
                "version of the simulator. Install the same simulator and plug-in modules on the workers and run again"
            )
            raise ScenarioError(
                [Problem("--scheduler" if self.cluster is None else "--backend", None, "", message)]
            ) from None
        wrong = {worker: code_differences(code, theirs) for worker, theirs in sorted(answers.items())}
        wrong = {worker: modules for worker, modules in wrong.items() if modules}
        if wrong:
            said = "; ".join(f"{worker}: {', '.join(modules)}" for worker, modules in wrong.items())
            message = (
                f"the dask workers run different code than this client (modules whose source differs: {said}); "
                "results would not be this code's. Install the same simulator and plug-in modules on the "
                "workers (same files on their PYTHONPATH), restart them, and run again"
            )
            raise ScenarioError([Problem("--scheduler" if self.cluster is None else "--backend", None, "", message)])

    def close(self, abort: bool = False) -> None:
        """Close the client and any cluster this backend started."""
        logger = logging.getLogger("distributed")
        level = logger.level
        if abort:  # stopping on purpose: dask's complaints about work cut short are not news
            logger.setLevel(logging.CRITICAL)
        try:
            self.client.close(timeout=5 if abort else DASK_TIMEOUT_S)
            self._close_cluster()
        finally:
            logger.setLevel(level)

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close(timeout=5)
            self.cluster = None

    def describe(self) -> str:
        """E.g. ``dask x4 (a local cluster)``."""
        return f"dask x{self.workers} ({self.where})"


def check_options(name: str, workers: int | None = None, scheduler: str | None = None) -> None:
    """Refuse an unknown backend, a bad worker count, or a scheduler given to another backend (ScenarioError)."""
    if name not in BACKENDS:
        raise ScenarioError(
            [Problem("--backend", None, "", f"unknown backend '{name}'; expected one of: {', '.join(BACKENDS)}")]
        )
    if workers is not None and workers < 1:
        raise ScenarioError([Problem("--workers", None, "", f"expected 1 or more; got {workers}")])
    if scheduler and name != "dask":
        raise ScenarioError(
            [Problem("--scheduler", None, "", f"a scheduler address is for --backend dask, not {name}")]
        )


def worker_count(workers: int | None = None, tasks: int | None = None) -> int:
    """Worker processes to start: as asked (default one per core), but no more than the cores or the runs to do.

    More processes than cores only share the cores, each with its own copy of the simulator;
    more than runs sit idle.
    """
    count = min(workers or cpu_count(), cpu_count())
    return max(1, min(count, tasks)) if tasks is not None else count


LOCALHOST = "127.0.0.1"


def local_cluster(workers: int | None = None, dashboard: bool = False):
    """A dask ``LocalCluster`` for simulation runs.

    One single-threaded worker process per core, the simulator preloaded in each, the profiler off (:data:`DASK_WORKER_CONFIG`).

    The scheduler and workers listen on this machine only (127.0.0.1); the dashboard is off
    unless *dashboard*, and then it too listens on 127.0.0.1 only (on a free port).
    """
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(DASK_WORKER_CONFIG):
        return LocalCluster(
            n_workers=workers or cpu_count(),
            threads_per_worker=1,
            processes=True,
            host=LOCALHOST,
            dashboard_address=f"{LOCALHOST}:0" if dashboard else None,
            silence_logs=logging.CRITICAL,
            preload=["sim.experiments.runs", __name__],
        )


def dask_setup(worker) -> None:
    """Dask preload hook, run in each worker process of :func:`local_cluster`: leave Ctrl-C to the parent.

    A terminal sends Ctrl-C to every process of the foreground group, the cluster's workers
    included; the parent stops them itself, without each printing its own traceback.
    """
    if threading.current_thread() is threading.main_thread():
        _ignore_interrupt()
    if multiprocessing.parent_process() is not None:  # a worker process of a local cluster
        die_with_parent(kernel=False)


@contextmanager
def open_backend(
    name: str = "processes", workers: int | None = None, scheduler: str | None = None, tasks: int | None = None
) -> Iterator[Backend]:
    """The backend called *name*, closed (and, after an error or interrupt, stopped) on exit.

    *tasks*, the number of runs to do, caps the worker processes started here (:func:`worker_count`).

    Raises
    ------
    ScenarioError
        For wrong options (:func:`check_options`), or a scheduler that cannot be reached.
    """
    check_options(name, workers, scheduler)
    backend: Backend
    if name == "serial":
        backend = SerialBackend()
    elif name == "processes":
        backend = ProcessBackend(workers, tasks=tasks)
        backend.start()
    else:
        backend = DaskBackend(workers, scheduler, tasks=tasks)
    with backend:
        yield backend
