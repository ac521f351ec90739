"""Local calendar periods across the DST changes of Europe/Rome."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from centralino.sla.periods import PeriodIndex, offset_changes, periods

ROME = ZoneInfo("Europe/Rome")


def test_given_march_then_the_month_starts_and_ends_at_local_midnight() -> None:
    (march,) = periods(date(2026, 3, 1), date(2026, 3, 31), "month", ROME)
    assert march.label == "2026-03"
    assert march.start_utc == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)   # CET
    assert march.end_utc == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)     # CEST


def test_given_the_dst_days_then_they_last_23_and_25_hours() -> None:
    spring = periods(date(2026, 3, 29), date(2026, 3, 29), "day", ROME)[0]
    autumn = periods(date(2026, 10, 25), date(2026, 10, 25), "day", ROME)[0]
    assert (spring.end_utc - spring.start_utc).total_seconds() == 23 * 3600
    assert (autumn.end_utc - autumn.start_utc).total_seconds() == 25 * 3600


def test_given_the_autumn_night_then_it_has_fifty_half_hours_two_at_0200() -> None:
    bins = periods(date(2026, 10, 25), date(2026, 10, 25), "halfhour", ROME)
    assert len(bins) == 50
    labels = [p.label for p in bins]
    assert "2026-10-25T02:00+02:00" in labels and "2026-10-25T02:00+01:00" in labels
    assert len(periods(date(2026, 3, 29), date(2026, 3, 29), "halfhour", ROME)) == 46


def test_given_months_clipped_to_the_dates_asked() -> None:
    result = periods(date(2026, 11, 15), date(2026, 12, 10), "month", ROME)
    assert [(p.label, p.start.date(), p.end.date()) for p in result] == [
        ("2026-11", date(2026, 11, 15), date(2026, 12, 1)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 11))]


def test_given_an_instant_then_the_index_finds_its_local_day() -> None:
    index = PeriodIndex(periods(date(2026, 10, 24), date(2026, 10, 26), "day", ROME))
    # 23:30 UTC on the 25th is 00:30 on the 26th in Rome (CET).
    assert index.find(datetime(2026, 10, 25, 23, 30, tzinfo=UTC)) == 2
    assert index.find(datetime(2026, 10, 25, 22, 59, tzinfo=UTC)) == 1
    assert index.find(datetime(2026, 10, 23, 21, 59, tzinfo=UTC)) is None


def test_given_a_year_then_two_offset_changes_at_0100_utc() -> None:
    start = datetime(2026, 1, 1, tzinfo=ROME).astimezone(UTC)
    changes = offset_changes(start, datetime(2027, 1, 1, tzinfo=ROME).astimezone(UTC), ROME)
    assert changes == [(start, 3600),
                       (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
                       (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600)]


def test_given_dates_backwards_then_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        periods(date(2026, 2, 1), date(2026, 1, 1), "day", ROME)
