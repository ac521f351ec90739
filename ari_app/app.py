"""The control plane's ARI application: routes events to per-call flows and re-adopts calls.

Each call gets its own task and inbox, so its events are handled in order and a
slow call never delays another; the agent legs a call rings deliver their
events to the same inbox. Any exception in a call's handler sends that call
back to dialplan (the service's voicemail) instead of leaving the caller in
silence. On every (re)connection of the event WebSocket, and when Asterisk comes
back, :meth:`ControlPlane.recover` makes the database and Asterisk agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.agent_book import AgentBook
from ari_app.callback_desk import CallbackDesk
from ari_app.clock import Clock, utc_now
from ari_app.directory import ServiceDirectory
from ari_app.flows.inbound import (
    GREETING_VARIABLE,
    NEXT_VARIABLE,
    CallContext,
    FlowSettings,
    InboundCall,
    Offer,
    State,
    Toolkit,
)
from ari_app.flows.transfer import TransferRefused
from ari_app.journal import Journal
from ari_app.metrics import ReactionTimes, event_received
from ari_app.outage import DatabaseUnavailable, WriteBehind, is_writer_commit
from ari_app.queueing.dispatcher import Dispatcher
from ari_app.records import CallRecords
from ari_app.reporting.queue_log_file import QueueLogRecorder
from ari_app.routing import AgentView
from ari_app.sanitize import (
    clean_caller_name,
    clean_caller_number,
    is_slug,
    normalize_did,
    printable,
)
from ari_app.transport.ari import AriClient, AriError, AriUnavailable, Event

log = logging.getLogger(__name__)

#: How stale services and agents may be when changed by another process (the CLI, psql).
REREAD_SECONDS = 0.25
#: How long the calls' writes gather before a transaction (unless a read waits for them).
GATHER_SECONDS = 0.02

#: Agents still marked busy by a call of ours that no longer exists get freed at recovery.
_CALL_BOUND_AGENT_STATES = ("ringing", "on_call")


def channel_of(event: Event) -> str | None:
    """The channel an event is about, if any."""
    channel = event.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    for key in ("playback", "recording"):
        item = event.get(key)
        if isinstance(item, dict):
            target = str(item.get("target_uri", ""))
            if target.startswith("channel:"):
                return target.removeprefix("channel:")
    return None


def _voicemail_reason(call: Any) -> str:
    """Why a re-adopted caller is in voicemail, from what the record shows."""
    if call.in_hours is False:
        return "out_of_hours"
    return {"timeout": "wait_limit", "no_agents": "no_agents"}.get(call.queue_exit or "", "choice")


#: The ARI events the call flows act on (and the tests and benchmark observe); Asterisk
#: drops the rest (channel variables, state changes, bridge and dial events: most of
#: what it would send) before formatting them. ``RESTResponse`` carries the answers
#: to requests sent over the event socket: without it they would be dropped too.
HANDLED_EVENTS = (
    "RESTResponse",
    "StasisStart", "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed",
    "ChannelDtmfReceived", "PlaybackStarted", "PlaybackContinuing", "PlaybackFinished",
    "RecordingStarted", "RecordingFinished", "RecordingFailed", "ApplicationReplaced",
)


@dataclass
class CallHandle:
    """A call's inbox and the task that works through it."""

    channel_id: str
    inbox: asyncio.Queue[Event]
    task: asyncio.Task[None] | None = None
    flow: InboundCall | None = None
    #: Every channel id this call is known by in ``ControlPlane.calls`` (its legs too).
    channels: set[str] = field(default_factory=set)


