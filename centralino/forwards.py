"""The forward form ("modulo di inoltro"): a call the agent could not pass on to the person
sought, written down and e-mailed to the sector's mailbox or to the referent.

The tender (Motorizzazione, APIAE, ...) asks for the caller's surname, name, date,
time, person sought, reason, phone and e-mail, sent to "la casella di posta e-mail
associata al settore competente" or to the referent's own. Every form is stored
before it is sent: if the mail server is down the row keeps the error and the
desk shows it "da reinviare" until a retry gets it through, once.

Only the reason may span lines and it only ever goes into the body; every other
field, and the recipient, is refused if it holds a control character, so nothing
typed can add a header to the message.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.config import Settings
from centralino.sla import mailer
from models import Call, Forward, Service, ServiceSector

log = logging.getLogger(__name__)

#: One plain address: no display name, no list, no comments; what a mailbox field holds.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                     r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
PHONE = re.compile(r"\+?[0-9 ./-]{3,32}")
TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
MAX_REASON = 2000


class ForwardRefused(ValueError):
    """A form the desk will not store, with the reason to show the agent (Italian)."""


def is_address(value: str) -> bool:
    return len(value) <= 254 and ADDRESS.fullmatch(value) is not None


def _line(form: Mapping[str, Any], key: str, label: str, limit: int, *,
          required: bool = True) -> str:
    raw = str(form.get(key, ""))
    if any(not ch.isprintable() for ch in raw):  # newlines, tabs, NUL: never in a header
        raise ForwardRefused(f"{label}: a capo e caratteri di controllo non sono ammessi.")
    value = raw.strip()
    if required and not value:
        raise ForwardRefused(f"Indicare {label.lower()}.")
    if len(value) > limit:
        raise ForwardRefused(f"{label}: al massimo {limit} caratteri.")
    return value


@dataclass(frozen=True)
class ForwardForm:
    surname: str
    first_name: str
    call_day: date
    call_time: str
    person_sought: str
    reason: str
    phone: str
    email: str
    sector: str
    referent: str


def check_form(form: Mapping[str, Any]) -> ForwardForm:
    """The form's fields, checked; raises ForwardRefused with what is wrong."""
    surname = _line(form, "cognome", "Cognome", 100)
    first_name = _line(form, "nome", "Nome", 100)
    day_text = _line(form, "data", "Data", 10)
    try:
        call_day = date.fromisoformat(day_text)
    except ValueError:
        raise ForwardRefused("Data non valida (AAAA-MM-GG).") from None
    call_time = _line(form, "ora", "Ora", 5)
    if not TIME.fullmatch(call_time):
        raise ForwardRefused("Ora non valida (OO:MM).")
    person = _line(form, "persona", "Persona cercata", 100)
    reason = str(form.get("motivo", "")).replace("\r\n", "\n").strip()
    if not reason:
        raise ForwardRefused("Indicare il motivo della chiamata.")
    if len(reason) > MAX_REASON:
        raise ForwardRefused(f"Motivo: al massimo {MAX_REASON} caratteri.")
    if any(not (ch.isprintable() or ch in "\n\t") for ch in reason):
        raise ForwardRefused("Motivo: caratteri di controllo non ammessi.")
    phone = _line(form, "telefono", "Telefono", 32)
    if not PHONE.fullmatch(phone):
        raise ForwardRefused("Telefono non valido: solo cifre, spazi, + . / -.")
    email = _line(form, "email", "E-mail", 254, required=False)
    if email and not is_address(email):
        raise ForwardRefused("E-mail del chiamante non valida.")
    sector = _line(form, "settore", "Settore", 64, required=False)
    referent = _line(form, "referente", "Indirizzo del referente", 254, required=False)
    if referent and not is_address(referent):
        raise ForwardRefused("Indirizzo del referente non valido.")
    if not sector and not referent:
        raise ForwardRefused("Scegliere il settore o scrivere l'indirizzo del referente.")
    return ForwardForm(surname, first_name, call_day, call_time, person, reason, phone, email,
                       sector, referent)


