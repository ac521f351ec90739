"""What the ``centralino`` subcommands share: running database work from a click command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.config import Settings

T = TypeVar("T")


def with_database(settings: Settings, work: Callable[[async_sessionmaker], Awaitable[T]]) -> T:
    """Run ``work`` with a migrated, seeded database, then close it."""
    async def go() -> T:
        from centralino.runtime import prepare_database

        engine, sessions = await prepare_database(settings)
        try:
            return await work(sessions)
        finally:
            await engine.dispose()

    return asyncio.run(go())
