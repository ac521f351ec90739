"""A supervisor watches the wallboard in a real browser while a citizen waits in a queue.

Headless Chromium (as in ``test_web_browser.py``) on the real control plane's web
server; the waiting call is a real SIP call from the carrier to Agenzia del
Lavoro, whose only agent is logged in but paused, so the caller waits. The page
is never reloaded: the numbers arrive over ``/supervisore/ws``.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from centralino.agents import set_state
from centralino.web.auth import add_user
from tests.integration.conftest import Plane, did_uri
from tests.integration.test_queue import ADL, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

PASSWORD = "password-del-cruscotto-3"
CALLER = "0461955001"


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
            await page.goto(f"{base}/supervisore")
            await page.fill("input[name=username]", "wal-supervisore")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/supervisore")
            queue = page.locator("#queue-agenzia-lavoro")
            await expect(page.locator("#live-status")).to_have_attribute(
                "data-connected", "1", timeout=5000)
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
