"""Reading scenario files: safe YAML with line numbers, overrides, and one clear message per problem.

This is the only place that parses YAML. The document is composed into nodes by PyYAML's safe
loader and walked here, so that every value's line is known, duplicate keys are caught, no
object is ever constructed from a tag, and alias expansion is bounded (a "billion laughs"
file fails fast instead of eating memory). The data then goes through the schema
(:mod:`sim.scenario`) and the cross-checks; every problem is reported, with its key path
written the way ``--set`` takes it (``departments.sanitation.units``).
"""

from __future__ import annotations

import difflib
import os
import typing
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario import Scenario, cross_check

__all__ = ["load_scenario", "scenario_from_dict", "read_yaml", "apply_overrides", "MAX_FILE_BYTES", "MAX_NODES"]

MAX_FILE_BYTES = 5_000_000
MAX_NODES = 500_000
MAX_DEPTH = 64

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Lines(dict):
    """Key path (tuple) -> 1-based line number."""


def read_yaml(path: str | os.PathLike) -> tuple[Any, _Lines]:
    """Parse a YAML file safely into plain data and a map of key paths to lines.

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, too large, not YAML, or uses tags or aliases unsafely.
    """
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if Path(path).is_dir():
            raise ScenarioError([Problem(source, None, "", "is a folder, expected a YAML file")])
        if size > MAX_FILE_BYTES:
            raise ScenarioError([Problem(source, None, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")])
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(source, None, "", "file not found")]) from None
    except UnicodeDecodeError as err:
        raise ScenarioError([Problem(source, None, "", f"not UTF-8 text ({err.reason})")]) from None
    except OSError as err:
        raise ScenarioError([Problem(source, None, "", f"cannot read the file ({err.strerror})")]) from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str) -> tuple[Any, _Lines]:
    """Parse YAML *text* (named *source* in messages); see :func:`read_yaml`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines = _Lines()
        data = _Walker(loader, source, lines).build(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(filter(None, [err.context, err.problem])).strip() or "invalid YAML"
        raise ScenarioError([Problem(source, line, "", f"YAML syntax error: {message}")]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(source, None, "", f"YAML error: {err}")]) from None
    finally:
        loader.dispose()
    return data, lines


class _Walker:
    """Turns composed YAML nodes into dicts, lists and scalars, recording lines and bounding work."""

    def __init__(self, loader: yaml.SafeLoader, source: str, lines: _Lines):
        self.loader, self.source, self.lines = loader, source, lines
        self.nodes = 0

    def fail(self, node, path, message):
        raise ScenarioError([Problem(self.source, node.start_mark.line + 1, _dotted(path), message)])

    def build(self, node, path=()):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(node, path, f"document expands to more than {MAX_NODES} values (aliases nested too deeply?)")
        if len(path) > MAX_DEPTH:
            self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.fail(node, path, f"unsupported tag {node.tag!r}")
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self.fail(node, path, f"unsupported tag {node.tag!r}: only plain YAML values are allowed")

    def _mapping(self, node, path):
        if node.tag != _MAP_TAG:
            self.fail(node, path, f"unsupported tag {node.tag!r}: only plain YAML values are allowed")
        self.loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, path + ("<key>",))
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self.fail(key_node, path, "keys must be plain names")
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                self.fail(key_node, path + (key,), f"duplicate key '{key}'")
            self.lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, path + (key,))
        return out


def load_scenario(path: str | os.PathLike, overrides: Iterable[str] = ()) -> Scenario:
    """Load, override and validate a scenario file.

    Parameters
    ----------
    path:
        The YAML file.
    overrides:
        ``key.path=value`` strings (as ``--set`` on the command line); list items may be named
        by their ``name`` (``departments.sanitation.units=6``) or by index.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the file, line, key path and what was expected.
    """
    data, lines = read_yaml(path)
    return scenario_from_dict(data, source=str(path), lines=lines, overrides=overrides)


def scenario_from_dict(data: Any, source: str = "<scenario>", lines: dict | None = None, overrides: Iterable[str] = ()) -> Scenario:
    """Validate plain data (as parsed from YAML) into a :class:`~sim.scenario.Scenario`."""
    lines = lines or {}
    if data is None:
        raise ScenarioError([Problem(source, None, "", "the file is empty; expected a scenario (a mapping of keys)")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(source, 1, "", f"expected a mapping of keys at the top level, got {_kind(data)}")])
    data, overridden = apply_overrides(data, overrides, source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problems_from_validation(err, data, source, lines, overridden)) from None
    problems = [
        _problem(source, lines, data, path, message, overridden) for path, message in cross_check(scenario)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


# --------------------------------------------------------------------------- overrides


def apply_overrides(data: dict, overrides: Iterable[str], source: str = "--set") -> tuple[dict, set]:
    """Apply ``key.path=value`` overrides to a copy of *data*; values are parsed as YAML scalars or flow lists."""
    import copy

    data = copy.deepcopy(data)
    overridden: set[tuple] = set()
    problems = []
    for text in overrides:
        try:
            path = _set_one(data, text)
            overridden.add(path)
        except ValueError as err:
            problems.append(Problem("--set", None, text.split("=", 1)[0], str(err)))
    if problems:
        raise ScenarioError(problems)
    return data, overridden


def _set_one(data: dict, text: str) -> tuple:
    if "=" not in text:
        raise ValueError(f"expected key.path=value, got {text!r}")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ValueError(f"empty key in path {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise ValueError(f"cannot read the value {raw!r}") from None
    node, path = data, []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part)
            path.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"'{'.'.join(parts[:i])}' is a value, not a mapping; cannot set '{part}' inside it")
        _check_known(path + [part])
        path.append(part)
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})
    return tuple(path)


def _list_index(items: list, part: str) -> int:
    names = [item.get("name") for item in items if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    if part.lstrip("-").isdigit() and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    hint = difflib.get_close_matches(part, [n for n in names if n], n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; known: {', '.join(str(n) for n in names if n)}"
    raise ValueError(f"no item named '{part}'{suggestion}")


def _check_known(path: list) -> None:
    """Refuse a key the schema does not have, with a suggestion."""
    allowed = _allowed_keys(tuple(path[:-1]))
    if allowed is not None and path[-1] not in allowed:
        raise ValueError(_unknown_key_message(path[-1], allowed))


# --------------------------------------------------------------------------- messages


def _problems_from_validation(err: ValidationError, data, source, lines, overridden) -> list[Problem]:
    grouped: dict[tuple, list[str]] = {}
    for error in err.errors(include_url=False):
        path = _clean_loc(error["loc"], data)
        grouped.setdefault(path, [])
        message = _message(error, path)
        if message not in grouped[path]:
            grouped[path].append(message)
    return [_problem(source, lines, data, path, "; or ".join(msgs), overridden) for path, msgs in grouped.items()]


def _message(error: dict, path: tuple) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1]) or set()
        return _unknown_key_message(path[-1], allowed)
    if kind == "missing":
        return "required key is missing"
    msg = msg.removeprefix("Value error, ")
    given = error.get("input")
    if kind not in ("model_type",) and not isinstance(given, (dict, list)):
        return f"{msg}; got {given!r}"
    if isinstance(given, (dict, list)) and kind.endswith("_type"):
        return f"{msg}; got {_kind(given)}"
    return msg


def _unknown_key_message(key, allowed) -> str:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else (f"; expected one of: {', '.join(sorted(allowed))}" if allowed else "")
    return f"unknown key '{key}'{hint}"


def _problem(source, lines, data, path: tuple, message: str, overridden) -> Problem:
    from_override = any(path[: len(o)] == o or o[: len(path)] == path for o in overridden)
    line = None
    if not from_override:
        for cut in range(len(path), -1, -1):
            if path[:cut] in lines:
                line = lines[path[:cut]]
                break
    return Problem("--set" if from_override else source, line, _display(path, data), message)


def _clean_loc(loc: tuple, data) -> tuple:
    """Drop pydantic's union-branch labels from an error location, keeping real keys and indices."""
    out, node = [], data
    for i, key in enumerate(loc):
        if isinstance(node, dict) and key in node:
            out.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            out.append(key)
            node = node[key]
        elif i == len(loc) - 1 and isinstance(node, dict):
            out.append(key)
    return tuple(out)


