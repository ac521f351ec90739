"""The database goes away: calls are still routed, and their records are written when it is back.

The control plane reaches PostgreSQL through a TCP proxy (tests/support/tcp_proxy.py)
that the test cuts and restores; the test itself reads the database directly, so
it can check that nothing reached it during the outage and everything did after.
SQLite is a file on the same machine: it has no outage to survive (the journal is
off, behaviour unchanged), so these scenarios run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import ShiftedClock
from ari_app.directory import ServiceDirectory
from ari_app.journal import Journal
from ari_app.outage import WriteBehind
from ari_app.records import CallRecords
from centralino.config import Settings
from centralino.sandbox import Sandbox
from models import Agent, Call, CallOffer, Queue, Service
from models.db import create_engine, session_factory
from tests.integration.conftest import IN_HOURS, Plane, did_uri, eventually, running_plane
from tests.integration.test_queue import team
from tests.support.sipua import SipUA
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres_only]

ADL = "800264760"


@dataclass
class Outage:
    """The control plane's way to PostgreSQL, which the test can cut; and the real thing."""

    proxy: TcpProxy
    #: What the control plane uses: the database through the proxy.
    plane_settings: Settings
    plane_sessions: async_sessionmaker
    #: What the test uses: the database directly, never cut.
    settings: Settings
    sessions: async_sessionmaker

    @property
    def journal(self) -> Path:
        path = self.plane_settings.journal_path
        assert path is not None
        return path

    def journaled(self) -> list[dict]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines()]

    async def record(self, caller: str) -> Call | None:
        async with self.sessions() as session:
            return (await session.scalars(select(Call).where(Call.caller_number == caller)
                                          .order_by(Call.arrived_at.desc()))).first()

    async def calls_from(self, caller: str) -> int:
        async with self.sessions() as session:
            return await session.scalar(select(func.count()).select_from(Call).where(
                Call.caller_number == caller))

    async def offers(self, call_id: str) -> list[CallOffer]:
        async with self.sessions() as session:
            return list((await session.scalars(select(CallOffer).where(
                CallOffer.call_id == call_id).order_by(CallOffer.id))).all())

    async def agent_state(self, name: str) -> str:
        async with self.sessions() as session:
            return await session.scalar(select(Agent.state).where(Agent.username == name))

    async def complete_record(self, caller: str, timeout: float = 15) -> Call:
        """Once the database is back: the caller's record, closed (journal replayed)."""
        async def probe() -> Call | None:
            record = await self.record(caller)
            return record if record is not None and record.ended_at is not None else None

        return await eventually(probe, timeout, f"the record of {caller} to be complete")


@pytest.fixture
async def outage(plane_database, database_url: str) -> AsyncIterator[Outage]:
    assert not database_url.startswith("sqlite"), "postgres_only: deselected for SQLite"
    settings, sessions = plane_database
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    plane_settings = settings.with_overrides(database_url=proxied)
    # Shorter than the control plane's 5 s, so that a frozen server is noticed well inside
    # the tests' bounds: measured, a frozen connection fails after the timeout plus 2 s.
    engine = create_engine(plane_settings.effective_database_url, command_timeout=3.0)
    try:
        yield Outage(proxy, plane_settings, session_factory(engine), settings, sessions)
    finally:
        await proxy.close()
        await engine.dispose()


@pytest.fixture
async def quick_queue(outage: Outage) -> AsyncIterator[None]:
    """Agenzia del Lavoro's queue with test timings: 1 s of wrap-up."""
    async def set_values(**values) -> None:
        async with outage.sessions() as session:
            await session.execute(update(Queue).where(Queue.slug == "agenzia-lavoro")
                                  .values(**values))
            await session.commit()

    await set_values(rings_per_agent=3, wrapup_seconds=1, wait_limit_seconds=60)
    yield
    await set_values(rings_per_agent=4, wrapup_seconds=10, wait_limit_seconds=300)


@contextlib.asynccontextmanager
async def plane_via_proxy(outage: Outage, asterisk: Sandbox) -> AsyncIterator[Plane]:
    async with running_plane(outage.plane_settings, outage.plane_sessions, asterisk,
                             ShiftedClock(IN_HOURS)) as plane:
        yield plane


