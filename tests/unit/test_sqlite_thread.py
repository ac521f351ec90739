"""The plane's writes and frequent reads on an SQLite file, in a thread of their own."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ari_app.agent_book import AgentBook
from ari_app.directory import ServiceDirectory
from ari_app.outage import WriteBehind
from ari_app.records import CallRecords
from ari_app.sqlite_thread import file_database
from models import Agent, Call

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(uru_sessions):
    return uru_sessions


async def _arrived(records: CallRecords, call_id: str) -> None:
    await records.arrived(call_id=call_id, channel_id=call_id, service_id=1, did="800",
                          caller_number="1", caller_name="", at=T0, in_hours=True)


def test_only_an_sqlite_file_gets_the_thread():
    assert file_database(make_url("sqlite+aiosqlite:////var/lib/centralino/centralino.db"))
    assert not file_database(make_url("sqlite+aiosqlite://"))
    assert not file_database(make_url("sqlite+aiosqlite:///:memory:"))
    assert not file_database(make_url("postgresql+asyncpg://centralino@db/centralino"))


async def test_a_call_record_written_in_the_thread_is_what_the_web_reads(sessions):
    writes = WriteBehind(sessions)
    records = CallRecords(sessions, writes)
    await records.arrived(call_id="c1", channel_id="c1", service_id=1, did="800",
                          caller_number='"Rossi" <0461>', caller_name="", at=T0,
                          in_hours=True)
    await records.update("c1", ivr_path="2", topic="cps")
    assert await records.ended("c1", at=T0, hung_up_by="caller", cause=16, outcome="answered")
    assert not await records.ended("c1", at=T0, hung_up_by="caller", cause=16,
                                   outcome="answered")  # closed once
    async with sessions() as session:  # an aiosqlite session, as the pages use
        call = await session.get(Call, "c1")
    assert (call.caller_number, call.ivr_path, call.topic, call.outcome) == (
        '"Rossi" <0461>', "2", "cps", "answered")
    assert writes.transactions >= 1
    await writes.close()


async def test_agents_and_services_read_in_the_thread_see_what_was_written(sessions):
    writes = WriteBehind(sessions)
    agents = AgentBook(sessions, writes)
    await agents.set_state(1, "paused", T0)
    await writes.flush()
    agents.forget_roster()
    assert (await agents.roster())[1].state == "paused"
    assert await agents.wrapup_seconds(1) == 7
    assert (await ServiceDirectory(sessions, writes).get("uru")).name == "URU"
    await writes.close()


async def test_the_roster_is_read_again_only_when_someone_else_wrote_to_the_file(
        sessions, tmp_path):
    writes = WriteBehind(sessions)
    agents = AgentBook(sessions, writes, roster_max_age=0.0)  # stale at every look
    assert (await agents.roster())[1].state == "available"
    await agents.set_state(1, "on_call", T0)  # the calls' own change: known at once
    await writes.flush()
    assert (await agents.roster())[1].state == "on_call"
    assert agents.roster_reads == 1  # nobody else wrote: nothing to read again
    # Another process (the CLI, psql) pauses anna: the next look reads the roster again.
    with contextlib.closing(sqlite3.connect(tmp_path / "centralino.db")) as other:
        other.execute("UPDATE agents SET state = 'paused' WHERE id = 1")
        other.commit()
    assert (await agents.roster())[1].state == "paused"
    assert agents.roster_reads == 2
    await writes.close()


async def test_an_operation_that_waits_on_something_else_is_refused_and_writes_nothing(
        sessions, caplog):
    writes = WriteBehind(sessions)

    async def sleepy(connection, *, name: str) -> None:
        await connection.execute(Agent.__table__.update().values(display_name=name))
        await asyncio.sleep(0)  # not the database: would block the writer's thread

    writes.register("test.sleepy", sleepy)
    with pytest.raises(RuntimeError, match="awaited something other than the database"):
        await writes.write("test.sleepy", name="Anna")
    async with sessions() as session:
        assert await session.scalar(select(Agent.display_name)) != "Anna"
    await writes.close()


async def test_the_thread_is_let_go_on_close_and_taken_again_on_the_next_write(sessions):
    writes = WriteBehind(sessions)
    records = CallRecords(sessions, writes)
    await _arrived(records, "c2")
    await records.flush()
    assert any(t.name.startswith("sqlite") for t in threading.enumerate())
    await writes.close()
    await asyncio.sleep(0.05)
    assert not any(t.name.startswith("sqlite") and t.is_alive()
                   for t in threading.enumerate())
    await records.update("c2", topic="geo")
    await records.flush()
    async with sessions() as session:
        assert (await session.get(Call, "c2")).topic == "geo"
    await writes.close()


async def test_writes_gather_into_one_transaction_and_a_reader_never_waits_the_window(sessions):
    writes = WriteBehind(sessions, gather_seconds=30.0)
    records = CallRecords(sessions, writes)
    await _arrived(records, "c3")
    await records.update("c3", topic="cps")
    await asyncio.sleep(0.05)
    assert writes.transactions == 0  # still gathering
    await asyncio.wait_for(records.flush(), 5)  # someone waits: written now, not in 30 s
    assert (writes.transactions, writes.applied) == (1, 2)
    await writes.close()


async def test_gathered_writes_are_written_when_the_window_ends_with_nobody_waiting(sessions):
    writes = WriteBehind(sessions, gather_seconds=0.05)
    records = CallRecords(sessions, writes)
    await _arrived(records, "c4")
    for _ in range(100):
        if writes.applied:
            break
        await asyncio.sleep(0.02)
    async with sessions() as session:
        assert (await session.get(Call, "c4")) is not None
    await writes.close()
