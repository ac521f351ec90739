"""Call records, written as the call goes (not only at the end).

Every method is keyed by our call id and is idempotent where it can be replayed
(a restarted control plane may close a call that was already closed).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from models import Call, Voicemail

log = logging.getLogger(__name__)


class CallRecords:
    def __init__(self, sessions: async_sessionmaker):
        self._sessions = sessions

    async def arrived(self, *, call_id: str, channel_id: str, service_id: int | None, did: str,
                      caller_number: str, caller_name: str, at: datetime,
                      in_hours: bool | None) -> None:
        async with self._sessions() as session:
            session.add(Call(
                id=call_id, channel_id=channel_id, service_id=service_id, did=did,
                caller_number=caller_number, caller_name=caller_name, arrived_at=at,
                in_hours=in_hours, flow_state="arrived",
            ))
            await session.commit()

    async def update(self, call_id: str, **fields: Any) -> None:
        async with self._sessions() as session:
            await session.execute(update(Call).where(Call.id == call_id).values(**fields))
            await session.commit()

    async def ended(self, call_id: str, *, at: datetime, hung_up_by: str,
                    cause: int | None, outcome: str, **extra: Any) -> bool:
        """Close the record once; return False if it was already closed."""
        async with self._sessions() as session:
            result = await session.execute(
                update(Call).where(Call.id == call_id, Call.ended_at.is_(None)).values(
                    ended_at=at, hung_up_by=hung_up_by, hangup_cause=cause, outcome=outcome,
                    flow_state="ended", **extra,
                )
            )
            await session.commit()
            return bool(result.rowcount)

    async def voicemail(self, *, call_id: str, service_id: int, recording: str,
                        duration: int | None, at: datetime, reason: str,
                        callback_requested: bool) -> None:
        """A message the caller left, into the worklist of the service."""
        async with self._sessions() as session:
            call = await session.get(Call, call_id)
            session.add(Voicemail(
                call_id=call_id, service_id=service_id,
                caller_number=call.caller_number if call else "", recorded_at=at,
                audio_path=f"recording/{recording}.wav", duration_seconds=duration,
                callback_requested=callback_requested, reason=reason,
            ))
            await session.commit()

    async def recent_waits(self, queue_id: int, limit: int = 20) -> list[float]:
        """Seconds from queue entry to answer of the queue's latest answered calls."""
        async with self._sessions() as session:
            rows = (await session.execute(
                select(Call.queue_entered_at, Call.answered_at)
                .where(Call.queue_id == queue_id, Call.answered_at.is_not(None),
                       Call.queue_entered_at.is_not(None))
                .order_by(Call.answered_at.desc()).limit(limit))).all()
        return [(answered - entered).total_seconds() for entered, answered in reversed(rows)]

    async def get(self, call_id: str) -> Call | None:
        async with self._sessions() as session:
            return await session.get(Call, call_id)

    async def open_calls(self) -> list[Call]:
        """Calls whose record is not closed: what a restarted process must reconcile."""
        async with self._sessions() as session:
            rows = await session.scalars(select(Call).where(Call.ended_at.is_(None)))
            return list(rows.all())
