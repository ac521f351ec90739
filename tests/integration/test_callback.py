"""Call-backs from the agent desktop over real SIP, on both databases.

An agent's softphone (pjsua2, registered) and web login; a worklist item (an
abandoned call or a voicemail) of the agent's service. "Richiama" rings the
agent's own phone; once answered, the carrier's user agent on 127.0.0.2 gets an
INVITE for exactly the number recorded on the item; when it answers, both are in
one mixing bridge; the hang-up closes the attempt's record.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from ari_app.clock import ShiftedClock
from ari_app.flows.callback import agent_leg, citizen_leg
from centralino.agents import set_state
from centralino.web.auth import add_user
from models import AuditEntry, Call, Callback, Service, Voicemail
from tests.integration.conftest import IN_HOURS, Plane, did_uri, eventually, running_plane
from tests.integration.test_queue import Team, team
from tests.integration.test_transfer import api
from tests.integration.web.conftest import PASSWORD, Browser
from tests.support.sipua import Call as SipCall
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

SERVICE = "motorizzazione"


@contextlib.asynccontextmanager
async def desk(plane: Plane, name: str, *, login: bool = True
               ) -> AsyncIterator[tuple[Team, Browser]]:
    """Agent ``name`` (Motorizzazione) with a registered phone and a logged-in web desk."""
    async with team(plane.settings, plane.sessions, [name], services=(SERVICE,),
                    login=login) as agents:
        await add_user(plane.sessions, f"{name}-web", "agent", PASSWORD, agent=name)
        port = plane.running.web_runner.addresses[0][1]
        async with aiohttp.ClientSession(
                base_url=f"http://{plane.settings.bind_address}:{port}",
                cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            browser = Browser(client)  # type: ignore[arg-type]
            response = await browser.login(f"{name}-web")
            assert response.status == 303, await response.text()
            await browser.get("/agente")
            yield agents, browser


async def _service_id(plane: Plane, slug: str = SERVICE) -> int:
    async with plane.sessions() as session:
        return await session.scalar(select(Service.id).where(Service.slug == slug))


async def abandoned_call(plane: Plane, caller: str, slug: str = SERVICE) -> str:
    """A citizen who hung up waiting in the queue: on the worklist with their number."""
    call_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with plane.sessions() as session:
        session.add(Call(id=call_id, service_id=await _service_id(plane, slug),
                         did="0461492006", caller_number=caller, channel_id=f"gone-{call_id}",
                         arrived_at=now - timedelta(minutes=5),
                         queue_entered_at=now - timedelta(minutes=4), ended_at=now,
                         outcome="abandoned", queue_exit="abandoned", flow_state="ended"))
        await session.commit()
    return call_id


async def voicemail(plane: Plane, caller: str) -> int:
    async with plane.sessions() as session:
        message = Voicemail(service_id=await _service_id(plane), caller_number=caller,
                            recorded_at=datetime.now(UTC), audio_path="recording/none.wav",
                            duration_seconds=4, reason="no_agents", callback_requested=True)
        session.add(message)
        await session.commit()
        return message.id


async def attempts(plane: Plane, **where: object) -> list[Callback]:
    async with plane.sessions() as session:
        query = select(Callback).order_by(Callback.requested_at)
        for key, value in where.items():
            query = query.where(getattr(Callback, key) == value)
        return list((await session.scalars(query)).all())


async def ended_attempt(plane: Plane, timeout: float = 20, **where: object) -> Callback:
    async def probe() -> Callback | None:
        found = await attempts(plane, **where)
        return found[-1] if found and found[-1].ended_at is not None else None

    return await eventually(probe, timeout, f"the call-back {where} to end")


async def answered_both(plane: Plane, agents: Team, carrier: SipUA, name: str,
                        number: str) -> tuple[SipCall, SipCall, Callback]:
    """The agent answers their ringing phone, then the citizen answers the carrier's INVITE."""
    ringing = await agents.phones.wait_incoming_call(timeout=10, account=name)
    assert number in ringing.remote_uri  # the agent sees whom they are calling
    await agents.wait_state(name, "on_call")
    await ringing.answer()
    citizen = await carrier.wait_incoming_call(timeout=10)
    assert citizen.request_uri.startswith(f"sip:{number}@127.0.0.2")  # exactly that number
    [attempt] = await attempts(plane, number=number)
    await eventually(lambda: _true(any(
        e.get("type") == "PlaybackStarted"
        and e["playback"].get("media_uri", "").startswith("tone:ring")
        and e["playback"].get("target_uri") == f"channel:{agent_leg(attempt.id)}"
        for e in plane.events)), 5, "the agent to hear ringing")
    await citizen.answer()
    await ringing.wait_state("CONFIRMED", timeout=5)
    await citizen.wait_state("CONFIRMED", timeout=5)
    return ringing, citizen, attempt


