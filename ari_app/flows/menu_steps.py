"""The IVR menu's steps in a call: prompts, digits, submenus, and a choice that rings an office.

::

    menu ──digit──▶ submenu (menu state, own prompt) ──"*"──▶ back to the previous menu
      │                └─timeout / invalid─▶ queued (the submenu's default queue)
      └──transfer choice──▶ referent_ringing ──answered──▶ referent_connected ─▶ ended
                                 └─no answer / unreachable──▶ queued (main queue, overflow)

A caller in a submenu stays in the ``menu`` state: the record's ``ivr_path`` (the
digits that opened the submenus) says which one, and a restarted control plane
walks it again. A referent rung from the menu is an office phone; its leg has a
derivable id (``<call>-m1``), so a restarted process finds it, and the phone rung
is on the record (``calls.referent``). Answered there, the call ends as
``office_answered`` (not an operator's call: outside Tm, P and Q, like an office's
own line); not answered, it goes to the service's main queue marked ``overflow``,
like the office lines' "ricaduta". Mixed into
:class:`ari_app.flows.inbound.InboundCall`, whose state and helpers these use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ari_app.directory import OptionInfo
from ari_app.flows.menu import MenuDecision, MenuSession
from ari_app.transport.ari import AriError, AriUnavailable

if TYPE_CHECKING:
    from ari_app.flows.inbound import InboundCall, State

log = logging.getLogger(__name__)


class MenuSteps:
    """Menus and submenus, and the menu's transfer to an office phone."""

    #: The office phone's leg rung from the menu (``<call>-m1``), while it matters.
    menu_referent_leg: str | None = None

    @property
    def ringback_id(self: InboundCall) -> str:
        """The ring tone's playback: fixed, so a restarted process can stop it."""
        return f"{self.ctx.call_id}-ringback"

    # -- prompts and digits --------------------------------------------------------
    async def _offer_menu(self: InboundCall, invalid: bool = False) -> None:
        assert self.menu is not None
        media = self._media("invalid") if invalid else []
        media += self._media(self.menu.menu.prompt_kind)
        await self._play(media, self._arm_menu_timeout)

    async def _arm_menu_timeout(self: InboundCall) -> None:
        assert self.menu is not None
        self._start_timer("menu", self.menu.menu.timeout_seconds)

    async def on_dtmf(self: InboundCall, digit: str) -> None:
        from ari_app.flows.inbound import State

        if self.state is not State.MENU or self.menu is None:
            return  # digits outside the menu are ignored (e.g. while queued)
        self._cancel_timer("menu")
        await self._stop_playing()
        await self._apply_menu_decision(self.menu.on_digit(digit))

    async def _record_path(self: InboundCall, path: list[str]) -> None:
        if path != self.ivr_path:
            self.ivr_path = list(path)
            await self.kit.records.update(self.ctx.call_id, ivr_path=">".join(path))

    async def _apply_menu_decision(self: InboundCall, decision: MenuDecision) -> None:
        assert self.menu is not None
        trail = self.menu.trail
        if decision.kind in ("submenu", "back"):
            await self._record_path(trail)
            await self._offer_menu()
        elif decision.kind == "retry":
            await self._offer_menu(invalid=True)
        elif decision.kind == "default":
            await self._record_path([*trail, decision.digit] if decision.digit else trail)
            await self._enter_queue(decision.queue or self.menu.menu.default_queue, None)
        else:
            assert decision.option is not None and decision.digit is not None
            await self._record_path([*trail, decision.digit])
            await self._choose(decision.option)

    def resume_menu(self: InboundCall) -> None:
        """After a restart: the caller is in the (sub)menu the recorded path leads to."""
        assert self.ctx.service.menu is not None
        self.menu = MenuSession.at_path(self.ctx.service.menu, self.ivr_path)

    # -- transfer to an office phone -----------------------------------------------
    async def _ring_menu_referent(self: InboundCall, option: OptionInfo) -> None:
        from ari_app.flows.inbound import State

        referent = option.referent
        await self._move("choose", State.REFERENT_RINGING, (State.MENU,),
                         referent=referent.endpoint if referent else None)
        if referent is None:
            await self._menu_referent_missed("its office line no longer exists")
            return
        leg = self.menu_referent_leg = f"{self.ctx.call_id}-m1"
        self._playback_id = self.ringback_id  # the caller hears Italian ringing meanwhile
        await self._safely(self.ari.play(self.ctx.channel_id, ["tone:ring"], self.ringback_id))
        try:
            await self.ring_phone(leg, referent.endpoint, option.rings)
        except (AriError, AriUnavailable) as exc:
            await self._menu_referent_missed(f"unreachable ({exc})")

    async def menu_referent_answered(self: InboundCall) -> None:
        from ari_app.flows.inbound import State

        assert self.menu_referent_leg is not None
        await self._stop_playing()
        await self.ari.create_bridge(self.bridge_id, "mixing", self.bridge_id)
        await self.ari.add_channel(self.bridge_id, self.ctx.channel_id)
        await self.ari.add_channel(self.bridge_id, self.menu_referent_leg)
        self.outcome_override = "office_answered"
        await self._move("referent_answered", State.REFERENT_CONNECTED,
                         (State.REFERENT_RINGING,))

    async def menu_referent_gone(self: InboundCall) -> None:
        """The office phone's leg ended: it never answered, or it hung up after talking."""
        from ari_app.flows.inbound import State

        if self.state is State.REFERENT_RINGING:
            await self._menu_referent_missed("no answer")
        elif self.state is State.REFERENT_CONNECTED:
            self.hung_up_by = "referent"
            await self._hangup_caller()

    async def _menu_referent_missed(self: InboundCall, why: str) -> None:
        """Nobody at the office: on to the service's main queue, as an overflow."""
        log.info("call %s: office phone from the menu not reached (%s); to the queue",
                 self.ctx.call_id, why)
        self.menu_referent_leg = None
        await self._stop_playing()
        self.overflow = True
        await self.kit.records.update(self.ctx.call_id, overflow=True)
        queue = self.ctx.service.main_queue
        if queue is None:
            await self._hand_off("no queue configured")
            return
        await self._enter_queue(queue, None)

    async def release_menu_referent(self: InboundCall, previous: State,
                                    hung_up_by: str) -> None:
        """The call is ending: the office phone stops ringing, the bridge goes."""
        from ari_app.flows.inbound import State

        if previous not in (State.REFERENT_RINGING, State.REFERENT_CONNECTED):
            return
        if self.menu_referent_leg is not None and hung_up_by != "referent":
            await self._safely(self._drop_leg(self.menu_referent_leg))
        if previous is State.REFERENT_CONNECTED:
            await self._safely(self._destroy_bridge())

    def adopt_menu_referent(self: InboundCall) -> None:
        """A re-adopted call at the office phone: its leg and ring tone have known ids."""
        from ari_app.flows.inbound import State

        if self.state in (State.REFERENT_RINGING, State.REFERENT_CONNECTED):
            self.menu_referent_leg = f"{self.ctx.call_id}-m1"
        if self.state is State.REFERENT_RINGING:
            self._playback_id = self.ringback_id
        elif self.state is State.REFERENT_CONNECTED:
            self.outcome_override = "office_answered"

    async def resume_menu_referent(self: InboundCall, live: dict[str, Any]) -> None:
        from ari_app.flows.inbound import State

        leg = self.menu_referent_leg
        if leg not in live:
            await self.menu_referent_gone()
        elif self.state is State.REFERENT_RINGING and live[leg].get("state") == "Up":
            await self.menu_referent_answered()
