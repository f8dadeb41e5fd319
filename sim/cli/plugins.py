"""The ``plugins`` command: the dispatch rules, detection channels and metrics a scenario or sweep may name."""

from __future__ import annotations

ORDER = 55

KIND_CHOICES = ("dispatch_rules", "detection_channels", "metrics")


def register(sub) -> None:
    """Add ``plugins``."""
    parser = sub.add_parser(
        "plugins",
        help="list the registered dispatch rules, detection channels and metrics (built in and entry points)",
        description="Every name a scenario (dispatch:, detection.<channel>.draw:) or a sweep (metrics:) may use, "
        "with the module:function it stands for. Any importable 'module:function' may be named as well.",
    )
    parser.add_argument("kind", nargs="?", choices=KIND_CHOICES, help="only this kind")
    parser.add_argument(
        "--code", action="store_true", help="also print the SHA-256 of the sim package and of each plug-in's module"
    )
    parser.set_defaults(handler=_cmd_plugins)


def _cmd_plugins(args) -> int:
    from sim.registry import BUILTINS, code_fingerprint, names, target_of

    modules = {"sim"}
    for kind in [args.kind] if args.kind else KIND_CHOICES:
        print(f"{kind}:")
        for name in names(kind):
            target = target_of(kind, name) or ""
            origin = "built in" if name in BUILTINS[kind] else "entry point"
            print(f"  {name:24} {target}  ({origin})")
            modules.add(target.partition(":")[0] if not target.startswith("sim.") else "sim")
    if args.code:
        print("code:")
        for module, digest in code_fingerprint(sorted(modules)).items():
            print(f"  {module:24} {digest}")
    return 0
