"""The control plane's ARI application: routes events to per-call flows and re-adopts calls.

Each call gets its own task and inbox, so its events are handled in order and a
slow call never delays another. Any exception in a call's handler sends that
call back to dialplan (the service's voicemail) instead of leaving the caller
in silence. On every (re)connection of the event WebSocket, and when Asterisk
comes back, :meth:`ControlPlane.recover` makes the database and Asterisk agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import Clock, utc_now
from ari_app.directory import ServiceDirectory
from ari_app.flows.inbound import NEXT_VARIABLE, CallContext, InboundCall, State
from ari_app.records import CallRecords
from ari_app.sanitize import (
    clean_caller_name,
    clean_caller_number,
    is_slug,
    normalize_did,
    printable,
)
from ari_app.transport.ari import AriClient, AriError, AriUnavailable, Event

log = logging.getLogger(__name__)

#: Events that concern one channel, and where in the event its id is.
_HANGUP_EVENTS = frozenset({"ChannelDestroyed"})


def channel_of(event: Event) -> str | None:
    """The caller channel an event is about, if any."""
    channel = event.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    playback = event.get("playback")
    if isinstance(playback, dict):
        target = str(playback.get("target_uri", ""))
        if target.startswith("channel:"):
            return target.removeprefix("channel:")
    return None


@dataclass
class CallHandle:
    """A call's inbox and the task that works through it."""

    channel_id: str
    inbox: asyncio.Queue[Event]
    task: asyncio.Task[None] | None = None
    flow: InboundCall | None = None


