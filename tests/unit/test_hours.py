"""Office hours decided in Europe/Rome, with Italy's national holidays and admin closures."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ari_app.hours import ServiceCalendar, is_open, is_public_holiday, weekday_windows

ROME = ZoneInfo("Europe/Rome")
TRENTINO = ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(8), time(17)))


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (rome(2026, 12, 1, 10, 0), True),       # Tuesday morning
        (rome(2026, 12, 1, 7, 59), False),      # before opening
        (rome(2026, 12, 1, 8, 0), True),        # opening minute
        (rome(2026, 12, 1, 17, 0), False),      # closing is exclusive
        (rome(2026, 12, 5, 10, 0), False),      # Saturday
        (rome(2026, 12, 8, 10, 0), False),      # Immacolata
        (rome(2026, 12, 25, 10, 0), False),     # Christmas
        (rome(2027, 3, 29, 10, 0), False),      # Easter Monday 2027
        (rome(2026, 4, 6, 10, 0), False),       # Easter Monday 2026
        (rome(2026, 6, 26, 10, 0), True),       # San Vigilio: not a holiday (tender 3.1.2)
        (rome(2026, 6, 2, 10, 0), False),       # Festa della Repubblica
    ],
)
def test_trentino_window(at, expected):
    assert is_open(TRENTINO, at) is expected


def test_given_summer_time_then_hours_follow_rome_not_utc():
    # 06:30 UTC is 08:30 in Rome in July (CEST) but 07:30 in January (CET).
    assert is_open(TRENTINO, datetime(2026, 7, 7, 6, 30, tzinfo=UTC))
    assert not is_open(TRENTINO, datetime(2026, 1, 13, 6, 30, tzinfo=UTC))


def test_given_admin_closure_then_closed_that_day_only():
    cal = ServiceCalendar("Europe/Rome", TRENTINO.windows, closures=frozenset({date(2026, 12, 2)}))
    assert not is_open(cal, rome(2026, 12, 2, 10))
    assert is_open(cal, rome(2026, 12, 3, 10))


def test_given_crisis_mode_open_until_then_open_at_night_until_it_expires():
    cal = ServiceCalendar("Europe/Rome", TRENTINO.windows, mode="open",
                          mode_until=rome(2026, 12, 6, 0, 0))
    assert is_open(cal, rome(2026, 12, 5, 3, 0))          # Saturday night, crisis
    assert not is_open(cal, rome(2026, 12, 6, 3, 0))      # crisis over: Sunday closed


def test_given_forced_closed_then_closed_in_hours():
    cal = ServiceCalendar("Europe/Rome", TRENTINO.windows, mode="closed")
    assert not is_open(cal, rome(2026, 12, 1, 10))


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        is_open(TRENTINO, datetime(2026, 12, 1, 10))


def test_holiday_list_is_national():
    assert is_public_holiday(date(2026, 4, 25))
    assert not is_public_holiday(date(2026, 6, 26))
