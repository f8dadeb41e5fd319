"""Fuzzing the inputs: no scenario, ``--set`` override or sweep file crashes the simulator, hangs it or eats its memory.

Hypothesis mutates valid inputs at two levels:

* plain data (what YAML parses into), validated with :func:`sim.scenario_from_dict`,
  :func:`sim.io.loader.apply_overrides` and :func:`sim.io.sweepfile.sweep_from_dict`: wrong types,
  missing and extra keys, empty lists, huge, negative, zero, NaN and infinite numbers, text
  where numbers go, unicode and duplicate names, deep nesting, typos;
* YAML text, run through the command line in this process (``validate``, ``compare``,
  ``sweep``): anchors and aliases (alias bombs too), ``!!python/...`` and other tags, tabs,
  deep nesting, unicode keys and names, control characters, broken syntax, big documents.

Every case ends in a valid result or in exit code 2 with one message per problem, each naming
its file (or ``--set``), never a traceback. Mutated scenarios that stay valid are run (a short
horizon, at most :data:`MAX_RUN_INCIDENTS` incidents) and their summary must hold no NaN or
infinity. Each case is bounded in CPU time and in memory (:func:`bounded`), so a hang or a
blow-up fails here instead of stalling CI.

Sizes (:data:`EXAMPLES`): a developer's ``python -m pytest`` runs about 1,100 generated cases
in about 25 s; with the environment variable ``CI=true`` (how CI runs ``.ci/run``) about 4,200
in about 60 s on two cores; ``SIM_FUZZ_SCALE=N`` multiplies both for a longer hunt. A real bug
found here gets its minimal input saved in ``tests/data/fuzz_regressions/``
(:func:`test_regression_files` runs them all).
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import resource
import signal
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.cli.simulate import format_summary
from sim.errors import Problem, ScenarioError
from sim.experiments.runs import run_sweep
from sim.io.loader import MAX_DEPTH, MAX_NODES, apply_overrides, read_yaml
from sim.io.sweepfile import load_sweep, sweep_from_dict
from sim.stats.metrics import metric_paths
from tests.conftest import DATA, SCENARIOS
from tests.system.test_extremes import finite_everywhere

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

EXAMPLES = {  # test -> (default, CI)
    "data": (400, 1500),
    "overrides": (200, 800),
    "runs": (50, 200),
    "yaml": (250, 1000),
    "sweep_data": (100, 400),
    "sweep_yaml": (60, 250),
}
"""Cases per test: a few hundred by default, several thousand in all with CI=true."""

CASE_CPU_S = 20.0
"""CPU seconds one case may take (a hang fails here)."""
CASE_MEMORY = 1_500_000_000
"""Bytes of address space one case may add (a memory blow-up fails here)."""
MAX_RUN_INCIDENTS = 20_000
"""Valid mutated scenarios expecting more incidents than this are validated but not run."""

REGRESSIONS = DATA / "fuzz_regressions"


SCALE = float(os.environ.get("SIM_FUZZ_SCALE", "1"))
"""Multiplies every number of cases: ``SIM_FUZZ_SCALE=20 python -m pytest tests/system/test_fuzz.py`` for a long hunt."""


def fuzz(test: str):
    """Hypothesis settings for one fuzz test: its number of cases, no deadline, no example database."""
    default, ci = EXAMPLES[test]
    return settings(
        max_examples=max(1, round((ci if CI else default) * SCALE)),
        deadline=None,
        database=None,  # no .hypothesis folder; failures print a reproduction blob instead
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# --------------------------------------------------------------------------- bounds on one case


class CaseTooCostly(AssertionError):
    """A case ran too long (CPU time) for any input this small: a hang."""


def _address_space() -> int | None:
    """Bytes of address space this process uses now (Linux), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def bounded(cpu_s: float = CASE_CPU_S, memory: int = CASE_MEMORY):
    """Fail a case that takes more than *cpu_s* of CPU time, or more than *memory* bytes more address space.

    CPU time (SIGPROF) rather than wall time, to stay clear of pytest-timeout's SIGALRM; the
    memory bound is ``RLIMIT_AS``, so a blow-up is a MemoryError here, not the OOM killer.
    """

    def stop(signum, frame):
        raise CaseTooCostly(f"one case took more than {cpu_s} s of CPU time: a hang?")

    handler = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _address_space()
    if used is not None:
        limit = used + memory if hard == resource.RLIM_INFINITY else min(used + memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --------------------------------------------------------------------------- what a good answer is


def assert_problems(problems: list[Problem], *sources: str) -> None:
    """Each problem names one of *sources*, says something, and prints on one line naming its source."""
    assert problems
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.source in sources, (problem, sources)
        assert problem.line is None or (isinstance(problem.line, int) and problem.line >= 1), problem
        assert isinstance(problem.path, str) and problem.message.strip(), problem
        text = str(problem)
        assert "\n" not in text and text.startswith(problem.source), text
        assert "Traceback" not in text


def cli(*args: str) -> tuple[int, str, str]:
    """``python -m sim ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def assert_exit_0_or_2(code: int, out: str, err: str, *sources: str, allowed=(0, 2)) -> None:
    """A valid result, or exit 2 with one line per problem, each naming one of *sources*; never a traceback."""
    assert code in allowed, (code, out[-2000:], err[-2000:])
    assert "Traceback" not in out + err, err[-3000:]
    if code == 2:
        lines = err.splitlines()
        assert lines, "exit code 2 with no message"
        for line in lines:
            assert any(line.startswith(f"error: {source}") for source in sources), (line, sources)
            assert len(line) > len("error: ") + 3


# --------------------------------------------------------------------------- the valid inputs mutated


RICH = {
    "name": "rich",
    "description": "Every part a scenario may have, small enough to run in milliseconds",
    "seed": 3,
    "days": 1.5,
    "warmup_days": 0.5,
    "drain_days": 0.5,
    "target_min": 45,
    "territory": {
        "patches": [
            {"name": "hall", "x_km": 0, "y_km": 0, "weight": 2, "sector": "north", "grid": "g1"},
            {"name": "market", "x_km": 1.5, "y_km": 0.5, "sector": "north", "grid": "g1"},
            {"name": "port", "x_km": 3, "y_km": -1, "weight": 0.5, "sector": "south", "grid": "g2"},
            {"name": "farm", "x_km": -2, "y_km": 2.5, "sector": "south", "grid": "g2"},
        ],
        "patch_km": 0.8,
        "detour_factor": 1.4,
        "distance": "manhattan",
    },
    "departments": [
        {
            "name": "enforcement",
            "units": 3,
            "base": ["hall", "port"],
            "patrols": True,
            "shift": "day_night",
            "day_share": 0.7,
            "powers": ["vending", "dumping"],
            "travel_cv": 0.3,
        },
        {
            "name": "sanitation",
            "units": 2,
            "base": "market",
            "powers": ["garbage", "dumping"],
            "shift": [
                {"days": "weekdays", "times": ["06:00-14:00", "14:00-22:00"], "units": 2},
                {"days": [5, 6], "times": ["08:00-12:00"], "units": 1},
            ],
        },
        {
            "name": "police",
            "units": 1,
            "base": "centre",
            "patrols": True,
            "poolable": False,
            "powers": ["dispute", "vending"],
        },
        {"name": "land", "units": 1, "shift": "office_hours", "powers": ["dumping"], "speed_kmh": 40, "setoff_min": 5},
    ],
    "incident_types": [
        {
            "name": "garbage",
            "rate_per_day": 8,
            "service_min": {"dist": "gamma", "mean": 15, "cv": 0.5},
            "profile": [1] * 6 + [3] * 12 + [2] * 6,
            "escalation": {"grid": 0.3},
            "detection": {
                "patrol": {"notice_probability": 0.8},
                "hotline": {
                    "probability": 0.3,
                    "delay_min": {"dist": "uniform", "low": 10, "high": 90},
                    "hours": {"days": [0, 1, 2, 3, 4], "times": ["08:00-20:00"]},
                },
                "camera": {"probability": 0.2, "delay_min": 5},
            },
        },
        {"name": "vending", "rate_per_day": 5, "service_min": 20, "priority": 4},
        {
            "name": "dispute",
            "rate_per_day": 2,
            "priority": 1,
            "service_min": {"dist": "exponential", "mean": 30},
            "escalation": {"city": 0.2},
            "detection": {"hotline": {"probability": 0.9, "delay_min": {"dist": "lognormal", "mean": 10, "cv": 0.8}}},
        },
        {
            "name": "dumping",
            "rate_per_day": 1,
            "requires": ["sanitation", "land"],
            "service_min": {"dist": "fixed", "value": 25},
            "detection": {"grid_worker": {"probability": 0.5}},
        },
    ],
    "governance": {
        "referral": {
            "desk_hours": {"days": "weekdays", "times": ["08:30-12:00", "14:00-17:30"]},
            "handover_min": {"dist": "lognormal", "mean": 45, "cv": 1},
            "steps": {"patrol": 2, "hotline": 2},
            "misroute_probability": 0.2,
        },
        "instant": {
            "report_min": 2,
            "centre_min": {"dist": "exponential", "mean": 3},
            "centre_hours": {"times": ["07:00-23:00"]},
        },
        "closed_loop": {"verify_min": 5},
        "modes": {
            "fragmented": {},
            "joint": {"coordination": "concurrent"},
            "unified": {"authority": {"pooled": "all"}},
            "pooled_pair": {
                "based_on": "joint",
                "authority": {"pooled": ["sanitation", "land"]},
                "leave_probability": 0.1,
            },
            "closed": {"based_on": "unified", "closed_loop": True},
        },
    },
    "grid_management": {
        "workers_per_grid": 2,
        "hours": {"times": ["08:00-20:00"]},
        "solve_min": 20,
        "city_min": {"dist": "gamma", "mean": 60, "cv": 0.5},
    },
}
"""A scenario with every optional part (patches, shift windows, grid management, custom modes, all durations)."""


def _load(path: Path) -> dict:
    data, _ = read_yaml(path)
    return data


SHIPPED = {path.stem: _load(path) for path in sorted(SCENARIOS.glob("*.yaml"))}
SMALL = {"classroom": SHIPPED["classroom"], "rich": RICH}
"""Bases cheap enough to run after mutating them."""
TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted(SCENARIOS.glob("*.yaml"))}
TEXTS["rich"] = yaml.safe_dump(RICH, sort_keys=False, allow_unicode=True)
SWEEP_TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted((SCENARIOS / "sweeps").glob("*.yaml"))}
SHORT = {"days": 1.5, "warmup_days": 0.5, "drain_days": 0.5}


def _paths(node, prefix=()) -> list[tuple[tuple, object]]:
    """Every (key path, value) inside plain data, parents first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for key, value in items:
        out.append((prefix + (key,), value))
        out += _paths(value, prefix + (key,))
    return out


def _at(data, path):
    for key in path:
        data = data[key]
    return data


def _nest(depth: int, kind: str):
    value = 0
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def _typo(draw, word: str) -> str:
    """*word* with one letter dropped, doubled, swapped or changed (a plausible typo)."""
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "swap", "change"]))
    if how == "drop" and len(word) > 1:
        return word[:i] + word[i + 1 :]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "change":
        return word[:i] + draw(st.sampled_from("aeioustz")) + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


