"""The scenario: a town, its departments, its incidents and its ways of working, as plain data.

A scenario file (YAML) is validated once, here, into frozen pydantic models; nothing deeper in
the model reads YAML or dicts. Each field carries a default and a description, so the JSON
Schema printed by ``python -m sim schema`` documents the file format for editors and people.

Checks that span several parts of the file (a department named in an incident type must
exist, every matter must be actionable by someone in every mode) live in
:func:`sim.scenario.checks.cross_check`, which returns problems with key paths rather than
raising on the first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

from sim.scenario.calendar import CLOSED, CalendarHours, OpenHours
from sim.scenario.distributions import Duration, Exponential, Lognormal
from sim.scenario.schedule import DAY_SETS, WeeklyHours, parse_window

__all__ = [
    "Scenario",
    "Territory",
    "GridSpec",
    "PatchSpec",
    "Department",
    "Rounds",
    "ShiftWindow",
    "IncidentType",
    "Detection",
    "ChannelSpec",
    "PatrolDetection",
    "Hours",
    "Governance",
    "ReferralSpec",
    "SummerHours",
    "InstantSpec",
    "CentreSpec",
    "Serves",
    "ModeSpec",
    "AuthoritySpec",
    "Escalation",
    "ClosedLoopSpec",
    "GridManagement",
    "Campaign",
    "CampaignSchedule",
    "Deterrence",
    "GridLeaders",
    "CHANNELS",
    "apportion",
    "GisLayer",
    "JoinLayer",
    "PointLayer",
    "Travel",
    "TravelTable",
    "ROAD_SPEEDS_KMH",
]

MAX_EXPECTED_INCIDENTS = 20_000_000
"""More incidents than this in one run is refused: it would take hours and gigabytes."""

CHANNELS = ("patrol", "grid_worker", "hotline", "camera")
"""Ways a matter is detected, in the order they are reported."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a usable name: use letters, digits, '_' or '-', starting with a letter")
    return value


def _check_windows(times: list[str]) -> list[str]:
    for window in times:
        parse_window(window)
    return times


def _check_days(days):
    if isinstance(days, list) and (not days or any(not 0 <= d <= 6 for d in days)):
        raise ValueError("days must be a non-empty list of numbers 0 (Monday) to 6 (Sunday)")
    return days


Name = Annotated[str, AfterValidator(_check_name)]
Windows = Annotated[list[str], Field(min_length=1), AfterValidator(_check_windows)]
Days = Annotated[Literal["daily", "weekdays", "weekends"] | list[int], AfterValidator(_check_days)]


class Hours(_Model):
    """Weekly opening hours: daily time windows repeated on some days."""

    days: Days = Field(
        "daily", description="days the windows repeat on: daily, weekdays, weekends, or a list (0 = Monday)"
    )
    times: Windows = Field(
        ["00:00-24:00"], description="daily windows 'HH:MM-HH:MM'; an end before the start runs past midnight"
    )

    def weekly(self) -> WeeklyHours:
        """The hours as a :class:`~sim.scenario.schedule.WeeklyHours`."""
        days = DAY_SETS[self.days] if isinstance(self.days, str) else self.days
        return WeeklyHours.from_windows(self.times, days)


ALWAYS = Hours()
OFFICE_HOURS = Hours(days="weekdays", times=["08:30-12:00", "14:00-17:30"])


# --------------------------------------------------------------------------- territory


MAX_COORDINATE_KM = 20_000.0
"""Largest distance of a patch from the origin along either axis: half the Earth's circumference,
the farthest two places on Earth can be apart. Anything more is a typo (or 1e300), and would give
travel times of centuries that swamp every statistic."""

MAX_EXTENT_KM = 2 * MAX_COORDINATE_KM
"""Widest a generated grid may be (rows or columns times ``patch_km``): the Earth's circumference."""