class ControlPlane:
    def __init__(self, ari: AriClient, sessions: async_sessionmaker, *, sounds_dir: str,
                 clock: Clock = utc_now):
        self.ari = ari
        self.sessions = sessions
        self.records = CallRecords(sessions)
        self.directory = ServiceDirectory(sessions)
        self.clock = clock
        self.sounds_dir = sounds_dir
        self.calls: dict[str, CallHandle] = {}
        #: Called with every ARI event, in order (live views, tests); must not block.
        self.observers: list[Callable[[Event], None]] = []
        self.connected = asyncio.Event()
        self._recovering = asyncio.Lock()

    # -- event loop --------------------------------------------------------------
    async def run(self) -> None:
        """Consume ARI events until cancelled."""
        async for event in self.ari.events(on_connect=self._on_connect):
            self.dispatch(event)

    async def _on_connect(self) -> None:
        await self.recover()
        self.connected.set()

    def dispatch(self, event: Event) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                log.exception("event observer failed")
        channel_id = channel_of(event)
        if channel_id is None:
            return
        handle = self.calls.get(channel_id)
        if event.get("type") == "StasisStart" and handle is None:
            handle = self._new_handle(channel_id)
        if handle is not None:
            handle.inbox.put_nowait(event)

    def _new_handle(self, channel_id: str, flow: InboundCall | None = None) -> CallHandle:
        handle = CallHandle(channel_id=channel_id, inbox=asyncio.Queue(), flow=flow)
        handle.task = asyncio.get_running_loop().create_task(
            self._work(handle), name=f"call-{channel_id}")
        self.calls[channel_id] = handle
        return handle

    async def _work(self, handle: CallHandle) -> None:
        try:
            finished = False
            while not finished:
                event = await handle.inbox.get()
                try:
                    finished = await self._handle(handle, event)
                except (AriError, AriUnavailable) as exc:
                    log.warning("call on channel %s: ARI refused (%s); sending it to the "
                                "fallback", handle.channel_id, exc)
                    await self._rescue(handle)
                except Exception:
                    log.exception("call on channel %s: handler failed; sending it to the "
                                  "fallback", handle.channel_id)
                    await self._rescue(handle)
        finally:
            self.calls.pop(handle.channel_id, None)

    async def _handle(self, handle: CallHandle, event: Event) -> bool:
        """Apply one event to the call; True when the call is over for us."""
        kind = event.get("type")
        flow = handle.flow
        if kind == "StasisStart":
            if flow is None:
                handle.flow = flow = await self._start_call(event)
                if flow is None:
                    return True
                await flow.start()
            return False
        if flow is None:
            return kind in _HANGUP_EVENTS
        if kind == "PlaybackFinished":
            await flow.on_playback_finished(event["playback"]["id"])
        elif kind == "ChannelHangupRequest":
            flow.on_hangup_request(bool(event.get("soft")), event.get("cause"))
        elif kind == "StasisEnd":
            await flow.on_stasis_end()
        elif kind in _HANGUP_EVENTS:
            await flow.on_hangup(event.get("cause"))
        return flow.state is State.ENDED

    async def _start_call(self, event: Event) -> InboundCall | None:
        channel = event["channel"]
        channel_id = channel["id"]
        args = [str(a) for a in event.get("args", [])]
        if len(args) < 3 or args[0] != "inbound":
            log.warning("channel %s entered with unexpected arguments %s; returned to dialplan",
                        printable(channel_id), printable(repr(args)))
            await self.ari.continue_in_dialplan(channel_id)
            return None
        return await self._adopt_new_call(channel, args[1], args[2])

    async def _adopt_new_call(self, channel: dict[str, Any], slug: str,
                              raw_did: str) -> InboundCall | None:
        channel_id = channel["id"]
        did = normalize_did(raw_did) or ""
        caller = channel.get("caller") or {}
        caller_number = clean_caller_number(caller.get("number"))
        caller_name = clean_caller_name(caller.get("name"))
        service = await self.directory.get(slug) if is_slug(slug) else None
        call_id = str(uuid.uuid4())
        now = self.clock()
        await self.records.arrived(
            call_id=call_id, channel_id=channel_id, service_id=service.id if service else None,
            did=did, caller_number=caller_number, caller_name=caller_name, at=now,
            in_hours=None,
        )
        log.info("call %s: arrived on %s for %s from %s", call_id, did or "?",
                 slug if service else "unknown service", caller_number or "anonymous")
        if service is None:
            await self.records.ended(call_id, at=now, hung_up_by="system", cause=1,
                                     outcome="failed")
            await self.ari.hangup(channel_id, reason="unallocated")
            return None
        ctx = CallContext(call_id=call_id, channel_id=channel_id, service=service, did=did,
                          sounds_dir=self.sounds_dir)
        return InboundCall(ctx, self.ari, self.records, self.clock)

    async def _rescue(self, handle: CallHandle) -> None:
        """Safety net: put the caller back in dialplan, where the fallback takes over."""
        with contextlib.suppress(AriError, AriUnavailable):
            await self.ari.subscribe(f"channel:{handle.channel_id}")
            await self.ari.set_variable(handle.channel_id, NEXT_VARIABLE, "voicemail")
            await self.ari.continue_in_dialplan(handle.channel_id)
            if handle.flow is not None and handle.flow.state not in (State.ENDED,
                                                                      State.HANDED_OFF):
                handle.flow.state = State.HANDED_OFF
                await self.records.update(handle.flow.ctx.call_id, flow_state="handed_off")

    # -- recovery ----------------------------------------------------------------
    async def recover(self) -> None:
        """Make our records agree with Asterisk after a (re)connection or a restart.

        Asterisk does not replay events missed while we were away: a call that
        ended meanwhile is closed now; a call still up is re-adopted where its
        record says it was.
        """
        async with self._recovering:
            live = {c["id"]: c for c in await self.ari.list_channels()}
            for call in await self.records.open_calls():
                handle = self.calls.get(call.channel_id)
                if call.channel_id not in live:
                    if handle is not None:
                        handle.inbox.put_nowait({"type": "ChannelDestroyed", "cause": None,
                                                 "channel": {"id": call.channel_id}})
                        continue
                    flow = await self._restore_flow(call)
                    if flow is None:
                        await self.records.ended(call.id, at=self.clock(), hung_up_by="caller",
                                                 cause=None, outcome="failed")
                    else:
                        await flow.on_hangup(None)
                    log.info("call %s: ended while the control plane was away", call.id)
                    continue
                if handle is None:
                    flow = await self._restore_flow(call)
                    if flow is None:
                        continue
                    self._new_handle(call.channel_id, flow)
                    await self._resume(flow)
                    log.info("call %s: re-adopted in state %s", call.id, flow.state)

    async def _restore_flow(self, call: Any) -> InboundCall | None:
        service = None
        if call.service_id is not None:
            service = await self.directory.get_by_id(call.service_id)
        if service is None:
            return None
        ctx = CallContext(call_id=call.id, channel_id=call.channel_id, service=service,
                          did=call.did, sounds_dir=self.sounds_dir)
        flow = InboundCall(ctx, self.ari, self.records, self.clock,
                           state=State(call.flow_state))
        flow.in_hours = call.in_hours
        return flow

    async def _resume(self, flow: InboundCall) -> None:
        """Carry on a re-adopted call from its recorded state."""
        if flow.state is State.ARRIVED:
            await flow.start()
        elif flow.state in (State.WELCOME, State.CLOSED_MESSAGE):
            # The prompt's end may have passed unseen: hand the caller on now.
            await flow.resume_after_prompt()
        elif flow.state is State.HANDED_OFF:
            await self.ari.subscribe(f"channel:{flow.ctx.channel_id}")

    async def close(self) -> None:
        for handle in list(self.calls.values()):
            if handle.task is not None:
                handle.task.cancel()
        for handle in list(self.calls.values()):
            if handle.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await handle.task
