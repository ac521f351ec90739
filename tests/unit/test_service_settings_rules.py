"""What a service's settings page accepts: numbers as the dialplan holds them, opening
intervals, time zones (pure checks, no database)."""

from __future__ import annotations

from datetime import time

import pytest

from centralino.web.service_changes import check_day_windows, check_did, check_timezone
from centralino.web.validation import Refused


@pytest.mark.parametrize(("raw", "did"), [
    ("0461 497300", "0461497300"), ("0461.49.73.00", "0461497300"),
    ("0461-497300", "0461497300"), ("+39 0461 497300", "0461497300"),
    ("0039 0461 497300", "0461497300"), ("800 840 840", "800840840"), ("112", "112"),
])
def test_number_normalised_to_national_ascii_digits(raw: str, did: str):
    assert check_did(raw) == did


@pytest.mark.parametrize("raw", [
    "", "12", "1" * 16, "٠٤٦١٤٩٧٣٠٠", "０４６１４９７３００", "0461;497300", "0461\n497300",
    "${EXTEN}", "0461)497300", "+39+0461497300", "0461/497300", "0461 497300 " * 4,
])
def test_number_with_anything_but_digits_and_separators_refused(raw: str):
    with pytest.raises(Refused, match="Numero non valido"):
        check_did(raw)


@pytest.mark.parametrize(("raw", "intervals"), [
    ("", []), ("  ", []), ("08:00-17:00", [(time(8), time(17))]),
    ("14:00-17:00, 08:30-12:00", [(time(8, 30), time(12)), (time(14), time(17))]),
    ("08:00 - 12:00,12:00-13:00", [(time(8), time(12)), (time(12), time(13))]),
    ("00:00-23:59", [(time(0), time(23, 59))]),
])
def test_opening_intervals_of_a_day(raw: str, intervals: list):
    assert check_day_windows(raw, 0) == intervals


@pytest.mark.parametrize(("raw", "reason"), [
    ("17:00-08:00", "precedere"), ("08:00-08:00", "precedere"),
    ("08:00-12:00, 11:59-13:00", "sovrappongono"), ("08:00-09:00,10:00-11:00,12:00-13:00",
                                                    "al massimo"),
    ("8:00-17:00", "non valida"), ("24:00-24:30", "non valida"), ("08:60-09:00", "non valida"),
    ("٠٨:٠٠-١٧:٠٠", "non valida"), ("08:00-17:00;", "non valida"), ("08:00-17:00,", "non valida"),
])
def test_bad_intervals_refused_naming_the_day(raw: str, reason: str):
    with pytest.raises(Refused, match=f"Lunedì: .*{reason}"):
        check_day_windows(raw, 0)


def test_time_zone_is_an_iana_name():
    assert check_timezone(" Europe/Rome ") == "Europe/Rome"
    for zone in ("Europe/Trento", "europe/rome", "../etc/passwd", "Europe/Rome\n", ""):
        with pytest.raises(Refused):
            check_timezone(zone)