NUMBERS = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            -0.0,
            0.5,
            1,
            2,
            7,
            24,
            1e-9,
            5e-324,
            1e6,
            1e7 + 1,
            1e15,
            1e300,
            -1e300,
            2**31,
            2**53 + 1,
            2**63,
            2**64,
            10**30,
            math.nan,
            math.inf,
            -math.inf,
        ]
    ),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
)
WORDS = st.sampled_from(
    [
        "",
        " ",
        "lots",
        "12",
        "1e5",
        "0x1F",
        "NaN",
        ".inf",
        "24 hours",
        "yes",
        "null",
        "~",
        "r9c9",
        "centre",
        "all",
        "none",
        "joint",
        "nearest",
        "lognormal",
        "garbage_overflow",
        "sanitation",
        "城管",
        "Ünïcødé",
        "🚯",
        "\u202eevil",
        "a" * 300,
        "-1",
        "08:00-17:00",
        "25:00-26:00",
        "08:00-08:00",
        "line\nbreak",
        "tab\there",
        "\x1b[2J",
        "daily",
        "weekdays",
        "24h",
    ]
)
TEXT = st.text(max_size=20)
ODD = st.one_of(
    NUMBERS,
    WORDS,
    TEXT,
    st.booleans(),
    st.none(),
    st.builds(list),
    st.builds(dict),
    st.lists(st.one_of(NUMBERS, WORDS), max_size=4),
    st.dictionaries(st.one_of(TEXT, WORDS), st.one_of(NUMBERS, WORDS), max_size=3),
    st.builds(_nest, st.integers(1, 3 * MAX_DEPTH), st.sampled_from(["list", "dict"])),
)
"""Values of the wrong type, size, sign or kind (containers new at each draw: mutations change them in place)."""
SCALES = [0, -1, 0.5, 2, 10, 1e3, 1e6, 1e-3, 1e300, 1e-300]