class GridSpec(_Model):
    """A rows x cols grid of square patches, grouped into sectors and higher-level grids by blocks."""

    rows: PositiveInt = Field(le=1000, description="patch rows")
    cols: PositiveInt = Field(le=1000, description="patch columns")
    sectors: tuple[PositiveInt, PositiveInt] = Field(
        (1, 1), description="patrol sectors as [rows, cols] blocks of patches"
    )
    grids: tuple[PositiveInt, PositiveInt] = Field(
        (1, 1), description="higher-level grids (e.g. village/community) as [rows, cols] blocks"
    )
    sector_blocks: dict[Name, Annotated[list[str], Field(min_length=1)]] | None = Field(
        None,
        description="sectors (towns, streets) made of several blocks: {name: [S1, S2]} joins the named blocks of "
        "'sectors' (S1, S2, ... row by row) into one sector called name, with its own units, centre and border; "
        "a block named in none keeps its own name. Default: every block is a sector",
    )
    weights: list[NonNegativeFloat] | None = Field(
        None, description="incident weight per patch, row by row (rows*cols numbers); default equal"
    )
    centre_peak: NonNegativeFloat = Field(
        0.0, allow_inf_nan=False, description="extra weight at the centre (0 = flat); weight = 1 + peak*exp(-d^2/2s^2)"
    )

    @model_validator(mode="after")
    def _shapes(self) -> GridSpec:
        if self.weights is not None and len(self.weights) != self.rows * self.cols:
            raise ValueError(f"weights has {len(self.weights)} numbers, expected rows*cols = {self.rows * self.cols}")
        if self.weights is not None and sum(self.weights) <= 0:
            raise ValueError("weights must not all be zero")
        for name, (r, c) in (("sectors", self.sectors), ("grids", self.grids)):
            if r > self.rows or c > self.cols:
                raise ValueError(f"{name} [{r}, {c}] has more blocks than the grid has patches")
        return self

    def block_names(self) -> list[str]:
        """The names of the blocks of ``sectors``, row by row: S1, S2, ..."""
        return [f"S{k + 1}" for k in range(self.sectors[0] * self.sectors[1])]

    def sector_layout(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The sector names, and the sector (an index into them) of each block of ``sectors``, row by row.

        Blocks joined by ``sector_blocks`` take the joined sector's name; the others keep their own.
        Sectors are numbered in the order of their first block. Unknown or repeated blocks are
        passed over here (the first join naming a block takes it): the checks report them
        (:func:`sim.scenario.checks.cross_check`).
        """
        blocks = self.block_names()
        number = {block: k for k, block in enumerate(blocks)}
        name_of = list(blocks)
        taken: set[int] = set()
        for name, members in (self.sector_blocks or {}).items():
            for k in (number[b] for b in members if b in number):
                if k not in taken:
                    taken.add(k)
                    name_of[k] = name
        names = tuple(dict.fromkeys(name_of))
        return names, tuple(names.index(n) for n in name_of)


class PatchSpec(_Model):
    """One patch (grid cell / patrol patch) given explicitly."""

    name: Name = Field(description="unique patch name")
    x_km: float = Field(
        allow_inf_nan=False,
        ge=-MAX_COORDINATE_KM,
        le=MAX_COORDINATE_KM,
        description="east position of the patch centre, km (within 20,000 km of the origin)",
    )
    y_km: float = Field(
        allow_inf_nan=False,
        ge=-MAX_COORDINATE_KM,
        le=MAX_COORDINATE_KM,
        description="north position of the patch centre, km (within 20,000 km of the origin)",
    )
    weight: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="share of incidents (relative)")
    sector: str = Field("all", description="patrol sector the patch belongs to")
    grid: str = Field("all", description="higher-level grid the patch belongs to")


class JoinLayer(_Model):
    """A second polygon layer whose polygons name the sector (or grid) of the patches inside them."""

    file: str = Field(description="GIS file (GeoPackage, GeoJSON, Shapefile); relative to the scenario file's folder")
    layer: str | None = Field(None, description="layer in the file (default: its only or first layer)")
    column: str = Field(description="attribute column holding the sector (or grid) name")


class PointLayer(_Model):
    """A point layer (residents, shops, reports) summed up per patch into incident weights."""

    file: str = Field(description="GIS file of points; relative to the scenario file's folder")
    layer: str | None = Field(None, description="layer in the file (default: its only or first layer)")
    column: str | None = Field(None, description="numeric column to add up per patch (default: count the points)")


class RasterLayer(_Model):
    """A raster of counts (a population grid, GeoTIFF) added up per patch into incident weights."""

    file: str = Field(
        description="raster file (GeoTIFF, or any raster GDAL reads) in any CRS; relative to the scenario file's folder"
    )
    band: PositiveInt = Field(1, description="band to read (1 = the first)")


class GisLayer(_Model):
    """Patches read from a polygon layer: each polygon is a patch (its centroid, area and neighbours).

    Read by the loader (``pip install 'town-enforcement-sim[geo]'``) into explicit patches; any
    coordinate reference system is projected once to a local metric one.
    """

    file: str = Field(
        description="GIS file of patch polygons (GeoPackage, GeoJSON, Shapefile); relative to the scenario file's folder"
    )
    layer: str | None = Field(None, description="layer in the file (default: its only or first layer)")
    id: str | None = Field(None, description="column naming each patch (default: p1, p2, ... in file order)")
    sector: str | None = Field(None, description="column naming each patch's patrol sector (default: one sector 'all')")
    grid: str | None = Field(None, description="column naming each patch's higher-level grid (default: one grid 'all')")
    weight: str | None = Field(
        None, description="numeric column of incident weights (residents, shops; default: equal)"
    )
    sectors_from: JoinLayer | None = Field(
        None, description="sectors from a second polygon layer, by where each patch's centroid lies"
    )
    grids_from: JoinLayer | None = Field(
        None, description="higher-level grids from a second polygon layer, as sectors_from"
    )
    weight_points: PointLayer | None = Field(
        None, description="weights from a point layer: points (or a column) added up per patch"
    )
    weight_raster: RasterLayer | None = Field(
        None,
        description="weights from a raster of counts (population grid): each cell's value goes to the patch "
        "holding the cell's centre (needs rasterio, in the geo extra)",
    )
    crs: str | None = Field(
        None, description="coordinate reference system of a file that names none, e.g. 'EPSG:4326' or 'EPSG:32650'"
    )

    @model_validator(mode="after")
    def _one_each(self) -> GisLayer:
        for column, layer in (("sector", "sectors_from"), ("grid", "grids_from"), ("weight", "weight_points")):
            if getattr(self, column) is not None and getattr(self, layer) is not None:
                raise ValueError(f"{column} and {layer} both given; expected one of them")
        weights = [k for k in ("weight", "weight_points", "weight_raster") if getattr(self, k) is not None]
        if len(weights) > 1:
            raise ValueError(f"{' and '.join(weights)} all give weights; expected one of them")
        return self


class CameraPoint(_Model):
    """One camera: where it stands (km, the patches' frame)."""

    name: str | None = Field(None, description="the camera's name (default c1, c2, ... in order)")
    x_km: float = Field(
        allow_inf_nan=False, ge=-MAX_COORDINATE_KM, le=MAX_COORDINATE_KM, description="east position, km"
    )
    y_km: float = Field(
        allow_inf_nan=False, ge=-MAX_COORDINATE_KM, le=MAX_COORDINATE_KM, description="north position, km"
    )


class Cameras(_Model):
    """Where the cameras are: the camera detection channel then sees only the patches in their view.

    A patch is in view when its centre lies within ``view_radius_km`` (straight line) of a
    camera. Without ``cameras`` the camera channel reaches every patch, as before.
    """

    view_radius_km: PositiveFloat = Field(
        allow_inf_nan=False, le=50, description="a camera sees a patch whose centre is within this distance, km"
    )
    points: list[CameraPoint] | None = Field(
        None, min_length=1, description="the cameras' positions, km in the patches' frame (give this or file)"
    )
    file: str | None = Field(
        None,
        description="GIS point layer of the cameras (with territory.gis; read onto the patches' map; "
        "relative to the scenario file's folder; needs the geo extra)",
    )
    layer: str | None = Field(None, description="layer in the file (default: its only or first layer)")

    @model_validator(mode="after")
    def _one_source(self) -> Cameras:
        if self.file is None and self.points is None:
            raise ValueError("give the cameras' points or a file (a GIS point layer)")
        return self

    @model_serializer(mode="wrap")
    def _without_read_points(self, handler):
        # Points read from a layer are not written back: the layer is, and is read again.
        data = handler(self)
        if self.file is not None and isinstance(data, dict):
            data.pop("points", None)
        return data


class Territory(_Model):
    """Where incidents happen and how long it takes to get there."""

    grid: GridSpec | None = Field(None, description="generate a rows x cols grid (give this or patches)")
    patches: list[PatchSpec] | None = Field(None, min_length=1, description="explicit patches (give this or grid)")
    patch_km: PositiveFloat = Field(
        1.0, allow_inf_nan=False, le=1000, description="side of one patch, km (grid spacing; a patrol's beat per patch)"
    )
    detour_factor: float = Field(1.3, ge=1.0, le=5.0, description="road distance / straight-line distance")
    distance: Literal["euclidean", "manhattan"] = Field("euclidean", description="straight-line metric")
    gis: GisLayer | None = Field(
        None, description="read the patches from a GIS polygon layer (give this, grid or patches); needs the geo extra"
    )
    cameras: Cameras | None = Field(
        None, description="camera locations: the camera channel then sees only patches within their view radius"
    )

    @model_validator(mode="after")
    def _extent(self) -> Territory:
        if self.grid is not None:
            across = max(self.grid.rows, self.grid.cols) * self.patch_km
            if across > MAX_EXTENT_KM:
                raise ValueError(
                    f"patch_km ({self.patch_km:g}) x {max(self.grid.rows, self.grid.cols):,} patches is {across:,.0f} km across; "
                    f"expected at most {MAX_EXTENT_KM:,.0f} km (the Earth's circumference)"
                )
        return self

    @model_validator(mode="after")
    def _one_source(self) -> Territory:
        if self.cameras is not None and self.cameras.file is not None and self.gis is None:
            raise ValueError(
                "cameras.file needs territory.gis (the patches' map); without one give cameras.points in km"
            )
        if self.gis is not None:
            if self.grid is not None:
                raise ValueError("give exactly one of 'grid', 'patches' or 'gis'")
        elif (self.grid is None) == (self.patches is None):
            raise ValueError("give exactly one of 'grid', 'patches' or 'gis'")
        if self.patches is not None:
            counts = Counter(p.name for p in self.patches)
            dupes = sorted(name for name, count in counts.items() if count > 1)
            if dupes:
                raise ValueError(f"patch names must be unique; repeated: {', '.join(dupes)}")
            if sum(p.weight for p in self.patches) <= 0:
                raise ValueError("patch weights must not all be zero")
        return self

    @model_serializer(mode="wrap")
    def _without_read_patches(self, handler):
        # Patches read from a GIS layer are not written back: the layer is, and is read again.
        data = handler(self)
        if self.gis is not None and isinstance(data, dict):
            data.pop("patches", None)
        return data


# --------------------------------------------------------------------------- travel

ROAD_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 45.0,
    "secondary": 40.0,
    "tertiary": 35.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 15.0,
}
"""Default driving speed by OpenStreetMap ``highway`` class (``*_link`` roads take their class's speed)."""


@dataclass(frozen=True, eq=False)
class TravelTable:
    """Driving minutes between patch centres over a road network, built by the loader.

    Attributes
    ----------
    minutes:
        ``minutes[a, b]``: from patch *a* to patch *b* (read-only float32 array, n x n; 0 on the diagonal).
    names:
        The patch names, in the order of the rows.
    snapped:
        Patches joined to the road network at their nearest road node (0 for a table read from a file).
    snap_km:
        Straight-line distance from each patch centre to its road node (empty for a table read from a file).
    source:
        What the table was made from (the road or matrix file).
    key:
        Hash of the inputs (the cache key).
    """

    minutes: Any
    names: tuple[str, ...]
    snapped: int = 0
    snap_km: Any = ()
    source: str = ""
    key: str = ""

    @property
    def longest_min(self) -> float:
        """The longest travel time in the table, minutes."""
        return float(self.minutes.max()) if len(self.names) else 0.0


class Travel(_Model):
    """Travel times on a road network instead of straight line x detour factor.

    Read by the loader (``pip install 'town-enforcement-sim[geo]'``): shortest paths over the roads,
    one-way streets respected, each patch joined to its nearest road node; cached on disk.
    """

    roads: str | None = Field(
        None,
        description="road network: an OpenStreetMap extract (.osm.pbf, or OpenStreetMap XML .osm, .osm.gz) or a road "
        "graph (.graphml, .graphml.gz); relative to the scenario file's folder",
    )
    matrix: str | None = Field(
        None, description="or a travel-time table, CSV with columns from,to,minutes (patch names); every pair needed"
    )
    speeds_kmh: dict[str, PositiveFloat] = Field(
        {},
        description="driving speed by road class (OpenStreetMap 'highway'), overriding the defaults: "
        + ", ".join(f"{k} {v:g}" for k, v in ROAD_SPEEDS_KMH.items()),
    )
    default_speed_kmh: PositiveFloat = Field(
        25.0, allow_inf_nan=False, le=300, description="speed on roads of any other class"
    )
    access_speed_kmh: PositiveFloat = Field(
        10.0,
        allow_inf_nan=False,
        le=300,
        description="speed from a patch centre to its nearest road node (straight line)",
    )
    cache: bool = Field(
        True, description="keep the table on disk, keyed by a hash of the inputs, so later runs start at once"
    )
    _table: TravelTable | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _one_source(self) -> Travel:
        if (self.roads is None) == (self.matrix is None):
            raise ValueError("give exactly one of 'roads' or 'matrix'")
        return self

    @property
    def table(self) -> TravelTable | None:
        """The table of driving minutes the loader built (None until then); never written to files."""
        return self._table

    def with_table(self, table: TravelTable) -> Travel:
        """A copy of this section holding *table*."""
        copy = self.model_copy()
        copy._table = table
        return copy

    def speed_of(self, road_class: str) -> float:
        """Driving speed on a road of *road_class* (``primary_link`` as ``primary``), km/h."""
        speeds = {**ROAD_SPEEDS_KMH, **self.speeds_kmh}
        if road_class in speeds:
            return float(speeds[road_class])
        base = road_class.removesuffix("_link")
        return float(speeds.get(base, self.default_speed_kmh))


# --------------------------------------------------------------------------- departments


def apportion(weights: list[float], total: int) -> list[int]:
    """Share *total* whole units among windows in proportion to *weights* (largest remainder).

    Each window's quota is ``total * weight / sum(weights)``; every window gets the whole part
    of its quota and the units left over go to the largest remainders (remainders compared to
    9 decimals, a tie going to the earlier window, so a half is rounded up for the first
    window). Then, when *total* is at least the number of windows with a positive weight, no
    such window is left empty: an empty one takes a unit from the window with the most units
    (the later one on a tie). The counts always add up to *total* (0 when every weight is 0).
    """
    if total < 0:
        raise ValueError(f"cannot share out {total} units")
    weight_sum = float(sum(weights))
    if weight_sum <= 0 or total == 0:
        return [0] * len(weights)
    quotas = [total * w / weight_sum for w in weights]
    counts = [math.floor(round(q, 9)) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-round(quotas[i] - counts[i], 9), i))
    for i in order[: max(0, total - sum(counts))]:
        counts[i] += 1
    staffed = [i for i, w in enumerate(weights) if w > 0]
    if total >= len(staffed):
        for i in staffed:
            if counts[i] == 0:
                donor = max(range(len(counts)), key=lambda j: (counts[j], j))
                counts[donor] -= 1
                counts[i] += 1
    return counts


