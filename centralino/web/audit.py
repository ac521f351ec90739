"""The audit log: every change made through the web, with the object before and after.

Written in the same transaction as the change itself, so there is never a
change without its entry nor an entry for a change that was rolled back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import AuditEntry


def record(session: AsyncSession, actor: str, action: str, object_type: str, object_key: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> AuditEntry:
    entry = AuditEntry(at=datetime.now(UTC), username=actor, action=action,
                       object_type=object_type, object_key=object_key[:100],
                       before=before, after=after)
    session.add(entry)
    return entry


async def recent(sessions: async_sessionmaker, limit: int = 200,
                 object_key: str | None = None) -> list[AuditEntry]:
    async with sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if object_key:
            query = query.where(AuditEntry.object_key == object_key)
        return list((await session.scalars(query)).all())