def _mutate(draw, data, gentle: bool = False) -> None:
    """Apply one random mutation to *data* in place (*gentle*: ones likely to keep it valid)."""
    paths = _paths(data)
    if not paths:
        data[draw(WORDS)] = draw(ODD)
        return
    path, old = draw(st.sampled_from(paths))
    parent, key = _at(data, path[:-1]), path[-1]
    ops = (
        ["scale", "delete", "choice", "small_int", "shift"]
        if gentle
        else ["replace", "delete", "extra", "empty", "duplicate", "rename", "scale", "swap", "typo", "nest"]
    )
    op = draw(st.sampled_from(ops))
    if op == "replace":
        parent[key] = draw(ODD)
    elif op == "delete":
        del parent[key]
    elif op == "extra":
        siblings = [k for k in parent if isinstance(k, str)] if isinstance(parent, dict) else []
        name = (
            _typo(draw, draw(st.sampled_from(siblings)))
            if siblings and draw(st.booleans())
            else draw(st.one_of(WORDS, TEXT))
        )
        target = parent if isinstance(parent, dict) else old if isinstance(old, dict) else None
        if target is not None:
            target[name] = draw(ODD)
        else:
            parent.append(draw(ODD)) if isinstance(parent, list) else None
    elif op == "empty":
        parent[key] = [] if isinstance(old, list) or draw(st.booleans()) else {}
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(old))  # a second item with the same name
    elif op == "rename":
        names = [v for p, v in paths if p and p[-1] == "name" and isinstance(v, str)]
        target = _at(data, path[:-1]) if key == "name" else old if isinstance(old, dict) else parent
        if isinstance(target, dict):
            target["name"] = draw(st.one_of(WORDS, TEXT, st.sampled_from(names or ["x"])))
    elif op == "scale" and isinstance(old, (int, float)) and not isinstance(old, bool):
        factor = draw(st.sampled_from(SCALES[:5] if gentle else SCALES))
        try:
            value = old * factor
        except OverflowError:
            value = math.inf
        parent[key] = round(value) if isinstance(old, int) and math.isfinite(value) and abs(value) < 1e18 else value
    elif op == "swap":
        _, other = draw(st.sampled_from(paths))
        parent[key] = copy.deepcopy(other)
    elif op == "typo" and isinstance(old, str):
        parent[key] = _typo(draw, old)
    elif op == "typo" and isinstance(parent, dict) and isinstance(key, str):
        parent[_typo(draw, key)] = parent.pop(key)
    elif op == "nest":
        parent[key] = _nest(draw(st.integers(MAX_DEPTH - 2, 4 * MAX_DEPTH)), draw(st.sampled_from(["list", "dict"])))
    elif op == "choice" and isinstance(old, str):
        parent[key] = draw(
            st.sampled_from(
                [
                    "24h",
                    "office_hours",
                    "day_night",
                    "instant",
                    "referral",
                    "nearest",
                    "own_queue",
                    "sequential",
                    "concurrent",
                    "all",
                    "none",
                    "fragmented",
                    "joint",
                    "unified",
                    old,
                ]
            )
        )
    elif op == "small_int" and isinstance(old, (int, float)) and not isinstance(old, bool):
        parent[key] = draw(st.sampled_from([0, 1, 2]))
    elif op == "shift" and isinstance(parent, dict) and "units" in parent and "name" in parent:
        parent["shift"] = copy.deepcopy(
            draw(
                st.sampled_from(
                    [
                        "24h",
                        "office_hours",
                        "day_night",
                        [{"times": ["08:00-08:00"], "units": 1}],  # a window of no length: nobody ever on duty
                        [{"times": ["02:00-03:00"], "days": [6], "units": parent.get("units", 1)}],  # one hour a week
                        [{"times": ["00:00-24:00"], "units": 0}],
                    ]
                )
            )
        )


@st.composite
def mutated(draw, kind: str, most: int = 4, gentle: bool = False):
    """A deep copy of one of the *kind* bases ("shipped" scenarios, or the "small" ones) with 1 to *most* mutations."""
    bases = SHIPPED if kind == "shipped" else SMALL
    name = draw(st.sampled_from(sorted(bases)))
    data = copy.deepcopy(bases[name])
    for _ in range(draw(st.integers(1, most))):
        _mutate(draw, data, gentle)
    return data


def _key_paths(data) -> list[str]:
    """Every key path of *data* as ``--set`` writes it (list items by name where they have one)."""
    out = []
    for path, _ in _paths(data):
        parts, node = [], data
        for key in path:
            item = node[key]
            name = item.get("name") if isinstance(item, dict) and isinstance(node, list) else None
            parts.append(name if isinstance(name, str) else str(key))
            node = item
        out.append(".".join(parts))
    return out


KEY_PATHS = sorted(
    set(_key_paths(SHIPPED["classroom"]))
    | {
        "governance.modes.joint.dispatch",
        "governance.referral.handover_min.mean",
        "governance.modes.unified.authority.pooled",
        "grid_management.workers_per_grid",
        "governance.referral.steps.patrol",
        "departments.sanitation.shift",
    }
)
VALUE_TEXTS = st.one_of(
    st.sampled_from(
        [
            "",
            "3",
            "-1",
            "0",
            "1e5",
            "1.0e308",
            ".nan",
            ".inf",
            "-.inf",
            "abc",
            "[]",
            "{}",
            "[1, 2",
            "{a: }",
            "~",
            "!!python/object/apply:os.system [echo]",
            "&a [*a]",
            "!!int x",
            "nearest",
            "24h",
            "[sanitation]",
            "{dist: gamma, mean: 5, cv: 1.0e-300}",
            "{dist: lognormal}",
            "\t",
            "'城'",
            '"\\ud800"',
            "1" * 5000,
        ]
    ),
    TEXT,
    st.builds(
        lambda v: json.dumps(v, ensure_ascii=False, allow_nan=False), st.one_of(st.integers(), st.text(max_size=8))
    ),
)


