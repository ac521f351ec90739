"""The admin changes a welcome in a real browser; the next citizen's SIP call hears it.

Headless Chromium (Debian's, driven by Playwright) against the real control
plane's web server, the admin created by the ``centralino user add`` command.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from models import Prompt, Service
from tests.integration.conftest import Plane, did_uri, eventually
from tests.integration.web.test_web_cli import user_cli
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

URU = "0461800133"
PASSWORD = "password-del-browser-7"


async def _welcome(plane: Plane) -> Prompt:
    async with plane.sessions() as session:
        return await session.scalar(select(Prompt).join(Service).where(
            Service.slug == "uru", Prompt.kind == "welcome"))


async def test_given_admin_changes_welcome_in_browser_then_next_call_hears_new_recording(
        plane: Plane, carrier: SipUA, chromium: Browser, database_url: str, tmp_path):
    created = await asyncio.to_thread(
        user_cli, "add", "browser-admin", "--role", "admin", "--password-stdin",
        database_url=database_url, state=tmp_path, stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    old = await _welcome(plane)
    new_text = "Benvenuti all'Ufficio relazioni con il pubblico, versione dal browser."

    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{base}/admin/services/uru")
        assert page.url.startswith(f"{base}/login")  # not logged in yet
        await page.fill("input[name=username]", "browser-admin")
        await page.fill("input[name=password]", "wrong-password-1")
        await page.click("button[type=submit]")
        assert "non validi" in await page.inner_text("[role=alert]")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/admin/services/uru")
        await page.fill("#prompt-welcome textarea", new_text)
        await page.click("#prompt-welcome form:first-of-type button")
        await page.wait_for_url("**/admin/services/uru?ok=saved")
        assert "vale dalla prossima chiamata" in await page.inner_text("[role=status]")
        audio = page.locator("#prompt-welcome audio")
        new = await _welcome(plane)
        assert new.text == new_text and new.sound != old.sound
        assert await audio.get_attribute("src") == f"/admin/sounds/{new.sound}"
        served = await context.request.get(f"{base}/admin/sounds/{new.sound}")
        assert served.status == 200 and (await served.body())[:4] == b"RIFF"
    finally:
        await context.close()

    try:
        call = await carrier.call(did_uri(plane.settings, URU), from_user="0461300501")
        await call.wait_state("CONFIRMED", timeout=5)
        await eventually(lambda: _true(plane.heard(new.sound)), 10, "the new welcome")
        assert not plane.heard(old.sound)
        await call.hangup()
        await plane.ended_record("0461300501")
    finally:
        # Later tests of this session expect the short welcome again.
        async with plane.sessions() as session:
            prompt = await session.get(Prompt, old.id)
            prompt.text, prompt.sound = old.text, old.sound
            await session.commit()


async def _true(value: bool) -> bool:
    return value
