"""The control plane's own reads and writes on SQLite, run in one thread of their own.

aiosqlite hands every cursor, statement, commit and rollback to its thread and
back, a few thread switches each. A call makes about eleven writes and the
control plane reads its agents and services several times a second, so on an
SQLite file the write-behind's batches and those frequent reads go to one
thread, once each, and run there on a plain (pysqlite) connection: a call's
ten record writes and one read of the agents cost 16.5 ms of CPU through
aiosqlite and 5.9 ms this way, each write its own transaction
(``bench/sqlite_statements.py``). The web pages and the command line keep
their async sessions.

The reads and writes are coroutines written against an async connection or
session (PostgreSQL goes on running them as they are); here they get a stand-in
whose methods never suspend, so each coroutine runs to its end in one step. One
that awaited anything else would be a bug: it is refused loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session

from ari_app.plain_statements import PlainStatements, run_plain
from models.db import create_sync_sqlite_engine

T = TypeVar("T")
Apply = Callable[..., Awaitable[Any]]


class SyncDatabase:
    """What the plane's reads and writes use of an async connection or session.

    On a connection (the writer's), plain INSERTs and UPDATEs run on the cursor
    (:mod:`ari_app.plain_statements`)."""

    def __init__(self, target: Connection | Session, plain: PlainStatements | None = None):
        self._target = target
        self.dialect = (target.dialect if isinstance(target, Connection)
                        else target.get_bind().dialect)
        self._plain = plain if isinstance(target, Connection) else None
        self._cursor: Any = None

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if self._plain is not None and type(parameters) is dict:
            compiled = self._plain.compiled(statement, parameters)
            if compiled is not None:
                connection = self._target
                assert isinstance(connection, Connection)
                if self._cursor is None:
                    self._cursor = connection.connection.dbapi_connection.cursor()
                return run_plain(connection, compiled, parameters, self._cursor)
        return self._target.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._target.scalar(statement, parameters)

    async def scalars(self, statement: Any, parameters: Any = None) -> Any:
        return self._target.scalars(statement, parameters)


def run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends; return what it returns."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a database read or write awaited something other than the database")


def file_database(url: URL) -> bool:
    """Whether ``url`` is an SQLite file (an in-memory database is per connection)."""
    database = str(url.database or "")
    return (url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
            and not database.startswith("file::memory:"))


class SqliteThread:
    """Runs batches of writes (one transaction each) and reads, in order, in one thread."""

    def __init__(self, url: URL, writer_options: dict[str, Any]):
        self._url = url.set(drivername="sqlite")
        self._writer_options = writer_options
        self._executor: ThreadPoolExecutor | None = None
        #: Made in the thread, so that its connections never change threads.
        self._engine: Engine | None = None
        self._plain: PlainStatements | None = None

    async def _run(self, work: Callable[[Engine], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        return await asyncio.get_running_loop().run_in_executor(self._executor,
                                                                self._in_thread, work)

    def _in_thread(self, work: Callable[[Engine], T]) -> T:
        if self._engine is None:
            self._engine = create_sync_sqlite_engine(self._url)
            self._plain = PlainStatements(self._engine.dialect)
        return work(self._engine)

    async def apply(self, batch: Sequence[tuple[Apply, dict[str, Any]]]) -> list[Any]:
        """Apply the writes in one transaction; return their results in order."""
        def work(engine: Engine) -> list[Any]:
            with engine.begin() as connection:
                database = SyncDatabase(connection.execution_options(**self._writer_options),
                                        self._plain)
                return [run_to_end(apply(database, **args)) for apply, args in batch]
        return await self._run(work)

    async def read(self, fetch: Callable[[Any], Awaitable[T]]) -> T:
        """``fetch(session)`` on a plain session of its own (nothing is committed)."""
        def work(engine: Engine) -> T:
            with Session(engine) as session:
                return run_to_end(fetch(SyncDatabase(session)))  # type: ignore[arg-type]
        return await self._run(work)

    async def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` on the thread's connection: it moves when
        another connection (another process, the web pages' sessions) commits to the
        file, and not for the commits made here."""
        def work(engine: Engine) -> int:
            with engine.connect() as connection:
                return int(connection.exec_driver_sql("PRAGMA data_version").scalar_one())
        return await self._run(work)

    async def close(self) -> None:
        """Let go of the file and the thread (the next read or write starts them again)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._dispose)
            executor.shutdown(wait=False)

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
