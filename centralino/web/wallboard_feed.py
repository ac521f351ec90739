"""One wallboard snapshot per interval, shared by every open ``/supervisore/ws``.

A single task (started with the first open socket, idle when none is open)
reads the queues and agents once a second and the SLA tallies when a call
ended or changed (heard from the control plane's write-behind, the way the
queue_log listens) or every :data:`SLA_REFRESH_SECONDS` otherwise, and hands
the same JSON to all sockets: ten supervisors cost what one does.

The SLA tallies are cheap to read: today's calls per half-hour (one aggregate
over the ``(service_id, arrived_at)`` index, which also gives today's figures
and the chart), plus this month before today, read again only every
:data:`BEFORE_TODAY_SECONDS` or when the day changes, and added in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.errors import CentralinoError
from centralino.sla.figures import DEFAULT_READINGS, Tally
from centralino.sla.periods import PeriodIndex, periods
from centralino.sla.query import ALL, ServiceSla, load_services, tallies
from centralino.web.wallboard_sla import (
    CallsChart,
    ServiceSlaCard,
    card,
    half_hour_chart,
    sum_tallies,
)

log = logging.getLogger(__name__)

#: Queues and agents: read this often while a socket is open.
PUSH_SECONDS = 1.0
#: SLA tallies: read again at least this often (a resolution set from the CLI, another
#: process's calls), and after a call of this process changed, but not more often than
#: every :data:`SLA_MIN_SECONDS` however many calls end.
SLA_REFRESH_SECONDS = 10.0
SLA_MIN_SECONDS = 2.0
#: This month before today: read again this often (late resolutions of older calls).
BEFORE_TODAY_SECONDS = 300.0


@dataclass(frozen=True)
class SlaPicture:
    """Per service today's and this month's cards, and today's chart."""

    cards: tuple[tuple[ServiceSlaCard, ServiceSlaCard], ...]
    chart: CallsChart

    def as_json(self) -> dict[str, Any]:
        return {"sla": [c.as_json() for pair in self.cards for c in pair],
                "chart": self.chart.as_json()}


@dataclass
class _BeforeToday:
    day: date
    read_at: float
    per_service: dict[int, Tally]


async def _services(session: Any) -> list[ServiceSla]:
    try:
        return await load_services(session, ALL)
    except CentralinoError:  # no service configured yet
        return []


class SlaReader:
    """Reads today's tallies every time, this month's earlier days now and then."""

    def __init__(self, sessions: async_sessionmaker, zone: ZoneInfo,
                 monotonic: Callable[[], float] = time.monotonic):
        self._sessions = sessions
        self._zone = zone
        self._monotonic = monotonic
        self._before: _BeforeToday | None = None

    async def read(self, now: datetime) -> SlaPicture:
        today = now.astimezone(self._zone).date()
        slots = periods(today, today, "halfhour", self._zone)
        chart_index = PeriodIndex(slots)
        answered = [0] * len(slots)
        abandoned = [0] * len(slots)
        per_service: dict[int, list[Tally]] = {}
        async with self._sessions() as session:
            services = await _services(session)
            for zone, members in _by_zone(services).items():
                index = PeriodIndex(periods(today, today, "halfhour", ZoneInfo(zone)))
                per_period, _agents = await tallies(session, members, index, "halfhour",
                                                    DEFAULT_READINGS)
                for (service_id, i), tally in per_period.items():
                    per_service.setdefault(service_id, []).append(tally)
                    slot = chart_index.find(index.periods[i].start_utc)
                    if slot is not None:
                        answered[slot] += tally.answered
                        abandoned[slot] += tally.abandoned
            before = await self._before_today(session, services, today)
        pairs = []
        for svc in services:
            today_tally = sum_tallies(per_service.get(svc.id, ()))
            month_tally = sum_tallies((before.get(svc.id), today_tally))
            pairs.append((card(svc.name, svc.slug, "today", today_tally, svc.targets),
                          card(svc.name, svc.slug, "month", month_tally, svc.targets)))
        chart = half_hour_chart(
            (p.start.strftime("%H:%M"), answered[i], abandoned[i]) for i, p in enumerate(slots))
        return SlaPicture(cards=tuple(pairs), chart=chart)

    async def _before_today(self, session: Any, services: list[ServiceSla],
                            today: date) -> dict[int, Tally]:
        """This month's days before today per service: kept between reads."""
        cached = self._before
        if (cached is not None and cached.day == today
                and self._monotonic() - cached.read_at < BEFORE_TODAY_SECONDS):
            return cached.per_service
        per_service: dict[int, Tally] = {}
        if today.day > 1:
            yesterday = today - timedelta(days=1)
            for zone, members in _by_zone(services).items():
                index = PeriodIndex(periods(today.replace(day=1), yesterday, "month",
                                            ZoneInfo(zone)))
                per_period, _agents = await tallies(session, members, index, "month",
                                                    DEFAULT_READINGS)
                for (service_id, _i), tally in per_period.items():
                    per_service[service_id] = tally
        self._before = _BeforeToday(today, self._monotonic(), per_service)
        return per_service

    def forget(self) -> None:
        """Read this month's earlier days again next time (e.g. a resolution changed)."""
        self._before = None


