"""A call-back from the agent desktop, from the click to the hang-up, as explicit states.

::

    ringing_agent ──agent answers──▶ dialling ──citizen answers──▶ connected ──▶ ended
         │                              │  (the agent hears ringing)    answered
         └─agent does not answer─▶ ended └─busy / no answer / failed──▶ ended (item stays open)
                      agent_missed         agent hangs up first ──▶ ended (cancelled)

The agent's own phone is rung first (``cb-<id>-agent``); once they answer, the
number recorded on the worklist item is dialled through the carrier trunk
(``cb-<id>-citizen``) and both legs meet in a mixing bridge ``callback-<id>``:
ids we chose, so a restarted control plane finds them again. The agent is
``on_call`` from the click (the dispatcher never rings them meanwhile), then in
wrap-up after a conversation, or available again if nobody talked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ari_app.callback_records import CallbackRecords
from ari_app.routing import ring_timeout_seconds
from ari_app.transport.ari import AriError, AriUnavailable, cleanup_step

log = logging.getLogger(__name__)

#: Rings the agent's phone gets, and the citizen's, before giving up.
AGENT_RINGS = 4
CITIZEN_RINGS = 6
#: What the agent hears while the citizen's phone rings.
RINGBACK = "tone:ring;tonezone=it"
#: ISDN causes of a citizen leg that ended unanswered: busy (17), declined (21);
#: no answer, switched off, gone quiet (16, 18, 19, 20, or none at all).
_BUSY_CAUSES = frozenset({17, 21})
_NO_ANSWER_CAUSES = frozenset({0, 16, 18, 19, 20})


class State(StrEnum):
    RINGING_AGENT = "ringing_agent"
    DIALLING = "dialling"
    CONNECTED = "connected"
    ENDED = "ended"


class InvalidTransition(Exception):
    """An event arrived that the call-back's current state does not accept."""


def unanswered_result(cause: int | None) -> str:
    """What an unanswered citizen leg means for the worklist: busy, no_answer or failed."""
    if cause in _BUSY_CAUSES:
        return "busy"
    if cause is None or cause in _NO_ANSWER_CAUSES:
        return "no_answer"
    return "failed"


def agent_leg(callback_id: str) -> str:
    return f"cb-{callback_id}-agent"


def citizen_leg(callback_id: str) -> str:
    return f"cb-{callback_id}-citizen"


@dataclass(frozen=True)
class CallbackPlan:
    """What a call-back is about, as stored in its record."""

    callback_id: str
    agent_id: int | None
    endpoint: str
    number: str
    caller_id: str


@dataclass
class CallbackKit:
    """What a call-back talks to; one per control plane."""

    ari: Any
    records: CallbackRecords
    agents: Any
    dispatcher: Any
    clock: Any
    ring_on_ms: int = 1000
    ring_off_ms: int = 4000


