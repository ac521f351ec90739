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


class NotFound(Refused):
    """The object a change names does not exist: 404 rather than 400."""


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


MAX_LABEL_LENGTH = 100
#: A skill or queue name as routing compares it: what ``ari_app.sanitize.is_slug`` accepts.
SKILL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def clean_label(raw: str, what: str = "La descrizione") -> str:
    """A short one-line label (a menu choice): NFC, printable, bounded."""
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise Refused(f"{what} è vuota.")
    if len(text) > MAX_LABEL_LENGTH:
        raise Refused(f"{what} supera {MAX_LABEL_LENGTH} caratteri.")
    if not text.isprintable():
        raise Refused(f"{what} deve stare su una riga, senza caratteri di controllo.")
    return text


def clean_skill(raw: str) -> str:
    skill = raw.strip()
    if not SKILL.fullmatch(skill):
        raise Refused("Competenza non valida: lettere minuscole, cifre e trattini interni, "
                      "al massimo 64 caratteri.")
    return skill


def bounded_int(raw: str, what: str, low: int, high: int) -> int:
    """A whole number typed in a form, within [low, high]."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 \
            or not low <= int(text) <= high:
        raise Refused(f"{what}: un numero intero da {low} a {high}.")
    return int(text)
