"""Reading scenario files: safe YAML with line numbers, overrides, and one clear message per problem.

This is the only place that parses YAML. The document is composed into nodes by PyYAML's safe
loader and walked here, so that every value's line is known, duplicate keys are caught, no
object is ever constructed from a tag, and work is bounded: libyaml's event parser first
refuses a document of more than :data:`MAX_NODES` values or :data:`MAX_DEPTH` levels in a
fraction of a second, and alias expansion is measured before it happens (a "billion laughs"
file fails in milliseconds instead of eating memory). The data then goes through the schema
(:mod:`sim.scenario.schema`), the cross-checks and :func:`limits` (values the schema admits but no run
could finish with); every problem is reported, with its key path written the way ``--set``
takes it (``departments.sanitation.units``), what was expected and what was given, and a "did
you mean" where a name looks like a typo. Numbers written ``1e5`` are numbers (as in YAML 1.2).
"""

from __future__ import annotations

import copy
import math
import os
import re
import stat
import sys
import typing
from collections.abc import Iterable
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticUndefined

from sim.errors import Problem, ScenarioError, closest, did_you_mean
from sim.scenario.centres import expand_centres
from sim.scenario.checks import cross_check
from sim.scenario.schema import Scenario

__all__ = [
    "load_scenario",
    "scenario_from_dict",
    "read_yaml",
    "read_user_bytes",
    "read_user_text",
    "open_user_file",
    "parse_yaml",
    "apply_overrides",
    "limits",
    "check_size",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_UNITS",
]

MAX_FILE_BYTES = 5_000_000
MAX_NODES = 500_000
MAX_DEPTH = 64

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_PLAIN = "only plain values are allowed (text, numbers, true/false, lists, mappings)"


class _Lines(dict):
    """Key path (tuple) -> 1-based line number."""


class _Fatal(Exception):
    """Stops the walk of a document that is too big or too deep to go on with."""


class _TooBig(Exception):
    """The document has more nodes than :data:`MAX_NODES` before any alias is expanded."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


# --------------------------------------------------------------------------- reading YAML


def read_yaml(path: str | os.PathLike, what: str = "a YAML scenario file") -> tuple[Any, _Lines]:
    """Parse a YAML file safely into plain data and a map of key paths to lines.

    *what* names the kind of file in messages (``a YAML sweep file``).

    Raises
    ------
    ScenarioError
        If the file is missing, not a regular file, unreadable, too large, not UTF-8, not YAML, or
        uses tags or aliases unsafely.
    """
    source = str(path)
    return parse_yaml(read_user_text(path, what), source)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind_of_file(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def read_user_bytes(path: str | os.PathLike, what: str = "a YAML scenario file", limit: int | None = None) -> bytes:
    """The bytes of a file a user named, read safely: a regular file only, and at most *limit* bytes.

    A named pipe would block forever and ``/dev/zero`` would read until memory runs out (their
    ``st_size`` is 0), so anything but a regular file is refused before it is opened, and again
    after (``fstat`` of the open file, opened without blocking: it cannot have been swapped for a
    pipe in between). The read itself stops at *limit* + 1 bytes (default :data:`MAX_FILE_BYTES`).

    Raises
    ------
    ScenarioError
        Naming the file and what was expected (exit code 2 on the command line).
    """
    source = str(path)
    limit = MAX_FILE_BYTES if limit is None else limit

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(source, None, "", message)])

    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise fail(f"is {_kind_of_file(mode)}; expected {what}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise fail(f"is {_kind_of_file(mode)}; expected {what}")
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise fail(f"file not found; expected {what} (check the path)") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the name
        raise fail(f"cannot read the file ({getattr(err, 'strerror', None) or err})") from None
    if len(data) > limit:
        raise fail(f"file is more than {limit:,} bytes; expected at most {limit:,}")
    return data


def open_user_file(path: str | os.PathLike, what: str):
    """A regular file a user named, opened for reading text (UTF-8); refused as :func:`read_user_bytes` refuses.

    For files read line by line whose size is not bounded here (a results folder's CSV tables).
    """
    source = str(path)

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(source, None, "", message)])

    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise fail(f"is {_kind_of_file(mode)}; expected {what}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        handle = os.fdopen(fd, "r", encoding="utf-8", newline="")
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            handle.close()
            raise fail(f"is {_kind_of_file(mode)}; expected {what}")
        return handle
    except FileNotFoundError:
        raise fail(f"file not found; expected {what} (check the path)") from None
    except (OSError, ValueError) as err:
        raise fail(f"cannot read the file ({getattr(err, 'strerror', None) or err})") from None


def read_user_text(path: str | os.PathLike, what: str = "a YAML scenario file", limit: int | None = None) -> str:
    """:func:`read_user_bytes` decoded as UTF-8; a byte that is not UTF-8 is reported by line and column."""
    data = read_user_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        bad = data[err.start : err.end].hex(" ")
        message = f"not UTF-8 text (byte {bad} in column {column} is {err.reason}); expected {what} saved as UTF-8"
        raise ScenarioError([Problem(str(path), line, "", message)]) from None


def parse_yaml(text: str, source: str) -> tuple[Any, _Lines]:
    """Parse YAML *text* (named *source* in messages); see :func:`read_yaml`."""
    lines = _Lines()
    loader = None
    try:
        _prescan(text, source)
        loader = _Loader(text)
        node = loader.get_single_node()
        data = _Walker(loader, source, lines).walk(node)
    except yaml.MarkedYAMLError as err:
        raise ScenarioError([_syntax_problem(err, source)]) from None
    except _TooBig as err:
        message = f"the document has more than {MAX_NODES:,} values; expected a smaller file"
        raise ScenarioError([Problem(source, err.line, "", message)]) from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        message = f"character #x{err.character:04x} is not allowed in YAML text"
        raise ScenarioError([Problem(source, line, "", message)]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(source, None, "", f"invalid YAML: {err}")]) from None
    except RecursionError:
        at = loader.get_mark().line + 1 if loader is not None else None
        message = f"nesting too deep (expected at most {MAX_DEPTH} levels), or an anchor that contains itself"
        raise ScenarioError([Problem(source, at, "", message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


class _Mark(Protocol):
    line: int


def _line_of(mark: _Mark | None) -> int | None:
    """The 1-based line of a parser mark (PyYAML's types allow an event without one)."""
    return None if mark is None else mark.line + 1


def _prescan(text: str, source: str) -> None:
    """Refuse a document with too many values or too deep a nesting before composing it.

    libyaml's event parser (when PyYAML has it) walks the text in C, without recursion and
    without building nodes, about 50 times faster than the pure-Python composer: a huge or
    deeply nested file is refused in a fraction of a second instead of after many seconds
    and hundreds of megabytes. Anything else it objects to (a syntax error) is left to the
    Python parser, whose messages the rest of this module words.
    """
    parser = getattr(yaml, "CSafeLoader", None)
    if parser is None:
        return
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    values = depth = 0
    try:
        for event in yaml.parse(text, Loader=parser):
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent) + starts):
                values += 1
                if values > MAX_NODES:
                    message = f"the document has more than {MAX_NODES:,} values; expected a smaller file"
                    raise ScenarioError([Problem(source, _line_of(event.start_mark), "", message)])
            if isinstance(event, starts):
                depth += 1
                if depth > MAX_DEPTH + 1:
                    message = f"nesting deeper than {MAX_DEPTH} levels; expected a shallower document"
                    raise ScenarioError([Problem(source, _line_of(event.start_mark), "", message)])
            elif isinstance(event, ends):
                depth -= 1
    except yaml.YAMLError:
        return


