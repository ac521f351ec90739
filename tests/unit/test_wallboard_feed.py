"""One wallboard snapshot per interval for every open socket, the SLA read only as needed.

The feed runs with stand-ins for the database reads: what counts here is how
often it reads, not what.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from centralino.web import wallboard_feed
from centralino.web.wallboard_feed import WallboardFeed
from centralino.web.wallboard_snapshot import Wallboard

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Reads:
    """Counts the reads; the SLA answer changes with each read."""

    def __init__(self) -> None:
        self.live = 0
        self.sla = 0

    async def board(self) -> Wallboard:
        self.live += 1
        return Wallboard(as_of=NOW, queues=(), agents=())

    async def read(self, _now: datetime) -> object:
        self.sla += 1
        reads = self.sla

        class Picture:
            def as_json(self) -> dict:
                return {"sla": [reads], "chart": {}}
        return Picture()


def feed_with(reads: Reads, clock: list[float]) -> WallboardFeed:
    return WallboardFeed(reads.board, reads, lambda: NOW,  # type: ignore[arg-type]
                         monotonic=lambda: clock[0])


async def test_sla_read_when_a_call_changed_but_not_more_than_every_few_seconds():
    reads, clock = Reads(), [100.0]
    feed = feed_with(reads, clock)
    assert (await feed.build())["sla"] == [1]
    clock[0] += 1
    await feed.build()
    assert reads.sla == 1                       # nothing changed: kept
    feed.written("calls.ended", {"call_id": "c1"}, None)
    await feed.build()
    assert reads.sla == 1                       # a call ended, but read 1 s ago
    clock[0] += wallboard_feed.SLA_MIN_SECONDS
    assert (await feed.build())["sla"] == [2]   # now it is read again
    feed.written("agents.state", {}, None)      # not a call: no reason to read
    clock[0] += wallboard_feed.SLA_MIN_SECONDS
    await feed.build()
    assert reads.sla == 2
    clock[0] += wallboard_feed.SLA_REFRESH_SECONDS
    await feed.build()
    assert reads.sla == 3                       # at least every SLA_REFRESH_SECONDS
    assert reads.live == 6                      # the live part: every build


async def test_many_watchers_share_one_build_per_interval_and_none_when_unwatched(monkeypatch):
    monkeypatch.setattr(wallboard_feed, "PUSH_SECONDS", 0.05)
    reads, clock = Reads(), [0.0]
    feed = feed_with(reads, clock)
    try:
        async def watcher() -> list[dict]:
            seen: list[dict] = []
            async with feed.watch():
                while len(seen) < 1:
                    snapshot = await feed.next_after(seen[-1] if seen else None, 1.0)
                    if snapshot is not None:
                        seen.append(snapshot)
                await asyncio.sleep(0.3)
            return seen

        results = await asyncio.gather(*(watcher() for _ in range(5)))
        assert all(r[0] is results[0][0] for r in results)  # the very same snapshot
        # About 0.3 s at one build per 0.05 s: a handful, not five times as many.
        assert 1 <= reads.live <= 10
        idle = reads.live
        await asyncio.sleep(0.3)
        assert reads.live <= idle + 1                       # nobody watches: no reads
    finally:
        await feed.close()