def _display(path: tuple, data) -> str:
    """A key path as ``--set`` takes it, naming list items by their name where they have one."""
    parts, node = [], data
    for key in path:
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            item = node[key]
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(str(name) if isinstance(name, str) and name else str(key))
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path if p != "<key>")


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "nothing"}.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- schema walking


def _allowed_keys(path: tuple) -> set[str] | None:
    """Field names allowed at *path* in the scenario schema (None when free-form, e.g. a dict of modes)."""
    models = _models_at(Scenario, path)
    keys: set[str] = set()
    for model in models:
        keys |= set(model.model_fields)
    return keys or None


def _models_at(model, path: tuple) -> list:
    """The schema models that may stand at *path* (several where a union allows several)."""
    current = [model]
    for key in path:
        following = []
        for annotation in current:
            for kind in _flatten(annotation):
                origin = typing.get_origin(kind)
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    if isinstance(key, str) and key in kind.model_fields:
                        following.append(kind.model_fields[key].annotation)
                elif origin in (list, tuple) and isinstance(key, int):
                    following += typing.get_args(kind)
                elif origin is dict:
                    following.append(typing.get_args(kind)[1])
        current = following
    return [k for a in current for k in _flatten(a) if isinstance(k, type) and issubclass(k, BaseModel)]


def _flatten(annotation) -> list:
    """Optional/Union/Annotated -> the plain types they allow."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return [t for arg in typing.get_args(annotation) for t in _flatten(arg)]
    return [annotation]