_TAG_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "nothing (null)"}


def _unreadable_scalar(node) -> str:
    """Why a scalar could not be read: a tag it does not fit (``!!int abc``) or a number too long for Python."""
    kind = node.tag.removeprefix("tag:yaml.org,2002:")
    digits = sum(c.isdigit() for c in node.value)
    if kind == "int" and digits > sys.get_int_max_str_digits():
        return f"a number of {digits:,} digits; expected at most {sys.get_int_max_str_digits():,} digits"
    wanted = _TAG_WORDS.get(kind, kind)
    return f"{_given(node.value)} cannot be read as {wanted} (YAML type !!{kind}); expected {wanted}"


def _has_surrogate(text: str) -> bool:
    """Whether *text* holds a lone UTF-16 surrogate (which cannot be written as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _syntax_problem(err: yaml.MarkedYAMLError, source: str) -> Problem:
    """A YAML syntax error as a problem at the line PyYAML points to."""
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark else None
    message = " ".join(filter(None, [err.context, err.problem])).strip() or "invalid YAML"
    if "\t" in (err.problem or "") or "'\\t'" in message:
        message += " (YAML indents with spaces, not tabs)"
    return Problem(source, line, "", f"YAML syntax error: {message}")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting composed nodes so that a huge document stops early."""

    composed = 0

    def compose_node(self, parent, index):
        """Compose one node, refusing more than :data:`MAX_NODES`."""
        self.composed += 1
        if self.composed > MAX_NODES:
            raise _TooBig(self.get_mark().line + 1)
        return super().compose_node(parent, index)


# YAML 1.1 (PyYAML) reads 1e5 and 1.0e308 as text: a float needs a dot and a signed exponent
# (1.0e+5). People write 1e5 for a number, and YAML 1.2 agrees; so do we.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_BILLION_LAUGHS = (
    f"the document expands to more than {MAX_NODES:,} values: aliases (*name) repeat anchors "
    "(&name) inside each other (a 'billion laughs'); expected each anchor to be used a few times"
)


