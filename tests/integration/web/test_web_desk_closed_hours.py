"""The desk's "arrived while closed" filter over HTTP, on both databases.

The desk's clock is fixed on Tuesday 3 June 2031 at 09:00 in Rome, the day after
the Festa della Repubblica (Monday 2 June): the agent who starts that morning
must see what arrived from Friday's closing at 17:00 to Tuesday's opening at
08:00, and nothing from before or after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from centralino.agents import add_agent
from centralino.services import set_mode, voicemail_worklist
from centralino.web.auth import add_user
from models import Call, Service, ServiceWindow, Voicemail
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, browser_at

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2031, 6, 3, 9, 0, tzinfo=ROME)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.fixture
async def desk(web_db: WebDb) -> AsyncIterator[Browser]:
    async with browser_at(web_db, NOW) as browser:
        yield browser


async def office(web_db: WebDb, opens: time = time(8), closes: time = time(17)) -> Service:
    """A service of this test, open Monday to Friday."""
    slug = f"chi-{uuid.uuid4().hex[:8]}"
    async with web_db.sessions() as session:
        service = Service(slug=slug, name=f"Sportello {slug}", windows=[
            ServiceWindow(weekday=d, opens=opens, closes=closes) for d in range(5)])
        session.add(service)
        await session.commit()
        return service


async def desk_agent(desk: Browser, web_db: WebDb, service: Service) -> None:
    name = f"{service.slug}-op"
    await add_agent(web_db.sessions, name, "Segreto-2026", services=[service.slug])
    await add_user(web_db.sessions, f"{name}-web", "agent", PASSWORD, agent=name)
    assert (await desk.login(f"{name}-web")).status == 303


async def message(web_db: WebDb, service: Service, caller: str, at: datetime,
                  handled: bool = False) -> None:
    async with web_db.sessions() as session:
        session.add(Voicemail(service_id=service.id, caller_number=caller, recorded_at=at,
                              audio_path="recording/x.wav", reason="out_of_hours",
                              callback_requested=True,
                              handled_at=at + timedelta(hours=1) if handled else None))
        await session.commit()


async def abandoned_call(web_db: WebDb, service: Service, caller: str, at: datetime) -> None:
    call_id = str(uuid.uuid4())
    async with web_db.sessions() as session:
        session.add(Call(id=call_id, service_id=service.id, did="0461000000",
                         caller_number=caller, channel_id=f"ch-{call_id}", arrived_at=at,
                         queue_entered_at=at + timedelta(seconds=20),
                         ended_at=at + timedelta(seconds=50), outcome="abandoned"))
        await session.commit()


async def test_given_long_weekend_when_filter_chosen_then_only_what_arrived_while_closed(
        desk: Browser, web_db: WebDb):
    service = await office(web_db)
    await message(web_db, service, "0461000101", rome(2031, 5, 29, 20, 0))  # Thursday night
    await message(web_db, service, "0461000102", rome(2031, 5, 30, 16, 30))  # Friday, open
    await message(web_db, service, "0461000103", rome(2031, 5, 31, 10, 0))  # Saturday
    await message(web_db, service, "0461000104", rome(2031, 6, 2, 11, 0))  # the holiday
    await message(web_db, service, "0461000105", rome(2031, 6, 1, 9, 0), handled=True)
    await message(web_db, service, "0461000106", rome(2031, 6, 3, 8, 30))  # open again
    await abandoned_call(web_db, service, "0461000107", rome(2031, 5, 30, 17, 0))  # closing
    await abandoned_call(web_db, service, "0461000108", rome(2031, 6, 3, 8, 45))
    await desk_agent(desk, web_db, service)

    everything = await (await desk.get("/agente")).text()
    for caller in ("0461000101", "0461000102", "0461000103", "0461000104", "0461000106",
                   "0461000107", "0461000108"):
        assert caller in everything
    assert 'href="/agente?filtro=chiusura"' in everything

    page = await desk.get("/agente?filtro=chiusura")
    closed = await page.text()
    assert page.status == 200
    assert "chiuso dal 30/05/2031 17:00 al 03/06/2031 08:00" in closed
    assert {c for c in ("0461000101", "0461000102", "0461000103", "0461000104",
                        "0461000105", "0461000106", "0461000107", "0461000108")
            if c in closed} == {"0461000103", "0461000104", "0461000107"}
    assert 'href="/agente">' in closed  # back to the whole worklist

    # The command line's worklist answers the same.
    items = await voicemail_worklist(web_db.sessions, service.slug, closed_until=NOW)
    assert [i.caller_number for i in items] == ["0461000103", "0461000104"]


async def test_given_crisis_mode_since_saturday_then_only_friday_night_to_saturday(
        desk: Browser, web_db: WebDb):
    service = await office(web_db)
    # Forced open 24/7: set_mode stamps when; the stamp is moved to Saturday 10:00.
    await set_mode(web_db.sessions, service.slug, "open")
    async with web_db.sessions() as session:
        stamped = await session.scalar(select(Service.mode_since)
                                       .where(Service.id == service.id))
        assert stamped is not None and abs(datetime.now(UTC) - stamped) < timedelta(minutes=1)
        await session.execute(update(Service).where(Service.id == service.id)
                              .values(mode_since=rome(2031, 5, 31, 10, 0)))
        await session.commit()
    await message(web_db, service, "0461000201", rome(2031, 5, 31, 9, 0))  # still closed
    await message(web_db, service, "0461000202", rome(2031, 5, 31, 11, 0))  # crisis: open
    await desk_agent(desk, web_db, service)
    closed = await (await desk.get("/agente?filtro=chiusura")).text()
    assert "chiuso dal 30/05/2031 17:00 al 31/05/2031 10:00" in closed
    assert "0461000201" in closed and "0461000202" not in closed


async def test_given_unknown_filter_then_whole_worklist_and_nothing_lost(
        desk: Browser, web_db: WebDb):
    service = await office(web_db)
    await message(web_db, service, "0461000301", rome(2031, 6, 3, 8, 30))
    await desk_agent(desk, web_db, service)
    page = await desk.get("/agente?filtro=%3Cscript%3E")
    text = await page.text()
    assert page.status == 200 and "0461000301" in text and "<script>" not in text