async def _true(value: bool) -> bool:
    return value


async def bridged(plane: Plane, callback_id: str) -> set[str]:
    async def probe() -> set[str] | None:
        bridge = await plane.running.control_plane.ari.get_bridge(f"callback-{callback_id}")
        channels = set(bridge.get("channels", [])) if bridge else set()
        return channels if len(channels) == 2 else None

    return await eventually(probe, 5, "both legs in the call-back's bridge")


async def test_given_abandoned_call_when_agent_clicks_richiama_then_citizen_is_called_back(
        plane: Plane, carrier: SipUA):
    number = "0461555001"
    call_id = await abandoned_call(plane, number)
    async with desk(plane, "rc-anna") as (agents, browser):
        page = await (await browser.get("/agente")).text()
        assert f'action="/agente/abbandonate/{call_id}/richiama"' in page
        clicked = await browser.post(f"/agente/abbandonate/{call_id}/richiama")
        assert clicked.status == 303
        agent_phone, citizen, attempt = await answered_both(plane, agents, carrier, "rc-anna",
                                                            number)
        assert await bridged(plane, attempt.id) == {agent_leg(attempt.id),
                                                    citizen_leg(attempt.id)}
        assert (await agents.state("rc-anna")) == "on_call"  # the dispatcher leaves them be
        await asyncio.sleep(0.5)
        await citizen.hangup()  # the citizen says goodbye first
        await agent_phone.wait_disconnected(timeout=5)
        record = await ended_attempt(plane, call_id=call_id)
        await agents.wait_state("rc-anna", "wrapup")
        page = await (await browser.get("/agente")).text()
        async with plane.sessions() as session:  # before the test's agent is removed
            abandoned = await session.get(Call, call_id)
            entries = (await session.scalars(select(AuditEntry.action).where(
                AuditEntry.object_key == record.id).order_by(AuditEntry.id))).all()
    assert record.result == "answered" and record.hung_up_by == "citizen"
    assert record.answered_at is not None and record.agent_answered_at is not None
    assert record.username == "rc-anna-web" and record.number == number
    assert abandoned.callback_done_at is not None
    assert abandoned.callback_done_by == record.agent_id
    assert list(entries) == ["callback.start", "callback.end"]
    # Done, so off the worklist; the desk lists it among the agent's call-backs.
    assert f"/agente/abbandonate/{call_id}/richiama" not in page
    assert 'id="richiamate"' in page and "risposto" in page and number in page
    # A call-back is not an inbound call: the SLA's table has no row for it.
    async with plane.sessions() as session:
        assert await session.scalar(select(Call).where(Call.caller_number == number,
                                                       Call.id != call_id)) is None


async def test_given_voicemail_when_called_back_and_agent_hangs_up_then_message_handled(
        plane: Plane, carrier: SipUA):
    number = "+390461555002"
    message_id = await voicemail(plane, number)
    async with desk(plane, "rc-bice") as (agents, browser):
        clicked = await browser.post(f"/agente/messaggi/{message_id}/richiama")
        assert clicked.status == 303
        agent_phone, citizen, attempt = await answered_both(plane, agents, carrier, "rc-bice",
                                                            number)
        await bridged(plane, attempt.id)
        status = await (await browser.get("/agente/stato")).json()
        assert status["callback"]["state"] == "connected"
        # A citizen calling the service meanwhile waits: the agent's phone does not ring.
        inbound = await carrier.call(did_uri(plane.settings, "0461492006"),
                                     from_user="0461555099")
        await plane.record_in_state("0461555099", "queued")
        with pytest.raises(TimeoutError):
            await agents.phones.wait_incoming_call(timeout=2, account="rc-bice")
        await inbound.hangup()
        await plane.ended_record("0461555099")
        await agent_phone.hangup()
        await citizen.wait_disconnected(timeout=5)
        record = await ended_attempt(plane, voicemail_id=message_id)
        async with plane.sessions() as session:
            message = await session.get(Voicemail, message_id)
    assert (record.result, record.hung_up_by) == ("answered", "agent")
    assert message.handled_at is not None and message.handled_by == record.agent_id


