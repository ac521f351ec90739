"""The writer's INSERTs and UPDATEs run on the cursor: what lands in the file is what
SQLAlchemy's own execute would have written, and anything else still goes through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import sqlite

from ari_app.agent_book import AgentBook, _state_statement
from ari_app.outage import WriteBehind
from ari_app.plain_statements import PlainStatements
from ari_app.records import _END, CallRecords, _update_statement
from models import Agent, Call

ROME = timezone(timedelta(hours=1))
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)


@pytest.fixture
def sessions(uru_sessions):
    return uru_sessions


async def test_a_record_written_on_the_cursor_reads_back_as_sqlalchemy_writes_it(sessions):
    writes = WriteBehind(sessions)  # on an SQLite file: the plane's own thread
    records = CallRecords(sessions, writes)
    await records.arrived(call_id="c1", channel_id="c1", service_id=1, did="800228040",
                          caller_number='"Rossi" <0461|\'x\'>', caller_name="Ros'si", at=T0,
                          in_hours=True)
    await records.update("c1", pbx_answered_at=T0 + timedelta(seconds=1), in_hours=False,
                         ivr_path="1", topic=None)
    assert await records.ended("c1", at=T0 + timedelta(minutes=2), hung_up_by="caller",
                               cause=16, outcome="answered")
    assert not await records.ended("c1", at=T0, hung_up_by="agent", cause=16,
                                   outcome="abandoned")  # the guard still holds
    # The same record written by SQLAlchemy's execute, for comparison.
    async with sessions() as session:
        await session.execute(insert(Call), dict(
            id="c2", channel_id="c2", service_id=1, did="800228040",
            caller_number='"Rossi" <0461|\'x\'>', caller_name="Ros'si", arrived_at=T0,
            in_hours=True, flow_state="arrived", overflow=False, ivr_path="", notes=""))
        await session.execute(_update_statement(frozenset(
            {"pbx_answered_at", "in_hours", "ivr_path", "topic"})), dict(
            call_id_="c2", pbx_answered_at=T0 + timedelta(seconds=1), in_hours=False,
            ivr_path="1", topic=None))
        await session.execute(_END, dict(call_id_="c2", at=T0 + timedelta(minutes=2),
                                         hung_up_by="caller", cause=16, outcome="answered"))
        await session.commit()
        plain, sqlalchemy = (await session.get(Call, "c1")), (await session.get(Call, "c2"))
    columns = [c.key for c in Call.__table__.columns if c.key not in ("id", "channel_id")]
    assert {k: getattr(plain, k) for k in columns} == {k: getattr(sqlalchemy, k)
                                                        for k in columns}
    assert plain.arrived_at == T0 and plain.arrived_at.tzinfo is not None
    assert plain.flow_state == "ended" and plain.in_hours is False
    await writes.close()


async def test_a_guarded_agent_state_changes_only_from_the_states_it_names(sessions):
    writes = WriteBehind(sessions)
    agents = AgentBook(sessions, writes)
    await agents.set_state(1, "wrapup", T0, only_if=("ringing", "on_call"))
    await writes.flush()
    async with sessions() as session:
        assert await session.scalar(select(Agent.state)) == "available"  # guard held
    await agents.set_state(1, "on_call", T0, only_if=("available", "ringing"))
    await agents.set_state(1, "wrapup", T0, only_if=("ringing", "on_call"))
    await writes.flush()
    async with sessions() as session:
        assert (await session.execute(select(Agent.state, Agent.state_since))).one() == (
            "wrapup", T0.astimezone(UTC))
    await writes.close()


async def test_a_write_the_database_refuses_says_so_as_sqlalchemy_does_and_writes_nothing(
        sessions):
    writes = WriteBehind(sessions)
    records = CallRecords(sessions, writes)
    await records.arrived(call_id="c3", channel_id="c3", service_id=1, did="800",
                          caller_number="1", caller_name="", at=T0, in_hours=True)
    await records.flush()
    with pytest.raises(sa_exc.IntegrityError):  # no such service: a foreign key refuses it
        await writes.write("calls.update", call_id="c3", fields={"service_id": 999})
    with pytest.raises(sa_exc.StatementError, match="naive"):
        await writes.write("calls.update", call_id="c3", fields={"answered_at": datetime(
            2026, 12, 2, 10, 0)})
    async with sessions() as session:
        call = await session.get(Call, "c3")
    assert call.service_id == 1 and call.answered_at is None
    await writes.close()


def test_only_statements_the_execution_machinery_would_not_change_run_on_the_cursor():
    plain = PlainStatements(sqlite.dialect())
    now = {"agent_id_": 1, "state": "available", "at": T0}
    assert plain.compiled(_state_statement(("wrapup",), True), now) is not None
    # A column default computed in Python (display_name, profile...) needs SQLAlchemy.
    assert plain.compiled(insert(Agent), {"username": "anna", "sip_ha1": "0"}) is None
    # So do an expanding IN, RETURNING, and anything that is not an INSERT or UPDATE.
    assert plain.compiled(update(Agent).where(Agent.state.in_(["a", "b"])).values(
        state="x"), {}) is None
    assert plain.compiled(update(Agent).values(state="x").returning(Agent.id), {}) is None
    assert plain.compiled(select(Agent.id), {}) is None
