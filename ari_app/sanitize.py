"""Whitelists for every value that comes from outside the PBX.

Called numbers, caller IDs, SIP headers and DTMF are untrusted: a caller ID like
``"x" & System(...)`` or a DID like ``500&PJSIP/trunk/...`` must reach neither
dialplan, nor SQL, nor a file name, nor a log line as it came. Each function
keeps only the characters its kind of value may hold and bounds the length.
"""

from __future__ import annotations

import re
import unicodedata

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_DTMF = frozenset("0123456789*#ABCD")
ITALY_PREFIXES = ("0039", "+39", "39")
MAX_DID_DIGITS = 15
MAX_NUMBER_LENGTH = 32
MAX_NAME_LENGTH = 80


def is_slug(value: str) -> bool:
    """A service or queue identifier: lower-case letters, digits and inner dashes."""
    return bool(_SLUG.fullmatch(value))


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if "0" <= ch <= "9")


def normalize_did(raw: str) -> str | None:
    """The called number in national form, digits only; None if it cannot be a number.

    Carriers send the same number as ``0461497300``, ``+390461497300`` or
    ``00390461497300``; all three mean one DID.
    """
    value = raw.strip().replace(" ", "").replace("-", "").replace(".", "")
    # ASCII only: str.isdigit() also accepts Arabic-Indic, fullwidth, superscript digits.
    if not value or any(not ("0" <= ch <= "9" or ch == "+") for ch in value):
        return None
    if "+" in value[1:]:
        return None
    for prefix in ITALY_PREFIXES:
        national = value.removeprefix(prefix)
        # "39" alone is ambiguous with a national number; accept it only when
        # what follows looks like an Italian number (0 geographic, 3 mobile, 8 toll-free).
        if national != value and national[:1] in {"0", "3", "8"} and len(national) >= 6:
            value = national
            break
    value = value.lstrip("+")
    if not (value.isascii() and value.isdigit()) or not 3 <= len(value) <= MAX_DID_DIGITS:
        return None
    return value


def did_variants(did: str) -> list[str]:
    """The forms in which a carrier may present one national DID."""
    if not (did.isascii() and did.isdigit()):
        raise ValueError(f"DID must be ASCII digits only, got {did!r}")
    return [did, f"39{did}", f"+39{did}", f"0039{did}"]


def clean_caller_number(raw: str | None) -> str:
    """Caller number: an optional leading '+' and digits, nothing else."""
    if not raw:
        return ""
    value = raw.strip()
    plus = "+" if value.startswith("+") else ""
    digits = digits_only(value)
    return (plus + digits)[:MAX_NUMBER_LENGTH] if digits else ""


def clean_caller_name(raw: str | None) -> str:
    """Caller name: letters (accented too), digits, spaces and . ' - only."""
    if not raw:
        return ""
    kept = []
    for ch in unicodedata.normalize("NFC", raw):
        if ch.isalnum() or ch in " .'-":
            kept.append(ch)
        elif ch.isspace():
            kept.append(" ")
    return re.sub(r"\s+", " ", "".join(kept)).strip()[:MAX_NAME_LENGTH]


def clean_dtmf(raw: str | None) -> str | None:
    """One DTMF digit, or None for anything that is not one."""
    if raw is None:
        return None
    value = raw.strip().upper()
    return value if len(value) == 1 and value in _DTMF else None


def printable(raw: str | None, limit: int = 200) -> str:
    """A value fit for a log line: control characters escaped, length bounded."""
    if raw is None:
        return ""
    text = raw[:limit]
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


#: A number we may dial back: 3 to 20 digits after an optional '+' (E.164 has 15).
_DIALLABLE = re.compile(r"\+?[0-9]{3,20}")


def dialable_number(raw: str | None) -> str | None:
    """The recorded caller number, if it can be dialled back exactly as stored; else None.

    Nothing is repaired: a stored value that needs cleaning did not come from our own
    records, and a call-back dials only what a citizen's call left there.
    """
    if not raw or not _DIALLABLE.fullmatch(raw):
        return None
    return raw
