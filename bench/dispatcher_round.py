"""CPU of one dispatcher round: callers waiting, a service's agents looked at, offers made.

The real :class:`~ari_app.queueing.dispatcher.Dispatcher` with stand-ins for its two
inputs (the agent roster and ``GET /endpoints/PJSIP``): ``--agents`` agents of one
service, every other one available, and ``--callers`` callers waiting each round.
Prints the process's CPU time per round::

    .venv/bin/python bench/dispatcher_round.py --agents 117 --callers 2
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import product_path  # noqa: F401  (the product code of this tree)

from ari_app.agent_book import AgentBook, AgentSnapshot
from ari_app.directory import QueueInfo
from ari_app.queueing.dispatcher import Dispatcher, Waiting

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
QUEUE = QueueInfo(id=1, slug="cps", name="CPS", strategy="longest_idle", rings_per_agent=2,
                  wait_limit_seconds=60, wrapup_seconds=1, announce_position=False,
                  announce_every_seconds=60)


class Roster:
    view = staticmethod(AgentBook.view)

    def __init__(self, count: int):
        self.agents = [AgentSnapshot(
            id=i, username=f"bench-a{i:03d}", state="available" if i % 2 else "on_call",
            state_since=T0 + timedelta(seconds=i), profile="junior", skills=frozenset({"cps"}),
            last_offered_at=None, services=frozenset({1})) for i in range(1, count + 1)]

    async def of_service(self, service_id: int) -> list[AgentSnapshot]:
        return [a for a in self.agents if service_id in a.services and a.enabled]


class Phones:
    def __init__(self, count: int):
        self.endpoints = [{"technology": "PJSIP", "resource": f"bench-a{i:03d}",
                           "state": "online", "channel_ids": []} for i in range(1, count + 1)]

    async def list_endpoints(self, technology: str) -> list[dict[str, Any]]:
        return self.endpoints


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=117)
    parser.add_argument("--callers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    dispatcher = Dispatcher(Phones(args.agents), Roster(args.agents), lambda: T0)
    started = time.process_time()
    for _ in range(args.rounds):
        dispatcher.waiting.clear()
        dispatcher.offered.clear()
        for n in range(args.callers):
            dispatcher.waiting[f"c{n}"] = Waiting(f"c{n}", 1, QUEUE, "cps", T0, lambda _e: None)
        await dispatcher.match()
    spent = (time.process_time() - started) / args.rounds
    print(f"{args.agents} agents, {args.callers} callers waiting: "
          f"{spent * 1e6:.0f} us of CPU per round")


if __name__ == "__main__":
    asyncio.run(main())