class _Walker:
    """Turns composed YAML nodes into dicts, lists and scalars, recording lines and bounding work.

    Problems that leave the rest of the document readable (a duplicate key, an unsupported tag)
    are collected and reported together; a document too big or too deep stops the walk.
    """

    def __init__(self, loader: yaml.SafeLoader, source: str, lines: _Lines):
        self.loader, self.source, self.lines = loader, source, lines
        self.nodes = 0
        self.problems: list[Problem] = []
        self.open: set[int] = set()

    def walk(self, node) -> Any:
        """The plain data of the document *node* (None for an empty document)."""
        try:
            if node is not None:
                self._check_expansion(node)
            data = None if node is None else self.build(node, ())
        except _Fatal:
            pass
        if self.problems:
            raise ScenarioError(self.problems)
        return data

    def note(self, node, path, message) -> None:
        """Record a problem at *node* and carry on."""
        self.problems.append(Problem(self.source, node.start_mark.line + 1, _dotted(path), message))

    def fatal(self, node, path, message):
        """Record a problem at the top-level key holding *node* and stop the walk."""
        top = tuple(p for p in path if p != "<key>")[:1]
        line = self.lines.get(top, node.start_mark.line + 1)
        self.problems.append(Problem(self.source, line, _dotted(top), message))
        raise _Fatal

    def build(self, node, path: tuple) -> Any:
        """Plain data for *node* at key *path*."""
        self._count(node, path)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in self.open:
            self.fatal(
                node, path, "an alias (*name) refers to the anchor (&name) that contains it; expected a finite value"
            )
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            return self._scalar(node, path)
        finally:
            self.open.discard(id(node))

    def _check_expansion(self, root) -> None:
        """Refuse at once a document whose aliases expand to more than :data:`MAX_NODES` values.

        The expanded size of every node is computed once (aliases share nodes), counting what
        :meth:`build` would visit, so a billion laughs is refused in milliseconds, at the
        top-level key where the count passes the limit, instead of after walking the limit.
        """
        sizes: dict[int, int] = {}
        limit = MAX_NODES + 1

        def size(node) -> int:
            known = sizes.get(id(node))
            if known is not None:
                return known
            sizes[id(node)] = 0  # an alias inside its own anchor: build() reports it
            total = 1
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                for key, value in node.value:
                    if key.tag != _MERGE_TAG:
                        total += size(key) + size(value)
                    else:
                        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                        total += sum(size(source) for source in sources if isinstance(source, yaml.MappingNode))
                    if total > limit:
                        break
            elif isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                for item in node.value:
                    total += size(item)
                    if total > limit:
                        break
            sizes[id(node)] = min(total, limit)
            return sizes[id(node)]

        if size(root) <= MAX_NODES:
            return
        total, line = 1, root.start_mark.line + 1
        top: tuple = ()
        for i, item in enumerate(root.value if isinstance(root, (yaml.MappingNode, yaml.SequenceNode)) else []):
            key, value = item if isinstance(root, yaml.MappingNode) else (None, item)
            total += (size(key) if key is not None else 0) + size(value)
            if total > MAX_NODES:
                name = key.value if key is not None and isinstance(key, yaml.ScalarNode) else i
                top, line = (name,), (key or value).start_mark.line + 1
                break
        self.problems.append(Problem(self.source, line, _dotted(top), _BILLION_LAUGHS))
        raise _Fatal

    def _count(self, node, path) -> None:
        """Stop when the expanded document is too big or too deep."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fatal(node, path, _BILLION_LAUGHS)
        if len(path) > MAX_DEPTH:
            self.fatal(node, path, f"nesting deeper than {MAX_DEPTH} levels; expected a shallower document")

    def _scalar(self, node, path) -> Any:
        """A plain scalar (text, number, true/false, null); any other tag is refused."""
        if node.tag == _TIMESTAMP_TAG:
            return node.value  # a date is kept as the text written, e.g. a name like 2024-06-01
        if node.tag not in _SCALAR_TAGS:
            self.note(node, path, f"YAML tag {_short_tag(node.tag)} is not allowed: {_PLAIN}")
            return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError):
            self.note(node, path, _unreadable_scalar(node))
            return None
        if isinstance(value, str) and _has_surrogate(value):
            lone = next(c for c in value if 0xD800 <= ord(c) <= 0xDFFF)
            message = f"the text holds \\u{ord(lone):04x}, half of a surrogate pair and not a character; expected Unicode text"
            self.note(node, path, message)
            return None
        return value

    def _sequence(self, node, path) -> list:
        """A plain list."""
        if node.tag != _SEQ_TAG:
            self.note(node, path, f"YAML tag {_short_tag(node.tag)} is not allowed: {_PLAIN}")
            return []
        return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]

    def _mapping(self, node, path) -> dict:
        """A plain mapping: own keys once each, then keys merged in by ``<<``."""
        if node.tag != _MAP_TAG:
            self.note(node, path, f"YAML tag {_short_tag(node.tag)} is not allowed: {_PLAIN}")
            return {}
        out: dict = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in out:
                first = self.lines.get(path + (key,))
                message = f"duplicate key '{key}' (first given on line {first}); expected each key once"
                self.note(key_node, path + (key,), message)
                continue
            self.lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            out[key] = self.build(value_node, path + (key,))
        for source in merges:
            for key, value in self._merged(source, path).items():
                out.setdefault(key, value)
        return out

    def _key(self, key_node, path) -> str | None:
        """A mapping key as text, or None (with a problem) when it is not a plain name."""
        key = self.build(key_node, path + ("<key>",))
        if isinstance(key, (dict, list)) or key is None:
            self.note(key_node, path, f"a key must be a plain name, got {_kind(key)}")
            return None
        return key if isinstance(key, str) else str(key)

    def _merged(self, node, path) -> dict:
        """The keys a ``<<: *anchor`` merge brings in (earlier merges win, as in YAML)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out: dict = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.note(source, path, "'<<' (merge) expects an alias to a mapping, or a list of them")
                continue
            for key, value in self.build(source, path).items():
                out.setdefault(key, value)
        return out


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | os.PathLike, overrides: Iterable[str] = ()) -> Scenario:
    """Load, override and validate a scenario file.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file.
    overrides : iterable of str
        ``key.path=value`` strings (as ``--set`` on the command line); list items may be named
        by their ``name`` (``departments.sanitation.units=6``) or by index.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the file, line, key path and what was expected.
    """
    data, lines = read_yaml(path)
    return scenario_from_dict(data, source=str(path), lines=lines, overrides=overrides)


