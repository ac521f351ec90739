"""Office lines ("ricaduta"): the office phone rings first; unanswered calls overflow."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from centralino.live_config import apply_configuration, config_target
from centralino.offices import add_office, remove_office
from tests.integration.conftest import Plane, did_uri
from tests.integration.test_queue import PASSWORD, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

OFFICE_NUMBER = "0461496001"


@contextlib.asynccontextmanager
async def office_phone(settings, sessions, rings: int) -> AsyncIterator[SipUA]:
    """An office line of the Agenzia del Lavoro with its phone registered."""
    target = config_target(settings, None)
    await add_office(sessions, OFFICE_NUMBER, service="agenzia-lavoro", endpoint="ufficio-adl",
                     password=PASSWORD, rings=rings, name="Ufficio collocamento")
    await apply_configuration(settings, sessions, target)
    phone = await SipUA.start(bind_address="127.0.0.4")
    try:
        await phone.register("ufficio-adl", PASSWORD,
                             registrar=f"sip:{settings.bind_address}:{settings.sip_port}")
        yield phone
    finally:
        await phone.close()
        await remove_office(sessions, OFFICE_NUMBER)
        await apply_configuration(settings, sessions, target)


async def test_given_office_answers_then_caller_talks_to_the_office_not_the_queue(
        plane: Plane, carrier: SipUA):
    async with office_phone(plane.settings, plane.sessions, rings=3) as phone:
        call = await carrier.call(did_uri(plane.settings, OFFICE_NUMBER),
                                  from_user="0461300001")
        await call.wait_state("EARLY", timeout=5)  # the caller hears ringing
        ringing = await phone.wait_incoming_call(timeout=5)
        assert "0461300001" in ringing.remote_uri
        await ringing.answer()
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461300001", "office_connected")
        await asyncio.sleep(0.5)
        await call.hangup()
        await ringing.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461300001")
    assert record.outcome == "office_answered"
    assert record.overflow is False and record.queue_entered_at is None
    assert record.did == OFFICE_NUMBER


async def test_given_nobody_answers_at_the_office_then_call_overflows_to_an_agent(
        plane: Plane, carrier: SipUA):
    service = await plane.service("agenzia-lavoro")
    async with office_phone(plane.settings, plane.sessions, rings=1) as phone, \
            team(plane.settings, plane.sessions, ["pietro"]) as agents:
        call = await carrier.call(did_uri(plane.settings, OFFICE_NUMBER),
                                  from_user="0461300002")
        office_ring = await phone.wait_incoming_call(timeout=5)
        await office_ring.ring()  # rings out: 1 ring with the suite's cadence
        await office_ring.wait_disconnected(timeout=10)
        agent_ring = await agents.phones.wait_incoming_call(timeout=10, account="pietro")
        await agent_ring.answer()
        await call.wait_state("CONFIRMED", timeout=5)
        record = await plane.record_in_state("0461300002", "connected")
        await call.hangup()
        record = await plane.ended_record("0461300002")
    assert record.overflow is True
    assert record.outcome == "answered"
    assert record.queue_entered_at is not None and record.answered_at is not None
    assert not plane.heard(service.sounds["welcome"])  # straight to the queue


async def test_given_control_plane_down_then_office_phone_still_rings(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database  # no control plane is running in this test
    async with office_phone(settings, sessions, rings=2) as phone:
        call = await carrier.call(did_uri(settings, OFFICE_NUMBER), from_user="0461300003")
        ringing = await phone.wait_incoming_call(timeout=5)  # rung by the dialplan itself
        await ringing.answer()
        await call.wait_state("CONFIRMED", timeout=5)
        await call.hangup()
        await ringing.wait_disconnected(timeout=5)
