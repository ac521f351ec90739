"""The changes an admin makes from the web: prompt texts and recordings, mode, notices, restore.

Each one validates its input, records the new sound before touching the database
(so a row never names a sound that does not exist), writes the row and its audit
entry in one transaction, and relies on the ``config_version`` triggers for the
control plane to see it on the next call.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralino import prompts
from centralino.errors import CentralinoError
from centralino.services import parse_until
from centralino.web import (
    agent_changes,
    audit,
    menu_changes,
    sector_changes,
    service_changes,
    submenus,
)
from centralino.web.validation import NotFound, Refused, clean_text, parse_day
from models import SERVICE_MODES, AuditEntry, Menu, Notice, Prompt, Service
from models.service import PROMPT_KINDS

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Objects whose earlier version the audit page can put back.
RESTORABLE = ("prompt", "service", "notice", "agent", "sector", *service_changes.RESTORABLE,
              *menu_changes.RESTORABLE)


def mp3_supported() -> bool:
    """Whether this host's sox can decode MP3 (Debian's needs libsox-fmt-mp3)."""
    sox = shutil.which("sox")
    if sox is None:
        return False
    result = subprocess.run([sox, "-h"], capture_output=True, text=True, timeout=10)
    formats = next((line for line in result.stdout.splitlines()
                    if line.startswith("AUDIO FILE FORMATS:")), "")
    return " mp3" in formats


async def _service(session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(select(Service).where(Service.slug == slug[:64]))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return service


async def _prompt(session: AsyncSession, service: Service, kind: str) -> Prompt:
    submenu = submenus.menu_of_prompt(kind)
    if kind not in PROMPT_KINDS and (submenu is None or await session.scalar(select(Menu.id).where(
            Menu.id == submenu, Menu.service_id == service.id)) is None):
        raise NotFound("Tipo di messaggio inesistente.")
    prompt = await session.scalar(select(Prompt).where(Prompt.service_id == service.id,
                                                       Prompt.kind == kind))
    if prompt is None:
        prompt = Prompt(service_id=service.id, kind=kind, text="")
        session.add(prompt)
    return prompt


async def _record(sounds_dir: Path, name: str, text: str) -> None:
    target = sounds_dir / f"{name}.wav"
    if target.exists():
        return
    try:
        await asyncio.to_thread(prompts.synthesize, text, target)
    except (CentralinoError, subprocess.SubprocessError, OSError):
        raise Refused("Registrazione non riuscita (espeak-ng/sox): riprovare o contattare "
                      "l'amministratore di sistema.") from None
    target.chmod(0o644)


def _prompt_state(prompt: Prompt) -> dict[str, Any]:
    return {"text": prompt.text, "sound": prompt.sound}


async def change_prompt_text(sessions: async_sessionmaker, sounds_dir: Path, actor: str,
                             slug: str, kind: str, raw_text: str,
                             action: str = "prompt.text") -> str:
    """Record the new text under a new sound name, store it; return the sound name."""
    text = clean_text(raw_text)
    async with sessions() as session:
        service = await _service(session, slug)
        prompt = await _prompt(session, service, kind)
        before = _prompt_state(prompt) if prompt.id else None
        name = prompts.sound_name(service.slug, kind, text)
        await _record(sounds_dir, name, text)
        prompt.text, prompt.sound, prompt.updated_at = text, name, datetime.now(UTC)
        audit.record(session, actor, action, "prompt", f"{service.slug}/{kind}", before,
                     _prompt_state(prompt))
        await session.commit()
    return name


def _looks_like_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


async def upload_prompt(sessions: async_sessionmaker, sounds_dir: Path, actor: str, slug: str,
                        kind: str, data: bytes) -> str:
    """Convert an uploaded WAV (or MP3 where sox reads it) to 8 kHz mono and use it."""
    if not data:
        raise Refused("Nessun file ricevuto.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refused("File troppo grande (massimo 10 MB).")
    is_wav = data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    if not is_wav:
        if not _looks_like_mp3(data):
            raise Refused("Il file non è un WAV né un MP3.")
        if not await asyncio.to_thread(mp3_supported):
            raise Refused("Il sox di questo server non legge gli MP3: caricare un WAV.")
    async with sessions() as session:
        service = await _service(session, slug)
        prompt = await _prompt(session, service, kind)
        digest = hashlib.sha1(data).hexdigest()[:10]
        name = f"{service.slug}-{kind}-upload-{digest}"
        target = sounds_dir / f"{name}.wav"
        if not target.exists():
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / ("upload.wav" if is_wav else "upload.mp3")
                await asyncio.to_thread(source.write_bytes, data)
                try:
                    await asyncio.to_thread(prompts.convert_upload, source, target)
                except (CentralinoError, subprocess.SubprocessError, OSError):
                    raise Refused("File audio non leggibile da sox.") from None
            target.chmod(0o644)
        before = _prompt_state(prompt) if prompt.id else None
        prompt.sound, prompt.updated_at = name, datetime.now(UTC)
        audit.record(session, actor, "prompt.upload", "prompt", f"{service.slug}/{kind}",
                     before, _prompt_state(prompt))
        await session.commit()
    return name


def _mode_state(service: Service) -> dict[str, Any]:
    return {"mode": service.mode,
            "until": service.mode_until.isoformat() if service.mode_until else None}


async def change_mode(sessions: async_sessionmaker, actor: str, slug: str, mode: str,
                      until: str | None, *, now: datetime | None = None) -> None:
    """Force a service open or closed (optionally until a date), or back to its calendar."""
    if mode not in SERVICE_MODES:
        raise Refused("Modalità non valida.")
    async with sessions() as session:
        service = await _service(session, slug)
        before = _mode_state(service)
        if mode == "auto":
            end = None
        else:
            try:
                end = parse_until((until or "").strip()[:20] or None, service.timezone,
                                  now or datetime.now(UTC))
            except CentralinoError:
                raise Refused("Data di fine non valida o già passata "
                              "(AAAA-MM-GG o AAAA-MM-GGTHH:MM).") from None
        service.mode, service.mode_until = mode, end
        audit.record(session, actor, "service.mode", "service", service.slug, before,
                     _mode_state(service))
        await session.commit()


def _notice_state(notice: Notice) -> dict[str, Any]:
    return {"text": notice.text, "sound": notice.sound,
            "valid_from": notice.valid_from.isoformat(),
            "valid_until": notice.valid_until.isoformat()}


def _validity(valid_from: str, valid_until: str) -> tuple[date, date]:
    start = parse_day(valid_from, "Valido dal")
    end = parse_day(valid_until, "Valido fino al")
    if start > end:
        raise Refused("La validità finisce prima di cominciare.")
    return start, end


async def save_notice(sessions: async_sessionmaker, sounds_dir: Path, actor: str, slug: str,
                      notice_id: int | None, raw_text: str, valid_from: str,
                      valid_until: str) -> int:
    """Add a notice (``notice_id`` None) or change one; record its text; return its id."""
    text = clean_text(raw_text, "L'avviso")
    start, end = _validity(valid_from, valid_until)
    async with sessions() as session:
        service = await _service(session, slug)
        if notice_id is None:
            notice = Notice(service_id=service.id, text=text, valid_from=start, valid_until=end)
            session.add(notice)
            await session.flush()
            before = None
        else:
            notice = await session.scalar(select(Notice).where(
                Notice.id == notice_id, Notice.service_id == service.id))
            if notice is None:
                raise NotFound("Avviso inesistente.")
            before = _notice_state(notice)
        name = prompts.sound_name(service.slug, f"notice{notice.id}", text)
        await _record(sounds_dir, name, text)
        notice.text, notice.sound = text, name
        notice.valid_from, notice.valid_until = start, end
        audit.record(session, actor, "notice.add" if before is None else "notice.change",
                     "notice", f"{service.slug}/{notice.id}", before, _notice_state(notice))
        await session.commit()
        return notice.id


async def delete_notice(sessions: async_sessionmaker, actor: str, slug: str,
                        notice_id: int) -> None:
    async with sessions() as session:
        service = await _service(session, slug)
        notice = await session.scalar(select(Notice).where(
            Notice.id == notice_id, Notice.service_id == service.id))
        if notice is None:
            raise NotFound("Avviso inesistente.")
        audit.record(session, actor, "notice.delete", "notice", f"{service.slug}/{notice.id}",
                     _notice_state(notice), None)
        await session.delete(notice)
        await session.commit()


async def restore(sessions: async_sessionmaker, sounds_dir: Path, actor: str,
                  entry_id: int) -> str:
    """Put back what an audit entry says the object was before; return the object's key.

    An agent restored this way needs Asterisk's configuration applied again
    (:func:`centralino.web.live.apply_live`): the callers do it."""
    async with sessions() as session:
        entry = await session.get(AuditEntry, entry_id)
    if entry is None or entry.object_type not in RESTORABLE or not entry.before:
        raise Refused("Questa voce non ha una versione precedente da ripristinare.")
    before = entry.before
    if entry.object_type in menu_changes.RESTORABLE:
        await menu_changes.restore(sessions, actor, entry.object_type, entry.object_key, before)
    elif entry.object_type == "prompt":
        slug, kind = entry.object_key.split("/", 1)
        await _restore_prompt(sessions, sounds_dir, actor, slug, kind, before)
    elif entry.object_type == "agent":
        await agent_changes.restore_agent(sessions, actor, entry.object_key, before)
    elif entry.object_type == "sector":
        await sector_changes.restore_sector(sessions, actor, entry.object_key, before)
    elif entry.object_type in service_changes.RESTORABLE:
        await service_changes.restore(sessions, actor, entry.object_type, entry.object_key, before)
    elif entry.object_type == "service":
        until = before.get("until")
        await _restore_mode(sessions, actor, entry.object_key, str(before["mode"]), until)
    else:
        slug, notice_id = entry.object_key.split("/", 1)
        async with sessions() as session:
            exists = await session.get(Notice, int(notice_id))
        await save_notice(sessions, sounds_dir, actor, slug,
                          int(notice_id) if exists is not None else None,
                          str(before["text"]), str(before["valid_from"]),
                          str(before["valid_until"]))
    return entry.object_key


async def _restore_prompt(sessions: async_sessionmaker, sounds_dir: Path, actor: str,
                          slug: str, kind: str, before: dict[str, Any]) -> None:
    """Back to the earlier text and, if its file is still there, the earlier sound."""
    sound = before.get("sound")
    if sound and (sounds_dir / f"{sound}.wav").exists():
        async with sessions() as session:
            service = await _service(session, slug)
            prompt = await _prompt(session, service, kind)
            state = _prompt_state(prompt)
            prompt.text, prompt.sound = str(before.get("text") or ""), str(sound)
            prompt.updated_at = datetime.now(UTC)
            audit.record(session, actor, "restore", "prompt", f"{slug}/{kind}", state,
                         _prompt_state(prompt))
            await session.commit()
        return
    await change_prompt_text(sessions, sounds_dir, actor, slug, kind,
                             str(before.get("text") or ""), action="restore")


async def _restore_mode(sessions: async_sessionmaker, actor: str, slug: str, mode: str,
                        until: str | None) -> None:
    async with sessions() as session:
        service = await _service(session, slug)
        state = _mode_state(service)
        end = datetime.fromisoformat(until) if until else None
        if end is not None and end <= datetime.now(UTC):
            mode, end = "auto", None  # the forced period is over: back to the calendar
        service.mode, service.mode_until = mode, end
        audit.record(session, actor, "restore", "service", slug, state, _mode_state(service))
        await session.commit()
