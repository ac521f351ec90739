"""Matches callers waiting in queues with free agents, oldest caller first.

The dispatcher only decides and tells: it posts an ``Offer`` into the waiting
call's inbox, and the call's own flow rings the agents. It runs whenever a call
joins a queue or an offer ends, and every couple of seconds anyway, so an agent
who logs in from another process (CLI, feature code) is noticed promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ari_app.agent_book import AgentBook, AgentSnapshot
from ari_app.clock import Clock
from ari_app.directory import QueueInfo
from ari_app.routing import AgentView, RoutingRequest, WaitEstimator, choose_agents
from ari_app.transport.ari import AriError, AriUnavailable, Event

log = logging.getLogger(__name__)


@dataclass
class Waiting:
    """A caller in a queue, as the dispatcher sees it."""

    call_id: str
    service_id: int
    queue: QueueInfo
    skill: str | None
    entered_at: datetime
    post: Callable[[dict[str, Any]], None]
    ringing: set[int] = field(default_factory=set)
    tried: set[int] = field(default_factory=set)


class Dispatcher:
    def __init__(self, ari: Any, agents: AgentBook, clock: Clock, *, poll_seconds: float = 2.0,
                 min_round_seconds: float = 0.05):
        self.ari = ari
        self.agents = agents
        self.clock = clock
        self.poll_seconds = poll_seconds
        #: Rounds asked for meanwhile wait this long after one starts: under load one
        #: round (one look at the phones) serves many callers instead of one each.
        self.min_round_seconds = min_round_seconds
        self.waiting: dict[str, Waiting] = {}
        #: Agents being rung for some call right now: never offered twice at once.
        self.offered: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._wrapups: set[asyncio.Task[None]] = set()
        #: Agent id → (snapshot, phone busy, view) last made for it (see :meth:`_view`).
        self._views: dict[int, tuple[AgentSnapshot, bool, AgentView]] = {}
        #: Recent real waits per queue, for the estimated wait callers are told.
        self.estimators: dict[int, WaitEstimator] = {}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="dispatcher")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._wrapups) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def kick(self) -> None:
        self._wake.set()

    def enqueue(self, waiting: Waiting) -> None:
        self.waiting[waiting.call_id] = waiting
        self.kick()

    def leave(self, call_id: str) -> None:
        waiting = self.waiting.pop(call_id, None)
        if waiting is not None:
            self.offered -= waiting.ringing
        self.kick()

    def offer_ended(self, call_id: str, agent_id: int, *, let_ring: bool) -> None:
        """An agent's phone stopped ringing for a call (answered elsewhere, rejected, timed out)."""
        self.offered.discard(agent_id)
        waiting = self.waiting.get(call_id)
        if waiting is not None:
            waiting.ringing.discard(agent_id)
            if let_ring:
                waiting.tried.add(agent_id)
        self.kick()

    def position(self, call_id: str) -> int | None:
        """1 for the caller who will be served next in its queue."""
        waiting = self.waiting.get(call_id)
        if waiting is None:
            return None
        ahead = [w for w in self.waiting.values()
                 if w.queue.id == waiting.queue.id and w.entered_at < waiting.entered_at]
        return len(ahead) + 1

    def schedule_wrapup_end(self, agent_id: int, seconds: float) -> None:
        """After wrap-up, the agent is available again (unless they paused or left)."""

        async def finish() -> None:
            await asyncio.sleep(seconds)
            await self.agents.set_state(agent_id, "available", self.clock(),
                                        only_if=("wrapup",))
            self.kick()

        task = asyncio.get_running_loop().create_task(finish(), name=f"wrapup-{agent_id}")
        self._wrapups.add(task)
        task.add_done_callback(self._wrapups.discard)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            try:
                await self.match()
            except Exception:
                log.exception("dispatcher: matching failed; will retry")
            rest = self.min_round_seconds - (loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    async def _phones(self) -> dict[str, Event]:
        """Every agent phone's state and channels, in one ARI request per round."""
        try:
            return {e.get("resource", ""): e for e in await self.ari.list_endpoints("PJSIP")}
        except (AriError, AriUnavailable):
            return {}  # nobody can be checked: nobody is rung this round

    @staticmethod
    def _busy_elsewhere(phones: dict[str, Event], username: str) -> bool:
        """The agent's phone is unregistered or already has a channel, ours or not."""
        phone = phones.get(username)
        if phone is None or phone.get("state") == "offline":
            return True
        return bool(phone.get("channel_ids"))

    def _view(self, agent: AgentSnapshot, busy_elsewhere: bool) -> AgentView:
        """The routing view of an agent, made again only when the agent or the phone changed
        (a snapshot is replaced, never changed): a round looks at every free agent."""
        kept = self._views.get(agent.id)
        if kept is not None and kept[0] is agent and kept[1] == busy_elsewhere:
            return kept[2]
        view = self.agents.view(agent, busy_elsewhere)
        self._views[agent.id] = (agent, busy_elsewhere, view)
        return view

    async def match(self) -> None:
        """One round: oldest callers first, each offered the agents its strategy picks."""
        if not any(not w.ringing for w in self.waiting.values()):
            return
        #: Per service, its free agents as routing sees them, made once a round.
        free_of: dict[int, list[AgentView]] = {}
        phones: dict[str, Event] | None = None
        for waiting in sorted(self.waiting.values(), key=lambda w: w.entered_at):
            if waiting.ringing:
                continue  # one round of ringing at a time per caller
            if waiting.service_id not in free_of:
                free = [a for a in await self.agents.of_service(waiting.service_id)
                        if a.state == "available" and a.id not in self.offered]
                if free and phones is None:
                    phones = await self._phones()
                free_of[waiting.service_id] = [
                    self._view(a, self._busy_elsewhere(phones or {}, a.username))
                    for a in free]
            # Offered to an earlier caller of this round: no longer free.
            views = [v for v in free_of[waiting.service_id] if v.agent_id not in self.offered]
            if not views:
                continue
            chosen = choose_agents(views, RoutingRequest(
                strategy=waiting.queue.strategy, skill=waiting.skill,
                already_tried=frozenset(waiting.tried), now=self.clock()))
            if not chosen:
                continue
            ids = {agent.agent_id for agent in chosen}
            waiting.ringing |= ids
            self.offered |= ids
            waiting.post({"type": "Offer", "agents": chosen})
