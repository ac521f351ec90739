"""Queues over real SIP: callers wait with music, the first free agent's softphone rings.

Agents are created through `centralino.agents` and applied to Asterisk with a
reload, as `centralino agent add` does; their softphones are pjsua2 accounts
that register, ring, answer or let it ring. Queue timings are shortened per
test (1 ring = 1 s with the suite's cadence) and restored afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from ari_app.clock import ShiftedClock
from centralino.agents import add_agent, remove_agent, set_state
from centralino.live_config import apply_configuration, config_target
from models import Agent, CallOffer, Queue
from tests.integration.conftest import (
    IN_HOURS,
    Plane,
    did_uri,
    eventually,
    running_plane,
)
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

PASSWORD = "Segreto-2026"
ADL = "800264760"


@dataclass
class Team:
    """Agents of one test: their softphones and their database rows."""

    phones: SipUA
    plane_settings: object
    sessions: object
    names: list[str]

    async def state(self, name: str) -> str:
        async with self.sessions() as session:
            return await session.scalar(select(Agent.state).where(Agent.username == name))

    async def wait_state(self, name: str, state: str, timeout: float = 10) -> None:
        async def probe():
            return await self.state(name) == state

        await eventually(probe, timeout, f"agent {name} to be {state}")


@contextlib.asynccontextmanager
async def team(settings, sessions, names: list[str], *, services=("agenzia-lavoro",),
               login: bool = True, skills: dict[str, list[str]] | None = None
               ) -> AsyncIterator[Team]:
    target = config_target(settings, None)
    for name in names:
        await add_agent(sessions, name, PASSWORD, services=list(services),
                        skills=(skills or {}).get(name, []))
    await apply_configuration(settings, sessions, target)
    phones = await SipUA.start(bind_address="127.0.0.3")
    try:
        registrar = f"sip:{settings.bind_address}:{settings.sip_port}"
        for name in names:
            await phones.register(name, PASSWORD, registrar=registrar)
            if login:
                await set_state(sessions, name, "login")
        yield Team(phones, settings, sessions, names)
    finally:
        await phones.close()
        for name in names:
            await remove_agent(sessions, name)
        await apply_configuration(settings, sessions, target)


@pytest.fixture
async def quick_queue(plane: Plane):
    """Agenzia del Lavoro's queue with test timings: 1 ring, 1 s wrap-up."""
    async def set_values(**values):
        async with plane.sessions() as session:
            await session.execute(update(Queue).where(Queue.slug == "agenzia-lavoro")
                                  .values(**values))
            await session.commit()

    await set_values(rings_per_agent=1, wrapup_seconds=1, wait_limit_seconds=60)
    yield set_values
    await set_values(rings_per_agent=4, wrapup_seconds=10, wait_limit_seconds=300,
                     strategy="longest_idle")


async def offers_of(plane: Plane, call_id: str) -> list[CallOffer]:
    async with plane.sessions() as session:
        return list((await session.scalars(select(CallOffer).where(
            CallOffer.call_id == call_id).order_by(CallOffer.id))).all())


async def test_given_agent_logged_in_when_citizen_calls_then_agent_answers_after_the_welcome(
        plane: Plane, carrier: SipUA, quick_queue):
    service = await plane.service("agenzia-lavoro")
    async with team(plane.settings, plane.sessions, ["anna"]) as agents:
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100001")
        await call.wait_state("CONFIRMED", timeout=5)
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="anna")
        assert plane.heard(service.sounds["welcome"])  # the welcome came first
        assert "0461100001" in ringing.remote_uri  # the agent sees who is calling
        await agents.wait_state("anna", "ringing")
        await ringing.answer()
        await ringing.wait_state("CONFIRMED", timeout=5)
        record = await plane.record_in_state("0461100001", "connected")
        await agents.wait_state("anna", "on_call")
        await asyncio.sleep(0.5)
        await ringing.hangup()  # the agent ends the call
        await call.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461100001")
        await agents.wait_state("anna", "wrapup")
        await agents.wait_state("anna", "available", timeout=5)  # after 1 s of wrap-up
        [offer] = await offers_of(plane, record.id)  # while the agent still exists

    assert record.outcome == "answered"
    assert record.hung_up_by == "agent"
    assert record.queue_exit == "answered"
    assert record.arrived_at <= record.pbx_answered_at <= record.queue_entered_at
    assert record.queue_entered_at <= record.answered_at <= record.ended_at
    assert record.agent_id is not None
    assert offer.result == "answered" and offer.agent_id == record.agent_id
    assert record.queue_entered_at <= offer.ring_started_at <= offer.ring_stopped_at