async def answered_call(carrier: SipUA, agents, settings: Settings, caller: str,
                        agent: str) -> tuple:
    """A citizen calls, hears the welcome, waits; the agent's phone rings and is answered."""
    call = await carrier.call(did_uri(settings, ADL), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    ringing = await agents.phones.wait_incoming_call(timeout=15, account=agent)
    assert caller in ringing.remote_uri
    await ringing.answer()
    await ringing.wait_state("CONFIRMED", timeout=5)
    await asyncio.sleep(1.0)  # they talk
    return call, ringing


def assert_complete_answered(record: Call, offers: list[CallOffer], hung_up_by: str) -> None:
    assert record.outcome == "answered" and record.flow_state == "ended"
    assert record.hung_up_by == hung_up_by and record.queue_exit == "answered"
    assert record.arrived_at <= record.pbx_answered_at <= record.queue_entered_at
    assert record.queue_entered_at <= record.answered_at <= record.ended_at
    assert record.agent_id is not None and record.in_hours is True
    [offer] = offers
    assert offer.result == "answered" and offer.agent_id == record.agent_id
    assert record.queue_entered_at <= offer.ring_started_at <= offer.ring_stopped_at


async def test_given_database_cut_between_calls_when_citizen_calls_then_agent_answers_and_the_record_is_written_when_it_is_back(  # noqa: E501
        outage: Outage, asterisk, carrier: SipUA, quick_queue, caplog):
    service = await ServiceDirectory(outage.sessions).get("agenzia-lavoro")
    async with team(outage.settings, outage.sessions, ["mara"]) as agents, \
            plane_via_proxy(outage, asterisk) as plane:
        # An earlier call: the control plane has read the service and its agents.
        call, ringing = await answered_call(carrier, agents, outage.settings,
                                            "0461200001", "mara")
        await call.hangup()
        await outage.complete_record("0461200001", timeout=10)
        await agents.wait_state("mara", "available")

        await outage.proxy.cut()
        with caplog.at_level(logging.INFO, logger="ari_app.outage"):
            call, ringing = await answered_call(carrier, agents, outage.settings,
                                                "0461200002", "mara")
            assert plane.heard(service.sounds["welcome"])
            assert not call.disconnected and not ringing.disconnected
            await call.hangup()
            await ringing.wait_disconnected(timeout=5)
            await asyncio.sleep(1.5)  # the wrap-up ends while the database is still away
            # Nothing reached the database; all of it waits in the journal.
            assert await outage.record("0461200002") is None
            assert await agents.state("mara") == "available"  # as before the call
            journaled = outage.journaled()
            assert [e["op"] for e in journaled][:1] == ["calls.arrived"]
            assert [e["seq"] for e in journaled] == sorted(e["seq"] for e in journaled)

            await outage.proxy.restore()
            record = await outage.complete_record("0461200002")
            await eventually(lambda: _empty(outage.journal), 5, "the journal to be emptied")
        assert_complete_answered(record, await outage.offers(record.id), "caller")
        assert await agents.state("mara") == "available"  # ringing, on call, wrap-up, free
    messages = [r.getMessage() for r in caplog.records if r.name == "ari_app.outage"]
    assert sum("database unreachable (" in m for m in messages) == 1
    assert sum(f"{len(journaled)} writes applied, 0 rejected" in m for m in messages) == 1


async def test_given_database_cut_during_a_connected_call_then_the_call_goes_on_and_its_record_is_closed_when_it_is_back(  # noqa: E501
        outage: Outage, asterisk, carrier: SipUA, quick_queue):
    async with team(outage.settings, outage.sessions, ["nino"]) as agents, \
            plane_via_proxy(outage, asterisk):
        call, ringing = await answered_call(carrier, agents, outage.settings,
                                            "0461200011", "nino")
        await eventually(lambda: _state_is(outage, "0461200011", "connected"), 10,
                         "the call to be connected")  # written before the cut
        await outage.proxy.cut()
        await asyncio.sleep(1.5)  # they go on talking
        assert not call.disconnected and not ringing.disconnected
        await ringing.hangup()  # the agent ends the call
        await call.wait_disconnected(timeout=5)
        assert (await outage.record("0461200011")).ended_at is None  # not written yet
        await outage.proxy.restore()
        record = await outage.complete_record("0461200011")
        await agents.wait_state("nino", "available", timeout=10)
        offers = await outage.offers(record.id)  # while the agent still exists
    assert_complete_answered(record, offers, "agent")
    assert outage.journaled() == []


async def test_given_control_plane_restarted_while_database_away_then_journal_replayed_once_it_is_back_and_nothing_lost_or_duplicated(  # noqa: E501
        outage: Outage, asterisk, carrier: SipUA, quick_queue, caplog):
    inbox = asterisk.host_path(
        f"{asterisk.layout.spool}/voicemail/centralino/agenzia-lavoro/INBOX")
    before = set(inbox.glob("msg*.txt")) if inbox.exists() else set()
    async with team(outage.settings, outage.sessions, ["olga"]) as agents:
        async with plane_via_proxy(outage, asterisk):
            call, ringing = await answered_call(carrier, agents, outage.settings,
                                                "0461200021", "olga")
            await call.hangup()
            await outage.complete_record("0461200021", timeout=10)
            await agents.wait_state("olga", "available")
            await outage.proxy.cut()
            call, ringing = await answered_call(carrier, agents, outage.settings,
                                                "0461200022", "olga")
            await call.hangup()
            await ringing.wait_disconnected(timeout=5)
            await asyncio.sleep(1.5)  # wrap-up over
        left = outage.journaled()
        assert len(left) >= 8 and left[0]["op"] == "calls.arrived"

        with caplog.at_level(logging.INFO, logger="ari_app"):
            async with plane_via_proxy(outage, asterisk):
                assert len(outage.journaled()) == len(left)  # kept, not replayed yet
                # Nothing known about the service in this run: the call is not lost,
                # the dialplan's fallback (voicemail) takes the message.
                call = await carrier.call(did_uri(outage.settings, ADL),
                                          from_user="0461200023")
                await call.wait_state("CONFIRMED", timeout=5)
                await asyncio.sleep(7)  # greeting (4 s), beep, a few seconds of message
                await call.hangup()
                await call.wait_disconnected(timeout=5)

                async def new_message():
                    return set(inbox.glob("msg*.txt")) - before if inbox.exists() else None

                [message] = await eventually(new_message, 10, "the voicemail to be stored")
                assert "0461200023" in message.read_text()
                assert await outage.record("0461200022") is None

                await outage.proxy.restore()
                replayed = await outage.complete_record("0461200022")
                fallback = await outage.complete_record("0461200023")
                await eventually(lambda: _empty(outage.journal), 5, "the journal to be emptied")
                await agents.wait_state("olga", "available", timeout=10)
        offers = await outage.offers(replayed.id)  # while the agent still exists
    assert_complete_answered(replayed, offers, "caller")
    for caller in ("0461200021", "0461200022", "0461200023"):
        assert await outage.calls_from(caller) == 1
    assert fallback.outcome == "failed" and fallback.flow_state == "ended"
    async with outage.sessions() as session:
        adl = await session.scalar(select(Service.id).where(Service.slug == "agenzia-lavoro"))
    assert fallback.service_id == adl and fallback.did == ADL
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"holds {len(left)} writes from a previous run" in m for m in messages)
    assert any("handing it to the dialplan fallback" in m for m in messages)
    assert any(f"{len(left) + 2} writes applied, 0 rejected" in m for m in messages)


