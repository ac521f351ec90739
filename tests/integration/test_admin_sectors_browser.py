"""Sectors changed in a real browser show at once on the agent's desk.

Headless Chromium against the running control plane's web server: the admin adds
a sector to URP, moves it up and retires another on ``/admin/settori``; the
agent's registration form on ``/agente`` then offers the new list, in its order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from centralino.agents import add_agent, remove_agent
from centralino.web.auth import add_user
from models import Agent, Call, Service, ServiceSector, WebUser
from tests.integration.conftest import Plane

pytestmark = pytest.mark.asterisk

PASSWORD = "password-settori-8"


async def _login(page: Page, base: str, username: str, landing: str) -> None:
    await page.goto(f"{base}{landing}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{landing}")


async def _user(plane: Plane, username: str, role: str, agent: str | None = None) -> None:
    async with plane.sessions() as session:
        if await session.scalar(select(WebUser.id).where(WebUser.username == username)):
            return
    await add_user(plane.sessions, username, role, PASSWORD, agent=agent)


async def _answered_call(plane: Plane, agent: str) -> None:
    now = datetime.now(UTC)
    call_id = str(uuid.uuid4())
    async with plane.sessions() as session:
        agent_id = await session.scalar(select(Agent.id).where(Agent.username == agent))
        service_id = await session.scalar(select(Service.id).where(Service.slug == "uru"))
        session.add(Call(id=call_id, service_id=service_id, did="0461800133",
                         caller_number="0461300888", channel_id=f"ch-{call_id}",
                         arrived_at=now, queue_entered_at=now, answered_at=now, ended_at=now,
                         agent_id=agent_id, outcome="answered"))
        await session.commit()


async def _sector(plane: Plane, name: str) -> ServiceSector:
    async with plane.sessions() as session:
        return await session.scalar(select(ServiceSector).join(
            Service, ServiceSector.service_id == Service.id).where(
            Service.slug == "uru", ServiceSector.name == name))


async def test_sectors_given_changed_in_browser_then_desk_form_offers_new_list_at_once(
        plane: Plane, chromium: Browser, database_url: str):
    port = plane.running.web_runner.addresses[0][1]
    base = f"http://{plane.settings.bind_address}:{port}"
    agent = f"set.{database_url.split(':', 1)[0][:6]}"
    new_name = f"Concorsi {agent}"
    await _user(plane, "set-browser-admin", "admin")
    await add_agent(plane.sessions, agent, "Settori-Sip-2026", services=["uru"])
    await _user(plane, f"{agent}-web", "agent", agent)
    await _answered_call(plane, agent)
    admin = await chromium.new_context()
    desk = await chromium.new_context()
    try:
        page = await admin.new_page()
        await _login(page, base, "set-browser-admin", "/admin/settori")
        await page.select_option("#settore-nuovo select", "uru")
        await page.fill("#settore-nuovo input[name=nome]", new_name)
        await page.click("#settore-nuovo button")
        await page.wait_for_url("**/admin/settori?ok=aggiunto")
        assert "propone da subito" in await page.inner_text("[role=status]")
        added = await _sector(plane, new_name)
        await page.click(f"#settore-{added.id} form[action$='/su'] button")
        await page.wait_for_url("**/admin/settori?ok=salvato")
        retired = await _sector(plane, "Reclamo")
        await page.click(f"#settore-{retired.id} form[action$='/ritira'] button")
        await page.wait_for_url("**/admin/settori?ok=salvato")
        assert "Ritirato" in await page.inner_text(f"#settore-{retired.id}")

        agent_page = await desk.new_page()
        await _login(agent_page, base, f"{agent}-web", "/agente")
        options = await agent_page.locator("#registrazione select option").all_inner_texts()
        assert new_name in options and "Reclamo" not in options
        assert options.index(new_name) == options.index("Altro") - 1  # moved up one place

        await page.click(f"#settore-{retired.id} form[action$='/riattiva'] button")
        await page.wait_for_url("**/admin/settori?ok=salvato")
        await page.click(f"#settore-{added.id} form[action$='/ritira'] button")
        await page.wait_for_url("**/admin/settori?ok=salvato")
        await agent_page.reload()
        options = await agent_page.locator("#registrazione select option").all_inner_texts()
        assert "Reclamo" in options and new_name not in options
    finally:
        await admin.close()
        await desk.close()
        async with plane.sessions() as session:
            for call in await session.scalars(select(Call).join(
                    Agent, Call.agent_id == Agent.id).where(Agent.username == agent)):
                await session.delete(call)
            await session.commit()
        await remove_agent(plane.sessions, agent)