def scenario_from_dict(
    data: Any, source: str = "<scenario>", lines: dict | None = None, overrides: Iterable[str] = ()
) -> Scenario:
    """Validate plain data (as parsed from YAML) into a :class:`~sim.scenario.schema.Scenario`.

    Parameters
    ----------
    data : Any
        The scenario as plain data (mappings, lists, numbers, text).
    source : str
        What the data came from, for messages (a file name).
    lines : dict, optional
        Key path -> line number in *source*, for messages.
    overrides : iterable of str
        ``key.path=value`` strings applied before validation (as ``--set``).

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        With every problem found (schema problems first; cross-checks once the schema passes).
    """
    lines = lines or {}
    if data is None:
        raise ScenarioError([Problem(source, None, "", "the file is empty; expected a scenario (a mapping of keys)")])
    if not isinstance(data, dict):
        message = (
            "expected a scenario (a mapping of keys such as 'name:', 'departments:') "
            f"at the top level, got {_kind(data)}"
        )
        raise ScenarioError([Problem(source, lines.get((), 1), "", message)])
    check_size(data, source, lines)
    data, overridden, problems = _apply_overrides(data, overrides)
    data, table = _read_files(data, source, lines, problems)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(problems + _problems_from_validation(err, data, source, lines, overridden)) from None
    checks = cross_check(scenario) + limits(scenario) + _camera_checks(scenario)
    problems += [_problem(source, lines, data, path, message, overridden) for path, message in checks]
    if problems:
        raise ScenarioError(problems)
    scenario = expand_centres(scenario)  # centres declared per sector or grid (each) become plain centres
    if table is not None:
        assert scenario.travel is not None  # a table is read only for a travel section
        scenario = scenario.model_copy(update={"travel": scenario.travel.with_table(table)})
    return scenario


def _camera_checks(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Cameras that see no patch at all: coordinates on another map (or in metres, not km)."""
    cameras = scenario.territory.cameras
    if cameras is None or cameras.points is None:
        return []
    import numpy as np

    from sim.engine.territory import build_town, camera_view

    xy = build_town(scenario.territory.model_copy(update={"cameras": None})).xy_km
    if camera_view(xy, cameras).any():
        return []
    at = np.array([[c.x_km, c.y_km] for c in cameras.points])
    nearest = float(np.hypot(xy[:, None, 0] - at[None, :, 0], xy[:, None, 1] - at[None, :, 1]).min())
    where = "the layer's CRS and " if cameras.file else ""
    message = (
        f"no patch centre lies within view_radius_km ({cameras.view_radius_km:g} km) of any camera: the nearest "
        f"is {nearest:,.3g} km away; check {where}the cameras' coordinates (km, on the patches' map)"
    )
    return [(("territory", "cameras"), message)]


def _read_files(data: dict, source: str, lines: dict, problems: list[Problem]) -> tuple[dict, Any]:
    """Read the GIS layer and road network a scenario names (:mod:`sim.io.gis`, imported only then)."""
    territory = data.get("territory")
    if not ((isinstance(territory, dict) and territory.get("gis") is not None) or isinstance(data.get("travel"), dict)):
        return data, None
    from sim.io import gis

    data, table, found = gis.resolve(data, source, lines)
    if found:
        raise ScenarioError(problems + found)
    return data, table


def check_size(data: Any, source: str, lines: dict | None = None) -> None:
    """Refuse plain data nested deeper than :data:`MAX_DEPTH` or holding more than :data:`MAX_NODES` values.

    What :func:`parse_yaml` guarantees for a file, for data built in Python: copying and
    validating it then cannot exhaust the stack or the memory. Shared (or cyclic) parts count
    each time they are reached, as aliases do.

    Raises
    ------
    ScenarioError
        Naming the top-level key where the limit was passed.
    """
    lines = lines or {}
    stack: list[tuple[tuple, Any]] = [((), data)]
    seen = 0
    while stack:
        path, node = stack.pop()
        seen += 1
        if seen > MAX_NODES or len(path) > MAX_DEPTH:
            top = path[:1]
            message = (
                f"nesting deeper than {MAX_DEPTH} levels; expected a shallower document"
                if len(path) > MAX_DEPTH
                else f"the document has more than {MAX_NODES:,} values (counting each shared part each time); expected less"
            )
            raise ScenarioError([Problem(source, lines.get(top), _dotted(top), message)])
        if isinstance(node, dict):
            stack += [(path + (k,), v) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            stack += [(path + (i,), v) for i, v in enumerate(node)]


# --------------------------------------------------------------------------- limits


MAX_UNITS = 200_000
"""Field units of all departments, and grid workers of all grids, one run may hold (each costs memory)."""
MAX_REFERRAL_STEPS = 1_000
"""Hand-over steps of one referral (each is computed for every referred matter)."""
MAX_MISROUTE = 0.99
"""Chance a forward goes astray: at 0.99 a matter already bounces about 100 times on average."""
MIN_GAMMA_CV = 1e-6
"""Smallest coefficient of variation of a gamma duration (its shape is 1 / cv**2)."""


def limits(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Values the schema admits but no run could finish with: (key path, message) pairs.

    They guard the run rather than the file: a referral of a trillion hand-overs, a misrouting
    chance so close to 1 that a matter never arrives, weights that add up to infinity, a million
    units. Each message says the limit and why.
    """
    out: list[tuple[tuple, str]] = []
    territory = scenario.territory
    if territory.grid is not None and territory.grid.weights is not None:
        out += _finite_list(("territory", "grid", "weights"), territory.grid.weights)
    if territory.patches is not None:
        weights = [p.weight for p in territory.patches]
        if not math.isfinite(sum(weights)):
            out.append(
                (
                    ("territory", "patches"),
                    f"the patch weights add up to infinity (more than {sys.float_info.max:.1e}); expected smaller weights",
                )
            )
    for i, itype in enumerate(scenario.incident_types):
        if itype.profile is not None:
            out += _finite_list(("incident_types", i, "profile"), itype.profile)
    referral = scenario.governance.referral
    for channel, steps in referral.steps.items():
        if steps > MAX_REFERRAL_STEPS:
            path = ("governance", "referral", "steps", channel)
            out.append((path, f"expected at most {MAX_REFERRAL_STEPS:,} hand-over steps; got {steps:,}"))
    if referral.misroute_probability > MAX_MISROUTE:
        message = (
            f"expected at most {MAX_MISROUTE:g} (at {referral.misroute_probability:g} a matter would bounce "
            f"about {1 / (1 - referral.misroute_probability):,.0f} times before it arrives); got {referral.misroute_probability:g}"
        )
        out.append((("governance", "referral", "misroute_probability"), message))
    out += _gamma_cvs(scenario, ())
    units = sum(d.units for d in scenario.departments)
    if units > MAX_UNITS:
        message = f"{units:,} units in all departments; one run is limited to {MAX_UNITS:,} (each unit costs memory)"
        out.append((("departments",), message))
    if scenario.grid_management is not None:
        grids = (
            territory.grid.grids[0] * territory.grid.grids[1]
            if territory.grid
            else len({p.grid for p in territory.patches or ()})
        )
        workers = grids * scenario.grid_management.workers_per_grid
        if workers > MAX_UNITS:
            message = (
                f"{grids:,} grids x {scenario.grid_management.workers_per_grid:,} workers = {workers:,} grid workers; "
                f"one run is limited to {MAX_UNITS:,}"
            )
            out.append((("grid_management", "workers_per_grid"), message))
    return out


def _finite_list(path: tuple, numbers: list[float]) -> list[tuple[tuple, str]]:
    """Each number finite, and their sum too."""
    for j, number in enumerate(numbers):
        if not math.isfinite(number):
            return [(path + (j,), f"expected a finite number; got {number}")]
    if not math.isfinite(sum(numbers)):
        return [
            (path, f"the numbers add up to infinity (more than {sys.float_info.max:.1e}); expected smaller numbers")
        ]
    return []


def _gamma_cvs(model: BaseModel, path: tuple) -> list[tuple[tuple, str]]:
    """Gamma durations anywhere under *model* whose cv is too small to draw from."""
    out = []
    cv: float = getattr(model, "cv", math.inf)  # a duration model's; checked only for a gamma one, which has it
    if getattr(model, "dist", None) == "gamma" and cv < MIN_GAMMA_CV:
        message = (
            f"expected a cv of at least {MIN_GAMMA_CV:g} for a gamma duration (a fixed duration has none); got {cv:g}"
        )
        out.append((path + ("cv",), message))
    for name in type(model).model_fields:
        value = getattr(model, name)
        children = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, (list, tuple))
            else [(None, value)]
        )
        for key, child in children:
            if isinstance(child, BaseModel):
                out += _gamma_cvs(child, path + (name,) + (() if key is None else (key,)))
    return out


