"""A citizen's call over real SIP: it enters the control plane and leaves a complete record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from centralino.seed import SERVICES
from tests.integration.conftest import OUT_OF_HOURS, Plane, did_uri, eventually
from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.asterisk

SEEDED_DIDS = [(spec.slug, did.replace(" ", "")) for spec in SERVICES for did in spec.dids]


async def _ended_record(plane: Plane, caller: str):
    async def probe():
        record = await plane.call_record(caller_number=caller)
        return record if record is not None and record.ended_at is not None else None

    return await eventually(probe, 10, f"the record of the call from {caller} to close")


@pytest.mark.parametrize(("slug", "did"), SEEDED_DIDS)
async def test_given_service_in_hours_when_citizen_calls_did_then_welcome_and_full_record(
        plane: Plane, carrier: SipUA, slug: str, did: str):
    caller = f"04619{did[-5:]}"
    call = await carrier.call(did_uri(plane.settings, did), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await eventually(lambda: _async(plane.events_of("PlaybackStarted")), 5, "the welcome")
    await call.hangup()
    record = await _ended_record(plane, caller)

    service = await plane.running.control_plane.directory.get(slug)
    assert record.service_id == service.id
    assert record.did == did
    assert record.in_hours is True
    assert record.arrived_at <= record.pbx_answered_at <= record.ended_at
    assert record.hung_up_by == "caller"
    assert record.outcome == "hangup_before_queue"
    assert record.flow_state == "ended"
    started = [e for e in plane.events_of("PlaybackStarted")
               if e["playback"]["id"] == f"{record.id}-welcome"]
    assert started, "the caller heard no welcome"
    assert service.sounds["welcome"] in started[0]["playback"]["media_uri"]


async def _async(value):
    return value


async def test_given_welcome_heard_when_no_agent_then_voicemail_takes_the_call(
        plane: Plane, carrier: SipUA):
    call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user="0461000001")
    await call.wait_state("CONFIRMED", timeout=5)

    async def handed_off():
        record = await plane.call_record(caller_number="0461000001")
        return record if record and record.flow_state == "handed_off" else None

    await eventually(handed_off, 10, "the hand-off to voicemail")
    await asyncio.sleep(1.0)  # the caller hears the voicemail greeting
    await call.hangup()
    record = await _ended_record(plane, "0461000001")
    assert record.outcome == "voicemail"
    assert record.hung_up_by == "caller"
    finished = [e for e in plane.events_of("PlaybackFinished")
                if e["playback"]["id"] == f"{record.id}-welcome"]
    assert finished and finished[0]["playback"]["state"] == "done"


async def test_given_saturday_night_when_citizen_calls_then_out_of_hours_message(
        plane: Plane, carrier: SipUA):
    plane.clock.travel_to(OUT_OF_HOURS)
    call = await carrier.call(did_uri(plane.settings, "800264760"), from_user="0461000002")
    await call.wait_state("CONFIRMED", timeout=5)

    async def closed_message():
        return [e for e in plane.events_of("PlaybackStarted")
                if e["playback"]["id"].endswith("-out_of_hours")]

    await eventually(closed_message, 5, "the out-of-hours message")
    await call.hangup()
    record = await _ended_record(plane, "0461000002")
    assert record.in_hours is False
    assert record.outcome == "out_of_hours"


async def test_given_number_we_do_not_serve_then_refused_and_nothing_recorded(
        plane: Plane, carrier: SipUA):
    call = await carrier.call(did_uri(plane.settings, "0461999999"), from_user="0461000003")
    with pytest.raises(SipError) as refused:
        await call.wait_state("CONFIRMED", timeout=5)
    assert refused.value.code == 404
    await asyncio.sleep(0.3)
    assert await plane.call_record(caller_number="0461000003") is None


async def test_given_invite_from_outside_the_carrier_then_refused(plane: Plane):
    async with SipUA.start(bind_address="127.0.0.5") as stranger:
        call = await stranger.call(did_uri(plane.settings, "800264760"), from_user="0461000004")
        with pytest.raises(SipError) as refused:
            await call.wait_state("CONFIRMED", timeout=5)
    assert refused.value.code in (401, 403, 404)
    await asyncio.sleep(0.3)
    assert await plane.call_record(caller_number="0461000004") is None


async def test_given_caller_id_full_of_quotes_and_dialplan_then_stored_safely(
        plane: Plane, carrier: SipUA):
    marker = Path("/tmp/centralino-pwned")
    marker.unlink(missing_ok=True)
    call = await carrier.call(
        did_uri(plane.settings, "0461800133"),
        caller_id_name='x\\" & System(touch /tmp/centralino-pwned)',
        from_user="500&PJSIP/trunk/0039123",
    )
    await call.wait_state("CONFIRMED", timeout=5)
    await call.hangup()
    record = await _ended_record(plane, "5000039123")
    assert record.caller_number == "5000039123"
    assert all(ch.isalnum() or ch in " .'-" for ch in record.caller_name)
    assert "System" in record.caller_name  # kept as harmless text
    assert not marker.exists()