@st.composite
def override(draw) -> str:
    """One ``--set`` text: a real key path (or a typo of one, or nonsense) and an odd value."""
    path = draw(st.sampled_from(KEY_PATHS))
    how = draw(st.sampled_from(["keep", "keep", "typo", "index", "nonsense"]))
    if how == "typo":
        parts = path.split(".")
        i = draw(st.integers(0, len(parts) - 1))
        parts[i] = _typo(draw, parts[i])
        path = ".".join(parts)
    elif how == "index":
        path = path.replace("sanitation", draw(st.sampled_from(["0", "1", "-1", "3", "99999999999999999999", ""])))
    elif how == "nonsense":
        path = draw(st.one_of(TEXT, WORDS, st.just("a..b"), st.just(".")))
    separator = draw(st.sampled_from(["=", "=", " = ", ""]))
    return f"{path}{separator}{draw(VALUE_TEXTS)}"


# --------------------------------------------------------------------------- level 1: plain data


@fuzz("data")
@given(mutated("shipped"))
def test_mutated_scenario_data_is_valid_or_clear_problems(data):
    """Thousands of broken scenarios: a Scenario or problems naming the file, never an exception."""
    with bounded():
        try:
            scenario = sim.scenario_from_dict(data, source="town.yaml")
        except ScenarioError as err:
            event("problems")
            assert_problems(err.problems, "town.yaml")
        else:
            event("valid")
            assert isinstance(scenario, sim.Scenario)


@fuzz("overrides")
@given(st.sampled_from(sorted(SMALL)), st.lists(override(), min_size=1, max_size=4))
def test_mutated_overrides_are_applied_or_refused_clearly(base, overrides):
    """Overrides of every kind: applied, or refused with a problem from ``--set`` (or the file)."""
    with bounded():
        try:
            data, paths = apply_overrides(SMALL[base], overrides)
        except ScenarioError as err:
            assert_problems(err.problems, "--set")
        else:
            assert isinstance(data, dict) and len(paths) <= len(overrides)
        try:
            sim.scenario_from_dict(SMALL[base], source="town.yaml", overrides=overrides)
        except ScenarioError as err:
            assert_problems(err.problems, "town.yaml", "--set")


@fuzz("runs")
@given(mutated("small", most=3, gentle=True), mutated("small", most=1))
def test_valid_mutated_scenarios_run_to_a_finite_summary(gentle, wild):
    """Mutations that keep a scenario valid: it runs (a short horizon) and its summary holds no NaN or infinity."""
    for data in (gentle, wild):
        data.update(SHORT)
        with bounded():
            try:
                scenario = sim.scenario_from_dict(data, source="town.yaml")
            except ScenarioError as err:
                event("problems")
                assert_problems(err.problems, "town.yaml")
                continue
            expected = scenario.days * sum(t.rate_per_day for t in scenario.incident_types)
            if expected > MAX_RUN_INCIDENTS:
                event("valid, too big to run")
                continue
            event("valid, run")
            summary = sim.compare(scenario).summary
            assert finite_everywhere(summary), summary
            json.dumps(summary, allow_nan=False)
            assert format_summary(summary)


# --------------------------------------------------------------------------- level 2: YAML text


TAGS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    "!!python/object/new:os.system [touch {marker}]",
    "!!python/name:os.system",
    '!!python/object/apply:builtins.exec [\'open("{marker}", "w")\']',
    "!<tag:yaml.org,2002:python/object/apply:os.system> [touch {marker}]",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!!omap [a: 1]",
    "!!pairs [a: 1]",
    "!custom 3",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "!!str",
    "!!null x",
    "!!timestamp 2024-13-45",
    "!!int ''",
    "!!map [1]",
    "!!seq {{a: 1}}",
]


def _value_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")]


