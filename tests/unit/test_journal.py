"""The write-behind journal: order, idempotent replay, restarts, torn writes, real bugs.

The database is a SQLite file; "unreachable" is a session factory that refuses
connections the way asyncpg does when the server is gone, so these tests run
the real records and agent book code without a server to stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from ari_app.agent_book import AgentBook
from ari_app.directory import ServiceDirectory
from ari_app.journal import Entry, Journal, dumps
from ari_app.outage import DatabaseUnavailable, WriteBehind, is_unreachable
from ari_app.records import CallRecords
from models import Agent, Call, CallOffer, Voicemail

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Database:
    """Sessions of a real (SQLite) database that can be made to refuse connections."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.away = False
        #: The writer's side: it takes Core connections from the engine (``kw["bind"]``).
        self.kw = {"bind": _Engine(self)}

    def __call__(self):
        return _Refused() if self.away else self.sessions()


class _Engine:
    """The engine behind ``Database``, refusing connections while it is away."""

    def __init__(self, database: Database):
        self._database = database

    def begin(self):
        database = self._database
        return _Refused() if database.away else database.sessions.kw["bind"].begin()

    def connect(self):
        database = self._database
        return _Refused() if database.away else database.sessions.kw["bind"].connect()


class _Refused:
    async def __aenter__(self):
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    async def __aexit__(self, *exc):
        return False


@pytest.fixture
def database(uru_sessions):
    return Database(uru_sessions)


class Plane:
    """What the control plane builds: one write-behind shared by records and agents."""

    def __init__(self, database: Database, journal_path: Path, **retry):
        self.writes = WriteBehind(database, Journal(journal_path), **retry)
        self.records = CallRecords(database, self.writes)
        self.agents = AgentBook(database, self.writes)
        self.directory = ServiceDirectory(database, self.writes)

    async def caught_up(self, timeout: float = 5.0) -> None:
        for _ in range(int(timeout / 0.01)):
            if self.writes.caught_up:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the journal was not replayed")


async def a_whole_call(plane: Plane, call_id: str = "call-1") -> None:
    """The writes of a call answered by agent 1, in the order the flow makes them."""
    records, agents = plane.records, plane.agents
    await records.arrived(call_id=call_id, channel_id=f"chan-{call_id}", service_id=1,
                          did="0461800133", caller_number="0461000200", caller_name="",
                          at=T0, in_hours=None)
    await records.update(call_id, pbx_answered_at=T0 + timedelta(seconds=1), in_hours=True)
    await records.update(call_id, queue_entered_at=T0 + timedelta(seconds=5), queue_id=1)
    await agents.offer_started(call_id, 1, f"{call_id}-a1", T0 + timedelta(seconds=6))
    await agents.offer_ended(f"{call_id}-a1", T0 + timedelta(seconds=8), "answered")
    await agents.set_state(1, "on_call", T0 + timedelta(seconds=8))
    await records.update(call_id, answered_at=T0 + timedelta(seconds=8), agent_id=1,
                         queue_exit="answered", flow_state="connected")
    await agents.set_state(1, "wrapup", T0 + timedelta(seconds=60), only_if=("on_call",))
    await records.ended(call_id, at=T0 + timedelta(seconds=60), hung_up_by="caller",
                        cause=16, outcome="answered")


async def rows(database: Database, model) -> list:
    async with database.sessions() as session:
        return list((await session.scalars(select(model))).all())


async def agent_state(database: Database) -> str:
    async with database.sessions() as session:
        return await session.scalar(select(Agent.state).where(Agent.id == 1))


def journal_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_given_database_away_then_each_write_is_journaled_in_order_and_the_call_goes_on(
        database, tmp_path, caplog):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=60)
    database.away = True
    with caplog.at_level(logging.WARNING, logger="ari_app.outage"):
        await a_whole_call(plane)
    lines = journal_lines(tmp_path / "j.jsonl")
    assert [line["seq"] for line in lines] == list(range(1, 8))
    # The record's updates, queued together, became one write (the latest value wins).
    assert [line["op"] for line in lines] == [
        "calls.arrived", "calls.update", "agents.offer_started", "agents.offer_ended",
        "agents.set_state", "agents.set_state", "calls.ended"]
    assert lines[0]["args"]["at"] == {"$dt": T0.isoformat()}
    assert set(lines[1]["args"]["fields"]) == {
        "pbx_answered_at", "in_hours", "queue_entered_at", "queue_id", "answered_at",
        "agent_id", "queue_exit", "flow_state"}
    went_away = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert len(went_away) == 1  # one warning, not one per write
    await plane.writes.close()