# --------------------------------------------------------------------------- overrides


def apply_overrides(data: dict, overrides: Iterable[str], source: str = "--set") -> tuple[dict, set]:
    """Apply ``key.path=value`` overrides to a copy of *data*; values are read as YAML (safely).

    Returns the new data and the key paths that were set.

    Raises
    ------
    ScenarioError
        With a problem from ``--set`` for every bad override, naming its key path and what was expected.
    """
    data, overridden, problems = _apply_overrides(data, overrides)
    if problems:
        raise ScenarioError(problems)
    return data, overridden


def schema_problems(data: dict, overrides: Iterable[str]) -> list[Problem]:
    """What the scenario schema alone (types, ranges, names) says of *data* with *overrides* applied.

    Unlike :func:`scenario_from_dict`, the schema's own validators, which may compare fields (say,
    a warm-up shorter than the horizon), are not heard, so one value can be judged on its own,
    before the others it will run with are known (a sweep's parameter values).
    """
    data, overridden, problems = _apply_overrides(data, overrides)
    if problems:
        return problems
    try:
        Scenario.model_validate(data)
    except ValidationError as err:
        return _problems_from_validation(err, data, "--set", {}, overridden, own_only=True)
    return []


_VALIDATOR_ERRORS = ("value_error", "assertion_error")
"""Pydantic error types raised by the schema's own validators (which may compare fields)."""


def _apply_overrides(data: dict, overrides: Iterable[str]) -> tuple[dict, set, list[Problem]]:
    """Apply the overrides that can be applied; return the data, the paths set and the problems."""
    data = copy.deepcopy(data)
    overridden: set[tuple] = set()
    problems = []
    for text in overrides:
        try:
            overridden.add(_set_one(data, text))
        except ValueError as err:
            problems.append(Problem("--set", None, text.split("=", 1)[0].strip(), str(err)))
    return data, overridden, problems