def _text_mutation(draw, text: str, marker: Path) -> str | bytes:
    """One random change to YAML text, aimed at what a parser or loader may trip on."""
    lines = text.splitlines() or [""]
    values = _value_lines(lines) or [0]
    i = draw(st.sampled_from(values))
    head, _, tail = lines[i].partition(": ")
    op = draw(
        st.sampled_from(
            [
                "tag",
                "anchor",
                "merge",
                "bomb",
                "tab",
                "nest",
                "unicode_key",
                "unicode_value",
                "escape",
                "char",
                "delete_char",
                "line",
                "duplicate_key",
                "documents",
                "big",
                "truncate",
                "bytes",
                "directive",
            ]
        )
    )
    if op == "tag":
        lines[i] = f"{head}: " + draw(st.sampled_from(TAGS)).format(marker=marker)
    elif op == "anchor":
        j = draw(st.sampled_from(values))
        if j != i:
            a, b = sorted((i, j))
            key_a, _, value_a = lines[a].partition(": ")
            lines[a] = f"{key_a}: &x{a} {value_a}"
            lines[b] = lines[b].partition(": ")[0] + f": *x{a}"
    elif op == "merge":
        indent = len(head) - len(head.lstrip(" -"))
        lines.insert(
            i + 1, " " * indent + "<<: " + draw(st.sampled_from(["*nowhere", "3", "[1, 2]", "{seed: 1}", "*x0"]))
        )
    elif op == "bomb":
        depth, fan = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        bomb = [f"b0: &b0 [{', '.join(['lol'] * fan)}]"]
        bomb += [f"b{k}: &b{k} [{', '.join([f'*b{k - 1}'] * fan)}]" for k in range(1, depth)]
        key = draw(st.sampled_from(["description", "x-bomb", "name"]))
        lines = [f"{key}:"] + ["  " + row for row in bomb] + [line for line in lines if not line.startswith(f"{key}:")]
    elif op == "tab":
        lines[i] = draw(st.sampled_from(["\t" + lines[i].lstrip(), lines[i].replace(": ", ":\t", 1), "\t" + lines[i]]))
    elif op == "nest":
        depth = draw(st.integers(MAX_DEPTH - 3, 20 * MAX_DEPTH))
        lines[i] = f"{head}: " + draw(
            st.sampled_from(["[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth, "[" * depth])
        )
    elif op == "unicode_key":
        key = draw(st.one_of(st.text(min_size=1, max_size=12), WORDS)).replace('"', "'").replace("\\", "/")
        lines[i] = (
            head[: len(head) - len(head.lstrip(" -"))] + json.dumps(key, ensure_ascii=draw(st.booleans())) + f": {tail}"
        )
    elif op == "unicode_value":
        value = draw(st.one_of(st.text(max_size=16), WORDS))
        lines[i] = f"{head}: " + json.dumps(value, ensure_ascii=draw(st.booleans()))
    elif op == "escape":
        lines[i] = (
            f'{head}: "'
            + draw(
                st.sampled_from(
                    [
                        "\\ud800",
                        "\\udfff x",
                        "\\0",
                        "\\x1b[2J",
                        "\\u202e",
                        "\\N",
                        "\\L",
                        "\\P",
                        "\\uFFFE",
                        "\\U0001F600",
                    ]
                )
            )
            + '"'
        )
    elif op == "char":
        position = draw(st.integers(0, len(lines[i])))
        lines[i] = (
            lines[i][:position]
            + draw(st.sampled_from(list(":-[]{}&*!%@`|>\"',#?") + ["\x00", "\x07", "\ufeff", "\u2028"]))
            + lines[i][position:]
        )
    elif op == "delete_char" and lines[i]:
        position = draw(st.integers(0, len(lines[i]) - 1))
        lines[i] = lines[i][:position] + lines[i][position + 1 :]
    elif op == "line":
        j = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "swap"]))
        if how == "delete":
            del lines[j]
        elif how == "duplicate":
            lines.insert(j, lines[j])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    elif op == "duplicate_key":
        lines.insert(i + 1, lines[i])
    elif op == "documents":
        lines += ["---", draw(st.sampled_from(["name: second", "", "...", "[1, 2]"]))]
    elif op == "big":
        count = draw(st.sampled_from([100, 1_000, 10_000]))  # bigger ones: test_huge_documents_are_refused_fast
        lines[i] = f"{head}: [" + ",".join(["1"] * count) + "]"
    elif op == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif op == "bytes":
        data = text.encode()
        position = draw(st.integers(0, len(data)))
        return (
            data[:position]
            + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]))
            + data[position:]
        )
    elif op == "directive":
        lines = [
            draw(st.sampled_from(["%YAML 1.1", "%YAML 2.0", "%TAG !p! tag:yaml.org,2002:python/", "%FOO bar"])),
            "---",
        ] + lines
        if "TAG" in lines[0]:
            lines[i + 2] = f"{head}: !p!object/apply:os.system [touch {marker}]"
    return "\n".join(lines) + "\n"


@st.composite
def mutated_text(draw, kind: str, marker: Path):
    """YAML text of a shipped *kind* ("scenarios" or "sweeps") with 1 to 3 text mutations (bytes once one is not UTF-8)."""
    texts = TEXTS if kind == "scenarios" else SWEEP_TEXTS
    text: str | bytes = texts[draw(st.sampled_from(sorted(texts)))]
    for _ in range(draw(st.integers(1, 3))):
        if isinstance(text, bytes):
            break
        text = _text_mutation(draw, text, marker)
    return text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


MARKER = Path("/tmp") / f"sim-fuzz-executed-{os.getpid()}"


@pytest.mark.timeout(600)
@fuzz("yaml")
@given(text=mutated_text("scenarios", MARKER), overrides=st.lists(override(), max_size=2))
def test_mutated_yaml_validates_or_exits_2_naming_the_file(workdir, text, overrides):
    """``python -m sim validate`` on broken YAML: exit 0, or exit 2 with each line naming the file or --set."""
    path = _write(workdir / "town.yaml", text)
    with bounded():
        code, out, err = cli("validate", str(path), *(f"--set={o}" for o in overrides))
    assert_exit_0_or_2(code, out, err, str(path), "--set")
    event(f"exit {code}")
    assert not MARKER.exists(), "a YAML tag ran code"
    if code == 0:
        assert "valid scenario" in out.splitlines()[0]  # then what it builds


# --------------------------------------------------------------------------- sweep files


SWEEP_FILES = sorted((SCENARIOS / "sweeps").glob("*.yaml"))
SWEEPS = {path.stem: _load(path) for path in SWEEP_FILES}
for _data in SWEEPS.values():  # the scenario inline (parsed once), but for the classroom town, by path
    _scenario = (SCENARIOS / "sweeps" / _data["scenario"]).resolve()
    _data["scenario"] = str(_scenario) if _scenario.stem == "classroom" else copy.deepcopy(SHIPPED[_scenario.stem])
SWEEPS["inline"] = {
    "name": "inline",
    "scenario": copy.deepcopy(RICH),
    "set": ["days=1.5"],
    "parameters": {
        "departments.sanitation.units": [1, 2],
        "governance.referral.handover_min.mean": {"from": 15, "to": 45, "step": 15},
    },
    "modes": ["fragmented", "closed"],
    "replications": 2,
    "metrics": ["response_min.median", "within_target", "by_type.garbage.response_min.p90", "utilisation.land"],
}
SWEEPS["lhs"] = {
    "scenario": str(SCENARIOS / "classroom.yaml"),
    "design": "lhs",
    "samples": 4,
    "seed": 9,
    "parameters": {
        "incident_types.garbage_overflow.rate_per_day": {"low": 2, "high": 12},
        "departments.sanitation.units": {"low": 1, "high": 4, "integer": True},
        "target_min": {"low": 5, "high": 500, "log": True},
    },
    "stopping": {"metric": "within_target", "relative_half_width": 0.2, "max_replications": 4},
    "replications": 2,
}
METRICS = metric_paths([t["name"] for t in RICH["incident_types"]], [d["name"] for d in RICH["departments"]])
PARAMETER_FORMS = st.one_of(
    st.lists(st.one_of(NUMBERS, WORDS), max_size=4),
    st.fixed_dictionaries({"from": NUMBERS, "to": NUMBERS, "step": NUMBERS}),
    st.fixed_dictionaries({"from": NUMBERS, "to": NUMBERS, "count": NUMBERS}),
    st.fixed_dictionaries(
        {"low": NUMBERS, "high": NUMBERS}, optional={"integer": st.one_of(st.booleans(), WORDS), "log": st.booleans()}
    ),
    st.dictionaries(WORDS, NUMBERS, max_size=3),
    ODD,
)