def build_message(sender: str, forward: Forward, service: str) -> EmailMessage:
    """The e-mail of a stored form: the fields in the body, the caller's address as Reply-To."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = forward.recipient
    message["Subject"] = f"Chiamata da richiamare: {forward.surname} {forward.first_name} " \
                         f"cerca {forward.person_sought}"[:200]
    if forward.email:
        message["Reply-To"] = forward.email
    head = ["Modulo di inoltro del contact center: non è stato possibile passare la chiamata.",
            ""]
    if service:
        head.append(f"Servizio: {service}")
    if forward.sector:
        head.append(f"Settore: {forward.sector}")
    filled_by = f"Compilato da: {forward.username}"
    if forward.call_id:
        filled_by += f" — codice della chiamata {forward.call_id}"
    message.set_content("\n".join([
        *head,
        f"Cognome: {forward.surname}",
        f"Nome: {forward.first_name}",
        f"Data: {forward.call_day.strftime('%d/%m/%Y')}",
        f"Ora: {forward.call_time}",
        f"Persona cercata: {forward.person_sought}",
        f"Telefono: {forward.phone}",
        f"E-mail: {forward.email or '—'}",
        "",
        "Motivo della chiamata:",
        forward.reason,
        "",
        filled_by,
    ]) + "\n")
    return message


async def _recipient(sessions: async_sessionmaker, service_id: int | None,
                     form: ForwardForm) -> str:
    if form.referent:
        return form.referent
    async with sessions() as session:
        sector = await session.scalar(select(ServiceSector).where(
            ServiceSector.service_id == service_id, ServiceSector.name == form.sector,
            ServiceSector.retired_at.is_(None)))  # a retired sector takes no more forms
        service_mailbox = await session.scalar(select(Service.mailbox_email).where(
            Service.id == service_id)) if sector is not None and not sector.mailbox else None
    if sector is None:
        raise ForwardRefused("Settore sconosciuto per questo servizio.")
    # A sector without its own mailbox falls back on the service's (issue 5).
    if not (sector.mailbox or service_mailbox):
        raise ForwardRefused(f"Né il settore «{sector.name}» né il servizio hanno una casella "
                             "di posta: scrivere l'indirizzo del referente.")
    return sector.mailbox or str(service_mailbox)


async def _deliver(settings: Settings | None, message: EmailMessage) -> str:
    """Send; the error to keep ("" when sent)."""
    if settings is None or not settings.smtp_host:
        return "invio e-mail non configurato (smtp_host)"
    try:
        await mailer.send(settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return ""


async def submit(sessions: async_sessionmaker, settings: Settings | None, call: Call,
                 agent_id: int, username: str, form: ForwardForm,
                 now: datetime | None = None) -> Forward:
    """Store the form, then try to send it; the returned row says whether it went."""
    recipient = await _recipient(sessions, call.service_id, form)
    async with sessions() as session:
        forward = Forward(call_id=call.id, agent_id=agent_id, username=username,
                          created_at=now or datetime.now(UTC), surname=form.surname,
                          first_name=form.first_name, call_day=form.call_day,
                          call_time=form.call_time, person_sought=form.person_sought,
                          reason=form.reason, phone=form.phone, email=form.email,
                          sector=form.sector, recipient=recipient, attempts=0, error="")
        session.add(forward)
        await session.commit()
        forward_id = forward.id
    return await send(sessions, settings, forward_id) or forward


async def send(sessions: async_sessionmaker, settings: Settings | None,
               forward_id: int) -> Forward | None:
    """Send a stored form not sent yet; None if there is no such form.

    The row stays locked while the mail goes out, so two retries at once send it once."""
    async with sessions() as session:
        forward = await session.scalar(select(Forward).where(Forward.id == forward_id)
                                       .with_for_update())
        if forward is None:
            return None
        if forward.sent_at is not None:
            return forward
        service = await session.scalar(select(Service.name).join(
            Call, Call.service_id == Service.id).where(Call.id == forward.call_id)) \
            if forward.call_id else None
        error = await _deliver(settings, build_message(
            settings.smtp_sender if settings else "", forward, service or ""))
        forward.attempts += 1
        forward.error = error
        if not error:
            forward.sent_at = datetime.now(UTC)
            log.info("forward %s (call %s): sent to %s", forward.id, forward.call_id,
                     forward.recipient)
        else:
            log.warning("forward %s (call %s): not sent (%s)", forward.id, forward.call_id,
                        error)
        await session.commit()
        return forward


async def unsent(sessions: async_sessionmaker, agent_id: int) -> list[Forward]:
    """This agent's forms still to be sent, oldest first."""
    async with sessions() as session:
        return list(await session.scalars(select(Forward).where(
            Forward.agent_id == agent_id, Forward.sent_at.is_(None)).order_by(Forward.id)))


async def agent_forward(sessions: async_sessionmaker, agent_id: int,
                        forward_id: int) -> Forward | None:
    async with sessions() as session:
        return await session.scalar(select(Forward).where(
            Forward.id == forward_id, Forward.agent_id == agent_id))
