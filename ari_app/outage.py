"""Calls go on while the database is away: writes go to a journal, reads to the last answer.

:class:`WriteBehind` runs every write the control plane makes. When the database
cannot be reached, the write is appended to the :class:`~ari_app.journal.Journal`
and the call goes on; from then on every write goes to the journal, so a
call's writes reach the database in the order they were made (an ``ended`` is
never applied before its ``arrived``). A background task retries with backoff,
replays the journal in order and empties it; the writes it replays are
idempotent, so replaying one twice (a crash between replay and truncation)
changes nothing. On start-up the journal left by a previous run is replayed
first: every new write queues behind it, and calls are not held while it runs.

:class:`LastGood` keeps the last answer the database gave to each read and serves
it while the database cannot be reached.

Only an unreachable database is handled this way (:func:`is_unreachable`); a
write the database refuses (an IntegrityError: a bug) still raises. SQLite is
a file on the same machine: it gets no journal and behaves as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from ari_app.journal import Entry, Journal
from ari_app.sqlite_thread import SqliteThread, SyncDatabase, file_database

log = logging.getLogger(__name__)

T = TypeVar("T")
Apply = Callable[..., Awaitable[Any]]

#: SQLSTATEs of a server that is gone or refusing sessions: connection exceptions,
#: shutdown or start-up in progress, too many connections.
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


#: Marks the write-behind's own transactions, so that a listener to the engine's commits
#: can tell the calls' records from changes made by someone else in this process.
WRITER_OPTIONS = {"centralino_writer": True}


def is_writer_commit(connection: Any) -> bool:
    """For an engine ``commit`` listener: was this the write-behind committing?"""
    return bool(connection.get_execution_options().get("centralino_writer"))


class DatabaseUnavailable(Exception):
    """The database cannot be reached and there is no earlier answer to fall back on."""


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is away (kept for later), not that a write is wrong."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.IntegrityError | sa_exc.ProgrammingError | sa_exc.DataError):
            return False
        if isinstance(exc, sa_exc.OperationalError):
            return True
    elif isinstance(exc, sa_exc.TimeoutError):
        return True  # no pooled connection came free: they all hang on the server
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError):
            return True
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNREACHABLE_SQLSTATES):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def insert_if_new(session: AsyncSession | AsyncConnection | SyncDatabase,
                  table: Table) -> Insert:
    """An INSERT that leaves an existing row (same key) alone: a replayed write is a no-op."""
    if isinstance(session, AsyncConnection | SyncDatabase):
        dialect = session.dialect.name
    else:
        dialect = session.bind.dialect.name if session.bind is not None else ""
    return _insert_if_new(dialect, table)


@lru_cache(maxsize=32)
def _insert_if_new(dialect: str, table: Table) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no insert-if-new for the {dialect!r} database")


def _reason(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


@dataclass(frozen=True)
class Written:
    """What became of a write: applied (with its result) or journaled as ``seq``."""

    applied: bool
    result: Any = None
    seq: int | None = None


@dataclass(frozen=True)
class Operation:
    """How one kind of write is applied, and what may be done around it."""

    #: ``apply(connection, **args)`` writes it inside the caller's transaction, idempotently
    #: (a Core connection: the writer needs no ORM session, and its commits are not the
    #: sessions' commits that tell the control plane someone changed the configuration).
    apply: Apply
    #: What the write is about (e.g. one call's record): a write is merged only into the
    #: latest queued write about the same thing, so their order never changes.
    key: Callable[[dict[str, Any]], Hashable] | None = None
    #: Folds a later write into that earlier queued one, if it is of the same kind.
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None


#: Told of a write once it is applied or journaled: ``(op, args, written)``.
Listener = Callable[[str, dict[str, Any], Written], None]


@dataclass
class _Queued:
    op: str
    args: dict[str, Any]
    done: asyncio.Future[Written]
    #: Someone awaits the outcome; otherwise a failure is logged here.
    awaited: bool = False
    in_flight: bool = False


class WriteBehind:
    """Applies the control plane's writes in order, many per transaction, behind the calls.

    A call flow posts a write and goes on (:meth:`post`); one writer task applies
    everything posted meanwhile in a single transaction ("group commit"), so under
    load the database sees a few transactions per second instead of one per event,
    and no call waits on a commit to send its next request to Asterisk. Reads that
    must see the writes made so far call :meth:`flush` first. :meth:`write` posts
    and waits, for a caller that needs the result.

    When the database cannot be reached and there is a journal (PostgreSQL), the
    batch goes to the journal and is replayed later; without one (SQLite, a local
    file) the failure is reported to whoever waits, and logged with the write's
    content otherwise. A write the database refuses (a bug) fails alone: the others
    of its batch are applied one by one.
    """

    def __init__(self, sessions: async_sessionmaker, journal: Journal | None = None, *,
                 retry_first: float = 0.5, retry_max: float = 5.0, batch_max: int = 500,
                 sqlite_thread: bool = True, gather_seconds: float = 0.0):
        self.sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self.journal = journal
        #: On an SQLite file, batches and frequent reads run in a thread of their own.
        url = getattr(self._engine, "url", None)  # (a test's stand-in engine has none)
        self._sqlite = (SqliteThread(url, WRITER_OPTIONS)
                        if sqlite_thread and journal is None and url is not None
                        and file_database(url) else None)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.batch_max = batch_max
        #: How long the writer lets writes gather before a transaction, unless someone
        #: waits for them (:meth:`write`, :meth:`flush`): at a few calls a second most
        #: writes would otherwise each take a transaction of their own.
        self.gather_seconds = gather_seconds
        #: True from the first failed attempt until the journal is replayed and empty.
        self.down = False
        #: Highest journal seq applied to the database (entries at or below are done).
        self.applied_through = 0
        #: Run after the journal has been replayed (e.g. reconcile calls put off meanwhile).
        self.on_caught_up: Callable[[], Awaitable[None]] | None = None
        #: Transactions committed and writes applied by the writer (for /metrics).
        self.transactions = 0
        self.applied = 0
        self._ops: dict[str, Operation] = {}
        #: Told of every write once it is applied or journaled (see :meth:`listen`).
        self._listeners: list[Listener] = []
        self._queue: list[_Queued] = []
        self._last_of_key: dict[Hashable, _Queued] = {}
        self._wakeup = asyncio.Event()
        #: Someone waits for the queued writes: no gathering.
        self._hurry = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None
        self._outage_started = 0.0
        self._told_down = False
        self._told_stale = False

    @property
    def enabled(self) -> bool:
        return self.journal is not None

    @property
    def caught_up(self) -> bool:
        """The database holds every write made so far (nothing queued or journaled)."""
        return (self._idle.is_set() and not self.down
                and not (self.journal and self.journal.entries))

    @property
    def pending(self) -> int:
        """Writes not in the database yet: queued here or waiting in the journal."""
        return len(self._queue) + (len(self.journal.entries) if self.journal else 0)

    async def read(self, fetch: Callable[[Any], Awaitable[T]]) -> T:
        """``fetch(session)``: for the reads the calls make often (agents, services).

        On an SQLite file it runs in the writer's thread, after the writes queued
        there (:mod:`ari_app.sqlite_thread`); otherwise on a session of its own."""
        if self._sqlite is not None:
            return await self._sqlite.read(fetch)
        async with self.sessions() as session:
            return await fetch(session)

    async def outside_changes(self) -> int | None:
        """A number that moves whenever someone other than this writer commits to the
        database (SQLite's data_version), or None where there is none (PostgreSQL):
        a reader that kept an answer, with this process's own changes applied, knows
        it still holds while the number stands still."""
        if self._sqlite is not None:
            return await self._sqlite.data_version()
        return None

    def register(self, op: str, apply: Apply, *,
                 key: Callable[[dict[str, Any]], Hashable] | None = None,
                 merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
                 ) -> None:
        self._ops[op] = Operation(apply, key, merge)

    def listen(self, listener: Listener) -> None:
        """Call ``listener(op, args, written)`` for every write once applied or journaled.

        In the order the writes were made (merged updates arrive merged), on the writer's
        task: a listener must not block (queue the work), and what it raises is logged.
        """
        self._listeners.append(listener)

    def post(self, op: str, **args: Any) -> asyncio.Future[Written]:
        """Queue a write behind the ones before it; the caller does not wait."""
        operation = self._ops[op]  # an unknown operation is a bug: raise here
        key = operation.key(args) if operation.key is not None else None
        if key is not None:
            earlier = self._last_of_key.get(key)
            if (earlier is not None and earlier.op == op and operation.merge is not None
                    and not earlier.in_flight and not earlier.done.done()):
                earlier.args = operation.merge(earlier.args, args)
                return earlier.done
        queued = _Queued(op, args, asyncio.get_running_loop().create_future())
        self._queue.append(queued)
        if key is not None:
            self._last_of_key[key] = queued
        self._idle.clear()
        self._wakeup.set()
        self._ensure_writer()
        return queued.done

    async def write(self, op: str, **args: Any) -> Written:
        """Queue a write and wait until it is applied or journaled; a failure raises."""
        done = self.post(op, **args)
        for queued in reversed(self._queue):
            if queued.done is done:
                queued.awaited = True
                break
        self._hurry.set()
        return await asyncio.shield(done)

    async def flush(self) -> None:
        """Wait until everything posted so far is in the database or in the journal."""
        while not self._idle.is_set():
            self._hurry.set()
            await self._idle.wait()

    def served_from_memory(self) -> None:
        """A read was answered from memory: say so once per outage."""
        if not self._told_stale:
            self._told_stale = True
            log.warning("database unreachable: services and agents are served as last read")

    def noticed(self, exc: BaseException) -> None:
        """An operation found the database unreachable: journal from now on, and retry."""
        if self.journal is None:
            return
        if not self.down:
            self.down = True
            self._outage_started = time.monotonic()
        self._tell_down(exc)
        self._start_retrying()

    def _tell_down(self, exc: BaseException) -> None:
        """One warning per outage, whoever notices it first."""
        assert self.journal is not None
        if not self._told_down:
            self._told_down = True
            log.warning("database unreachable (%s): calls go on; writes are kept in %s and "
                        "replayed when it is back", _reason(exc), self.journal.path)

    async def start(self) -> None:
        """Open the journal; what a previous run left goes to the database before any new
        write (they queue behind it), replayed in the background."""
        if self.journal is None:
            return
        left = await self.journal.open()
        if not left:
            return
        log.info("journal %s holds %d writes from a previous run: replaying them first",
                 self.journal.path, len(left))
        self.down = True
        self._outage_started = time.monotonic()
        self._start_retrying(first_delay=0.0)

    async def close(self) -> None:
        """Apply (or journal) what is queued, then stop."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 10)
        for attr in ("_writer", "_retry_task"):
            task = getattr(self, attr)
            setattr(self, attr, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._sqlite is not None:
            await self._sqlite.close()

    # -- the writer ----------------------------------------------------------------
    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_forever(), name="database-writer")

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if self.gather_seconds > 0 and not self._hurry.is_set():
                # The window ends when it is over or when someone waits, whichever first
                # (a timer callback: cheaper than wait_for's task, many times a second).
                window = loop.call_later(self.gather_seconds, self._hurry.set)
                await self._hurry.wait()
                window.cancel()
            self._wakeup.clear()
            self._hurry.clear()
            while self._queue:
                batch = self._queue[:self.batch_max]
                for queued in batch:
                    queued.in_flight = True
                try:
                    await self._write_batch(batch)
                except Exception as exc:  # never leave a writer waiting forever
                    log.exception("database writer: a batch failed unexpectedly")
                    for queued in batch:
                        self._fail(queued, exc)
                del self._queue[:len(batch)]
                for key, queued in list(self._last_of_key.items()):
                    if queued.in_flight:
                        del self._last_of_key[key]
            self._idle.set()

    async def _write_batch(self, batch: list[_Queued]) -> None:
        if self.journal is not None and self.down:
            await self._journal(batch)
            return
        try:
            if self._sqlite is not None:
                results = await self._sqlite.apply([(self._ops[q.op].apply, q.args)
                                                    for q in batch])
            else:
                async with self._engine.begin() as connection:
                    await connection.execution_options(**WRITER_OPTIONS)
                    results = [await self._ops[q.op].apply(connection, **q.args)
                               for q in batch]
        except Exception as exc:
            if self.journal is not None and is_unreachable(exc):
                self.noticed(exc)
                await self._journal(batch)
                return
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            for index, queued in enumerate(batch):  # find the write at fault
                if self.journal is not None and self.down:
                    await self._journal(batch[index:])
                    return
                await self._write_batch([queued])
            return
        self.transactions += 1
        self.applied += len(batch)
        for queued, result in zip(batch, results, strict=True):
            self._succeed(queued, Written(True, result))

    async def _journal(self, batch: list[_Queued]) -> None:
        assert self.journal is not None
        entries = await self.journal.append_many([(q.op, q.args) for q in batch])
        for queued, entry in zip(batch, entries, strict=True):
            self._succeed(queued, Written(False, seq=entry.seq))

    def _succeed(self, queued: _Queued, written: Written) -> None:
        for listener in self._listeners:
            try:
                listener(queued.op, queued.args, written)
            except Exception:
                log.exception("listener of %s failed", queued.op)
        if not queued.done.done():
            queued.done.set_result(written)

    def _fail(self, queued: _Queued, exc: BaseException) -> None:
        if not queued.awaited:
            log.error("database write %s failed (%s); not applied: %r", queued.op,
                      _reason(exc), queued.args)
        if not queued.done.done():
            queued.done.set_exception(exc)
            if not queued.awaited:
                queued.done.exception()  # retrieved: the log line above says it

    # -- the journal's replay ----------------------------------------------------------
    def _start_retrying(self, first_delay: float | None = None) -> None:
        if self._retry_task is None or self._retry_task.done():
            delay = self.retry_first if first_delay is None else first_delay
            self._retry_task = asyncio.get_running_loop().create_task(
                self._retry(delay), name="database-retry")

    async def _retry(self, delay: float) -> None:
        while True:
            await asyncio.sleep(delay)
            try:
                await self._replay()
                return
            except Exception as exc:
                if is_unreachable(exc):
                    self._tell_down(exc)
                else:
                    log.exception("journal replay failed; retrying")
            delay = min(max(delay * 2, self.retry_first), self.retry_max)

    async def _replay(self) -> None:
        """Apply the journal in order and empty it; raise if the database is still away."""
        assert self.journal is not None
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        applied = rejected = 0
        while True:
            for entry in [e for e in self.journal.entries if e.seq > self.applied_through]:
                if await self._apply(entry):
                    applied += 1
                else:
                    rejected += 1
                self.applied_through = entry.seq
            if await self.journal.clear_through(self.applied_through):
                break  # else: writes came in meanwhile; they are next
        self.down = False
        self._told_down = self._told_stale = False
        seconds = time.monotonic() - self._outage_started
        if applied or rejected:
            log.info("database reachable again after %.1f s: journal replayed, %d writes "
                     "applied, %d rejected", seconds, applied, rejected)
        else:
            log.info("database reachable again after %.1f s", seconds)
        if self.on_caught_up is not None:
            try:
                await self.on_caught_up()
            except Exception:
                log.exception("after the journal replay: follow-up failed")

    async def _apply(self, entry: Entry) -> bool:
        """One entry; False if the database refused it (kept aside, the replay goes on)."""
        assert self.journal is not None
        operation = self._ops.get(entry.op)
        try:
            if operation is None:
                raise LookupError(f"unknown journal operation {entry.op!r}")
            async with self._engine.begin() as connection:
                await connection.execution_options(**WRITER_OPTIONS)
                await operation.apply(connection, **entry.args)
            return True
        except Exception as exc:
            if is_unreachable(exc):
                raise
            log.error("journal entry %d (%s) refused by the database (%s); kept in %s",
                      entry.seq, entry.op, _reason(exc), self.journal.rejected_path)
            await self.journal.reject(entry, _reason(exc))
            return False


class LastGood:
    """The last answer to each read, served while the database cannot be reached."""

    def __init__(self, writes: WriteBehind | None):
        self._writes = writes
        self._answers: dict[Hashable, Any] = {}

    @property
    def enabled(self) -> bool:
        return self._writes is not None and self._writes.enabled

    async def read(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        writes = self._writes
        if writes is None or not writes.enabled:
            return await fetch()
        if writes.down and key in self._answers:
            writes.served_from_memory()  # no waiting on a database known to be away
            return self._answers[key]
        try:
            value = await fetch()
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            writes.noticed(exc)
            if key not in self._answers:
                raise DatabaseUnavailable(f"database unreachable, nothing known yet for "
                                          f"{key!r}") from exc
            writes.served_from_memory()
            return self._answers[key]
        self._answers[key] = value
        return value

    def remember(self, key: Hashable, value: Any) -> None:
        """Store an answer learnt another way (e.g. a service read by slug, also by id)."""
        if self.enabled:
            self._answers[key] = value

    def revise(self, change: Callable[[Any], Any]) -> None:
        """Apply a change this process made to every remembered answer."""
        self._answers = {key: change(value) for key, value in self._answers.items()}
