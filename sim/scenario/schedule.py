"""Weekly opening hours: when a desk answers, a shift is on duty, a camera room is watched.

The simulation clock counts minutes from Monday 00:00. A :class:`WeeklyHours` is a set of
open intervals repeating every week. Its key operation, :meth:`WeeklyHours.add_open_minutes`,
is what makes an office-hours referral slow: a hand-over of 60 working minutes that starts at
17:00 on a Friday finishes on Monday morning. Everything here is pure arithmetic on floats
(no events, no ticking), so its cost does not depend on how long the simulated horizon is.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MINUTES_PER_DAY",
    "MINUTES_PER_WEEK",
    "WeeklyHours",
    "WeeklySteps",
    "DatedSteps",
    "combine_steps",
    "parse_window",
    "DAY_SETS",
]

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

DAY_SETS = {
    "daily": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}
"""Named sets of days (0 = Monday) a window may repeat on."""

_SCALARS = (float, int)
"""Types :meth:`WeeklySteps.first_passage` takes the scalar path for."""

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[int, int]:
    """Parse ``"HH:MM-HH:MM"`` into (start, end) minutes after midnight.

    An end at or before the start means the window runs past midnight (``"20:00-08:00"``);
    ``"00:00-24:00"`` is the whole day.

    Raises
    ------
    ValueError
        When the text is not of that form or a time is out of range.
    """
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"expected a time window like '08:30-17:30', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"time out of range in window {text!r}")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        end += MINUTES_PER_DAY
    return start, end


@dataclass(frozen=True)
class WeeklyHours:
    """Open intervals within one week, repeating forever.

    Parameters
    ----------
    starts, ends:
        Sorted, disjoint interval bounds in minutes within ``[0, MINUTES_PER_WEEK]``.
    """

    starts: tuple[float, ...]
    ends: tuple[float, ...]
    open_per_week: float = field(init=False, repr=False, compare=False)
    """Open minutes in one week."""
    is_always: bool = field(init=False, repr=False, compare=False)
    """True when open round the clock."""

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open round the clock."""
        return cls((0.0,), (float(MINUTES_PER_WEEK),))

    @classmethod
    def from_windows(cls, windows: Iterable[str], days: Iterable[int]) -> WeeklyHours:
        """Build from daily windows (``"08:30-12:00"``) repeated on the given days (0 = Monday)."""
        spans = []
        for day in days:
            for window in windows:
                start, end = parse_window(window)
                spans.append((day * MINUTES_PER_DAY + start, day * MINUTES_PER_DAY + end))
        return cls.from_spans(spans)

    @classmethod
    def from_spans(cls, spans: Iterable[tuple[float, float]]) -> WeeklyHours:
        """Build from absolute (start, end) minutes; wraps past the week's end and merges overlaps."""
        pieces = []
        for start, end in spans:
            start, end = start % MINUTES_PER_WEEK, start % MINUTES_PER_WEEK + (end - start)
            if end > MINUTES_PER_WEEK:
                pieces += [(start, float(MINUTES_PER_WEEK)), (0.0, end - MINUTES_PER_WEEK)]
            elif end > start:
                pieces.append((start, end))
        merged: list[list[float]] = []
        for start, end in sorted(pieces):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(float(s) for s, _ in merged), tuple(float(e) for _, e in merged))

    def __post_init__(self):
        """Derive the open minutes per week once."""
        # Derived once: add_open_minutes asks for them on every hand-over.
        object.__setattr__(self, "open_per_week", sum(e - s for s, e in zip(self.starts, self.ends)))
        object.__setattr__(self, "is_always", self.open_per_week >= MINUTES_PER_WEEK)

    def is_open(self, t: float) -> bool:
        """Whether the hours are open at clock time *t* (minutes)."""
        offset = t % MINUTES_PER_WEEK
        i = bisect.bisect_right(self.starts, offset) - 1
        return i >= 0 and offset < self.ends[i]

    def next_open(self, t: float) -> float:
        """The earliest time at or after *t* at which the hours are open (``inf`` if never)."""
        if not self.starts:
            return math.inf
        week, offset = divmod(t, MINUTES_PER_WEEK)
        base = week * MINUTES_PER_WEEK
        i = bisect.bisect_right(self.starts, offset) - 1
        if i >= 0 and offset < self.ends[i]:
            return t
        if i + 1 < len(self.starts):
            return base + self.starts[i + 1]
        return base + MINUTES_PER_WEEK + self.starts[0]

    def window_at(self, t: float) -> tuple[float, float]:
        """The clock bounds (start, end) of the open window containing *t*.

        A window running over the end of the week (Sunday night into Monday) is one window.
        Round the clock it is ``(-inf, inf)``.

        Raises
        ------
        ValueError
            When the hours are closed at *t*.
        """
        if self.is_always:
            return -math.inf, math.inf
        week, offset = divmod(t, MINUTES_PER_WEEK)
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0 or offset >= self.ends[i]:
            raise ValueError(f"closed at minute {t:g}")
        base = week * MINUTES_PER_WEEK
        start, end = base + self.starts[i], base + self.ends[i]
        wraps = self.starts[0] == 0.0 and self.ends[-1] == MINUTES_PER_WEEK
        if wraps and i == 0:
            start = base - MINUTES_PER_WEEK + self.starts[-1]
        if wraps and i == len(self.starts) - 1:
            end = base + MINUTES_PER_WEEK + self.ends[0]
        return start, end

    def add_open_minutes(self, t: float, minutes: float) -> float:
        """The clock time at which *minutes* of open time have passed after *t*.

        A hand-over of 90 working minutes begun at 16:30 by a desk open until 17:30 ends at
        09:30 the next working morning. The answer is the *earliest* such time: work that ends
        exactly as a window closes ends then, not at the next opening; so a whole week of open
        minutes from Monday 08:30 (desk opening) ends on Friday at closing time.
        """
        if minutes <= 0:
            return t
        if self.is_always:
            return t + minutes
        if not self.starts:
            return math.inf
        if not minutes < self.open_per_week:  # below a week of open time, divmod would give 0 weeks and *minutes*
            weeks, minutes = divmod(minutes, self.open_per_week)
            if minutes <= 0 and weeks > 0:
                # Whole weeks: the last week's open time ends at the end of its last window, not at the
                # next opening (t plus whole weeks may sit in a closed gap that must not be crossed).
                weeks, minutes = weeks - 1, self.open_per_week
            t += weeks * MINUTES_PER_WEEK
        starts, ends, last = self.starts, self.ends, len(self.starts) - 1
        while True:
            # next_open inlined: where *t* is open, its window is the one just found (divmod's remainder is t % week)
            week, offset = divmod(t, MINUTES_PER_WEEK)
            i = bisect.bisect_right(starts, offset) - 1
            if i < 0 or offset >= ends[i]:
                base = week * MINUTES_PER_WEEK
                t = base + starts[i + 1] if i < last else base + MINUTES_PER_WEEK + starts[0]
                offset = t % MINUTES_PER_WEEK
                i = bisect.bisect_right(starts, offset) - 1
            left = ends[i] - offset
            if minutes <= left:
                return t + minutes
            minutes -= left
            t += left

    FEW = 16
    """Pairs left in :meth:`add_open_minutes_many`'s loop below which each goes on alone (a numpy pass per window costs more)."""

    def add_open_minutes_many(self, t: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """:meth:`add_open_minutes` of each pair of *t* and *minutes*, on whole arrays: the same floats.

        The same operations in the same order as the scalar method, element by element (numpy's
        ``divmod`` and ``%`` on floats are Python's), so each answer is the scalar one to the last
        bit (tests/scenario/test_open_minutes.py). A NaN of *minutes* gives NaN. The last :data:`FEW` pairs still
        crossing windows go on in the scalar method, from where they are (the same steps). Used to work out many
        hand-overs at once (:meth:`sim.engine.channel.ReferralChain.draw_ahead`).
        """
        t = np.asarray(t, dtype=float)
        minutes = np.asarray(minutes, dtype=float)
        out = t.copy()  # minutes <= 0: t
        out[np.isnan(minutes)] = math.nan
        go = np.flatnonzero(minutes > 0)
        if self.is_always or not self.starts:
            out[go] = t[go] + minutes[go] if self.is_always else math.inf
            return out
        tt, mm = t[go], minutes[go]
        big = np.flatnonzero(~(mm < self.open_per_week))
        if big.size:  # whole weeks first, as the scalar method takes them
            weeks, rest = np.divmod(mm[big], self.open_per_week)
            whole = (rest <= 0) & (weeks > 0)
            weeks[whole] -= 1
            rest[whole] = self.open_per_week
            mm[big] = rest
            tt[big] = tt[big] + weeks * MINUTES_PER_WEEK
        starts, ends, last = np.asarray(self.starts), np.asarray(self.ends), len(self.starts) - 1
        while go.size:
            if go.size <= self.FEW:  # the long hand-overs left: a window at a time each, as the scalar method goes on
                out[go] = [self.add_open_minutes(a, b) for a, b in zip(tt.tolist(), mm.tolist())]
                break
            week, offset = np.divmod(tt, MINUTES_PER_WEEK)
            i = np.searchsorted(starts, offset, side="right") - 1
            closed = np.flatnonzero((i < 0) | (offset >= ends[np.maximum(i, 0)]))
            if closed.size:  # in a closed gap: on to the next opening
                ic, base = i[closed], week[closed] * MINUTES_PER_WEEK
                opening = np.where(
                    ic < last, base + starts[np.minimum(ic + 1, last)], base + MINUTES_PER_WEEK + starts[0]
                )
                tt[closed] = opening
                offset[closed] = opening % MINUTES_PER_WEEK
                i[closed] = np.searchsorted(starts, offset[closed], side="right") - 1
            left = ends[i] - offset
            done = mm <= left
            out[go[done]] = tt[done] + mm[done]
            going = ~done
            go, tt, mm, left = go[going], tt[going], mm[going], left[going]
            mm = mm - left
            tt = tt + left
        return out

    def open_minutes_between(self, a: float, b: float) -> float:
        """Open minutes within the clock interval [*a*, *b*)."""
        if b <= a:
            return 0.0
        return self._open_before(b) - self._open_before(a)

    def _open_before(self, t: float) -> float:
        """Open minutes in [0, *t*)."""
        week, offset = divmod(t, MINUTES_PER_WEEK)
        total = week * self.open_per_week
        for start, end in zip(self.starts, self.ends):
            if start >= offset:
                break
            total += min(end, offset) - start
        return total


@dataclass(frozen=True, eq=False)
class WeeklySteps:
    """A quantity that is constant between weekly breakpoints: units on duty, a patrol rate.

    Parameters
    ----------
    breaks:
        Sorted segment starts within the week, the first being 0.
    values:
        The quantity on each segment.
    """

    breaks: tuple[float, ...]
    values: tuple[float, ...]
    weekly_total: float = field(init=False, repr=False, compare=False)
    """Integral over one week."""
    _arrays: tuple | None = field(init=False, repr=False, compare=False)
    _lists: tuple | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        """Derive the weekly total once."""
        # Derived once: every patrol pass and every shift count reads them.
        edges = self.breaks[1:] + (float(MINUTES_PER_WEEK),)
        object.__setattr__(self, "weekly_total", sum(v * (e - b) for b, e, v in zip(self.breaks, edges, self.values)))
        object.__setattr__(self, "_arrays", None)
        object.__setattr__(self, "_lists", None)

    @classmethod
    def from_hours(cls, parts: Iterable[tuple[WeeklyHours, float]], cap: float = math.inf) -> WeeklySteps:
        """Sum of amounts that apply while their hours are open, capped at *cap*."""
        parts = list(parts)
        cuts = {0.0}
        for hours, _ in parts:
            cuts.update(hours.starts)
            cuts.update(e for e in hours.ends if e < MINUTES_PER_WEEK)
        breaks = tuple(sorted(cuts))
        values = tuple(min(cap, sum(a for h, a in parts if h.is_open(b))) for b in breaks)
        return cls(breaks, values)

    def map(self, fn) -> WeeklySteps:
        """The step function ``fn(value)`` on the same segments."""
        return WeeklySteps(self.breaks, tuple(fn(v) for v in self.values))

    @staticmethod
    def combine(steps: Iterable[WeeklySteps], fn) -> WeeklySteps:
        """``fn(values...)`` of several step functions, segment by segment."""
        steps = list(steps)
        breaks = tuple(sorted({b for s in steps for b in s.breaks} | {0.0}))
        return WeeklySteps(breaks, tuple(fn(*(s.value(b) for s in steps)) for b in breaks))

    def value(self, t: float) -> float:
        """The quantity at clock time *t*."""
        return self.values[bisect.bisect_right(self.breaks, t % MINUTES_PER_WEEK) - 1]

    def next_change(self, t: float) -> float:
        """The first breakpoint strictly after *t* (``inf`` for a constant)."""
        if len(self.breaks) == 1:
            return math.inf
        week, offset = divmod(t, MINUTES_PER_WEEK)
        i = bisect.bisect_right(self.breaks, offset)
        if i < len(self.breaks):
            return week * MINUTES_PER_WEEK + self.breaks[i]
        return (week + 1) * MINUTES_PER_WEEK

    def integral(self, a: float, b: float) -> float:
        """Integral of the quantity over [*a*, *b*] (e.g. unit-minutes on duty)."""
        return self._cumulative(b) - self._cumulative(a)

    def _cumulative(self, t: float) -> float:
        week, offset = divmod(t, MINUTES_PER_WEEK)
        total = week * self.weekly_total
        edges = self.breaks[1:] + (float(MINUTES_PER_WEEK),)
        for b, e, v in zip(self.breaks, edges, self.values):
            if b >= offset:
                break
            total += v * (min(e, offset) - b)
        return total

    def first_passage(self, start, amount):
        """Times *t* at which the integral from *start* to *t* reaches *amount* (arrays welcome).

        With the quantity a rate, this turns unit-exponential draws into the first event of a
        Poisson process with that weekly rate: no clock ticking, one lookup per draw.
        ``inf`` where the rate is zero all week.

        Called with two Python numbers it returns a Python float, computed without numpy by the
        same operations in the same order (so the same bits as the array path; a property test
        checks this), about twenty times faster than building arrays of one element.
        """
        if type(start) in _SCALARS and type(amount) in _SCALARS:
            return self._first_passage_scalar(start, amount)
        import numpy as np

        start = np.asarray(start, dtype=float)
        amount = np.asarray(amount, dtype=float)
        total = self.weekly_total
        if total <= 0:
            return np.full(np.broadcast(start, amount).shape, np.inf)
        breaks, values, cum = self._tables()
        week, offset = np.divmod(start, MINUTES_PER_WEEK)
        k = np.searchsorted(breaks, offset, side="right") - 1
        target = cum[k] + values[k] * (offset - breaks[k]) + amount
        # quietly, as the scalar path's Python floats: a rate all but zero (a weekly total near the smallest
        # float) overflows to inf here, and no week is then reached
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            more_weeks, residual = np.divmod(target, total)
            j = np.minimum(np.searchsorted(cum[1:], residual, side="left"), len(values) - 1)
            inside = np.where(values[j] > 0, (residual - cum[j]) / values[j], 0.0)
            return (week + more_weeks) * MINUTES_PER_WEEK + breaks[j] + inside

    def _tables(self):
        """The breaks, values and cumulative integral at each break as numpy arrays (built once)."""
        if self._arrays is None:
            import numpy as np

            breaks = np.asarray(self.breaks)
            values = np.asarray(self.values)
            edges = np.append(breaks[1:], MINUTES_PER_WEEK)
            cum = np.concatenate([[0.0], np.cumsum(values * (edges - breaks))])
            # The scalar path reads the same numbers as Python floats (tolist keeps every bit).
            object.__setattr__(self, "_arrays", (breaks, values, cum))
            object.__setattr__(self, "_lists", (breaks.tolist(), values.tolist(), cum.tolist(), cum[1:].tolist()))
        return self._arrays

    def _first_passage_scalar(self, start: float, amount: float) -> float:
        """:meth:`first_passage` of one start and one amount, in plain Python floats."""
        total = self.weekly_total
        if total <= 0:
            return math.inf
        if self._lists is None:
            self._tables()
        breaks, values, cum, cum_after = self._lists  # type: ignore[misc]
        week, offset = divmod(float(start), MINUTES_PER_WEEK)
        k = bisect.bisect_right(breaks, offset) - 1
        target = cum[k] + values[k] * (offset - breaks[k]) + float(amount)
        more_weeks, residual = divmod(target, total)
        j = min(bisect.bisect_left(cum_after, residual), len(values) - 1)
        inside = (residual - cum[j]) / values[j] if values[j] > 0 else 0.0
        return (week + more_weeks) * MINUTES_PER_WEEK + breaks[j] + inside


class DatedSteps:
    """A step function that follows the run's own days up to a minute, then a weekly pattern.

    A patrol rate is a weekly step function until something happens on particular days only: a
    joint campaign on a monthly or dated calendar takes patrolling units for its sessions. The
    dated stretch holds every change up to *until* (absolute minutes from the run's minute 0: the
    weekly breakpoints of the weeks it covers and the dated changes), and *weekly* holds after it.
    Cost grows with the weeks and the sessions of the stretch, never with minutes: the first
    passage of a rate is one lookup in the stretch's cumulative integral, then, when the amount is
    not reached within it, the weekly pattern's own (:meth:`WeeklySteps.first_passage`).

    Parameters
    ----------
    weekly:
        The pattern from *until* on (and the one the stretch was cut from).
    breaks, values:
        The stretch: sorted absolute segment starts, the first 0, and the quantity on each.
    until:
        Where the stretch ends (at least the last break).
    """

    def __init__(self, weekly: WeeklySteps, breaks: Iterable[float], values: Iterable[float], until: float):
        self.weekly = weekly
        self.breaks = tuple(float(b) for b in breaks)
        self.values = tuple(float(v) for v in values)
        self.until = float(until)
        edges = self.breaks[1:] + (self.until,)
        cum = [0.0]
        for b, e, v in zip(self.breaks, edges, self.values):
            cum.append(cum[-1] + v * (e - b))
        self._cum = cum

    @classmethod
    def unrolled(cls, weekly: WeeklySteps, until: float) -> DatedSteps:
        """*weekly* written out over [0, *until*) (the same function, with a stretch to change)."""
        breaks = _weekly_breaks(weekly, until)
        return cls(weekly, breaks, (weekly.value(b) for b in breaks), until)

    @property
    def weekly_total(self) -> float:
        """Integral over one week of the weekly pattern that holds after the stretch."""
        return self.weekly.weekly_total

    def map(self, fn) -> DatedSteps:
        """The step function ``fn(value)`` on the same segments."""
        return DatedSteps(self.weekly.map(fn), self.breaks, (fn(v) for v in self.values), self.until)

    def value(self, t: float) -> float:
        """The quantity at minute *t*."""
        if t >= self.until:
            return self.weekly.value(t)
        return self.values[bisect.bisect_right(self.breaks, t) - 1]

    def next_change(self, t: float) -> float:
        """The first breakpoint strictly after *t* (``inf`` for a constant after the stretch)."""
        if t >= self.until:
            return self.weekly.next_change(t)
        i = bisect.bisect_right(self.breaks, t)
        return self.breaks[i] if i < len(self.breaks) else self.until

    def integral(self, a: float, b: float) -> float:
        """Integral of the quantity over [*a*, *b*]."""
        return self._cumulative(b) - self._cumulative(a)

    def _cumulative(self, t: float) -> float:
        """Integral over [0, *t*]."""
        if t >= self.until:
            return self._cum[-1] + self.weekly.integral(self.until, t)
        k = bisect.bisect_right(self.breaks, t) - 1
        return self._cum[k] + self.values[k] * (t - self.breaks[k])

    def first_passage(self, start, amount):
        """Times *t* at which the integral from *start* to *t* reaches *amount* (arrays welcome).

        As :meth:`WeeklySteps.first_passage`: with the quantity a rate, unit-exponential draws become
        the first event of a Poisson process of that rate; ``inf`` where it is never reached.
        """
        if type(start) in _SCALARS and type(amount) in _SCALARS:
            return self._first_passage_scalar(float(start), float(amount))
        import numpy as np

        start, amount = np.broadcast_arrays(np.asarray(start, dtype=float), np.asarray(amount, dtype=float))
        out = np.empty(start.shape)
        inside = start < self.until
        out[~inside] = self.weekly.first_passage(start[~inside], amount[~inside])
        if inside.any():
            breaks, values, cum = np.asarray(self.breaks), np.asarray(self.values), np.asarray(self._cum)
            s, a = start[inside], amount[inside]
            k = np.searchsorted(breaks, s, side="right") - 1
            target = cum[k] + values[k] * (s - breaks[k]) + a
            within = target <= cum[-1]
            j = np.minimum(np.searchsorted(cum[1:], target, side="left"), len(values) - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = np.maximum(s, breaks[j] + np.where(values[j] > 0, (target - cum[j]) / values[j], 0.0))
            later = self.weekly.first_passage(np.full(len(s), self.until), np.where(within, 0.0, target - cum[-1]))
            out[inside] = np.where(within, at, later)
        return out

    def _first_passage_scalar(self, start: float, amount: float) -> float:
        """:meth:`first_passage` of one start and one amount, in plain Python floats."""
        if start >= self.until:
            return self.weekly.first_passage(start, amount)
        cum = self._cum
        k = bisect.bisect_right(self.breaks, start) - 1
        target = cum[k] + self.values[k] * (start - self.breaks[k]) + amount
        if target > cum[-1]:
            return self.weekly.first_passage(self.until, target - cum[-1])
        j = min(bisect.bisect_left(cum, target, 1) - 1, len(self.values) - 1)
        inside = (target - cum[j]) / self.values[j] if self.values[j] > 0 else 0.0
        return max(start, self.breaks[j] + inside)  # an amount of 0 where the rate is 0: at once


def _weekly_breaks(weekly: WeeklySteps, until: float) -> list[float]:
    """The breakpoints of *weekly* in [0, *until*), in absolute minutes (0 first)."""
    weeks = max(1, math.ceil(until / MINUTES_PER_WEEK))
    out = [w * MINUTES_PER_WEEK + b for w in range(weeks) for b in weekly.breaks]
    return [t for t in out if t < until] or [0.0]


def combine_steps(steps: Iterable[WeeklySteps | DatedSteps], fn) -> WeeklySteps | DatedSteps:
    """``fn(values...)`` of several step functions, segment by segment: weekly when all are weekly.

    When some are dated, the answer is dated up to the latest stretch's end and ``fn`` of the
    weekly patterns after it.
    """
    steps = list(steps)
    if all(isinstance(s, WeeklySteps) for s in steps):
        return WeeklySteps.combine(steps, fn)  # type: ignore[arg-type]
    until = max(s.until for s in steps if isinstance(s, DatedSteps))
    cuts: set[float] = set()
    for s in steps:
        weekly = s.weekly if isinstance(s, DatedSteps) else s
        cuts.update(_weekly_breaks(weekly, until))
        if isinstance(s, DatedSteps):
            cuts.update(b for b in s.breaks if b < until)
    breaks = sorted(cuts)
    weekly = WeeklySteps.combine([s.weekly if isinstance(s, DatedSteps) else s for s in steps], fn)
    return DatedSteps(weekly, breaks, (fn(*(s.value(b) for s in steps)) for b in breaks), until)