class ControlPlane:
    def __init__(self, ari: AriClient, sessions: async_sessionmaker, *, sounds_dir: str,
                 clock: Clock = utc_now, flow_settings: FlowSettings | None = None,
                 dispatch_poll_seconds: float = 2.0, journal_path: Path | None = None,
                 queue_log_path: Path | None = None):
        self.ari = ari
        self.sessions = sessions
        #: Database writes, journaled in ``journal_path`` while the database is away.
        self.writes = WriteBehind(sessions, Journal(journal_path) if journal_path else None,
                                  gather_seconds=GATHER_SECONDS)
        self.writes.on_caught_up = self._database_caught_up
        self.records = CallRecords(sessions, self.writes)
        # Services and agents are read again at most every quarter of a second, and at
        # once after a change committed in this process (``_someone_committed``).
        self.directory = ServiceDirectory(sessions, self.writes,
                                          version_max_age=REREAD_SECONDS)
        self.agents = AgentBook(sessions, self.writes, roster_max_age=REREAD_SECONDS)
        #: Asterisk-style queue_log lines made from the writes, if configured.
        self.queue_log = (QueueLogRecorder(queue_log_path, sessions, clock, self.writes,
                                           known_username=self.agents.known_username)
                          if queue_log_path else None)
        if self.queue_log is not None:
            self.writes.listen(self.queue_log)
        self._engine = sessions.kw["bind"].sync_engine
        sa_event.listen(self._engine, "commit", self._someone_committed)
        self.clock = clock
        self.dispatcher = Dispatcher(ari, self.agents, clock, poll_seconds=dispatch_poll_seconds)
        self.kit = Toolkit(
            ari=ari, records=self.records, directory=self.directory, agents=self.agents,
            dispatcher=self.dispatcher, clock=clock, sounds_dir=sounds_dir,
            settings=flow_settings or FlowSettings(), alias_channel=self._alias,
        )
        #: Call-backs from the agent desktop: their legs' events go there.
        self.callbacks = CallbackDesk(self.kit, sessions, self.writes)
        #: caller channel id → handle; agent legs are aliased to their caller's handle.
        self.calls: dict[str, CallHandle] = {}
        #: Called with every ARI event, in order (live views, tests); must not block.
        self.observers: list[Callable[[Event], None]] = []
        self.reaction = ReactionTimes()
        ari.on_request = self.reaction.request_sent
        self.connected = asyncio.Event()
        #: How many times the event WebSocket (re)connected and calls were reconciled.
        self.connections = 0
        self._recovering = asyncio.Lock()
        #: Recovery found the database away: calls are reconciled once it has caught up.
        self._reconcile_later = False

    def _someone_committed(self, connection: Any) -> None:
        """A transaction in this process (web admin, desk, feature code, API) committed:
        it may have changed services or agents, so the next call reads them again."""
        if is_writer_commit(connection):
            return  # the calls' own records and agent states: already known here
        self.directory.forget()
        self.agents_changed()

    def agents_changed(self) -> None:
        """An agent's state was changed in this process outside the call flows (feature
        code, desktop): read the agents again and look for waiting callers now."""
        self.agents.forget_roster()
        self.dispatcher.kick()

    @property
    def active_calls(self) -> list[CallHandle]:
        return list({id(h): h for h in self.calls.values()}.values())

    # -- event loop --------------------------------------------------------------
    async def run(self) -> None:
        """Consume ARI events until cancelled."""
        await self.writes.start()  # what a previous run journaled goes in before new writes
        self.dispatcher.start()
        async for event in self.ari.events(on_connect=self._on_connect):
            self.dispatch(event)

    async def _on_connect(self) -> None:
        try:
            await self.ari.allow_events(HANDLED_EVENTS)
        except (AriError, AriUnavailable) as exc:  # the filter saves work; calls work without
            log.warning("ARI event filter not set (%s): every event will be sent", exc)
        await self.recover()
        self.connections += 1
        self.connected.set()

    def dispatch(self, event: Event) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                log.exception("event observer failed")
        channel_id = channel_of(event)
        if channel_id is None or self.callbacks.dispatch(channel_id, event):
            return
        handle = self.calls.get(channel_id)
        if event.get("type") == "StasisStart" and handle is None:
            args = [str(a) for a in event.get("args", [])]
            if args[:1] == ["leg"]:
                # An agent leg whose call we no longer know (e.g. answered after the
                # caller left): nobody to connect it to.
                asyncio.get_running_loop().create_task(self._drop(channel_id))
                return
            handle = self._new_handle(channel_id)
        if handle is not None:
            event["_received"] = time.perf_counter()
            handle.inbox.put_nowait(event)

    def _alias(self, agent_channel: str, caller_channel: str) -> None:
        handle = self.calls.get(caller_channel)
        if handle is not None:
            self._known_as(handle, agent_channel)

    def _known_as(self, handle: CallHandle, channel_id: str) -> None:
        self.calls[channel_id] = handle
        handle.channels.add(channel_id)

    def _new_handle(self, channel_id: str, flow: InboundCall | None = None) -> CallHandle:
        handle = CallHandle(channel_id=channel_id, inbox=asyncio.Queue(), flow=flow)
        handle.task = asyncio.get_running_loop().create_task(
            self._work(handle), name=f"call-{channel_id}")
        self._known_as(handle, channel_id)
        return handle

    def _forget(self, handle: CallHandle) -> None:
        for channel_id in handle.channels:
            if self.calls.get(channel_id) is handle:
                del self.calls[channel_id]

    async def _drop(self, channel_id: str) -> None:
        with contextlib.suppress(AriError, AriUnavailable):
            await self.ari.hangup(channel_id)

    async def _work(self, handle: CallHandle) -> None:
        try:
            finished = False
            while not finished:
                event = await handle.inbox.get()
                received = event.get("_received")
                event_received.set([received] if received is not None else None)
                try:
                    finished = await self._handle(handle, event)
                except (AriError, AriUnavailable) as exc:
                    log.warning("call on channel %s: ARI refused (%s); sending it to the "
                                "fallback", handle.channel_id, exc)
                    finished = await self._rescue(handle)
                except Exception:
                    log.exception("call on channel %s: handler failed; sending it to the "
                                  "fallback", handle.channel_id)
                    finished = await self._rescue(handle)
        finally:
            if handle.flow is not None:
                handle.flow.cancel_timers()
            self._forget(handle)

    async def _handle(self, handle: CallHandle, event: Event) -> bool:
        """Apply one event to the call; True when the call is over for us."""
        kind = event.get("type")
        flow = handle.flow
        if kind == "StasisStart" and channel_of(event) == handle.channel_id:
            if flow is None:
                handle.flow = flow = await self._start_call(event, handle)
                if flow is None:
                    return True
                await flow.start()
            return False
        if flow is None:
            return kind == "ChannelDestroyed"
        leg = channel_of(event)
        if leg is not None and leg != handle.channel_id:
            await self._handle_agent_leg(flow, leg, event)
        elif kind == "PlaybackFinished":
            await flow.on_playback_finished(event["playback"]["id"])
        elif kind == "ChannelDtmfReceived":
            await flow.on_dtmf(str(event.get("digit", "")))
        elif kind in ("RecordingFinished", "RecordingFailed"):
            recording = event["recording"]
            await flow.on_recording_finished(recording.get("name", ""),
                                             recording.get("duration"),
                                             failed=kind == "RecordingFailed")
        elif kind == "ChannelHangupRequest":
            flow.on_hangup_request(bool(event.get("soft")), event.get("cause"))
        elif kind == "StasisEnd":
            await flow.on_stasis_end()
        elif kind == "ChannelDestroyed":
            await flow.on_hangup(event.get("cause"))
        elif kind == "Offer":
            await flow.on_offer(event["agents"])
        elif kind == "Timer":
            await flow.on_timer(event["name"], event["token"])
        elif kind == "Resume":
            await flow.resume(event["live"])
        elif kind == "Command":
            await self._run_command(flow, event)
        return flow.state is State.ENDED

    @staticmethod
    async def _run_command(flow: InboundCall, event: Event) -> None:
        done: asyncio.Future[None] = event["done"]
        try:
            action, args = event["action"], event["args"]
            if action == "transfer":
                await flow.transfer(args["to"], args.get("mode", "blind"))
            elif action == "complete":
                await flow.complete_transfer()
            elif action == "cancel":
                await flow.cancel_transfer()
            else:
                raise TransferRefused(f"unknown command {action!r}")
        except TransferRefused as exc:
            if not done.done():
                done.set_exception(exc)
            return
        except BaseException as exc:
            if not done.done():
                done.set_exception(exc)
            raise
        if not done.done():
            done.set_result(None)

    async def _handle_agent_leg(self, flow: InboundCall, leg: str, event: Event) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            await flow.on_agent_answered(leg)
        elif kind == "ChannelDestroyed":
            await flow.on_agent_leg_gone(leg, event.get("cause"))
            self.calls.pop(leg, None)
        elif kind == "ChannelHangupRequest" and leg == flow.agent_channel:
            flow.hung_up_by = flow.hung_up_by or "agent"

    async def _start_call(self, event: Event, handle: CallHandle) -> InboundCall | None:
        channel = event["channel"]
        channel_id = channel["id"]
        args = [str(a) for a in event.get("args", [])]
        if len(args) < 3 or args[0] not in ("inbound", "office"):
            log.warning("channel %s entered with unexpected arguments %s; returned to dialplan",
                        printable(channel_id), printable(repr(args)))
            await self.ari.continue_in_dialplan(channel_id)
            return None
        return await self._adopt_new_call(channel, args[1], args[2], handle,
                                          office=args[0] == "office")

    async def _adopt_new_call(self, channel: dict[str, Any], slug: str, raw_did: str,
                              handle: CallHandle, *, office: bool = False
                              ) -> InboundCall | None:
        channel_id = channel["id"]
        did = normalize_did(raw_did) or ""
        caller = channel.get("caller") or {}
        caller_number = clean_caller_number(caller.get("number"))
        caller_name = clean_caller_name(caller.get("name"))
        call_id = str(uuid.uuid4())
        now = self.clock()
        try:
            service = await self.directory.get(slug) if is_slug(slug) else None
        except DatabaseUnavailable as exc:
            # Nothing known about the service (the database has been away since start-up):
            # the call is put on record and goes to the dialplan's fallback (voicemail).
            log.warning("call %s: %s; handing it to the dialplan fallback", call_id, exc)
            await self.records.arrived(
                call_id=call_id, channel_id=channel_id, service_id=None, did=did,
                caller_number=caller_number, caller_name=caller_name, at=now, in_hours=None,
                service_slug=slug)
            await self.records.ended(call_id, at=now, hung_up_by="system", cause=None,
                                     outcome="failed")
            await self._rescue(handle)
            return None
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
        line = await self.directory.office_line(did) if office else None
        ctx = CallContext(call_id=call_id, channel_id=channel_id, service=service, did=did,
                          caller_number=caller_number, office=line)
        return InboundCall(ctx, self.kit, handle.inbox.put_nowait)

    async def _rescue(self, handle: CallHandle) -> bool:
        """Safety net: put the caller back in dialplan, where the fallback takes over.

        Returns True when the call is over for us: the caller had already hung up
        (the failed request was racing the hang-up), so the record is closed now
        instead of waiting for events that will never come.
        """
        flow = handle.flow
        if flow is not None and flow.state in (State.ENDED, State.HANDED_OFF):
            return flow.state is State.ENDED
        gone = False
        try:
            await self.ari.subscribe(f"channel:{handle.channel_id}")
            await self.ari.set_variable(handle.channel_id, NEXT_VARIABLE, "voicemail")
            in_hours = flow.in_hours if flow is not None else None
            await self.ari.set_variable(handle.channel_id, GREETING_VARIABLE,
                                        "b" if in_hours else "u")
            await self.ari.continue_in_dialplan(handle.channel_id)
        except AriError as exc:
            gone = exc.status in (404, 422)  # no such channel (any more)
        except AriUnavailable:
            pass
        if flow is None:
            return gone
        if gone:
            with contextlib.suppress(Exception):
                await flow.on_hangup(None)
            # A message being recorded keeps the call alive a moment to be filed.
            return flow.state is State.ENDED
        flow.cancel_timers()
        self.dispatcher.leave(flow.ctx.call_id)
        flow.state = State.HANDED_OFF
        with contextlib.suppress(Exception):
            await self.records.update(flow.ctx.call_id, flow_state="handed_off")
        return False

    # -- commands from agents (desktop, API, CLI) ----------------------------------
    def find_call(self, call_id: str) -> CallHandle | None:
        for handle in self.active_calls:
            if handle.flow is not None and handle.flow.ctx.call_id == call_id:
                return handle
        return None

    async def command(self, call_id: str, action: str, **args: str) -> None:
        """Run an agent's command on a call, in the call's own order of events.

        Raises LookupError if the call is not in progress here, TransferRefused if
        the call's state does not allow it now.
        """
        handle = self.find_call(call_id)
        if handle is None:
            raise LookupError(call_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handle.inbox.put_nowait({"type": "Command", "action": action, "args": args,
                                 "done": done})
        await done

    # -- recovery ----------------------------------------------------------------
    async def recover(self) -> None:
        """Make our records agree with Asterisk after a (re)connection or a restart.

        Asterisk does not replay events missed while we were away: a call that
        ended meanwhile is closed now; a call still up is re-adopted where its
        record says it was; agents left ringing or on a call that is gone are freed.
        """
        async with self._recovering:
            live = {c["id"]: c for c in await self._list_channels_when_booted()}
            try:
                open_calls = await self.records.open_calls()
            except DatabaseUnavailable as exc:
                self._recover_without_database(live, exc)
                return
            self._reconcile_later = False
            for call in open_calls:
                handle = self.calls.get(call.channel_id)
                if handle is not None:
                    if call.channel_id not in live:
                        handle.inbox.put_nowait({"type": "ChannelDestroyed", "cause": None,
                                                 "channel": {"id": call.channel_id}})
                    continue
                flow = await self._restore_flow(call, live)
                if flow is None:
                    if call.channel_id not in live:
                        await self.records.ended(call.id, at=self.clock(), hung_up_by="caller",
                                                 cause=None, outcome="failed")
                    continue
                handle = self._new_handle(call.channel_id, flow)
                flow.post = handle.inbox.put_nowait
                for leg in flow.offers:
                    self._known_as(handle, leg)
                for leg in (flow.agent_channel, flow.office_leg, flow.referent_leg,
                            flow.menu_referent_leg):
                    if leg:
                        self._known_as(handle, leg)
                if call.channel_id not in live:
                    handle.inbox.put_nowait({"type": "ChannelDestroyed", "cause": None,
                                             "channel": {"id": call.channel_id}})
                    log.info("call %s: ended while the control plane was away", call.id)
                    continue
                handle.inbox.put_nowait({"type": "Resume", "live": live,
                                         "channel": {"id": call.channel_id}})
                log.info("call %s: re-adopted in state %s", call.id, flow.state)
            await self.callbacks.recover(live)
            await self._free_stranded_agents(live)
            self.dispatcher.kick()

    def _recover_without_database(self, live: dict[str, Event], exc: Exception) -> None:
        """Calls of ours whose channel is gone end now; the rest waits for the database."""
        self._reconcile_later = True
        log.warning("calls not reconciled with the records yet (%s): they will be once the "
                    "database has caught up", exc)
        for handle in self.active_calls:
            if handle.channel_id not in live:
                handle.inbox.put_nowait({"type": "ChannelDestroyed", "cause": None,
                                         "channel": {"id": handle.channel_id}})
        self.callbacks.catch_up(live)
        self.dispatcher.kick()

    async def _database_caught_up(self) -> None:
        if self._reconcile_later and self.connected.is_set():
            await self.recover()

    async def _list_channels_when_booted(self, patience: float = 15.0) -> list[Event]:
        """Asterisk answers 503 until fully booted (AMI comes up first): wait for it."""
        delay, waited = 0.2, 0.0
        while True:
            try:
                return await self.ari.list_channels()
            except (AriError, AriUnavailable) as exc:
                if (isinstance(exc, AriError) and exc.status != 503) or waited >= patience:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)

    async def _restore_flow(self, call: Any, live: dict[str, Event]) -> InboundCall | None:
        service = None
        if call.service_id is not None:
            service = await self.directory.get_by_id(call.service_id)
        if service is None:
            return None
        office = await self.directory.office_line(call.did)
        ctx = CallContext(call_id=call.id, channel_id=call.channel_id, service=service,
                          did=call.did, caller_number=call.caller_number, office=office)
        flow = InboundCall(ctx, self.kit, lambda _event: None, state=State(call.flow_state))
        flow.overflow = call.overflow
        if flow.state in (State.OFFICE_RINGING, State.OFFICE_CONNECTED):
            flow.office_leg = f"{call.id}-o1"
            if flow.state is State.OFFICE_CONNECTED:
                flow.outcome_override = "office_answered"
        flow.adopt_menu_referent()
        flow.in_hours = call.in_hours
        flow.queue_entered_at = call.queue_entered_at
        flow.ivr_path = [p for p in call.ivr_path.split(">") if p]
        flow.skill = call.topic
        if flow.state in (State.BUSY, State.VOICEMAIL, State.GOODBYE, State.CLOSED_MESSAGE):
            flow.voicemail_reason = _voicemail_reason(call)
        if flow.state is State.VOICEMAIL:
            flow.resume_recording_name()
        if call.queue_id is not None:
            flow.queue = next((q for q in service.queues.values() if q.id == call.queue_id),
                              None)
        flow.answered_by_agent = call.answered_at is not None
        referents = sorted(c for c in live if c.startswith(f"{call.id}-r"))
        flow.referent_leg = referents[-1] if referents else None
        offers = await self.agents.open_offers(call.id)
        for offer in offers:
            if offer.result == "answered" and flow.state in (State.CONNECTED, State.CONSULTING):
                flow.agent_channel, flow.agent_id = offer.channel_id, offer.agent_id
            elif offer.ring_stopped_at is None and offer.agent_id is not None:
                agent = await self._agent_view(offer.agent_id)
                if agent is not None:
                    flow.offers[offer.channel_id] = Offer(agent, offer.channel_id)
        # Offers are keyed by their leg's channel id ("<call>-a<n>"): new ones go on counting.
        flow._offer_seq = len(offers)
        return flow

    async def _agent_view(self, agent_id: int) -> AgentView | None:
        agent = await self.agents.get(agent_id)
        return self.agents.view(agent, False) if agent is not None else None

    async def _free_stranded_agents(self, live: dict[str, Event]) -> None:
        """Agents marked ringing or on a call with no live leg of ours are free again."""
        bound: set[int] = self.callbacks.bound_agents()
        for handle in self.active_calls:
            flow = handle.flow
            if flow is None:
                continue
            bound |= {o.agent.agent_id for leg, o in flow.offers.items() if leg in live}
            if flow.agent_id is not None and flow.agent_channel in live:
                bound.add(flow.agent_id)
        now = self.clock()
        for agent in await self.agents.in_states(_CALL_BOUND_AGENT_STATES):
            if agent.id not in bound:
                await self.agents.set_state(agent.id, "available", now,
                                            only_if=_CALL_BOUND_AGENT_STATES)
        for agent in await self.agents.in_states(("wrapup",)):
            wrapup = await self.agents.wrapup_seconds(agent.id)
            since = agent.state_since or now
            self.dispatcher.schedule_wrapup_end(
                agent.id, max(0.0, wrapup - (now - since).total_seconds()))

    async def leave_calls(self) -> None:
        """Stop handling the calls and leave them as they are in Asterisk, for the next
        process to re-adopt. Done before the event socket closes: a call waiting for an
        answer on it would otherwise take the closing for a failure and be sent to the
        fallback (voicemail) by a control plane that is only restarting."""
        handles = self.active_calls
        for handle in handles:
            if handle.task is not None:
                handle.task.cancel()
        for handle in handles:
            if handle.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await handle.task

    async def close(self) -> None:
        if sa_event.contains(self._engine, "commit", self._someone_committed):
            sa_event.remove(self._engine, "commit", self._someone_committed)
        await self.callbacks.close()
        await self.dispatcher.close()
        await self.writes.close()
        if self.queue_log is not None:
            await self.queue_log.close()
        await self.leave_calls()
