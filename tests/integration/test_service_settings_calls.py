"""A service's settings changed in the admin page, followed by the next real SIP call: a new
number enters the service, a removed one is refused, a closure or changed hours close it,
an office added there registers its phone and takes its calls."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from centralino.web import service_changes
from models import AuditEntry, Service
from tests.integration.conftest import IN_HOURS, Plane, did_uri, eventually
from tests.integration.test_admin_menu_calls import admin_page  # noqa: F401 - the fixture
from tests.integration.test_queue import PASSWORD
from tests.integration.web.conftest import Browser
from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.asterisk

URU = "0461800133"
NEW_NUMBER = "0461800199"
SETTINGS = "/admin/services/uru/settings"


async def _heard(plane: Plane, kind: str) -> bool:
    service = await plane.service("uru")
    return await eventually(lambda: _true(plane.heard(service.sounds[kind])), 10,
                            f"uru's {kind} prompt to play")


async def _true(value: bool) -> bool:
    return value


async def _answered_call(plane: Plane, carrier: SipUA, number: str, caller: str,
                         prompt: str) -> bool:
    """Call ``number``; whether the service answered it in hours, having played ``prompt``."""
    plane.events.clear()  # only this call's playbacks count
    call = await carrier.call(did_uri(plane.settings, number), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await _heard(plane, prompt)
    await call.hangup()
    record = await plane.ended_record(caller)
    async with plane.sessions() as session:
        slug = await session.scalar(select(Service.slug).where(Service.id == record.service_id))
    assert (slug, record.did) == ("uru", number)
    return bool(record.in_hours)


async def _refused(plane: Plane, carrier: SipUA, number: str, caller: str) -> None:
    """Call ``number``: Asterisk must refuse it as a number nobody answers (404)."""
    call = await carrier.call(did_uri(plane.settings, number), from_user=caller)
    with pytest.raises(SipError) as refused:
        await call.wait_state("CONFIRMED", timeout=5)
    assert refused.value.code == 404


async def test_given_number_added_in_admin_page_then_calls_enter_the_service_until_removed(
        plane: Plane, carrier: SipUA, admin_page: Browser):  # noqa: F811
    await admin_page.get(SETTINGS)
    await _refused(plane, carrier, NEW_NUMBER, "0461377001")
    try:
        added = await admin_page.post("/admin/services/uru/dids", {"did": "0461 800 199"})
        assert added.headers["Location"] == f"{SETTINGS}?ok=number"  # dialplan reloaded
        assert await _answered_call(plane, carrier, NEW_NUMBER, "0461377002", "welcome")
    finally:
        removed = await admin_page.post(f"/admin/services/uru/dids/{NEW_NUMBER}/delete")
    assert removed.headers["Location"] == f"{SETTINGS}?ok=number"
    await _refused(plane, carrier, NEW_NUMBER, "0461377003")
    await asyncio.sleep(0.3)
    assert await plane.call_record(caller_number="0461377003") is None


async def test_given_closure_today_or_hours_changed_in_admin_page_then_out_of_hours_message(
        plane: Plane, carrier: SipUA, admin_page: Browser):  # noqa: F811
    await admin_page.get(SETTINGS)
    today = IN_HOURS.date().isoformat()  # the plane's clock: a Tuesday at 10:00
    closed = await admin_page.post("/admin/services/uru/closures",
                                   {"day": today, "reason": "Chiusura straordinaria"})
    assert closed.status == 303, await closed.text()
    try:
        assert not await _answered_call(plane, carrier, URU, "0461377011", "out_of_hours")
    finally:
        reopened = await admin_page.post(f"/admin/services/uru/closures/{today}/delete")
    assert reopened.status == 303
    assert await _answered_call(plane, carrier, URU, "0461377012", "welcome")

    state = await service_changes.settings_of(plane.sessions, "uru")
    form = {f"day{day}": text for day, text in enumerate(state["windows"])}
    form |= {"day1": "14:00-17:00", "timezone": state["timezone"],
             "mailbox_email": state["mailbox_email"] or ""}
    form |= {name: "on" for name in service_changes.OPTIONS if state[name]}
    afternoon = await admin_page.post(SETTINGS, form)
    assert afternoon.status == 303, await afternoon.text()
    async with plane.sessions() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == "uru/settings").order_by(AuditEntry.id.desc()))).first()
    try:
        assert not await _answered_call(plane, carrier, URU, "0461377013", "out_of_hours")
    finally:  # back to the seeded hours, through the audit page like an admin would
        restored = await admin_page.post(f"/admin/audit/{entry.id}/restore")
        assert restored.status == 303
    assert (await service_changes.settings_of(plane.sessions, "uru"))["windows"] == \
        state["windows"]


async def test_given_office_added_in_admin_page_then_its_phone_registers_and_takes_calls(
        plane: Plane, carrier: SipUA, admin_page: Browser):  # noqa: F811
    await admin_page.get(SETTINGS)
    number, form = "0461800177", {"number": "0461 800 177", "name": "Ufficio protocollo",
                                  "phone": "ufficio-uru", "password": PASSWORD,
                                  "password_again": PASSWORD, "rings": "3"}
    added = await admin_page.post("/admin/services/uru/offices", form)
    assert added.headers["Location"] == f"{SETTINGS}?ok=office"  # Asterisk reloaded
    phone = await SipUA.start(bind_address="127.0.0.4")
    try:
        await phone.register("ufficio-uru", PASSWORD,
                             registrar=f"sip:{plane.settings.bind_address}:"
                                       f"{plane.settings.sip_port}")
        call = await carrier.call(did_uri(plane.settings, number), from_user="0461377021")
        ringing = await phone.wait_incoming_call(timeout=5)
        assert "0461377021" in ringing.remote_uri
        await ringing.answer()
        await call.wait_state("CONFIRMED", timeout=5)
        await call.hangup()  # at once: answered by the office all the same
        await ringing.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461377021")
        assert (record.outcome, record.did) == ("office_answered", number)
    finally:
        await phone.close()
        removed = await admin_page.post(f"/admin/services/uru/offices/{number}/delete")
    assert removed.headers["Location"] == f"{SETTINGS}?ok=office"
    await _refused(plane, carrier, number, "0461377022")
