"""Call records, written as the call goes (not only at the end).

Every method is keyed by our call id, and every write is idempotent, so a write
can be replayed: by a restarted control plane closing a call that was already
closed, or from the journal kept while the database was away
(:mod:`ari_app.outage`), whatever part of it had already reached the database.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.outage import DatabaseUnavailable, LastGood, WriteBehind, is_unreachable
from models import Call, Service, Voicemail

log = logging.getLogger(__name__)


class CallRecords:
    def __init__(self, sessions: async_sessionmaker, writes: WriteBehind | None = None):
        self._sessions = sessions
        self._writes = writes or WriteBehind(sessions)
        self._reads = LastGood(self._writes)
        for op, apply in (("calls.arrived", self._arrived), ("calls.update", self._update),
                          ("calls.ended", self._ended), ("calls.voicemail", self._voicemail)):
            self._writes.register(op, apply)

    async def arrived(self, *, call_id: str, channel_id: str, service_id: int | None, did: str,
                      caller_number: str, caller_name: str, at: datetime,
                      in_hours: bool | None, service_slug: str | None = None) -> None:
        """The call's first row. ``service_slug`` names the service when its id is not
        known yet (database away since start-up); the id is looked up when written."""
        await self._writes.write(
            "calls.arrived", call_id=call_id, channel_id=channel_id, service_id=service_id,
            did=did, caller_number=caller_number, caller_name=caller_name, at=at,
            in_hours=in_hours, service_slug=service_slug)

    async def update(self, call_id: str, **fields: Any) -> None:
        await self._writes.write("calls.update", call_id=call_id, fields=fields)

    async def ended(self, call_id: str, *, at: datetime, hung_up_by: str,
                    cause: int | None, outcome: str, **extra: Any) -> bool:
        """Close the record once; return False if it was already closed.

        Journaled while the database is away: then True (closed as far as we know).
        """
        written = await self._writes.write(
            "calls.ended", call_id=call_id, at=at, hung_up_by=hung_up_by, cause=cause,
            outcome=outcome, extra=extra)
        return bool(written.result) if written.applied else True

    async def voicemail(self, *, call_id: str, service_id: int, recording: str,
                        duration: int | None, at: datetime, reason: str,
                        callback_requested: bool) -> None:
        """A message the caller left, into the worklist of the service."""
        await self._writes.write(
            "calls.voicemail", call_id=call_id, service_id=service_id, recording=recording,
            duration=duration, at=at, reason=reason, callback_requested=callback_requested)

    # -- the writes themselves, each in one transaction and safe to repeat -----------
    async def _arrived(self, *, call_id: str, channel_id: str, service_id: int | None,
                       did: str, caller_number: str, caller_name: str, at: datetime,
                       in_hours: bool | None, service_slug: str | None = None) -> None:
        async with self._sessions() as session:
            if await session.get(Call, call_id) is not None:
                return
            if service_id is None and service_slug:
                service_id = await session.scalar(
                    select(Service.id).where(Service.slug == service_slug))
            session.add(Call(
                id=call_id, channel_id=channel_id, service_id=service_id, did=did,
                caller_number=caller_number, caller_name=caller_name, arrived_at=at,
                in_hours=in_hours, flow_state="arrived",
            ))
            await session.commit()

    async def _update(self, *, call_id: str, fields: dict[str, Any]) -> None:
        async with self._sessions() as session:
            await session.execute(update(Call).where(Call.id == call_id).values(**fields))
            await session.commit()

    async def _ended(self, *, call_id: str, at: datetime, hung_up_by: str, cause: int | None,
                     outcome: str, extra: dict[str, Any]) -> bool:
        async with self._sessions() as session:
            result = await session.execute(
                update(Call).where(Call.id == call_id, Call.ended_at.is_(None)).values(
                    ended_at=at, hung_up_by=hung_up_by, hangup_cause=cause, outcome=outcome,
                    flow_state="ended", **extra,
                )
            )
            await session.commit()
            return bool(result.rowcount)

    async def _voicemail(self, *, call_id: str, service_id: int, recording: str,
                         duration: int | None, at: datetime, reason: str,
                         callback_requested: bool) -> None:
        audio_path = f"recording/{recording}.wav"
        async with self._sessions() as session:
            if await session.scalar(select(Voicemail.id).where(
                    Voicemail.call_id == call_id, Voicemail.audio_path == audio_path)):
                return
            call = await session.get(Call, call_id)
            session.add(Voicemail(
                call_id=call_id, service_id=service_id,
                caller_number=call.caller_number if call else "", recorded_at=at,
                audio_path=audio_path, duration_seconds=duration,
                callback_requested=callback_requested, reason=reason,
            ))
            await session.commit()

    # -- reads -------------------------------------------------------------------
    async def recent_waits(self, queue_id: int, limit: int = 20) -> list[float]:
        """Seconds from queue entry to answer of the queue's latest answered calls."""
        async def fetch() -> list[float]:
            async with self._sessions() as session:
                rows = (await session.execute(
                    select(Call.queue_entered_at, Call.answered_at)
                    .where(Call.queue_id == queue_id, Call.answered_at.is_not(None),
                           Call.queue_entered_at.is_not(None))
                    .order_by(Call.answered_at.desc()).limit(limit))).all()
            return [(answered - entered).total_seconds()
                    for entered, answered in reversed(rows)]

        return await self._reads.read(("recent_waits", queue_id, limit), fetch)

    async def get(self, call_id: str) -> Call | None:
        async with self._sessions() as session:
            return await session.get(Call, call_id)

    async def open_calls(self) -> list[Call]:
        """Calls whose record is not closed: what a restarted process must reconcile.

        Raises DatabaseUnavailable while the database is away or has not caught up
        with the journal: an incomplete list would close or resume the wrong calls.
        """
        if not self._writes.caught_up:
            raise DatabaseUnavailable(
                f"{self._writes.pending} journaled writes are not in the database yet")
        try:
            async with self._sessions() as session:
                rows = await session.scalars(select(Call).where(Call.ended_at.is_(None)))
                return list(rows.all())
        except Exception as exc:
            if not self._writes.enabled or not is_unreachable(exc):
                raise
            self._writes.noticed(exc)
            raise DatabaseUnavailable("database unreachable") from exc