async def test_given_database_stops_answering_then_writes_are_journaled_within_seconds_and_kept(
        outage: Outage, tmp_path: Path):
    writes = WriteBehind(outage.plane_sessions, Journal(tmp_path / "journal.jsonl"),
                         retry_first=0.2)
    records = CallRecords(outage.plane_sessions, writes)
    await records.arrived(call_id="frozen-1", channel_id="frozen-1", service_id=None,
                          did=ADL, caller_number="0461200031", caller_name="",
                          at=IN_HOURS, in_hours=True)
    await writes.flush()
    outage.proxy.freeze()  # connections stay open, nothing comes back
    started = time.monotonic()
    await records.update("frozen-1", topic="frozen")  # the call never waits on it
    await records.update("frozen-1", flow_state="queued")
    assert time.monotonic() - started < 0.1
    await asyncio.wait_for(writes.flush(), 10)
    assert time.monotonic() - started < 8  # the statement timeout (+2 s), then the journal
    assert writes.pending >= 1 and (await outage.record("0461200031")).topic is None
    await outage.proxy.cut()
    await outage.proxy.restore()
    await eventually(lambda: _true(writes.caught_up), 15, "the journal to be replayed")
    record = await outage.record("0461200031")
    assert record.topic == "frozen" and record.flow_state == "queued"
    await records.ended("frozen-1", at=IN_HOURS, hung_up_by="caller", cause=16,
                        outcome="hangup_before_queue")  # nothing left open for later tests
    await writes.close()


async def _true(value: bool) -> bool:
    return value


async def _empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


async def _state_is(outage: Outage, caller: str, state: str) -> bool:
    record = await outage.record(caller)
    return record is not None and record.flow_state == state
