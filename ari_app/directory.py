"""What the call flows need to know about a service, read from the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ari_app.hours import ServiceCalendar, Window
from models import Closure, Service


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    slug: str
    name: str
    calendar: ServiceCalendar
    #: prompt kind → Asterisk sound name (None: not recorded yet)
    sounds: dict[str, str | None] = field(default_factory=dict)


async def _load(session: AsyncSession, condition: Any) -> ServiceInfo | None:
    service = await session.scalar(
        select(Service).where(condition).options(
            selectinload(Service.windows), selectinload(Service.prompts))
    )
    if service is None:
        return None
    closures = await session.scalars(
        select(Closure.day).where((Closure.service_id == service.id)
                                  | Closure.service_id.is_(None)))
    calendar = ServiceCalendar(
        timezone=service.timezone,
        windows=tuple(Window(w.weekday, w.opens, w.closes) for w in service.windows),
        closures=frozenset(closures.all()),
        mode=service.mode,
        mode_until=service.mode_until,
    )
    return ServiceInfo(id=service.id, slug=service.slug, name=service.name,
                       calendar=calendar, sounds={p.kind: p.sound for p in service.prompts})


class ServiceDirectory:
    """Looks services up by slug; read per call so admin changes apply to the next call."""

    def __init__(self, sessions: async_sessionmaker):
        self._sessions = sessions

    async def get(self, slug: str) -> ServiceInfo | None:
        async with self._sessions() as session:
            return await _load(session, Service.slug == slug)

    async def get_by_id(self, service_id: int) -> ServiceInfo | None:
        async with self._sessions() as session:
            return await _load(session, Service.id == service_id)