class ShiftWindow(_Model):
    """How many of a department's units are on duty during some weekly hours (a part of a rota pattern)."""

    days: Days = Field("daily", description="days the windows repeat on, as in Hours")
    times: Windows = Field(description="daily windows 'HH:MM-HH:MM'")
    units: NonNegativeInt = Field(
        description="units on duty in these windows in the rota pattern; the department's units scale the pattern"
    )

    def hours(self) -> Hours:
        """The window's hours."""
        return Hours(days=self.days, times=self.times)

    def weekdays(self) -> tuple[int, ...]:
        """The days (0 = Monday) the window starts on."""
        return DAY_SETS[self.days] if isinstance(self.days, str) else tuple(self.days)


class Rounds(_Model):
    """A department's own rounds: crews driving or walking fixed routes past every patch on them.

    Unlike patrols (random passes at a rate), a route passes a patch at a fixed period. Each
    patch has its place on the route (a phase, drawn once per replication, uniform within the
    period); each open window of ``hours`` starts the route afresh, so a patch on the route is
    passed at window start + phase, + period, ... until the window ends. A matter a department
    may act on that its rounds notice is handled like a patrol find: the finder acts.
    """

    period_min: PositiveFloat = Field(
        allow_inf_nan=False, le=10080, description="minutes between two passes of the route past the same patch"
    )
    hours: Hours | None = Field(
        None,
        description="when the rounds run (each window starts the route afresh); default: the department's shift hours "
        "(while it has units on duty)",
    )
    patches: Literal["all"] | list[str] = Field(
        "all", description="patches on the routes: 'all', or a list of patch names"
    )
    notice_probability: float = Field(
        1.0,
        ge=0,
        le=1,
        description="chance that a pass notices a matter present at the patch (each pass independently)",
    )
    sees: list[str] | None = Field(
        None,
        description="incident types the rounds notice; default: the department's powers. The rounds of a department "
        "that may not act on a matter in a mode do not report it",
    )


class Competence(_Model):
    """How a pooled unit does a job outside its own department's powers (承接能力有限, 003; 专辅结合, 004).

    Applied only when a unit acts on a matter by pooled authority, never to a department's own
    powers, so only a mode that pools authority pays it.
    """

    on_scene_factor: PositiveFloat = Field(
        1.0, allow_inf_nan=False, le=20, description="on-scene time multiplier for a job outside the unit's own powers"
    )
    follow_up_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="chance the job needs a specialist follow-up: a second visit by the department that owns the power "
        "(the matter is resolved when that visit is done)",
    )


