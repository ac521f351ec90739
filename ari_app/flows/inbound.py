"""A citizen's call to a service number, from arrival to hang-up, as explicit states.

::

    arrived ─▶ welcome ─▶ menu ──digit──▶ message ─▶ (goodbye) ended      ivr_only
       │          │         │  ├─────────▶ notices ─▶ queued
       │          │         │  └─▶ submenu, referent_ringing ...        (menu_steps.py)
       │          │         └─timeout / invalid twice─▶ queued
       │          └─(no menu)─▶ hours ─▶ queued          (Motorizzazione)
       │                                   queued ─agent answers─▶ connected ─▶ ended
       │                                   queued ─no agents / wait limit─▶ busy ─▶ voicemail
       └─(closed)─▶ closed_message ─▶ voicemail ─▶ (thanks) ended
    any state ──caller hangs up──▶ ended;  any failure ──▶ handed_off (dialplan fallback)

The flow decides; the ARI client, the record writer and the dispatcher it is
given do the I/O. Events reach it one at a time from the call's own inbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.agent_book import AgentBook
from ari_app.clock import Clock
from ari_app.directory import (
    OfficeLineInfo,
    OptionInfo,
    QueueInfo,
    ServiceDirectory,
    ServiceInfo,
)
from ari_app.flows.menu import MenuSession
from ari_app.flows.menu_steps import MenuSteps
from ari_app.flows.transfer import TransferSteps
from ari_app.hours import is_open
from ari_app.queueing.dispatcher import Dispatcher, Waiting
from ari_app.records import CallRecords
from ari_app.routing import (
    AgentView,
    PositionAnnouncer,
    WaitEstimator,
    classify_abandon,
    ring_timeout_seconds,
    round_minutes_for_speech,
)
from ari_app.transport.ari import AriError, AriUnavailable, cleanup_step

log = logging.getLogger(__name__)

#: Dialplan variable that tells `centralino-inbound` where to go after Stasis.
NEXT_VARIABLE = "CENTRALINO_NEXT"
GREETING_VARIABLE = "CENTRALINO_VM_GREETING"


class State(StrEnum):
    ARRIVED = "arrived"
    OFFICE_RINGING = "office_ringing"
    OFFICE_CONNECTED = "office_connected"
    WELCOME = "welcome"
    HOURS = "hours"
    MENU = "menu"
    REFERENT_RINGING = "referent_ringing"
    REFERENT_CONNECTED = "referent_connected"
    MESSAGE = "message"
    NOTICES = "notices"
    QUEUED = "queued"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    CONSULTING = "consulting"
    TRANSFERRED = "transferred"
    BUSY = "busy"
    CLOSED_MESSAGE = "closed_message"
    VOICEMAIL = "voicemail"
    GOODBYE = "goodbye"
    HANDED_OFF = "handed_off"
    ENDED = "ended"


class InvalidTransition(Exception):
    """An event arrived that the call's current state does not accept."""


@dataclass
class FlowSettings:
    """Durations, configurable so tests can run the real flows quickly."""

    #: Ring cadence in ms (Italian: 1 s tone, 4 s silence).
    ring_on_ms: int = 1000
    ring_off_ms: int = 4000
    voicemail_max_seconds: int = 180
    voicemail_max_silence_seconds: int = 10


@dataclass
class Toolkit:
    """Everything a call flow talks to; one per control plane."""

    ari: Any
    records: CallRecords
    directory: ServiceDirectory
    agents: AgentBook
    dispatcher: Dispatcher
    clock: Clock
    sounds_dir: str
    settings: FlowSettings = field(default_factory=FlowSettings)
    #: Calls back into the control plane so agent legs' events reach this call.
    alias_channel: Callable[[str, str], None] = lambda agent_channel, caller_channel: None
    on_ended: Callable[[str], None] = lambda call_id: None


@dataclass
class CallContext:
    call_id: str
    channel_id: str
    service: ServiceInfo
    did: str
    caller_number: str = ""
    #: Set when the caller dialled an office's own number (overflow on no answer).
    office: OfficeLineInfo | None = None


@dataclass
class Offer:
    agent: AgentView
    #: The agent leg's channel id, chosen by us: also the offer's key in the records.
    channel_id: str


