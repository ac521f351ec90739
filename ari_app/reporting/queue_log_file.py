"""The queue_log file: lines appended behind the calls, by the control plane and the CLI.

:class:`QueueLogRecorder` listens to the write-behind (:meth:`WriteBehind.listen`):
the listener only queues the operation; one task names the queues and agents the
operations mention (from the control plane's roster, else a database read, off the
calls' path), feeds the :class:`~ari_app.reporting.queue_log.CallTracker` and
appends everything made meanwhile (gathered for :data:`GATHER_SECONDS`) with one
``write`` in a thread. A write that fails (disk full, path not writable) is logged
once, its lines are dropped, and the calls go on; the next success says the file is
written again.

Several processes append to the same file (the control plane, ``centralino agent``):
each batch is one ``write`` on a file opened with ``O_APPEND``, so lines never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ari_app.clock import Clock, utc_now
from ari_app.outage import WriteBehind, Written
from ari_app.reporting.queue_log import (
    OPERATIONS,
    CallTracker,
    Names,
    QueueLogLine,
    ids_to_name,
)
from models import Agent, Queue

T = TypeVar("T")

log = logging.getLogger(__name__)


def append_lines(path: Path, lines: Iterable[QueueLogLine | str]) -> None:
    """Append whole lines with one write; raises OSError (the caller decides what to say)."""
    data = "".join(f"{line}\n" for line in lines).encode()
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


#: Reporting tools read the file every few seconds or more: a fifth of a second is
#: nothing to them, and under load it makes one append of many calls' lines.
GATHER_SECONDS = 0.2


class QueueLogRecorder:
    """Turns the control plane's writes into queue_log lines in ``path``."""

    def __init__(self, path: Path, sessions: async_sessionmaker, clock: Clock = utc_now,
                 writes: WriteBehind | None = None,
                 known_username: Callable[[int], str | None] | None = None):
        self.path = path
        #: An agent's user name as the calls know it now (the control plane's roster),
        #: or None: spares a database read at every ring.
        self._known_username = known_username
        self._sessions = sessions
        #: The names are read where the calls' frequent reads go (:meth:`WriteBehind.read`).
        self._writes = writes
        #: The calls' own clock: a line without a time of its own is dated by it.
        self._clock = clock
        self._tracker = CallTracker()
        self._pending: list[tuple[str, dict[str, Any], datetime]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._queues: dict[int, str] = {}
        self._agents: dict[int, str] = {}
        self._failing = False
        self._names_stale = False
        #: One batch at a time, so lines keep the order of the writes.
        self._lock = asyncio.Lock()
        #: How long lines gather before they are appended (each keeps its own time).
        self.gather_seconds = GATHER_SECONDS
        #: Lines lost to write errors (for operators and tests).
        self.dropped = 0
        self.written = 0

    def __call__(self, op: str, args: dict[str, Any], written: Written) -> None:
        """The write-behind's listener: must not block, so it only queues."""
        if op not in OPERATIONS:
            return
        # The args are the write's own: later merges do not reach an applied write.
        self._pending.append((op, args, self._clock()))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="queue-log")

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            # Lines made meanwhile go out with the same write: one trip to a thread
            # for many calls' lines instead of one per transaction of the calls' writes.
            await asyncio.sleep(self.gather_seconds)
            self._wakeup.clear()
            await self._drain()

    async def _drain(self) -> None:
        async with self._lock:
            while self._pending:
                batch, self._pending = self._pending, []
                lines: list[QueueLogLine] = []
                for op, args, now in batch:
                    try:
                        names = await self._names(op, args)
                        lines += self._tracker.feed(op, args, names, now)
                    except Exception:
                        log.exception("queue_log: %s of call %s not understood", op,
                                      args.get("call_id", "?"))
                await self._write(lines)

    async def _write(self, lines: list[QueueLogLine]) -> None:
        if not lines:
            return
        try:
            await asyncio.to_thread(append_lines, self.path, lines)
        except OSError as exc:
            self.dropped += len(lines)
            if not self._failing:
                self._failing = True
                log.error("queue_log %s cannot be written (%s); its lines are dropped until "
                          "it can, calls go on", self.path, exc.strerror or exc)
            return
        self.written += len(lines)
        if self._failing:
            self._failing = False
            log.warning("queue_log %s written again; %d lines were lost", self.path,
                        self.dropped)

    async def _names(self, op: str, args: dict[str, Any]) -> Names:
        queue_ids, agent_ids = ids_to_name(op, args)
        try:
            if queue_ids - self._queues.keys():
                self._queues.update(await self._read(_queue_slugs))
            # Looked up at every ring: an agent removed and another added may reuse the id.
            fresh = agent_ids if op == "agents.offer_started" else agent_ids - self._agents.keys()
            if fresh and self._known_username is not None:
                known = {i: name for i in fresh
                         if (name := self._known_username(i)) is not None}
                self._agents.update(known)
                fresh = fresh - known.keys()
            if self._names_stale:  # no waiting on a database just found away
                fresh -= self._agents.keys()
            if fresh:
                self._agents.update(await self._read(lambda session: _usernames(session, fresh)))
            self._names_stale = False
        except Exception as exc:  # the database away: the last names known, or ids
            if not self._names_stale:
                self._names_stale = True
                log.warning("queue_log: queue and agent names not read (%s); the last known "
                            "are used", type(exc).__name__)
        return Names(self._queues, self._agents)

    async def _read(self, fetch: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if self._writes is not None:
            return await self._writes.read(fetch)
        async with self._sessions() as session:
            return await fetch(session)

    async def flush(self) -> None:
        """Write what is pending (at shutdown, and in tests)."""
        await self._drain()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


_QUEUE_SLUGS = select(Queue.__table__.c.id, Queue.__table__.c.slug)
_USERNAMES = select(Agent.__table__.c.id, Agent.__table__.c.username).where(
    Agent.__table__.c.id.in_(bindparam("ids", expanding=True)))


async def _queue_slugs(session: AsyncSession) -> dict[int, str]:
    return {queue_id: slug for queue_id, slug in await session.execute(_QUEUE_SLUGS)}


async def _usernames(session: AsyncSession, agent_ids: set[int]) -> dict[int, str]:
    return {agent_id: name for agent_id, name in await session.execute(
        _USERNAMES, {"ids": sorted(agent_ids)})}
