"""An admin builds a submenu in a real browser; the next SIP call goes 3 > 1 through it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from centralino.web import menu_changes
from centralino.web.auth import add_user
from models import Menu, MenuOption, Queue, Service, WebUser
from tests.integration.conftest import Plane, did_uri, eventually
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

PASSWORD = "password-del-sottomenu-8"


async def _root(plane: Plane) -> Menu:
    async with plane.sessions() as session:
        return await session.scalar(select(Menu).join(Service).where(
            Service.slug == "apiae", Menu.parent_id.is_(None)))


async def _option(plane: Plane, menu_id: int, digit: str) -> MenuOption | None:
    async with plane.sessions() as session:
        return await session.scalar(select(MenuOption).where(
            MenuOption.menu_id == menu_id, MenuOption.digit == digit))


async def test_given_admin_builds_submenu_in_browser_then_next_call_follows_it(
        plane: Plane, carrier: SipUA, chromium: Browser):
    async with plane.sessions() as session:
        if not await session.scalar(select(WebUser.id).where(WebUser.username == "mf-admin")):
            await add_user(plane.sessions, "mf-admin", "admin", PASSWORD)
        appointments = await session.scalar(select(Queue.id).where(
            Queue.slug == "apiae-appuntamenti"))
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    root = await _root(plane)
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{base}/login")
        await page.fill("input[name=username]", "mf-admin")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.goto(f"{base}/admin/services/apiae")
        new = f"#option-new-{root.id}"
        await page.fill(f"{new} input[name=digit]", "3")
        await page.fill(f"{new} input[name=label]", "Altri servizi")
        await page.select_option(f"{new} select[name=action]", "submenu")
        await page.click(f"{new} button")
        await page.wait_for_url("**/admin/services/apiae?ok=saved")
        opener = await _option(plane, root.id, "3")
        sub = opener.submenu_id
        assert "non ancora registrato" in await page.inner_text(f"#menu-{sub}")

        await page.fill(f"#prompt-submenu{sub} textarea", "Per i permessi prema uno.")
        await page.click(f"#prompt-submenu{sub} button")
        await page.wait_for_url("**/admin/services/apiae?ok=saved")
        assert await page.locator(f"#prompt-submenu{sub} audio").count() == 1

        inner = f"#option-new-{sub}"
        await page.fill(f"{inner} input[name=digit]", "1")
        await page.fill(f"{inner} input[name=label]", "Permessi")
        await page.select_option(f"{inner} select[name=action]", "queue")
        await page.select_option(f"{inner} select[name=queue]", "apiae-appuntamenti")
        await page.fill(f"{inner} input[name=skill]", "permessi")
        await page.click(f"{inner} button")
        await page.wait_for_url("**/admin/services/apiae?ok=saved")
        assert "Tasto 1: Permessi" in await page.inner_text(f"#menu-{sub}")
    finally:
        await context.close()

    try:
        call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user="0461370101")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461370101", "menu")
        await call.send_dtmf("3")

        async def in_submenu():
            record = await plane.call_record(caller_number="0461370101")
            return record if record and record.ivr_path == "3" else None

        await eventually(in_submenu, 10, "the caller in the submenu")
        await call.send_dtmf("1")
        record = await plane.record_in_state("0461370101", "voicemail")  # nobody logged in
        await call.hangup()
        assert record.ivr_path == "3>1" and record.topic == "permessi"
        assert record.queue_id == appointments
    finally:
        opener = await _option(plane, root.id, "3")
        if opener is not None:
            choice = await _option(plane, opener.submenu_id, "1")
            if choice is not None:
                await menu_changes.delete_option(plane.sessions, "test", "apiae", choice.id)
            await menu_changes.delete_option(plane.sessions, "test", "apiae", opener.id)
