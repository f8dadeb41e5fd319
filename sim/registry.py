"""Extension points by name: dispatch rules, detection channels and metrics, built in or plugged in.

A scenario or a sweep names a plug-in in one of three ways, tried in this order:

1. a **registered name** -- a built-in (``nearest``, ``least_loaded``, ``delayed``, ``share_over_60``) or an
   entry point of the kind's group in an installed package::

       [project.entry-points."town_sim.dispatch_rules"]
       least_busy = "mypkg.rules:least_busy"

2. an importable **dotted path** ``module:attribute`` (``mypkg.rules:least_busy``), for code on
   ``PYTHONPATH`` that is not packaged.

The built-in plug-ins are listed the same way, as ``name -> "module:attribute"`` (:data:`BUILTINS`),
so there is one mechanism: a name is resolved to a module and an attribute, and the module is
imported where the run happens. Nothing is pickled: every backend (serial, a process pool, a Dask
cluster) resolves the same name in its own process, and :func:`code_fingerprint` hashes the source of
every module a name resolves to (and of the ``sim`` package), so a sweep can refuse workers whose
code differs from its own.

The contracts are in :mod:`sim.engine.rules` (dispatch rules), :mod:`sim.engine.detection` (detection
channels) and :mod:`sim.stats.plugins` (metrics).
"""

from __future__ import annotations

import contextvars
import hashlib
import importlib
import importlib.util
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "BUILTINS",
    "GROUPS",
    "KINDS",
    "Plugin",
    "PluginError",
    "names",
    "resolve",
    "registered_names_only",
    "is_path",
    "target_of",
    "unknown_message",
    "code_differences",
    "code_fingerprint",
    "modules_of",
]

KINDS = ("dispatch_rules", "detection_channels", "metrics")
"""The kinds of extension point."""

GROUPS = {kind: f"town_sim.{kind}" for kind in KINDS}
"""The entry-point group of each kind, e.g. ``town_sim.dispatch_rules``."""

NOUN = {"dispatch_rules": "dispatch rule", "detection_channels": "detection channel", "metrics": "metric"}

BUILTINS: dict[str, dict[str, str]] = {
    "dispatch_rules": {
        "own_queue": "sim.engine.rules:own_queue",
        "nearest": "sim.engine.rules:nearest",
        "least_loaded": "sim.engine.rules:least_loaded",
    },
    "detection_channels": {"delayed": "sim.engine.detection:delayed"},
    "metrics": {
        "share_over_60": "sim.stats.plugins:share_over_60",
        "share_not_reached": "sim.stats.plugins:share_not_reached",
    },
}
"""The plug-ins shipped with the simulator: name -> ``module:attribute`` per kind."""


class PluginError(ValueError):
    """A name that resolves to nothing usable; the message says why (and suggests a close name)."""


@dataclass(frozen=True)
class Plugin:
    """A resolved plug-in.

    Attributes
    ----------
    kind:
        One of :data:`KINDS`.
    name:
        The name it was asked for (a registered name or a dotted path).
    target:
        ``module:attribute`` it resolved to.
    obj:
        The attribute itself (a function or a class).
    """

    kind: str
    name: str
    target: str
    obj: Any

    @property
    def module(self) -> str:
        """The module that defines the plug-in."""
        return self.target.partition(":")[0]


def is_path(name: str) -> bool:
    """Whether *name* is a dotted path ``module:attribute`` rather than a registered name."""
    return ":" in name


@cache
def _entry_points(kind: str) -> dict[str, str]:
    """The ``name -> module:attribute`` of the installed entry points of *kind* (read once per process)."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUPS[kind])}


def names(kind: str) -> list[str]:
    """Every registered name of *kind*: built-ins first, then installed entry points."""
    return list(dict.fromkeys([*BUILTINS[kind], *_entry_points(kind)]))


def target_of(kind: str, name: str) -> str | None:
    """``module:attribute`` that *name* stands for, or None when it is not a registered name or a path."""
    if is_path(name):
        return name
    return BUILTINS[kind].get(name) or _entry_points(kind).get(name)


def unknown_message(kind: str, name: str, extra: Iterable[str] = ()) -> str:
    """The message for a name that is neither registered nor a dotted path, with a close name if any."""
    from sim.errors import did_you_mean

    known = [*names(kind), *extra]
    listed = ", ".join(names(kind)) or "none"
    hint = did_you_mean(name, known, otherwise=f"; expected one of: {listed}, or a dotted path 'module:attribute'")
    return f"unknown {NOUN[kind]} '{name}'{hint}"


def resolve(kind: str, name: str) -> Plugin:
    """The plug-in of *kind* called *name* (imported on first use, then cached).

    Raises
    ------
    PluginError
        If *name* is not registered, or its module cannot be imported, or it has no such attribute,
        or the attribute is not callable.
    """
    if kind not in GROUPS:
        raise ValueError(f"unknown kind of plug-in {kind!r}; expected one of {KINDS}")
    if is_path(name) and not _PATHS_ALLOWED.get():
        listed = ", ".join(names(kind))
        raise PluginError(
            f"{NOUN[kind]} '{name}': a dotted path is not accepted here; expected a registered name: {listed}"
        )
    target = target_of(kind, name)
    if target is None:
        raise PluginError(unknown_message(kind, name))
    return _load(kind, name, target)


_PATHS_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar("plugin_paths_allowed", default=True)


@contextmanager
def registered_names_only() -> Iterator[None]:
    """Inside the block, refuse dotted paths: only registered names resolve.

    For input from someone else (a scenario uploaded to the app): a dotted path imports any module
    installed on this machine, which only the machine's own user should decide.
    """
    token = _PATHS_ALLOWED.set(False)
    try:
        yield
    finally:
        _PATHS_ALLOWED.reset(token)


@cache
def _load(kind: str, name: str, target: str) -> Plugin:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise PluginError(f"{NOUN[kind]} '{name}': expected a dotted path 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise PluginError(f"{NOUN[kind]} '{name}': cannot import module '{module_name}' ({err})") from None
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise PluginError(f"{NOUN[kind]} '{name}': module '{module_name}' has no attribute '{attribute}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise PluginError(f"{NOUN[kind]} '{name}': '{target}' is not callable")
    return Plugin(kind, name, target, obj)


# --------------------------------------------------------------------------- code fingerprint

PACKAGE = "sim"


def modules_of(plugins: Iterable[Plugin]) -> list[str]:
    """The modules whose code determines results: ``sim`` and every plug-in's module outside it, sorted."""
    outside = {p.module for p in plugins if p.module != PACKAGE and not p.module.startswith(PACKAGE + ".")}
    return [PACKAGE, *sorted(outside)]


def code_fingerprint(modules: Iterable[str]) -> dict[str, str]:
    """SHA-256 of the source of each module (``sim``: of every ``.py`` file of the package).

    The hash is of the content and the file names relative to the package, so the same code gives
    the same fingerprint wherever it is installed. A module that cannot be found is ``"missing"``.
    """
    return {module: _source_hash(module) for module in modules}


@cache
def _source_hash(module: str) -> str:
    if module == PACKAGE:
        root = Path(__file__).resolve().parent
        files = sorted(root.rglob("*.py"))
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    if not origin or not os.path.isfile(origin):
        return "missing"
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest()


def code_differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """The modules whose fingerprint in *actual* differs from *expected* (sorted)."""
    return sorted(m for m in expected if actual.get(m) != expected[m])
