"""Untrusted values from the network are reduced to what their kind may hold."""

import pytest

from ari_app.sanitize import (
    clean_caller_name,
    clean_caller_number,
    clean_dtmf,
    dialable_number,
    did_variants,
    is_slug,
    normalize_did,
    printable,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0461497300", "0461497300"),
        ("+390461497300", "0461497300"),
        ("00390461497300", "0461497300"),
        ("390461497300", "0461497300"),
        ("800 264760", "800264760"),
        ("+39800840840", "800840840"),
        ("0461-492-006", "0461492006"),
        ("500&PJSIP/trunk/00391234", None),
        ("0461497300;x=1", None),
        ("", None),
        ("12", None),
        ("+39+0461497300", None),
        ("1" * 16, None),
        ("٠٤٦١٤٩٧٣٠٠", None),
        ("０４６１４９７３００", None),
        ("0461²97300", None),
    ],
)
def test_given_called_number_when_normalised_then_digits_only_or_refused(raw, expected):
    assert normalize_did(raw) == expected


def test_given_did_then_carrier_variants_all_map_back_to_it():
    for variant in did_variants("0461497300"):
        assert normalize_did(variant) == "0461497300"


def test_given_non_digit_did_then_variants_refuse_it():
    for did in ("0461&x", "٠٤٦١٤٩٧٣٠٠"):
        with pytest.raises(ValueError):
            did_variants(did)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"x\\" & System(touch /tmp/centralino-pwned)"', "x Systemtouch tmpcentralino-pwned"),
        ("Mario Rossi", "Mario Rossi"),
        ("Niccolò D'Alò-Bianchi", "Niccolò D'Alò-Bianchi"),
        ("${SHELL(id)}", "SHELLid"),
        ("a\r\nb\x00c", "a bc"),
        (None, ""),
        ("x" * 300, "x" * 80),
    ],
)
def test_given_caller_name_with_quotes_and_dialplan_then_only_safe_characters(raw, expected):
    assert clean_caller_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+39 0461 123456", "+390461123456"),
        ("500&PJSIP/trunk/0039123", "5000039123"),
        ("anonymous", ""),
        (None, ""),
        ("1" * 50, "1" * 32),
    ],
)
def test_given_caller_number_then_plus_and_digits_only(raw, expected):
    assert clean_caller_number(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("1", "1"), ("#", "#"), ("a", "A"), ("12", None),
                                               ("x", None), ("", None), (None, None)])
def test_given_dtmf_then_single_valid_digit(raw, expected):
    assert clean_dtmf(raw) == expected


def test_slugs_and_printable():
    assert is_slug("agenzia-lavoro")
    assert not is_slug("Agenzia")
    assert not is_slug("a;b")
    assert not is_slug("-x")
    assert printable("a\nb\x1b[31m") == "a\\x0ab\\x1b[31m"


@pytest.mark.parametrize(("raw", "expected"), [
    ("0461123456", "0461123456"), ("+390461123456", "+390461123456"),
    ("", None), (None, None), ("anonymous", None), ("12", None), ("1" * 21, None),
    ("0461 123456", None), ("0461&PJSIP/x", None), ("++39046", None), ("0461123456\n", None),
    ("٠٤٦١١٢٣", None),  # digits, but not ASCII ones
])
def test_given_recorded_number_then_dialled_back_only_exactly_as_stored(raw, expected):
    assert dialable_number(raw) == expected
