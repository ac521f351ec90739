"""The English catalogue keeps up with the Italian texts, and the language is chosen well.

Every ``_()`` text found in the templates and the Python code, and every value of
the label tables the templates translate, must have an English entry: a text
added without one fails here with the list of what to add.
"""

from __future__ import annotations

import re

import pytest

from centralino.web import i18n

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_interface_text_has_an_english_entry():
    missing = i18n.missing("en")
    listing = "\n".join(f"  {where}\n    msgid {msgid!r}" for msgid, where in missing.items())
    assert not missing, (
        f"{len(missing)} Italian text(s) with no English entry in "
        f"{i18n.catalogue_path('en').relative_to(i18n.WEB_DIR.parent.parent)}:\n{listing}\n"
        "Run `python scripts/i18n_catalogue.py` to add them, then fill in their msgstr.")


def test_the_extraction_sees_templates_python_labels_and_the_language_chooser():
    texts = i18n.interface_texts()
    assert "Cruscotto del supervisore" in texts        # a template's _()
    assert "Il telefono squilla" in texts              # a label table (desk states)
    assert "Lingua" in texts                           # the chooser in base.html
    assert len(texts) > 150


def test_a_new_text_without_translation_is_reported(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(i18n, "interface_texts",
                        lambda: {"Un testo nuovo": "templates/x.html:3", "Oggi": "y"})
    assert i18n.missing("en") == {"Un testo nuovo": "templates/x.html:3"}


def test_translations_keep_the_placeholders():
    texts = i18n.interface_texts()
    for msgid in texts:
        english = i18n.translate("en", msgid)
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_italian_is_the_source_and_translates_nothing():
    assert i18n.translate("it", "Cruscotto del supervisore") == "Cruscotto del supervisore"
    assert i18n.translate("en", "Cruscotto del supervisore") == "Supervisor's wallboard"
    assert i18n.translate("en", "un testo sconosciuto") == "un testo sconosciuto"


@pytest.mark.parametrize(("preferred", "header", "expected"), [
    (None, None, "it"),
    (None, "", "it"),
    (None, "en", "en"),
    (None, "en-GB,en;q=0.8,it;q=0.5", "en"),
    (None, "it-IT,it;q=0.9,en;q=0.8", "it"),
    (None, "fr-FR,fr;q=0.9,en;q=0.3", "en"),   # the best language we have
    (None, "de,fr", "it"),                     # none we have: Italian
    (None, "en;q=0", "it"),                    # q=0 means "not this one"
    (None, "en;q=abc,;;,=", "it"),             # malformed: ignored, no error
    (None, "en, it", "en"),                    # equal weights: the first listed
    ("it", "en", "it"),                        # the user's choice wins
    ("en", "it", "en"),
    ("xx", "en", "en"),                        # a stored value we do not know: ignored
], ids=["nothing", "empty", "en", "en-gb", "it-first", "fallback-en", "unknown", "q0",
        "malformed", "order", "choice-it", "choice-en", "bad-choice"])
def test_choose_language(preferred: str | None, header: str | None, expected: str):
    assert i18n.choose_language(preferred, header) == expected
