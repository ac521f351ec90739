"""A citizen's call over real SIP: what they hear, where the call lands, what is recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from centralino.seed import SERVICES
from models import Call
from tests.integration.conftest import OUT_OF_HOURS, Plane, did_uri, eventually
from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.asterisk

SEEDED_DIDS = [(spec.slug, did.replace(" ", "")) for spec in SERVICES for did in spec.dids]


async def _true(value):
    return value


@pytest.mark.parametrize(("slug", "did"), SEEDED_DIDS)
async def test_given_service_in_hours_when_citizen_calls_did_then_welcome_and_full_record(
        plane: Plane, carrier: SipUA, slug: str, did: str):
    caller = f"04619{did[-5:]}"
    service = await plane.service(slug)
    call = await carrier.call(did_uri(plane.settings, did), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await eventually(lambda: _true(plane.heard(service.sounds["welcome"])), 5, "the welcome")
    await call.hangup()
    record = await plane.ended_record(caller)

    assert record.service_id == service.id
    assert record.did == did
    assert record.in_hours is True
    assert record.arrived_at <= record.pbx_answered_at <= record.ended_at
    assert record.hung_up_by == "caller"
    assert record.outcome == "hangup_before_queue"
    assert record.flow_state == "ended"
    assert record.queue_entered_at is None


async def test_given_no_agent_logged_in_when_caller_queues_then_busy_message_and_voicemail(
        plane: Plane, carrier: SipUA, asterisk):
    service = await plane.service("agenzia-lavoro")
    call = await carrier.call(did_uri(plane.settings, "800264760"), from_user="0461000001")
    await call.wait_state("CONFIRMED", timeout=5)
    record = await plane.record_in_state("0461000001", "voicemail")
    assert plane.heard(service.sounds["busy"])
    await asyncio.sleep(2.5)  # the caller speaks after the beep
    await call.hangup()
    record = await plane.ended_record("0461000001")
    assert record.queue_entered_at is not None
    assert record.queue_id == service.main_queue.id
    assert record.outcome == "voicemail"
    [message] = await eventually(lambda: plane.voicemails(record.id), 5, "the voicemail row")
    assert message.reason == "no_agents" and message.callback_requested
    assert message.caller_number == "0461000001"
    assert message.duration_seconds is not None and message.duration_seconds >= 1
    audio = asterisk.host_path(f"{asterisk.layout.spool}/{message.audio_path}")
    assert audio.exists() and audio.stat().st_size > 1000


async def test_given_saturday_night_when_citizen_calls_then_hours_message_and_voicemail(
        plane: Plane, carrier: SipUA):
    plane.clock.travel_to(OUT_OF_HOURS)
    service = await plane.service("agenzia-lavoro")
    call = await carrier.call(did_uri(plane.settings, "800264760"), from_user="0461000002")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461000002", "voicemail")
    assert plane.heard(service.sounds["out_of_hours"])
    assert not plane.heard(service.sounds["welcome"])
    await asyncio.sleep(2)
    await call.hangup()
    record = await plane.ended_record("0461000002")
    assert record.in_hours is False
    assert record.outcome == "out_of_hours"
    [message] = await eventually(lambda: plane.voicemails(record.id), 5, "the voicemail row")
    assert message.reason == "out_of_hours" and not message.callback_requested


async def test_given_apiae_when_caller_presses_1_then_office_hours_and_goodbye_ivr_only(
        plane: Plane, carrier: SipUA):
    service = await plane.service("apiae")
    call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user="0461000010")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461000010", "menu")
    await call.send_dtmf("1")
    disconnected = await call.wait_disconnected(timeout=10)  # the IVR hangs up after goodbye
    assert disconnected["state"] == "DISCONNECTED"
    record = await plane.ended_record("0461000010")
    assert record.ivr_path == "1"
    assert record.outcome == "ivr_only"
    assert record.hung_up_by == "system"
    assert record.queue_entered_at is None
    assert plane.heard(service.sounds["hours"]) and plane.heard(service.sounds["goodbye"])


async def test_given_apiae_when_caller_presses_2_then_appointments_queue(
        plane: Plane, carrier: SipUA):
    service = await plane.service("apiae")
    call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user="0461000011")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461000011", "menu")
    await call.send_dtmf("2")
    record = await plane.record_in_state("0461000011", "voicemail")  # nobody logged in
    await call.hangup()
    assert record.ivr_path == "2"
    assert record.queue_id == service.queues["apiae-appuntamenti"].id


@pytest.mark.parametrize(("digits", "expected_path"), [("", ""), ("77", "")])
async def test_given_apiae_when_no_choice_or_invalid_twice_then_information_queue(
        plane: Plane, carrier: SipUA, digits: str, expected_path: str):
    caller = f"046100002{len(digits)}"
    service = await plane.service("apiae")
    call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state(caller, "menu")
    for digit in digits:
        await asyncio.sleep(0.3)
        await call.send_dtmf(digit)
    record = await plane.record_in_state(caller, "voicemail")
    await call.hangup()
    assert record.queue_id == service.queues["apiae"].id
    assert record.ivr_path == expected_path
    if digits:
        assert plane.heard(service.sounds["invalid"])


async def test_given_trentino_digitale_when_caller_presses_3_then_topic_recorded(
        plane: Plane, carrier: SipUA):
    call = await carrier.call(did_uri(plane.settings, "800228040"), from_user="0461000030")
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state("0461000030", "menu")
    await call.send_dtmf("3")
    record = await plane.record_in_state("0461000030", "voicemail")
    await call.hangup()
    assert record.ivr_path == "3"
    assert record.topic == "geocartografico"


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
    record = await plane.ended_record("5000039123")
    assert record.caller_number == "5000039123"
    assert all(ch.isalnum() or ch in " .'-" for ch in record.caller_name)
    assert "System" in record.caller_name  # kept as harmless text
    assert not marker.exists()


async def test_given_protezione_civile_then_welcome_says_it_is_not_an_emergency_number(
        plane: Plane, carrier: SipUA):
    service = await plane.service("protezione-civile")
    call = await carrier.call(did_uri(plane.settings, "800840840"), from_user="0461000040")
    await call.wait_state("CONFIRMED", timeout=5)
    await eventually(lambda: _true(plane.heard(service.sounds["emergency"])), 8,
                     "the 112 notice after the welcome")
    await call.hangup()
    await plane.ended_record("0461000040")
    other = await plane.service("uru")
    assert "emergency" not in other.sounds  # only where configured


async def test_given_motorizzazione_then_office_hours_message_before_the_queue(
        plane: Plane, carrier: SipUA):
    service = await plane.service("motorizzazione")
    call = await carrier.call(did_uri(plane.settings, "0461492002"), from_user="0461000041")
    await call.wait_state("CONFIRMED", timeout=5)

    async def in_the_queue() -> Call | None:
        # Still queued or on to voicemail: an agent of the service left logged in by
        # another test decides which, and neither is what this test is about.
        record = await plane.call_record(caller_number="0461000041")
        return record if record is not None and record.queue_entered_at else None

    await eventually(in_the_queue, 10, "the call from 0461000041 to enter the queue")
    await call.hangup()
    assert plane.heard(service.sounds["welcome"]) and plane.heard(service.sounds["hours"])


async def test_given_apiae_notices_when_caller_chooses_appointments_then_only_valid_ones(
        plane: Plane, carrier: SipUA, asterisk):
    from datetime import timedelta

    from sqlalchemy import delete

    from centralino.cli import sounds_dir_in
    from centralino.runtime import record_prompts
    from models import Notice
    from tests.integration.conftest import IN_HOURS

    service = await plane.service("apiae")
    today = IN_HOURS.date()
    async with plane.sessions() as session:
        session.add_all([
            Notice(service_id=service.id, text="Bando fotovoltaico aperto.",
                   valid_from=today - timedelta(days=5), valid_until=today + timedelta(days=5)),
            Notice(service_id=service.id, text="Bando scaduto.",
                   valid_from=today - timedelta(days=30), valid_until=today - timedelta(days=1)),
        ])
        await session.commit()
    try:
        await record_prompts(plane.sessions, asterisk.host_path(sounds_dir_in(asterisk)))
        async with plane.sessions() as session:
            sounds = {n.text: n.sound for n in (await session.scalars(
                select_notices(service.id))).all()}
        call = await carrier.call(did_uri(plane.settings, "0461497300"), from_user="0461000042")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461000042", "menu")
        await call.send_dtmf("2")
        await plane.record_in_state("0461000042", "voicemail")
        await call.hangup()
        assert plane.heard(sounds["Bando fotovoltaico aperto."])
        assert not plane.heard(sounds["Bando scaduto."])
    finally:
        async with plane.sessions() as session:
            await session.execute(delete(Notice))
            await session.commit()


def select_notices(service_id: int):
    from sqlalchemy import select

    from models import Notice

    return select(Notice).where(Notice.service_id == service_id)
