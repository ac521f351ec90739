"""The agent desktop over HTTP on both databases: state buttons, the call, contact
registration, the worklist, and who may see what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from centralino.agents import add_agent
from centralino.web.auth import add_user
from models import Agent, Call, Service, Voicemail
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as

SIP_PASSWORD = "Segreto-2026"


async def _desk_agent(browser: Browser, web_db: WebDb, name: str,
                      services: tuple[str, ...] = ("motorizzazione",)) -> int:
    """An operator ``name`` with a web login ``name-web`` of role agent, logged in."""
    await add_agent(web_db.sessions, name, SIP_PASSWORD, services=list(services))
    await add_user(web_db.sessions, f"{name}-web", "agent", PASSWORD, agent=name)
    response = await browser.login(f"{name}-web")
    assert response.status == 303, await response.text()
    await browser.get("/agente")
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent.id).where(Agent.username == name))


async def _agent(web_db: WebDb, name: str) -> Agent:
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent).where(Agent.username == name))


async def _service_id(web_db: WebDb, slug: str) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(Service.id).where(Service.slug == slug))


async def _call(web_db: WebDb, slug: str, caller: str, *, agent_id: int | None = None,
                outcome: str | None = "answered", **values: object) -> str:
    now = datetime.now(UTC)
    call_id = str(uuid.uuid4())
    async with web_db.sessions() as session:
        session.add(Call(id=call_id, service_id=await _service_id(web_db, slug),
                         did="0461492006", caller_number=caller, channel_id=f"ch-{call_id}",
                         arrived_at=now - timedelta(minutes=3),
                         queue_entered_at=now - timedelta(minutes=2),
                         answered_at=now - timedelta(minutes=1) if agent_id else None,
                         ended_at=now, agent_id=agent_id, outcome=outcome, **values))
        await session.commit()
    return call_id


async def _stored(web_db: WebDb, call_id: str) -> Call:
    async with web_db.sessions() as session:
        return await session.get(Call, call_id)


async def test_given_agent_when_pressing_the_state_buttons_then_the_state_follows_cli_rules(
        browser: Browser, web_db: WebDb):
    await _desk_agent(browser, web_db, "dsk-stato")
    page = await browser.get("/agente")
    assert page.status == 200 and "Fine turno (disconnesso)" in await page.text()

    ready = await browser.post("/agente/stato", {"azione": "disponibile"})
    assert ready.status == 303 and (await _agent(web_db, "dsk-stato")).state == "available"
    no_reason = await browser.post("/agente/stato", {"azione": "pausa", "motivo": "  "})
    assert no_reason.status == 400 and "motivo della pausa" in await no_reason.text()
    assert (await _agent(web_db, "dsk-stato")).state == "available"
    paused = await browser.post("/agente/stato", {"azione": "pausa", "motivo": "pranzo"})
    assert paused.status == 303
    agent = await _agent(web_db, "dsk-stato")
    assert (agent.state, agent.pause_reason) == ("paused", "pranzo")
    text = await (await browser.get("/agente")).text()
    assert "In pausa" in text and "pranzo" in text
    status = await (await browser.get("/agente/stato")).json()
    assert status["state"] == "paused" and status["pause_reason"] == "pranzo"
    assert (await browser.post("/agente/stato", {"azione": "disponibile"})).status == 303
    assert (await _agent(web_db, "dsk-stato")).state == "available"

    async with web_db.sessions() as session:  # a call rings: no pause in the middle of it
        await session.execute(update(Agent).where(Agent.username == "dsk-stato")
                              .values(state="on_call"))
        await session.commit()
    refused = await browser.post("/agente/stato", {"azione": "pausa", "motivo": "caffè"})
    assert refused.status == 409 and "durante una chiamata" in await refused.text()
    assert (await _agent(web_db, "dsk-stato")).state == "on_call"
    async with web_db.sessions() as session:
        await session.execute(update(Agent).where(Agent.username == "dsk-stato")
                              .values(state="available"))
        await session.commit()
    assert (await browser.post("/agente/stato", {"azione": "fine-turno"})).status == 303
    assert (await _agent(web_db, "dsk-stato")).state == "logged_out"
    again = await browser.post("/agente/stato", {"azione": "fine-turno"})
    assert again.status == 409 and "Non è connesso" in await again.text()


async def test_given_form_without_csrf_token_then_refused_and_state_unchanged(
        browser: Browser, web_db: WebDb):
    await _desk_agent(browser, web_db, "dsk-csrf")
    forged = await browser.post("/agente/stato", {"azione": "disponibile"}, csrf=False)
    assert forged.status == 403
    wrong = await browser.post("/agente/stato", {"azione": "disponibile", "csrf": "x" * 43})
    assert wrong.status == 403
    assert (await _agent(web_db, "dsk-csrf")).state == "logged_out"


async def test_given_supervisor_admin_or_unlinked_agent_login_then_no_desk(
        browser: Browser, web_db: WebDb):
    assert (await browser.get("/agente")).status == 303  # not logged in: to the login page
    await login_as(browser, web_db, "dsk-supervisore", "supervisor")
    assert (await browser.get("/agente")).status == 403
    assert (await browser.get("/agente/stato")).status == 403
    browser.client.session.cookie_jar.clear()
    await login_as(browser, web_db, "dsk-admin", "admin")
    assert (await browser.get("/agente")).status == 403
    browser.client.session.cookie_jar.clear()
    await login_as(browser, web_db, "dsk-scollegato", "agent")
    page = await browser.get("/agente")
    assert page.status == 403 and "non è collegato a un operatore" in await page.text()


async def test_given_last_call_then_desk_shows_it_and_registration_stores_classification(
        browser: Browser, web_db: WebDb):
    agent_id = await _desk_agent(browser, web_db, "dsk-registra")
    call_id = await _call(web_db, "motorizzazione", "0461777001", agent_id=agent_id,
                          ivr_path="1>3", topic="patenti-estere")
    page = await browser.get("/agente")
    text = await page.text()
    assert "0461777001" in text and "Motorizzazione Civile" in text
    assert "1 &gt; 3" in text and "patenti-estere" in text and call_id in text
    for sector in ("Patenti", "Immatricolazioni", "Revisioni e collaudi", "Segreteria",
                   "Autotrasporto"):
        assert f'<option value="{sector}"' in text
    status = await (await browser.get("/agente/stato")).json()
    assert status["call"]["caller_number"] == "0461777001"

    bad = await browser.post(f"/agente/chiamate/{call_id}/registrazione",
                             {"classificazione": "Pesca", "esito": "resolved",
                              "note": "tentativo"})
    assert bad.status == 400 and "classificazione" in await bad.text()
    no_outcome = await browser.post(f"/agente/chiamate/{call_id}/registrazione",
                                    {"classificazione": "Patenti", "note": "x"})
    assert no_outcome.status == 400
    stored = await _stored(web_db, call_id)
    assert (stored.classification, stored.resolution, stored.notes) == (None, None, "")

    done = await browser.post(f"/agente/chiamate/{call_id}/registrazione",
                              {"classificazione": "Patenti", "esito": "resolved",
                               "note": "Rinnovo patente: indicati i documenti."})
    assert done.status == 303
    stored = await _stored(web_db, call_id)
    assert stored.classification == "Patenti" and stored.resolution == "resolved"
    assert stored.notes == "Rinnovo patente: indicati i documenti."
    text = await (await browser.get("/agente?ok=registrata")).text()
    assert "Contatto registrato." in text and "Risolta — Patenti" in text


async def test_given_transferred_call_then_resolved_refused_but_escalated_recorded(
        browser: Browser, web_db: WebDb):
    agent_id = await _desk_agent(browser, web_db, "dsk-inoltra")
    call_id = await _call(web_db, "motorizzazione", "0461777002", agent_id=agent_id,
                          transferred_at=datetime.now(UTC))
    refused = await browser.post(f"/agente/chiamate/{call_id}/registrazione",
                                 {"classificazione": "Veicoli", "esito": "resolved"})
    assert refused.status == 409 and "inoltrata" in await refused.text()
    assert (await _stored(web_db, call_id)).classification is None
    ok = await browser.post(f"/agente/chiamate/{call_id}/registrazione",
                            {"classificazione": "Veicoli", "esito": "escalated",
                             "note": "Passata al settore veicoli."})
    assert ok.status == 303
    stored = await _stored(web_db, call_id)
    assert (stored.classification, stored.resolution) == ("Veicoli", "escalated")


async def test_given_another_agents_call_then_not_found_and_nothing_written(
        browser: Browser, web_db: WebDb):
    await add_agent(web_db.sessions, "dsk-altro", SIP_PASSWORD, services=["motorizzazione"])
    other = (await _agent(web_db, "dsk-altro")).id
    theirs = await _call(web_db, "motorizzazione", "0461777003", agent_id=other)
    await _desk_agent(browser, web_db, "dsk-curioso")
    assert "0461777003" not in await (await browser.get("/agente")).text()
    response = await browser.post(f"/agente/chiamate/{theirs}/registrazione",
                                  {"classificazione": "Patenti", "esito": "resolved"})
    assert response.status == 404
    stored = await _stored(web_db, theirs)
    assert stored.resolution is None and stored.classification is None


async def test_given_voicemails_and_abandoned_calls_then_worklist_lists_and_marks_them(
        browser: Browser, web_db: WebDb):
    agent_id = await _desk_agent(browser, web_db, "dsk-lista", services=("uru",))
    now = datetime.now(UTC)
    async with web_db.sessions() as session:
        mine = Voicemail(service_id=await _service_id(web_db, "uru"),
                         caller_number="0461888001", recorded_at=now - timedelta(hours=10),
                         audio_path="recording/dsk-uno.wav", duration_seconds=12,
                         reason="out_of_hours")
        other = Voicemail(service_id=await _service_id(web_db, "apiae"),
                          caller_number="0461888002", recorded_at=now,
                          audio_path="recording/dsk-due.wav", reason="out_of_hours")
        session.add_all([mine, other])
        await session.commit()
        mine_id, other_id = mine.id, other.id
    abandoned = await _call(web_db, "uru", "0461888003", outcome="abandoned")
    short = await _call(web_db, "uru", "0461888004", outcome="abandoned_short")
    await _call(web_db, "uru", "0461888005", outcome="voicemail")
    elsewhere = await _call(web_db, "apiae", "0461888006", outcome="abandoned")

    text = await (await browser.get("/agente")).text()
    assert "0461888001" in text and "fuori orario" in text
    assert f"/agente/messaggi/{mine_id}/audio" in text
    assert "0461888003" in text and "0461888004" in text
    for absent in ("0461888002", "0461888005", "0461888006"):
        assert absent not in text

    assert (await browser.post(f"/agente/messaggi/{other_id}/fatto")).status == 404
    assert (await browser.post(f"/agente/abbandonate/{elsewhere}/fatto")).status == 404
    assert (await browser.post(f"/agente/messaggi/{mine_id}/fatto")).status == 303
    assert (await browser.post(f"/agente/abbandonate/{abandoned}/fatto")).status == 303
    async with web_db.sessions() as session:
        handled = await session.get(Voicemail, mine_id)
        untouched = await session.get(Voicemail, other_id)
        assert handled.handled_at is not None and handled.handled_by == agent_id
        assert untouched.handled_at is None
    assert (await _stored(web_db, abandoned)).callback_done_at is not None
    assert (await _stored(web_db, short)).callback_done_at is None
    assert (await _stored(web_db, elsewhere)).callback_done_at is None
    text = await (await browser.get("/agente")).text()
    assert "0461888001" not in text and "0461888003" not in text and "0461888004" in text
    # Audio needs the control plane's Asterisk; without it the desk says so.
    audio = await browser.get(f"/agente/messaggi/{mine_id}/audio")
    assert audio.status == 404 and "non disponibile" in await audio.text()