def _sweep_mutation(draw, data: dict) -> None:
    """One sweep-specific mutation: a parameter path, its values, a metric, a mode, the design."""
    op = draw(st.sampled_from(["parameter", "values", "metric", "mode", "design", "set", "generic"]))
    if op == "parameter":
        path = draw(st.sampled_from(KEY_PATHS + ["seed", "", "governance.modes", "territory.grid", "departments.0"]))
        data.setdefault("parameters", {})
        if isinstance(data["parameters"], dict):
            data["parameters"][_typo(draw, path) if draw(st.booleans()) else path] = draw(PARAMETER_FORMS)
    elif op == "values" and isinstance(data.get("parameters"), dict) and data["parameters"]:
        data["parameters"][draw(st.sampled_from(sorted(data["parameters"])))] = draw(PARAMETER_FORMS)
    elif op == "metric":
        metric = draw(st.sampled_from(METRICS))
        data["metrics"] = [_typo(draw, metric) if draw(st.booleans()) else metric, *draw(st.lists(WORDS, max_size=1))]
    elif op == "mode":
        mode = draw(st.sampled_from(["fragmented", "joint", "unified", "closed", "pooled_pair"]))
        data["modes"] = draw(st.sampled_from([[mode], [_typo(draw, mode)], [mode, mode], [], mode]))
    elif op == "design":
        data["design"] = draw(st.sampled_from(["factorial", "lhs", "sobol", "latin", 3]))
        data["samples"] = draw(st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, 4, 8, 10**6, 2**20, -1, 2.5, "many"])))
    elif op == "set":
        data["set"] = draw(st.lists(override(), max_size=3))
    else:
        _mutate(draw, data)


@st.composite
def mutated_sweep(draw):
    name = draw(st.sampled_from(sorted(SWEEPS)))
    data = copy.deepcopy(SWEEPS[name])
    for _ in range(draw(st.integers(1, 3))):
        _sweep_mutation(draw, data)
    return data


def _small_enough(sweep) -> bool:
    """Whether running *sweep* stays cheap: a few runs, each on a few hundred incidents."""
    most = (
        len(sweep.points)
        * len(sweep.modes)
        * (sweep.stopping.max_replications if sweep.stopping else sweep.replications)
    )
    if most > 8:
        return False
    for point in range(len(sweep.points)):
        try:
            scenario = sim.scenario_from_dict(sweep.scenario, overrides=sweep.overrides(point))
        except ScenarioError:
            continue  # a failed point is a row with its error
        if scenario.days * sum(t.rate_per_day for t in scenario.incident_types) > 300:
            return False
    return True


@fuzz("sweep_data")
@given(mutated_sweep())
def test_mutated_sweep_data_is_valid_or_clear_problems(data):
    """Broken sweep files (as data): a sweep, or problems naming the sweep file or its scenario; small valid ones run."""
    with bounded():
        try:
            sweep = sweep_from_dict(data, source="sweep.yaml", base_dir=SCENARIOS / "sweeps")
        except ScenarioError as err:
            scenario = data.get("scenario") if isinstance(data, dict) else None
            sources = ["sweep.yaml", "sweep.yaml (scenario)", "--out"] + (
                [scenario] if isinstance(scenario, str) else []
            )
            assert_problems(err.problems, *sources)
            event("problems")
            return
        event("valid")
        if _small_enough(sweep):
            event("valid, run")
            result = run_sweep(sweep, backend="serial")
            assert len(result.runs) >= sweep.runs
            for row in result.runs:
                assert all(row[m] is None or math.isfinite(row[m]) for m in sweep.metrics), row


@pytest.mark.timeout(600)
@fuzz("sweep_yaml")
@given(text=mutated_text("sweeps", MARKER))
def test_mutated_sweep_yaml_runs_or_exits_2_naming_the_file(workdir, text):
    """Broken sweep YAML: load_sweep gives problems naming the file; the sweep command exits 0, 1 (failed runs) or 2."""
    folder = workdir / "sweeps"
    folder.mkdir(exist_ok=True)
    scenarios = []
    for source in sorted(SCENARIOS.glob("*.yaml")):  # what the shipped sweeps name as ../NAME
        scenarios.append(str(folder / ".." / source.name))
        if not (workdir / source.name).exists():
            (workdir / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    path = _write(folder / "sweep.yaml", text)
    sources = (str(path), f"{path} (scenario)", "--out", *scenarios)
    with bounded():
        try:
            sweep = load_sweep(path, out=workdir / "out")
        except ScenarioError as err:  # what the sweep command prints, one "error: PROBLEM" line each, with exit 2
            assert_problems(err.problems, *sources)
            event("problems")
            return
        event("valid")
        if _small_enough(sweep):
            event("valid, run")
            out_dir = workdir / f"out-{time.monotonic_ns()}"
            code, out, err_text = cli("sweep", str(path), "--backend", "serial", "--out", str(out_dir))
            assert_exit_0_or_2(code, out, err_text, str(path), allowed=(0, 1))
    assert not MARKER.exists(), "a YAML tag ran code"


# --------------------------------------------------------------------------- bounded work


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: [" + ",".join(["0"] * (MAX_NODES + 10)) + "]\n", f"more than {MAX_NODES:,} values"),
        ("a:\n" + "".join("- 0\n" for _ in range(MAX_NODES + 10)), f"more than {MAX_NODES:,} values"),
        ("a: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n", f"{MAX_DEPTH} levels"),
        ("a: " + "{b: " * 100_000 + "1" + "}" * 100_000 + "\n", f"{MAX_DEPTH} levels"),
    ],
    ids=["flow-list", "block-list", "deep-flow", "deep-map"],
)
def test_huge_documents_are_refused_fast(tmp_path, text, words):
    """A big or deep document is refused before it is built (libyaml's event parser counts).

    Bounds the CPU time of this process (the command runs in it) to 5 s, and memory; a document
    that were built value by value would take far more of both.
    """
    path = _write(tmp_path / "huge.yaml", text)
    started = time.process_time()
    with bounded(cpu_s=10, memory=600_000_000):
        code, out, err = cli("validate", str(path))
    assert time.process_time() - started < 5
    assert_exit_0_or_2(code, out, err, str(path))
    assert code == 2 and words in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("depth, fan", [(10, 10), (40, 2), (6, 30)])
