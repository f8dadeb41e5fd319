"""``verify``: run the validation checks and publish the table (``docs/validation.md``).

The checks (:mod:`sim.verification.checks`) compare the simulator with queueing theory, Larson's
hypercube model and the Ciw simulator. ``--quick`` runs the fast subset at a looser precision,
as the tests do; the full set takes minutes. The exit code is 1 when a check that ran failed.
"""

from __future__ import annotations

import os
import sys

from sim.cli.common import user_error

ORDER = 40


def __getattr__(name: str):
    """``run_checks`` is imported when first asked for, not when the parser is built (tests may replace it)."""
    if name == "run_checks":
        from sim.verification.checks import run_checks

        return run_checks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(sub) -> None:
    """Add ``verify``."""
    parser = sub.add_parser("verify", help="check the simulator against theory, the hypercube model and Ciw")
    parser.add_argument("--quick", action="store_true", help="the fast subset at a looser precision (as in the tests)")
    parser.add_argument("--out", help="write the Markdown table to this file (e.g. docs/validation.md)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="worker processes (default: one per CPU)"
    )
    parser.set_defaults(handler=_cmd_verify)


def _cmd_verify(args) -> int:
    from sim.io.results import write_atomic
    from sim.verification.checks import format_report, headline

    if args.jobs < 1:
        raise user_error("--jobs", f"must be at least 1, got {args.jobs}")
    run_checks = sys.modules[__name__].run_checks  # this module's attribute, so that a test can replace it
    report = run_checks(
        quick=args.quick, jobs=args.jobs, progress=lambda line: print(line, file=sys.stderr, flush=True)
    )
    text = format_report(report)
    if args.out:
        write_atomic(args.out, text)
        print(f"{headline(report)}; wrote {args.out}")
    else:
        print(text)
    failed = [r for r in report.rows if r.status in ("outside", "imprecise")]
    return 1 if failed else 0