def _by_zone(services: list[ServiceSla]) -> dict[str, list[ServiceSla]]:
    result: dict[str, list[ServiceSla]] = {}
    for svc in services:
        result.setdefault(svc.timezone, []).append(svc)
    return result


Snapshot = dict[str, Any]


class WallboardFeed:
    """The latest wallboard JSON and a way to wait for the next one.

    ``live`` builds the queues-and-agents part; ``sla`` reads the SLA part. The task
    runs only while someone watches (:meth:`watch`).
    """

    def __init__(self, live: Callable[[], Any], sla: SlaReader,
                 clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic):
        self._live = live
        self._sla = sla
        self._clock = clock
        self._monotonic = monotonic
        self._watchers = 0
        self._watched = asyncio.Event()
        self._published = asyncio.Event()
        self._latest: Snapshot | None = None
        self._sla_json: dict[str, Any] | None = None
        self._sla_read_at = 0.0
        self._sla_stale = True
        self._task: asyncio.Task[None] | None = None
        #: Snapshots built and published (for tests: one per interval, not per socket).
        self.built = 0
        self.published = 0

    # -- what the control plane's writes tell us ----------------------------------
    def written(self, op: str, args: dict[str, Any], _written: Any) -> None:
        """A write-behind listener: a call's record changed, so the SLA may have."""
        if op.startswith("calls."):
            self._sla_stale = True

    def sla_changed(self) -> None:
        self._sla_stale = True

    # -- the shared task -------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="wallboard-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[WallboardFeed]:
        """While inside, the feed keeps building snapshots."""
        self.start()
        self._watchers += 1
        self._watched.set()
        try:
            yield self
        finally:
            self._watchers -= 1
            if self._watchers == 0:
                self._watched.clear()

    async def next_after(self, seen: Snapshot | None, timeout: float) -> Snapshot | None:
        """The latest snapshot if it is not ``seen``, else wait up to ``timeout`` for one."""
        if self._latest is not None and self._latest is not seen:
            return self._latest
        event = self._published
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self._latest if self._latest is not seen else None

    async def sla(self) -> dict[str, Any]:
        """The SLA part (cards and chart), read again if stale (the page's first render
        uses it too, so it shows the numbers the socket pushes)."""
        now = self._monotonic()
        since = now - self._sla_read_at
        if (self._sla_json is None or since >= SLA_REFRESH_SECONDS
                or (self._sla_stale and since >= SLA_MIN_SECONDS)):
            self._sla_stale = False
            self._sla_json = (await self._sla.read(self._clock())).as_json()
            self._sla_read_at = now
        return self._sla_json

    async def build(self) -> Snapshot:
        """One snapshot now: the live board and the SLA part."""
        board = await self._live()
        sla = await self.sla()
        self.built += 1
        return {**board.as_json(), **sla}

    async def _run(self) -> None:
        previous: Snapshot | None = None
        while True:
            await self._watched.wait()
            try:
                snapshot = await self.build()
            except Exception:  # the database away for a moment: try again next tick
                log.exception("wallboard snapshot failed")
            else:
                comparable = {k: v for k, v in snapshot.items() if k != "as_of"}
                if comparable != previous:
                    previous = comparable
                    self._publish(snapshot)
            await asyncio.sleep(PUSH_SECONDS)

    def _publish(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        self.published += 1
        event, self._published = self._published, asyncio.Event()
        event.set()


FEED: web.AppKey[WallboardFeed] = web.AppKey("wallboard_feed", WallboardFeed)
