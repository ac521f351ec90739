"""Async engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

#: Seconds to wait for a PostgreSQL connection: a server that is away is noticed
#: quickly, and the control plane journals its writes instead of holding calls.
CONNECT_TIMEOUT = 5.0


def create_engine(url: str, *, echo: bool = False,
                  command_timeout: float | None = None) -> AsyncEngine:
    """Create the engine; SQLite gets foreign keys and WAL so readers never block the writer.

    ``command_timeout`` (PostgreSQL) bounds every statement, so that a server that
    stopped answering without closing its connections is noticed too.
    """
    parsed = make_url(url)
    kwargs: dict[str, object] = {"echo": echo, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs.pop("pool_pre_ping")
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_driver_name() == "asyncpg":
        connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT}
        if command_timeout is not None:
            connect_args["command_timeout"] = command_timeout
        kwargs["connect_args"] = connect_args
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_sqlite_engine(url: URL) -> Engine:
    """A plain (pysqlite) engine on the same file, set up as the async one: for the
    write-behind's own thread (:mod:`ari_app.sqlite_writer`)."""
    engine = create_sync_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on; WAL, so readers never block the writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
