"""The data model on both supported databases: migrations, seed, and what they refuse."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from centralino import database
from centralino.config import load_settings
from centralino.seed import SERVICES, seed
from models import Call, Menu, Queue, Service, ServiceDid
from models.db import create_engine, session_factory

EXPECTED_DIDS = {
    "agenzia-lavoro": {"800264760"},
    "motorizzazione": {"0461492006", "0461492002"},
    "apiae": {"0461497300"},
    "valutazione-ambientale": {"0461493704"},
    "trentino-digitale": {"800228040"},
    "uru": {"0461800133"},
    "protezione-civile": {"800840840"},
}


@pytest.fixture(scope="session")
async def sessions(database_url):
    url = load_settings(None, {"CENTRALINO_DATABASE_URL": database_url},
                        default_file=None).effective_database_url
    await asyncio.to_thread(database.upgrade, url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


async def test_migrations_create_every_table(sessions):
    async with sessions() as session:
        conn = await session.connection()
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"services", "service_dids", "service_windows", "closures", "prompts", "notices",
            "menus", "menu_options", "queues", "agents", "agent_skills", "agent_services",
            "calls", "call_offers", "voicemails", "alembic_version"} <= tables


async def test_seed_creates_the_tender_services_once(sessions):
    async with sessions() as session:
        await seed(session)
    async with sessions() as session:
        assert await seed(session) == []  # second run: nothing new
        rows = (await session.execute(select(Service.slug, ServiceDid.did).join(
            ServiceDid, ServiceDid.service_id == Service.id))).all()
    found: dict[str, set[str]] = {}
    for slug, did in rows:
        found.setdefault(slug, set()).add(did)
    assert found == EXPECTED_DIDS
    assert len(SERVICES) == len(EXPECTED_DIDS)


async def test_seed_keeps_admin_changes(sessions):
    async with sessions() as session:
        await seed(session)
        service = await session.scalar(select(Service).where(Service.slug == "uru"))
        service.name = "URU (renamed by an admin)"
        await session.commit()
    async with sessions() as session:
        await seed(session)
        name = await session.scalar(select(Service.name).where(Service.slug == "uru"))
    assert name == "URU (renamed by an admin)"


async def test_seeded_menus_match_the_tender(sessions):
    async with sessions() as session:
        await seed(session)
        menus = (await session.scalars(select(Menu).join(Service).where(
            Service.slug.in_(["apiae", "trentino-digitale"])))).all()
        by_service = {}
        for menu in menus:
            await session.refresh(menu, ["options"])
            slug = await session.scalar(select(Service.slug).where(Service.id == menu.service_id))
            by_service[slug] = {o.digit: (o.action, o.skill) for o in menu.options}
        appointments = await session.scalar(select(func.count()).select_from(Queue).where(
            Queue.slug == "apiae-appuntamenti"))
    assert by_service["apiae"] == {"1": ("message", None), "2": ("queue", None)}
    assert set(by_service["trentino-digitale"]) == {"1", "2", "3", "4"}
    assert by_service["trentino-digitale"]["1"] == ("queue", "cps")
    assert appointments == 1


async def test_timestamps_come_back_aware_and_in_utc(sessions):
    rome_time = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    async with sessions() as session:
        session.add(Call(id="tz-check", did="0461497300", channel_id="x", arrived_at=rome_time))
        await session.commit()
    async with sessions() as session:
        call = await session.get(Call, "tz-check")
    assert call.arrived_at == rome_time
    assert call.arrived_at.tzinfo is not None
    assert call.arrived_at.utcoffset() == timedelta(0)


async def test_an_unknown_outcome_is_refused_by_the_database(sessions):
    async with sessions() as session:
        session.add(Call(id="bad-outcome", did="1", channel_id="y",
                         arrived_at=datetime.now(UTC), outcome="lost-somewhere"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_config_version_moves_with_every_configuration_change_and_not_with_calls(
        sessions):
    """The control plane keeps a service until this counter moves: every way of changing
    what callers hear must move it (here: plain SQL, as an operator or another tool would),
    and the calls' own writes must not (or nothing would ever be kept)."""
    from ari_app.directory import ServiceDirectory
    from models import ConfigVersion, Notice, Prompt

    async def version() -> int:
        async with sessions() as session:
            return await session.scalar(select(ConfigVersion.version))

    async with sessions() as session:  # a service of its own: the database is shared
        service = Service(slug="versione", name="Prova versione")
        service.queues.append(Queue(slug="versione", name="Prova versione"))
        session.add(service)
        await session.flush()
        session.add(Prompt(service_id=service.id, kind="welcome", text="Benvenuti",
                           sound="versione-welcome"))
        await session.commit()
        service_id = service.id
    directory = ServiceDirectory(sessions)
    before = await directory.get("versione")
    assert before is not None and before.calendar.mode == "auto"
    start = await version()
    async with sessions() as session:
        session.add(Call(id="v-1", did="0461800133", channel_id="v-1",
                         arrived_at=datetime.now(UTC), ended_at=datetime.now(UTC)))
        await session.commit()
    assert await version() == start  # a call is not a configuration change
    assert await directory.get("versione") is before  # kept: nothing changed
    async with sessions() as session:
        await session.execute(Service.__table__.update().where(Service.slug == "versione")
                              .values(mode="closed"))
        await session.commit()
    assert await version() > start
    assert (await directory.get("versione")).calendar.mode == "closed"  # next call sees it
    moved = await version()
    async with sessions() as session:
        session.add(Notice(service_id=service_id, text="Avviso", sound="versione-avviso",
                           valid_from=datetime(2026, 1, 1).date(),
                           valid_until=datetime(2026, 12, 31).date()))
        await session.commit()
    assert await version() > moved
    assert (await directory.get("versione")).notices_on(datetime(2026, 6, 1).date()) == [
        "versione-avviso"]
    moved = await version()
    assert (await directory.get("versione")).sounds == {"welcome": "versione-welcome"}
    async with sessions() as session:
        await session.execute(Prompt.__table__.delete().where(Prompt.service_id == service_id))
        await session.commit()
    assert await version() > moved
    assert (await directory.get("versione")).sounds == {}
