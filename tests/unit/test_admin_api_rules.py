"""Sector names and JSON API bodies: what is accepted, what is refused, and a seeded fuzz."""

from __future__ import annotations

import contextlib
import random

import pytest

from centralino.web.api_schema import Field, body_schema, parse_body
from centralino.web.sector_changes import check_name
from centralino.web.validation import Refused

HOSTILE = [*"az09 -'.,;:\"`$\\{}[]()<>&|/\t\n\r\x00\x1b\u200bàé📞", "${SHELL(id)}",
           "<script>", "\n[globals]\n"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("Patenti", "Patenti"),
    ("  Revisioni   e  collaudi ", "Revisioni e collaudi"),
    ("Centri per l'impiego", "Centri per l'impiego"),
    ("x" * 64, "x" * 64),
])
def test_given_sector_name_then_kept_on_one_line_with_single_spaces(raw, expected):
    assert check_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "x" * 65, "a\nb", "a\rb", "nul\x00", "esc\x1b[1m"])
def test_given_bad_sector_name_then_refused(raw):
    with pytest.raises(Refused):
        check_name(raw)


def test_given_random_sector_names_then_accepted_ones_are_one_printable_line():
    rng = random.Random(20261202)
    for _ in range(3000):
        raw = "".join(rng.choice(HOSTILE) for _ in range(rng.randint(0, 70)))
        with contextlib.suppress(Refused):
            name = check_name(raw)
            assert name.isprintable() and 0 < len(name) <= 64 and name == name.strip()
            assert "  " not in name


BODY = {"name": Field("string", True), "count": Field("integer"), "on": Field("boolean"),
        "tags": Field("strings"), "mailbox": Field("string", nullable=True)}


@pytest.mark.parametrize(("raw", "reason"), [
    ([], "oggetto JSON"),
    ("name", "oggetto JSON"),
    ({}, "Manca il campo 'name'"),
    ({"name": "a", "extra": 1}, "Campo sconosciuto"),
    ({"name": 1}, "'name' deve essere una stringa"),
    ({"name": None}, "'name' deve essere una stringa"),
    ({"name": "a", "count": True}, "numero intero"),  # JSON true is not 1 here
    ({"name": "a", "count": "3"}, "numero intero"),
    ({"name": "a", "on": 1}, "true o false"),
    ({"name": "a", "tags": "x"}, "lista di stringhe"),
    ({"name": "a", "tags": ["x", 2]}, "lista di stringhe"),
])
def test_given_body_not_as_documented_then_refused_with_reason(raw, reason):
    with pytest.raises(Refused, match=reason):
        parse_body(raw, BODY)


def test_given_body_as_documented_then_kept_and_schema_says_the_same():
    body = {"name": "a", "count": 3, "on": False, "tags": ["x"], "mailbox": None}
    assert parse_body(body, BODY) == body
    schema = body_schema(BODY)
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert schema["properties"]["mailbox"]["type"] == ["string", "null"]
