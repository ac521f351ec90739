"""What admins change takes effect on the next call: crisis mode, closures, skills."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete

from centralino.agents import set_state
from centralino.services import add_closure, set_mode, voicemail_worklist
from models import Closure
from tests.integration.conftest import IN_HOURS, OUT_OF_HOURS, Plane, did_uri
from tests.integration.test_queue import team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

PC = "800840840"


async def _welcome_or_closed(plane: Plane, carrier: SipUA, caller: str) -> bool:
    """Place a call, return True if it was treated as in hours."""
    call = await carrier.call(did_uri(plane.settings, PC), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await asyncio.sleep(0.3)
    await call.hangup()
    record = await plane.ended_record(caller)
    return bool(record.in_hours)


async def test_given_crisis_when_protezione_civile_forced_open_at_night_then_calls_answered(
        plane: Plane, carrier: SipUA):
    plane.clock.travel_to(OUT_OF_HOURS)
    until = (OUT_OF_HOURS + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    message = await set_mode(plane.sessions, "protezione-civile", "open", until,
                             now=plane.clock())
    assert "forced open until" in message
    try:
        assert await _welcome_or_closed(plane, carrier, "0461200001") is True
    finally:
        await set_mode(plane.sessions, "protezione-civile", "auto")
    assert await _welcome_or_closed(plane, carrier, "0461200002") is False


async def test_given_service_forced_closed_in_hours_then_out_of_hours_message(
        plane: Plane, carrier: SipUA):
    await set_mode(plane.sessions, "protezione-civile", "closed")
    try:
        assert await _welcome_or_closed(plane, carrier, "0461200003") is False
    finally:
        await set_mode(plane.sessions, "protezione-civile", "auto")


async def test_given_admin_closure_today_then_closed(plane: Plane, carrier: SipUA):
    await add_closure(plane.sessions, IN_HOURS.date(), "chiusura straordinaria",
                      "protezione-civile")
    try:
        assert await _welcome_or_closed(plane, carrier, "0461200004") is False
    finally:
        async with plane.sessions() as session:
            await session.execute(delete(Closure))
            await session.commit()
    assert await _welcome_or_closed(plane, carrier, "0461200005") is True


async def test_given_topic_chosen_then_agent_with_that_skill_rings_first(
        plane: Plane, carrier: SipUA):
    names = ["mara", "nico"]
    async with team(plane.settings, plane.sessions, names, services=("trentino-digitale",),
                    login=False, skills={"mara": ["geocartografico"]}) as agents:
        # nico has been free for longer: without the skill rule he would ring first.
        await set_state(plane.sessions, "nico", "login")
        await asyncio.sleep(0.2)
        await set_state(plane.sessions, "mara", "login")
        call = await carrier.call(did_uri(plane.settings, "800228040"), from_user="0461200010")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461200010", "menu")
        await call.send_dtmf("3")
        ringing = await agents.phones.wait_incoming_call(timeout=10)
        assert "mara" in ringing.local_uri
        await ringing.answer()
        await plane.record_in_state("0461200010", "connected")
        await call.hangup()
        record = await plane.ended_record("0461200010")
    assert record.topic == "geocartografico" and record.outcome == "answered"


async def test_voicemail_worklist_lists_messages_with_the_number_to_call_back(
        plane: Plane, carrier: SipUA):
    call = await carrier.call(did_uri(plane.settings, PC), from_user="0461200020")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461200020", "voicemail")
    await asyncio.sleep(1.5)
    await call.hangup()
    await plane.ended_record("0461200020")

    async def listed():
        items = await voicemail_worklist(plane.sessions, "protezione-civile")
        return [i for i in items if i.caller_number == "0461200020"]

    from tests.integration.conftest import eventually

    [item] = await eventually(listed, 5, "the message in the worklist")
    assert item.callback_requested and item.reason == "no_agents"
