"""Admin page for agents: create with a SIP password typed twice, change, refuse, audit."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from models import Agent, AuditEntry
from tests.integration.web.conftest import Browser, WebDb, login_as

SIP_PASSWORD = "Sip-Segreta-2026"


async def _agent(web_db: WebDb, username: str) -> Agent | None:
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent).where(Agent.username == username))


async def _count(web_db: WebDb, model: type) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


def _new(username: str, **change: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": username, "password": SIP_PASSWORD, "password2": SIP_PASSWORD,
        "display_name": "Giulia Bianchi", "profile": "expert", "skills": "patenti, revisioni",
        "services": "apiae"}
    form.update(change)
    return form


async def test_adm2_given_admin_creates_agent_then_listed_digest_only_and_audited(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-agents", "admin")
    response = await browser.post("/admin/agents", _new("adm2.giulia"))
    assert response.status == 303, await response.text()
    agent = await _agent(web_db, "adm2.giulia")
    ha1 = hashlib.md5(f"adm2.giulia:centralino:{SIP_PASSWORD}".encode()).hexdigest()
    assert agent.sip_ha1 == ha1 and agent.state == "logged_out"
    assert (agent.profile, agent.display_name) == ("expert", "Giulia Bianchi")
    assert sorted(s.skill for s in agent.skills) == ["patenti", "revisioni"]
    assert [s.slug for s in agent.services] == ["apiae"]
    page = await (await browser.get(response.headers["Location"])).text()
    assert 'id="agent-adm2.giulia"' in page and "Non collegato" in page
    assert "patenti, revisioni" in page and "Esperto" in page
    assert SIP_PASSWORD not in page and ha1 not in page
    async with web_db.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "agent/adm2.giulia"))).one()
    assert entry.action == "agent.add" and entry.before is None
    assert entry.after == {"display_name": "Giulia Bianchi", "profile": "expert",
                           "services": ["apiae"], "skills": ["patenti", "revisioni"],
                           "enabled": True, "deleted": False}
    assert SIP_PASSWORD not in str(entry.after) and ha1 not in str(entry.after)


REFUSED = [
    (_new("adm2.x", password2="Altra-password-1"), "non coincidono"),
    (_new("adm2.x", password="corta", password2="corta"), "da 8 a 128"),
    (_new("adm2.x", password="tab\tnella-pass", password2="tab\tnella-pass"), "stampabili"),
    (_new("Adm2.Maiuscolo"), "Nome utente non valido"),
    (_new("../etc/passwd"), "Nome utente non valido"),
    (_new("adm2;[globals]"), "Nome utente non valido"),
    (_new("a" * 33), "Nome utente non valido"),
    (_new(""), "Nome utente non valido"),
    (_new("adm2.x", display_name='Anna" <sip:evil>'), "Nome visualizzato"),
    (_new("adm2.x", display_name="riga\ncallerid=x"), "Nome visualizzato"),
    (_new("adm2.x", profile="capo"), "Profilo non valido"),
    (_new("adm2.x", services=""), "almeno un servizio"),
    (_new("adm2.x", services="inesistente"), "Servizio inesistente"),
    (_new("adm2.x", skills="Patenti"), "Competenza non valida"),
    (_new("adm2.x", skills="ok, ${SHELL(id)}"), "Competenza non valida"),
]


async def test_adm2_given_invalid_agent_forms_then_refused_with_reason_nothing_stored(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-agents-fuzz", "admin")
    await browser.post("/admin/agents", _new("adm2.esiste"))
    agents, entries = await _count(web_db, Agent), await _count(web_db, AuditEntry)
    for form, reason in [*REFUSED, (_new("adm2.esiste"), "esiste già")]:
        response = await browser.post("/admin/agents", form)
        text = await response.text()
        assert response.status == 400 and reason in text, (form, text[-400:])
        assert SIP_PASSWORD not in text  # never sent back, not even to refill the form
    assert await _count(web_db, Agent) == agents
    assert await _count(web_db, AuditEntry) == entries


async def test_adm2_given_agent_changed_then_profile_skills_services_updated_password_kept(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-agents-edit", "admin")
    await browser.post("/admin/agents", _new("adm2.marco", skills="cps", profile="junior"))
    ha1 = (await _agent(web_db, "adm2.marco")).sip_ha1
    response = await browser.post("/admin/agents/adm2.marco", {
        "display_name": "Marco Verdi", "profile": "senior", "skills": "cps geocartografico",
        "services": ["apiae", "trentino-digitale"]})
    assert response.status == 303, await response.text()
    agent = await _agent(web_db, "adm2.marco")
    assert (agent.profile, agent.display_name, agent.sip_ha1) == ("senior", "Marco Verdi", ha1)
    assert sorted(s.skill for s in agent.skills) == ["cps", "geocartografico"]
    assert sorted(s.slug for s in agent.services) == ["apiae", "trentino-digitale"]
    async with web_db.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "agent/adm2.marco").order_by(AuditEntry.id.desc()))).first()
    assert entry.action == "agent.change"
    assert entry.before["profile"] == "junior" and entry.after["profile"] == "senior"
    assert entry.after["services"] == ["apiae", "trentino-digitale"]
    bad = await browser.post("/admin/agents/adm2.marco", {
        "display_name": "Marco", "profile": "senior", "skills": "", "services": []})
    assert bad.status == 400 and "almeno un servizio" in await bad.text()
    missing = await browser.post("/admin/agents/adm2.nessuno", {
        "profile": "junior", "services": "apiae"})
    assert missing.status == 404 and "Operatore inesistente" in await missing.text()


async def test_adm2_given_supervisor_then_sees_agents_but_cannot_create(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-agents-super", "supervisor")
    page = await browser.get("/admin/agents")
    assert page.status == 200 and 'action="/admin/agents"' not in await page.text()
    response = await browser.post("/admin/agents", _new("adm2.intruso"))
    assert response.status == 403
    assert await _agent(web_db, "adm2.intruso") is None
