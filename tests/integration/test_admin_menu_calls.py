"""Admin pages over HTTP against a running control plane and real SIP.

A menu choice changed in the page is followed by the next call; an agent
created in the page can register its softphone at once; a disabled one cannot, and
is never rung, until it is enabled again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select

from centralino.agents import remove_agent, set_state
from centralino.sandbox import Sandbox
from centralino.web.auth import add_user
from models import Agent, AuditEntry, CallOffer, Menu, MenuOption, Service, WebUser
from tests.integration.conftest import Plane, did_uri
from tests.integration.web.conftest import PASSWORD, Browser
from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.asterisk

TRENTINO_DIGITALE = "800228040"
AGENZIA_LAVORO = "800264760"
SIP_PASSWORD = "Pagina-Sip-2026"


@pytest.fixture
async def admin_page(plane: Plane) -> AsyncIterator[Browser]:
    """An admin logged in to the running control plane's own web server."""
    port = plane.running.web_runner.addresses[0][1]
    async with aiohttp.ClientSession(base_url=f"http://{plane.settings.bind_address}:{port}",
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        browser = Browser(client)  # type: ignore[arg-type]
        async with plane.sessions() as session:
            exists = await session.scalar(select(WebUser.id).where(
                WebUser.username == "adm2-sip-admin"))
        if not exists:
            await add_user(plane.sessions, "adm2-sip-admin", "admin", PASSWORD)
        assert (await browser.login("adm2-sip-admin")).status == 303
        await browser.get("/admin/services/trentino-digitale")
        yield browser


async def _option(plane: Plane, digit: str) -> MenuOption:
    async with plane.sessions() as session:
        return await session.scalar(
            select(MenuOption).join(Menu, MenuOption.menu_id == Menu.id).join(Service)
            .where(Service.slug == "trentino-digitale", MenuOption.digit == digit))


async def _press(plane: Plane, carrier: SipUA, caller: str, digit: str):
    call = await carrier.call(did_uri(plane.settings, TRENTINO_DIGITALE), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state(caller, "menu")
    await call.send_dtmf(digit)
    return call


async def _create_agent(admin_page: Browser, username: str, service: str) -> None:
    """An agent created in the admin page, applied to Asterisk at once."""
    await admin_page.get("/admin/agents")
    response = await admin_page.post("/admin/agents", {
        "username": username, "password": SIP_PASSWORD, "password2": SIP_PASSWORD,
        "display_name": "Agente Pagina", "profile": "junior", "skills": "cps",
        "services": service})
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/admin/agents?ok=added"  # Asterisk reloaded


async def test_adm2_given_option_changed_in_admin_page_then_next_call_follows_new_choice(
        plane: Plane, carrier: SipUA, admin_page: Browser):
    option = await _option(plane, "1")
    path = f"/admin/services/trentino-digitale/menu/options/{option.id}"
    changed = await admin_page.post(path, {
        "digit": "1", "label": "Carta dei Servizi - nuovo sportello", "action": "queue",
        "queue": "trentino-digitale", "skill": "adm2-cps-nuova"})
    assert changed.status == 303, await changed.text()
    async with plane.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == f"trentino-digitale/menu/{option.id}").order_by(
            AuditEntry.id.desc()))).first()
    try:
        call = await _press(plane, carrier, "0461000271", "1")
        record = await plane.record_in_state("0461000271", "voicemail")  # nobody logged in
        await call.hangup()
        assert record.ivr_path == "1" and record.topic == "adm2-cps-nuova"

        service = await plane.service("trentino-digitale")
        to_message = await admin_page.post(path, {
            "digit": "1", "label": "Ringraziamento", "action": "message",
            "prompt_kind": "thanks"})
        assert to_message.status == 303, await to_message.text()
        call = await _press(plane, carrier, "0461000272", "1")
        await call.wait_disconnected(timeout=15)  # message, goodbye, and the IVR hangs up
        record = await plane.ended_record("0461000272")
        assert record.outcome == "ivr_only" and record.queue_entered_at is None
        assert plane.heard(service.sounds["thanks"]) and plane.heard(service.sounds["goodbye"])
    finally:  # back to the seeded choice, through the audit page like an admin would
        restored = await admin_page.post(f"/admin/audit/{entry.id}/restore")
        assert restored.status == 303
    back = await _option(plane, "1")
    assert (back.action, back.skill) == ("queue", "cps")


async def test_adm2_given_agent_created_in_admin_page_then_softphone_registers_at_once(
        plane: Plane, admin_page: Browser, asterisk: Sandbox, database_url: str):
    username = f"adm2.{database_url.split(':', 1)[0][:6]}"  # one per database run
    pid = asterisk.read_pid()
    await _create_agent(admin_page, username, "trentino-digitale")
    registrar = f"sip:{plane.settings.bind_address}:{plane.settings.sip_port}"
    async with SipUA.start() as phone:
        registration = await phone.register(username, SIP_PASSWORD, registrar)
        assert registration.code == 200
        with pytest.raises(SipError) as refused:
            await phone.register(username, "non-la-password", registrar, account="impostor")
        assert refused.value.code in (401, 403)
    assert asterisk.read_pid() == pid, "Asterisk was restarted"
    await remove_agent(plane.sessions, username)  # the next run starts from a clean table


async def test_adm3_given_agent_disabled_in_admin_page_then_register_refused_never_rung_and_back_when_enabled(  # noqa: E501
        plane: Plane, admin_page: Browser, carrier: SipUA, database_url: str):
    username = f"adm3.{database_url.split(':', 1)[0][:6]}"
    await _create_agent(admin_page, username, "agenzia-lavoro")
    registrar = f"sip:{plane.settings.bind_address}:{plane.settings.sip_port}"
    try:
        async with SipUA.start() as phone:
            assert (await phone.register(username, SIP_PASSWORD, registrar)).code == 200
            await set_state(plane.sessions, username, "login")
            disabled = await admin_page.post(f"/admin/agents/{username}/disable")
            assert disabled.headers["Location"] == "/admin/agents?ok=disabled"  # reloaded
            async with plane.sessions() as session:
                agent = await session.scalar(select(Agent).where(Agent.username == username))
                assert (agent.enabled, agent.state) == (False, "logged_out")
                # Even a state put back by hand (a stale desk, a script) does not ring it.
                agent.state = "available"
                await session.commit()
            with pytest.raises(SipError) as refused:
                await phone.register(username, SIP_PASSWORD, registrar, account="again")
            assert refused.value.code in (401, 403, 404)

            call = await carrier.call(did_uri(plane.settings, AGENZIA_LAVORO),
                                      from_user="0461000391")
            await call.wait_state("CONFIRMED", timeout=5)
            record = await plane.record_in_state("0461000391", "voicemail", timeout=15)
            await call.hangup()
            with pytest.raises(TimeoutError):  # its phone never rang
                await phone.wait_incoming_call(timeout=1)
            async with plane.sessions() as session:
                offers = await session.scalar(select(func.count()).select_from(CallOffer)
                                              .where(CallOffer.call_id == record.id))
            assert offers == 0

            enabled = await admin_page.post(f"/admin/agents/{username}/enable")
            assert enabled.headers["Location"] == "/admin/agents?ok=enabled"
            assert (await phone.register(username, SIP_PASSWORD, registrar,
                                         account="enabled")).code == 200
    finally:
        await remove_agent(plane.sessions, username)  # the next run starts from a clean table