async def test_given_citizen_busy_then_busy_on_the_item_which_stays_open_agent_free(
        plane: Plane, carrier: SipUA):
    number = "0461555003"
    call_id = await abandoned_call(plane, number)
    async with desk(plane, "rc-carla") as (agents, browser):
        status, body = await api(plane, "POST", "/v1/agents/rc-carla/callbacks",
                                 {"call_id": call_id})  # the same through the JSON API
        assert status == 202, body
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="rc-carla")
        await ringing.answer()
        citizen = await carrier.wait_incoming_call(timeout=10)
        await citizen.reject(486)
        await ringing.wait_disconnected(timeout=5)
        record = await ended_attempt(plane, call_id=call_id)
        await agents.wait_state("rc-carla", "available")
        status, stored = await api(plane, "GET", f"/v1/callbacks/{body['callback_id']}")
        page = await (await browser.get("/agente")).text()
    assert record.result == "busy" and record.answered_at is None
    assert status == 200 and stored["result"] == "busy"
    assert f"/agente/abbandonate/{call_id}/richiama" in page  # still to call back
    assert "occupato" in page
    async with plane.sessions() as session:
        assert (await session.get(Call, call_id)).callback_done_at is None


async def test_given_citizen_does_not_answer_then_no_answer_and_agent_free_again(
        plane: Plane, carrier: SipUA):
    number = "0461555004"
    message_id = await voicemail(plane, number)
    async with desk(plane, "rc-dora") as (agents, browser):
        assert (await browser.post(f"/agente/messaggi/{message_id}/richiama")).status == 303
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="rc-dora")
        await ringing.answer()
        citizen = await carrier.wait_incoming_call(timeout=10)
        await citizen.ring()  # rings out: 6 rings, 11 s with the suite's cadence
        await ringing.wait_disconnected(timeout=20)
        await citizen.wait_disconnected(timeout=5)
        record = await ended_attempt(plane, voicemail_id=message_id)
        await agents.wait_state("rc-dora", "available")
    assert record.result == "no_answer"
    async with plane.sessions() as session:
        assert (await session.get(Voicemail, message_id)).handled_at is None


async def test_given_agent_does_not_answer_own_phone_then_nobody_is_dialled(
        plane: Plane, carrier: SipUA):
    call_id = await abandoned_call(plane, "0461555005")
    async with desk(plane, "rc-elia") as (agents, browser):
        assert (await browser.post(f"/agente/abbandonate/{call_id}/richiama")).status == 303
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="rc-elia")
        await ringing.reject(486)
        record = await ended_attempt(plane, call_id=call_id)
        await agents.wait_state("rc-elia", "available")
    assert record.result == "agent_missed" and record.agent_answered_at is None
    with pytest.raises(TimeoutError):
        await carrier.wait_incoming_call(timeout=0.5)


async def test_given_bad_requests_then_clear_messages_and_nothing_placed(plane: Plane):
    ours = await abandoned_call(plane, "0461555006")
    other_service = await abandoned_call(plane, "0461555007", slug="apiae")
    anonymous = await voicemail(plane, "")
    async with desk(plane, "rc-fabio", login=False) as (agents, browser):
        logged_out = await browser.post(f"/agente/abbandonate/{ours}/richiama")
        assert logged_out.status == 409 and "essere connessi" in await logged_out.text()
        await set_state(plane.sessions, "rc-fabio", "login")
        await set_state(plane.sessions, "rc-fabio", "pause", "pranzo")
        paused = await browser.post(f"/agente/abbandonate/{ours}/richiama")
        assert paused.status == 409 and "In pausa" in await paused.text()
        await set_state(plane.sessions, "rc-fabio", "resume")
        unknown = await browser.post("/agente/messaggi/99999999/richiama")
        assert unknown.status == 404 and "Messaggio inesistente" in await unknown.text()
        foreign = await browser.post(f"/agente/abbandonate/{other_service}/richiama")
        assert foreign.status == 404 and "inesistente" in await foreign.text()
        nobody = await browser.post(f"/agente/messaggi/{anonymous}/richiama")
        assert nobody.status == 400 and "anonimo" in await nobody.text()
        forged = await browser.post(f"/agente/abbandonate/{ours}/richiama", csrf=False)
        assert forged.status == 403
        status, _ = await api(plane, "POST", "/v1/agents/rc-fabio/callbacks",
                              {"call_id": ours, "voicemail_id": anonymous})
        assert status == 400
        status, _ = await api(plane, "POST", "/v1/agents/nessuno/callbacks",
                              {"call_id": ours})
        assert status == 404
        with pytest.raises(TimeoutError):
            await agents.phones.wait_incoming_call(timeout=0.5)
        assert await agents.state("rc-fabio") == "available"
        assert await attempts(plane, agent_id=await _agent_id(plane, "rc-fabio")) == []
        status, spec = await api(plane, "GET", "/v1/openapi.json")
        assert "/api/v1/agents/{username}/callbacks" in spec["paths"]