async def test_given_first_agent_lets_it_ring_then_next_agent_gets_the_call(
        plane: Plane, carrier: SipUA, quick_queue):
    async with team(plane.settings, plane.sessions, ["bruno", "carla"]) as agents:
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100002")
        await call.wait_state("CONFIRMED", timeout=5)
        first = await agents.phones.wait_incoming_call(timeout=10)
        first_name = "bruno" if "bruno" in first.local_uri else "carla"
        other_name = "carla" if first_name == "bruno" else "bruno"
        await first.ring()
        # Nobody answers the first phone: after one ring the other agent's rings.
        second = await agents.phones.wait_incoming_call(timeout=10, account=other_name)
        await first.wait_disconnected(timeout=5)
        await second.answer()
        await plane.record_in_state("0461100002", "connected")
        await agents.wait_state(first_name, "available")
        await call.hangup()
        record = await plane.ended_record("0461100002")
        await agents.wait_state(other_name, "wrapup")

    assert record.outcome == "answered" and record.hung_up_by == "caller"
    results = [o.result for o in await offers_of(plane, record.id)]
    assert results == ["no_answer", "answered"]


async def test_given_agent_rejects_then_caller_keeps_waiting_and_is_offered_again(
        plane: Plane, carrier: SipUA, quick_queue):
    async with team(plane.settings, plane.sessions, ["dario"]) as agents:
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100003")
        await call.wait_state("CONFIRMED", timeout=5)
        first = await agents.phones.wait_incoming_call(timeout=10, account="dario")
        await first.reject(486)
        again = await agents.phones.wait_incoming_call(timeout=10, account="dario")
        await again.answer()
        await plane.record_in_state("0461100003", "connected")
        await call.hangup()
        record = await plane.ended_record("0461100003")
    assert [o.result for o in await offers_of(plane, record.id)] == ["rejected", "answered"]
    assert not call.disconnected or record.outcome == "answered"


@pytest.mark.parametrize(("wait", "expected"), [(3, "abandoned_short"), (11.5, "abandoned")])
async def test_given_caller_hangs_up_while_queued_then_ten_second_rule(
        plane: Plane, carrier: SipUA, quick_queue, wait: float, expected: str):
    caller = f"04611001{int(wait):02d}"
    # A paused agent is logged in: the caller waits (with music) instead of voicemail.
    async with team(plane.settings, plane.sessions, ["elena"]) as agents:
        await set_state(plane.sessions, "elena", "pause", "riunione")
        call = await carrier.call(did_uri(plane.settings, ADL), from_user=caller)
        await call.wait_state("CONFIRMED", timeout=5)
        record = await plane.record_in_state(caller, "queued")
        await asyncio.sleep(wait)
        await call.hangup()
        record = await plane.ended_record(caller)
        assert await agents.state("elena") == "paused"  # never rung while paused
    assert record.outcome == expected
    assert record.queue_exit == "abandoned"
    assert await offers_of(plane, record.id) == []
    waited = (record.ended_at - record.queue_entered_at).total_seconds()
    assert abs(waited - wait) < 1.5


async def test_given_wait_limit_passes_then_voicemail_with_call_back_request(
        plane: Plane, carrier: SipUA, quick_queue):
    await quick_queue(wait_limit_seconds=2)
    async with team(plane.settings, plane.sessions, ["fabio"]) as agents:
        await set_state(plane.sessions, "fabio", "pause", "pranzo")
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100020")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461100020", "voicemail", timeout=15)
        await asyncio.sleep(1.5)
        await call.hangup()
        record = await plane.ended_record("0461100020")
        assert agents.names == ["fabio"]
    [message] = await eventually(lambda: plane.voicemails(record.id), 5, "the message")
    assert message.reason == "wait_limit" and message.callback_requested
    assert record.queue_exit == "timeout" and record.outcome == "voicemail"