def _set_one(data: dict, text: str) -> tuple:
    """Apply one ``key.path=value`` to *data* in place; returns the key path set."""
    parts, value = _parse_override(text)
    node = data
    path: list[Any] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            key: Any = _list_index(node, part, path)
        elif isinstance(node, dict):
            key = _dict_key(node, part, path, last)
        else:
            where = _dotted(parts[:i])
            raise ValueError(
                f"'{where}' is a single value ({_given(node)}), not a mapping; cannot set '{part}' inside it"
            )
        path.append(key)
        if last:
            node[key] = value
        else:
            node = node[key]
    return tuple(path)


def _parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``key.path=value`` into key parts and the value read as YAML."""
    if "=" not in text:
        raise ValueError(f"expected key.path=value (e.g. departments.sanitation.units=4), got {text!r}")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(p.strip() for p in parts):
        raise ValueError(f"expected a key path like departments.sanitation.units, got {key.strip()!r}")
    try:
        value, _ = parse_yaml(raw, "--set")
    except ScenarioError as err:
        raise ValueError(f"cannot read the value {raw!r}: {err.problems[0].message}") from None
    return [p.strip() for p in parts], value


def _dict_key(node: dict, part: str, path: list, last: bool) -> str:
    """Check *part* may be set in mapping *node* at *path*; fill a missing parent from its default."""
    allowed, free = _keys_at(tuple(path), node)
    if allowed is not None and part not in allowed:
        raise ValueError(_unknown_key_message(part, allowed))
    if free and part not in node and not last:
        # a new entry of a mapping is set whole (``departments.police=2``); going into one that is not
        # there is most likely a misspelt name
        raise ValueError(_unknown_name_message(part, path, node))
    if not last and (part not in node or (node[part] is None and _models_at(tuple(path) + (part,)))):
        node[part] = _default_container(tuple(path) + (part,))  # absent, or left empty (null) where a mapping may stand
    return part


def _default_container(path: tuple) -> dict:
    """The value to descend into for a key absent from the file: its default, or an empty mapping."""
    default = _default_at(path)
    if isinstance(default, dict):
        return default
    if _models_at(path) or any(typing.get_origin(k) is dict for k in _kinds_at(path)):
        return {}
    raise ValueError(f"'{_dotted(path)}' is not in the scenario file; set it whole (e.g. {_dotted(path)}=[...])")


def _list_index(items: list, part: str, path: list) -> int:
    """The index of the list item named *part*, or numbered *part*."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if part in names:
        return names.index(part)
    if re.fullmatch(r"-?\d+", part) and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    known = [str(n) for n in names if n is not None]
    hint = did_you_mean(part, known)
    if not items:
        raise ValueError(f"no item '{part}' in {_dotted(path)}: the list is empty")
    choices = f"a name ({', '.join(known)}) or " if known else ""
    raise ValueError(f"no item '{part}' in {_dotted(path)}; expected {choices}an index 0 to {len(items) - 1}{hint}")


def _unknown_name_message(part: str, path: list, node: dict) -> str:
    """No entry called *part* in a mapping of named entries (e.g. ``governance.modes``)."""
    kind = str(path[-1]).removesuffix("s") if path else "entry"
    known = sorted(str(k) for k in node)
    hint = did_you_mean(part, known, f"; expected one of: {', '.join(known) or 'none defined'}")
    whole = _dotted([*path, part])
    return f"unknown {kind} '{part}'{hint} (to add one, set it whole: {whole}=...)"


# --------------------------------------------------------------------------- messages


def _problems_from_validation(
    err: ValidationError, data, source, lines, overridden, own_only: bool = False
) -> list[Problem]:
    """One problem per key path, merging the alternatives a union offers.

    With *own_only*, only problems of a value on its own (type, range, name) are kept, not those
    found by the schema's validators, which may look at other fields.
    """
    grouped: dict[tuple, list[ErrorDetails]] = {}
    for error in err.errors(include_url=False):
        grouped.setdefault(_error_path(error, data), []).append(error)
    if own_only:
        grouped = {
            path: errors for path, errors in grouped.items() if not any(e["type"] in _VALIDATOR_ERRORS for e in errors)
        }
    grouped = _drop_failed_branches(grouped, data)
    problems = [
        _problem(source, lines, data, path, _message(errors, path, data), overridden)
        for path, errors in grouped.items()
    ]
    return sorted(problems, key=lambda p: (p.source != source, p.line is None, p.line or 0))


def _drop_failed_branches(grouped: dict[tuple, list[ErrorDetails]], data) -> dict[tuple, list[ErrorDetails]]:
    """Drop a union's "expected the other kind" errors where the value's own kind has deeper problems.

    ``shift: [{times: [...], units: -1}]`` fails as a list (``shift.0.units``) and as one of the
    named shifts (``shift``); only the first says what is wrong.
    """

    def branch_only(path, errors):
        return all(len(_clean_loc(e["loc"], data, keep_last=True)) < len(e["loc"]) for e in errors)

    return {
        path: errors
        for path, errors in grouped.items()
        if not (branch_only(path, errors) and any(len(p) > len(path) and p[: len(path)] == path for p in grouped))
    }


def _error_path(error: ErrorDetails, data) -> tuple:
    """Where an error belongs: real keys and indices, the discriminator, or the key a check names."""
    kind = error["type"]
    path = _clean_loc(error["loc"], data, keep_last=kind in ("missing", "extra_forbidden"))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return path + (error["ctx"]["discriminator"].strip("'"),)
    if kind == "value_error":
        return _pin_to_key(path, error["msg"].removeprefix("Value error, "))
    return path


