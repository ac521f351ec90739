"""Databases with services, agents and call records made up for the SLA tests.

Each test creates services with their own slugs, so records of other tests that
share the session's database never enter its figures.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.config import Settings
from centralino.runtime import prepare_database
from centralino.sla.figures import CallFacts
from models import Agent, Call, Service


@pytest.fixture(scope="session")
async def sla_database(database_url: str, test_settings: Settings
                       ) -> AsyncIterator[tuple[Settings, async_sessionmaker]]:
    settings = test_settings.with_overrides(database_url=database_url)
    engine, sessions = await prepare_database(settings)
    yield settings, sessions
    await engine.dispose()


async def new_service(sessions: async_sessionmaker, **targets: object) -> Service:
    slug = f"sla-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        service = Service(slug=slug, name=f"Servizio {slug}", **targets)
        session.add(service)
        await session.commit()
        return service


async def new_agent(sessions: async_sessionmaker) -> Agent:
    async with sessions() as session:
        agent = Agent(username=f"op{uuid.uuid4().hex[:8]}", sip_ha1="0" * 32)
        session.add(agent)
        await session.commit()
        return agent


async def insert_calls(sessions: async_sessionmaker, service_id: int,
                       calls: Iterable[CallFacts]) -> None:
    async with sessions() as session:
        for facts in calls:
            call_id = uuid.uuid4().hex
            session.add(Call(id=call_id, service_id=service_id, did="800264760",
                             channel_id=call_id, **asdict(facts)))
        await session.commit()