async def test_given_ring_all_then_every_free_agent_rings_and_first_answer_wins(
        plane: Plane, carrier: SipUA, quick_queue):
    await quick_queue(strategy="ring_all", rings_per_agent=3)
    async with team(plane.settings, plane.sessions, ["gino", "ilaria"]) as agents:
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100030")
        await call.wait_state("CONFIRMED", timeout=5)
        a = await agents.phones.wait_incoming_call(timeout=10)
        b = await agents.phones.wait_incoming_call(timeout=5)
        await b.answer()
        await a.wait_disconnected(timeout=5)  # the other phone stops ringing
        await plane.record_in_state("0461100030", "connected")
        await call.hangup()
        record = await plane.ended_record("0461100030")
    assert sorted(o.result for o in await offers_of(plane, record.id)) == [
        "answered", "caller_gone"]


async def test_given_control_plane_restarts_during_queue_and_call_then_neither_is_dropped(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    async with team(settings, sessions, ["luca"]) as agents:
        await set_state(sessions, "luca", "pause", "pausa")
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            call = await carrier.call(did_uri(settings, ADL), from_user="0461100040")
            await call.wait_state("CONFIRMED", timeout=5)
            await plane.record_in_state("0461100040", "queued")
        # Stopped while the caller waits: Asterisk keeps the bridge and its music.
        await asyncio.sleep(1.5)
        assert not call.disconnected
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            await set_state(sessions, "luca", "resume")
            ringing = await agents.phones.wait_incoming_call(timeout=10, account="luca")
            await ringing.answer()
            await plane.record_in_state("0461100040", "connected")
        # Stopped in the middle of the conversation: both stay connected.
        await asyncio.sleep(1.5)
        assert not call.disconnected and not ringing.disconnected
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            await asyncio.sleep(0.5)
            await call.hangup()
            await ringing.wait_disconnected(timeout=5)  # the agent's leg is released
            record = await plane.ended_record("0461100040")
            await agents.wait_state("luca", "wrapup")
    assert record.outcome == "answered"
    assert record.hung_up_by == "caller"
    assert record.answered_at is not None and record.queue_exit == "answered"
    assert [o.result for o in await offers_of(plane, record.id)] == ["answered"]


async def test_given_announcements_on_then_position_is_told_and_only_goes_down(
        plane: Plane, carrier: SipUA, quick_queue):
    await quick_queue(announce_position=True, announce_every_seconds=2)
    service = await plane.service("agenzia-lavoro")
    try:
        async with team(plane.settings, plane.sessions, ["olga"]) as agents:
            await set_state(plane.sessions, "olga", "pause", "formazione")
            first = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100050")
            await first.wait_state("CONFIRMED", timeout=5)
            await plane.record_in_state("0461100050", "queued")
            second = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100051")
            await second.wait_state("CONFIRMED", timeout=5)
            record = await plane.record_in_state("0461100051", "queued")
            channel = record.channel_id

            def told(number: int) -> bool:
                return any(e["playback"]["target_uri"] == f"channel:{channel}"
                           and e["playback"]["media_uri"] == f"number:{number}"
                           for e in plane.events_of("PlaybackStarted")
                           + plane.events_of("PlaybackContinuing"))

            await eventually(lambda: _true(told(2)), 6, "position 2 to be announced")
            assert plane.heard(service.sounds["position"])
            await first.hangup()  # the caller ahead gives up
            await eventually(lambda: _true(told(1)), 6, "position 1 to be announced")
            await second.hangup()
            await plane.ended_record("0461100051")
            assert agents.names == ["olga"]
    finally:
        await quick_queue(announce_position=False, announce_every_seconds=30)


async def _true(value):
    return value


async def test_given_agent_busy_on_another_call_then_never_rung_until_free(
        plane: Plane, carrier: SipUA, quick_queue):
    async with team(plane.settings, plane.sessions, ["vera"]) as agents:
        # The agent is "available" but already on a call of her own (echo test).
        own = await agents.phones.call(
            f"sip:*43@{plane.settings.bind_address}:{plane.settings.sip_port}", account="vera")
        await own.wait_state("CONFIRMED", timeout=5)
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461100060")
        await call.wait_state("CONFIRMED", timeout=5)
        record = await plane.record_in_state("0461100060", "queued")
        await asyncio.sleep(2.0)  # several dispatch rounds
        assert await offers_of(plane, record.id) == []
        assert await agents.state("vera") == "available"
        await own.hangup()
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="vera")
        await ringing.answer()
        await plane.record_in_state("0461100060", "connected")
        await call.hangup()
        await plane.ended_record("0461100060")
