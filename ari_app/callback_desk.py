"""The control plane's call-backs: one task and inbox per call-back, routing and recovery.

Kept beside :class:`ari_app.app.ControlPlane`'s inbound calls rather than inside
them: a call-back's legs are ours from the first request (``cb-<id>-agent``,
``cb-<id>-citizen``), so the control plane hands every event about such a channel
here, and asks here at recovery which agents are still busy with a call-back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.callback_records import CallbackRecords
from ari_app.flows.callback import (
    CallbackCall,
    CallbackKit,
    CallbackPlan,
    State,
    agent_leg,
    citizen_leg,
)
from ari_app.outage import DatabaseUnavailable, WriteBehind
from ari_app.transport.ari import AriError, AriUnavailable, Event

log = logging.getLogger(__name__)

#: Channel ids of call-back legs start with this; no other channel of ours does.
LEG_PREFIX = "cb-"


@dataclass
class CallbackHandle:
    flow: CallbackCall
    inbox: asyncio.Queue[Event]
    task: asyncio.Task[None] | None = None


class CallbackDesk:
    def __init__(self, kit: Any, sessions: async_sessionmaker, writes: WriteBehind):
        self.records = CallbackRecords(sessions, writes)
        self.kit = CallbackKit(ari=kit.ari, records=self.records, agents=kit.agents,
                               dispatcher=kit.dispatcher, clock=kit.clock,
                               ring_on_ms=kit.settings.ring_on_ms,
                               ring_off_ms=kit.settings.ring_off_ms)
        #: Whether call-backs can be placed: the carrier has an outbound contact.
        self.enabled = False
        self._handles: dict[str, CallbackHandle] = {}   # callback id → handle
        self._by_leg: dict[str, CallbackHandle] = {}

    @property
    def active(self) -> list[CallbackCall]:
        return [h.flow for h in self._handles.values()]

    def of_agent(self, agent_id: int) -> CallbackCall | None:
        return next((f for f in self.active if f.plan.agent_id == agent_id), None)

    def place(self, plan: CallbackPlan) -> None:
        """Start a call-back whose record is already written (state ``ringing_agent``)."""
        handle = self._adopt(CallbackCall(plan, self.kit))
        handle.inbox.put_nowait({"type": "Start"})

    # -- events ------------------------------------------------------------------
    def dispatch(self, channel_id: str, event: Event) -> bool:
        """Take an event about a call-back leg; False if the channel is not one."""
        if not channel_id.startswith(LEG_PREFIX):
            return False
        handle = self._by_leg.get(channel_id)
        if handle is not None:
            handle.inbox.put_nowait(event)
        elif event.get("type") == "StasisStart":
            # A leg answered after its call-back ended (or one we never knew): hang it up.
            asyncio.get_running_loop().create_task(self._drop(channel_id))
        return True

    async def _drop(self, channel_id: str) -> None:
        with contextlib.suppress(AriError, AriUnavailable):
            await self.kit.ari.hangup(channel_id)

    def _adopt(self, flow: CallbackCall) -> CallbackHandle:
        handle = CallbackHandle(flow, asyncio.Queue())
        self._handles[flow.callback_id] = handle
        for leg in flow.legs:
            self._by_leg[leg] = handle
        handle.task = asyncio.get_running_loop().create_task(
            self._work(handle), name=f"callback-{flow.callback_id}")
        return handle

    async def _work(self, handle: CallbackHandle) -> None:
        flow = handle.flow
        try:
            while flow.state is not State.ENDED:
                event = await handle.inbox.get()
                try:
                    await self._handle(flow, event)
                except Exception:
                    # Nothing to fall back to: both legs are ours. Hang up, close the record.
                    log.exception("callback %s: handler failed; ending it", flow.callback_id)
                    for leg in flow.legs:
                        await flow._drop(leg)
                    await flow._finish("failed", "system", None)
        finally:
            self._handles.pop(flow.callback_id, None)
            for leg in flow.legs:
                if self._by_leg.get(leg) is handle:
                    del self._by_leg[leg]

    @staticmethod
    async def _handle(flow: CallbackCall, event: Event) -> None:
        kind = event.get("type")
        channel = (event.get("channel") or {}).get("id", "")
        if kind == "Start":
            await flow.start()
        elif kind == "StasisStart":
            await flow.on_answered(channel)
        elif kind == "ChannelDestroyed":
            await flow.on_leg_gone(channel, event.get("cause"))
        elif kind == "Resume":
            await flow.resume(event["live"])

    # -- recovery ----------------------------------------------------------------
    def catch_up(self, live: dict[str, Event]) -> None:
        """The call-backs we know of compare their legs with what Asterisk has now."""
        for handle in list(self._handles.values()):
            handle.inbox.put_nowait({"type": "Resume", "live": live})

    async def recover(self, live: dict[str, Event]) -> None:
        """After a (re)connection: known call-backs catch up, those on record are re-adopted."""
        self.catch_up(live)
        try:
            stored = await self.records.open_callbacks()
        except DatabaseUnavailable as exc:
            log.warning("call-backs not reconciled with their records yet (%s)", exc)
            return
        for record in stored:
            if record.id in self._handles:
                continue
            plan = CallbackPlan(callback_id=record.id, agent_id=record.agent_id,
                                endpoint=record.endpoint, number=record.number,
                                caller_id=record.caller_id)
            handle = self._adopt(CallbackCall(plan, self.kit, State(record.state)))
            handle.inbox.put_nowait({"type": "Resume", "live": live})
            log.info("callback %s: re-adopted in state %s", record.id, record.state)

    def bound_agents(self) -> set[int]:
        """Agents of the call-backs in progress: each call-back frees its agent as it ends
        (also one whose legs went away meanwhile, when it catches up)."""
        return {h.flow.plan.agent_id for h in self._handles.values()
                if h.flow.plan.agent_id is not None}

    async def close(self) -> None:
        """Stop following call-backs; their legs stay up for the next control plane."""
        tasks = [h.task for h in self._handles.values() if h.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["LEG_PREFIX", "CallbackDesk", "agent_leg", "citizen_leg"]
