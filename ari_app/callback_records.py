"""Call-back records, written behind the call like the inbound ones (journaled if needed).

Each write is idempotent (guarded by the row's own state), so a write replayed from
the journal, or repeated by a restarted control plane, changes nothing twice. An
answered call-back closes its worklist item with the agent and time; every ending
goes to the audit log under the web login that clicked "Richiama".
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from ari_app.outage import WriteBehind
from models import AuditEntry, Call, Callback, Voicemail

_CALLBACKS = Callback.__table__
_VOICEMAILS = Voicemail.__table__
_CALLS = Call.__table__
_AUDIT = AuditEntry.__table__


def _key(args: dict[str, Any]) -> Hashable:
    return ("callback", args["callback_id"])


def _merge(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    return {"callback_id": earlier["callback_id"],
            "fields": {**earlier["fields"], **later["fields"]}}


_EDITABLE = frozenset({"state", "agent_answered_at"})


class CallbackRecords:
    def __init__(self, sessions: async_sessionmaker, writes: WriteBehind):
        self._sessions = sessions
        self._writes = writes
        writes.register("callbacks.update", self._update, key=_key, merge=_merge)
        writes.register("callbacks.answered", self._answered, key=_key)
        writes.register("callbacks.ended", self._ended, key=_key)

    # -- posted by the flow ---------------------------------------------------------
    def update(self, callback_id: str, **fields: Any) -> None:
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise ValueError(f"not a call-back field the flow sets: {sorted(unknown)}")
        self._writes.post("callbacks.update", callback_id=callback_id, fields=fields)

    def answered(self, callback_id: str, at: datetime) -> None:
        """The citizen answered: the worklist item is done, by this agent, now."""
        self._writes.post("callbacks.answered", callback_id=callback_id, at=at)

    def ended(self, callback_id: str, *, at: datetime, result: str, hung_up_by: str,
              cause: int | None) -> None:
        self._writes.post("callbacks.ended", callback_id=callback_id, at=at, result=result,
                          hung_up_by=hung_up_by, cause=cause)

    async def flush(self) -> None:
        await self._writes.flush()

    # -- reads ---------------------------------------------------------------------
    async def open_callbacks(self) -> list[Callback]:
        await self._writes.flush()
        async with self._sessions() as session:
            return list((await session.scalars(select(Callback).where(
                Callback.ended_at.is_(None)))).all())

    # -- the writes, inside the writer's transaction (a Core connection) --------------
    @staticmethod
    async def _update(session: AsyncConnection, *, callback_id: str,
                      fields: dict[str, Any]) -> None:
        await session.execute(update(_CALLBACKS).where(
            _CALLBACKS.c.id == callback_id, _CALLBACKS.c.ended_at.is_(None)).values(**fields))

    @staticmethod
    async def _answered(session: AsyncConnection, *, callback_id: str, at: datetime) -> None:
        changed = await session.execute(update(_CALLBACKS).where(
            _CALLBACKS.c.id == callback_id, _CALLBACKS.c.answered_at.is_(None)).values(
            answered_at=at, state="connected", result="answered"))
        if not changed.rowcount:
            return
        callback = (await session.execute(
            select(_CALLBACKS.c.voicemail_id, _CALLBACKS.c.call_id, _CALLBACKS.c.agent_id)
            .where(_CALLBACKS.c.id == callback_id))).first()
        if callback is None:
            return
        if callback.voicemail_id is not None:
            await session.execute(update(_VOICEMAILS).where(
                _VOICEMAILS.c.id == callback.voicemail_id, _VOICEMAILS.c.handled_at.is_(None))
                .values(handled_at=at, handled_by=callback.agent_id))
        if callback.call_id is not None:
            await session.execute(update(_CALLS).where(
                _CALLS.c.id == callback.call_id, _CALLS.c.callback_done_at.is_(None))
                .values(callback_done_at=at, callback_done_by=callback.agent_id))

    @staticmethod
    async def _ended(session: AsyncConnection, *, callback_id: str, at: datetime, result: str,
                     hung_up_by: str, cause: int | None) -> None:
        changed = await session.execute(update(_CALLBACKS).where(
            _CALLBACKS.c.id == callback_id, _CALLBACKS.c.ended_at.is_(None)).values(
            ended_at=at, result=result, hung_up_by=hung_up_by, hangup_cause=cause,
            state="ended"))
        if not changed.rowcount:
            return
        callback = (await session.execute(
            select(_CALLBACKS.c.voicemail_id, _CALLBACKS.c.call_id, _CALLBACKS.c.agent_id,
                   _CALLBACKS.c.username, _CALLBACKS.c.number, _CALLBACKS.c.answered_at)
            .where(_CALLBACKS.c.id == callback_id))).first()
        if callback is None:
            return
        item = (f"voicemail/{callback.voicemail_id}" if callback.voicemail_id is not None
                else f"call/{callback.call_id}")
        await session.execute(insert(_AUDIT).values(
            at=at, username=callback.username, action="callback.end",
            object_type="callback", object_key=callback_id,
            before={"item": item, "number": callback.number, "agent_id": callback.agent_id},
            after={"result": result, "hung_up_by": hung_up_by,
                   "answered_at": callback.answered_at.isoformat()
                   if callback.answered_at else None, "ended_at": at.isoformat()}))
