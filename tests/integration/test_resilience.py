"""Never lose a call: the control plane down, restarted, or failing inside a handler."""

from __future__ import annotations

import asyncio

import pytest

from agi_scripts.server import FastAgiServer
from agi_scripts.service_open import service_open
from ari_app.clock import ShiftedClock
from ari_app.directory import ServiceDirectory
from centralino.web import menu_changes
from tests.integration.conftest import IN_HOURS, Plane, did_uri, eventually, running_plane
from tests.integration.test_menu_flows import (
    ACTOR,
    OFFICE_PHONE,
    apiae_menus,
    found_in_plane,
    in_submenu,
    ring_office_from_menu,
    sounds_of,
)
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk


async def test_given_control_plane_down_when_citizen_calls_then_voicemail_keeps_the_message(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    asked: list[str] = []
    agi = FastAgiServer()
    handler = service_open(ServiceDirectory(sessions), ShiftedClock(IN_HOURS))

    async def recording(request):
        asked.append(request.headers.get("agi_arg_1", ""))
        await handler(request)

    agi.route("service-open", recording)
    await agi.start(settings.bind_address, settings.agi_port)
    inbox = asterisk.host_path(f"{asterisk.layout.spool}/voicemail/centralino/apiae/INBOX")
    before = set(inbox.glob("msg*.txt")) if inbox.exists() else set()
    try:
        call = await carrier.call(did_uri(settings, "0461497300"), from_user="0461000100")
        await call.wait_state("CONFIRMED", timeout=5)  # answered by voicemail, not failed
        await eventually(lambda: _async(asked), 5, "the fallback to ask whether APIAE is open")
        await asyncio.sleep(4)  # greeting, beep, then a few seconds of message
        await call.hangup()
        await call.wait_disconnected()

        async def new_message():
            return set(inbox.glob("msg*.txt")) - before if inbox.exists() else None

        messages = await eventually(new_message, 10, "the voicemail to be stored")
    finally:
        await agi.close()
    assert asked == ["apiae"]
    text = next(iter(messages)).read_text()
    assert "callerid=" in text and "0461000100" in text


async def _async(value):
    return value


async def test_given_caller_leaving_a_message_when_control_plane_restarts_then_message_filed(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    async with running_plane(settings, sessions, asterisk, clock) as plane:
        call = await carrier.call(did_uri(settings, "800264760"), from_user="0461000101")
        await call.wait_state("CONFIRMED", timeout=5)
        record = await plane.record_in_state("0461000101", "voicemail")
    # The control plane is gone; the caller goes on speaking, then hangs up.
    await asyncio.sleep(2.0)
    assert not call.disconnected
    await call.hangup()
    await call.wait_disconnected()
    assert (await _record(sessions, "0461000101")).ended_at is None  # nobody saw it
    async with running_plane(settings, sessions, asterisk, clock) as plane:
        record = await plane.ended_record("0461000101")
        messages = await eventually(lambda: plane.voicemails(record.id), 5, "the message")
    assert record.outcome == "voicemail"
    assert record.flow_state == "ended"
    assert len(messages) == 1 and messages[0].reason == "no_agents"


async def test_given_caller_hearing_welcome_when_control_plane_restarts_then_call_is_re_adopted(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    async with running_plane(settings, sessions, asterisk, clock) as plane:
        call = await carrier.call(did_uri(settings, "0461493704"), from_user="0461000102")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461000102", "welcome")
    # Down while the caller is in our application: the channel stays in Stasis.
    await asyncio.sleep(1.5)
    assert not call.disconnected
    async with running_plane(settings, sessions, asterisk, clock) as plane:
        # Re-adopted: the welcome is over, so on to the queue (nobody there: voicemail).
        await plane.record_in_state("0461000102", "voicemail")
        assert not call.disconnected
        await call.hangup()
        record = await plane.ended_record("0461000102")
    assert record.outcome == "voicemail"
    assert record.hung_up_by == "caller"
    assert record.queue_entered_at is not None


async def test_given_handler_fails_then_call_goes_to_the_fallback_not_silence(
        plane: Plane, carrier: SipUA, monkeypatch):
    from ari_app.flows.inbound import InboundCall

    async def broken_start(self):
        raise RuntimeError("a bug in a call flow")

    monkeypatch.setattr(InboundCall, "start", broken_start)
    call = await carrier.call(did_uri(plane.settings, "0461492006"), from_user="0461000103")
    await call.wait_state("CONFIRMED", timeout=5)  # voicemail answered
    await asyncio.sleep(1.0)
    assert not call.disconnected
    await call.hangup()

    async def closed():
        r = await plane.call_record(caller_number="0461000103")
        return r if r and r.ended_at else None

    record = await eventually(closed, 10, "the record to close")
    assert record.flow_state == "ended"


async def _record(sessions, caller: str):
    from sqlalchemy import select

    from models import Call

    async with sessions() as session:
        return (await session.scalars(select(Call).where(Call.caller_number == caller))).first()


async def test_given_asterisk_restarts_then_control_plane_reconnects_by_itself(
        plane: Plane, carrier: SipUA, asterisk):
    ami = plane.running.ami
    logins, connections = ami.logins, plane.running.control_plane.connections
    await asyncio.to_thread(asterisk.stop)
    await asyncio.sleep(0.5)
    await asyncio.to_thread(asterisk.start)
    # AMI logs in again (that is how we learn Asterisk restarted) and ARI reconnects.
    await eventually(lambda: _async(ami.logins > logins), 15, "AMI to log in again")
    await eventually(lambda: _async(plane.running.control_plane.connections > connections),
                     15, "ARI to reconnect")
    call = None
    for _attempt in range(30):  # the WebSocket may take a moment to come back
        call = await carrier.call(did_uri(plane.settings, "0461800133"),
                                  from_user="0461000110")
        try:
            await call.wait_state("CONFIRMED", timeout=5)
        except Exception:
            await asyncio.sleep(0.5)
            continue
        break
    await asyncio.sleep(0.3)
    await call.hangup()
    record = await plane.ended_record("0461000110")
    assert record.flow_state == "ended" and record.in_hours is True


async def test_given_caller_in_submenu_when_control_plane_restarts_then_choice_still_works(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    async with apiae_menus(settings, sessions, sounds_of(asterisk), rings=1) as (setup, _):
        await menu_changes.change_menu(sessions, ACTOR, "apiae", {
            "timeout_seconds": "6", "max_invalid": "2", "default_queue": ""},
            menu_id=setup.submenu_id)
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            call = await in_submenu(plane, carrier, "0461370007")
        await asyncio.sleep(1.0)  # nobody is listening to the caller now
        assert not call.disconnected
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            await eventually(lambda: found_in_plane(plane, "0461370007"), 10, "the call re-adopted")
            await call.send_dtmf("1")  # the submenu's 1, not the main menu's
            record = await plane.record_in_state("0461370007", "voicemail")
            await call.hangup()
            record = await plane.ended_record("0461370007")
    assert record.ivr_path == "3>1" and record.topic == "permessi"
    assert record.queue_id == setup.queues["apiae-appuntamenti"]


async def test_given_office_ringing_from_menu_when_control_plane_restarts_then_answer_bridges(
        plane_database, asterisk, carrier: SipUA):
    settings, sessions = plane_database
    clock = ShiftedClock(IN_HOURS)
    async with apiae_menus(settings, sessions, sounds_of(asterisk), rings=10) as (_, phone):
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            call, ringing = await ring_office_from_menu(plane, carrier, phone, "0461370008")
        await asyncio.sleep(1.0)
        assert not call.disconnected and not ringing.disconnected  # the phone rings on
        async with running_plane(settings, sessions, asterisk, clock) as plane:
            await eventually(lambda: found_in_plane(plane, "0461370008"), 10, "the call re-adopted")
            await ringing.answer()
            record = await plane.record_in_state("0461370008", "referent_connected")
            bridge = await plane.running.control_plane.ari.get_bridge(f"call-{record.id}")
            assert set(bridge["channels"]) == {record.channel_id, f"{record.id}-m1"}
            await call.hangup()
            await ringing.wait_disconnected(timeout=5)
            record = await plane.ended_record("0461370008")
    assert record.outcome == "office_answered" and record.hung_up_by == "caller"
    assert record.referent == OFFICE_PHONE
