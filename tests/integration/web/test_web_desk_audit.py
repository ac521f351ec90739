"""The desk's writes in the audit log: contact registration and the worklist's "Fatto" marks,
with who did it and the record before and after; on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from centralino.agents import add_agent
from centralino.web.auth import add_user
from models import Agent, AuditEntry, Call, Service, Voicemail
from tests.integration.web.conftest import PASSWORD, Browser, WebDb


async def _agent_login(browser: Browser, web_db: WebDb, name: str, services: tuple[str, ...]
                       ) -> int:
    await add_agent(web_db.sessions, name, "Segreto-2026", services=list(services))
    await add_user(web_db.sessions, f"{name}-web", "agent", PASSWORD, agent=name)
    assert (await browser.login(f"{name}-web")).status == 303
    await browser.get("/agente")
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent.id).where(Agent.username == name))


async def _service_id(web_db: WebDb, slug: str) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(Service.id).where(Service.slug == slug))


async def _call(web_db: WebDb, caller: str, agent_id: int | None, *, slug: str,
                outcome: str = "answered") -> str:
    now = datetime.now(UTC)
    call_id = str(uuid.uuid4())
    async with web_db.sessions() as session:
        session.add(Call(id=call_id, service_id=await _service_id(web_db, slug),
                         did="0461497300", caller_number=caller, channel_id=f"ch-{call_id}",
                         arrived_at=now - timedelta(minutes=3),
                         queue_entered_at=now - timedelta(minutes=2),
                         answered_at=now - timedelta(minutes=1) if agent_id else None,
                         ended_at=now, agent_id=agent_id, outcome=outcome))
        await session.commit()
    return call_id


async def _audit(web_db: WebDb, action: str, key: str) -> list[AuditEntry]:
    async with web_db.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.object_key == key)))


async def test_dk2_given_desk_writes_then_audit_log_says_who_and_before_after_and_who_called(
        browser: Browser, web_db: WebDb):
    agent_id = await _agent_login(browser, web_db, "dk2-audit", services=("uru",))
    call_id = await _call(web_db, "0461777107", agent_id, slug="uru")
    done = await browser.post(f"/agente/chiamate/{call_id}/registrazione", {
        "classificazione": "Informazioni generali", "esito": "resolved", "note": "Orari."})
    assert done.status == 303, await done.text()
    (entry,) = await _audit(web_db, "contact.register", call_id)
    assert entry.username == "dk2-audit-web"
    assert entry.before == {"classification": None, "resolution": None, "notes": ""}
    assert entry.after == {"classification": "Informazioni generali",
                           "resolution": "resolved", "notes": "Orari."}

    abandoned = await _call(web_db, "0461777108", None, slug="uru", outcome="abandoned")
    async with web_db.sessions() as session:
        voicemail = Voicemail(service_id=await _service_id(web_db, "uru"),
                              caller_number="0461777109", recorded_at=datetime.now(UTC),
                              audio_path="recording/dk2.wav", reason="out_of_hours")
        session.add(voicemail)
        await session.commit()
        voicemail_id = voicemail.id
    for _ in range(2):  # the second "Fatto" changes nothing and writes nothing
        assert (await browser.post(f"/agente/abbandonate/{abandoned}/fatto")).status == 303
        assert (await browser.post(f"/agente/messaggi/{voicemail_id}/fatto")).status == 303
    async with web_db.sessions() as session:
        call = await session.get(Call, abandoned)
    assert call.callback_done_at is not None and call.callback_done_by == agent_id
    (callback,) = await _audit(web_db, "callback.done", abandoned)
    assert callback.username == "dk2-audit-web"
    assert callback.before == {"callback_done_at": None, "callback_done_by": None}
    assert callback.after["callback_done_by"] == agent_id
    (message,) = await _audit(web_db, "voicemail.done", str(voicemail_id))
    assert message.username == "dk2-audit-web" and message.after["handled_by"] == agent_id
