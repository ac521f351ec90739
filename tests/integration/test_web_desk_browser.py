"""An agent's desktop in a real browser during a real SIP call.

A registered softphone (pjsua2) answers a citizen's call placed by the carrier;
the agent's desktop in headless Chromium pops up the caller's number, and the
agent registers the contact as resolved with a classification.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from centralino.web.auth import add_user
from models import Agent, Voicemail
from tests.integration.conftest import Plane, did_uri, eventually
from tests.integration.test_queue import ADL, quick_queue, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk
__all__ = ["quick_queue"]  # the fixture, used by name

WEB_PASSWORD = "password-scrivania-9"
CALLER = "0461300777"


async def test_given_agent_answers_a_real_call_then_desk_pops_it_up_and_registers_contact(
        plane: Plane, carrier: SipUA, chromium: Browser, quick_queue):
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    async with team(plane.settings, plane.sessions, ["dsk-browser"]) as agents:
        await add_user(plane.sessions, "dsk-browser-web", "agent", WEB_PASSWORD,
                       agent="dsk-browser")
        context = await chromium.new_context()
        page = await context.new_page()
        try:
            await page.goto(f"{base}/agente")
            await page.fill("input[name=username]", "dsk-browser-web")
            await page.fill("input[name=password]", WEB_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/agente")
            assert await page.inner_text("#desk-state") == "Disponibile"
            assert "Nessuna chiamata" in await page.inner_text("#chiamata")

            call = await carrier.call(did_uri(plane.settings, ADL), from_user=CALLER)
            await call.wait_state("CONFIRMED", timeout=5)
            ringing = await agents.phones.wait_incoming_call(timeout=10, account="dsk-browser")
            await ringing.answer()
            await ringing.wait_state("CONFIRMED", timeout=5)

            # No reload by hand: the page's own refresh brings the call up.
            caller = page.locator("#caller-number")
            await caller.wait_for(timeout=10_000)
            assert await caller.inner_text() == CALLER
            assert await page.inner_text("#call-service") == "Agenzia del Lavoro"
            await page.locator("#registrazione select").wait_for(timeout=10_000)
            await page.fill("#registrazione textarea", "Chiedeva le offerte di lavoro "
                                                       "in Val di Non.")
            await page.select_option("#registrazione select", "Offerte di lavoro")
            await page.check("input[name=esito][value=resolved]")
            await page.click("#registrazione button[type=submit]")
            await page.wait_for_url(f"{base}/agente?ok=registrata")
            assert "Contatto registrato." in await page.inner_text("[role=status]")
            assert "Risolta — Offerte di lavoro" in await page.inner_text("#call-registered")
        finally:
            await context.close()
        await ringing.hangup()
        await call.wait_disconnected(timeout=5)
        record = await plane.ended_record(CALLER)

    assert record.outcome == "answered" and record.agent_id is not None
    assert record.classification == "Offerte di lavoro"
    assert record.resolution == "resolved"
    assert record.notes == "Chiedeva le offerte di lavoro in Val di Non."


async def test_given_voicemail_left_while_no_agent_then_desk_plays_it_and_marks_it_done(
        plane: Plane, carrier: SipUA, chromium: Browser):
    call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461300778")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461300778", "voicemail")
    await asyncio.sleep(2)  # the caller speaks after the beep
    await call.hangup()
    record = await plane.ended_record("0461300778")
    [message] = await eventually(lambda: plane.voicemails(record.id), 5, "the voicemail row")
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    async with team(plane.settings, plane.sessions, ["dsk-segreteria"], login=False):
        await add_user(plane.sessions, "dsk-segreteria-web", "agent", WEB_PASSWORD,
                       agent="dsk-segreteria")
        context = await chromium.new_context()
        page = await context.new_page()
        try:
            await page.goto(f"{base}/agente")
            await page.fill("input[name=username]", "dsk-segreteria-web")
            await page.fill("input[name=password]", WEB_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/agente")
            row = page.locator("#messaggi tr", has_text="0461300778")
            assert "operatori non disponibili" in await row.inner_text()
            src = await row.locator("audio").get_attribute("src")
            served = await context.request.get(f"{base}{src}")
            assert served.status == 200 and (await served.body())[:4] == b"RIFF"
            await row.locator("button", has_text="Fatto").click()
            await page.wait_for_url(f"{base}/agente?ok=messaggio")
            assert await page.locator("#messaggi tr", has_text="0461300778").count() == 0
        finally:
            await context.close()
        async with plane.sessions() as session:
            handled = await session.get(Voicemail, message.id)
            agent_id = await session.scalar(select(Agent.id).where(
                Agent.username == "dsk-segreteria"))
        assert handled.handled_at is not None and handled.handled_by == agent_id
