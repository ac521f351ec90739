"""A supervisor watches the wallboard in a real browser while a citizen waits in a queue.

Headless Chromium (as in ``test_web_browser.py``) on the real control plane's web
server; the waiting call is a real SIP call from the carrier to Agenzia del
Lavoro, whose only agent is logged in but paused, so the caller waits. The page
is never reloaded: the numbers arrive over ``/supervisore/ws``, the SLA figures
and the half-hour chart too, when an answered and an abandoned call end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select, update

from centralino.agents import set_state
from centralino.web.auth import add_user
from models import Service
from tests.integration.conftest import Plane, did_uri
from tests.integration.test_queue import ADL, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

PASSWORD = "password-del-cruscotto-3"
CALLER = "0461955001"
CALLER_GONE = "0461955002"
CALLER_ANSWERED = "0461955003"


async def open_wallboard(page: Page, base: str, username: str) -> None:
    """Log in on the wallboard's page and wait for its live socket."""
    await page.goto(f"{base}/supervisore")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/supervisore")
    await expect(page.locator("#live-status")).to_have_attribute(
        "data-connected", "1", timeout=5000)


async def test_given_supervisor_on_wallboard_when_citizen_waits_then_one_waiting_then_zero(
        plane: Plane, carrier: SipUA, chromium: Browser):
    await add_user(plane.sessions, "wal-supervisore", "supervisor", PASSWORD)
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        async with team(plane.settings, plane.sessions, ["walbruna"]) as agents:
            await set_state(plane.sessions, "walbruna", "pause", "riunione")
            await open_wallboard(page, base, "wal-supervisore")
            queue = page.locator("#queue-agenzia-lavoro")
            await expect(queue.locator("[data-field=waiting]")).to_have_text("0")
            await expect(queue.locator("[data-field=paused]")).to_have_text("1")
            await expect(page.locator("#agents tr", has_text="walbruna")).to_contain_text(
                "In pausa")
            await page.evaluate("window.wallboardNotReloaded = true")

            call = await carrier.call(did_uri(plane.settings, ADL), from_user=CALLER)
            await call.wait_state("CONFIRMED", timeout=5)
            await expect(queue.locator("[data-field=waiting]")).to_have_text("1", timeout=15000)
            await expect(queue.locator("[data-field=longest_wait_seconds]")).not_to_have_text(
                "—")
            await call.hangup()
            await expect(queue.locator("[data-field=waiting]")).to_have_text("0", timeout=10000)
            await expect(queue.locator("[data-field=longest_wait_seconds]")).to_have_text("—")
            assert await page.evaluate("window.wallboardNotReloaded") is True
            record = await plane.ended_record(CALLER)
            assert record.queue_exit == "abandoned"
            assert await agents.state("walbruna") == "paused"
    finally:
        await context.close()


@contextlib.asynccontextmanager
async def abandon_threshold(sessions, slug: str, seconds: int) -> AsyncIterator[None]:
    """The service's 10-second rule shortened for the test, put back after."""
    async with sessions() as session:
        before = await session.scalar(select(Service.abandon_threshold_seconds)
                                      .where(Service.slug == slug))
        await session.execute(update(Service).where(Service.slug == slug)
                              .values(abandon_threshold_seconds=seconds))
        await session.commit()
    try:
        yield
    finally:
        async with sessions() as session:
            await session.execute(update(Service).where(Service.slug == slug)
                                  .values(abandon_threshold_seconds=before))
            await session.commit()


async def number(page: Page, selector: str) -> int:
    return int(await page.locator(selector).inner_text())