def _pin_to_key(path: tuple, message: str) -> tuple:
    """Point a whole-mapping check at the key its message starts with (``warmup_days (9.0) must ...``)."""
    first = re.match(r"[A-Za-z_]+", message)
    fields = {f for model in _models_at(path) for f in model.model_fields}
    return path + (first.group(),) if first and first.group() in fields else path


def _message(errors: list[ErrorDetails], path: tuple, data) -> str:
    """The text for the errors at one key path: what was expected and what was given."""
    kind = errors[0]["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(path[-1], _allowed_keys(path[:-1], _value_at(data, path[:-1])) or set())
    if kind == "missing":
        return _missing_message(path)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _dist_message(errors[0], path)
    if _is_duration(path) and kind in ("model_attributes_type", "model_type", "dict_type"):
        return (
            "expected a duration: a number of minutes, or a mapping like {dist: lognormal, mean: 20, cv: 0.5}; "
            f"got {_given(errors[0]['input'])}"
        )
    return _expected_message(errors, path)


_HINTS = {
    "times": "; expected windows like '08:30-17:30' "
    "(hours 00-24, minutes 00-59; an end before the start runs past midnight)",
}
"""Extra words for checks whose own message does not say what was expected, by key."""


def _expected_message(errors: list[ErrorDetails], path: tuple) -> str:
    """``expected A or B; got X`` (plus a suggestion) from one or more errors at the same key."""
    given = errors[0].get("input")
    checks = [e["msg"].removeprefix("Value error, ") for e in errors if e["type"] in ("value_error", "assertion_error")]
    if checks:
        text = "; ".join(dict.fromkeys(checks)) + _HINTS.get(str(path[-1]) if path else "", "")
        return text if repr(given) in text or isinstance(given, (dict, list)) else f"{text}; got {_given(given)}"
    wanted = list(dict.fromkeys(_expected(e) for e in errors))
    if isinstance(given, float) and not math.isfinite(given):  # nan fails every bound: say what is wrong with it
        wanted = [w.replace("a number", "a finite number", 1) if w.startswith("a number") else w for w in wanted]
    text = f"expected {' or '.join(wanted)}; got {_given(given)}"
    options = [o for e in errors if e["type"] == "literal_error" for o in _quoted(e["ctx"]["expected"])]
    return text + (did_you_mean(given, options) if isinstance(given, str) else "")


_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}


def _expected(error: ErrorDetails) -> str:
    """What one pydantic error says was expected, in plain words."""
    kind, ctx = error["type"], error.get("ctx", {})
    bounds = {
        "greater_than": "a number greater than {gt}",
        "greater_than_equal": "a number of {ge} or more",
        "less_than": "a number less than {lt}",
        "less_than_equal": "a number of {le} or less",
        "too_short": "at least {min_length} item(s)",
        "too_long": "at most {max_length} item(s)",
    }
    if kind in bounds:
        return bounds[kind].format(**{k: _number(v) for k, v in ctx.items()})
    if kind == "literal_error":
        options = _quoted(ctx["expected"])
        return f"'{options[0]}'" if len(options) == 1 else "one of " + ", ".join(f"'{o}'" for o in options)
    return _TYPE_WORDS.get(kind, error["msg"].removeprefix("Input should be ").removeprefix("Value error, "))


def _missing_message(path: tuple) -> str:
    """A required key is absent: say which, and what it holds."""
    description = _description_at(path)
    return f"required key '{path[-1]}' is missing" + (f" ({description})" if description else "")


def _dist_message(error: ErrorDetails, path: tuple) -> str:
    """A duration's ``dist`` is missing or not one of the known distributions."""
    options = _quoted(error["ctx"].get("expected_tags", "")) or _dist_names(path[:-1])
    listed = ", ".join(options)
    if error["type"] == "union_tag_not_found":
        return f"required key 'dist' is missing; expected one of: {listed} (or a bare number of minutes)"
    tag = error["ctx"]["tag"]
    hint = did_you_mean(tag, options)
    return f"unknown distribution '{tag}'; expected one of: {listed}{hint}"


def _unknown_key_message(key, allowed) -> str:
    """An unknown key, with the closest known key or the list of known keys."""
    close = closest(str(key), sorted(allowed))
    if close:
        return f"unknown key '{key}'; did you mean '{close}'?"
    return f"unknown key '{key}'" + (f"; expected one of: {', '.join(sorted(allowed))}" if allowed else "")


def _problem(source, lines, data, path: tuple, message: str, overridden) -> Problem:
    """A problem at *path*: from ``--set`` if an override made it, else from the file at the nearest known line."""
    from_override = bool(path) and any(path[: len(o)] == o or o[: len(path)] == path for o in overridden)
    line = None
    if not from_override:
        line = next((lines[path[:cut]] for cut in range(len(path), 0, -1) if path[:cut] in lines), None)
    return Problem("--set" if from_override else source, line, _display(path, data), message)


def _clean_loc(loc: tuple, data, keep_last: bool) -> tuple:
    """Drop pydantic's union-branch labels from an error location, keeping real keys and indices.

    The last part is kept even when absent from the data if *keep_last* (a missing or unknown key).
    """
    out, node = [], data
    for i, key in enumerate(loc):
        if isinstance(node, dict) and key in node:  # noqa: SIM114 - a key of a mapping, or (below) an index of a list
            out.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            out.append(key)
            node = node[key]
        elif keep_last and i == len(loc) - 1 and isinstance(node, dict):
            out.append(key)
    return tuple(out)


