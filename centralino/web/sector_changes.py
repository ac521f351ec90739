"""A service's sectors (the desk's classification list) changed from the web: add, rename,
retire, reorder, mailbox; validated, audited, restorable.

Sectors are never deleted: a call keeps the sector name it was classified under
(``calls.classification`` holds the name itself), so renaming or retiring a sector
leaves history as it was, and a retired sector can be brought back. The desk reads
the list on every page, so a change shows at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralino import forwards
from centralino.web import audit
from centralino.web.validation import NotFound, Refused, clean_label
from models import Service, ServiceSector

MAX_NAME_LENGTH = 64
MAX_ACTIVE_SECTORS = 50


class UnknownSector(NotFound):
    """No such sector (or service): a 404."""


def check_name(raw: str) -> str:
    """A sector name as the desk shows it: one printable line of 1-64 characters (no I/O)."""
    name = " ".join(clean_label(raw, "Il nome del settore").split())
    if len(name) > MAX_NAME_LENGTH:
        raise Refused(f"Il nome del settore supera {MAX_NAME_LENGTH} caratteri.")
    return name


def check_mailbox(raw: str) -> str | None:
    mailbox = raw.strip()
    if mailbox and not forwards.is_address(mailbox):
        raise Refused("Indirizzo e-mail non valido: un solo indirizzo, senza nome né a capo.")
    return mailbox or None


def sector_state(sector: ServiceSector) -> dict[str, Any]:
    return {"name": sector.name, "position": sector.position,
            "retired": sector.retired_at is not None, "mailbox": sector.mailbox}


def sector_key(slug: str, sector: ServiceSector) -> str:
    return f"{slug}/sector/{sector.id}"


async def _siblings(session: AsyncSession, service_id: int) -> list[ServiceSector]:
    return list(await session.scalars(select(ServiceSector).where(
        ServiceSector.service_id == service_id).order_by(ServiceSector.position,
                                                         ServiceSector.name)))


def _check_unique(siblings: list[ServiceSector], name: str, sector: ServiceSector | None) -> None:
    clash = next((s for s in siblings if s.name.casefold() == name.casefold()
                  and s is not sector), None)
    if clash is not None:
        hint = " (ritirato: riattivarlo invece di crearne un altro)" if clash.retired_at else ""
        raise Refused(f"Il servizio ha già il settore «{clash.name}»{hint}.")


async def _sector(session: AsyncSession, sector_id: int) -> tuple[ServiceSector, str]:
    row = (await session.execute(select(ServiceSector, Service.slug).join(
        Service, ServiceSector.service_id == Service.id).where(
        ServiceSector.id == sector_id))).first()
    if row is None:
        raise UnknownSector("Settore inesistente.")
    return row[0], row[1]


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # two admins adding the same name at once
        raise Refused("Il servizio ha già un settore con questo nome.") from None


async def add_sector(sessions: async_sessionmaker, actor: str, slug: str, raw_name: str) -> int:
    """A new sector at the end of the service's list; return its id."""
    name = check_name(raw_name)
    async with sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == slug[:64]))
        if service is None:
            raise UnknownSector("Servizio inesistente.")
        siblings = await _siblings(session, service.id)
        _check_unique(siblings, name, None)
        if sum(s.retired_at is None for s in siblings) >= MAX_ACTIVE_SECTORS:
            raise Refused(f"Al massimo {MAX_ACTIVE_SECTORS} settori attivi per servizio.")
        sector = ServiceSector(service_id=service.id, name=name,
                               position=max((s.position for s in siblings), default=-1) + 1)
        session.add(sector)
        await session.flush()
        audit.record(session, actor, "sector.add", "sector", sector_key(service.slug, sector),
                     None, sector_state(sector))
        await _commit(session)
        return sector.id


def _place(siblings: list[ServiceSector], sector: ServiceSector, position: int) -> None:
    """Put ``sector`` at ``position`` (clamped) and number the list again from 0."""
    others = [s for s in siblings if s is not sector]
    others.insert(max(0, min(position, len(others))), sector)
    for place, each in enumerate(others):
        each.position = place


async def change_sector(sessions: async_sessionmaker, actor: str, sector_id: int, *,
                        name: str | None = None, retired: bool | None = None,
                        mailbox: str | None = None, position: int | None = None,
                        action: str = "sector.change") -> None:
    """Rename, retire or bring back a sector, set its mailbox or its place in the list
    (only what is given), in one audited transaction."""
    new_name = check_name(name) if name is not None else None
    new_mailbox = check_mailbox(mailbox) if mailbox is not None else None
    async with sessions() as session:
        sector, slug = await _sector(session, sector_id)
        siblings = await _siblings(session, sector.service_id)
        before = sector_state(sector)
        if new_name is not None:
            _check_unique(siblings, new_name, sector)
            sector.name = new_name
        if retired is True and sector.retired_at is None:
            if not any(s.retired_at is None and s is not sector for s in siblings):
                raise Refused("È l'ultimo settore attivo del servizio: aggiungerne un altro "
                              "prima di ritirarlo.")
            sector.retired_at = datetime.now(UTC)
        elif retired is False:
            sector.retired_at = None
        if mailbox is not None:
            sector.mailbox = new_mailbox
        if position is not None:
            _place(siblings, sector, position)
        if sector_state(sector) != before:
            audit.record(session, actor, action, "sector", sector_key(slug, sector), before,
                         sector_state(sector))
        await _commit(session)


async def move_sector(sessions: async_sessionmaker, actor: str, sector_id: int,
                      offset: int) -> None:
    """Move a sector one place up (-1) or down (+1) in the desk's list."""
    if offset not in (-1, 1):
        raise Refused("Spostamento non valido: su o giù di un posto.")
    async with sessions() as session:
        sector, _ = await _sector(session, sector_id)
        place = (await _siblings(session, sector.service_id)).index(sector)
    await change_sector(sessions, actor, sector_id, position=max(0, place + offset),
                        action="sector.move")


async def restore_sector(sessions: async_sessionmaker, actor: str, key: str,
                         before: dict[str, Any]) -> None:
    """Name, place, retirement and mailbox as an audit entry says they were."""
    raw_id = key.rpartition("/")[2]
    if "/sector/" not in key or not raw_id.isdigit() or len(raw_id) > 9:
        raise Refused("Questa voce non ha una versione precedente da ripristinare.")
    position = before.get("position")
    await change_sector(sessions, actor, int(raw_id), name=str(before.get("name", "")),
                        retired=bool(before.get("retired")),
                        mailbox=str(before.get("mailbox") or ""),
                        position=position if isinstance(position, int) else None,
                        action="restore")


async def sectors_by_service(sessions: async_sessionmaker) -> list[tuple[ServiceSector, str, str]]:
    """Every sector with its service's slug and name, in the desk's order."""
    async with sessions() as session:
        rows = await session.execute(select(ServiceSector, Service.slug, Service.name).join(
            Service, ServiceSector.service_id == Service.id).order_by(
            Service.name, ServiceSector.position, ServiceSector.name))
        return [(sector, slug, name) for sector, slug, name in rows]
