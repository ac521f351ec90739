"""Transfer to a referent over real SIP, driven through the control plane's HTTP API."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from centralino.runtime import credentials_for
from tests.integration.conftest import Plane, did_uri
from tests.integration.test_overflow import OFFICE_NUMBER, office_phone
from tests.integration.test_queue import team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

ADL = "800264760"


async def api(plane: Plane, method: str, path: str, body=None, token: str | None = None):
    """Call the running control plane's API as the CLI does; return (status, JSON)."""
    port = plane.running.web_runner.addresses[0][1]
    token = token if token is not None else credentials_for(plane.settings).api_token
    async with aiohttp.ClientSession() as session, session.request(
            method, f"http://127.0.0.1:{port}/api{path}", json=body,
            headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def connected_call(plane: Plane, carrier: SipUA, agents, caller: str):
    call = await carrier.call(did_uri(plane.settings, ADL), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    agent_leg = await agents.phones.wait_incoming_call(timeout=10)
    await agent_leg.answer()
    record = await plane.record_in_state(caller, "connected")
    return call, agent_leg, record


async def test_given_agent_on_call_when_blind_transfer_then_referent_takes_over_and_escalated(
        plane: Plane, carrier: SipUA):
    async with office_phone(plane.settings, plane.sessions, rings=3) as referent, \
            team(plane.settings, plane.sessions, ["tx-rita"]) as agents:
        call, agent_leg, record = await connected_call(plane, carrier, agents, "0461400001")
        status, _ = await api(plane, "POST", f"/calls/{record.id}/transfer",
                              {"to": OFFICE_NUMBER, "mode": "blind"})
        assert status == 200
        await agent_leg.wait_disconnected(timeout=5)  # the agent is free at once
        await agents.wait_state("tx-rita", "wrapup")
        ringing = await referent.wait_incoming_call(timeout=5)
        assert "0461400001" in ringing.remote_uri
        await ringing.answer()
        await plane.record_in_state("0461400001", "transferred")
        assert not call.disconnected
        await call.hangup()
        await ringing.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461400001")
    assert record.outcome == "answered"
    assert record.resolution == "escalated" and record.transferred_at is not None
    assert record.hung_up_by == "caller"


async def test_given_attended_transfer_when_completed_then_caller_talks_to_referent(
        plane: Plane, carrier: SipUA):
    async with office_phone(plane.settings, plane.sessions, rings=3) as referent, \
            team(plane.settings, plane.sessions, ["tx-sara"]) as agents:
        call, agent_leg, record = await connected_call(plane, carrier, agents, "0461400002")
        status, _ = await api(plane, "POST", f"/calls/{record.id}/transfer",
                              {"to": "ufficio-adl", "mode": "attended"})
        assert status == 200
        ringing = await referent.wait_incoming_call(timeout=5)
        await ringing.answer()
        await ringing.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461400002", "consulting")
        assert not agent_leg.disconnected and not call.disconnected
        status, _ = await api(plane, "POST", f"/calls/{record.id}/transfer/complete")
        assert status == 200
        await agent_leg.wait_disconnected(timeout=5)
        await plane.record_in_state("0461400002", "transferred")
        await ringing.hangup()  # the referent ends the call
        await call.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461400002")
    assert record.resolution == "escalated"
    assert record.hung_up_by == "referent"


async def test_given_attended_transfer_when_cancelled_then_agent_back_with_caller(
        plane: Plane, carrier: SipUA):
    async with office_phone(plane.settings, plane.sessions, rings=3) as referent, \
            team(plane.settings, plane.sessions, ["tx-tina"]) as agents:
        call, agent_leg, record = await connected_call(plane, carrier, agents, "0461400003")
        await api(plane, "POST", f"/calls/{record.id}/transfer",
                  {"to": "ufficio-adl", "mode": "attended"})
        ringing = await referent.wait_incoming_call(timeout=5)
        await ringing.answer()
        await plane.record_in_state("0461400003", "consulting")
        status, _ = await api(plane, "POST", f"/calls/{record.id}/transfer/cancel")
        assert status == 200
        await ringing.wait_disconnected(timeout=5)
        await plane.record_in_state("0461400003", "connected")
        await asyncio.sleep(0.3)
        assert not agent_leg.disconnected and not call.disconnected
        await call.hangup()
        record = await plane.ended_record("0461400003")
    assert record.resolution is None and record.transferred_at is None  # resolved by agent
    assert record.outcome == "answered"


async def test_given_referent_does_not_answer_then_caller_leaves_a_message(
        plane: Plane, carrier: SipUA):
    async with office_phone(plane.settings, plane.sessions, rings=1) as referent, \
            team(plane.settings, plane.sessions, ["tx-ugo"]) as agents:
        # Referents ring 4 times; with the suite's cadence that is 7 s.
        call, _agent_leg, record = await connected_call(plane, carrier, agents, "0461400004")
        await api(plane, "POST", f"/calls/{record.id}/transfer", {"to": "ufficio-adl"})
        ringing = await referent.wait_incoming_call(timeout=5)
        await ringing.ring()
        await plane.record_in_state("0461400004", "voicemail", timeout=15)
        await call.hangup()
        record = await plane.ended_record("0461400004")
    [message] = await plane.voicemails(record.id)
    assert message.reason == "transfer" and message.callback_requested


async def test_api_refuses_wrong_token_unknown_call_and_unknown_referent(plane: Plane):
    status, _ = await api(plane, "GET", "/calls", token="wrong")
    assert status == 401
    status, body = await api(plane, "POST", "/calls/nope/transfer", {"to": "nobody"})
    assert status == 400 and "referent" in body["error"]
    status, body = await api(plane, "POST", "/calls/nope/transfer/complete")
    assert status == 404
    status, body = await api(plane, "GET", "/calls")
    assert status == 200 and body == {"calls": []}
