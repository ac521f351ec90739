"""What the JSON API adds to the pages' work: notices, recordings, menus, queues, sectors and
agents, audited as ``api``; bad input and unknown objects change nothing. Both databases."""

from __future__ import annotations

import hashlib
import io
import wave
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from centralino.web.changes import MAX_UPLOAD_BYTES
from models import Agent, AuditEntry, Notice, Prompt, Service
from tests.integration.web.conftest import AUTH, WebDb


async def _entries(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def _latest(client: TestClient, key: str) -> dict:
    entries = (await (await client.get(f"/api/v1/audit?object={key}", headers=AUTH)).json())
    return entries["entries"][0]


def _wav(seconds: float = 0.3) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\x10\x00\xf0\xff" * int(8000 * seconds))
    return buffer.getvalue()


async def test_api_given_notice_created_changed_deleted_then_dates_kept_and_audited(
        api_client: TestClient, web_db: WebDb):
    start, end = date.today(), date.today() + timedelta(days=7)
    created = await api_client.post("/api/v1/services/uru/notices", headers=AUTH, json={
        "text": "Sportello chiuso venerdì.", "valid_from": start.isoformat(),
        "valid_until": end.isoformat()})
    assert created.status == 200, await created.text()
    notice_id = (await created.json())["result"]
    listed = (await (await api_client.get("/api/v1/services/uru/notices",
                                          headers=AUTH)).json())["notices"]
    mine = next(n for n in listed if n["id"] == notice_id)
    assert (mine["valid_from"], mine["valid_until"]) == (start.isoformat(), end.isoformat())
    assert mine["sound"] and (web_db.sounds_dir / f"{mine['sound']}.wav").is_file()
    backwards = await api_client.put(f"/api/v1/services/uru/notices/{notice_id}",
                                     headers=AUTH, json={
                                         "text": "x", "valid_from": end.isoformat(),
                                         "valid_until": start.isoformat()})
    assert backwards.status == 400 and "prima di cominciare" in (await backwards.json())["error"]
    assert (await api_client.delete(f"/api/v1/services/uru/notices/{notice_id}",
                                    headers=AUTH)).status == 200
    async with web_db.sessions() as session:
        assert await session.get(Notice, notice_id) is None
    entry = await _latest(api_client, f"uru/{notice_id}")
    assert entry["username"] == "api" and entry["action"] == "notice.delete"
    for missing in (f"/api/v1/services/uru/notices/{notice_id}", "/api/v1/services/uru/notices/x",
                    "/api/v1/services/nessuno/notices/1"):
        assert (await api_client.delete(missing, headers=AUTH)).status == 404, missing


async def test_api_given_wav_uploaded_then_converted_and_bad_files_refused(
        api_client: TestClient, web_db: WebDb):
    path = "/api/v1/services/uru/prompts/goodbye/recording"
    uploaded = await api_client.put(path, data=_wav(), headers={
        **AUTH, "Content-Type": "audio/wav"})
    assert uploaded.status == 200, await uploaded.text()
    sound = (await uploaded.json())["result"]
    with wave.open(str(web_db.sounds_dir / f"{sound}.wav")) as converted:
        assert (converted.getframerate(), converted.getnchannels()) == (8000, 1)
    entries = await _entries(web_db)
    refused = [(b"", 400, "Nessun file"), (b"<?php system($_GET[1]); ?>", 400, "WAV"),
               (b"RIFF\x00\x00\x00\x00WAVEjunk", 400, "non leggibile"),
               (b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * MAX_UPLOAD_BYTES, 400, "troppo grande"),
               (b"\x00" * (13 * 1024 * 1024), 413, "troppo grande")]
    for data, status, reason in refused:
        response = await api_client.put(path, data=data, headers=AUTH)
        assert response.status == status and reason in (await response.json())["error"], reason
    async with web_db.sessions() as session:
        prompt = await session.scalar(select(Prompt).join(Service).where(
            Service.slug == "uru", Prompt.kind == "goodbye"))
    assert prompt.sound == sound and await _entries(web_db) == entries
    assert (await api_client.put("/api/v1/services/uru/prompts/../recording", data=_wav(),
                                 headers=AUTH)).status == 404


async def test_api_given_agent_lifecycle_then_never_a_digest_and_restorable(
        api_client: TestClient, web_db: WebDb):
    password = "Api-Sip-Segreta-1"
    created = await api_client.post("/api/v1/agents", headers=AUTH, json={
        "username": "api.lia", "password": password, "display_name": "Lia Conti",
        "profile": "junior", "services": ["uru"], "skills": ["concorsi"]})
    assert created.status == 200, await created.text()
    assert (await created.json())["result"] == {"username": "api.lia", "asterisk": "pending"}
    async with web_db.sessions() as session:
        ha1 = await session.scalar(select(Agent.sip_ha1).where(Agent.username == "api.lia"))
    assert ha1 == hashlib.md5(f"api.lia:centralino:{password}".encode()).hexdigest()
    for path in ("/api/v1/agents", "/api/v1/agents/api.lia", "/api/v1/audit"):
        text = await (await api_client.get(path, headers=AUTH)).text()
        assert password not in text and ha1 not in text and "sip_ha1" not in text
    one = await (await api_client.get("/api/v1/agents/api.lia", headers=AUTH)).json()
    assert one["skills"] == ["concorsi"] and one["enabled"] and one["state"] == "logged_out"
    assert (await api_client.put("/api/v1/agents/api.lia/enabled", headers=AUTH,
                                 json={"enabled": False})).status == 200
    disabled = await _latest(api_client, "agent/api.lia")
    assert disabled["action"] == "agent.disable" and disabled["username"] == "api"
    assert (await api_client.delete("/api/v1/agents/api.lia", headers=AUTH)).status == 200
    assert (await api_client.get("/api/v1/agents/api.lia", headers=AUTH)).status == 404
    deleted = await _latest(api_client, "agent/api.lia")
    restored = await api_client.post(f"/api/v1/audit/{disabled['id']}/restore", headers=AUTH)
    assert restored.status == 200  # before the disable: enabled, not deleted
    back = await (await api_client.get("/api/v1/agents/api.lia", headers=AUTH)).json()
    assert back["enabled"] and not back["deleted"]
    assert deleted["action"] == "agent.delete"
    assert (await api_client.delete("/api/v1/agents/api.lia", headers=AUTH)).status == 200


AGENT_REFUSED = [
    ({"username": "api.x", "password": "corta", "display_name": "X", "profile": "junior",
      "services": ["uru"]}, "da 8 a 128"),
    ({"username": "../../etc", "password": "Abbastanza-1", "display_name": "X",
      "profile": "junior", "services": ["uru"]}, "Nome utente non valido"),
    ({"username": "api.x", "password": "Abbastanza-1", "display_name": 'X" <sip:evil>',
      "profile": "junior", "services": ["uru"]}, "Nome visualizzato"),
    ({"username": "api.x", "password": "Abbastanza-1", "display_name": "X",
      "profile": "junior", "services": ["uru"], "skills": ["${SHELL(id)}"]}, "Competenza"),
    ({"username": "api.x", "password": "Abbastanza-1", "display_name": "X",
      "profile": "junior", "services": "uru"}, "lista di stringhe"),
    ({"username": "api.x", "password": 12345678, "display_name": "X",
      "profile": "junior", "services": ["uru"]}, "stringa"),
    ({"username": "api.x", "password": "Abbastanza-1", "display_name": "X",
      "profile": "junior", "services": ["uru"], "sip_ha1": "0" * 32}, "Campo sconosciuto"),
]


async def test_api_given_bad_agent_bodies_then_400_with_reason_and_nothing_stored(
        api_client: TestClient, web_db: WebDb):
    entries = await _entries(web_db)
    for body, reason in AGENT_REFUSED:
        response = await api_client.post("/api/v1/agents", headers=AUTH, json=body)
        assert response.status == 400 and reason in (await response.json())["error"], body
    async with web_db.sessions() as session:
        assert await session.scalar(select(Agent.id).where(Agent.username == "api.x")) is None
    assert await _entries(web_db) == entries
    for method, path in (("put", "/api/v1/agents/api.nessuno/enabled"),
                         ("put", "/api/v1/agents/api.nessuno/password"),
                         ("delete", "/api/v1/agents/api.nessuno"),
                         ("get", "/api/v1/agents/api.nessuno")):
        body = {"enabled": False} if path.endswith("enabled") else {"password": "Lunga-abba-1"}
        response = await api_client.request(method, path, headers=AUTH,
                                            json=body if method == "put" else None)
        assert response.status == 404, path


async def test_api_given_menu_queue_and_sector_changes_then_same_rules_as_pages(
        api_client: TestClient, web_db: WebDb):
    menu = await (await api_client.get("/api/v1/services/apiae/menu", headers=AUTH)).json()
    assert {o["digit"] for o in menu["options"]} >= {"1", "2"}
    taken = await api_client.post("/api/v1/services/apiae/menu/options", headers=AUTH, json={
        "digit": "1", "label": "Doppio", "action": "voicemail"})
    assert taken.status == 400 and "già usato" in (await taken.json())["error"]
    hostile = await api_client.post("/api/v1/services/apiae/menu/options", headers=AUTH,
                                    json={"digit": "9", "label": "X", "action": "queue",
                                          "queue": "apiae", "skill": "${SHELL(id)}"})
    assert hostile.status == 400 and "Competenza" in (await hostile.json())["error"]
    too_long = await api_client.put("/api/v1/services/apiae/menu", headers=AUTH,
                                    json={"timeout_seconds": 99, "max_invalid": 2})
    assert too_long.status == 400 and "da 1 a 30" in (await too_long.json())["error"]
    queues = (await (await api_client.get("/api/v1/services/uru/queues",
                                          headers=AUTH)).json())["queues"]
    assert queues[0]["slug"] == "uru" and "strategy" in queues[0]
    assert (await api_client.put("/api/v1/services/uru/queues/apiae", headers=AUTH, json={
        "strategy": "ring_all", "rings_per_agent": 2, "wait_limit_seconds": 60,
        "wrapup_seconds": 5, "announce_position": True, "announce_every_seconds": 30})
    ).status == 404
    sectors = (await (await api_client.get("/api/v1/services/motorizzazione/sectors",
                                           headers=AUTH)).json())["sectors"]
    assert [s["name"] for s in sectors][:2] == ["Patenti", "Immatricolazioni"]
    duplicate = await api_client.post("/api/v1/services/motorizzazione/sectors", headers=AUTH,
                                      json={"name": "PATENTI"})
    assert duplicate.status == 400 and "già il settore" in (await duplicate.json())["error"]
    mailbox = await api_client.patch(f"/api/v1/sectors/{sectors[0]['id']}", headers=AUTH,
                                     json={"mailbox": "a@b.it\r\nBcc: c@d.it"})
    assert mailbox.status == 400
    assert (await api_client.patch("/api/v1/sectors/999999", headers=AUTH,
                                   json={"retired": True})).status == 404
    assert (await api_client.get("/api/v1/services/nessuno/sectors",
                                 headers=AUTH)).status == 404