class Department(_Model):
    """A department with field units and the incident types it may legally act on."""

    name: Name = Field(description="unique department name")
    units: NonNegativeInt = Field(le=100_000, description="field units (teams or vehicles)")
    crew: PositiveInt = Field(2, le=100, description="people per unit (reported, not simulated)")
    base: str | list[str] = Field(
        "centre",
        description="patch name(s) of the base(s); units are spread over them in turn; 'centre' = the central patch",
    )
    home: Literal["bases", "sectors", "sectors_by_load"] = Field(
        "bases",
        description="'bases': units at the patches of base; 'sectors': the units are split over the sectors (towns, "
        "streets) in turn, each unit based at its sector's central patch and belonging to it (see a mode's "
        "dispatch_across_borders); 'sectors_by_load': the same, shared out by the sectors' incident weights "
        "(every shift too)",
    )
    speed_kmh: PositiveFloat = Field(25.0, allow_inf_nan=False, le=300, description="travel speed on roads, km/h")
    setoff_min: NonNegativeFloat = Field(
        2.0, allow_inf_nan=False, description="time to set off after dispatch, minutes"
    )
    travel_cv: NonNegativeFloat = Field(
        0.0, allow_inf_nan=False, le=5, description="random variation of travel time (lognormal CV; 0 = deterministic)"
    )
    shift: Literal["24h", "office_hours", "day_night"] | list[ShiftWindow] = Field(
        "24h",
        description="'24h' (all units always), 'office_hours' (all units weekdays 08:30-12:00, 14:00-17:30), "
        "'day_night' (day_share of units 08:00-20:00, the rest 20:00-08:00), or a list of windows with unit counts: "
        "a rota pattern that the department's units scale (the pattern's size is the most units its windows roster "
        "on one day; at that size the windows are used as written, otherwise each window gets its share of the units "
        "by largest remainder, and no window of the pattern is left empty while there is a unit for each)",
    )
    day_share: float = Field(
        0.65,
        ge=0,
        le=1,
        description="share of units on the day shift under 'day_night' (rounded half up; with 2 or more units and "
        "a share strictly between 0 and 1, each shift keeps at least one unit)",
    )
    patrols: bool = Field(False, description="units patrol their sector between jobs (and can find matters there)")
    patrol_speed_kmh: PositiveFloat = Field(8.0, allow_inf_nan=False, le=100, description="patrolling speed, km/h")
    powers: list[str] = Field([], description="incident types the department may legally act on")
    poolable: bool = Field(
        False,
        description="joins the team of a mode that pools 'all'; a department's powers are pooled only when the "
        "scenario says so (here, or by naming it in a mode's authority.pooled)",
    )
    desk_hours: Hours | None = Field(
        None,
        description="when the department's desk works: a referral's last hand-over, onto this department's desk, "
        "counts working minutes in these hours; default: governance.referral.desk_hours",
    )
    sworn_per_unit: NonNegativeInt | None = Field(
        None,
        le=100,
        description="sworn (certified) enforcement officers per unit, the rest auxiliaries (专辅结合); a unit without "
        "one cannot do a matter whose type needs a sworn officer. Default: the whole crew is sworn",
    )
    competence: dict[str, Competence] = Field(
        {},
        description="per incident type (or '*' for every type), how this department's units do jobs outside its own "
        "powers when authority is pooled; default: as fast and as well as the owning department",
    )

    @model_validator(mode="after")
    def _sworn(self) -> Department:
        if self.sworn_per_unit is not None and self.sworn_per_unit > self.crew:
            raise ValueError(f"sworn_per_unit ({self.sworn_per_unit}) is more than the crew ({self.crew})")
        return self

    def has_sworn_officer(self) -> bool:
        """Whether the department's units carry a sworn officer (crew composition)."""
        return self.sworn_per_unit is None or self.sworn_per_unit > 0

    rounds: Rounds | None = Field(
        None,
        description="the department's own rounds on fixed routes (e.g. sanitation crews passing the bins), which find "
        "matters it may act on; default: none (it finds nothing itself unless it patrols)",
    )

    def rounds_hours(self) -> WeeklyHours:
        """When the department's rounds run: ``rounds.hours``, else while its shift has units on duty."""
        if self.rounds is not None and self.rounds.hours is not None:
            return self.rounds.hours.weekly()
        spans = []
        for window in self.shift_windows():
            if window.units > 0:
                hours = window.hours().weekly()
                spans += list(zip(hours.starts, hours.ends))
        return WeeklyHours.from_spans(spans)

    def rounds_see(self) -> list[str]:
        """The incident types the department's rounds notice (none without rounds)."""
        if self.rounds is None:
            return []
        return list(self.powers) if self.rounds.sees is None else list(self.rounds.sees)

    def pattern_units(self) -> int:
        """The size of the team an explicit rota is written for: the most units its windows roster on one day.

        Windows are counted on the days they start (a night window starting on Monday belongs to
        Monday). For a named shift (``24h``, ``office_hours``, ``day_night``) it is ``units``.
        """
        if not isinstance(self.shift, list):
            return self.units
        per_day = [0] * 7
        for window in self.shift:
            for day in window.weekdays():
                per_day[day] += window.units
        return max(per_day)

    def shift_windows(self) -> list[ShiftWindow]:
        """The shift as explicit windows with the unit counts of this team size.

        Explicit windows are a pattern scaled to ``units`` (:func:`apportion` with the pattern's
        counts as weights, over ``units * total / pattern_units`` rounded half up, which is
        ``units`` when every window runs on the same days); at ``units == pattern_units()`` they
        are used as written. ``day_night`` shares the units between its two shifts in the same way.
        """
        if isinstance(self.shift, list):
            pattern = self.pattern_units()
            if self.units == pattern:
                return list(self.shift)
            total = sum(w.units for w in self.shift)
            share = 0 if pattern == 0 else math.floor(round(self.units * total / pattern, 9) + 0.5)
            counts = apportion([w.units for w in self.shift], share)
            return [w.model_copy(update={"units": n}) for w, n in zip(self.shift, counts)]
        if self.shift == "24h":
            return [ShiftWindow(times=["00:00-24:00"], units=self.units)]
        if self.shift == "office_hours":
            return [ShiftWindow(days=OFFICE_HOURS.days, times=OFFICE_HOURS.times, units=self.units)]
        day, night = apportion([self.day_share, 1.0 - self.day_share], self.units)
        return [ShiftWindow(times=["08:00-20:00"], units=day), ShiftWindow(times=["20:00-08:00"], units=night)]


# --------------------------------------------------------------------------- incidents


def _check_channel_draw(name: str) -> str:
    """A registered detection channel or an importable ``module:function`` (:mod:`sim.registry`)."""
    from sim.registry import PluginError, resolve

    try:
        resolve("detection_channels", name)
    except PluginError as err:
        raise ValueError(str(err)) from None
    return name


class ChannelSpec(_Model):
    """A detection channel other than patrols: grid worker, hotline, camera."""

    probability: float = Field(0.0, ge=0, le=1, description="chance this channel ever reports the matter")
    delay_min: Duration = Field(Exponential(dist="exponential", mean=60.0), description="occurrence to report, minutes")
    hours: Hours | None = Field(
        None,
        description="when the people behind the channel work; a report falling outside waits for them to come on duty. "
        "Default: grid_worker works the grid workers' hours (grid_management.hours, else daily 08:00-20:00); "
        "hotline and camera 24 h (a camera's reports are read in the camera room: give its hours if not watched 24 h)",
    )
    draw: Annotated[str, AfterValidator(_check_channel_draw)] | None = Field(
        None,
        description="who decides when the channel reports: unset, probability then delay_min from the shared "
        "detection stream; or a detection channel by name ('delayed': the same law from a stream of its own) or "
        "dotted path 'module:function' (see sim.engine.detection)",
    )
    options: dict[str, float | int | str | bool] = Field(
        {}, description="values passed to the draw named in draw (its own parameters)"
    )


class PatrolDetection(_Model):
    """Detection by patrolling units passing through the patch."""

    notice_probability: float = Field(
        0.5, ge=0, le=1, description="chance that a patrol passing through the patch notices the matter"
    )


class Detection(_Model):
    """How a matter comes to someone's attention; the first channel to fire detects it."""

    patrol: PatrolDetection = Field(PatrolDetection(), description="found by a patrolling unit")
    grid_worker: ChannelSpec = Field(ChannelSpec(), description="found by a grid worker on rounds")
    hotline: ChannelSpec = Field(ChannelSpec(probability=0.3), description="reported by a citizen's hotline call")
    camera: ChannelSpec = Field(ChannelSpec(), description="seen on a watched camera")


