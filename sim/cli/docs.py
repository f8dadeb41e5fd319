"""The ``docs`` command: regenerate the scenario guide from the schema and the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

ORDER = 60


def register(sub) -> None:
    """Add ``docs``."""
    parser = sub.add_parser("docs", help="write docs/scenarios.md (field reference and scenario results)")
    parser.add_argument("--out", default="docs/scenarios.md", help="file to write (default docs/scenarios.md)")
    parser.add_argument("--scenarios", default="scenarios", help="folder of scenarios to run (default scenarios)")
    parser.add_argument("--no-run", action="store_true", help="only the field reference; do not run the scenarios")
    parser.set_defaults(handler=_cmd_docs)


def _cmd_docs(args) -> int:
    from sim.io.results import write_atomic
    from sim.presentation.scenario_guide import scenario_guide

    paths = sorted(Path(args.scenarios).glob("*.yaml"))
    text = scenario_guide(paths, run=not args.no_run)
    print(f"wrote {write_atomic(args.out, text)}")
    return 0
