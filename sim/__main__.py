"""Entry point for ``python -m sim`` and the ``town-sim`` script.

Ctrl-C at any moment from :func:`run`'s first line ends the program with exit code 130 and a line
on stderr that starts with ``interrupted``, never a traceback or death by signal:

* during an import (start-up is mostly imports, and a command may import lazily as it works), the
  program exits at once: an import writes nothing, and an exception raised inside one can turn into
  something else (pydantic-core turns it into a panic, exit 1); the lock file of an output folder
  it holds is removed first;
* elsewhere Ctrl-C raises KeyboardInterrupt as usual: while a command works,
  :func:`sim.cli.main` catches it after the command has removed its unfinished files; before or
  after that, :func:`run` catches it.

From this module's import until :func:`run` starts (the ``town-sim`` script imports the module,
then calls :func:`run`), a Ctrl-C also ends the program at once with 130; the modules imported here
are all loaded by then (``import sim`` loads ``signal``), so the handler is in place before any import
after ``import sim``. Before that, Python
itself is starting (site, ``import sim``), and a Ctrl-C then is the interpreter's. A SIGINT that was ignored when the program started (a background job) stays
ignored.
"""

import os
import signal
import sys

INTERRUPTED = 130
MESSAGE = "interrupted: files of unfinished work were not written"


_IN_RUN = False
"""Whether :func:`run` has started: before, a Ctrl-C has no command to stop and ends the program at once."""


def run() -> None:
    """Run the command line and exit with its code (130 after Ctrl-C)."""
    global _IN_RUN
    try:
        _IN_RUN = True
        _catch_ctrl_c()
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:
        print(MESSAGE, file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED:
        _exit_interrupted()
    raise SystemExit(code)


def _catch_ctrl_c() -> None:
    """Handle SIGINT ourselves, unless it was ignored when the program started (a background job)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_ctrl_c)


def _on_ctrl_c(signum, frame) -> None:
    """SIGINT: exit at once if an import is running or :func:`run` has not started, else raise KeyboardInterrupt."""
    at_once = not _IN_RUN
    while frame is not None and not at_once:
        at_once = frame.f_code.co_filename.startswith("<frozen importlib")
        frame = frame.f_back
    if at_once:
        _release_output_folders()
        os.write(2, (MESSAGE + "\n").encode())
        os._exit(INTERRUPTED)
    raise KeyboardInterrupt


def _release_output_folders() -> None:
    """Remove the lock files of the output folders held (a command may import lazily while it holds one)."""
    results = sys.modules.get("sim.io.results")  # loaded if and only if a folder can be held: nothing to import
    if results is not None:
        results.release_held_locks()


def _exit_interrupted() -> None:
    """Exit with 130 after the exit handlers, without Python's own exit.

    Python remembers a KeyboardInterrupt that passed through some C code (seen when one landed in
    an extension's import) even after it was handled, and would then end by killing itself with
    SIGINT (exit -2) instead of exiting with 130.
    """
    import atexit  # here, not at the top: nothing new is imported before the handler is in place

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(INTERRUPTED)


_catch_ctrl_c()  # from this module's import on: the town-sim script imports it, then calls run()

if __name__ == "__main__":
    run()
