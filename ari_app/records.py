"""Call records, written as the call goes (not only at the end).

Every method is keyed by our call id. Writes are posted to the shared
:class:`~ari_app.outage.WriteBehind` and applied behind the call, in order, many per
transaction; every write is idempotent, so a write can be replayed: by a
restarted control plane closing a call that was already closed, or from the
journal kept while the database was away (:mod:`ari_app.outage`), whatever part
of it had already reached the database.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from ari_app.outage import (
    DatabaseUnavailable,
    LastGood,
    WriteBehind,
    insert_if_new,
    is_unreachable,
)
from models import Call, Service, Voicemail

log = logging.getLogger(__name__)


def _call_key(args: dict[str, Any]) -> Hashable:
    return ("call", args["call_id"])


def _merge_updates(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    return {"call_id": earlier["call_id"], "fields": {**earlier["fields"], **later["fields"]}}


_CALLS = Call.__table__
_VOICEMAILS = Voicemail.__table__


@lru_cache(maxsize=64)
def _update_statement(fields: frozenset[str]) -> Update:
    """One statement per set of fields, built once: the writer runs it many times."""
    return (update(_CALLS).where(_CALLS.c.id == bindparam("call_id_"))
            .values({name: bindparam(name) for name in fields}))


_END = (update(_CALLS).where(_CALLS.c.id == bindparam("call_id_"), _CALLS.c.ended_at.is_(None))
        .values(ended_at=bindparam("at"), hung_up_by=bindparam("hung_up_by"),
                hangup_cause=bindparam("cause"), outcome=bindparam("outcome"),
                flow_state="ended"))


class CallRecords:
    def __init__(self, sessions: async_sessionmaker, writes: WriteBehind | None = None):
        self._sessions = sessions
        self._writes = writes or WriteBehind(sessions)
        self._reads = LastGood(self._writes)
        self._writes.register("calls.arrived", self._arrived, key=_call_key)
        self._writes.register("calls.update", self._update, key=_call_key,
                              merge=_merge_updates)
        self._writes.register("calls.ended", self._ended, key=_call_key)
        self._writes.register("calls.voicemail", self._voicemail, key=_call_key)

    async def arrived(self, *, call_id: str, channel_id: str, service_id: int | None, did: str,
                      caller_number: str, caller_name: str, at: datetime,
                      in_hours: bool | None, service_slug: str | None = None) -> None:
        """The call's first row. ``service_slug`` names the service when its id is not
        known yet (database away since start-up); the id is looked up when written."""
        self._writes.post(
            "calls.arrived", call_id=call_id, channel_id=channel_id, service_id=service_id,
            did=did, caller_number=caller_number, caller_name=caller_name, at=at,
            in_hours=in_hours, service_slug=service_slug)

    async def update(self, call_id: str, **fields: Any) -> None:
        """Posted behind the call's earlier writes; the call does not wait for it."""
        self._writes.post("calls.update", call_id=call_id, fields=fields)

    async def ended(self, call_id: str, *, at: datetime, hung_up_by: str,
                    cause: int | None, outcome: str, **extra: Any) -> bool:
        """Close the record once; return False if it was already closed.

        Journaled while the database is away: then True (closed as far as we know).
        """
        written = await self._writes.write(
            "calls.ended", call_id=call_id, at=at, hung_up_by=hung_up_by, cause=cause,
            outcome=outcome, extra=extra)
        return bool(written.result) if written.applied else True

    def end(self, call_id: str, *, at: datetime, hung_up_by: str, cause: int | None,
            outcome: str, **extra: Any) -> None:
        """Close the record once, posted behind the call's other writes: what every call's
        hang-up does, without waiting on the database (:meth:`ended` tells what became
        of it, for whoever needs to know)."""
        self._writes.post("calls.ended", call_id=call_id, at=at, hung_up_by=hung_up_by,
                          cause=cause, outcome=outcome, extra=extra)

    async def voicemail(self, *, call_id: str, service_id: int, recording: str,
                        duration: int | None, at: datetime, reason: str,
                        callback_requested: bool) -> None:
        """A message the caller left, into the worklist of the service."""
        self._writes.post(
            "calls.voicemail", call_id=call_id, service_id=service_id, recording=recording,
            duration=duration, at=at, reason=reason, callback_requested=callback_requested)

    async def flush(self) -> None:
        """Wait until every record change made so far is written (or journaled)."""
        await self._writes.flush()

    # -- the writes themselves, inside the writer's transaction and safe to repeat -----
    @staticmethod
    async def _arrived(session: AsyncConnection, *, call_id: str, channel_id: str,
                       service_id: int | None, did: str, caller_number: str, caller_name: str,
                       at: datetime, in_hours: bool | None,
                       service_slug: str | None = None) -> None:
        if service_id is None and service_slug:
            service_id = await session.scalar(
                select(Service.id).where(Service.slug == service_slug))
        await session.execute(insert_if_new(session, _CALLS), dict(
            id=call_id, channel_id=channel_id, service_id=service_id, did=did,
            caller_number=caller_number, caller_name=caller_name, arrived_at=at,
            in_hours=in_hours, flow_state="arrived", overflow=False, ivr_path="", notes=""))

    @staticmethod
    async def _update(session: AsyncConnection, *, call_id: str, fields: dict[str, Any]) -> None:
        if fields:
            await session.execute(_update_statement(frozenset(fields)),
                                  {"call_id_": call_id, **fields})

    @staticmethod
    async def _ended(session: AsyncConnection, *, call_id: str, at: datetime, hung_up_by: str,
                     cause: int | None, outcome: str, extra: dict[str, Any]) -> bool:
        if extra:  # rare (a restarted process closing a call): built as needed
            result = await session.execute(
                update(_CALLS).where(_CALLS.c.id == call_id, _CALLS.c.ended_at.is_(None)).values(
                    ended_at=at, hung_up_by=hung_up_by, hangup_cause=cause, outcome=outcome,
                    flow_state="ended", **extra))
        else:
            result = await session.execute(_END, {"call_id_": call_id, "at": at,
                                                  "hung_up_by": hung_up_by, "cause": cause,
                                                  "outcome": outcome})
        return bool(result.rowcount)

    @staticmethod
    async def _voicemail(session: AsyncConnection, *, call_id: str, service_id: int,
                         recording: str, duration: int | None, at: datetime, reason: str,
                         callback_requested: bool) -> None:
        audio_path = f"recording/{recording}.wav"
        if await session.scalar(select(Voicemail.id).where(
                Voicemail.call_id == call_id, Voicemail.audio_path == audio_path)):
            return
        caller_number = await session.scalar(
            select(Call.caller_number).where(Call.id == call_id))
        await session.execute(insert(_VOICEMAILS).values(
            call_id=call_id, service_id=service_id, caller_number=caller_number or "",
            recorded_at=at, audio_path=audio_path, duration_seconds=duration,
            callback_requested=callback_requested, reason=reason))

    # -- reads -------------------------------------------------------------------
    async def recent_waits(self, queue_id: int, limit: int = 20) -> list[float]:
        """Seconds from queue entry to answer of the queue's latest answered calls."""
        async def waits(session: AsyncSession) -> list[Any]:
            return list((await session.execute(
                select(Call.queue_entered_at, Call.answered_at)
                .where(Call.queue_id == queue_id, Call.answered_at.is_not(None),
                       Call.queue_entered_at.is_not(None))
                .order_by(Call.answered_at.desc()).limit(limit))).all())

        async def fetch() -> list[float]:
            rows = await self._writes.read(waits)
            return [(answered - entered).total_seconds()
                    for entered, answered in reversed(rows)]

        return await self._reads.read(("recent_waits", queue_id, limit), fetch)

    async def get(self, call_id: str) -> Call | None:
        await self._writes.flush()
        async with self._sessions() as session:
            return await session.get(Call, call_id)

    async def open_calls(self) -> list[Call]:
        """Calls whose record is not closed: what a restarted process must reconcile.

        Raises DatabaseUnavailable while the database is away or has not caught up
        with the journal: an incomplete list would close or resume the wrong calls.
        """
        await self._writes.flush()
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
