"""When did a service last open, and which closure is the morning's worklist about?

Pure calendar (Europe/Rome, DST), no I/O: the agent who starts at 08:00 on Monday
must get Friday evening's, the weekend's and the night's messages, whatever
holidays, admin closures, clock changes or crisis modes came in between.
"""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ari_app.hours import ServiceCalendar, closed_stretch, last_opening, weekday_windows

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS = ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(8), time(17)))
ADL_CLOSED_2_DEC = replace(WEEKDAYS, closures=frozenset({date(2026, 12, 2)}))
# Protezione Civile: Mon-Fri 09-18, forced open 24/7 from Saturday 28 November 10:00.
CRISIS = ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(9), time(18)),
                         mode="open", mode_since=datetime(2026, 11, 28, 10, tzinfo=ROME))
CRISIS_UNTIL_SUNDAY = replace(CRISIS, mode_until=datetime(2026, 11, 29, 20, tzinfo=ROME))
CRISIS_UNKNOWN_START = replace(CRISIS, mode_since=None)
FORCED_CLOSED = replace(WEEKDAYS, mode="closed",
                        mode_since=datetime(2026, 11, 26, 12, tzinfo=ROME))


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.mark.parametrize(("calendar", "at", "opening", "closing", "ongoing"), [
    # Monday morning: the weekend, from Friday's closing.
    (WEEKDAYS, rome(2026, 11, 30, 9, 15), rome(2026, 11, 30, 8), rome(2026, 11, 27, 17), False),
    # Tuesday: last night only.
    (WEEKDAYS, rome(2026, 12, 1, 8, 0), rome(2026, 12, 1, 8), rome(2026, 11, 30, 17), False),
    # Monday 07:30, still closed: the closure in progress, up to now.
    (WEEKDAYS, rome(2026, 11, 30, 7, 30), rome(2026, 11, 27, 8), rome(2026, 11, 27, 17), True),
    # Friday evening: today's opening; the closure asked about is still going on.
    (WEEKDAYS, rome(2026, 11, 27, 17, 0), rome(2026, 11, 27, 8), rome(2026, 11, 27, 17), True),
    # Easter Monday 2026 (6 April) is a holiday: Tuesday gets Friday to Tuesday.
    (WEEKDAYS, rome(2026, 4, 7, 10), rome(2026, 4, 7, 8), rome(2026, 4, 3, 17), False),
    # An admin closure on Wednesday 2 December: Thursday gets Tuesday evening onwards.
    (ADL_CLOSED_2_DEC, rome(2026, 12, 3, 8, 30), rome(2026, 12, 3, 8), rome(2026, 12, 1, 17),
     False),
    # Clocks forward on Sunday 29 March 2026: Friday 17:00 CET is 16:00 UTC, Monday 08:00
    # CEST is 06:00 UTC.
    (WEEKDAYS, rome(2026, 3, 30, 9), datetime(2026, 3, 30, 6, tzinfo=UTC),
     datetime(2026, 3, 27, 16, tzinfo=UTC), False),
    # Clocks back on Sunday 25 October 2026: Friday 17:00 CEST is 15:00 UTC, Monday 08:00
    # CET is 07:00 UTC.
    (WEEKDAYS, rome(2026, 10, 26, 9), datetime(2026, 10, 26, 7, tzinfo=UTC),
     datetime(2026, 10, 23, 15, tzinfo=UTC), False),
    # Crisis mode open 24/7 since Saturday 10:00: on Monday the last opening is that
    # Saturday morning, and the closure before it Friday evening's.
    (CRISIS, rome(2026, 11, 30, 9, 30), rome(2026, 11, 28, 10), rome(2026, 11, 27, 18), False),
    # The crisis ended on Sunday at 20:00: Monday's worklist is Sunday night's.
    (CRISIS_UNTIL_SUNDAY, rome(2026, 11, 30, 9, 30), rome(2026, 11, 30, 9),
     rome(2026, 11, 29, 20), False),
    # Forced closed since Thursday noon: still closed on Monday, since Thursday noon.
    (FORCED_CLOSED, rome(2026, 11, 30, 10), rome(2026, 11, 26, 8), rome(2026, 11, 26, 12),
     True),
], ids=["monday-weekend", "tuesday-night", "monday-before-opening", "friday-closing-time",
        "easter-monday", "admin-closure", "dst-spring", "dst-autumn", "crisis-24-7",
        "crisis-ended-sunday", "forced-closed"])
def test_last_opening_and_the_closure_it_ended(calendar: ServiceCalendar, at: datetime,
                                               opening: datetime, closing: datetime,
                                               ongoing: bool):
    assert last_opening(calendar, at) == opening
    stretch = closed_stretch(calendar, at)
    assert stretch is not None
    assert (stretch.start, stretch.ongoing) == (closing, ongoing)
    assert stretch.end == (at if ongoing else opening)


def test_given_crisis_with_no_known_start_then_open_throughout_and_no_closure():
    at = rome(2026, 11, 30, 9, 30)
    assert last_opening(CRISIS_UNKNOWN_START, at) is None
    assert closed_stretch(CRISIS_UNKNOWN_START, at) is None


def test_given_closed_longer_than_the_look_back_then_stretch_starts_at_the_limit():
    at = rome(2026, 12, 1, 10)
    stretch = closed_stretch(FORCED_CLOSED, at, look_back=timedelta(days=2))
    assert stretch is not None and stretch.start == at - timedelta(days=2) and stretch.ongoing
    assert last_opening(FORCED_CLOSED, at, look_back=timedelta(days=2)) is None


def test_stretch_holds_what_arrived_between_closing_and_opening():
    stretch = closed_stretch(WEEKDAYS, rome(2026, 11, 30, 9, 15))
    assert stretch is not None
    assert stretch.holds(rome(2026, 11, 27, 17, 0))       # the closing minute
    assert stretch.holds(rome(2026, 11, 29, 23, 59))      # Sunday night
    assert not stretch.holds(rome(2026, 11, 27, 16, 59))  # Friday, still open
    assert not stretch.holds(rome(2026, 11, 30, 8, 0))    # Monday, open again


def test_naive_time_refused():
    with pytest.raises(ValueError, match="aware"):
        last_opening(WEEKDAYS, datetime(2026, 11, 30, 9))
