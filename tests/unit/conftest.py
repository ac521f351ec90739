"""Fixtures shared by the unit tests that need a real (SQLite file) database."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Agent, Base, Queue, Service, agent_services
from models.db import create_engine, session_factory


@pytest.fixture
async def uru_sessions(tmp_path: Path):
    """Sessions on a fresh SQLite file holding one service (uru, its queue with a 7 s
    wrap-up) and one available agent (anna) who answers it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session:
        service = Service(slug="uru", name="URU")
        service.queues.append(Queue(slug="uru", name="URU", wrapup_seconds=7))
        session.add_all([service, Agent(username="anna", sip_ha1="0" * 32, state="available")])
        await session.flush()
        await session.execute(agent_services.insert().values(agent_id=1, service_id=1))
        await session.commit()
    yield sessions
    await engine.dispose()
