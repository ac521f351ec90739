"""The desk's forward form against a real SMTP server (aiosmtpd) on both databases, and the
sectors' mailboxes page."""

from __future__ import annotations

import email
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from centralino.agents import add_agent
from centralino.web import MAX_BODY_BYTES, add_web
from centralino.web.auth import add_user
from centralino.web.desk_forward import MAIL_SETTINGS
from models import Agent, AuditEntry, Call, Forward, Service, ServiceSector
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as

ROME = ZoneInfo("Europe/Rome")


@dataclass
class Inbox:
    """aiosmtpd handler keeping every message and its envelope recipients."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd names it
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(
            envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    inbox: Inbox
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail() -> Iterator[Mail]:
    server = Mail(Inbox(), _free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def desk_browser(web_db: WebDb, mail: Mail) -> AsyncIterator[Browser]:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_web(app, web_db.sessions, web_db.sounds_dir)
    app[MAIL_SETTINGS] = web_db.settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=mail.port, smtp_starttls=False, smtp_user="",
        smtp_sender="centralino@provincia.tn.it")
    async with TestClient(TestServer(app)) as client:
        yield Browser(client)


async def _agent_login(browser: Browser, web_db: WebDb, name: str,
                       services: tuple[str, ...] = ("motorizzazione",)) -> int:
    await add_agent(web_db.sessions, name, "Segreto-2026", services=list(services))
    await add_user(web_db.sessions, f"{name}-web", "agent", PASSWORD, agent=name)
    assert (await browser.login(f"{name}-web")).status == 303
    await browser.get("/agente")
    async with web_db.sessions() as session:
        return await session.scalar(select(Agent.id).where(Agent.username == name))


async def _service_id(web_db: WebDb, slug: str) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(Service.id).where(Service.slug == slug))


async def _call(web_db: WebDb, caller: str, agent_id: int | None, *,
                slug: str = "motorizzazione", outcome: str = "answered",
                answered_at: datetime | None = None) -> str:
    now = datetime.now(UTC)
    call_id = str(uuid.uuid4())
    async with web_db.sessions() as session:
        session.add(Call(id=call_id, service_id=await _service_id(web_db, slug),
                         did="0461492006", caller_number=caller, channel_id=f"ch-{call_id}",
                         arrived_at=now - timedelta(minutes=3),
                         queue_entered_at=now - timedelta(minutes=2),
                         answered_at=(answered_at or now - timedelta(minutes=1))
                         if agent_id else None,
                         ended_at=now, agent_id=agent_id, outcome=outcome))
        await session.commit()
    return call_id


async def _set_mailbox(web_db: WebDb, sector: str, mailbox: str | None) -> None:
    service_id = await _service_id(web_db, "motorizzazione")
    async with web_db.sessions() as session:
        await session.execute(update(ServiceSector).where(
            ServiceSector.service_id == service_id, ServiceSector.name == sector)
            .values(mailbox=mailbox))
        await session.commit()


async def _set_service_mailbox(web_db: WebDb, mailbox: str | None) -> None:
    async with web_db.sessions() as session:
        await session.execute(update(Service).where(Service.slug == "motorizzazione")
                              .values(mailbox_email=mailbox))
        await session.commit()


async def _forwards(web_db: WebDb, call_id: str) -> list[Forward]:
    async with web_db.sessions() as session:
        return list(await session.scalars(select(Forward).where(Forward.call_id == call_id)
                                          .order_by(Forward.id)))


def _form(**changes: str) -> dict[str, str]:
    form = {"cognome": "Rossi", "nome": "Maria", "data": "2026-11-27", "ora": "10:42",
            "persona": "ing. Bianchi", "motivo": "Chiede lo stato della pratica di "
            "immatricolazione.\nRichiamare dopo le 14.", "telefono": "0461 555123",
            "email": "maria.rossi@example.it", "settore": "Patenti", "referente": ""}
    form.update(changes)
    return form


def _body(message: Message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


async def test_dk2_given_answered_call_then_form_is_prefilled_and_mail_reaches_sector_box(
        desk_browser: Browser, web_db: WebDb, mail: Mail):
    agent_id = await _agent_login(desk_browser, web_db, "dk2-invia")
    answered = datetime(2026, 11, 27, 9, 42, tzinfo=UTC)  # 10:42 in Rome
    call_id = await _call(web_db, "0461777101", agent_id, answered_at=answered)
    await _set_mailbox(web_db, "Patenti", "patenti@motorizzazione.tn.it")

    desk_page = await (await desk_browser.get("/agente")).text()
    assert f"/agente/chiamate/{call_id}/inoltro" in desk_page
    page = await desk_browser.get(f"/agente/chiamate/{call_id}/inoltro")
    text = await page.text()
    assert page.status == 200
    assert 'name="data" required value="2026-11-27"' in text
    assert 'name="ora" required value="10:42"' in text
    assert 'name="telefono" maxlength="32" required value="0461777101"' in text
    assert "patenti@motorizzazione.tn.it" in text

    sent = await desk_browser.post(f"/agente/chiamate/{call_id}/inoltro", _form())
    assert sent.status == 303 and sent.headers["Location"] == "/agente?ok=inoltro"
    ((recipients, message),) = mail.inbox.messages
    assert recipients == ["patenti@motorizzazione.tn.it"]
    assert message["To"] == "patenti@motorizzazione.tn.it"
    assert message["Reply-To"] == "maria.rossi@example.it"
    assert "Rossi Maria" in message["Subject"] and "ing. Bianchi" in message["Subject"]
    body = _body(message)
    for line in ("Cognome: Rossi", "Nome: Maria", "Data: 27/11/2026", "Ora: 10:42",
                 "Persona cercata: ing. Bianchi", "Telefono: 0461 555123",
                 "E-mail: maria.rossi@example.it", "Settore: Patenti",
                 "Richiamare dopo le 14.", call_id):
        assert line in body
    (stored,) = await _forwards(web_db, call_id)
    assert stored.sent_at is not None and stored.error == "" and stored.attempts == 1
    assert (stored.username, stored.agent_id) == ("dk2-invia-web", agent_id)
    assert "Modulo di inoltro inviato." in await (await desk_browser.get(
        "/agente?ok=inoltro")).text()

    # A typed referent address wins over the sector's box.
    to_referent = await desk_browser.post(f"/agente/chiamate/{call_id}/inoltro", _form(
        settore="", referente="g.bianchi@provincia.tn.it", email=""))
    assert to_referent.status == 303
    recipients, message = mail.inbox.messages[1]
    assert recipients == ["g.bianchi@provincia.tn.it"] and message["Reply-To"] is None


async def test_dk2_given_smtp_down_then_form_kept_with_error_and_retry_sends_it_once(
        desk_browser: Browser, web_db: WebDb, mail: Mail):
    agent_id = await _agent_login(desk_browser, web_db, "dk2-giu")
    call_id = await _call(web_db, "0461777102", agent_id)
    mail.stop()
    kept = await desk_browser.post(f"/agente/chiamate/{call_id}/inoltro",
                                   _form(settore="", referente="uru@provincia.tn.it"))
    assert kept.status == 303 and kept.headers["Location"] == "/agente?ok=inoltro-fallito"
    (stored,) = await _forwards(web_db, call_id)
    assert stored.sent_at is None and stored.error and stored.attempts == 1
    assert stored.surname == "Rossi" and stored.recipient == "uru@provincia.tn.it"
    text = await (await desk_browser.get("/agente?ok=inoltro-fallito")).text()
    assert "da reinviare" in text and "uru@provincia.tn.it" in text
    assert f"/agente/inoltri/{stored.id}/reinvia" in text

    still_down = await desk_browser.post(f"/agente/inoltri/{stored.id}/reinvia")
    assert still_down.headers["Location"] == "/agente?ok=inoltro-fallito"
    assert (await _forwards(web_db, call_id))[0].attempts == 2

    mail.start()
    retried = await desk_browser.post(f"/agente/inoltri/{stored.id}/reinvia")
    assert retried.status == 303 and retried.headers["Location"] == "/agente?ok=inoltro"
    again = await desk_browser.post(f"/agente/inoltri/{stored.id}/reinvia")
    assert again.status == 303
    ((recipients, message),) = mail.inbox.messages
    assert recipients == ["uru@provincia.tn.it"] and "Cognome: Rossi" in _body(message)
    (stored,) = await _forwards(web_db, call_id)
    assert stored.sent_at is not None and stored.error == "" and stored.attempts == 3
    text = await (await desk_browser.get("/agente")).text()
    assert f"/agente/inoltri/{stored.id}/reinvia" not in text


@pytest.mark.parametrize("field_name, value", [
    ("cognome", "Rossi\r\nBcc: spia@example.org"),
    ("nome", "Maria\nSubject: falso"),
    ("persona", "Bianchi\rBcc: spia@example.org"),
    ("email", "maria@example.it\r\nBcc: spia@example.org"),
    ("email", "Maria <maria@example.it>, spia@example.org"),
    ("referente", "uru@provincia.tn.it\nBcc: spia@example.org"),
    ("referente", "uru@provincia.tn.it, spia@example.org"),
    ("telefono", "0461\n555"),
    ("cognome", "x" * 101),
    ("data", "27/11/2026"),
    ("ora", "25:00"),
    ("motivo", ""),
])
async def test_dk2_given_header_injection_or_bad_field_then_refused_and_nothing_stored(
        desk_browser: Browser, web_db: WebDb, mail: Mail, field_name: str, value: str):
    agent_id = await _agent_login(desk_browser, web_db, f"dk2-inj-{uuid.uuid4().hex[:8]}")
    call_id = await _call(web_db, "0461777103", agent_id)
    refused = await desk_browser.post(f"/agente/chiamate/{call_id}/inoltro",
                                      _form(**{"settore": "",
                                               "referente": "uru@provincia.tn.it",
                                               field_name: value}))
    assert refused.status == 400
    assert 'role="alert"' in await refused.text()
    assert await _forwards(web_db, call_id) == []
    assert mail.inbox.messages == []


async def test_dk2_given_newlines_in_reason_then_only_in_body_never_a_header(
        desk_browser: Browser, web_db: WebDb, mail: Mail):
    agent_id = await _agent_login(desk_browser, web_db, "dk2-motivo")
    call_id = await _call(web_db, "0461777104", agent_id)
    sent = await desk_browser.post(f"/agente/chiamate/{call_id}/inoltro", _form(
        settore="", referente="uru@provincia.tn.it",
        motivo="Pratica ferma.\r\nBcc: spia@example.org\r\n\r\nFine."))
    assert sent.status == 303
    ((recipients, message),) = mail.inbox.messages
    assert recipients == ["uru@provincia.tn.it"]
    assert message["Bcc"] is None
    assert "Bcc: spia@example.org" in _body(message)


async def test_dk2_given_sector_without_mailbox_or_someone_elses_call_then_refused(
        desk_browser: Browser, web_db: WebDb, mail: Mail):
    await add_agent(web_db.sessions, "dk2-altro", "Segreto-2026", services=["motorizzazione"])
    async with web_db.sessions() as session:
        other = await session.scalar(select(Agent.id).where(Agent.username == "dk2-altro"))
    theirs = await _call(web_db, "0461777105", other)
    agent_id = await _agent_login(desk_browser, web_db, "dk2-senza")
    mine = await _call(web_db, "0461777106", agent_id)
    await _set_mailbox(web_db, "Segreteria", None)
    await _set_service_mailbox(web_db, None)
    no_box = await desk_browser.post(f"/agente/chiamate/{mine}/inoltro",
                                     _form(settore="Segreteria"))
    assert no_box.status == 400
    await _set_service_mailbox(web_db, "csd.mctc@infotn.it")
    assert "né il servizio hanno una casella" in await no_box.text()
    nowhere = await desk_browser.post(f"/agente/chiamate/{mine}/inoltro", _form(settore=""))
    assert nowhere.status == 400 and "referente" in await nowhere.text()
    assert (await desk_browser.get(f"/agente/chiamate/{theirs}/inoltro")).status == 404
    stolen = await desk_browser.post(f"/agente/chiamate/{theirs}/inoltro",
                                     _form(settore="", referente="uru@provincia.tn.it"))
    assert stolen.status == 404
    forged = await desk_browser.post(f"/agente/chiamate/{mine}/inoltro",
                                     _form(settore="", referente="uru@provincia.tn.it"),
                                     csrf=False)
    assert forged.status == 403
    assert await _forwards(web_db, mine) == [] and await _forwards(web_db, theirs) == []
    assert mail.inbox.messages == []


async def test_dk2_given_sector_without_mailbox_then_the_services_mailbox_receives_it(
        desk_browser: Browser, web_db: WebDb, mail: Mail):
    agent_id = await _agent_login(desk_browser, web_db, "dk2-ripiego")
    mine = await _call(web_db, "0461777107", agent_id)
    await _set_mailbox(web_db, "Segreteria", None)
    await _set_service_mailbox(web_db, "csd.mctc@infotn.it")
    sent = await desk_browser.post(f"/agente/chiamate/{mine}/inoltro",
                                   _form(settore="Segreteria"))
    assert sent.status == 303
    ((recipients, _message),) = mail.inbox.messages
    assert recipients == ["csd.mctc@infotn.it"]
    assert [f.recipient for f in await _forwards(web_db, mine)] == ["csd.mctc@infotn.it"]


async def test_dk2_given_admin_when_setting_sector_mailbox_then_saved_audited_and_validated(
        desk_browser: Browser, web_db: WebDb):
    await login_as(desk_browser, web_db, "dk2-admin", "admin")
    assert 'href="/admin/settori"' in await (await desk_browser.get("/")).text()
    page = await desk_browser.get("/admin/settori")
    assert page.status == 200 and "Revisioni e collaudi" in await page.text()
    service_id = await _service_id(web_db, "motorizzazione")
    async with web_db.sessions() as session:
        sector_id = await session.scalar(select(ServiceSector.id).where(
            ServiceSector.service_id == service_id, ServiceSector.name == "Autotrasporto"))
    bad = await desk_browser.post(f"/admin/settori/{sector_id}",
                                  {"casella": "a@b.it\r\nBcc: c@d.it"})
    assert bad.status == 400 and "non valido" in await bad.text()
    ok = await desk_browser.post(f"/admin/settori/{sector_id}",
                                 {"casella": "autotrasporto@provincia.tn.it"})
    assert ok.status == 303
    text = await (await desk_browser.get("/admin/settori?ok=salvata")).text()
    assert "Casella salvata." in text and 'value="autotrasporto@provincia.tn.it"' in text
    async with web_db.sessions() as session:
        assert (await session.get(ServiceSector, sector_id)).mailbox == \
            "autotrasporto@provincia.tn.it"
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.action == "sector.mailbox").order_by(AuditEntry.id.desc()).limit(1))
    assert entry.username == "dk2-admin"
    assert entry.object_key == f"motorizzazione/sector/{sector_id}"
    assert entry.after["mailbox"] == "autotrasporto@provincia.tn.it"
    assert entry.after["name"] == "Autotrasporto" and entry.after["retired"] is False
    desk_browser.client.session.cookie_jar.clear()
    await login_as(desk_browser, web_db, "dk2-supervisore", "supervisor")
    assert (await desk_browser.get("/admin/settori")).status == 403