async def test_given_journal_replayed_when_database_is_back_then_the_record_is_complete(
        database, tmp_path, caplog):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=0.01)
    database.away = True
    await a_whole_call(plane)
    assert await rows(database, Call) == []
    database.away = False
    with caplog.at_level(logging.INFO, logger="ari_app.outage"):
        await plane.caught_up()
    [call] = await rows(database, Call)
    assert call.outcome == "answered" and call.ended_at == T0 + timedelta(seconds=60)
    assert call.queue_exit == "answered" and call.answered_at is not None
    [offer] = await rows(database, CallOffer)
    assert offer.channel_id == "call-1-a1" and offer.result == "answered"
    assert await agent_state(database) == "wrapup"
    assert (tmp_path / "j.jsonl").read_text() == ""
    assert any("7 writes applied, 0 rejected" in r.getMessage() for r in caplog.records)
    await plane.writes.close()


async def test_given_journal_not_empty_then_later_writes_queue_behind_it_even_if_db_is_back(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=60)
    database.away = True
    await plane.records.arrived(call_id="c2", channel_id="ch2", service_id=1, did="1",
                                caller_number="", caller_name="", at=T0, in_hours=True)
    await plane.writes.flush()  # the writer found the database away: journaled
    database.away = False  # back, but the retry has not run yet
    await plane.records.ended("c2", at=T0 + timedelta(seconds=3), hung_up_by="caller",
                              cause=16, outcome="hangup_before_queue")
    # The end did not overtake the arrival: it waits in the journal behind it.
    assert await rows(database, Call) == []
    assert [line["op"] for line in journal_lines(tmp_path / "j.jsonl")] == [
        "calls.arrived", "calls.ended"]
    await plane.writes.close()
    plane = Plane(database, tmp_path / "j.jsonl")
    await plane.writes.start()
    await plane.caught_up()
    [call] = await rows(database, Call)
    assert call.outcome == "hangup_before_queue"


async def test_given_replay_interrupted_before_truncation_then_replaying_again_changes_nothing(
        database, tmp_path):
    path = tmp_path / "j.jsonl"
    plane = Plane(database, path, retry_first=60)
    database.away = True
    await a_whole_call(plane)
    await plane.records.voicemail(call_id="call-1", service_id=1, recording="voicemail-call-1",
                                  duration=4, at=T0 + timedelta(seconds=61), reason="no_agents",
                                  callback_requested=True)
    written = path.read_bytes()
    await plane.writes.close()
    database.away = False
    first = Plane(database, path)
    await first.writes.start()
    await first.caught_up()
    path.write_bytes(written)  # as if the process died between replay and truncation
    again = Plane(database, path)
    await again.writes.start()
    await again.caught_up()
    [call] = await rows(database, Call)
    assert call.ended_at == T0 + timedelta(seconds=60) and call.outcome == "answered"
    assert len(await rows(database, CallOffer)) == 1
    assert len(await rows(database, Voicemail)) == 1
    assert await agent_state(database) == "wrapup"
    assert path.read_text() == ""


async def test_given_restart_while_database_still_away_then_journal_is_kept_and_replayed_later(
        database, tmp_path, caplog):
    path = tmp_path / "j.jsonl"
    plane = Plane(database, path, retry_first=60)
    database.away = True
    await a_whole_call(plane, "before-restart")
    await plane.writes.close()
    # Restarted, the database still away: nothing is lost, the new run queues behind.
    restarted = Plane(database, path, retry_first=0.01)
    with caplog.at_level(logging.INFO, logger="ari_app.outage"):
        await restarted.writes.start()
        assert restarted.writes.pending == 7
        await a_whole_call(restarted, "after-restart")
        assert [line["seq"] for line in journal_lines(path)] == list(range(1, 15))
        database.away = False
        await restarted.caught_up()
    assert sorted(c.id for c in await rows(database, Call)) == ["after-restart",
                                                                 "before-restart"]
    assert all(c.outcome == "answered" for c in await rows(database, Call))
    assert len(await rows(database, CallOffer)) == 2
    assert any("14 writes applied" in r.getMessage() for r in caplog.records)
    await restarted.writes.close()


async def test_given_torn_last_line_then_it_is_skipped_with_a_warning_and_the_rest_kept(
        tmp_path, caplog):
    path = tmp_path / "j.jsonl"
    good = [Entry(1, "calls.update", {"call_id": "c", "fields": {"at": T0}}),
            Entry(2, "calls.update", {"call_id": "c", "fields": {"topic": "cps"}})]
    path.write_bytes(b"".join(dumps(e) for e in good) + b'{"seq":3,"op":"calls.en')
    journal = Journal(path)
    with caplog.at_level(logging.WARNING, logger="ari_app.journal"):
        assert await journal.open() == good
    assert any("incomplete last line" in r.getMessage() for r in caplog.records)
    appended = await journal.append("calls.update", {"call_id": "c", "fields": {}})
    assert appended.seq == 3
    assert await Journal(path).open() == [*good, appended]  # the next line starts clean


async def test_given_unreadable_line_in_the_middle_then_it_is_set_aside_not_replayed(tmp_path):
    path = tmp_path / "j.jsonl"
    first, last = Entry(1, "calls.update", {"call_id": "c", "fields": {}}), \
        Entry(3, "calls.update", {"call_id": "c", "fields": {}})
    path.write_bytes(dumps(first) + b"garbage\n" + dumps(last))
    journal = Journal(path)
    assert await journal.open() == [first, last]
    assert b"garbage" in journal.rejected_path.read_bytes()