def _display(path: tuple, data) -> str:
    """A key path as ``--set`` takes it, naming list items by their name where they have one."""
    parts, node = [], data
    for key in path:
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            item = node[key]
            name = item.get("name") if isinstance(item, dict) else None
            usable = isinstance(name, str) and name and "." not in name and "=" not in name
            parts.append(name if usable and isinstance(name, str) else str(key))
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def _value_at(data, path: tuple) -> Any:
    """The value at *path* in *data*, or None."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _dotted(path) -> str:
    """A key path as dotted text, e.g. ``departments.0.units``."""
    return ".".join(str(p) for p in path if p != "<key>")


def _kind(value) -> str:
    """What kind of YAML value *value* is, in words."""
    kinds = {dict: "a mapping", list: "a list", str: "text", type(None): "nothing", bool: "true/false"}
    return kinds.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _given(value) -> str:
    """What the user gave, short: ``'lots'``, ``-1``, ``a list``, ``nothing (an empty value)``."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item(s)" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value) -> str:
    """A bound for a message: ``0`` rather than ``0.0``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _quoted(text: str) -> list[str]:
    """The quoted options in pydantic's ``'a', 'b' or 'c'``."""
    return re.findall(r"'([^']*)'", text)


def _short_tag(tag: str) -> str:
    """A YAML tag as written: ``!!python/name:os.system``."""
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else repr(tag)


# --------------------------------------------------------------------------- schema walking


def _keys_at(path: tuple, node: dict | None = None) -> tuple[set[str] | None, bool]:
    """Keys allowed in the mapping at *path*: (field or literal names or None, whether keys are free names)."""
    kinds = _kinds_at(path)
    allowed = _allowed_keys(path, node)
    if allowed is not None:
        return allowed, False
    dict_keys = [typing.get_args(k)[0] for k in kinds if typing.get_origin(k) is dict]
    literal = {str(v) for key in dict_keys for t in _flatten(key) for v in _literal_values(t)}
    if literal:
        return literal, False
    return None, bool(dict_keys)


def _allowed_keys(path: tuple, node: Any = None) -> set[str] | None:
    """Field names allowed at *path* in the scenario schema (None when free-form, e.g. a dict of modes).

    Where a union of models may stand (durations), the models are narrowed by the ``dist`` given.
    """
    models = _models_at(path)
    if isinstance(node, dict) and isinstance(node.get("dist"), str):
        chosen = [m for m in models if node["dist"] in _dists_of(m)]
        models = chosen or models
    keys = {name for model in models for name in model.model_fields}
    return keys or None


def _models_at(path: tuple) -> list:
    """The schema models that may stand at *path* (several where a union allows several)."""
    return [k for k in _kinds_at(path) if isinstance(k, type) and issubclass(k, BaseModel)]


def _kinds_at(path: tuple) -> list:
    """The plain types the scenario schema allows at *path*."""
    current = [Scenario]
    for key in path:
        following = []
        for kind in current:
            following += _child_kinds(kind, key)
        current = [k for a in following for k in _flatten(a)]
    return current


def _child_kinds(kind, key) -> list:
    """The annotations allowed under *key* inside a value of type *kind*."""
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(key) if isinstance(key, str) else None
        return [field.annotation] if field else []
    if origin is list and isinstance(key, int):
        return list(typing.get_args(kind))
    if origin is tuple and isinstance(key, int):
        args = typing.get_args(kind)
        return [args[key]] if 0 <= key < len(args) else []
    if origin is dict:
        return [typing.get_args(kind)[1]]
    return []


def _flatten(annotation) -> list:
    """Optional/Union/Annotated -> the plain types they allow."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return [t for arg in typing.get_args(annotation) for t in _flatten(arg)]
    return [annotation]


def _field_at(path: tuple):
    """The pydantic field at *path* (the first model that has it), or None."""
    if not path:
        return None
    for model in _models_at(path[:-1]):
        if isinstance(path[-1], str) and path[-1] in model.model_fields:
            return model.model_fields[path[-1]]
    return None


def _description_at(path: tuple) -> str:
    """The schema's description of the key at *path* ("" if none)."""
    field = _field_at(path)
    return (field.description or "") if field else ""


def _default_at(path: tuple) -> Any:
    """The schema's default at *path* as plain data (dicts and lists), or None."""
    field = _field_at(path)
    if field is None or field.default is PydanticUndefined:
        return None
    return _plain(field.default)


def _plain(value) -> Any:
    """Schema defaults (models, tuples) as plain dicts and lists, as if read from YAML."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_duration(path: tuple) -> bool:
    """Whether a duration (``{dist: ...}`` or a number) belongs at *path*."""
    return any("dist" in m.model_fields for m in _models_at(path))


def _dist_names(path: tuple) -> list[str]:
    """The ``dist`` names a duration at *path* may take."""
    return [v for m in _models_at(path) for v in _dists_of(m)]


def _dists_of(model) -> tuple:
    """The ``dist`` values a duration model accepts (none for other models)."""
    field = model.model_fields.get("dist")
    return _literal_values(field.annotation) if field else ()


def _literal_values(annotation) -> tuple:
    """The values of a ``Literal[...]`` annotation (none for other annotations)."""
    return typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
