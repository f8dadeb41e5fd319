"""``verify``: run the validation checks and publish the table (``docs/validation.md``).

The checks (:mod:`sim.verification.checks`) compare the simulator with queueing theory, Larson's
hypercube model and the Ciw simulator. ``--quick`` runs the fast subset at a looser precision,
as the tests do; the full set takes minutes. The exit code is 1 when a check that ran failed.
"""

from __future__ import annotations

import os
import sys

from sim.cli.common import user_error
from sim.io.results import write_atomic
from sim.verification.checks import format_report, headline, run_checks

ORDER = 40


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
    if args.jobs < 1:
        raise user_error("--jobs", f"must be at least 1, got {args.jobs}")
    report = run_checks(quick=args.quick, jobs=args.jobs, progress=lambda line: print(line, file=sys.stderr, flush=True))
    text = format_report(report)
    if args.out:
        write_atomic(args.out, text)
        print(f"{headline(report)}; wrote {args.out}")
    else:
        print(text)
    failed = [r for r in report.rows if r.status in ("outside", "imprecise")]
    return 1 if failed else 0
