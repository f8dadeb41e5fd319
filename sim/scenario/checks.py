"""Checks that span several parts of a scenario, after each part has validated on its own.

A department named in an incident type must exist, names must be unique, every matter must be
actionable by someone in every mode, and one run must stay within the incident limit. Each
check returns problems as (key path, message) pairs rather than raising on the first, so that
the loader can report every problem of a file at once with its line.

:func:`warnings` finds settings that are valid but have no effect (or not the effect they may
seem to have), as (key path, message) pairs with list items named by their ``name``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.errors import did_you_mean
from sim.scenario.centres import expand, patch_areas
from sim.scenario.governance import PRESETS, modes_of, resolve_mode, unpowered_parts
from sim.scenario.schedule import MINUTES_PER_DAY, WeeklySteps
from sim.scenario.schema import CHANNELS, MAX_EXPECTED_INCIDENTS, CentreSpec, InstantSpec, Scenario, Territory

__all__ = ["cross_check", "warnings", "window_warnings"]


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
    problems += _dated(scenario)
    problems += _unique_names(scenario.departments, "departments")
    problems += _unique_names(scenario.incident_types, "incident_types")
    problems += _sector_blocks(scenario.territory)
    problems += _references(scenario)
    problems += _campaign_problems(scenario)
    problems += _centres(scenario)
    problems += _leaders(scenario)
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


def _dated(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Holidays, seasons and summer hours are placed by date: they need ``start_date``."""
    if scenario.start_date is not None:
        return [
            (("holidays", i), f"{day} is before start_date {scenario.start_date}")
            for i, day in enumerate(scenario.holidays)
            if day < scenario.start_date
        ]
    needs = "needs start_date (the date of the run's first day, a Monday, e.g. start_date: 2024-03-04)"
    out: list[tuple[tuple, str]] = [(("holidays",), needs)] if scenario.holidays else []
    out += [
        (("incident_types", i, "seasonal"), needs)
        for i, t in enumerate(scenario.incident_types)
        if t.seasonal is not None
    ]
    if scenario.governance.referral.summer is not None:
        out.append((("governance", "referral", "summer"), needs))
    return out


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
        return f"unknown {kind} '{name}'" + did_you_mean(
            name, known, otherwise=f"; known: {', '.join(known) or 'none'}"
        )

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
        if d.rounds is not None:
            for j, seen in enumerate(d.rounds.sees or []):
                if seen not in types:
                    out.append((("departments", i, "rounds", "sees", j), unknown("incident type", seen, types)))
            if isinstance(d.rounds.patches, list):
                if not d.rounds.patches:
                    out.append(
                        (("departments", i, "rounds", "patches"), "expected 'all' or a non-empty list of patch names")
                    )
                for j, patch in enumerate(d.rounds.patches):
                    if patch not in patches or patch == "centre":
                        out.append((("departments", i, "rounds", "patches", j), unknown("patch", patch, patches[:-1])))
        for key in d.competence:
            if key != "*" and key not in types:
                out.append((("departments", i, "competence", key), unknown("incident type", key, [*types, "*"])))
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
        for j, dept in enumerate(t.duplication.departments or []):
            if dept not in depts:
                out.append((("incident_types", i, "duplication", "departments", j), unknown("department", dept, depts)))
    for name, mode in scenario.governance.modes.items():
        pooled = mode.authority.pooled if mode.authority else None
        if isinstance(pooled, list):
            for j, dept in enumerate(pooled):
                if dept not in depts:
                    out.append(
                        (("governance", "modes", name, "authority", "pooled", j), unknown("department", dept, depts))
                    )
    return out


