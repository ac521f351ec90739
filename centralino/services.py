"""Operations on services an admin runs: crisis mode, closures, the voicemail worklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


async def add_closure(sessions: async_sessionmaker, day: date, reason: str,
                      slug: str | None = None) -> str:
    async with sessions() as session:
        service = await _service(session, slug) if slug else None
        service_id = service.id if service else None
        exists = await session.scalar(select(Closure.id).where(
            Closure.day == day, Closure.service_id.is_(service_id) if service_id is None
            else Closure.service_id == service_id))
        if exists is None:
            session.add(Closure(service_id=service_id, day=day, reason=reason[:200]))
            await session.commit()
        return f"closed on {day.isoformat()}: {slug or 'all services'}"


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
                             *, include_handled: bool = False) -> list[WorklistItem]:
    """Messages to process, oldest first: what arrived out of hours or while all were busy."""
    async with sessions() as session:
        query = (select(Voicemail, Service.slug)
                 .join(Service, Voicemail.service_id == Service.id)
                 .order_by(Voicemail.recorded_at))
        if slug:
            query = query.where(Service.id == (await _service(session, slug)).id)
        if not include_handled:
            query = query.where(Voicemail.handled_at.is_(None))
        rows = (await session.execute(query)).all()
        return [WorklistItem(v.id, s, v.caller_number, v.recorded_at, v.duration_seconds,
                             v.reason, v.callback_requested, v.audio_path) for v, s in rows]