class Escalation(_Model):
    """Shares of matters by the layer that can settle them (grid management, seeds/004_zhewang.md).

    ``grid`` matters are simple (mediation, advice) and solved by the grid's own workers when the
    scenario has ``grid_management``; ``city`` matters go up to the city centre before a
    department is sent; the rest are the town's, dispatched to departments.
    """

    grid: float = Field(0.0, ge=0, le=1, description="share a grid worker can solve (needs grid_management)")
    city: float = Field(0.0, ge=0, le=1, description="share that must go up to the city centre")

    @model_validator(mode="after")
    def _shares(self) -> Escalation:
        if self.grid + self.city > 1 + 1e-12:
            raise ValueError(f"grid + city shares add up to {self.grid + self.city:g}; expected at most 1")
        return self


class Duplication(_Model):
    """Duplicated and missing enforcement (交叉重复执法, 000; 多头执法、重复执法、执法缺位, 004).

    Only while reports travel by referral (no shared channel): every department that claims the
    matter hears of it on its own, so another one may also send a unit ("one violation fined by
    several"), or each may assume another acts and leave it.
    """

    probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="chance that each other department claiming the matter also sends a unit (a duplicate visit), "
        "decided when the first unit is assigned; under referral only",
    )
    departments: list[str] | None = Field(
        None,
        description="departments whose mandates overlap on this matter (they inspect or fine it in their own right, "
        "though the model lets only holders of the power resolve it); default: the other departments with power over it",
    )
    on_scene_min: Duration | None = Field(
        None, description="on-scene time of a duplicate visit, minutes; default: the type's service_min"
    )
    gap_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="chance that every claiming department leaves the report to another (a gap), when two or more "
        "claim it; under referral only",
    )
    gap_min: Duration = Field(
        Exponential(dist="exponential", mean=1440.0),
        description="after a gap, minutes until someone takes the matter up (a repeat report or a supervisor's chase)",
    )


class IncidentType(_Model):
    """A kind of matter: how often it happens, where, how it is found, who must act, how long it takes."""

    name: Name = Field(description="unique incident type name")
    rate_per_day: NonNegativeFloat = Field(
        allow_inf_nan=False, le=1e7, description="incidents per day in the whole town"
    )
    profile: list[NonNegativeFloat] | None = Field(
        None, description="24 relative hourly rates (hour 0 = 00:00-01:00); default flat"
    )
    weekly: list[NonNegativeFloat] | None = Field(
        None,
        description="7 relative daily rates, Monday first (scaled to mean 1, so the weekly volume stays 7 x rate_per_day); "
        "default flat",
    )
    seasonal: list[NonNegativeFloat] | None = Field(
        None,
        description="12 relative monthly rates, January first (scaled to mean 1); needs start_date; default flat",
    )
    service_min: Duration = Field(
        Lognormal(dist="lognormal", mean=30.0, cv=1.0), description="on-scene work per department involved, minutes"
    )
    priority: int = Field(3, ge=1, le=9, description="1 = most urgent; queues serve lower numbers first")
    requires: list[str] | None = Field(
        None,
        min_length=1,
        description="departments that must all act (multi-department matter); default: any one department with power over it",
    )
    detection: Detection = Field(Detection(), description="detection channels")
    escalation: Escalation = Field(
        default_factory=lambda: Escalation(), description="which layer a matter needs: grid, town (the rest) or city"
    )
    target_min: PositiveFloat | None = Field(
        None,
        allow_inf_nan=False,
        description="response-time target for this type, minutes; default: the scenario's target_min",
    )
    closure_deadline_min: PositiveFloat | None = Field(
        None,
        allow_inf_nan=False,
        description="closed loop: time allowed from detection to closing the case, minutes; "
        "default: governance.closed_loop.deadline_min",
    )
    duplication: Duplication = Field(
        default_factory=lambda: Duplication(), description="duplicate visits and gaps when several departments claim it"
    )
    natural_end_min: Duration | None = Field(
        None,
        description="natural lifetime from occurrence, minutes (a vendor moves on, a car drives away): a matter that "
        "ends before a unit is on scene is ended unattended; default: it persists until handled",
    )
    sworn_officer: bool = Field(
        False, description="its parts need a sworn enforcement officer (a penalty): a unit without one may not act"
    )

    @field_validator("profile")
    @classmethod
    def _profile(cls, profile):
        if profile is not None:
            if len(profile) != 24:
                raise ValueError(f"profile needs 24 hourly numbers, got {len(profile)}")
            if sum(profile) <= 0:
                raise ValueError("profile must not be all zeros")
        return profile

    @field_validator("weekly", "seasonal")
    @classmethod
    def _factors(cls, factors, info):
        size = {"weekly": 7, "seasonal": 12}[info.field_name]
        if factors is not None:
            if len(factors) != size:
                raise ValueError(f"expected {size} numbers, got {len(factors)}")
            if sum(factors) <= 0:
                raise ValueError("must not be all zeros")
        return factors

    @field_validator("requires")
    @classmethod
    def _unique(cls, requires):
        if requires is not None and len(set(requires)) != len(requires):
            raise ValueError("requires lists a department twice")
        return requires


# --------------------------------------------------------------------------- governance


class AuthoritySpec(_Model):
    """Who may act on what: which departments' powers are merged into one team."""

    pooled: Literal["all", "none"] | list[str] = Field(
        "none", description="'none', 'all' (every poolable department), or the departments pooled into one team"
    )


def _check_dispatch_rule(name: str) -> str:
    """A registered dispatch rule or an importable ``module:function`` (:mod:`sim.registry`)."""
    from sim.registry import PluginError, resolve

    try:
        resolve("dispatch_rules", name)
    except PluginError as err:
        raise ValueError(str(err)) from None
    return name


class ModeSpec(_Model):
    """A way of working: values of the four levers. Unset levers come from ``based_on``."""

    based_on: Literal["fragmented", "joint", "unified"] | None = Field(
        None, description="preset this mode starts from (default: the preset of the same name, else fragmented)"
    )
    authority: AuthoritySpec | None = Field(None, description="who may act on what")
    information: Literal["referral", "instant"] | None = Field(
        None, description="'referral': through office-hours desks; 'instant': a shared channel to a 24 h centre"
    )
    dispatch: Annotated[str, AfterValidator(_check_dispatch_rule)] | None = Field(
        None,
        description="'own_queue': the owning department's first free unit; 'nearest': nearest free capable unit; "
        "'least_loaded': the free capable unit with the least work so far, then nearest; or another registered "
        "dispatch rule, or a dotted path 'module:function' (see sim.engine.rules)",
    )
    coordination: Literal["sequential", "concurrent"] | None = Field(
        None, description="multi-department matters: one department after another, or all at once"
    )
    leave_probability: float | None = Field(
        None,
        ge=0,
        le=1,
        description="chance a unit that finds a matter outside its powers leaves it (seen, not handled)",
    )
    closed_loop: bool | None = Field(
        None, description="run the eight-step closed loop (verify, accept, assign ... check and close) around each fix"
    )
    dispatch_across_borders: bool | None = Field(
        None,
        description="whether a unit may be sent across a sector (town/street) border: false = only units whose home "
        "is the matter's sector (a department's units with home: sectors); default true",
    )


_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def _check_month_day(text: str) -> str:
    match = _MONTH_DAY.match(text)
    try:
        dt.date(2024, int(match.group(1)), int(match.group(2))) if match else None
    except ValueError:
        match = None
    if not match:
        raise ValueError(f"expected a day of the year as 'MM-DD', e.g. '06-01'; got {text!r}")
    return text


MonthDay = Annotated[str, AfterValidator(_check_month_day)]


class SummerHours(_Model):
    """Desk hours that apply between two days of every year (Quanzhou's summer schedule)."""

    start: MonthDay = Field(description="first day of the summer hours, 'MM-DD'")
    end: MonthDay = Field(description="last day of the summer hours, 'MM-DD' (inclusive)")
    desk_hours: Hours = Field(description="the desk hours on those days")

    def covers(self, day: dt.date) -> bool:
        """Whether *day* falls in the summer period (which may run over the new year)."""
        key = day.strftime("%m-%d")
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end