async def test_given_open_wallboard_when_calls_answered_and_abandoned_then_sla_and_chart_move(
        plane: Plane, carrier: SipUA, chromium: Browser):
    await add_user(plane.sessions, "wal-sla-live", "supervisor", PASSWORD)
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    today = "section[data-service=agenzia-lavoro][data-period=today]"
    month = "section[data-service=agenzia-lavoro][data-period=month]"
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        async with (abandon_threshold(plane.sessions, "agenzia-lavoro", 2),
                    team(plane.settings, plane.sessions, ["walcarla"]) as agents):
            await set_state(plane.sessions, "walcarla", "pause", "riunione")
            await open_wallboard(page, base, "wal-sla-live")
            await page.evaluate("window.wallboardNotReloaded = true")
            answered = await number(page, f"{today} [data-field=answered]")
            abandoned = await number(page, f"{today} [data-field=abandoned]")
            month_answered = await number(page, f"{month} [data-field=answered]")
            chart_answered = await number(page, "#chart-totals [data-field=answered]")
            chart_abandoned = await number(page, "#chart-totals [data-field=abandoned]")

            # A citizen waits 3 s (past the shortened rule) with the only agent paused.
            waiting = await carrier.call(did_uri(plane.settings, ADL), from_user=CALLER_GONE)
            await waiting.wait_state("CONFIRMED", timeout=5)
            await plane.record_in_state(CALLER_GONE, "queued")
            await asyncio.sleep(3)
            await waiting.hangup()
            await expect(page.locator(f"{today} [data-field=abandoned]")).to_have_text(
                str(abandoned + 1), timeout=15000)
            await expect(page.locator(f"{today} tr[data-figure=P] [data-field=value]")
                         ).not_to_have_text("—")
            await expect(page.locator("#chart-totals [data-field=abandoned]")).to_have_text(
                str(chart_abandoned + 1))

            # The agent is back and answers the next citizen.
            await set_state(plane.sessions, "walcarla", "resume")
            call = await carrier.call(did_uri(plane.settings, ADL), from_user=CALLER_ANSWERED)
            await call.wait_state("CONFIRMED", timeout=5)
            ringing = await agents.phones.wait_incoming_call(timeout=15, account="walcarla")
            await ringing.answer()
            await ringing.wait_state("CONFIRMED", timeout=5)
            await asyncio.sleep(0.5)
            await ringing.hangup()
            await call.wait_disconnected(timeout=5)
            await expect(page.locator(f"{today} [data-field=answered]")).to_have_text(
                str(answered + 1), timeout=15000)
            await expect(page.locator(f"{month} [data-field=answered]")).to_have_text(
                str(month_answered + 1))
            await expect(page.locator(f"{today} tr[data-figure=Tm] [data-field=value]")
                         ).not_to_have_text("—")
            await expect(page.locator("#chart-totals [data-field=answered]")).to_have_text(
                str(chart_answered + 1))
            # The half-hour of the calls has a red and a blue bar in the SVG chart.
            slot = page.locator("#calls-chart g[data-slot='10:00']")
            assert float(await slot.locator("rect.abandoned").get_attribute("height")) > 0
            assert float(await slot.locator("rect.answered").get_attribute("height")) > 0
            assert await page.evaluate("window.wallboardNotReloaded") is True
        gone = await plane.ended_record(CALLER_GONE)
        assert gone.queue_exit == "abandoned"
        assert (await plane.ended_record(CALLER_ANSWERED)).outcome == "answered"
    finally:
        await context.close()


async def test_given_english_browser_then_wallboard_in_english_and_pushed_states_too(
        plane: Plane, chromium: Browser):
    await add_user(plane.sessions, "wal-english", "supervisor", PASSWORD)
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    context = await chromium.new_context(locale="en-GB")
    page = await context.new_page()
    try:
        async with team(plane.settings, plane.sessions, ["waldora"]):
            await set_state(plane.sessions, "waldora", "pause", "riunione")
            await open_wallboard(page, base, "wal-english")
            await expect(page.locator("h1")).to_have_text("Supervisor's wallboard")
            row = page.locator("#agents tr", has_text="waldora")
            await expect(row).to_contain_text("Paused")
            await set_state(plane.sessions, "waldora", "resume")
            await expect(row).to_contain_text("Available", timeout=5000)  # from the socket
            await expect(page.locator("#calls-chart")).to_have_attribute(
                "aria-label", "Today's calls per half-hour")
    finally:
        await context.close()
