"""Agents disabled, deleted, restored and given a new SIP password; sectors added, renamed,
retired, reordered and restored; refused input changes nothing. Both databases."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from centralino.agents import StateRefused, agent_accounts, set_state
from centralino.desk import sectors_of
from centralino.web.auth import add_user
from models import Agent, AuditEntry, Call, Service, ServiceSector
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as, make_app

SIP_PASSWORD = "Sip-Ciclo-2026"


async def _agent(web_db: WebDb, username: str) -> Agent:
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent).where(Agent.username == username))


async def _entries(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def _last_entry(web_db: WebDb, key: str) -> AuditEntry:
    async with web_db.sessions() as session:
        return await session.scalar(select(AuditEntry).where(AuditEntry.object_key == key)
                                    .order_by(AuditEntry.id.desc()).limit(1))


async def _create(browser: Browser, username: str) -> None:
    response = await browser.post("/admin/agents", {
        "username": username, "password": SIP_PASSWORD, "password2": SIP_PASSWORD,
        "display_name": "Paola Neri", "profile": "junior", "skills": "patenti",
        "services": "motorizzazione"})
    assert response.status == 303, await response.text()


async def _answered_call(web_db: WebDb, agent_id: int) -> str:
    call_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with web_db.sessions() as session:
        service_id = await session.scalar(select(Service.id).where(
            Service.slug == "motorizzazione"))
        session.add(Call(id=call_id, service_id=service_id, did="0461492006",
                         caller_number="0461555001", channel_id=f"ch-{call_id}",
                         arrived_at=now, queue_entered_at=now, answered_at=now, ended_at=now,
                         agent_id=agent_id, outcome="answered", classification="Patenti"))
        await session.commit()
    return call_id


async def test_life_given_agent_disabled_then_logged_out_out_of_pjsip_and_enabled_again(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-1", "admin")
    await _create(browser, "life.paola")
    await set_state(web_db.sessions, "life.paola", "login")
    response = await browser.post("/admin/agents/life.paola/disable")
    assert response.status == 303, await response.text()
    agent = await _agent(web_db, "life.paola")
    assert (agent.enabled, agent.state) == (False, "logged_out")
    assert "life.paola" not in {a.username for a in await agent_accounts(web_db.sessions)}
    page = await (await browser.get("/admin/agents")).text()
    assert "Disattivato" in page and 'action="/admin/agents/life.paola/enable"' in page
    entry = await _last_entry(web_db, "agent/life.paola")
    assert entry.action == "agent.disable" and entry.before["enabled"] is True
    # Its phone cannot log it back in (*45 goes through the same function).
    with pytest.raises(StateRefused, match="disabled"):
        await set_state(web_db.sessions, "life.paola", "login")
    assert (await browser.post("/admin/agents/life.paola/enable")).status == 303
    assert (await _agent(web_db, "life.paola")).enabled
    assert "life.paola" in {a.username for a in await agent_accounts(web_db.sessions)}


async def test_life_given_agent_disabled_or_deleted_then_its_desk_login_closes_with_it(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-desk", "admin")
    await _create(browser, "life.desk")
    await add_user(web_db.sessions, "life-desk", "agent", PASSWORD, agent="life.desk")
    async with TestClient(TestServer(make_app(web_db))) as client:
        desk = Browser(client)
        assert (await desk.login("life-desk")).status == 303
        assert (await desk.get("/agente")).status == 200
        assert (await browser.post("/admin/agents/life.desk/disable")).status == 303
        # The signed-in desk is closed at its next request, and signing in again is refused.
        assert (await desk.get("/agente")).headers["Location"].startswith("/login")
        refused = await desk.login("life-desk")
        assert refused.status != 303 and "non validi" in await refused.text()
        assert (await browser.post("/admin/agents/life.desk/enable")).status == 303
        assert (await desk.login("life-desk")).status == 303
        assert (await desk.get("/agente")).status == 200
        assert (await browser.post("/admin/agents/life.desk/delete")).status == 303
        assert (await desk.get("/agente")).headers["Location"].startswith("/login")
        assert (await desk.login("life-desk")).status != 303


async def test_life_given_agent_on_call_then_disable_refused_until_the_call_ends(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-2", "admin")
    await _create(browser, "life.busy")
    async with web_db.sessions() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == "life.busy"))
        agent.state = "on_call"
        await session.commit()
    entries = await _entries(web_db)
    for action in ("disable", "delete"):
        response = await browser.post(f"/admin/agents/life.busy/{action}")
        assert response.status == 400 and "in chiamata" in await response.text()
    agent = await _agent(web_db, "life.busy")
    assert (agent.enabled, agent.deleted_at, agent.state) == (True, None, "on_call")
    assert await _entries(web_db) == entries


async def test_life_given_agent_deleted_then_calls_keep_it_and_restore_brings_it_back(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-3", "admin")
    await _create(browser, "life.ugo")
    agent_id = (await _agent(web_db, "life.ugo")).id
    call_id = await _answered_call(web_db, agent_id)
    response = await browser.post("/admin/agents/life.ugo/delete")
    assert response.status == 303 and response.headers["Location"].endswith("pending")
    agent = await _agent(web_db, "life.ugo")
    assert agent.deleted_at is not None and not agent.enabled
    async with web_db.sessions() as session:
        assert (await session.get(Call, call_id)).agent_id == agent_id  # history intact
    page = await (await browser.get("/admin/agents")).text()
    assert 'id="agent-life.ugo"' not in page
    again = await browser.post("/admin/agents", {
        "username": "life.ugo", "password": SIP_PASSWORD, "password2": SIP_PASSWORD,
        "display_name": "Altro", "profile": "junior", "services": "apiae"})
    assert again.status == 400 and "eliminato" in await again.text()
    assert (await browser.post("/admin/agents/life.ugo/disable")).status == 404
    entry = await _last_entry(web_db, "agent/life.ugo")
    assert entry.action == "agent.delete"
    audit = await (await browser.get("/admin/audit?object=agent/life.ugo")).text()
    assert f'action="/admin/audit/{entry.id}/restore"' in audit
    restored = await browser.post(f"/admin/audit/{entry.id}/restore")
    assert restored.status == 303 and "/admin/agents" in restored.headers["Location"]
    agent = await _agent(web_db, "life.ugo")
    assert (agent.deleted_at, agent.enabled, agent.display_name) == (None, True, "Paola Neri")


async def test_life_given_profile_changed_then_earlier_version_restored_from_audit_log(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-4", "admin")
    await _create(browser, "life.rita")
    changed = await browser.post("/admin/agents/life.rita", {
        "display_name": "Rita Blu", "profile": "senior", "skills": "revisioni",
        "services": ["apiae", "motorizzazione"]})
    assert changed.status == 303
    entry = await _last_entry(web_db, "agent/life.rita")
    assert (await browser.post(f"/admin/audit/{entry.id}/restore")).status == 303
    agent = await _agent(web_db, "life.rita")
    assert (agent.display_name, agent.profile) == ("Paola Neri", "junior")
    assert [s.skill for s in agent.skills] == ["patenti"]
    assert [s.slug for s in agent.services] == ["motorizzazione"]
    assert (await _last_entry(web_db, "agent/life.rita")).action == "restore"


async def test_life_given_new_sip_password_then_only_ha1_changes_and_nothing_of_it_audited(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-5", "admin")
    await _create(browser, "life.sara")
    new = "Nuova-Sip-2027"
    mismatch = await browser.post("/admin/agents/life.sara/password",
                                  {"password": new, "password2": "Diversa-2027"})
    assert mismatch.status == 400 and "non coincidono" in await mismatch.text()
    short = await browser.post("/admin/agents/life.sara/password",
                               {"password": "corta", "password2": "corta"})
    assert short.status == 400
    ok = await browser.post("/admin/agents/life.sara/password",
                            {"password": new, "password2": new})
    assert ok.status == 303
    ha1 = hashlib.md5(f"life.sara:centralino:{new}".encode()).hexdigest()
    assert (await _agent(web_db, "life.sara")).sip_ha1 == ha1
    entry = await _last_entry(web_db, "agent/life.sara")
    assert entry.action == "agent.password" and entry.before is None and entry.after is None
    audit = await (await browser.get("/admin/audit")).text()
    assert new not in audit and ha1 not in audit
    missing = await browser.post("/admin/agents/life.nessuno/password",
                                 {"password": new, "password2": new})
    assert missing.status == 404


async def test_life_given_no_csrf_or_wrong_role_then_403_and_agent_unchanged(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-6", "admin")
    await _create(browser, "life.tea")
    for path in ("/admin/agents/life.tea/disable", "/admin/agents/life.tea/delete",
                 "/admin/settori", "/admin/agents/life.tea/password"):
        response = await browser.post(path, {"nome": "X", "servizio": "apiae"}, csrf=False)
        assert response.status == 403, path
    browser.client.session.cookie_jar.clear()
    await add_user(web_db.sessions, "life-super", "supervisor", PASSWORD)
    await browser.login("life-super")
    await browser.get("/")
    for path in ("/admin/agents/life.tea/disable", "/admin/agents/life.tea/delete"):
        assert (await browser.post(path)).status == 403
    assert (await browser.get("/admin/settori")).status == 403
    agent = await _agent(web_db, "life.tea")
    assert agent.enabled and agent.deleted_at is None


async def _sectors(web_db: WebDb, slug: str) -> list[ServiceSector]:
    async with web_db.sessions() as session:
        return list(await session.scalars(select(ServiceSector).join(
            Service, ServiceSector.service_id == Service.id).where(Service.slug == slug)
            .order_by(ServiceSector.position, ServiceSector.name)))


async def test_life_given_sectors_added_renamed_moved_retired_then_desk_list_follows(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-7", "admin")
    added = await browser.post("/admin/settori", {"servizio": "uru", "nome": "  Concorsi  "})
    assert added.status == 303, await added.text()
    sectors = await _sectors(web_db, "uru")
    new = next(s for s in sectors if s.name == "Concorsi")
    assert sectors[-1].id == new.id  # at the end of the list
    assert (await browser.post(f"/admin/settori/{new.id}/su")).status == 303
    names = [s.name for s in await _sectors(web_db, "uru")]
    assert names.index("Concorsi") == len(names) - 2
    renamed = await browser.post(f"/admin/settori/{new.id}/nome", {"nome": "Concorsi pubblici"})
    assert renamed.status == 303
    async with web_db.sessions() as session:
        service_id = await session.scalar(select(Service.id).where(Service.slug == "uru"))
    async with web_db.sessions() as session:
        assert "Concorsi pubblici" in await sectors_of(session, service_id)
    retired = await browser.post(f"/admin/settori/{new.id}/ritira")
    assert retired.status == 303
    async with web_db.sessions() as session:
        assert "Concorsi pubblici" not in await sectors_of(session, service_id)
    page = await (await browser.get("/admin/settori")).text()
    assert "Ritirato" in page and f'action="/admin/settori/{new.id}/riattiva"' in page
    entry = await _last_entry(web_db, f"uru/sector/{new.id}")
    assert entry.before["retired"] is False and entry.after["retired"] is True
    assert (await browser.post(f"/admin/audit/{entry.id}/restore")).status == 303
    async with web_db.sessions() as session:
        assert "Concorsi pubblici" in await sectors_of(session, service_id)


async def test_life_given_call_classified_then_sector_renamed_or_retired_call_keeps_it(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-8", "admin")
    await _create(browser, "life.vito")
    call_id = await _answered_call(web_db, (await _agent(web_db, "life.vito")).id)
    await browser.post("/admin/settori", {"servizio": "motorizzazione", "nome": "Nautica"})
    sector = next(s for s in await _sectors(web_db, "motorizzazione") if s.name == "Nautica")
    async with web_db.sessions() as session:
        call = await session.get(Call, call_id)
        call.classification = "Nautica"
        await session.commit()
    await browser.post(f"/admin/settori/{sector.id}/nome", {"nome": "Diporto"})
    await browser.post(f"/admin/settori/{sector.id}/ritira")
    async with web_db.sessions() as session:
        assert (await session.get(Call, call_id)).classification == "Nautica"


HOSTILE_SECTORS = [
    ("", "vuota"),
    ("x" * 65, "supera 64"),
    ("riga\nnuova", "una riga"),
    ("nul\x00", "una riga"),
    ("patenti", "già il settore"),  # Motorizzazione has "Patenti": case does not matter
]


async def test_life_given_hostile_sector_names_then_refused_with_reason_nothing_changed(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-9", "admin")
    before = [(s.id, s.name, s.position) for s in await _sectors(web_db, "motorizzazione")]
    entries = await _entries(web_db)
    target = before[1][0]
    for name, reason in HOSTILE_SECTORS:
        added = await browser.post("/admin/settori", {"servizio": "motorizzazione",
                                                      "nome": name})
        assert added.status == 400 and reason in await added.text(), name
        renamed = await browser.post(f"/admin/settori/{target}/nome", {"nome": name})
        assert renamed.status == 400 and reason in await renamed.text(), name
    markup = await browser.post("/admin/settori", {"servizio": "motorizzazione",
                                                   "nome": "<script>alert(1)</script>"})
    assert markup.status == 303  # a name like any other, shown escaped
    page = await (await browser.get("/admin/settori")).text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    sector = next(s for s in await _sectors(web_db, "motorizzazione") if "script" in s.name)
    await browser.post(f"/admin/settori/{sector.id}/ritira")
    entries += 2
    assert (await browser.post("/admin/settori", {"servizio": "nessuno", "nome": "X"})
            ).status == 404
    for path in ("/admin/settori/999999/nome", "/admin/settori/abc/ritira",
                 "/admin/settori/99999999999/su"):
        assert (await browser.post(path, {"nome": "X"})).status == 404, path
    after = [(s.id, s.name, s.position) for s in await _sectors(web_db, "motorizzazione")
             if s.id != sector.id]
    assert after == before and await _entries(web_db) == entries


async def test_life_given_last_active_sector_then_retiring_it_refused(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "life-admin-10", "admin")
    sectors = await _sectors(web_db, "valutazione-ambientale")
    for sector in sectors[:-1]:
        assert (await browser.post(f"/admin/settori/{sector.id}/ritira")).status == 303
    last = await browser.post(f"/admin/settori/{sectors[-1].id}/ritira")
    assert last.status == 400 and "ultimo settore attivo" in await last.text()
    for sector in sectors[:-1]:
        await browser.post(f"/admin/settori/{sector.id}/riattiva")
    assert all(s.retired_at is None for s in await _sectors(web_db, "valutazione-ambientale"))