class ReferralSpec(_Model):
    """The referral chain of fragmented working: desks, hand-overs, misrouting."""

    desk_hours: Hours = Field(
        OFFICE_HOURS,
        description="when the town's desks work: every hand-over step except the last (a department's own "
        "desk_hours, which default to these) and, unless hotline_hours is given, the hotline back office",
    )
    hotline_hours: Hours | None = Field(
        None,
        description="when the hotline's back office forwards reports (the first hand-over of a hotline report); "
        "default: desk_hours",
    )
    handover_min: Duration = Field(
        Lognormal(dist="lognormal", mean=60.0, cv=1.0), description="working minutes per hand-over step"
    )
    steps: dict[Literal["patrol", "grid_worker", "hotline", "camera", "coordination", "grid"], NonNegativeInt] = Field(
        {"patrol": 3, "grid_worker": 3, "hotline": 2, "camera": 3, "coordination": 2, "grid": 1},
        description="hand-over steps from each channel's report until the owning department's unit has the job "
        "(patrol: own desk, owning desk, its unit; grid: to the grid's workers)",
    )
    misroute_probability: float = Field(
        0.12, ge=0, lt=1, description="chance a forward goes to the wrong department and bounces back"
    )
    summer: SummerHours | None = Field(
        None,
        description="summer desk hours between two days of the year: every desk keeping the town's desk_hours keeps "
        "these instead on those days (needs start_date); default: the same hours all year",
    )


class InstantSpec(_Model):
    """The shared channel of joint and unified working: a post in a group, a 24 h centre."""

    report_min: Duration = Field(
        Lognormal(dist="lognormal", mean=2.0, cv=0.5), description="finding to posting the report, minutes"
    )
    centre_min: Duration = Field(
        Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="centre's triage and dispatch decision, minutes"
    )
    centre_hours: Hours = Field(ALWAYS, description="when the command centre dispatches")
    operators: PositiveInt | None = Field(
        None,
        le=100_000,
        description="operators (dispatchers) at the command centre; each handles one report at a time for centre_min, "
        "and a report waits in a queue while all on duty are busy. null = unlimited: no queue, the centre's decision "
        "is the fixed delay centre_min after it opens (the behaviour without staffing). The closed loop's verify, "
        "accept and assign steps are handled by the same operators",
    )
    operator_shift: Literal["24h", "office_hours", "day_night"] | list[ShiftWindow] = Field(
        "24h",
        description="when the operators are on duty, as a department's shift ('24h', 'office_hours', 'day_night' or "
        "windows with operator counts, a pattern that operators scale); only within centre_hours; needs operators",
    )
    queue: Literal["priority", "fifo"] = Field(
        "priority",
        description="order of reports waiting for an operator: 'priority' (the incident type's priority first, then "
        "first come, first served) or 'fifo'",
    )

    def operator_windows(self) -> list[ShiftWindow]:
        """The operators' shift as explicit windows with operator counts (empty when unstaffed)."""
        if self.operators is None:
            return []
        return Department(name="centre", units=self.operators, shift=self.operator_shift).shift_windows()

    @model_validator(mode="after")
    def _staffed(self) -> InstantSpec:
        if self.operators is None and self.operator_shift != "24h":
            raise ValueError("operator_shift needs operators: give the number of operators it scales")
        return self


class Serves(_Model):
    """The patches a centre serves: those of some patrol sectors (towns, streets) or some higher-level grids."""

    sectors: list[str] | None = Field(None, min_length=1, description="sector names (the territory's sectors)")
    grids: list[str] | None = Field(None, min_length=1, description="higher-level grid names (the territory's grids)")

    @model_validator(mode="after")
    def _one(self) -> Serves:
        if (self.sectors is None) == (self.grids is None):
            raise ValueError("give exactly one of 'sectors' or 'grids'")
        return self


class CentreSpec(_Model):
    """A command centre at one level (city, town/street, village/community: seeds/002_jinjiang.md#command-structure).

    A report on the shared channel enters the lowest centre serving its patch; an operator there
    handles it (``handling_min``) and either dispatches or passes it up to ``parent``, where it
    queues again. It passes up when its incident type is in ``passes_up`` or when the centre may
    not send any department able to do one of its jobs (``dispatches``).
    """

    name: Name = Field(description="unique centre name")
    level: str = Field("town", description="a label for the level (city, town, village ...), shown in outputs")
    parent: str | None = Field(None, description="the centre this one passes matters up to; none for the top centre")
    serves: Literal["all"] | Serves = Field(
        "all", description="'all' patches, or {sectors: [...]} or {grids: [...]}; a patch enters its lowest centre"
    )
    operators: PositiveInt | None = Field(
        None, le=100_000, description="operators on duty (as governance.instant.operators); null = unlimited, no queue"
    )
    operator_shift: Literal["24h", "office_hours", "day_night"] | list[ShiftWindow] = Field(
        "24h", description="when the operators are on duty (as governance.instant.operator_shift); needs operators"
    )
    centre_hours: Hours = Field(ALWAYS, description="when the centre works")
    handling_min: Duration | None = Field(
        None, description="an operator's handling of one report, minutes; default: governance.instant.centre_min"
    )
    queue: Literal["priority", "fifo"] = Field("priority", description="order of reports waiting for an operator")
    passes_up: Literal["all"] | list[str] = Field(
        [], description="incident types this centre must pass up to its parent ('all': every one; default none)"
    )
    dispatches: list[str] | None = Field(
        None,
        description="departments this centre may send; a matter with a job none of them may do passes up. "
        "Default: every department",
    )
    each: Literal["sector", "grid"] | None = Field(
        None,
        description="one centre like this per sector (town, street) or per higher-level grid (village, community), "
        "named <name>_<sector or grid> and serving it (leave out serves); its parent: the one given, else the lowest "
        "of the centres listed before it that serves the area (an area across two of them: the one serving most of "
        "its patches, a tie to the one listed first). Expanded into plain centres when the scenario is loaded",
    )

    def operator_windows(self) -> list[ShiftWindow]:
        """The operators' shift as explicit windows with operator counts (empty when unstaffed)."""
        if self.operators is None:
            return []
        return Department(name="centre", units=self.operators, shift=self.operator_shift).shift_windows()

    @model_validator(mode="after")
    def _staffed(self) -> CentreSpec:
        if self.operators is None and self.operator_shift != "24h":
            raise ValueError("operator_shift needs operators: give the number of operators it scales")
        if self.each is not None and self.serves != "all":
            raise ValueError(f"each: {self.each} serves one {self.each} per centre; leave out serves")
        return self


class ClosedLoopSpec(_Model):
    """Durations of the eight-step closed loop (seeds/004_zhewang.md#eight-step-closed-loop).

    Collect-and-report is the detection and report; verify, accept and assign happen before a
    unit is sent; tracking runs alongside the work; feedback and check-and-close follow the fix,
    so the case is *closed* after it is *resolved*; evaluation comes last.
    """

    verify_min: Duration = Field(
        Lognormal(dist="lognormal", mean=10.0, cv=0.5), description="verify the report, minutes"
    )
    accept_min: Duration = Field(Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="accept the case, minutes")
    assign_min: Duration = Field(
        Lognormal(dist="lognormal", mean=3.0, cv=0.5), description="triage and assign, minutes"
    )
    feedback_min: Duration = Field(
        Lognormal(dist="lognormal", mean=10.0, cv=0.5), description="report the result, minutes"
    )
    check_min: Duration = Field(Lognormal(dist="lognormal", mean=20.0, cv=0.5), description="check and close, minutes")
    evaluate_min: Duration = Field(
        Lognormal(dist="lognormal", mean=30.0, cv=0.5), description="evaluate, minutes (after closing)"
    )
    deadline_min: PositiveFloat | None = Field(
        None,
        allow_inf_nan=False,
        description="time allowed from detection to closing a case, minutes, for every incident type that does not give "
        "its own closure_deadline_min; null = no deadline (on-time closure and overdue share are then not given)",
    )
    reopen_probability: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="chance that the check finds the matter not fixed: the case is reopened, assigned again (assign_min) "
        "and sent back to the departments that acted (the same on-scene work again, or a grid worker), then fed back and "
        "checked again; 0 = every check passes",
    )


