"""Bring the pages' catalogues up to date with the Italian texts.

``.venv/bin/python scripts/i18n_catalogue.py`` (exit status 1 while any is untranslated).

Adds every ``_()`` text of the templates and Python, and the label tables of
``centralino.web.i18n.LABEL_TABLES``, that a catalogue lacks, with an empty
translation to fill in; keeps the translations already there; drops nothing
(an entry no longer used is marked obsolete by a ``#~`` only if ``--prune``).
Then lists what still has no translation, as the coverage test does.
"""

from __future__ import annotations

import argparse
import sys

from babel.messages.pofile import read_po, write_po

from centralino.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue_path, interface_texts


def update(language: str, prune: bool) -> list[str]:
    path = catalogue_path(language)
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    texts = interface_texts()
    for msgid in texts:
        if msgid not in catalog:
            catalog.add(msgid, "", flags=("python-format",) if "%(" in msgid else ())
    if prune:
        for message in list(catalog):
            if message.id and message.id not in texts:
                catalog.obsolete[message.id] = message
                del catalog[message.id]
    with path.open("wb") as po:
        write_po(po, catalog, omit_header=False, no_location=True, width=100)
    return [m.id for m in catalog if m.id and not m.string]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune", action="store_true", help="mark unused entries obsolete")
    args = parser.parse_args()
    untranslated = 0
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        empty = update(language, args.prune)
        untranslated += len(empty)
        for msgid in empty:
            print(f"{language}: no translation yet: {msgid!r}")
    return 1 if untranslated else 0


if __name__ == "__main__":
    sys.exit(main())
