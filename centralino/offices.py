"""Office lines: an office's own number rings its phone first, then overflows to the
service's contact-center queue ("ricaduta", the tender: after the 3rd or 4th ring).

An office phone is a SIP account like an agent's (its HA1 only is stored); it
is also the referent an agent transfers a call to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.sanitize import clean_caller_name, normalize_did
from centralino.agents import check_password, check_username, sip_ha1
from centralino.errors import CentralinoError
from centralino.render import AgentAccount
from models import Agent, OfficeLine, Queue, Service

MAX_RINGS = 10


@dataclass(frozen=True)
class OfficeView:
    number: str
    service: str
    endpoint: str
    rings: int
    name: str


async def add_office(sessions: async_sessionmaker, number: str, *, service: str,
                     endpoint: str, password: str, rings: int = 4, name: str = "",
                     queue: str | None = None) -> OfficeView:
    digits = normalize_did(number)
    if digits is None:
        raise CentralinoError(f"{number[:30]!r} is not a phone number")
    check_username(endpoint)
    check_password(password)
    if not 1 <= rings <= MAX_RINGS:
        raise CentralinoError(f"--rings must be between 1 and {MAX_RINGS} (the tender: 3 or 4)")
    async with sessions() as session:
        owner = await session.scalar(select(Service).where(Service.slug == service))
        if owner is None:
            raise CentralinoError(f"no service {service!r}: `centralino service list`")
        if await session.scalar(select(Agent.id).where(Agent.username == endpoint)):
            raise CentralinoError(f"{endpoint} is already an agent's SIP account")
        queue_id = None
        if queue:
            queue_id = await session.scalar(select(Queue.id).where(
                Queue.slug == queue, Queue.service_id == owner.id))
            if queue_id is None:
                raise CentralinoError(f"service {service} has no queue {queue!r}")
        line = OfficeLine(service_id=owner.id, number=digits, endpoint=endpoint,
                          sip_ha1=sip_ha1(endpoint, password), rings=rings,
                          name=clean_caller_name(name), queue_id=queue_id)
        session.add(line)
        try:
            await session.commit()
        except IntegrityError:
            raise CentralinoError(f"number {digits} or phone {endpoint} is already in use") \
                from None
        return OfficeView(digits, service, endpoint, rings, line.name)


async def remove_office(sessions: async_sessionmaker, number: str) -> None:
    digits = normalize_did(number) or ""
    async with sessions() as session:
        line = await session.scalar(select(OfficeLine).where(OfficeLine.number == digits))
        if line is None:
            raise CentralinoError(f"no office line {number[:30]!r}")
        await session.delete(line)
        await session.commit()


async def list_offices(sessions: async_sessionmaker) -> list[OfficeView]:
    async with sessions() as session:
        rows = (await session.execute(
            select(OfficeLine, Service.slug).join(Service, OfficeLine.service_id == Service.id)
            .order_by(OfficeLine.number))).all()
    return [OfficeView(o.number, slug, o.endpoint, o.rings, o.name) for o, slug in rows]


async def office_accounts(sessions: async_sessionmaker) -> list[AgentAccount]:
    """The office phones' SIP accounts, rendered beside the agents'."""
    async with sessions() as session:
        rows = await session.execute(
            select(OfficeLine.endpoint, OfficeLine.name, OfficeLine.sip_ha1)
            .order_by(OfficeLine.endpoint))
        return [AgentAccount(endpoint, name, ha1, "offices") for endpoint, name, ha1 in rows]