class Governance(_Model):
    """How the information channels work, and the ways of working (modes) to compare."""

    referral: ReferralSpec = Field(ReferralSpec(), description="the referral chain")
    instant: InstantSpec = Field(InstantSpec(), description="the shared channel")
    closed_loop: ClosedLoopSpec = Field(
        ClosedLoopSpec(), description="step durations of the closed loop (modes switch it on)"
    )
    centres: list[CentreSpec] | None = Field(
        None,
        min_length=1,
        description="command centres at several levels, each with its patches, operators and what it passes up; "
        "replaces instant.operators. Default: one centre for the whole town (governance.instant)",
    )
    modes: dict[Name, ModeSpec] = Field(
        {"fragmented": ModeSpec(), "joint": ModeSpec(), "unified": ModeSpec()},
        min_length=1,
        description="modes by name; preset names (fragmented, joint, unified) start from the preset",
    )


class GridLeaders(_Model):
    """Grid leaders between the grid workers and the centre (seeds/004_zhewang.md#escalation-workflow).

    "The grid whistles, the grid leader handles, the centre dispatches, departments report": a
    matter a grid worker reports on the shared channel is first handled by the leader of its grid
    (one at a time, a queue while busy), then goes to the centre.
    """

    grids_per_leader: PositiveInt = Field(1, le=100_000, description="higher-level grids each leader answers for")
    handling_min: Duration = Field(
        Lognormal(dist="lognormal", mean=10.0, cv=0.5),
        description="a leader's handling of one report (check, decide to send it on), minutes",
    )
    hours: Hours | None = Field(
        None, description="when leaders take reports; default: the grid workers' hours (grid_management.hours)"
    )


class GridManagement(_Model):
    """Grid workers in every higher-level grid, and the layers above them (seeds/002_jinjiang.md, 004_zhewang.md).

    A matter whose layer is ``grid`` is solved by a worker of its grid ("the grid handles it");
    a ``city`` matter waits ``city_min`` for the city centre before a department is dispatched.
    """

    workers_per_grid: PositiveInt = Field(2, le=1000, description="grid workers in each higher-level grid")
    hours: Hours = Field(Hours(days="daily", times=["08:00-20:00"]), description="when grid workers take on matters")
    solve_min: Duration = Field(
        Lognormal(dist="lognormal", mean=30.0, cv=0.8),
        description="a grid worker's time to settle a simple matter, minutes",
    )
    city_min: Duration = Field(
        Lognormal(dist="lognormal", mean=120.0, cv=0.8), description="escalation to the city centre and back, minutes"
    )
    leaders: GridLeaders | None = Field(
        None,
        description="grid leaders who handle what the grid workers report before the centre (needs a staffed centre: "
        "governance.instant.operators or governance.centres); default: none, reports go straight to the centre",
    )


# --------------------------------------------------------------------------- joint campaigns

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _check_clock(text: str) -> str:
    if not _CLOCK.match(text):
        raise ValueError(f"expected a time of day 'HH:MM' (00:00 to 23:59), got {text!r}")
    return text


def _unquoted_clock(value: Any) -> Any:
    """An unquoted 10:00 reaches us as 600 (YAML 1.1 reads it as base-60 minutes): say to quote it."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        hours, minutes = divmod(value, 60)
        raise ValueError(
            f"put the time of day in quotes, e.g. '{hours:02d}:{minutes:02d}' (YAML reads an unquoted "
            f"{hours}:{minutes:02d} as the number {value})"
        )
    return value


Clock = Annotated[str, BeforeValidator(_unquoted_clock), AfterValidator(_check_clock)]


class CampaignSchedule(_Model):
    """When a campaign's sessions start: every week or month on some days, or on dates; at ``start``.

    Give ``every`` with ``days`` (a weekly calendar: ``daily``, ``weekdays``, ``weekends`` or day
    numbers 0 = Monday .. 6; a monthly calendar: days of the month 1..31, a day a month lacks is
    skipped), or ``dates``. Months and dates are placed by the scenario's ``start_date``.
    """

    every: Literal["week", "month"] | None = Field(None, description="repeat every week or every month")
    days: Literal["daily", "weekdays", "weekends"] | list[int] | None = Field(
        None, description="days of the week (every: week; 0 = Monday) or of the month (every: month; 1..31)"
    )
    dates: list[dt.date] | None = Field(None, min_length=1, description="the dates of the sessions (instead of every)")
    start: Clock = Field("09:00", description="time of day each session starts, 'HH:MM'")

    @model_validator(mode="after")
    def _one_calendar(self) -> CampaignSchedule:
        if (self.every is None) == (self.dates is None):
            raise ValueError("give either 'every' (week or month, with 'days') or 'dates'")
        if self.dates is not None:
            if self.days is not None:
                raise ValueError("'days' goes with 'every', not with 'dates'")
            if len(set(self.dates)) != len(self.dates):
                raise ValueError("a date is listed twice")
            return self
        if self.days is None:
            raise ValueError(f"'days' is missing: every: {self.every} needs the days it repeats on")
        if self.every == "month":
            if isinstance(self.days, str) or not self.days or any(not 1 <= d <= 31 for d in self.days):
                raise ValueError("'days' of a monthly calendar must be a list of days of the month, 1 to 31")
        elif isinstance(self.days, list) and (not self.days or any(not 0 <= d <= 6 for d in self.days)):
            raise ValueError("'days' of a weekly calendar must be daily, weekdays, weekends or numbers 0 (Monday) to 6")
        if isinstance(self.days, list) and len(set(self.days)) != len(self.days):
            raise ValueError("a day is listed twice")
        return self

    @property
    def dated(self) -> bool:
        """Whether the calendar needs the scenario's ``start_date`` (monthly or dated)."""
        return self.every != "week"

    def starts_min(self, start_date: dt.date | None, horizon_min: float) -> list[float]:
        """Minutes (from the run's minute 0) at which sessions start, before *horizon_min*, in order."""
        hour, minute = (int(x) for x in self.start.split(":"))
        clock = 60.0 * hour + minute
        n_days = math.ceil(horizon_min / (24 * 60))
        if self.every == "week":
            week_days = DAY_SETS[self.days] if isinstance(self.days, str) else self.days
            on = [k for k in range(n_days) if k % 7 in set(week_days or ())]
        else:
            if start_date is None:
                raise ValueError("a monthly or dated campaign needs the scenario's start_date")
            wanted = set(self.dates or ())
            on = [
                k
                for k in range(n_days)
                if (start_date + dt.timedelta(days=k)) in wanted
                or (self.every == "month" and (start_date + dt.timedelta(days=k)).day in set(self.days or ()))
            ]
        return [t for t in (k * 24 * 60.0 + clock for k in on) if t < horizon_min]


class Deterrence(_Model):
    """How a campaign lowers later arrivals of its types in its patches (专项整治's lasting effect).

    After a session ends at minute e, an arrival of one of the campaign's types in one of its
    patches at minute t > e is kept with probability 1 - factor * exp(-(t - e) / decay), decay in
    minutes (``decay_days`` days); several sessions multiply their keep probabilities. The arrival
    stream is thinned with its own random numbers, the same in every mode.
    """

    factor: float = Field(ge=0, le=1, description="share of arrivals prevented just after a session")
    decay_days: PositiveFloat = Field(
        allow_inf_nan=False, le=3650, description="days for the effect to fall by a factor e (exponential decay)"
    )
    basis: str = Field(
        min_length=1, description="where the factor and decay come from (a source, or 'assumption: ...')"
    )


