"""Admin pages: a prompt's text re-recorded, uploads, mode, notices, audit and restore."""

from __future__ import annotations

import io
import wave
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from models import AuditEntry, Notice, Prompt, Service
from tests.integration.web.conftest import Browser, WebDb, login_as


async def _prompt(web_db: WebDb, slug: str, kind: str) -> Prompt:
    async with web_db.sessions() as session:
        return await session.scalar(select(Prompt).join(Service).where(
            Service.slug == slug, Prompt.kind == kind))


def _wav_format(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getnframes()


def _tone_wav(rate: int = 44100, channels: int = 2, seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = int(rate * seconds)
        wav.writeframes(b"".join(
            (int(8000 * ((i // 20) % 2 * 2 - 1))).to_bytes(2, "little", signed=True) * channels
            for i in range(frames)))
    return buffer.getvalue()


async def test_given_admin_changes_welcome_then_new_recording_audit_entry_and_listenable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "admin-welcome", "admin")
    old = await _prompt(web_db, "motorizzazione", "welcome")
    response = await browser.post("/admin/services/motorizzazione/prompts/welcome",
                                  {"text": "Benvenuti alla Motorizzazione civile di Trento."})
    assert response.status == 303
    new = await _prompt(web_db, "motorizzazione", "welcome")
    assert new.text == "Benvenuti alla Motorizzazione civile di Trento."
    assert new.sound != old.sound and new.sound.startswith("motorizzazione-welcome-")
    rate, channels, frames = _wav_format(web_db.sounds_dir / f"{new.sound}.wav")
    assert (rate, channels) == (8000, 1) and frames > 8000  # over a second of speech
    async with web_db.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "motorizzazione/welcome").order_by(
            AuditEntry.id.desc()))).first()
    assert entry.username == "admin-welcome" and entry.action == "prompt.text"
    assert entry.before == {"text": old.text, "sound": old.sound}
    assert entry.after == {"text": new.text, "sound": new.sound}
    page = await browser.get("/admin/services/motorizzazione?ok=saved")
    assert f'src="/admin/sounds/{new.sound}"' in await page.text()
    audio = await browser.get(f"/admin/sounds/{new.sound}")
    assert audio.status == 200 and audio.content_type == "audio/wav"
    assert (await audio.read())[:4] == b"RIFF"
    assert (await browser.get("/admin/sounds/..%2F..%2Fetc%2Fpasswd")).status == 404


async def test_given_earlier_text_when_restored_from_audit_page_then_text_and_sound_back(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "admin-restore", "admin")
    path = "/admin/services/valutazione-ambientale/prompts/hours"
    await browser.post(path, {"text": "Orari: dal lunedì al venerdì, dalle 8 alle 17."})
    first = await _prompt(web_db, "valutazione-ambientale", "hours")
    await browser.post(path, {"text": "Orari estivi: dalle 8 alle 13."})
    async with web_db.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "valutazione-ambientale/hours").order_by(
            AuditEntry.id.desc()))).first()
    audit_page = await browser.get("/admin/audit")
    assert f'/admin/audit/{entry.id}/restore' in await audit_page.text()
    response = await browser.post(f"/admin/audit/{entry.id}/restore")
    assert response.status == 303
    restored = await _prompt(web_db, "valutazione-ambientale", "hours")
    assert (restored.text, restored.sound) == (first.text, first.sound)
    async with web_db.sessions() as session:
        last = (await session.scalars(select(AuditEntry).order_by(
            AuditEntry.id.desc()))).first()
    assert last.action == "restore" and last.after["text"] == first.text


async def test_given_mode_forced_closed_until_date_then_stored_and_restorable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "admin-mode", "admin")
    until = (date.today() + timedelta(days=3)).isoformat() + "T18:00"
    response = await browser.post("/admin/services/apiae/mode",
                                  {"mode": "closed", "until": until})
    assert response.status == 303
    async with web_db.sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == "apiae"))
    assert service.mode == "closed" and service.mode_until is not None
    past = await browser.post("/admin/services/apiae/mode",
                              {"mode": "open", "until": "2020-01-01"})
    assert past.status == 400 and "già passata" in await past.text()
    async with web_db.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "apiae").order_by(AuditEntry.id.desc()))).first()
    assert entry.before["mode"] == "auto" and entry.after["mode"] == "closed"
    await browser.post(f"/admin/audit/{entry.id}/restore")
    async with web_db.sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == "apiae"))
    assert service.mode == "auto" and service.mode_until is None


async def test_given_notice_added_and_changed_then_recorded_with_its_validity(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "admin-notice", "admin")
    response = await browser.post("/admin/services/uru/notices", {
        "text": "Sportello chiuso il 7 dicembre.", "valid_from": "2026-12-01",
        "valid_until": "2026-12-07"})
    assert response.status == 303
    async with web_db.sessions() as session:
        notice = (await session.scalars(select(Notice).join(Service).where(
            Service.slug == "uru").order_by(Notice.id.desc()))).first()
    assert notice.sound and (web_db.sounds_dir / f"{notice.sound}.wav").exists()
    assert (notice.valid_from, notice.valid_until) == (date(2026, 12, 1), date(2026, 12, 7))
    backwards = await browser.post(f"/admin/services/uru/notices/{notice.id}", {
        "text": "Altro.", "valid_from": "2026-12-09", "valid_until": "2026-12-01"})
    assert backwards.status == 400 and "finisce prima di cominciare" in await backwards.text()
    await browser.post(f"/admin/services/uru/notices/{notice.id}", {
        "text": "Sportello chiuso l'8 dicembre.", "valid_from": "2026-12-01",
        "valid_until": "2026-12-08"})
    async with web_db.sessions() as session:
        changed = await session.get(Notice, notice.id)
    assert changed.text == "Sportello chiuso l'8 dicembre." and changed.sound != notice.sound
    await browser.post(f"/admin/services/uru/notices/{notice.id}/delete")
    async with web_db.sessions() as session:
        assert await session.get(Notice, notice.id) is None


async def test_given_uploaded_wav_then_converted_to_8khz_mono_and_mp3_refused_here(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "admin-upload", "admin")
    path = "/admin/services/agenzia-lavoro/prompts/goodbye/upload"
    response = await browser.client.post(path, data={
        "csrf": browser.csrf, "audio": io.BytesIO(_tone_wav())}, allow_redirects=False)
    assert response.status == 303
    prompt = await _prompt(web_db, "agenzia-lavoro", "goodbye")
    assert "-upload-" in prompt.sound
    rate, channels, frames = _wav_format(web_db.sounds_dir / f"{prompt.sound}.wav")
    assert (rate, channels) == (8000, 1) and 3500 < frames < 4500
    fake_mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100
    refused = await browser.client.post(path, data={
        "csrf": browser.csrf, "audio": io.BytesIO(fake_mp3)}, allow_redirects=False)
    assert refused.status == 400 and "MP3" in await refused.text()
    garbage = await browser.client.post(path, data={
        "csrf": browser.csrf, "audio": io.BytesIO(b"RIFF\x00\x00\x00\x00WAVEjunk")},
        allow_redirects=False)
    assert garbage.status == 400 and "non leggibile" in await garbage.text()
    assert (await _prompt(web_db, "agenzia-lavoro", "goodbye")).sound == prompt.sound
