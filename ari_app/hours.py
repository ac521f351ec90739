"""Is a service open right now? A pure decision over its calendar.

Hours are decided in the service's own time zone (Europe/Rome, DST included),
never in Asterisk's. Public holidays are Italy's national ones from the
maintained ``holidays`` package (Easter Monday included); provincial patron
days such as San Vigilio (26 June, Trento) are deliberately not holidays, as
the tender says. Admins add closures of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True)
class Window:
    """One opening interval; weekday 0 is Monday."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class ServiceCalendar:
    timezone: str
    windows: tuple[Window, ...]
    closures: frozenset[date] = field(default_factory=frozenset)
    #: "auto" follows the windows; "open"/"closed" are forced until ``mode_until``.
    mode: str = "auto"
    mode_until: datetime | None = None
    #: When the forced mode was set; None: unknown (taken as always, in the past too).
    #: Only the look back (:func:`last_opening`) uses it: live calls follow ``mode``.
    mode_since: datetime | None = None


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Italy(years=year).keys())


def is_public_holiday(day: date) -> bool:
    return day in _national_holidays(day.year)


def effective_mode(calendar: ServiceCalendar, at: datetime) -> str:
    """The forced mode still in force at ``at``, or "auto"."""
    if calendar.mode != "auto" and (calendar.mode_until is None or at < calendar.mode_until):
        return calendar.mode
    return "auto"


def is_open(calendar: ServiceCalendar, at: datetime) -> bool:
    """True when a call arriving at ``at`` (aware) is inside the service window."""
    if at.tzinfo is None:
        raise ValueError("is_open needs an aware datetime")
    mode = effective_mode(calendar, at)
    if mode != "auto":
        return mode == "open"
    local = at.astimezone(ZoneInfo(calendar.timezone))
    day = local.date()
    if day in calendar.closures or is_public_holiday(day):
        return False
    now = local.time()
    return any(w.weekday == local.weekday() and w.opens <= now < w.closes
               for w in calendar.windows)


def weekday_windows(weekdays: Iterable[int], opens: time, closes: time) -> tuple[Window, ...]:
    return tuple(Window(d, opens, closes) for d in weekdays)


# -- looking back: when did the service last open? --------------------------------

#: How far back :func:`last_opening` looks (Christmas closures and a weekend fit).
LOOK_BACK = timedelta(days=31)


def _open_in_history(calendar: ServiceCalendar, at: datetime) -> bool:
    """Open at a past instant: the forced mode only from ``mode_since`` on, if known."""
    if calendar.mode_since is not None and at < calendar.mode_since:
        return is_open(ServiceCalendar(calendar.timezone, calendar.windows, calendar.closures),
                       at)
    return is_open(calendar, at)


def _changes(calendar: ServiceCalendar, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end] where openness may change: local midnights, window
    edges (in local time, so DST moves them in UTC), the forced mode's start and end."""
    zone = ZoneInfo(calendar.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    moments: set[datetime] = set()
    day = first
    while day <= last:
        moments.add(datetime.combine(day, time(0), zone))
        for w in calendar.windows:
            if w.weekday == day.weekday():
                moments.add(datetime.combine(day, w.opens, zone))
                moments.add(datetime.combine(day, w.closes, zone))
        day += timedelta(days=1)
    moments.update(m for m in (calendar.mode_since, calendar.mode_until) if m is not None)
    return sorted(m.astimezone(UTC) for m in moments if start < m <= end)


def _timeline(calendar: ServiceCalendar, at: datetime,
              look_back: timedelta) -> list[tuple[datetime, bool]]:
    """(instant, open from then on) from ``at - look_back`` to ``at``, changes only."""
    start = at - look_back
    timeline = [(start, _open_in_history(calendar, start))]
    for moment in _changes(calendar, start, at):
        state = _open_in_history(calendar, moment)
        if state != timeline[-1][1]:
            timeline.append((moment, state))
    return timeline


def last_opening(calendar: ServiceCalendar, at: datetime,
                 look_back: timedelta = LOOK_BACK) -> datetime | None:
    """The latest instant not after ``at`` when the service went from closed to open;
    None when it did not within ``look_back`` (open throughout, or closed throughout)."""
    if at.tzinfo is None:
        raise ValueError("last_opening needs an aware datetime")
    openings = [moment for moment, state in _timeline(calendar, at, look_back)[1:] if state]
    return openings[-1] if openings else None


@dataclass(frozen=True)
class ClosedStretch:
    """The out-of-hours stretch an agent works through: from the closing to the opening.

    ``ongoing``: the service is still closed and ``end`` is the time asked about.
    ``start`` is the look-back limit when the closing is older than that.
    """

    start: datetime
    end: datetime
    ongoing: bool

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end or (self.ongoing and moment == self.end)


def closed_stretch(calendar: ServiceCalendar, at: datetime,
                   look_back: timedelta = LOOK_BACK) -> ClosedStretch | None:
    """Open at ``at``: the closure that ended at its last opening (Monday morning: from
    Friday's closing to 08:00). Closed: the closure in progress, up to ``at``. None when
    the service was open throughout ``look_back`` (e.g. crisis mode with no known start).
    """
    if at.tzinfo is None:
        raise ValueError("closed_stretch needs an aware datetime")
    timeline = _timeline(calendar, at, look_back)
    at = at.astimezone(UTC)
    if not timeline[-1][1]:
        return ClosedStretch(timeline[-1][0], at, ongoing=True)
    if len(timeline) < 2:
        return None
    opened = timeline[-1][0]
    return ClosedStretch(timeline[-2][0], opened, ongoing=False)
