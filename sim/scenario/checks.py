"""Checks that span several parts of a scenario, after each part has validated on its own.

A department named in an incident type must exist, names must be unique, every matter must be
actionable by someone in every mode, and one run must stay within the incident limit. Each
check returns problems as (key path, message) pairs rather than raising on the first, so that
the loader can report every problem of a file at once with its line.
"""

from __future__ import annotations

from sim.errors import did_you_mean
from sim.scenario.governance import resolve_mode, unpowered_parts
from sim.scenario.schema import MAX_EXPECTED_INCIDENTS, Scenario, Territory

__all__ = ["cross_check"]


def cross_check(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Problems that span several parts of a scenario, as (key path, message) pairs.

    Checks names are unique, every name refers to something that exists, and every incident
    type can be acted on by at least one unit in every mode.
    """
    problems: list[tuple[tuple, str]] = []
    expected = scenario.days * sum(t.rate_per_day for t in scenario.incident_types)
    if expected > MAX_EXPECTED_INCIDENTS:
        problems.append(
            (
                ("days",),
                f"{scenario.days:g} days at {expected / scenario.days:,.0f} incidents a day is about {expected:,.0f} "
                f"incidents; one run is limited to {MAX_EXPECTED_INCIDENTS:,} (shorten the horizon or split it)",
            )
        )
    problems += _unique_names(scenario.departments, "departments")
    problems += _unique_names(scenario.incident_types, "incident_types")
    problems += _references(scenario)
    if problems:
        return problems
    for mode_name, spec in scenario.governance.modes.items():
        try:
            mode = resolve_mode(mode_name, spec, scenario)
        except ValueError as err:
            problems.append((("governance", "modes", mode_name), str(err)))
            continue
        for type_name, dept in unpowered_parts(scenario, mode):
            who = f"department '{dept}'" if dept else "any department with power over it"
            problems.append(
                (
                    ("governance", "modes", mode_name),
                    f"incident type '{type_name}' needs {who}, but no unit may act on it in mode '{mode_name}'",
                )
            )
    return problems


def _unique_names(items, key) -> list[tuple[tuple, str]]:
    seen: dict[str, int] = {}
    out = []
    for i, item in enumerate(items):
        if item.name in seen:
            out.append(((key, i, "name"), f"name '{item.name}' is already used by {key}[{seen[item.name]}]"))
        seen.setdefault(item.name, i)
    return out


def _references(scenario: Scenario) -> list[tuple[tuple, str]]:
    def unknown(kind: str, name: str, known: list[str]) -> str:
        return f"unknown {kind} '{name}'" + did_you_mean(name, known, otherwise=f"; known: {', '.join(known) or 'none'}")

    depts = [d.name for d in scenario.departments]
    types = [t.name for t in scenario.incident_types]
    patches = _patch_names(scenario.territory) + ["centre"]
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, d in enumerate(scenario.departments):
        for j, power in enumerate(d.powers):
            if power not in types:
                out.append((("departments", i, "powers", j), unknown("incident type", power, types)))
        bases = [d.base] if isinstance(d.base, str) else d.base
        for j, base in enumerate(bases):
            if base not in patches:
                path: tuple[str | int, ...] = ("departments", i, "base")
                if not isinstance(d.base, str):
                    path = (*path, j)
                out.append((path, unknown("patch", base, patches)))
        if isinstance(d.base, list) and not d.base:
            out.append((("departments", i, "base"), "base list is empty"))
    for i, t in enumerate(scenario.incident_types):
        holders = [d.name for d in scenario.departments if t.name in d.powers]
        for j, dept in enumerate(t.requires or []):
            if dept not in depts:
                out.append((("incident_types", i, "requires", j), unknown("department", dept, depts)))
            elif dept not in holders:
                out.append(
                    (
                        ("incident_types", i, "requires", j),
                        f"department '{dept}' is required but '{t.name}' is not in its powers",
                    )
                )
        if not holders:
            out.append((("incident_types", i, "name"), f"no department has '{t.name}' in its powers"))
    for name, mode in scenario.governance.modes.items():
        pooled = mode.authority.pooled if mode.authority else None
        if isinstance(pooled, list):
            for j, dept in enumerate(pooled):
                if dept not in depts:
                    out.append(
                        (("governance", "modes", name, "authority", "pooled", j), unknown("department", dept, depts))
                    )
    return out


def _patch_names(territory: Territory) -> list[str]:
    if territory.patches is not None:
        return [p.name for p in territory.patches]
    g = territory.grid
    assert g is not None  # the schema requires a grid or patches
    return [f"r{r}c{c}" for r in range(g.rows) for c in range(g.cols)]
