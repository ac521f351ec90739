"""A service's office lines changed from the web: an office's own number, the phone it
rings first, how many rings before the call overflows to the contact center.

An office line is also where a menu choice or an agent transfers a caller (a
referent). Its phone is a SIP account, so adding or removing one is applied to
Asterisk live, as agents are (:func:`centralino.web.live.apply_live`). The work is
:mod:`centralino.offices`, shared with ``centralino office add|remove``; here the
form is checked first, with messages the admin reads. Audited; not restorable (the
phone's password is not kept, so a removed line is added again with a new one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino import offices
from centralino.errors import CentralinoError
from centralino.web import audit
from centralino.web.agent_changes import check_password, check_username
from centralino.web.service_changes import check_did
from centralino.web.validation import NotFound, Refused, bounded_int, clean_label
from models import Agent, OfficeLine, Service, ServiceDid

MAX_NAME_LENGTH = 80


def office_state(line: OfficeLine) -> dict[str, Any]:
    return {"number": line.number, "name": line.name, "phone": line.endpoint,
            "rings": line.rings}


def office_key(slug: str, number: str) -> str:
    return f"{slug}/office/{number}"


async def office_lines(sessions: async_sessionmaker, slug: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(select(OfficeLine).join(
            Service, OfficeLine.service_id == Service.id).where(Service.slug == slug[:64])
            .order_by(OfficeLine.number))
        return [office_state(line) for line in rows]


async def add_office_line(sessions: async_sessionmaker, actor: str, slug: str,
                          form: dict[str, str]) -> str:
    """Add the line; its number. Refused, nothing changed, when any field is wrong or
    the number or phone is taken (by a service, another office or an agent)."""
    number = check_did(form.get("number", ""))
    phone = check_username(form.get("phone", ""))
    password = check_password(form.get("password", ""), form.get("password_again", ""))
    rings = bounded_int(form.get("rings", "4"), "Squilli all'ufficio", 1, offices.MAX_RINGS)
    raw_name = form.get("name", "")
    name = clean_label(raw_name, "Il nome dell'ufficio") if raw_name.strip() else ""
    if len(name) > MAX_NAME_LENGTH:
        raise Refused(f"Il nome dell'ufficio supera {MAX_NAME_LENGTH} caratteri.")
    async with sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == slug[:64]))
        if service is None:
            raise NotFound("Servizio inesistente.")
        owner = await session.scalar(select(Service.name).join(
            ServiceDid, ServiceDid.service_id == Service.id).where(ServiceDid.did == number))
        if owner is not None:
            raise Refused(f"Il numero {number} è già del servizio «{owner}».")
        if await session.scalar(select(OfficeLine.id).where(OfficeLine.number == number)):
            raise Refused(f"Il numero {number} è già la linea di un ufficio.")
        if await session.scalar(select(OfficeLine.id).where(OfficeLine.endpoint == phone)):
            raise Refused(f"{phone} è già il telefono di un altro ufficio.")
        if await session.scalar(select(Agent.id).where(Agent.username == phone)):
            raise Refused(f"{phone} è già l'account SIP di un operatore.")
    try:  # overflow to the service's main queue, as the command line's default
        await offices.add_office(sessions, number, service=service.slug, endpoint=phone,
                                 password=password, rings=rings, name=name)
    except CentralinoError:  # taken meanwhile by someone else
        raise Refused(f"Il numero {number} o il telefono {phone} è già in uso.") from None
    async with sessions() as session:
        line = await session.scalar(select(OfficeLine).where(OfficeLine.number == number))
        assert line is not None
        audit.record(session, actor, "office.add", "office_line", office_key(slug, number),
                     None, office_state(line))
        await session.commit()
    return number


async def remove_office_line(sessions: async_sessionmaker, actor: str, slug: str,
                             raw_number: str) -> None:
    """Remove the line: its number is no longer answered, its phone no longer registers;
    menu choices that transferred to it send callers to the main queue."""
    async with sessions() as session:
        line = await session.scalar(select(OfficeLine).join(
            Service, OfficeLine.service_id == Service.id).where(
            Service.slug == slug[:64], OfficeLine.number == raw_number[:20]))
        if line is None:
            raise NotFound("Linea d'ufficio inesistente.")
        audit.record(session, actor, "office.remove", "office_line",
                     office_key(slug, line.number), office_state(line), None)
        await session.commit()
        number = line.number
    await offices.remove_office(sessions, number)
