"""The pages' languages: Italian as written, English from a gettext catalogue.

Texts are written in Italian inside ``_()`` (templates) and in a few label tables
(Python dicts whose values the templates pass to ``_()``, listed in
:data:`LABEL_TABLES`). The English catalogue is a plain ``.po`` file
(``locale/en/LC_MESSAGES/messages.po``) that Babel reads at start-up: there is
no compiled ``.mo`` to keep in step. A page is in the language the web user
chose (stored on the user), else the browser's ``Accept-Language``, else Italian.
"""

from __future__ import annotations

import gettext
import importlib
import io
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"
#: How each language names itself in the chooser.
LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
WEB_DIR = Path(__file__).parent
#: Label tables (``module:NAME``) whose values reach ``_()`` in a template or a pushed
#: JSON: the extraction cannot see them, so they are listed here and checked too.
LABEL_TABLES = (
    "centralino.web.admin:PROMPT_LABELS",
    "centralino.web.admin:MODE_LABELS",
    "centralino.web.menu_changes:OFFERED_ACTIONS",
    "centralino.web.menu_changes:STRATEGY_LABELS",
    "centralino.web.agent_changes:PROFILE_LABELS",
    "centralino.web.agent_changes:STATE_LABELS",
    "centralino.web.desk:STATE_LABELS",
    "centralino.web.desk:VOICEMAIL_REASONS",
    "centralino.web.desk:RESOLUTION_LABELS",
    "centralino.web.wallboard_snapshot:STATE_LABELS",
    "centralino.web.admin_services:MESSAGES",
    "centralino.web.service_changes:WEEKDAY_LABELS",
)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language``; Italian (the source language) translates nothing."""
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def choose_language(preferred: str | None, accept_language: str | None) -> str:
    """The user's stored choice, else the browser's best supported language, else Italian.

    ``Accept-Language: en-GB,en;q=0.8,it;q=0.5`` gives "en"; a malformed header is
    ignored (Italian), never an error.
    """
    if preferred in LANGUAGES:
        return preferred  # type: ignore[return-value]
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((accept_language or "")[:500].split(",")):
        tag, _sep, params = item.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # Among equal weights the first listed wins (the order the browser sends).
        if language in LANGUAGES and 0 < q <= 1 and q - position * 1e-6 > best_q:
            best, best_q = language, q - position * 1e-6
    return best


def translate(language: str, text: str) -> str:
    return translations(language).gettext(text)


# -- what must be in every catalogue -------------------------------------------------

def _extracted() -> Iterator[tuple[str, str]]:
    """(msgid, where) of every literal ``_()``/``gettext``/``N_`` in templates and Python."""
    for root, method_map, options in (
            (WEB_DIR / "templates", [("**.html", "jinja2.ext:babel_extract")],
             {"**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                          "lstrip_blocks": "true"}}),
            (WEB_DIR.parent, [("**.py", "python")], {}),
            (WEB_DIR.parent.parent / "ari_app", [("**.py", "python")], {})):
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(root), method_map, options):
            messages = message if isinstance(message, tuple) else (message,)
            for msgid in messages:
                if msgid:
                    yield msgid, f"{filename}:{lineno}"


def _labels() -> Iterator[tuple[str, str]]:
    for table in LABEL_TABLES:
        module, name = table.split(":")
        for value in getattr(importlib.import_module(module), name).values():
            yield value, table


def interface_texts() -> dict[str, str]:
    """Every Italian text the pages may show through ``_()``, with one place it comes from."""
    texts: dict[str, str] = {}
    for msgid, where in (*_extracted(), *_labels()):
        texts.setdefault(msgid, where)
    return texts


def missing(language: str) -> dict[str, str]:
    """Interface texts with no (non-empty) entry in ``language``'s catalogue."""
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    present = {m.id for m in catalog if m.id and m.string}
    return {msgid: where for msgid, where in interface_texts().items() if msgid not in present}
