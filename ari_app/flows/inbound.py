"""A citizen's call to a service number, from arrival to hang-up, as explicit states.

States and the events each accepts::

    arrived ──start──▶ welcome ──playback done──▶ handed_off (voicemail)
       │                  (in hours; queues come with the call-flow work)
       └──start──▶ closed_message ──playback done──▶ handed_off (voicemail)
    any state ──hangup──▶ ended

The flow decides; the ARI client and the record writer it is given do the I/O,
so it runs the same against Asterisk or against a fake in a unit test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ari_app.clock import Clock
from ari_app.directory import ServiceInfo
from ari_app.hours import is_open
from ari_app.records import CallRecords

log = logging.getLogger(__name__)

#: Dialplan variable that tells `centralino-inbound` where to go after Stasis.
NEXT_VARIABLE = "CENTRALINO_NEXT"
GREETING_VARIABLE = "CENTRALINO_VM_GREETING"


class State(StrEnum):
    ARRIVED = "arrived"
    WELCOME = "welcome"
    CLOSED_MESSAGE = "closed_message"
    HANDED_OFF = "handed_off"
    ENDED = "ended"


class Telephony(Protocol):
    """The part of the ARI client a flow uses."""

    async def answer(self, channel_id: str) -> None: ...
    async def play(self, channel_id: str, media: list[str], playback_id: str,
                   lang: str | None = "it") -> object: ...
    async def set_variable(self, channel_id: str, name: str, value: str) -> None: ...
    async def subscribe(self, event_source: str) -> None: ...
    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None,
                                   extension: str | None = None, priority: int | None = None,
                                   label: str | None = None) -> None: ...
    async def hangup(self, channel_id: str, reason: str = "normal") -> None: ...


class InvalidTransition(Exception):
    """An event arrived that the call's current state does not accept."""


@dataclass
class CallContext:
    call_id: str
    channel_id: str
    service: ServiceInfo
    did: str
    sounds_dir: str


class InboundCall:
    """One caller's leg under our control."""

    def __init__(self, ctx: CallContext, ari: Telephony, records: CallRecords, clock: Clock,
                 state: State = State.ARRIVED):
        self.ctx = ctx
        self.ari = ari
        self.records = records
        self.clock = clock
        self.state = state
        self.in_hours: bool | None = None
        self._playback_id: str | None = None
        self._caller_hung_up = False
        self._hangup_cause: int | None = None

    # -- transitions -----------------------------------------------------------
    async def _move(self, event: str, to: State, allowed_from: tuple[State, ...]) -> None:
        if self.state not in allowed_from:
            raise InvalidTransition(f"call {self.ctx.call_id}: {event} in state {self.state}")
        log.info("call %s: %s -> %s -> %s", self.ctx.call_id, self.state, event, to)
        self.state = to
        await self.records.update(self.ctx.call_id, flow_state=to.value)

    def _media(self, kind: str) -> list[str]:
        sound = self.ctx.service.sounds.get(kind)
        return [f"sound:{self.ctx.sounds_dir}/{sound}"] if sound else []

    async def _play(self, kind: str) -> bool:
        """Play a prompt of the service; False when it has no recording to play."""
        media = self._media(kind)
        if not media:
            log.warning("call %s: service %s has no recorded %s prompt", self.ctx.call_id,
                        self.ctx.service.slug, kind)
            return False
        self._playback_id = f"{self.ctx.call_id}-{kind}"
        await self.ari.play(self.ctx.channel_id, media, self._playback_id)
        return True

    # -- events ----------------------------------------------------------------
    async def start(self) -> None:
        if self.state is not State.ARRIVED:
            raise InvalidTransition(f"call {self.ctx.call_id}: start in state {self.state}")
        now = self.clock()
        self.in_hours = is_open(self.ctx.service.calendar, now)
        await self.ari.answer(self.ctx.channel_id)
        await self.records.update(self.ctx.call_id, pbx_answered_at=self.clock(),
                                  in_hours=self.in_hours)
        if self.in_hours:
            await self._move("start", State.WELCOME, (State.ARRIVED,))
            played = await self._play("welcome")
        else:
            await self._move("start", State.CLOSED_MESSAGE, (State.ARRIVED,))
            played = await self._play("out_of_hours")
        if not played:
            await self._hand_off_to_voicemail()

    async def on_playback_finished(self, playback_id: str) -> None:
        if playback_id != self._playback_id or self._caller_hung_up:
            return  # an older prompt's end, or the caller is leaving anyway
        self._playback_id = None
        if self.state in (State.WELCOME, State.CLOSED_MESSAGE):
            # No queue yet: the service's voicemail takes the call, as it does
            # when no agent is logged in.
            await self._hand_off_to_voicemail()

    async def resume_after_prompt(self) -> None:
        """After a restart: the prompt's end may have passed unseen; move the caller on."""
        self._playback_id = None
        await self._hand_off_to_voicemail()

    async def _hand_off_to_voicemail(self) -> None:
        await self._move("hand_off", State.HANDED_OFF, (State.WELCOME, State.CLOSED_MESSAGE))
        # Keep hearing about the channel after it leaves Stasis, to close the record.
        await self.ari.subscribe(f"channel:{self.ctx.channel_id}")
        await self.ari.set_variable(self.ctx.channel_id, NEXT_VARIABLE, "voicemail")
        # In hours, the caller is told operators are busy; otherwise "unavailable".
        await self.ari.set_variable(self.ctx.channel_id, GREETING_VARIABLE,
                                    "b" if self.in_hours else "u")
        await self.ari.continue_in_dialplan(self.ctx.channel_id)

    def outcome(self) -> str:
        if self.in_hours is False:
            return "out_of_hours"
        if self.state is State.HANDED_OFF:
            return "voicemail"
        return "hangup_before_queue"

    def on_hangup_request(self, soft: bool, cause: int | None) -> None:
        """Asterisk saw a hang-up coming: a hard one from the line is the caller's."""
        if not soft:
            self._caller_hung_up = True
            self._hangup_cause = cause

    async def on_stasis_end(self) -> None:
        """The channel left our application: on purpose (hand-off) or because it hung up."""
        if self.state not in (State.HANDED_OFF, State.ENDED):
            # Once out of Stasis we hear nothing more of an unsubscribed channel.
            await self.on_hangup(self._hangup_cause)

    async def on_hangup(self, cause: int | None) -> None:
        """The caller's channel is gone: close the record (once)."""
        if self.state is State.ENDED:
            return
        outcome = self.outcome()
        hung_up_by = "caller" if self._caller_hung_up else "system"
        log.info("call %s: %s -> hangup -> ended (%s)", self.ctx.call_id, self.state, outcome)
        self.state = State.ENDED
        await self.records.ended(self.ctx.call_id, at=self.clock(), hung_up_by=hung_up_by,
                                 cause=cause, outcome=outcome)