class Campaign(_Model):
    """A joint campaign (联合执法行动, 专项整治): named units of named departments inspect patches on a calendar.

    During a session its units are off response duty; it finds matters of its types in the
    inspected patches at ``finds_per_unit_hour`` (per unit-hour it gets from the shifts); its
    deterrence, if given, lowers later arrivals of those types there (:mod:`sim.engine.campaigns`).
    """

    name: Name = Field(description="unique campaign name")
    schedule: CampaignSchedule = Field(description="when sessions start")
    duration_min: PositiveFloat = Field(allow_inf_nan=False, le=1440, description="length of each session, minutes")
    departments: dict[str, PositiveInt] = Field(
        min_length=1, description="units each department sends, e.g. {market: 2, environment: 1}"
    )
    patches: list[str] | None = Field(
        None, min_length=1, description="patches inspected (or give sectors or grids; none of the three: every patch)"
    )
    sectors: list[str] | None = Field(None, min_length=1, description="patrol sectors whose patches are inspected")
    grids: list[str] | None = Field(None, min_length=1, description="grids whose patches are inspected")
    finds_per_unit_hour: dict[str, NonNegativeFloat] = Field(
        min_length=1,
        description="matters of each incident type the campaign finds per unit-hour (the campaign's types)",
    )
    deterrence: Deterrence | None = Field(None, description="lower later arrivals of the campaign's types there")

    @model_validator(mode="after")
    def _one_area(self) -> Campaign:
        given = [key for key in ("patches", "sectors", "grids") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of patches, sectors or grids, not {' and '.join(given)}")
        return self

    @property
    def units(self) -> int:
        """The team's size as planned (units of every department)."""
        return sum(self.departments.values())


# --------------------------------------------------------------------------- the scenario


class Scenario(_Model):
    """A town's enforcement set-up to simulate. Minutes are the unit of time throughout."""

    name: str = Field("scenario", description="short name used in outputs")
    description: str = Field("", description="what the scenario represents")
    seed: int = Field(20240601, ge=0, le=2**63 - 1, description="base random seed")
    days: PositiveFloat = Field(7.0, allow_inf_nan=False, le=36_500, description="simulated horizon, days")
    warmup_days: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="initial days excluded from statistics")
    drain_days: NonNegativeFloat = Field(
        3.0,
        allow_inf_nan=False,
        le=3650,
        description="days simulated after arrivals stop, so that late incidents can finish; still open then = unresolved",
    )
    target_min: PositiveFloat = Field(30.0, allow_inf_nan=False, description="response-time target, minutes")
    start_date: dt.date | None = Field(
        None,
        description="the date of the run's first day, a Monday (minute 0 is its 00:00); places months and holidays. "
        "Default: undated (no holidays, seasons or summer hours)",
    )
    holidays: list[dt.date] = Field(
        [],
        description="public holidays (dates): desks that are not open round the clock are closed all day; needs start_date",
    )
    territory: Territory
    departments: list[Department] = Field(min_length=1)
    incident_types: list[IncidentType] = Field(min_length=1)
    governance: Governance = Field(Governance(), description="channels and modes")
    grid_management: GridManagement | None = Field(
        None, description="grid workers who solve simple matters in their grid, and escalation up to the city"
    )
    travel: Travel | None = Field(
        None, description="travel times on a road network or from a table (default: straight line x detour factor)"
    )
    campaigns: list[Campaign] = Field(
        [],
        description="joint campaigns (联合执法行动): scheduled inspections that take units off response duty, "
        "find matters and may deter later ones; they run in every mode",
    )

    @model_validator(mode="after")
    def _warmup(self) -> Scenario:
        if self.warmup_days >= self.days:
            raise ValueError(f"warmup_days ({self.warmup_days}) must be less than days ({self.days})")
        return self

    @field_validator("start_date")
    @classmethod
    def _monday(cls, start):
        if start is not None and start.weekday() != 0:
            raise ValueError(f"expected a Monday (the clock starts on Monday 00:00); {start} is a {start:%A}")
        return start

    def desk_calendar(self) -> Callable[[WeeklyHours], OpenHours]:
        """What a referral desk's weekly hours become on the run's dates: holidays closed, summer hours.

        Returns the hours unchanged when the scenario is undated or has neither holidays nor
        summer hours. A desk open round the clock stays open on holidays; a desk keeping the town's
        ``desk_hours`` keeps the summer ``desk_hours`` on summer days.
        """
        summer = self.governance.referral.summer
        if self.start_date is None or (not self.holidays and summer is None):
            return lambda hours: hours
        start = self.start_date
        span = math.ceil(self.days + self.drain_days) + 400  # a referral may finish after the run's end
        closed = {(day - start).days for day in self.holidays}
        town = self.governance.referral.desk_hours.weekly()
        summer_days = (
            {k for k in range(span) if summer.covers(start + dt.timedelta(days=k))} if summer is not None else set()
        )
        summer_hours = summer.desk_hours.weekly() if summer is not None else town

        def dated(hours: WeeklyHours) -> OpenHours:
            exceptions = {k: summer_hours for k in summer_days} if hours == town else {}
            if not hours.is_always:
                exceptions.update({k: CLOSED for k in closed})
            return CalendarHours(hours, exceptions) if exceptions else hours

        return dated

    def day_factors(self, incident_type: IncidentType, days: int) -> list[float] | None:
        """The rate multiplier of each day 0 .. *days* - 1 (weekly x seasonal, each scaled to mean 1); None when flat."""
        weekly, seasonal = incident_type.weekly, incident_type.seasonal
        if weekly is None and (seasonal is None or self.start_date is None):
            return None
        week = [1.0] * 7 if weekly is None else [w * 7 / sum(weekly) for w in weekly]
        months = [1.0] * 12 if seasonal is None else [m * 12 / sum(seasonal) for m in seasonal]
        start = self.start_date
        return [
            week[k % 7] * (months[(start + dt.timedelta(days=k)).month - 1] if start is not None else 1.0)
            for k in range(days)
        ]

    def department(self, name: str) -> Department:
        """The department called *name*."""
        return next(d for d in self.departments if d.name == name)

    def incident_type(self, name: str) -> IncidentType:
        """The incident type called *name*."""
        return next(t for t in self.incident_types if t.name == name)

    def target_for(self, type_name: str) -> float:
        """The response-time target of incident type *type_name*: its own ``target_min``, else the scenario's."""
        own = self.incident_type(type_name).target_min
        return self.target_min if own is None else own

    def deadline_for(self, type_name: str) -> float | None:
        """The closed loop's closure deadline of incident type *type_name* (``None``: no deadline)."""
        own = self.incident_type(type_name).closure_deadline_min
        return self.governance.closed_loop.deadline_min if own is None else own

    def desk_hours(self, department: str) -> Hours:
        """When *department*'s desk works: its own ``desk_hours``, else the referral's town-wide desk hours."""
        own = self.department(department).desk_hours
        return self.governance.referral.desk_hours if own is None else own

    def channel_hours(self, incident_type: IncidentType, channel: str) -> Hours:
        """When detection *channel* of *incident_type* reports: the hours given, else those of the people behind it.

        Grid workers report in the grid workers' hours (``grid_management.hours``, or that field's
        default when the scenario has no grid management); the hotline and cameras round the clock.
        """
        spec = getattr(incident_type.detection, channel)
        if spec.hours is not None:
            return spec.hours
        if channel == "grid_worker":
            return (self.grid_management or GridManagement()).hours
        return ALWAYS


IncidentType.model_rebuild()
Scenario.model_rebuild()
