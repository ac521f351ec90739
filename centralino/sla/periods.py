"""Calendar periods in a service's time zone (month, day, half-hour), as UTC bounds.

The tender measures monthly and counts abandons per half-hour, in local time:
a day in Europe/Rome lasts 23 or 25 hours at the DST changes, and the night of
the autumn change has two half-hours starting at 02:00 (told apart by their
UTC offset). Periods are computed here in Python, so the databases need only
compare UTC instants, which SQLite and PostgreSQL do alike.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

PERIOD_KINDS = ("month", "day", "halfhour")


@dataclass(frozen=True)
class Period:
    """One local calendar period, clipped to the requested dates."""

    label: str
    start: datetime  # local, aware
    end: datetime    # local, aware (exclusive)

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def periods(first: date, last: date, by: str, zone: ZoneInfo) -> list[Period]:
    """The periods covering the local days ``first``..``last`` (both included)."""
    if by not in PERIOD_KINDS:
        raise ValueError(f"unknown period {by!r}: use one of {', '.join(PERIOD_KINDS)}")
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    stop = local_midnight(last + timedelta(days=1), zone)
    result: list[Period] = []
    if by == "halfhour":
        # Step in UTC, so the repeated autumn hour yields its two pairs of half-hours.
        at = local_midnight(first, zone).astimezone(UTC)
        end_utc = stop.astimezone(UTC)
        while at < end_utc:
            start = at.astimezone(zone)
            result.append(Period(start.isoformat(timespec="minutes"), start,
                                 (at + timedelta(minutes=30)).astimezone(zone)))
            at += timedelta(minutes=30)
        return result
    day = first
    while day <= last:
        if by == "day":
            following = day + timedelta(days=1)
            label = day.isoformat()
        else:
            following = (date(day.year + 1, 1, 1) if day.month == 12
                         else date(day.year, day.month + 1, 1))
            label = f"{day.year:04d}-{day.month:02d}"
        end_day = min(following, last + timedelta(days=1))
        result.append(Period(label, local_midnight(day, zone), local_midnight(end_day, zone)))
        day = end_day
    return result


def offset_changes(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) from ``start``, and each change before ``end``.

    ``[(start, offset), (instant of change, new offset), …]``: a handful per year, so
    SQL can turn UTC into local time with a short CASE, on SQLite as on PostgreSQL.
    """
    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    result = [(start, offset(start))]
    day = timedelta(days=1)
    at = start
    while at < end:
        following = min(at + day, end)
        if offset(following) != result[-1][1]:
            low, high = at, following  # the change lies in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if offset(middle) == result[-1][1]:
                    low = middle
                else:
                    high = middle
            result.append((high, offset(high)))
        at = following
    return result


class PeriodIndex:
    """Finds the period of an instant."""

    def __init__(self, items: list[Period]) -> None:
        self.periods = items
        self._starts = [int(p.start_utc.timestamp()) for p in items]
        self._end = int(items[-1].end_utc.timestamp()) if items else 0

    def find(self, instant: datetime) -> int | None:
        """Index of the period holding ``instant`` (aware), None outside them all."""
        return self.find_epoch(instant.timestamp())

    def find_epoch(self, seconds: float) -> int | None:
        if not self.periods or seconds < self._starts[0] or seconds >= self._end:
            return None
        return bisect.bisect_right(self._starts, seconds) - 1
