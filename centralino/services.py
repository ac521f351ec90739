"""Operations on services an admin runs: crisis mode, closures, the voicemail worklist
(all of it, or what arrived while the service was closed, up to its last opening)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ari_app.directory import service_calendar
from ari_app.hours import ClosedStretch, closed_stretch
from ari_app.sanitize import is_slug
from centralino.errors import CentralinoError
from models import SERVICE_MODES, Closure, Service, Voicemail


async def _service(session: AsyncSession, slug: str) -> Service:
    if not is_slug(slug):
        raise CentralinoError(f"{slug[:40]!r} is not a service identifier (e.g. apiae)")
    service = await session.scalar(select(Service).where(Service.slug == slug))
    if service is None:
        raise CentralinoError(f"no service {slug!r}: `centralino service list` shows them")
    return service


def parse_until(text: str | None, timezone: str, now: datetime) -> datetime | None:
    """An end for a forced mode: ISO date or date-time in the service's zone; future only."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CentralinoError(f"--until {text[:40]!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") \
            from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    if parsed <= now:
        raise CentralinoError(f"--until {text} is in the past")
    return parsed.astimezone(UTC)


async def set_mode(sessions: async_sessionmaker, slug: str, mode: str,
                   until: str | None = None, *, now: datetime | None = None) -> str:
    """Force a service open (crisis extension, up to 24/7) or closed; ``auto`` follows hours."""
    if mode not in SERVICE_MODES:
        raise CentralinoError(f"mode must be one of {', '.join(SERVICE_MODES)}")
    now = now or datetime.now(UTC)
    async with sessions() as session:
        service = await _service(session, slug)
        service.mode = mode
        service.mode_until = None if mode == "auto" else parse_until(until, service.timezone,
                                                                     now)
        await session.commit()
        if mode == "auto":
            return f"{slug}: follows its office hours and holidays"
        end = (f" until {service.mode_until.astimezone(ZoneInfo(service.timezone)):%Y-%m-%d %H:%M}"
               if service.mode_until else " until changed")
        return f"{slug}: forced {mode}{end}"


def closure_scope(service_id: int | None) -> ColumnElement[bool]:
    """Closures of one service, or the all-services ones (``service_id`` NULL)."""
    return Closure.service_id.is_(None) if service_id is None \
        else Closure.service_id == service_id


async def closure_on(session: AsyncSession, day: date, service_id: int | None) -> Closure | None:
    return await session.scalar(select(Closure).where(Closure.day == day,
                                                      closure_scope(service_id)))


async def close_day(session: AsyncSession, day: date, reason: str,
                    service_id: int | None) -> Closure | None:
    """Close one service (or all, ``service_id`` None) on ``day`` unless it already is;
    the new row, or None. Not committed: the CLI and the web (with its audit entry) do."""
    if await closure_on(session, day, service_id) is not None:
        return None
    closure = Closure(service_id=service_id, day=day, reason=reason[:200])
    session.add(closure)
    await session.flush()
    return closure


async def add_closure(sessions: async_sessionmaker, day: date, reason: str,
                      slug: str | None = None) -> str:
    async with sessions() as session:
        service = await _service(session, slug) if slug else None
        await close_day(session, day, reason, service.id if service else None)
        await session.commit()
        return f"closed on {day.isoformat()}: {slug or 'all services'}"


async def closed_stretches(session: AsyncSession, service_ids: Iterable[int],
                           now: datetime) -> dict[int, ClosedStretch | None]:
    """Per service, the closure its last opening ended (or the one in progress), from
    its calendar: windows, holidays, closures, forced modes (:func:`closed_stretch`)."""
    services = (await session.scalars(select(Service).where(Service.id.in_(list(service_ids)))
                                      .options(selectinload(Service.windows)))).all()
    return {s.id: closed_stretch(await service_calendar(session, s), now) for s in services}


@dataclass(frozen=True)
class WorklistItem:
    id: int
    service: str
    caller_number: str
    recorded_at: datetime
    duration_seconds: int | None
    reason: str
    callback_requested: bool
    audio_path: str


async def voicemail_worklist(sessions: async_sessionmaker, slug: str | None = None,
                             *, include_handled: bool = False,
                             closed_until: datetime | None = None) -> list[WorklistItem]:
    """Messages to process, oldest first: what arrived out of hours or while all were busy.

    With ``closed_until`` (now, say), only those left while their service was closed,
    from the closing before its last opening up to that opening (or up to now, if
    still closed): the night's and the weekend's messages."""
    async with sessions() as session:
        query = (select(Voicemail, Service.slug)
                 .join(Service, Voicemail.service_id == Service.id)
                 .order_by(Voicemail.recorded_at))
        if slug:
            query = query.where(Service.id == (await _service(session, slug)).id)
        if not include_handled:
            query = query.where(Voicemail.handled_at.is_(None))
        rows = (await session.execute(query)).all()
        if closed_until is not None:
            stretches = await closed_stretches(session, {v.service_id for v, _s in rows},
                                               closed_until)
            rows = [(v, s) for v, s in rows
                    if arrived_while_closed(stretches, v.service_id, v.recorded_at)]
        return [WorklistItem(v.id, s, v.caller_number, v.recorded_at, v.duration_seconds,
                             v.reason, v.callback_requested, v.audio_path) for v, s in rows]


def arrived_while_closed(stretches: dict[int, ClosedStretch | None], service_id: int,
                         moment: datetime) -> bool:
    stretch = stretches.get(service_id)
    return stretch is not None and stretch.holds(moment)
