"""Transfer to a referent: the steps of an answered call handed to an office phone.

::

    connected ──blind──▶ transferring ──referent answers──▶ transferred
         │                     └─no answer──▶ busy ─▶ voicemail (call back)
         └──attended──▶ consulting ──complete (or agent hangs up)──▶ transferred
                             └──cancel / no answer──▶ connected

A transferred call counts as escalated, not resolved autonomously (the tender's
Q figure). Mixed into :class:`ari_app.flows.inbound.InboundCall`, whose state,
legs and helpers these steps use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ari_app.transport.ari import AriError, AriUnavailable

if TYPE_CHECKING:
    from ari_app.flows.inbound import InboundCall

log = logging.getLogger(__name__)

#: Rings a referent gets before the transfer is given up.
REFERENT_RINGS = 4


class TransferRefused(Exception):
    """The call is not in a state that can be transferred now."""


class TransferSteps:
    """Blind and attended transfer of a connected call to a referent's phone."""

    referent_leg: str | None = None
    transfer_mode: str | None = None
    _referent_seq: int = 0

    @property
    def consult_bridge_id(self: InboundCall) -> str:
        return f"consult-{self.ctx.call_id}"

    async def transfer(self: InboundCall, endpoint: str, mode: str) -> None:
        from ari_app.flows.inbound import State

        if self.state is not State.CONNECTED or self.agent_channel is None:
            raise TransferRefused(f"call {self.ctx.call_id} is {self.state}, not connected")
        if mode not in ("blind", "attended"):
            raise TransferRefused(f"unknown transfer mode {mode!r}")
        now = self.kit.clock()
        await self.kit.records.update(self.ctx.call_id, transferred_at=now,
                                      resolution="escalated")
        self.transfer_mode = mode
        if mode == "blind":
            await self._move("transfer", State.TRANSFERRING, (State.CONNECTED,))
            leg, self.agent_channel = self.agent_channel, None
            await self._safely(self.ari.remove_channel(self.bridge_id, leg))
            await self.ari.start_moh(self.bridge_id, bridge=True)
            await self._safely(self._drop_leg(leg))
            await self._agent_to_wrapup()
        else:
            await self._move("consult", State.CONSULTING, (State.CONNECTED,))
            await self.ari.remove_channel(self.bridge_id, self.agent_channel)
            await self.ari.start_moh(self.bridge_id, bridge=True)  # the caller waits
            await self.ari.create_bridge(self.consult_bridge_id, "mixing",
                                         self.consult_bridge_id)
            await self.ari.add_channel(self.consult_bridge_id, self.agent_channel)
        await self._ring_referent(endpoint)

    async def _ring_referent(self: InboundCall, endpoint: str) -> None:
        self._referent_seq += 1
        self.referent_leg = f"{self.ctx.call_id}-r{self._referent_seq}"
        try:
            await self.ring_phone(self.referent_leg, endpoint, REFERENT_RINGS)
        except (AriError, AriUnavailable) as exc:
            log.warning("call %s: referent %s unreachable (%s)", self.ctx.call_id, endpoint,
                        exc)
            await self._referent_unreachable()

    async def referent_answered(self: InboundCall) -> None:
        from ari_app.flows.inbound import State

        assert self.referent_leg is not None
        if self.state is State.TRANSFERRING:
            await self.ari.add_channel(self.bridge_id, self.referent_leg)
            await self.ari.stop_moh(self.bridge_id, bridge=True)
            await self._move("referent_answered", State.TRANSFERRED, (State.TRANSFERRING,))
        elif self.state is State.CONSULTING:
            await self.ari.add_channel(self.consult_bridge_id, self.referent_leg)

    async def complete_transfer(self: InboundCall) -> None:
        """Attended: the agent hands the caller over and leaves."""
        from ari_app.flows.inbound import State

        if self.state is not State.CONSULTING or self.referent_leg is None:
            raise TransferRefused(f"call {self.ctx.call_id} has no consultation to complete")
        await self._safely(self.ari.remove_channel(self.consult_bridge_id, self.referent_leg))
        await self.ari.add_channel(self.bridge_id, self.referent_leg)
        await self.ari.stop_moh(self.bridge_id, bridge=True)
        await self._move("complete", State.TRANSFERRED, (State.CONSULTING,))
        leg, self.agent_channel = self.agent_channel, None
        if leg is not None:
            await self._safely(self._drop_leg(leg))
        await self._agent_to_wrapup()
        await self._safely(self.ari.destroy_bridge(self.consult_bridge_id))

    async def cancel_transfer(self: InboundCall) -> None:
        """Attended: back to the caller (the referent was not needed, or did not answer)."""
        from ari_app.flows.inbound import State

        if self.state is not State.CONSULTING:
            raise TransferRefused(f"call {self.ctx.call_id} has no consultation to cancel")
        if self.referent_leg is not None:
            leg, self.referent_leg = self.referent_leg, None
            await self._safely(self._drop_leg(leg))
        if self.agent_channel is not None:
            await self._safely(self.ari.remove_channel(self.consult_bridge_id,
                                                       self.agent_channel))
            await self.ari.add_channel(self.bridge_id, self.agent_channel)
        await self.ari.stop_moh(self.bridge_id, bridge=True)
        await self._safely(self.ari.destroy_bridge(self.consult_bridge_id))
        await self.kit.records.update(self.ctx.call_id, transferred_at=None, resolution=None)
        await self._move("cancel", State.CONNECTED, (State.CONSULTING,))

    async def referent_leg_gone(self: InboundCall) -> None:
        """The referent's phone stopped: before answering (unreachable) or after (hung up)."""
        from ari_app.flows.inbound import State

        if self.state is State.TRANSFERRED:
            self.hung_up_by = "referent"
            await self._hangup_caller()
        elif self.state in (State.TRANSFERRING, State.CONSULTING):
            self.referent_leg = None
            await self._referent_unreachable()

    async def _referent_unreachable(self: InboundCall) -> None:
        from ari_app.flows.inbound import State

        if self.state is State.CONSULTING:
            await self.cancel_transfer()
        elif self.state is State.TRANSFERRING:
            # Nobody to take the call: the caller leaves a message to be called back.
            self.voicemail_reason = "transfer"
            await self._move("referent_unreachable", State.BUSY, (State.TRANSFERRING,))
            await self._leave_bridge()
            await self._play(self._media("busy"), self._start_voicemail)
