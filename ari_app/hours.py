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
from datetime import date, datetime, time
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