def test_alias_bombs_fail_fast_in_bounded_memory(tmp_path, depth, fan):
    """Aliases that expand to billions of values stop at MAX_NODES, in bounded CPU time (5 s of this
    process, where the command runs) and memory."""
    rows = [f"l0: &l0 [{', '.join(['lol'] * fan)}]"] + [
        f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * fan)}]" for k in range(1, depth)
    ]
    path = _write(tmp_path / "bomb.yaml", "name: bomb\ndescription:\n" + "".join(f"  {row}\n" for row in rows))
    started = time.process_time()
    with bounded(cpu_s=10, memory=600_000_000):
        code, _, err = cli("validate", str(path))
    assert time.process_time() - started < 5
    assert code == 2 and "billion laughs" in err and err.startswith(f"error: {path}:")


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: [" + ",".join(["0"] * 1_100) + "]\n", "more than 1,000 values"),
        ("a: " + "[" * 5_000 + "]" * 5_000 + "\n", "nesting too deep"),
        ("a: &a [1, 2]\nb: [" + ", ".join(["*a"] * 600) + "]\n", "billion laughs"),
    ],
    ids=["big", "deep", "aliases"],
)
def test_the_bounds_hold_without_libyaml(monkeypatch, text, words):
    """PyYAML without its C parser (no fast pre-scan): the composer's count, the recursion guard and
    the expansion check still refuse, with the same kind of message."""
    import sim.io.loader

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    monkeypatch.setattr(sim.io.loader, "MAX_NODES", 1_000)
    with bounded(cpu_s=10), pytest.raises(ScenarioError) as caught:
        sim.io.loader.parse_yaml(text, "town.yaml")
    assert_problems(caught.value.problems, "town.yaml")
    assert words in str(caught.value) or words.replace("1,000", "500,000") in str(caught.value)


# --------------------------------------------------------------------------- regressions


REGRESSION_FILES = (
    sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.suffix in (".yaml", ".json"))
    if REGRESSIONS.is_dir()
    else []
)


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
def test_regression_files(path, tmp_path):
    """Every input that once broke the simulator (or might): exit 0 or 2 with a clear message, never a traceback.

    ``*.yaml`` are scenario files (validated, then run for a day and a half when valid) or sweep
    files (``sweep_*.yaml``, run on the serial backend); ``*.json`` hold ``{"scenario": FILE or
    data, "set": [...]}``, the overrides given on the command line. A file may say what its
    message must contain in a first comment line ``# expect: WORDS`` (or ``"expect"`` in JSON).
    """
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    expect = None
    if path.suffix == ".json":
        case = json.loads(text)
        scenario = case["scenario"]
        if isinstance(scenario, dict):
            scenario = str(_write(tmp_path / "scenario.yaml", yaml.safe_dump(scenario, allow_unicode=True)))
        else:
            scenario = str((path.parent / scenario).resolve())
        args = ["validate", scenario, *(f"--set={o}" for o in case.get("set", []))]
        expect = case.get("expect")
    elif path.name.startswith("sweep_"):
        has_out = any(line.startswith("out:") for line in text.splitlines())
        args = ["sweep", str(path), "--backend", "serial", *([] if has_out else ["--out", str(tmp_path / "out")])]
    else:
        args = ["validate", str(path)]
    if text.startswith("# expect: "):
        expect = text.splitlines()[0].removeprefix("# expect: ").strip()
    with bounded():
        code, out, err = cli(*args)
        assert_exit_0_or_2(code, out, err, args[1], "--set", allowed=(0, 1, 2) if args[0] == "sweep" else (0, 2))
        if expect:
            assert code == 2 and expect in err, (expect, err)
        if code == 0 and args[0] == "validate":
            code, out, err = cli(
                "run", args[1], *args[2:], "--days", "1.5", "--set=warmup_days=0.5", "--set=drain_days=0.5"
            )
            assert_exit_0_or_2(code, out, err, args[1], "--set")
    assert not Path("/tmp/sim-fuzz-pwned").exists(), "a YAML tag ran code"


# --------------------------------------------------------------------------- message quality