async def test_given_callbacks_not_configured_then_no_button_and_a_clear_refusal(
        plane: Plane):
    call_id = await abandoned_call(plane, "0461555008")
    callbacks = plane.running.control_plane.callbacks
    async with desk(plane, "rc-gino") as (_agents, browser):
        callbacks.enabled = False
        try:
            page = await (await browser.get("/agente")).text()
            refused = await browser.post(f"/agente/abbandonate/{call_id}/richiama")
        finally:
            callbacks.enabled = True
    assert f"/agente/abbandonate/{call_id}/richiama" not in page
    assert refused.status == 503 and "Richiamata non configurata" in await refused.text()


async def _agent_id(plane: Plane, name: str) -> int:
    from models import Agent

    async with plane.sessions() as session:
        return await session.scalar(select(Agent.id).where(Agent.username == name))


async def test_given_control_plane_restarts_mid_call_back_then_call_stays_up_and_record_closes(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    number = "0461555009"
    async with team(settings, sessions, ["rc-ivo"], services=(SERVICE,)) as agents:
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            call_id = await abandoned_call(plane, number)
            status, body = await api(plane, "POST", "/v1/agents/rc-ivo/callbacks",
                                     {"call_id": call_id})
            assert status == 202, body
            agent_phone, citizen, attempt = await answered_both(plane, agents, carrier,
                                                                "rc-ivo", number)
            await bridged(plane, attempt.id)
        # The control plane went away in the middle of the conversation...
        await asyncio.sleep(1.5)
        assert not agent_phone.disconnected and not citizen.disconnected
        async with running_plane(settings, sessions, asterisk, clock) as again:
            # ...and the one that comes back adopts it: still bridged, agent still busy.
            await eventually(lambda: _true(bool(again.running.control_plane.callbacks.active)),
                             5, "the call-back to be re-adopted")
            await bridged(again, attempt.id)
            await asyncio.sleep(0.5)
            assert await agents.state("rc-ivo") == "on_call"
            await citizen.hangup()
            await agent_phone.wait_disconnected(timeout=5)
            record = await ended_attempt(again, call_id=call_id)
            await agents.wait_state("rc-ivo", "wrapup")
    assert record.result == "answered" and record.hung_up_by == "citizen"


async def test_given_desk_in_a_browser_when_clicking_richiama_then_phone_rings_and_result_shows(
        plane: Plane, carrier: SipUA, chromium):
    number = "0461555010"
    call_id = await abandoned_call(plane, number)
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    async with team(plane.settings, plane.sessions, ["rc-lara"], services=(SERVICE,)) as agents:
        await add_user(plane.sessions, "rc-lara-web", "agent", PASSWORD, agent="rc-lara")
        context = await chromium.new_context()
        page = await context.new_page()
        try:
            await page.goto(f"{base}/agente")
            await page.fill("input[name=username]", "rc-lara-web")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/agente")
            await page.click(f'form[action="/agente/abbandonate/{call_id}/richiama"] button')
            await page.wait_for_url(f"{base}/agente?ok=richiamo")
            assert "Richiamata avviata" in await page.inner_text("[role=status]")
            ringing = await agents.phones.wait_incoming_call(timeout=10, account="rc-lara")
            await ringing.answer()
            citizen = await carrier.wait_incoming_call(timeout=10)
            await citizen.reject(486)
            # No reload by hand: the desk refreshes itself when the agent is free again.
            row = page.locator(f'#abbandonate tr:has(form[action="/agente/abbandonate/'
                               f'{call_id}/richiama"])')  # other tests' items are listed too
            result = row.locator(".ultima-richiamata", has_text="occupato")
            await result.wait_for(timeout=15_000)
            assert "rc-lara" in await result.inner_text()  # who called back
            assert await page.inner_text("#desk-state") == "Disponibile"
        finally:
            await context.close()
