"""Dated hours: weekly hours with days that differ -- public holidays, summer office hours.

The clock counts minutes from Monday 00:00 of the run's first day (``Scenario.start_date``, a
Monday, when dates matter). :class:`CalendarHours` is :class:`~sim.scenario.schedule.WeeklyHours`
with exceptions by day number: on a public holiday a desk is closed all day; between two dates
of a year a desk keeps its summer hours. ``next_open`` and ``add_open_minutes`` stay exact: the
clock is cut where the hours change (at midnight before and after each run of exceptional days)
and each piece is handled by the weekly arithmetic of the hours that apply there.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from sim.scenario.schedule import MINUTES_PER_DAY, WeeklyHours

__all__ = ["OpenHours", "CalendarHours", "CLOSED", "day_number", "dated_days", "month_of_day"]

CLOSED = WeeklyHours((), ())
"""Hours that are never open (a desk on a public holiday)."""


class OpenHours(Protocol):
    """What the referral chain and the shared channel ask of opening hours."""

    @property
    def is_always(self) -> bool:
        """True when open round the clock."""
        ...

    def is_open(self, t: float) -> bool:
        """Whether open at minute *t*."""
        ...

    def next_open(self, t: float) -> float:
        """The earliest open minute at or after *t*."""
        ...

    def add_open_minutes(self, t: float, minutes: float) -> float:
        """The minute at which *minutes* of open time have passed after *t*."""
        ...


class CalendarHours:
    """Weekly hours, except on the days given, which keep other hours (``CLOSED`` for a holiday).

    Parameters
    ----------
    weekly:
        The ordinary hours.
    exceptions:
        Day number (0 = the run's first day, a Monday) -> the hours that apply during that day
        (their weekly pattern evaluated on that day's minutes).
    """

    def __init__(self, weekly: WeeklyHours, exceptions: Mapping[int, WeeklyHours]):
        self.weekly = weekly
        self.exceptions = dict(exceptions)
        self._days = sorted(self.exceptions)
        self.is_always = weekly.is_always and all(h.is_always for h in self.exceptions.values())

    def _piece(self, t: float) -> tuple[WeeklyHours, float]:
        """The hours that apply at *t* and the minute they stop applying (``inf`` for ever)."""
        day = math.floor(t / MINUTES_PER_DAY)
        if day in self.exceptions:
            return self.exceptions[day], (day + 1) * MINUTES_PER_DAY
        i = bisect.bisect_right(self._days, day)
        return self.weekly, (self._days[i] * MINUTES_PER_DAY if i < len(self._days) else math.inf)

    def is_open(self, t: float) -> bool:
        """Whether open at minute *t*."""
        return self._piece(t)[0].is_open(t)

    def next_open(self, t: float) -> float:
        """The earliest open minute at or after *t* (``inf`` if never)."""
        while True:
            hours, end = self._piece(t)
            s = hours.next_open(t)
            if s < end or math.isinf(end):
                return s
            t = end

    def add_open_minutes(self, t: float, minutes: float) -> float:
        """The minute at which *minutes* of open time have passed after *t* (exact across changes of hours)."""
        if minutes <= 0:
            return t
        while True:
            hours, end = self._piece(t)
            if math.isinf(end):
                return hours.add_open_minutes(t, minutes)
            available = hours.open_minutes_between(t, end)
            if minutes <= available:
                return hours.add_open_minutes(t, minutes)
            minutes -= available
            t = end


def day_number(start: dt.date, day: dt.date) -> int:
    """Days from the run's first day *start* to *day* (negative before it)."""
    return (day - start).days


def month_of_day(start: dt.date, day: int) -> int:
    """The month (1-12) of day number *day* of a run starting on *start*."""
    return (start + dt.timedelta(days=day)).month


def dated_days(start: dt.date, days: int, in_period: Callable[[dt.date], bool]) -> Iterable[int]:
    """Day numbers 0 .. *days* - 1 of a run starting on *start* whose date satisfies *in_period*."""
    for k in range(days):
        if in_period(start + dt.timedelta(days=k)):
            yield k