SCENARIO_MISTAKES = [
    # (old text, new text, key path, given, expected, did you mean)
    (
        "    units: 2\n    base: r2c0",
        "    units: -2\n    base: r2c0",
        "departments.sanitation.units",
        "-2",
        "0 or more",
        None,
    ),
    ("    shift: 24h\n", "    shfit: 24h\n", "departments.sanitation.shfit", "'shfit'", "unknown key", "shift"),
    (
        "    rate_per_day: 6\n",
        "    rate_per_day: lots\n",
        "incident_types.garbage_overflow.rate_per_day",
        "'lots'",
        "a number",
        None,
    ),
    (
        "    powers: [garbage_overflow]",
        "    powers: [garbage_overfow]",
        "departments.sanitation.powers.0",
        "'garbage_overfow'",
        "unknown incident type",
        "garbage_overflow",
    ),
    (
        "{dist: lognormal, mean: 15, cv: 0.5}",
        "{dist: lognormla, mean: 15, cv: 0.5}",
        "incident_types.garbage_overflow.service_min.dist",
        "'lognormla'",
        "expected one of: fixed, exponential, lognormal",
        "lognormal",
    ),
    (
        "requires: [police, enforcement]",
        "requires: [police, enforcment]",
        "incident_types.locked_parking_space.requires.1",
        "'enforcment'",
        "unknown department",
        "enforcement",
    ),
    (
        "hotline: {probability: 0.2,",
        "hotline: {probability: .nan,",
        "incident_types.garbage_overflow.detection.hotline.probability",
        "nan",
        "a finite number of 1 or less",
        None,
    ),
    ("seed: 7", "seed: !!int abc", "seed", "'abc'", "a whole number", None),
    ("    priority: 2\n", "    priority: 0.5\n", "incident_types.dispute.priority", "0.5", "a whole number", None),
    (
        "days: 8\n",
        "days: 8\ngovernance:\n  modes:\n    joint: {dispatch: nearst}\n",
        "governance.modes.joint.dispatch",
        "'nearst'",
        "unknown dispatch rule",
        "nearest",
    ),
    (
        "  patch_km: 1.0",
        "  patch_km: 1.0\n  detour: 1.2",
        "territory.detour",
        "'detour'",
        "unknown key",
        "detour_factor",
    ),
]
OVERRIDE_MISTAKES = [
    (
        "departments.sanitaton.units=3",
        "departments.sanitaton.units",
        "'sanitaton'",
        "a name (enforcement, sanitation, police)",
        "sanitation",
    ),
    ("governance.modes.jiont.dispatch=nearest", "governance.modes.jiont.dispatch", "'jiont'", "unknown mode", "joint"),
    ("departments.sanitation.units=many", "departments.sanitation.units", "'many'", "a whole number", None),
    (
        "incident_types.dispute.service_min.dist=lognorm",
        "incident_types.dispute.service_min.dist",
        "'lognorm'",
        "expected one of",
        "lognormal",
    ),
]
SWEEP = """\
name: quality
scenario: town.yaml
set: [days=2, warmup_days=0.5]
parameters:
  departments.sanitation.units: [1, 2]
  governance.referral.handover_min.mean: {from: 15, to: 60, step: 15}
modes: [fragmented, unified]
replications: 2
metrics: [response_min.median, by_type.garbage_overflow.response_min.p90]
"""
SWEEP_MISTAKES = [
    # (old text, new text, line, key path, given, expected, did you mean)
    (
        "handover_min.mean:",
        "handover_min.meen:",
        6,
        "parameters.governance.referral.handover_min.meen",
        "'meen'",
        "unknown key",
        "mean",
    ),
    (
        "  departments.sanitation.units:",
        "  departments.sanitaton.units:",
        5,
        "parameters.departments.sanitaton.units",
        "'sanitaton'",
        "a name (enforcement, sanitation, police)",
        "sanitation",
    ),
    (
        "by_type.garbage_overflow.response_min.p90",
        "by_type.garbage_overflo.response_min.p90",
        9,
        "metrics.1",
        "'by_type.garbage_overflo.response_min.p90'",
        "unknown metric",
        "by_type.garbage_overflow.response_min.p90",
    ),
    (
        "modes: [fragmented, unified]",
        "modes: [fragmented, unifed]",
        7,
        "modes.1",
        "'unifed'",
        "unknown mode",
        "unified",
    ),
    (
        "replications: 2",
        "replications: 2\ndesign: factorail",
        9,
        "design",
        "'factorail'",
        "one of 'factorial', 'lhs' or 'sobol'",
        "factorial",
    ),
    ("warmup_days=0.5]", "warmup_day=0.5]", 3, "set.1", "'warmup_day'", "unknown key", "warmup_days"),
    ("replications: 2", "replications: two", 8, "replications", "'two'", "a whole number", None),
    (
        "{from: 15, to: 60, step: 15}",
        "{from: 15, too: 60, step: 15}",
        6,
        "parameters.governance.referral.handover_min.mean",
        "too",
        "expected a list of values, {from, to, step}",
        "to",
    ),
    (
        "{from: 15, to: 60, step: 15}",
        "{from: 15, to: 60, step: -15}",
        6,
        "parameters.governance.referral.handover_min.mean",
        "step -15",
        "expected step > 0",
        None,
    ),
    (
        "scenario: town.yaml",
        "scenario: twon.yaml",
        2,
        "scenario",
        "twon.yaml",
        "expected a YAML scenario file",
        "town.yaml",
    ),
]


def _one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) >= 1 and all(line.startswith("error: ") for line in lines), err
    return lines[0]


def test_messages_name_file_line_key_path_given_expected_and_suggest(tmp_path):
    """What a new user sees for typical mistakes: the file, the line, the key path, what was given,
    what was expected, and "did you mean" for a typo, in scenarios, --set and sweep files alike."""
    town = tmp_path / "town.yaml"
    base = (SCENARIOS / "classroom.yaml").read_text(encoding="utf-8")
    town.write_text(base, encoding="utf-8")
    checked = []
    for old, new, key_path, shown, expected, suggestion in SCENARIO_MISTAKES:
        assert base.count(old) == 1, old
        text = base.replace(old, new)
        path = _write(tmp_path / "bad.yaml", text)
        code, _, err = cli("validate", str(path))
        changed = [row for row in new.splitlines() if row not in old.splitlines()]
        needle = next((row for row in changed if shown.strip("'") in row), changed[-1])
        line = next(n for n, row in enumerate(text.splitlines(), 1) if needle.strip() in row)
        message = _one_error(err)
        assert code == 2 and message.startswith(f"error: {path}:{line}: {key_path}: "), (message, line)
        checked.append((message, shown, expected, suggestion))
    for override_text, key_path, shown, expected, suggestion in OVERRIDE_MISTAKES:
        code, _, err = cli("validate", str(town), f"--set={override_text}")
        message = _one_error(err)
        assert code == 2 and message.startswith(f"error: --set: {key_path}: "), message
        checked.append((message, shown, expected, suggestion))
    for old, new, line, key_path, shown, expected, suggestion in SWEEP_MISTAKES:
        assert SWEEP.count(old) == 1, old
        path = _write(tmp_path / "sweep.yaml", SWEEP.replace(old, new))
        code, _, err = cli("sweep", str(path), "--backend", "serial", "--out", str(tmp_path / "out"))
        message = _one_error(err)
        assert code == 2 and message.startswith(f"error: {path}:{line}: {key_path}: "), message
        checked.append((message, shown, expected, suggestion))
    for message, shown, expected, suggestion in checked:
        assert shown in message, (shown, message)
        assert expected in message, (expected, message)
        if suggestion:
            assert f"did you mean '{suggestion}'" in message or f"did you mean '{tmp_path / suggestion}'" in message, (
                message
            )
    assert not (tmp_path / "out").exists()
