"""What an admin may type into the web pages, checked before anything is stored or recorded.

Prompt and notice texts only ever reach espeak-ng through a file (see
:mod:`centralino.prompts`) and never Asterisk's configuration; they are still
bounded and stripped of control characters, so a pasted text cannot hide
anything in the database, the audit log or a log line.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

MAX_TEXT_LENGTH = 1000
#: Sound names the pages serve and store: what ``prompts.sound_name`` produces.
SOUND_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")


class Refused(ValueError):
    """A change the pages refuse, with the reason to show (in the interface language)."""


def clean_text(raw: str, what: str = "Il testo") -> str:
    """A prompt or notice text: NFC, one line ending style, no control characters, bounded."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise Refused(f"{what} è vuoto.")
    if len(text) > MAX_TEXT_LENGTH:
        raise Refused(f"{what} supera {MAX_TEXT_LENGTH} caratteri.")
    if any(not (ch.isprintable() or ch in "\n\t") for ch in text):
        raise Refused(f"{what} contiene caratteri di controllo.")
    return text


def parse_day(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise Refused(f"{what}: data non valida (AAAA-MM-GG).") from None


def is_sound_name(value: str) -> bool:
    return bool(SOUND_NAME.fullmatch(value))