async def test_given_a_write_the_database_refuses_then_it_raises_and_is_not_journaled(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl")
    await plane.records.arrived(call_id="c3", channel_id="ch3", service_id=1, did="1",
                                caller_number="", caller_name="", at=T0, in_hours=True)
    with pytest.raises(IntegrityError):  # a bug: an outcome the schema does not know
        await plane.records.ended("c3", at=T0, hung_up_by="caller", cause=16,
                                  outcome="lost-in-space")
    assert not (tmp_path / "j.jsonl").exists() or (tmp_path / "j.jsonl").read_text() == ""
    assert plane.writes.caught_up


async def test_given_an_entry_refused_at_replay_then_it_is_set_aside_and_the_rest_applied(
        database, tmp_path):
    path = tmp_path / "j.jsonl"
    plane = Plane(database, path, retry_first=60)
    database.away = True
    await plane.records.arrived(call_id="c4", channel_id="ch4", service_id=1, did="1",
                                caller_number="", caller_name="", at=T0, in_hours=True)
    await plane.records.update("c4", outcome="lost-in-space")
    await plane.records.ended("c4", at=T0, hung_up_by="caller", cause=16, outcome="failed")
    await plane.writes.close()
    database.away = False
    restarted = Plane(database, path)
    await restarted.writes.start()
    await restarted.caught_up()
    [call] = await rows(database, Call)
    assert call.outcome == "failed"
    [refused] = journal_lines(restarted.writes.journal.rejected_path)
    assert refused["seq"] == 2 and "IntegrityError" in refused["reason"]


async def test_given_no_journal_as_with_sqlite_then_an_unreachable_database_is_reported(
        database, caplog):
    records = CallRecords(database)
    database.away = True
    with caplog.at_level(logging.ERROR, logger="ari_app.outage"):
        await records.update("c5", topic="x")  # posted: the call goes on
        await records.flush()
    [failed] = [r.getMessage() for r in caplog.records]
    assert "calls.update failed" in failed and "'topic': 'x'" in failed  # said, with content
    with pytest.raises(ConnectionRefusedError):  # who waits for a write hears of it
        await records.ended("c5", at=T0, hung_up_by="caller", cause=16, outcome="failed")
    with pytest.raises(ConnectionRefusedError):
        await ServiceDirectory(database).get("uru")


async def test_given_database_away_then_reads_answer_as_last_read_with_our_own_changes(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=60)
    service = await plane.directory.get("uru")
    [anna] = await plane.agents.of_service(1)
    assert anna.state == "available"
    assert await plane.agents.wrapup_seconds(1) == 7
    database.away = True
    assert await plane.directory.get("uru") == service
    assert await plane.directory.get_by_id(service.id) == service  # learnt through the slug
    await plane.agents.offer_started("c6", 1, "c6-a1", T0)
    [anna] = await plane.agents.of_service(1)
    assert anna.state == "ringing"  # not "available": the journaled change is applied
    await plane.agents.set_state(1, "on_call", T0)
    await plane.agents.set_state(1, "available", T0, only_if=("ringing",))  # guard holds
    assert [a.state for a in await plane.agents.of_service(1)] == ["on_call"]
    assert await plane.agents.wrapup_seconds(1) == 7
    with pytest.raises(DatabaseUnavailable):
        await plane.directory.get("apiae")  # never read: nothing to fall back on
    with pytest.raises(DatabaseUnavailable):
        await plane.records.open_calls()
    await plane.writes.close()


async def test_given_database_back_with_journal_pending_then_fresh_reads_include_it(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=60)
    database.away = True
    await plane.agents.set_state(1, "paused", T0)
    await plane.writes.flush()  # journaled
    database.away = False
    plane.writes.down = False  # as if reads found it back before the replay ran
    assert [a.state for a in await plane.agents.of_service(1)] == ["paused"]
    assert await agent_state(database) == "available"
    await plane.writes.close()


class _Driver(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("exc", "unreachable"), [
    (ConnectionRefusedError(111, "refused"), True),
    (TimeoutError(), True),
    (OSError(113, "no route to host"), True),
    (DBAPIError("SELECT 1", {}, _Driver("08003"), connection_invalidated=True), True),
    (DBAPIError("SELECT 1", {}, _Driver("08006")), True),
    (DBAPIError("SELECT 1", {}, _Driver("57P01")), True),   # admin shutdown
    (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
    (IntegrityError("INSERT", {}, _Driver("23505")), False),
    (ProgrammingError("SELECT", {}, _Driver("42P01")), False),
    (DBAPIError("SELECT 1/0", {}, _Driver("22012")), False),
    (ValueError("naive datetime"), False),
    (KeyError("flow_state"), False),
])
def test_what_counts_as_an_unreachable_database(exc, unreachable):
    assert is_unreachable(exc) is unreachable