class CallbackCall:
    """One call-back under our control: the agent's leg, then the citizen's."""

    def __init__(self, plan: CallbackPlan, kit: CallbackKit,
                 state: State = State.RINGING_AGENT):
        self.plan = plan
        self.kit = kit
        self.state = state
        self._ringback = False
        self._gone: set[str] = set()

    # -- ids ---------------------------------------------------------------------
    @property
    def callback_id(self) -> str:
        return self.plan.callback_id

    @property
    def agent_leg(self) -> str:
        return agent_leg(self.callback_id)

    @property
    def citizen_leg(self) -> str:
        return citizen_leg(self.callback_id)

    @property
    def legs(self) -> tuple[str, str]:
        return self.agent_leg, self.citizen_leg

    @property
    def bridge_id(self) -> str:
        return f"callback-{self.callback_id}"

    @property
    def ari(self) -> Any:
        return self.kit.ari

    def _move(self, event: str, to: State, allowed_from: tuple[State, ...]) -> None:
        if self.state not in allowed_from:
            raise InvalidTransition(f"callback {self.callback_id}: {event} in state "
                                    f"{self.state}")
        log.info("callback %s: %s -> %s -> %s", self.callback_id, self.state, event, to)
        self.state = to

    def _timeout(self, rings: int) -> int:
        return max(1, round(ring_timeout_seconds(rings, self.kit.ring_on_ms,
                                                 self.kit.ring_off_ms)))

    # -- the steps ---------------------------------------------------------------
    async def start(self) -> None:
        """Ring the agent's own phone, showing the number about to be called."""
        try:
            await self.ari.originate(
                self.agent_leg, f"PJSIP/{self.plan.endpoint}",
                app_args=f"callback,{self.callback_id}", caller_id=self.plan.number,
                timeout=self._timeout(AGENT_RINGS))
        except (AriError, AriUnavailable) as exc:
            log.warning("callback %s: cannot ring %s (%s)", self.callback_id,
                        self.plan.endpoint, exc)
            await self._finish("failed", "system", None)

    async def on_answered(self, channel_id: str) -> None:
        """A leg we originated entered Stasis: it was answered."""
        if channel_id == self.agent_leg and self.state is State.RINGING_AGENT:
            await self._agent_answered()
        elif channel_id == self.citizen_leg and self.state is State.DIALLING:
            await self._citizen_answered()
        elif self.state is State.ENDED or channel_id not in self.legs:
            await self._drop(channel_id)

    async def _agent_answered(self) -> None:
        self._move("agent_answered", State.DIALLING, (State.RINGING_AGENT,))
        self.kit.records.update(self.callback_id, state=State.DIALLING.value,
                                agent_answered_at=self.kit.clock())
        await self._start_ringback()
        try:
            await self.ari.originate(
                self.citizen_leg, f"PJSIP/{self.plan.number}@carrier",
                app_args=f"callback,{self.callback_id}", caller_id=self.plan.caller_id or None,
                timeout=self._timeout(CITIZEN_RINGS), originator=self.agent_leg)
        except (AriError, AriUnavailable) as exc:
            log.warning("callback %s: the carrier refused the call (%s)", self.callback_id, exc)
            await self._drop(self.agent_leg)
            await self._finish("failed", "system", None)

    async def _start_ringback(self) -> None:
        try:
            await self.ari.play(self.agent_leg, [RINGBACK], f"cb-{self.callback_id}-ringback",
                                lang=None)
            self._ringback = True
        except AriError as exc:  # silence instead of ringing: the call goes on
            log.info("callback %s: no ringing tone for the agent (%s)", self.callback_id, exc)

    async def _stop_ringback(self) -> None:
        if self._ringback:
            self._ringback = False
            await self._safely(self.ari.stop_playback(f"cb-{self.callback_id}-ringback"))

    async def _citizen_answered(self) -> None:
        await self._stop_ringback()
        await self.ari.create_bridge(self.bridge_id, "mixing", self.bridge_id)
        await self.ari.add_channel(self.bridge_id, self.agent_leg)
        await self.ari.add_channel(self.bridge_id, self.citizen_leg)
        self._move("citizen_answered", State.CONNECTED, (State.DIALLING,))
        self.kit.records.answered(self.callback_id, self.kit.clock())

    async def on_leg_gone(self, channel_id: str, cause: int | None) -> None:
        """A leg ended: before answering (no answer, busy) or after (hung up)."""
        if channel_id in self._gone or self.state is State.ENDED:
            return
        self._gone.add(channel_id)
        if self.state is State.RINGING_AGENT:
            if channel_id == self.agent_leg:
                await self._finish("agent_missed", "agent", cause)
        elif self.state is State.DIALLING:
            if channel_id == self.citizen_leg:
                await self._stop_ringback()
                await self._drop(self.agent_leg)
                await self._finish(unanswered_result(cause), "citizen", cause)
            else:
                await self._drop(self.citizen_leg)
                await self._finish("cancelled", "agent", cause)
        elif self.state is State.CONNECTED:
            other = self.citizen_leg if channel_id == self.agent_leg else self.agent_leg
            await self._drop(other)
            await self._finish("answered",
                               "agent" if channel_id == self.agent_leg else "citizen", cause)

    async def resume(self, live: dict[str, Any]) -> None:
        """Re-adopted after a restart (or a reconnection): catch up with what happened."""
        def up(leg: str) -> bool:
            return leg in live and live[leg].get("state") == "Up"

        if self.state is State.RINGING_AGENT and self.citizen_leg in live:
            self.state = State.DIALLING  # dialled just before the record said so
        if self.state is State.RINGING_AGENT:
            if self.agent_leg not in live:
                await self.on_leg_gone(self.agent_leg, None)
            elif up(self.agent_leg):
                await self._agent_answered()
        elif self.state is State.DIALLING:
            self._ringback = True  # perhaps still playing: stopped when the citizen answers
            if self.agent_leg not in live:
                await self.on_leg_gone(self.agent_leg, None)
            elif self.citizen_leg not in live:
                await self.on_leg_gone(self.citizen_leg, None)
            elif up(self.citizen_leg):
                await self._citizen_answered()
        elif self.state is State.CONNECTED:
            for leg in self.legs:
                if leg not in live:
                    await self.on_leg_gone(leg, None)

    # -- the end -------------------------------------------------------------------
    async def _finish(self, result: str, hung_up_by: str, cause: int | None) -> None:
        if self.state is State.ENDED:
            return
        previous = self.state
        log.info("callback %s: %s -> hangup -> ended (%s)", self.callback_id, previous, result)
        self.state = State.ENDED
        now = self.kit.clock()
        if previous is State.CONNECTED:
            await self._safely(self.ari.destroy_bridge(self.bridge_id))
        self.kit.records.ended(self.callback_id, at=now, result=result, hung_up_by=hung_up_by,
                               cause=cause)
        agent_id = self.plan.agent_id
        if agent_id is None:
            return
        if result == "answered":  # a conversation: wrap-up, as after an inbound call
            await self.kit.agents.set_state(agent_id, "wrapup", now, only_if=("on_call",))
            self.kit.dispatcher.schedule_wrapup_end(
                agent_id, await self.kit.agents.wrapup_seconds(agent_id))
        else:
            await self.kit.agents.set_state(agent_id, "available", now, only_if=("on_call",))
            self.kit.dispatcher.kick()

    async def _drop(self, channel_id: str) -> None:
        await self._safely(self.ari.hangup(channel_id))

    #: A tidying step whose failure is logged, not raised (one for every flow).
    _safely = staticmethod(cleanup_step)
