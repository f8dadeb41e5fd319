"""What the app's controls mean: a scenario plus ``--set``-style overrides, and nothing else.

The page sends its controls as plain JSON (:class:`Settings`). :func:`overrides_of` turns them into
the ``key.path=value`` strings that ``python -m sim compare --set`` takes; the way of working built
from the lever controls is one more mode, ``custom``, added to the scenario's modes
(:func:`with_custom_mode`) and filled by overrides (``governance.modes.custom.information=instant``
…). So what the app runs is exactly :func:`sim.io.loader.scenario_from_dict` of the scenario's data
with those overrides, and :func:`scenario_yaml` writes the same data as a scenario file that
``python -m sim validate`` accepts and ``python -m sim compare`` reproduces (same seed, same numbers).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Problem, ScenarioError, did_you_mean, printable
from sim.io.loader import apply_overrides, parse_yaml, read_yaml, scenario_from_dict
from sim.io.shipped import scenario_folders
from sim.scenario.governance import LEVERS, PRESETS, modes_of
from sim.scenario.schema import Scenario

__all__ = [
    "CUSTOM",
    "LEVERS",
    "MAX_REPLICATIONS",
    "MAX_DAYS",
    "Settings",
    "ScenarioSource",
    "shipped_scenarios",
    "open_source",
    "with_custom_mode",
    "overrides_of",
    "load_settings",
    "controls_of",
    "scenario_yaml",
    "preset_levers",
    "centre_levels",
    "centre_overrides",
    "campaign_overrides",
    "scaled_operators",
]

CUSTOM = "custom"
"""The name of the way of working built from the lever controls."""

MAX_REPLICATIONS = 20
MAX_DAYS = 60
MAX_UNITS = 500


def preset_levers(name: str) -> dict:
    """The lever values of a preset way of working (``fragmented``, ``joint``, ``unified``)."""
    mode = PRESETS[name]
    return {
        "pooled": "all" if mode.pooled else "none",
        "information": mode.information,
        "dispatch": mode.dispatch,
        "coordination": mode.coordination,
        "leave_probability": mode.leave_probability,
        "closed_loop": mode.closed_loop,
        "dispatch_across_borders": mode.across_borders,
    }


@dataclass(frozen=True)
class ScenarioSource:
    """A scenario's text as read (a shipped file or an upload): its data, line numbers and name."""

    name: str
    data: dict
    lines: dict = field(repr=False)


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenario files by file name (``anhai_garbage.yaml`` …), first folder found wins."""
    found: dict[str, Path] = {}
    for folder in scenario_folders():
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            found.setdefault(path.name, path)
    return found


def open_source(name: str | None = None, text: str | None = None, path: str | Path | None = None) -> ScenarioSource:
    """Read a scenario: a shipped one by file *name*, an uploaded *text* named *name*, or a file *path*.

    Raises
    ------
    ScenarioError
        For an unknown shipped name or a file that is not valid YAML (with its line).
    """
    if text is not None:
        data, lines = parse_yaml(text, name or "upload.yaml")
        return ScenarioSource(name or "upload.yaml", data, lines)
    if path is None:
        shipped = shipped_scenarios()
        if name not in shipped:
            raise ScenarioError(
                [
                    Problem(
                        "scenario",
                        None,
                        "",
                        f"no shipped scenario named {name!r}; expected one of: {', '.join(shipped)}",
                    )
                ]
            )
        path = shipped[name]
    data, lines = read_yaml(path)
    return ScenarioSource(str(path) if name is None else name, data, lines)


def with_custom_mode(data: Any) -> Any:
    """A copy of scenario *data* whose modes include an empty ``custom`` mode (filled by overrides)."""
    if not isinstance(data, dict):
        return data
    data = copy.deepcopy(data)
    governance = data.get("governance")
    if not isinstance(governance, dict):
        governance = data["governance"] = {}
    modes = governance.get("modes")
    if not isinstance(modes, dict):
        modes = governance["modes"] = {"fragmented": {}, "joint": {}, "unified": {}}
    modes.setdefault(CUSTOM, {})
    return data


@dataclass(frozen=True)
class Settings:
    """The app's controls: the levers of the custom way of working and the scenario's numbers.

    Every field left ``None`` keeps the scenario's value (no override).

    Attributes
    ----------
    levers:
        ``pooled`` (``none``/``all``), ``information``, ``dispatch``, ``coordination``,
        ``leave_probability`` (0-1) and ``closed_loop`` of the ``custom`` mode.
    units:
        Department -> number of units (explicit shift windows are scaled in proportion).
    handover_min:
        Mean working minutes per referral hand-over.
    misroute_probability:
        Chance a forward goes to the wrong department.
    days, seed, replications:
        Horizon, base seed, replications (replications are not part of a scenario).
    centre_operators:
        Centre level (``governance.centres[].level``) -> operators of the level's smallest staffed
        centre; every staffed centre of the level is scaled in proportion (:func:`centre_overrides`).
    campaigns:
        Campaign name -> ``{"on": bool, "units": {department: units}}`` (a campaign switched off is
        left out of the scenario; units are those each department sends).
    """

    levers: dict = field(default_factory=lambda: preset_levers("unified"))
    units: dict = field(default_factory=dict)
    handover_min: float | None = None
    misroute_probability: float | None = None
    days: float | None = None
    seed: int | None = None
    replications: int = 1
    centre_operators: dict = field(default_factory=dict)
    campaigns: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Any) -> Settings:
        """Settings from the page's JSON, each value checked for its type and range.

        Raises
        ------
        ScenarioError
            With one problem per control whose value cannot be used.
        """
        raw = raw if isinstance(raw, dict) else {}
        problems: list[Problem] = []

        def bad(key: str, message: str) -> None:
            problems.append(Problem("settings", None, key, message))

        levers = dict(preset_levers("unified"))
        for key, value in (raw.get("levers") or {}).items():
            if key not in LEVERS:
                bad(f"levers.{key}", f"unknown lever; expected one of: {', '.join(LEVERS)}")
            else:
                levers[key] = value
        choices = {
            "pooled": ("none", "all"),
            "information": ("referral", "instant"),
            "dispatch": ("own_queue", "nearest"),
            "coordination": ("sequential", "concurrent"),
        }
        for key, allowed in choices.items():
            if levers[key] not in allowed:
                bad(f"levers.{key}", f"expected one of: {', '.join(allowed)}; got {levers[key]!r}")
        leave = _number(levers["leave_probability"])
        if leave is None or not 0 <= leave <= 1:
            bad("levers.leave_probability", f"expected a number from 0 to 1; got {levers['leave_probability']!r}")
        else:
            levers["leave_probability"] = leave
        levers["closed_loop"] = bool(levers["closed_loop"])
        if not isinstance(levers["dispatch_across_borders"], bool):
            bad("levers.dispatch_across_borders", f"expected true or false; got {levers['dispatch_across_borders']!r}")
        units = {}
        for dept, value in (raw.get("units") or {}).items():
            n = _number(value)
            if n is None or n != int(n) or not 0 <= n <= MAX_UNITS:
                bad(f"units.{dept}", f"expected a whole number of units from 0 to {MAX_UNITS}; got {value!r}")
            else:
                units[str(dept)] = int(n)
        handover = _optional(raw, "handover_min", 0, 100_000, bad, "minutes")
        misroute = _optional(raw, "misroute_probability", 0, 0.99, bad, "probability")
        days = _optional(raw, "days", 0.01, MAX_DAYS, bad, "days")
        seed = _optional(raw, "seed", 0, 2**63 - 1, bad, "seed", whole=True)
        reps = _optional(raw, "replications", 1, MAX_REPLICATIONS, bad, "replications", whole=True)
        operators = _whole_numbers(raw.get("centre_operators"), "centre_operators", bad)
        campaigns = _campaign_settings(raw.get("campaigns"), bad)
        if problems:
            raise ScenarioError(problems)
        return cls(
            levers,
            units,
            handover,
            misroute,
            days,
            None if seed is None else int(seed),
            int(reps or 1),
            centre_operators=operators,
            campaigns=campaigns,
        )

    def to_json(self) -> dict:
        """The settings as the page sends them."""
        return {
            "levers": dict(self.levers),
            "units": dict(self.units),
            "handover_min": self.handover_min,
            "misroute_probability": self.misroute_probability,
            "days": self.days,
            "seed": self.seed,
            "replications": self.replications,
            "centre_operators": dict(self.centre_operators),
            "campaigns": {name: {"on": c["on"], "units": dict(c["units"])} for name, c in self.campaigns.items()},
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _optional(raw: dict, key: str, low: float, high: float, bad, what: str, whole: bool = False) -> float | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    number = _number(value)
    if number is None or not low <= number <= high or (whole and number != int(number)):
        kind = "a whole number" if whole else "a number"
        bad(key, f"expected {kind} of {what} from {low:g} to {high:g}; got {value!r}")
        return None
    return int(number) if whole else number


def _whole_numbers(raw: Any, key: str, bad) -> dict[str, int]:
    """A mapping of names to whole numbers from 0 to :data:`MAX_UNITS` (the scenario's schema judges the rest)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        bad(key, f"expected a mapping of names to whole numbers; got {raw!r}")
        return {}
    out = {}
    for name, value in raw.items():
        n = _number(value)
        if n is None or n != int(n) or not 0 <= n <= MAX_UNITS:
            bad(f"{key}.{name}", f"expected a whole number from 0 to {MAX_UNITS}; got {value!r}")
        else:
            out[str(name)] = int(n)
    return out


def _campaign_settings(raw: Any, bad) -> dict[str, dict]:
    """``{name: {"on": bool, "units": {department: n}}}`` from the page's JSON, each value checked."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        bad("campaigns", f"expected a mapping of campaign names to settings; got {raw!r}")
        return {}
    out = {}
    for name, value in raw.items():
        value = value if isinstance(value, dict) else {"on": value}
        unknown = sorted(set(value) - {"on", "units"})
        if unknown:
            bad(f"campaigns.{name}.{unknown[0]}", "unknown setting; expected 'on' or 'units'")
        on = value.get("on", True)
        if not isinstance(on, bool):
            bad(f"campaigns.{name}.on", f"expected true or false; got {on!r}")
        units = _whole_numbers(value.get("units"), f"campaigns.{name}.units", bad)
        out[str(name)] = {"on": on, "units": units}
    return out


def _flow(value: Any) -> str:
    """A value as one line of YAML (JSON is YAML) for an override."""
    return json.dumps(value, ensure_ascii=False)


def scenario_team(data: dict) -> Any:
    """What pooling means in this scenario: the departments its ``unified`` mode pools.

    Pooling names its departments (a scenario says who joins the team), so the app's pooling
    switch pools the scenario's own unified team; without one, every ``poolable`` department.
    """
    modes = ((data.get("governance") or {}).get("modes") or {}) if isinstance(data, dict) else {}
    unified = modes.get("unified") if isinstance(modes, dict) else None
    authority = unified.get("authority") if isinstance(unified, dict) else None
    pooled = authority.get("pooled") if isinstance(authority, dict) else None
    return pooled if isinstance(pooled, list) else "all"


def overrides_of(settings: Settings, data: dict) -> list[str]:
    """The ``key.path=value`` overrides that give the scenario *data* these settings.

    Only what differs from the scenario is overridden, except the ``custom`` mode, which is
    always spelled out lever by lever (starting from ``fragmented``, so that nothing is inherited
    unseen).
    """
    levers = settings.levers
    out = [
        f"governance.modes.{CUSTOM}.based_on=fragmented",
        f"governance.modes.{CUSTOM}.authority={_flow({'pooled': scenario_team(data) if levers['pooled'] == 'all' else 'none'})}",
        f"governance.modes.{CUSTOM}.information={levers['information']}",
        f"governance.modes.{CUSTOM}.dispatch={levers['dispatch']}",
        f"governance.modes.{CUSTOM}.coordination={levers['coordination']}",
        f"governance.modes.{CUSTOM}.leave_probability={levers['leave_probability']:g}",
        f"governance.modes.{CUSTOM}.closed_loop={'true' if levers['closed_loop'] else 'false'}",
    ]
    if levers.get("dispatch_across_borders", True) is False or _mentions_borders(data):
        across = "true" if levers.get("dispatch_across_borders", True) else "false"
        out.append(f"governance.modes.{CUSTOM}.dispatch_across_borders={across}")
    departments = {d.get("name"): d for d in data.get("departments", []) if isinstance(d, dict)}
    for name, units in settings.units.items():
        dept = departments.get(name)
        if dept is None or dept.get("units") == units:
            if dept is None:
                out.append(f"departments.{name}.units={units}")  # the loader names the unknown department
            continue
        out.append(f"departments.{name}.units={units}")  # shift windows are a pattern the team size scales
    referral = (data.get("governance") or {}).get("referral") or {}
    if settings.handover_min is not None:
        current = referral.get("handover_min")
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            if current != settings.handover_min:
                out.append(f"governance.referral.handover_min={settings.handover_min:g}")
        elif not isinstance(current, dict) or current.get("mean") != settings.handover_min:
            out.append(f"governance.referral.handover_min.mean={settings.handover_min:g}")
    if (
        settings.misroute_probability is not None
        and referral.get("misroute_probability", 0.12) != settings.misroute_probability
    ):
        out.append(f"governance.referral.misroute_probability={settings.misroute_probability:g}")
    out += centre_overrides(settings.centre_operators, data)
    out += campaign_overrides(settings.campaigns, data)
    if settings.days is not None and data.get("days") != settings.days:
        out.append(f"days={settings.days:g}")
    if settings.seed is not None and data.get("seed") != settings.seed:
        out.append(f"seed={settings.seed}")
    return out


def _mentions_borders(data: dict) -> bool:
    """Whether a mode of the scenario says whether units may cross sector borders."""
    modes = (data.get("governance") or {}).get("modes") if isinstance(data.get("governance"), dict) else None
    return isinstance(modes, dict) and any(
        isinstance(m, dict) and "dispatch_across_borders" in m for m in modes.values()
    )


def centre_levels(data: dict) -> dict[str, list[tuple[str, int]]]:
    """The staffed centres of scenario *data* by level, in file order: level -> [(centre, operators)].

    Centres without operators (unlimited, no queue) are left out: they have no staff to scale.
    """
    governance = data.get("governance") if isinstance(data, dict) else None
    centres = governance.get("centres") if isinstance(governance, dict) else None
    levels: dict[str, list[tuple[str, int]]] = {}
    for centre in centres if isinstance(centres, list) else []:
        if not isinstance(centre, dict):
            continue
        operators = centre.get("operators")
        if isinstance(operators, int) and not isinstance(operators, bool) and operators > 0:
            levels.setdefault(str(centre.get("level", "town")), []).append((str(centre.get("name")), operators))
    return levels


def scaled_operators(current: int, smallest: int, wanted: int) -> int:
    """A centre's operators when its level's smallest staffed centre gets *wanted* (in proportion, rounded).

    ``scaled_operators(2, 1, 3) == 6``: a town centre with twice the smallest's operators keeps twice.
    """
    return math.floor(current * wanted / smallest + 0.5)


def centre_overrides(operators: dict[str, int], data: dict) -> list[str]:
    """``governance.centres.NAME.operators=N`` for every staffed centre of each level in *operators* that changes."""
    levels = centre_levels(data)
    out = []
    for level, wanted in operators.items():
        centres = levels.get(level, [])
        smallest = min((n for _, n in centres), default=0)
        for name, current in centres:
            new = scaled_operators(current, smallest, wanted)
            if new != current:
                out.append(f"governance.centres.{name}.operators={new}")
    return out


def _campaigns_of(data: dict) -> list[dict]:
    campaigns = data.get("campaigns") if isinstance(data, dict) else None
    return [c for c in campaigns if isinstance(c, dict)] if isinstance(campaigns, list) else []


def _plain_data(value: Any) -> Any:
    """Scenario data as JSON can hold it (dates as ISO text, which the schema reads back as dates)."""
    if isinstance(value, dict):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_data(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def campaign_overrides(campaigns: dict[str, dict], data: dict) -> list[str]:
    """The overrides that switch campaigns off (the list without them) and set the units each department sends."""
    present = _campaigns_of(data)
    off = {name for name, c in campaigns.items() if not c.get("on", True)}
    out = []
    if off & {c.get("name") for c in present}:
        kept = [c for c in present if c.get("name") not in off]
        out.append(f"campaigns={_flow(_plain_data(kept))}")
    by_name = {c.get("name"): c for c in present}
    for name, setting in campaigns.items():
        if name in off:
            continue
        sent = (by_name.get(name) or {}).get("departments")
        for dept, units in setting.get("units", {}).items():
            if not isinstance(sent, dict) or sent.get(dept) != units:
                out.append(f"campaigns.{name}.departments.{dept}={units}")  # the loader names what is unknown
    return out


def _unknown_names(settings: Settings, data: dict) -> list[Problem]:
    """A centre level or campaign the settings name that the scenario does not have."""
    problems = []
    levels = centre_levels(data)
    for level in settings.centre_operators:
        if level not in levels:
            known = ", ".join(levels) or "none: the scenario has no staffed centres (governance.centres)"
            message = f"no staffed centre at level {level!r}; expected one of: {known}{did_you_mean(level, levels)}"
            problems.append(Problem("settings", None, f"centre_operators.{level}", message))
    names = [str(c.get("name")) for c in _campaigns_of(data)]
    for name in settings.campaigns:
        if name not in names:
            known = ", ".join(names) or "none: the scenario has no campaigns"
            message = f"no campaign named {name!r}; expected one of: {known}{did_you_mean(name, names)}"
            problems.append(Problem("settings", None, f"campaigns.{name}", message))
    return problems


def load_settings(source: ScenarioSource, settings: Settings) -> tuple[Scenario, list[str]]:
    """The scenario the app runs for these settings, and the overrides that made it.

    Raises
    ------
    ScenarioError
        With every problem, each naming its line (in the scenario file) or its key path (an override).
    """
    data = source.data if isinstance(source.data, dict) else {}
    problems = _unknown_names(settings, data)
    if problems:
        raise ScenarioError(problems)
    overrides = overrides_of(settings, data)
    scenario = scenario_from_dict(with_custom_mode(source.data), source.name, source.lines, overrides)
    return scenario, overrides


def controls_of(source: ScenarioSource) -> dict:
    """The controls' starting values and ranges for a scenario (what the page draws).

    Raises
    ------
    ScenarioError
        If the scenario itself is not valid.
    """
    scenario, _ = load_settings(source, Settings())
    referral = scenario.governance.referral
    handover = referral.handover_min
    mean = handover if isinstance(handover, (int, float)) else getattr(handover, "mean", None)
    types = [t.name for t in scenario.incident_types]
    modes = modes_of(scenario)
    presets = {
        name: preset_levers(name) | ({"dispatch_across_borders": modes[name].across_borders} if name in modes else {})
        for name in PRESETS
    }
    staffed = Counter(c.level for c in scenario.governance.centres or () if c.operators is not None)
    return {
        "scenario": source.name,
        "title": scenario.name,
        "description": scenario.description or "",
        "departments": [
            {"name": d.name, "units": d.units, "max": max(2 * d.units, d.units + 10)} for d in scenario.departments
        ],
        "handover_min": mean,
        "misroute_probability": referral.misroute_probability,
        "days": scenario.days,
        "seed": scenario.seed,
        "replications": 1,
        "levers": presets["unified"],
        "presets": presets,
        "modes": [m for m in scenario.governance.modes if m != CUSTOM],
        "focus": "garbage_overflow" if "garbage_overflow" in types else types[0],
        "borders": any(d.home != "bases" for d in scenario.departments) or _mentions_borders(source.data),
        "centres": [
            {
                "level": level,
                "centres": staffed.get(level, len(centres)),  # as loaded: an entry with `each` is many centres
                "operators": min(n for _, n in centres),
                "max": max(10, 4 * min(n for _, n in centres)),
            }
            for level, centres in centre_levels(source.data).items()
        ],
        "campaigns": [
            {
                "name": c.name,
                "departments": [{"name": d, "units": n, "max": max(2 * n, n + 5)} for d, n in c.departments.items()],
            }
            for c in scenario.campaigns
        ],
    }


def scenario_yaml(source: ScenarioSource, settings: Settings) -> str:
    """The scenario with these settings as a YAML file that ``validate`` accepts and ``compare`` reproduces.

    Raises
    ------
    ScenarioError
        If the settings do not make a valid scenario.
    """
    scenario, overrides = load_settings(source, settings)
    data, _ = apply_overrides(with_custom_mode(source.data), overrides)
    header = [
        f"# {scenario.name}: written by the simulator's app from {printable(Path(source.name).name)} with these overrides:",
        *(f"#   --set {text}" for text in overrides),
        "# Reproduce the app's numbers (same seed, same incidents) with:",
        f"#   python -m sim compare THIS_FILE --replications {settings.replications}",
    ]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(header) + "\n" + body
