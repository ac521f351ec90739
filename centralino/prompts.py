"""Italian recordings of prompt texts: espeak-ng speaks, sox makes it 8 kHz mono for Asterisk.

A prompt's file name carries a hash of its text, so a changed text gets a new
file and a call still playing the old one is never cut short.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from centralino.errors import PrerequisiteError

VOICE = "it"
WORDS_PER_MINUTE = 150


def sound_name(service_slug: str, kind: str, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{service_slug}-{kind}-{digest}"


def require_tts() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise PrerequisiteError(
            f"{' and '.join(missing)} not installed: apt-get install espeak-ng sox "
            "(needed to record prompts from text)"
        )


def synthesize(text: str, target: Path) -> Path:
    """Write ``target`` (a .wav, 8 kHz, 16-bit, mono) speaking ``text`` in Italian."""
    require_tts()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "prompt.txt"
        raw = Path(tmp) / "raw.wav"
        # The text goes through a file, never the command line: it cannot become an option.
        text_file.write_text(text, encoding="utf-8")
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-f",
                        str(text_file), "-w", str(raw)], check=True, capture_output=True,
                       timeout=60)
        partial = target.with_suffix(".partial.wav")
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(partial)],
                       check=True, capture_output=True, timeout=60)
        partial.replace(target)
    return target


def convert_upload(source: Path, target: Path) -> Path:
    """Convert an uploaded WAV or MP3 to what Asterisk plays."""
    require_tts()
    partial = target.with_suffix(".partial.wav")
    result = subprocess.run(["sox", str(source), "-r", "8000", "-c", "1", "-b", "16",
                             str(partial)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise PrerequisiteError(f"cannot convert {source.name}: {result.stderr.strip()[:200]}")
    partial.replace(target)
    return target
