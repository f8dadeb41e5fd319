"""The ``app`` command: the browser app, or the lesson page exported from it.

``python -m sim app [SCENARIO]`` serves the app on 127.0.0.1 (``--host`` to offer it to others)
until Ctrl-C; ``--export lesson.html`` writes the self-contained lesson page instead. The app's
modules are imported only here, when the command runs.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

from sim.cli.common import user_error

__all__ = ["ORDER", "register"]

ORDER = 35


def register(sub) -> None:
    """Add app."""
    p = sub.add_parser("app", help="the browser app: pull a lever, see the town change (or --export a lesson page)")
    p.add_argument("scenario", nargs="?", help="scenario YAML file or a shipped name (default anhai_garbage.yaml)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the app in the default browser")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="runs at once over every open page (default: the number of cores); more wait in a queue",
    )
    p.add_argument(
        "--export", metavar="FILE", help="write the self-contained lesson page (every lever combination) and exit"
    )
    p.set_defaults(handler=_cmd_app)


def _cmd_app(args) -> int:
    if not 0 <= args.port <= 65535:
        raise user_error("--port", f"expected 0 to 65535, got {args.port}")
    if args.scenario and not Path(args.scenario).is_file():
        from sim.app.settings import shipped_scenarios

        if args.scenario not in shipped_scenarios():
            raise user_error(
                "SCENARIO",
                f"{args.scenario}: no such file, and no shipped scenario of that name "
                f"(shipped: {', '.join(shipped_scenarios())})",
            )
    if args.export:
        from sim.app.lesson import write_lesson

        try:
            path = write_lesson(args.export, args.scenario, lang=args.lang, progress=print)
        except OSError as err:
            raise user_error("--export", f"cannot write there ({err.strerror or err}): {args.export}") from None
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open it in any browser, no network needed")
        return 0
    if args.workers is not None and args.workers < 1:
        raise user_error("--workers", f"expected 1 or more, got {args.workers}")
    from sim.app.jobs import Jobs
    from sim.app.server import App, make_server

    app = App(args.scenario, jobs=Jobs(max_running=args.workers), lang=args.lang)
    try:
        server = make_server(app, args.host, args.port)
    except OSError as err:
        app.jobs.close()
        raise user_error("--port", f"cannot listen on {args.host}:{args.port} ({err.strerror or err})") from None
    host, port = server.server_address[:2]
    assert isinstance(host, str)  # an AF_INET(6) server's address: (host, port, ...), never a bytes path
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
    print(f"the app is at {url} (Ctrl-C to stop)", flush=True)
    app.jobs.warm_up()
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
        app.jobs.close()
    return 0