class InboundCall(MenuSteps, TransferSteps):
    """One caller's leg under our control."""

    def __init__(self, ctx: CallContext, kit: Toolkit, post: Callable[[dict[str, Any]], None],
                 state: State = State.ARRIVED):
        self.ctx = ctx
        self.kit = kit
        self.post = post
        self.state = state
        self.in_hours: bool | None = None
        self.queue: QueueInfo | None = None
        self.skill: str | None = None
        self.queue_entered_at: datetime | None = None
        self.offers: dict[str, Offer] = {}   # agent channel id → offer
        self.agent_channel: str | None = None
        self.agent_id: int | None = None
        self.menu: MenuSession | None = None
        self.ivr_path: list[str] = []
        self.voicemail_reason = "out_of_hours"
        self.overflow = False
        self._playlist: list[str] = []
        self._after_playlist: Callable[[], Any] | None = None
        self._playback_id: str | None = None
        self._playbacks = 0
        self._offer_seq = 0
        self._timer_seq = 0
        self._timers: dict[str, int] = {}
        #: Pending timers (a callback each, cheaper than a task): cancelled with the call.
        self._timer_handles: list[asyncio.TimerHandle] = []
        self._caller_hung_up = False
        self._hangup_cause: int | None = None
        self._recording: str | None = None
        self._announcer = PositionAnnouncer()
        self.office_leg: str | None = None
        self.answered_by_agent = False
        self.outcome_override: str | None = None
        self._recording_grace = False
        self._grace_cause: int | None = None
        self.left_message = False
        self.hung_up_by: str | None = None

    # -- plumbing ------------------------------------------------------------------
    @property
    def bridge_id(self) -> str:
        """Derivable from the call id, so a restarted process finds the bridge again."""
        return f"call-{self.ctx.call_id}"

    @property
    def ari(self) -> Any:
        return self.kit.ari

    async def _move(self, event: str, to: State, allowed_from: tuple[State, ...],
                    **record: Any) -> None:
        """Change state; ``record`` fields that belong to the new state are written with
        it, in one write, so a restarted process never finds one without the other."""
        if self.state not in allowed_from:
            raise InvalidTransition(f"call {self.ctx.call_id}: {event} in state {self.state}")
        log.info("call %s: %s -> %s -> %s", self.ctx.call_id, self.state, event, to)
        self.state = to
        await self.kit.records.update(self.ctx.call_id, flow_state=to.value, **record)

    def _media(self, kind: str) -> list[str]:
        sound = self.ctx.service.sounds.get(kind)
        return [self._sound(sound)] if sound else []

    def _sound(self, name: str) -> str:
        return f"sound:{self.kit.sounds_dir}/{name}"

    async def _play(self, media: list[str], then: Callable[[], Any]) -> None:
        """Play media in order, then call ``then`` (also when there is nothing to play).

        One playback for the whole list: Asterisk moves from one sound to the next by
        itself (``PlaybackContinuing``), and we hear back once, when it has finished.
        """
        self._playlist = list(media)
        self._after_playlist = then
        await self._play_next()

    async def _play_next(self) -> None:
        if not self._playlist:
            self._playback_id = None
            then, self._after_playlist = self._after_playlist, None
            if then is not None:
                await then()
            return
        media, self._playlist = self._playlist, []
        self._playbacks += 1
        self._playback_id = f"{self.ctx.call_id}-p{self._playbacks}"
        await self.ari.play(self.ctx.channel_id, media, self._playback_id)

    async def _stop_playing(self) -> None:
        self._playlist = []
        self._after_playlist = None
        if self._playback_id is not None:
            playback, self._playback_id = self._playback_id, None
            try:
                await self.ari.stop_playback(playback)
            except AriError as exc:
                if exc.status != 404:
                    raise

    def _start_timer(self, name: str, seconds: float) -> None:
        """After ``seconds``, a Timer event for ``name`` enters the inbox (unless re-armed)."""
        self._timer_seq += 1
        token = self._timer_seq
        self._timers[name] = token
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._timer_handles = [h for h in self._timer_handles
                               if not h.cancelled() and h.when() > now]  # fired ones go
        self._timer_handles.append(loop.call_later(
            seconds, self.post, {"type": "Timer", "name": name, "token": token}))

    def _cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)

    def cancel_timers(self) -> None:
        self._timers.clear()
        for handle in self._timer_handles:
            handle.cancel()
        self._timer_handles = []

    # -- arrival -------------------------------------------------------------------
    async def start(self) -> None:
        if self.state is not State.ARRIVED:
            raise InvalidTransition(f"call {self.ctx.call_id}: start in state {self.state}")
        self.in_hours = is_open(self.ctx.service.calendar, self.kit.clock())
        if self.ctx.office is not None:
            await self._ring_office(self.ctx.office)
            return
        await self.ari.answer(self.ctx.channel_id)
        await self.kit.records.update(self.ctx.call_id, pbx_answered_at=self.kit.clock(),
                                      in_hours=self.in_hours)
        if self.in_hours:
            await self._move("start", State.WELCOME, (State.ARRIVED,))
            welcome = self._media("welcome")
            if self.ctx.service.not_emergency_notice:
                welcome += self._media("emergency")
            await self._play(welcome, self._after_welcome)
        else:
            self.voicemail_reason = "out_of_hours"
            await self._move("start", State.CLOSED_MESSAGE, (State.ARRIVED,))
            await self._play(self._media("out_of_hours"), self._start_voicemail)

    async def _after_welcome(self) -> None:
        service = self.ctx.service
        if service.menu is not None and service.menu.options:
            await self._move("welcome_done", State.MENU, (State.WELCOME,))
            self.menu = MenuSession(service.menu)
            await self._offer_menu()
        elif service.hours_before_queue and self._media("hours"):
            await self._move("welcome_done", State.HOURS, (State.WELCOME,))
            await self._play(self._media("hours"), self._queue_main)
        else:
            await self._queue_main()

    async def _queue_main(self) -> None:
        queue = self.ctx.service.main_queue
        if queue is None:
            await self._hand_off("no queue configured")
            return
        await self._enter_queue(queue, None)

    # -- office lines ("ricaduta") ------------------------------------------------
    async def _ring_office(self, office: OfficeLineInfo) -> None:
        """Ring the office phone first; the caller hears ringing, not a welcome."""
        await self._move("office", State.OFFICE_RINGING, (State.ARRIVED,))
        await self.kit.records.update(self.ctx.call_id, in_hours=self.in_hours)
        await self.ari.ring(self.ctx.channel_id)
        self.office_leg = f"{self.ctx.call_id}-o1"
        try:
            await self.ring_phone(self.office_leg, office.endpoint, office.rings)
        except (AriError, AriUnavailable) as exc:
            log.warning("call %s: office phone %s unreachable (%s)", self.ctx.call_id,
                        office.endpoint, exc)
            await self._overflow()

    async def _office_answered(self) -> None:
        assert self.office_leg is not None
        # The office took the call now: a caller who hangs up while it is being bridged
        # (the caller's line is answered first) was still answered by the office.
        self.outcome_override = "office_answered"
        await self.ari.answer(self.ctx.channel_id)
        now = self.kit.clock()
        await self.ari.create_bridge(self.bridge_id, "mixing", self.bridge_id)
        await self.ari.add_channel(self.bridge_id, self.ctx.channel_id)
        await self.ari.add_channel(self.bridge_id, self.office_leg)
        await self._move("office_answered", State.OFFICE_CONNECTED, (State.OFFICE_RINGING,))
        await self.kit.records.update(self.ctx.call_id, pbx_answered_at=now)

    async def _overflow(self) -> None:
        """Nobody answered at the office: on to the service's contact center."""
        self.office_leg = None
        self.overflow = True
        await self.ari.answer(self.ctx.channel_id)
        await self.kit.records.update(self.ctx.call_id, overflow=True,
                                      pbx_answered_at=self.kit.clock())
        office = self.ctx.office
        queue = (self.ctx.service.queues.get(office.queue_slug or "") if office else None) \
            or self.ctx.service.main_queue
        if not self.in_hours:
            self.voicemail_reason = "out_of_hours"
            await self._move("overflow", State.CLOSED_MESSAGE, (State.OFFICE_RINGING,))
            await self._play(self._media("out_of_hours"), self._start_voicemail)
        elif queue is None:
            await self._hand_off("no queue configured")
        else:
            await self._enter_queue(queue, None)

    # -- menu (prompts, digits, submenus: menu_steps.py) ---------------------------
    async def _choose(self, option: OptionInfo) -> None:
        if option.action == "message":
            await self._move("choose", State.MESSAGE, (State.MENU,))
            media = self._media(option.prompt_kind or "") + self._media("goodbye")
            await self._play(media, self._finish_ivr_only)
        elif option.action == "queue" and option.queue is not None:
            notices = self.ctx.service.notices_on(self._local_today(), option.option_id)
            await self._move("choose", State.NOTICES, (State.MENU,))
            await self._play([self._sound(n) for n in notices],
                             lambda: self._enter_queue(option.queue, option.skill))
        elif option.action == "voicemail":
            self.voicemail_reason = "choice"
            await self._move("choose", State.BUSY, (State.MENU,))
            await self._play(self._media("voicemail"), self._start_voicemail)
        elif option.action == "transfer":
            await self._ring_menu_referent(option)
        else:
            assert self.menu is not None
            await self._enter_queue(self.menu.menu.default_queue, None)

    def _local_today(self) -> date:
        return self.kit.clock().astimezone(ZoneInfo(self.ctx.service.calendar.timezone)).date()

    async def _finish_ivr_only(self) -> None:
        self.outcome_override = "ivr_only"
        await self._hangup_caller()

    async def _hangup_caller(self) -> None:
        try:
            await self.ari.hangup(self.ctx.channel_id)
        except AriError as exc:
            if exc.status != 404:
                raise

    # -- queue ---------------------------------------------------------------------
    async def _enter_queue(self, queue: QueueInfo, skill: str | None) -> None:
        self.queue, self.skill = queue, skill
        now = self.kit.clock()
        self.queue_entered_at = now
        await self._move("enqueue", State.QUEUED, (State.WELCOME, State.HOURS, State.MENU,
                                                     State.NOTICES, State.OFFICE_RINGING,
                                                     State.REFERENT_RINGING),
                         queue_entered_at=now, queue_id=queue.id, topic=skill)
        await self._wait_in_queue(queue.wait_limit_seconds, fresh=True)

    async def _wait_in_queue(self, wait_limit: float, *, fresh: bool = False) -> None:
        """Put (or keep) the caller in the call's bridge with music, and look for agents.

        Idempotent, so that a call re-adopted after a restart in the middle of
        this step ends up in the same place as one that never saw a restart.
        A ``fresh`` call has no bridge yet: no need to ask Asterisk first.
        """
        if not await self._anyone_logged_in():
            await self._to_busy_voicemail("no_agents")
            return
        bridge = None if fresh else await self.ari.get_bridge(self.bridge_id)
        if bridge is None:
            bridge = await self.ari.create_bridge(self.bridge_id, "mixing", self.bridge_id)
        if self.ctx.channel_id not in bridge.get("channels", []):
            await self.ari.add_channel(self.bridge_id, self.ctx.channel_id)
        await self.ari.start_moh(self.bridge_id, bridge=True)
        self._start_timer("wait_limit", wait_limit)
        await self._arm_announcement()
        self._join_dispatcher()

    async def _arm_announcement(self) -> None:
        """The next announcement comes a full interval after the previous one ended."""
        if self.queue is not None and self.queue.announce_position:
            self._start_timer("announce", self.queue.announce_every_seconds)

    async def _announce(self) -> None:
        """Tell a waiting caller their position (only ever going down) and the estimated wait."""
        assert self.queue is not None
        position = self.kit.dispatcher.position(self.ctx.call_id)
        if position is None:
            return
        media: list[str] = []
        to_say = self._announcer.next_announcement(position)
        if to_say is not None:
            media += [*self._media("position"), f"number:{to_say}"]
        agents = await self.kit.agents.of_service(self.ctx.service.id)
        staffed = sum(1 for a in agents if a.state not in ("logged_out", "paused"))
        estimate = (await self._estimator()).estimate(position, staffed)
        if estimate is not None:
            media += [*self._media("wait_time"), f"number:{round_minutes_for_speech(estimate)}",
                      *self._media("minutes")]
        if media:
            await self._play(media, self._arm_announcement)
        else:
            await self._arm_announcement()

    async def _estimator(self) -> WaitEstimator:
        """The queue's recent real waits; after a restart, read back from the records."""
        assert self.queue is not None
        estimators = self.kit.dispatcher.estimators
        if self.queue.id not in estimators:
            estimator = WaitEstimator()
            for wait in await self.kit.records.recent_waits(self.queue.id):
                estimator.record_wait(wait)
            estimators.setdefault(self.queue.id, estimator)
        return estimators[self.queue.id]

    def _join_dispatcher(self) -> None:
        assert self.queue is not None and self.queue_entered_at is not None
        self.kit.dispatcher.enqueue(Waiting(
            call_id=self.ctx.call_id, service_id=self.ctx.service.id, queue=self.queue,
            skill=self.skill, entered_at=self.queue_entered_at, post=self.post))

    async def _anyone_logged_in(self) -> bool:
        agents = await self.kit.agents.of_service(self.ctx.service.id)
        return any(a.state != "logged_out" for a in agents)

    async def on_offer(self, agents: list[AgentView]) -> None:
        """The dispatcher found free agents: ring them."""
        if self.state is not State.QUEUED or self._caller_hung_up:
            for agent in agents:
                self.kit.dispatcher.offer_ended(self.ctx.call_id, agent.agent_id,
                                                let_ring=False)
            return
        assert self.queue is not None
        for agent in agents:
            self._offer_seq += 1
            channel_id = f"{self.ctx.call_id}-a{self._offer_seq}"
            await self.kit.agents.offer_started(
                self.ctx.call_id, agent.agent_id, channel_id, self.kit.clock())
            self.offers[channel_id] = Offer(agent, channel_id)
            try:
                await self.ring_phone(channel_id, agent.username, self.queue.rings_per_agent)
            except (AriError, AriUnavailable) as exc:
                log.warning("call %s: cannot ring %s (%s)", self.ctx.call_id, agent.username,
                            exc)
                await self._offer_over(channel_id, "failed")

    def _caller_id(self) -> str:
        return self.ctx.caller_number or "anonymous"

    async def ring_phone(self, leg: str, endpoint: str, rings: int) -> None:
        """Ring a phone (agent, office, referent) for ``rings`` of the Italian cadence as a
        leg of this call, with the id ``leg`` we chose, so its events reach this call.

        Raises AriError or AriUnavailable when Asterisk cannot place it."""
        self.kit.alias_channel(leg, self.ctx.channel_id)
        timeout = ring_timeout_seconds(rings, self.kit.settings.ring_on_ms,
                                       self.kit.settings.ring_off_ms)
        await self.ari.originate(leg, f"PJSIP/{endpoint}", app_args=f"leg,{self.ctx.call_id}",
                                 caller_id=self._caller_id(), timeout=max(1, round(timeout)),
                                 originator=self.ctx.channel_id)

    async def _offer_over(self, channel_id: str, result: str) -> None:
        offer = self.offers.pop(channel_id, None)
        if offer is None:
            return
        now = self.kit.clock()
        await self.kit.agents.offer_ended(offer.channel_id, now, result)
        if result != "answered":
            await self.kit.agents.set_state(offer.agent.agent_id, "available", now,
                                            only_if=("ringing",))
        self.kit.dispatcher.offer_ended(self.ctx.call_id, offer.agent.agent_id,
                                        let_ring=result in ("no_answer", "rejected", "failed"))

    async def on_agent_answered(self, channel_id: str) -> None:
        """A leg we rang (an agent's or the office's) entered Stasis: it was answered."""
        if channel_id == self.office_leg and self.state is State.OFFICE_RINGING:
            await self._office_answered()
            return
        if channel_id == self.referent_leg:
            await self.referent_answered()
            return
        if channel_id == self.menu_referent_leg and self.state is State.REFERENT_RINGING:
            await self.menu_referent_answered()
            return
        offer = self.offers.get(channel_id)
        if offer is None or self.state is not State.QUEUED:
            await self._drop_leg(channel_id)
            return
        now = self.kit.clock()
        self.cancel_timers()
        await self._stop_playing()  # an announcement in progress
        self.kit.dispatcher.leave(self.ctx.call_id)
        if self.queue_entered_at is not None:
            (await self._estimator()).record_wait((now - self.queue_entered_at).total_seconds())
        self.agent_channel, self.agent_id = channel_id, offer.agent.agent_id
        self.answered_by_agent = True
        await self._offer_over(channel_id, "answered")
        for other in list(self.offers):
            await self._drop_leg(other)
            await self._offer_over(other, "caller_gone")
        await self.ari.add_channel(self.bridge_id, channel_id)
        await self.ari.stop_moh(self.bridge_id, bridge=True)
        await self.kit.agents.set_state(offer.agent.agent_id, "on_call", now)
        await self._move("agent_answered", State.CONNECTED, (State.QUEUED,), answered_at=now,
                         queue_exit="answered", agent_id=offer.agent.agent_id)

    async def on_agent_leg_gone(self, channel_id: str, cause: int | None) -> None:
        """A leg we rang ended: before answering (no answer, busy) or after (hung up)."""
        if channel_id == self.office_leg:
            if self.state is State.OFFICE_RINGING:
                await self._overflow()
            elif self.state is State.OFFICE_CONNECTED:
                self.hung_up_by = "agent"
                await self._hangup_caller()
            return
        if channel_id in self.offers:
            result = {17: "rejected", 21: "rejected"}.get(cause or 0, "no_answer")
            await self._offer_over(channel_id, result)
            return
        if channel_id == self.referent_leg:
            await self.referent_leg_gone()
            return
        if channel_id == self.menu_referent_leg:
            await self.menu_referent_gone()
            return
        if channel_id == self.agent_channel and self.state is State.CONSULTING:
            await self.complete_transfer()  # the agent hung up: the caller goes on
            return
        if channel_id == self.agent_channel and self.state is State.CONNECTED:
            self.hung_up_by = "agent"
            await self._agent_to_wrapup()
            await self._hangup_caller()

    async def _drop_leg(self, channel_id: str) -> None:
        try:
            await self.ari.hangup(channel_id)
        except AriError as exc:
            if exc.status != 404:
                raise

    async def _agent_to_wrapup(self) -> None:
        if self.agent_id is None or self.queue is None:
            return
        agent_id, self.agent_id = self.agent_id, None
        now = self.kit.clock()
        await self.kit.agents.set_state(agent_id, "wrapup", now, only_if=("on_call",))
        self.kit.dispatcher.schedule_wrapup_end(agent_id, self.queue.wrapup_seconds)

    async def _to_busy_voicemail(self, reason: str) -> None:
        self.voicemail_reason = reason
        await self.kit.records.update(
            self.ctx.call_id, queue_exit="timeout" if reason == "wait_limit" else "no_agents")
        self.kit.dispatcher.leave(self.ctx.call_id)
        for channel_id in list(self.offers):
            await self._drop_leg(channel_id)
            await self._offer_over(channel_id, "caller_gone")
        await self._move("no_agent", State.BUSY, (State.QUEUED,))
        await self._leave_bridge()
        await self._play(self._media("busy"), self._start_voicemail)

    async def _leave_bridge(self) -> None:
        try:
            await self.ari.remove_channel(self.bridge_id, self.ctx.channel_id)
        except AriError as exc:
            if exc.status not in (404, 422):
                raise
        await self._destroy_bridge()

    async def _destroy_bridge(self) -> None:
        try:
            await self.ari.destroy_bridge(self.bridge_id)
        except AriError as exc:
            if exc.status != 404:
                raise

    # -- voicemail -----------------------------------------------------------------
    async def _start_voicemail(self) -> None:
        await self._move("record", State.VOICEMAIL, (State.CLOSED_MESSAGE, State.BUSY))
        self.resume_recording_name()
        await self.ari.record(
            self.ctx.channel_id, self._recording,
            max_seconds=self.kit.settings.voicemail_max_seconds,
            max_silence_seconds=self.kit.settings.voicemail_max_silence_seconds)

    async def on_recording_finished(self, name: str, duration: int | None,
                                    failed: bool = False) -> None:
        if name != self._recording:
            return
        self._recording = None
        if self._recording_grace:  # the caller hung up while recording: file it, then end
            await self._file_voicemail(name, duration, failed)
            await self._finish(self._grace_cause)
            return
        await self._file_voicemail(name, duration, failed)
        if not self._caller_hung_up and self.state is State.VOICEMAIL:
            await self._move("recorded", State.GOODBYE, (State.VOICEMAIL,))
            await self._play(self._media("thanks"), self._hangup_caller)

    async def _file_voicemail(self, name: str, duration: int | None, failed: bool) -> None:
        # Even an empty message is filed: the caller's number is what lets an agent call
        # back. Duration None: found after a restart, length unknown.
        if not failed:
            await self.kit.records.voicemail(
                call_id=self.ctx.call_id, service_id=self.ctx.service.id, recording=name,
                duration=duration, at=self.kit.clock(), reason=self.voicemail_reason,
                callback_requested=self.voicemail_reason in ("no_agents", "wait_limit",
                                                                 "transfer"))
            self.left_message = True

    # -- timers --------------------------------------------------------------------
    async def on_timer(self, name: str, token: int) -> None:
        if self._timers.get(name) != token:
            return  # re-armed or cancelled meanwhile
        del self._timers[name]
        if name == "menu" and self.state is State.MENU and self.menu is not None:
            await self._apply_menu_decision(self.menu.on_timeout())
        elif name == "wait_limit" and self.state is State.QUEUED:
            await self._to_busy_voicemail("wait_limit")
        elif name == "announce" and self.state is State.QUEUED and self.queue is not None:
            await self._announce()
        elif name == "recording_grace" and self._recording is not None:
            await self._resume_recording()  # files what Asterisk stored, if anything
            await self._finish(self._grace_cause)

    # -- playback ------------------------------------------------------------------
    async def on_playback_finished(self, playback_id: str) -> None:
        if playback_id != self._playback_id or self._caller_hung_up:
            return  # an older prompt's end, or the caller is leaving anyway
        await self._play_next()

    async def resume_after_prompt(self) -> None:
        """After a restart: a prompt's end may have passed unseen; move the caller on."""
        self._playback_id = None
        if self.state is State.WELCOME:
            await self._after_welcome()
        elif self.state is State.MENU and self.ctx.service.menu is not None:
            self.resume_menu()
            await self._arm_menu_timeout()
        elif self.state in (State.HOURS, State.NOTICES):
            await self._queue_main()
        elif self.state in (State.CLOSED_MESSAGE, State.BUSY):
            await self._start_voicemail()
        elif self.state in (State.MESSAGE, State.GOODBYE):
            await self._hangup_caller()

    async def resume(self, live: dict[str, Any]) -> None:
        """Re-adopted after a restart: carry on from the recorded state."""
        if self.state is State.ARRIVED:
            await self.start()
        elif self.state is State.OFFICE_RINGING:
            leg = self.office_leg
            if leg not in live:
                await self._overflow()
            elif live[leg].get("state") == "Up":
                await self._office_answered()
        elif self.state is State.OFFICE_CONNECTED:
            if self.office_leg not in live:
                self.hung_up_by = "agent"
                await self._hangup_caller()
        elif self.state is State.QUEUED:
            for leg in list(self.offers):
                if leg not in live:
                    await self._offer_over(leg, "no_answer")
                elif live[leg].get("state") == "Up":
                    await self.on_agent_answered(leg)  # answered while we were away
                    return
            if self.queue is not None and self.queue_entered_at is not None:
                waited = (self.kit.clock() - self.queue_entered_at).total_seconds()
                await self._wait_in_queue(max(0.0, self.queue.wait_limit_seconds - waited))
            else:
                await self._queue_main()
        elif self.state in (State.TRANSFERRING, State.CONSULTING, State.TRANSFERRED):
            if self.referent_leg not in live:
                await self.referent_leg_gone()
            elif self.state is not State.TRANSFERRED and live[self.referent_leg].get(
                    "state") == "Up":
                await self.referent_answered()
        elif self.state in (State.REFERENT_RINGING, State.REFERENT_CONNECTED):
            await self.resume_menu_referent(live)
        elif self.state is State.CONNECTED:
            if self.agent_channel not in live:
                self.hung_up_by = "agent"
                await self._agent_to_wrapup()
                await self._hangup_caller()
        elif self.state is State.VOICEMAIL:
            await self._resume_recording()
        elif self.state is State.HANDED_OFF:
            await self.ari.subscribe(f"channel:{self.ctx.channel_id}")
        else:
            await self.resume_after_prompt()

    def resume_recording_name(self) -> None:
        """A re-adopted call in voicemail: its recording is named after the call."""
        self._recording = f"voicemail-{self.ctx.call_id}"

    async def _resume_recording(self) -> None:
        """A recording still running goes on; one that ended unseen is filed now."""
        self.resume_recording_name()
        if await self.ari.live_recording(self._recording) is None:
            stored = await self.ari.stored_recording(self._recording) is not None
            await self.on_recording_finished(self._recording, None, failed=not stored)

    # -- hand-off and hang-up ------------------------------------------------------
    async def _hand_off(self, why: str) -> None:
        """Give the caller back to dialplan (the service's voicemail)."""
        log.warning("call %s: handing off to dialplan: %s", self.ctx.call_id, why)
        self.cancel_timers()
        self.kit.dispatcher.leave(self.ctx.call_id)
        self.state = State.HANDED_OFF
        await self.kit.records.update(self.ctx.call_id, flow_state=State.HANDED_OFF.value)
        await self.ari.subscribe(f"channel:{self.ctx.channel_id}")
        await self.ari.set_variable(self.ctx.channel_id, NEXT_VARIABLE, "voicemail")
        await self.ari.set_variable(self.ctx.channel_id, GREETING_VARIABLE,
                                    "b" if self.in_hours else "u")
        await self.ari.continue_in_dialplan(self.ctx.channel_id)

    def outcome(self) -> str:
        """How the call ended, in the terms the SLA figures count."""
        if self.outcome_override:
            return self.outcome_override
        if self.answered_by_agent:
            return "answered"
        if self.in_hours is False:
            return "out_of_hours"  # outside the window, message or not
        if self.left_message or self.state is State.HANDED_OFF:
            return "voicemail"
        if self.queue_entered_at is not None:
            # Waited for an operator and left without one: the 10-second rule decides.
            return classify_abandon(self.queue_entered_at, self.kit.clock(),
                                    self.ctx.service.abandon_threshold_seconds)
        return "hangup_before_queue"

    def on_hangup_request(self, soft: bool, cause: int | None) -> None:
        """Asterisk saw a hang-up coming: a hard one from the line is the caller's."""
        if not soft:
            self._caller_hung_up = True
            self._hangup_cause = cause

    async def on_stasis_end(self) -> None:
        """The caller's channel left our application: on purpose (hand-off) or hung up."""
        if self.state not in (State.HANDED_OFF, State.ENDED):
            await self.on_hangup(self._hangup_cause)

    async def on_hangup(self, cause: int | None) -> None:
        """The caller's channel is gone: release everything and close the record once."""
        if self.state is State.ENDED:
            return
        if self._recording is not None and not self._recording_grace:
            # The message being recorded is saved as the channel goes; its
            # RecordingFinished may come after the hang-up. Wait for it briefly.
            self._recording_grace = True
            self._grace_cause = cause
            self._start_timer("recording_grace", 3.0)
            return
        await self._finish(cause)

    async def _finish(self, cause: int | None) -> None:
        if self.state is State.ENDED:
            return
        outcome = self.outcome()
        hung_up_by = self.hung_up_by or ("caller" if self._caller_hung_up else "system")
        log.info("call %s: %s -> hangup -> ended (%s)", self.ctx.call_id, self.state, outcome)
        previous = self.state
        self.state = State.ENDED
        self.cancel_timers()
        self.kit.dispatcher.leave(self.ctx.call_id)
        for channel_id in list(self.offers):
            await self._safely(self._drop_leg(channel_id))
            await self._offer_over(channel_id, "caller_gone")
        if previous in (State.CONNECTED, State.CONSULTING):
            if self.agent_channel is not None and hung_up_by != "agent":
                await self._safely(self._drop_leg(self.agent_channel))
            await self._agent_to_wrapup()
        if self.referent_leg is not None and hung_up_by != "referent":
            await self._safely(self._drop_leg(self.referent_leg))
        if previous is State.CONSULTING:
            await self._safely(self.ari.destroy_bridge(self.consult_bridge_id))
        if (previous in (State.OFFICE_RINGING, State.OFFICE_CONNECTED) and self.office_leg
                and hung_up_by != "agent"):
            await self._safely(self._drop_leg(self.office_leg))
        await self.release_menu_referent(previous, hung_up_by)
        if previous in (State.QUEUED, State.CONNECTED, State.OFFICE_CONNECTED, State.CONSULTING,
                        State.TRANSFERRING, State.TRANSFERRED):
            await self._safely(self._destroy_bridge())
        extra = {"queue_exit": "abandoned"} if previous is State.QUEUED else {}
        self.kit.records.end(self.ctx.call_id, at=self.kit.clock(), hung_up_by=hung_up_by,
                             cause=cause, outcome=outcome, **extra)
        self.kit.on_ended(self.ctx.call_id)

    #: A tidying step whose failure is logged, not raised (one for every flow).
    _safely = staticmethod(cleanup_step)