def _campaign_problems(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Campaigns name departments, incident types and places that exist, and no more units than a department has."""
    out: list[tuple[tuple, str]] = []
    out += _unique_names(scenario.campaigns, "campaigns")
    depts = {d.name: d.units for d in scenario.departments}
    types = [t.name for t in scenario.incident_types]
    areas = _area_names(scenario.territory)
    for i, c in enumerate(scenario.campaigns):
        at = ("campaigns", i)
        for dept, units in c.departments.items():
            if dept not in depts:
                out.append(((*at, "departments", dept), _unknown("department", dept, list(depts))))
            elif units > depts[dept]:
                out.append(
                    (
                        (*at, "departments", dept),
                        f"the campaign takes {units} units of '{dept}', which has {depts[dept]}",
                    )
                )
        for name in c.finds_per_unit_hour:
            if name not in types:
                out.append(((*at, "finds_per_unit_hour", name), _unknown("incident type", name, types)))
        for key, kind in (("patches", "patch"), ("sectors", "sector"), ("grids", "grid")):
            for j, name in enumerate(getattr(c, key) or []):
                if key in areas and name not in areas[key]:
                    out.append(((*at, key, j), _unknown(kind, name, areas[key])))
        if c.schedule.dated and scenario.start_date is None:
            out.append(
                (
                    (*at, "schedule"),
                    "a monthly or dated calendar needs start_date (the date of the run's first day, a Monday, "
                    "e.g. start_date: 2024-03-04)",
                )
            )
    return out


def _sectors_and_grids(territory: Territory) -> tuple[list[str], list[str], list[str], list[str]]:
    """Each patch's sector and grid, and the sector and grid names (as :func:`sim.engine.territory.build_town`)."""
    return patch_areas(territory)


def _sector_blocks(territory: Territory) -> list[tuple[tuple, str]]:
    """Sectors joined from blocks: each block known and in one sector, no name taken by a block left alone."""
    g = territory.grid
    if g is None or g.sector_blocks is None:
        return []
    base = ("territory", "grid", "sector_blocks")
    blocks = g.block_names()
    span = f"the grid's sectors [{g.sectors[0]}, {g.sectors[1]}] make blocks S1 to S{len(blocks)}"
    out: list[tuple[tuple, str]] = []
    owner: dict[str, str] = {}
    for name, members in g.sector_blocks.items():
        for j, block in enumerate(members):
            if block not in blocks:
                hint = did_you_mean(block, blocks, otherwise="")
                out.append(((*base, name, j), f"unknown block '{block}'; expected a block name ({span}){hint}"))
            elif block in owner:
                message = f"block {block} is already in sector '{owner[block]}'; expected each block in one sector"
                out.append(((*base, name, j), message))
            else:
                owner[block] = name
    for name, members in g.sector_blocks.items():
        if name in blocks and name not in members and name not in owner:
            message = (
                f"'{name}' is the name of block {name}, which is in no joined sector and keeps its name; "
                f"list {name} in it or choose another name"
            )
            out.append(((*base, name), message))
    return out


def _centres(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Centres at several levels: names, parents without cycles, known patches, types and departments.

    Every patch must be served by a centre, and its lowest centre must be one: two centres at the
    same depth of the tree may not both serve it.
    """
    entries = scenario.governance.centres
    if entries is None:
        return []
    territory = scenario.territory
    known = territory.patches is not None or territory.grid is not None  # else a GIS layer not read yet
    centres, origin = expand(entries, territory) if known else (list(entries), list(range(len(entries))))
    return _to_entries(_expanded_centres(scenario, centres), origin)


def _to_entries(problems: list[tuple[tuple, str]], origin: list[int]) -> list[tuple[tuple, str]]:
    """Problems of expanded centres at the key path of the entry each came from (``each``), once per path."""
    out: dict[tuple, str] = {}
    for path, message in problems:
        if len(path) > 2 and path[:2] == ("governance", "centres") and isinstance(path[2], int):
            path = (*path[:2], origin[path[2]], *path[3:])
        out.setdefault(path, message)
    return list(out.items())


def _expanded_centres(scenario: Scenario, centres: list[CentreSpec]) -> list[tuple[tuple, str]]:
    """The checks of :func:`_centres` on plain centres (``each`` expanded)."""
    base = ("governance", "centres")
    out = [(("governance", *path), message) for path, message in _unique_names(centres, "centres")]
    if scenario.governance.instant.operators is not None:
        message = "give operators per centre in governance.centres, not here as well (centres replace the one centre)"
        out.append((("governance", "instant", "operators"), message))
    names = [c.name for c in centres]
    types, depts = [t.name for t in scenario.incident_types], [d.name for d in scenario.departments]
    territory = scenario.territory
    known = territory.patches is not None or territory.grid is not None  # else a GIS layer not read yet
    sector_of, grid_of, sector_names, grid_names = _sectors_and_grids(territory) if known else ([], [], [], [])
    for i, c in enumerate(centres):
        if c.parent is not None and c.parent not in names:
            out.append(((*base, i, "parent"), _unknown("centre", c.parent, names)))
        if c.parent is None and c.passes_up:
            out.append(((*base, i, "passes_up"), f"centre '{c.name}' has no parent to pass matters up to"))
        if c.parent is None and c.dispatches is not None:
            message = (
                f"centre '{c.name}' has no parent: it must be able to send every department (leave out dispatches)"
            )
            out.append(((*base, i, "dispatches"), message))
        for j, t in enumerate(c.passes_up if isinstance(c.passes_up, list) else []):
            if t not in types:
                out.append(((*base, i, "passes_up", j), _unknown("incident type", t, types)))
        for j, d in enumerate(c.dispatches or []):
            if d not in depts:
                out.append(((*base, i, "dispatches", j), _unknown("department", d, depts)))
        if c.serves != "all":
            kind, given, names_of_kind = (
                ("sector", c.serves.sectors, sector_names)
                if c.serves.sectors is not None
                else ("grid", c.serves.grids, grid_names)
            )
            for j, name in enumerate(given or [] if known else []):
                if name not in names_of_kind:
                    out.append(((*base, i, "serves", f"{kind}s", j), _unknown(kind, name, names_of_kind)))
    if out:
        return out
    out += _cycles(centres)
    if out or not sector_of:
        return out
    return _coverage(centres, sector_of, grid_of, _patch_names(scenario.territory))


def _leaders(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Grid leaders hand reports on to a staffed centre: one must exist."""
    grid = scenario.grid_management
    governance = scenario.governance
    if grid is None or grid.leaders is None or governance.instant.operators is not None or governance.centres:
        return []
    message = "grid leaders hand reports to a staffed centre: give governance.instant.operators or governance.centres"
    return [(("grid_management", "leaders"), message)]


def _cycles(centres) -> list[tuple[tuple, str]]:
    """A centre whose chain of parents comes back to itself."""
    parent = {c.name: c.parent for c in centres}
    out = []
    for i, c in enumerate(centres):
        seen, at = [c.name], c.parent
        while at is not None and at not in seen:
            seen.append(at)
            at = parent[at]
        if at == c.name:
            out.append(
                (("governance", "centres", i, "parent"), f"centres pass up in a circle: {' -> '.join([*seen, c.name])}")
            )
    return out


def _coverage(centres, sector_of: list[str], grid_of: list[str], patches: list[str]) -> list[tuple[tuple, str]]:
    """Every patch is served, and by one centre at its lowest level."""
    parent = {c.name: c.parent for c in centres}

    def depth(name: str) -> int:
        d = 0
        while parent[name] is not None:
            name, d = str(parent[name]), d + 1  # checked: no cycles
        return d

    of_sector: dict[str, list[int]] = {}
    of_grid: dict[str, list[int]] = {}
    for p, (sector, grid) in enumerate(zip(sector_of, grid_of)):
        of_sector.setdefault(sector, []).append(p)
        of_grid.setdefault(grid, []).append(p)
    lowest: dict[int, list[tuple[int, str]]] = {}
    for c in centres:
        d = depth(c.name)
        for p in _served(c.serves, of_sector, of_grid, len(sector_of)):
            lowest.setdefault(p, []).append((d, c.name))
    out = []
    nobody = [patches[p] for p in range(len(patches)) if p not in lowest]
    if nobody:
        shown = ", ".join(nobody[:5]) + (f" and {len(nobody) - 5} more" if len(nobody) > 5 else "")
        out.append((("governance", "centres"), f"{len(nobody)} patches are served by no centre: {shown}"))
    clashes: dict[tuple[str, ...], list[str]] = {}
    for p, served in lowest.items():
        top = max(d for d, _ in served)
        deepest = sorted(name for d, name in served if d == top)
        if len(deepest) > 1:
            clashes.setdefault(tuple(deepest), []).append(patches[p])
    for names, where in clashes.items():
        message = f"patch {where[0]} (and {len(where) - 1} more) is served by {' and '.join(names)} at the same level"
        out.append((("governance", "centres"), message + "; a report must enter one lowest centre"))
    return out


def _served(serves, of_sector: dict[str, list[int]], of_grid: dict[str, list[int]], count: int) -> Iterable[int]:
    """The patches (numbers, in order) a centre *serves*: all *count*, or those of its sectors and grids.

    *of_sector* and *of_grid* give the patches of each sector and grid; a centre's areas are looked up,
    not compared with every patch's (a city's 440 village centres by 2,700 patches were a million
    comparisons of a pydantic model with "all").
    """
    if serves == "all":
        return range(count)
    found = {p for name in serves.sectors or () for p in of_sector.get(name, ())}
    found.update(p for name in serves.grids or () for p in of_grid.get(name, ()))
    return sorted(found)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} '{name}'" + did_you_mean(name, known, otherwise=f"; known: {', '.join(known) or 'none'}")


def _area_names(territory: Territory) -> dict[str, list[str]]:
    """Names of the patches, patrol sectors and grids (as the engine's territory names them); {} when not yet known."""
    if territory.patches is not None:
        return {
            "patches": [p.name for p in territory.patches],
            "sectors": list(dict.fromkeys(p.sector for p in territory.patches)),
            "grids": list(dict.fromkeys(p.grid for p in territory.patches)),
        }
    g = territory.grid
    if g is None:  # patches still to be read from a GIS layer: checked when the town is built
        return {}
    return {
        "patches": _patch_names(territory),
        "sectors": list(g.sector_layout()[0]),
        "grids": [f"G{i + 1}" for i in range(g.grids[0] * g.grids[1])],
    }


def _patch_names(territory: Territory) -> list[str]:
    if territory.patches is not None:
        return [p.name for p in territory.patches]
    g = territory.grid
    assert g is not None  # the schema requires a grid or patches
    return [f"r{r}c{c}" for r in range(g.rows) for c in range(g.cols)]


def warnings(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Settings of a valid scenario that have no effect, or an effect a planner may not expect.

    Returns (key path, message) pairs; list items in key paths are named by their ``name``
    (as ``--set`` names them). Nothing here stops a run.
    """
    out: list[tuple[tuple, str]] = []
    modes = modes_of(scenario)
    pools_all = [name for name, spec in scenario.governance.modes.items() if _pools_all(name, spec)]
    territory = scenario.territory
    known = territory.patches is not None or territory.grid is not None
    sectors = len(_sectors_and_grids(territory)[2]) if known else 0
    for d in scenario.departments:
        path = ("departments", d.name)
        out += _shift_warnings(d, path)
        if "day_share" in d.model_fields_set and d.shift != "day_night":
            out.append((path + ("day_share",), "has no effect: the shift is not 'day_night'"))
        if "patrol_speed_kmh" in d.model_fields_set and not d.patrols:
            out.append((path + ("patrol_speed_kmh",), "has no effect: the department does not patrol"))
        if d.poolable and not pools_all:
            out.append((path + ("poolable",), "has no effect: no mode pools 'all' (each names its team or pools none)"))
        if d.desk_hours is not None and all(m.information != "referral" for m in modes.values()):
            out.append((path + ("desk_hours",), "has no effect: no mode passes reports by referral"))
        if d.home != "bases" and d.units < sectors and any(not m.across_borders for m in modes.values()):
            message = (
                f"{d.units} units for {sectors} sectors: with borders closed, matters in a sector without a unit of "
                "its own wait for ever"
            )
            out.append((path + ("units",), message))
        if d.home != "bases" and "base" in d.model_fields_set:
            out.append((path + ("base",), f"has no effect: home '{d.home}' bases the units at their sectors' centres"))
    for name, mode in modes.items():
        if mode.pooled and len(mode.pooled) == 1:
            (only,) = mode.pooled
            out.append(
                (
                    ("governance", "modes", name, "authority", "pooled"),
                    f"mode '{name}' pools only '{only}': one department's team holds no more powers than it did",
                )
            )
        if not mode.across_borders and all(d.home == "bases" for d in scenario.departments):
            message = "has no effect: no department's units belong to a sector (home: sectors or sectors_by_load)"
            out.append((("governance", "modes", name, "dispatch_across_borders"), message))
        if not mode.pooled and name in pools_all:
            message = (
                f"mode '{name}' pools 'all', but no department is marked poolable, so no team holds merged "
                "powers; name its team in authority.pooled (or mark departments poolable: true)"
            )
            out.append((("governance", "modes", name, "authority", "pooled"), message))
    out += _campaign_warnings(scenario)
    out += _unstaffed_centres(scenario)
    for t in scenario.incident_types:
        path = ("incident_types", t.name)
        if scenario.grid_management is None and (t.escalation.grid > 0 or t.escalation.city > 0):
            out.append((path + ("escalation",), "has no effect without grid_management"))
        for channel in CHANNELS[1:]:
            spec = getattr(t.detection, channel)
            if spec.hours is not None and spec.probability == 0:
                out.append((path + ("detection", channel, "hours"), "has no effect: the channel's probability is 0"))
    return out


def _unstaffed_centres(scenario: Scenario) -> list[tuple[tuple, str]]:
    """A staffed centre whose operators are never on duty while it is open: what it serves waits for ever."""
    governance = scenario.governance
    centres: list[tuple[tuple[str, ...], InstantSpec | CentreSpec]] = []
    if governance.instant.operators is not None:
        centres.append((("governance", "instant"), governance.instant))
    centres += [(("governance", "centres", c.name), c) for c in governance.centres or () if c.operators is not None]
    out = []
    never: dict[tuple, bool] = {}  # by staffing: centres made by one entry (each) share it
    for path, spec in centres:
        key = (spec.operators, repr(spec.operator_shift), repr(spec.centre_hours))
        if key not in never:
            shift = WeeklySteps.from_hours([(w.hours().weekly(), float(w.units)) for w in spec.operator_windows()])
            open_ = WeeklySteps.from_hours([(spec.centre_hours.weekly(), 1.0)])
            staffed = WeeklySteps.combine([shift, open_], lambda n, is_open: n if is_open else 0.0)
            never[key] = staffed.integral(0.0, 7 * MINUTES_PER_DAY) == 0
        if never[key]:
            message = "no operator is ever on duty while the centre is open: every report it takes waits for ever"
            out.append((path + ("operator_shift",), message))
    if len(out) > 3:  # one line for many centres (one entry with each: grid makes hundreds)
        names = [str(path[2]) for path, _ in out if path[:2] == ("governance", "centres")]
        message = f"no operator is ever on duty while these centres are open: {', '.join(names[:3])} and "
        message += f"{len(names) - 3} more; every report they take waits for ever"
        out = [item for item in out if item[0][:2] != ("governance", "centres")]
        out.append((("governance", "centres"), message))
    return out


def _campaign_warnings(scenario: Scenario) -> list[tuple[tuple, str]]:
    """A campaign with no session in the run does nothing; one asking for more units than are on shift gets fewer."""
    out: list[tuple[tuple, str]] = []
    horizon = scenario.days * MINUTES_PER_DAY
    for c in scenario.campaigns:
        if c.schedule.dated and scenario.start_date is None:
            continue  # an error already (cross_check)
        starts = c.schedule.starts_min(scenario.start_date, horizon)
        if len(starts) == 0:
            first = f" from {scenario.start_date}" if scenario.start_date is not None else ""
            message = (
                f"has no session within the run ({scenario.days:g} days{first}): it takes no units and finds "
                "nothing, so a comparison with and without it shows no difference"
            )
            out.append((("campaigns", c.name, "schedule"), message))
            continue
        for name, units in c.departments.items():
            d = scenario.department(name)
            shift = WeeklySteps.from_hours([(w.hours().weekly(), float(w.units)) for w in d.shift_windows()], d.units)
            for start in starts:
                fewest, at = _fewest(shift, start, start + c.duration_min)
                if fewest < units:
                    day, minute = divmod(int(at), int(MINUTES_PER_DAY))
                    when = f"day {day} ({_WEEKDAYS[day % 7]}) {minute // 60:02d}:{minute % 60:02d}"
                    message = (
                        f"asks for {units} units of '{name}', but only {fewest:g} are on shift at {when}: the campaign "
                        "gets those on shift and response duty none"
                    )
                    out.append((("campaigns", c.name, "departments", name), message))
                    break
    return out


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _fewest(shift: WeeklySteps, start: float, end: float) -> tuple[float, float]:
    """The fewest units on shift over [start, end), and the first minute it is reached."""
    fewest, at, t = shift.value(start), start, start
    while (t := shift.next_change(t)) < end:
        if shift.value(t) < fewest:
            fewest, at = shift.value(t), t
    return fewest, at


def window_warnings(scenario: Scenario) -> list[tuple[tuple, str]]:
    """The measured window (days - warmup_days) does not cover whole weeks: weekdays and weekends are unevenly weighed.

    Desks keep office hours and close at weekends, so a window of 3 weekdays measures a faster
    fragmented town than a whole week does. Returns (key path, message) pairs; nothing stops a run.
    """
    measured = scenario.days - scenario.warmup_days
    weeks = measured / 7
    if abs(weeks - round(weeks)) < 1e-9 and round(weeks) >= 1:
        return []
    return [
        (
            ("days",),
            f"the measured window (days {scenario.days:g} - warmup_days {scenario.warmup_days:g} = {measured:g} days) "
            "is not a whole number of weeks, so weekdays and weekends (and office hours) are unevenly weighed; "
            f"e.g. days {scenario.warmup_days + 7 * max(1, round(weeks)):g}",
        )
    ]


def _pools_all(name: str, spec) -> bool:
    if spec.authority is not None:
        return spec.authority.pooled == "all"
    preset = spec.based_on or (name if name in PRESETS else "fragmented")
    return bool(PRESETS[preset].pooled)


def _shift_warnings(d, path: tuple) -> list[tuple[tuple, str]]:
    """Explicit windows are a pattern scaled to the team: say when the team is not the pattern's size."""
    if not isinstance(d.shift, list):
        windows = d.shift_windows()
        if d.shift == "day_night" and d.units > 0 and any(w.units == 0 for w in windows):
            empty = "night" if windows[1].units == 0 else "day"
            return [
                (
                    path + ("shift",),
                    f"the {empty} shift has no unit with {d.units} unit(s) at day_share {d.day_share:g}",
                )
            ]
        return []
    pattern = d.pattern_units()
    if pattern == 0:
        if d.units > 0:
            return [
                (
                    path + ("units",),
                    f"has no effect: no shift window has units, so the {d.units} unit(s) are never on duty",
                )
            ]
        return []
    if d.units == pattern:
        return []
    scaled = d.shift_windows()
    counts = ", ".join(f"{'/'.join(w.times)} {w.units}" for w in scaled)
    out = [
        (
            path + ("shift",),
            f"the windows roster {pattern} units a day and are a pattern scaled to the team's {d.units} units: {counts}",
        )
    ]
    emptied = [w for w, s in zip(d.shift, scaled) if w.units > 0 and s.units == 0]
    if emptied:
        out.append((path + ("shift",), f"with {d.units} unit(s), {len(emptied)} window(s) of the pattern have no unit"))
    return out
