"""Ways of working as values of four independent levers.

The reform changes four things, and a mode is nothing but a value for each:

* **authority** -- which departments' powers are merged into one team (``pooled``);
* **information** -- ``referral`` through desks that keep office hours, or ``instant`` through a
  shared channel to a 24-hour centre;
* **dispatch** -- ``own_queue`` (the owning department's first free unit takes the next case)
  or ``nearest`` (the centre sends the nearest free unit able to act), or any other dispatch rule
  by name (``least_loaded``, a plugged-in ``module:function``; :mod:`sim.registry`);
* **coordination** -- multi-department matters handled ``sequential`` ly or ``concurrent`` ly.

``fragmented``, ``joint`` and ``unified`` are presets; a scenario may change any lever of
them or define modes of its own, so that a researcher can switch one lever at a time.
Everything the model needs to know about who may act on what is answered here, once, by
:func:`capable_departments`; nothing else in the code asks which mode it is in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from sim.scenario.schema import IncidentType, ModeSpec, Scenario

__all__ = [
    "LEVERS",
    "Mode",
    "PRESETS",
    "resolve_mode",
    "modes_of",
    "pooled_departments",
    "Part",
    "parts_of",
    "jobs_of",
    "capable_departments",
    "own_holders",
    "unpowered_parts",
]


LEVERS = (
    "pooled",
    "information",
    "dispatch",
    "coordination",
    "leave_probability",
    "closed_loop",
    "dispatch_across_borders",
)
"""A way of working's levers by name, in the order people are shown them (the overview, the app's controls)."""


@dataclass(frozen=True)
class Mode:
    """A resolved way of working: one value per lever."""

    name: str
    pooled: frozenset[str]
    information: Literal["referral", "instant"]
    dispatch: str
    """A dispatch rule's name (:mod:`sim.engine.rules`), resolved by :mod:`sim.registry`."""
    coordination: Literal["sequential", "concurrent"]
    leave_probability: float
    closed_loop: bool = False
    across_borders: bool = True


PRESETS: dict[str, Mode] = {
    "fragmented": Mode("fragmented", frozenset(), "referral", "own_queue", "sequential", 0.5),
    "joint": Mode("joint", frozenset(), "instant", "nearest", "concurrent", 0.0),
    "unified": Mode("unified", frozenset({"*"}), "instant", "nearest", "concurrent", 0.0),
}
"""The three named ways of working (domain.md). ``{"*"}`` stands for every poolable department.

Pooling names its departments: ``poolable`` is false unless a scenario says otherwise, so the
``unified`` preset's team is the departments the scenario marks ``poolable`` or names in the
mode's ``authority.pooled`` -- none unless it does. The sources merge the town's own enforcement
teams (urban management, fishery, agriculture, culture, safety supervision: seeds/004_zhewang.md
#unified-enforcement-team) and leave land, environment and the police with their own powers.
"""


def resolve_mode(name: str, spec: ModeSpec, scenario: Scenario) -> Mode:
    """Fill a mode's unset levers from its preset and name its pooled departments.

    Raises
    ------
    ValueError
        If the spec names a preset that does not exist.
    """
    base_name = spec.based_on or (name if name in PRESETS else "fragmented")
    base = PRESETS[base_name]
    mode = replace(
        base,
        name=name,
        information=spec.information or base.information,
        dispatch=spec.dispatch or base.dispatch,
        coordination=spec.coordination or base.coordination,
        leave_probability=base.leave_probability if spec.leave_probability is None else spec.leave_probability,
        closed_loop=base.closed_loop if spec.closed_loop is None else spec.closed_loop,
        across_borders=base.across_borders if spec.dispatch_across_borders is None else spec.dispatch_across_borders,
    )
    pooled = spec.authority.pooled if spec.authority else ("all" if base.pooled else "none")
    if pooled == "all":
        names = frozenset(d.name for d in scenario.departments if d.poolable)
    elif pooled == "none":
        names = frozenset()
    else:
        names = frozenset(pooled)
    return replace(mode, pooled=names)


def modes_of(scenario: Scenario) -> dict[str, Mode]:
    """Every mode the scenario defines, resolved, in file order."""
    return {name: resolve_mode(name, spec, scenario) for name, spec in scenario.governance.modes.items()}


def pooled_departments(scenario: Scenario) -> dict[str, list[str]]:
    """What each mode pools into one team: mode name -> department names in file order (empty: none)."""
    order = [d.name for d in scenario.departments]
    return {name: [d for d in order if d in mode.pooled] for name, mode in modes_of(scenario).items()}


@dataclass(frozen=True)
class Part:
    """One department's share of a matter: the power of ``department`` (or any holder) over ``incident_type``."""

    incident_type: str
    department: str | None


def parts_of(incident_type: IncidentType) -> tuple[Part, ...]:
    """The parts a matter needs: one per required department, or one that any holder may do."""
    if incident_type.requires:
        return tuple(Part(incident_type.name, d) for d in incident_type.requires)
    return (Part(incident_type.name, None),)


def capable_departments(scenario: Scenario, mode: Mode, part: Part) -> frozenset[str]:
    """Departments whose units may legally act on *part* under *mode*.

    A department holds a power if the incident type is in its ``powers``; when authority is
    pooled, every unit of the team holds every power of every pooled department. A matter whose
    type needs a sworn officer (``sworn_officer``) may be done only by departments whose units
    carry one (``sworn_per_unit``).
    """
    holders = set(own_holders(scenario, part))
    if holders & mode.pooled:
        holders |= mode.pooled
    if scenario.incident_type(part.incident_type).sworn_officer:
        holders = {d.name for d in scenario.departments if d.name in holders and d.has_sworn_officer()}
    return frozenset(holders)


def own_holders(scenario: Scenario, part: Part) -> frozenset[str]:
    """Departments that hold the power over *part* themselves (pooling aside): its owners."""
    if part.department is not None:
        return frozenset({part.department})
    return frozenset(d.name for d in scenario.departments if part.incident_type in d.powers)


def jobs_of(
    scenario: Scenario, mode: Mode, incident_type: IncidentType
) -> tuple[tuple[frozenset[str], tuple[int, ...]], ...]:
    """Group a matter's parts into jobs: parts that the same departments may do go to one unit.

    Returns (capable departments, indices of the parts) per job, in the order of ``requires``.
    Under pooled authority a multi-department matter inside the team becomes one job: one team,
    one visit.
    """
    jobs: dict[frozenset[str], list[int]] = {}
    for i, part in enumerate(parts_of(incident_type)):
        jobs.setdefault(capable_departments(scenario, mode, part), []).append(i)
    return tuple((capable, tuple(idx)) for capable, idx in jobs.items())


def unpowered_parts(scenario: Scenario, mode: Mode) -> list[tuple[str, str | None]]:
    """Parts no unit may act on under *mode* (no capable department has any unit)."""
    units = {d.name: d.units for d in scenario.departments}
    missing = []
    for incident_type in scenario.incident_types:
        for part in parts_of(incident_type):
            if sum(units.get(d, 0) for d in capable_departments(scenario, mode, part)) == 0:
                missing.append((incident_type.name, part.department))
    return missing
