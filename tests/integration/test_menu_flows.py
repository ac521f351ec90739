"""Real SIP: a menu choice that rings an office phone, and submenus, set up as an admin does.

APIAE's menu gets, through the admin pages' own functions, a choice 4 that rings
an office phone and a choice 3 that opens a submenu (1: appointments with a skill);
each test removes them again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from centralino.cli import sounds_dir_in
from centralino.live_config import apply_configuration, config_target
from centralino.offices import add_office, remove_office
from centralino.web import changes, menu_changes
from models import MenuOption, Queue
from tests.integration.conftest import Plane, did_uri, eventually
from tests.integration.test_queue import PASSWORD, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

APIAE = "0461497300"
OFFICE_NUMBER = "0461497399"
OFFICE_PHONE = "ufficio-apiae"
ACTOR = "menuflow-test"


@dataclass
class Setup:
    submenu_id: int
    submenu_sound: str
    queues: dict[str, int]


@contextlib.asynccontextmanager
async def apiae_menus(settings, sessions, sounds_dir: Path, *, rings: int
                      ) -> AsyncIterator[tuple[Setup, SipUA]]:
    """APIAE's choice 4 rings its office phone (registered), choice 3 opens a submenu."""
    target = config_target(settings, None)
    await add_office(sessions, OFFICE_NUMBER, service="apiae", endpoint=OFFICE_PHONE,
                     password=PASSWORD, rings=4, name="Ufficio APIAE")
    await apply_configuration(settings, sessions, target)
    phone = await SipUA.start(bind_address="127.0.0.4")
    transfer = submenu = None
    try:
        await phone.register(OFFICE_PHONE, PASSWORD,
                             registrar=f"sip:{settings.bind_address}:{settings.sip_port}")
        transfer = await menu_changes.save_option(sessions, ACTOR, "apiae", None, {
            "digit": "4", "label": "Ufficio", "action": "transfer",
            "transfer": OFFICE_NUMBER, "rings": str(rings)})
        submenu = await menu_changes.save_option(sessions, ACTOR, "apiae", None, {
            "digit": "3", "label": "Altri servizi", "action": "submenu"})
        async with sessions() as session:
            sub_id = (await session.get(MenuOption, submenu)).submenu_id
            queues = {q.slug: q.id for q in await session.scalars(select(Queue))}
        sound = await changes.change_prompt_text(
            sessions, sounds_dir, ACTOR, "apiae", f"submenu{sub_id}", "Sottomenu.")
        await menu_changes.save_option(sessions, ACTOR, "apiae", None, {
            "digit": "1", "label": "Permessi", "action": "queue",
            "queue": "apiae-appuntamenti", "skill": "permessi"}, menu_id=sub_id)
        yield Setup(sub_id, sound, queues), phone
    finally:
        await phone.close()
        for option_id in [*await _choices_below(sessions, submenu), submenu, transfer]:
            if option_id is not None:
                await menu_changes.delete_option(sessions, ACTOR, "apiae", option_id)
        await remove_office(sessions, OFFICE_NUMBER)
        await apply_configuration(settings, sessions, target)


async def _choices_below(sessions, opener: int | None) -> list[int]:
    """The choices of the submenu a choice opens (they go before it)."""
    if opener is None:
        return []
    async with sessions() as session:
        sub = (await session.get(MenuOption, opener)).submenu_id
        return list(await session.scalars(select(MenuOption.id).where(
            MenuOption.menu_id == sub)))


def sounds_of(asterisk) -> Path:
    return asterisk.host_path(sounds_dir_in(asterisk))


@pytest.fixture
async def menus(plane: Plane, asterisk) -> AsyncIterator[tuple[Setup, SipUA]]:
    async with apiae_menus(plane.settings, plane.sessions, sounds_of(asterisk), rings=1) as got:
        yield got


async def in_menu(plane: Plane, carrier: SipUA, caller: str):
    call = await carrier.call(did_uri(plane.settings, APIAE), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state(caller, "menu")
    return call


async def ring_office_from_menu(plane: Plane, carrier: SipUA, phone: SipUA, caller: str):
    """A caller presses 4: the office phone rings, the record says so; both calls back."""
    call = await in_menu(plane, carrier, caller)
    await call.send_dtmf("4")
    ringing = await phone.wait_incoming_call(timeout=5)
    assert caller in ringing.remote_uri  # the office sees who is calling
    record = await plane.record_in_state(caller, "referent_ringing")
    assert record.referent == OFFICE_PHONE and record.ivr_path == "4"
    return call, ringing


async def in_submenu(plane: Plane, carrier: SipUA, caller: str):
    """A caller presses 3 and is in the submenu: the record's path says so."""
    call = await in_menu(plane, carrier, caller)
    await call.send_dtmf("3")
    await path_reached(plane, caller, "3")
    return call


async def path_reached(plane: Plane, caller: str, path: str):
    async def probe():
        record = await plane.call_record(caller_number=caller)
        return record if record is not None and record.ivr_path == path else None

    return await eventually(probe, 10, f"the IVR path {path!r}")


async def test_given_transfer_choice_when_office_answers_then_caller_and_office_bridged(
        plane: Plane, carrier: SipUA, asterisk):
    async with apiae_menus(plane.settings, plane.sessions, sounds_of(asterisk), rings=4) as (
            _, phone):
        call, ringing = await ring_office_from_menu(plane, carrier, phone, "0461370001")
        await ringing.answer()
        record = await plane.record_in_state("0461370001", "referent_connected")
        bridge = await plane.running.control_plane.ari.get_bridge(f"call-{record.id}")
        assert set(bridge["channels"]) == {record.channel_id, f"{record.id}-m1"}
        await asyncio.sleep(0.5)
        await ringing.hangup()  # the office ends the conversation
        await call.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461370001")
    assert record.outcome == "office_answered" and record.hung_up_by == "referent"
    assert record.queue_entered_at is None and record.overflow is False
    assert record.referent == OFFICE_PHONE and record.ivr_path == "4"


async def test_given_transfer_choice_when_office_does_not_answer_then_an_agent_takes_it(
        plane: Plane, carrier: SipUA, menus):
    _, phone = menus
    async with team(plane.settings, plane.sessions, ["mfagent"], services=("apiae",)) as agents:
        call = await in_menu(plane, carrier, "0461370002")
        await call.send_dtmf("4")
        office_ring = await phone.wait_incoming_call(timeout=5)
        await office_ring.ring()  # 1 ring, then the call goes on
        await office_ring.wait_disconnected(timeout=10)
        agent_ring = await agents.phones.wait_incoming_call(timeout=10, account="mfagent")
        await agent_ring.answer()
        record = await plane.record_in_state("0461370002", "connected")
        await call.hangup()
        record = await plane.ended_record("0461370002")
    assert record.outcome == "answered" and record.overflow is True
    assert record.referent == OFFICE_PHONE and record.ivr_path == "4"
    assert record.transferred_at is None  # not an agent's escalation: Q is untouched
    service = await plane.service("apiae")
    assert record.queue_id == service.main_queue.id


async def test_given_submenu_when_caller_presses_3_then_1_then_submenu_queue_and_path(
        plane: Plane, carrier: SipUA, menus):
    setup, _ = menus
    call = await in_submenu(plane, carrier, "0461370003")
    await call.send_dtmf("1")
    record = await plane.record_in_state("0461370003", "voicemail")  # nobody logged in
    await call.hangup()
    record = await plane.ended_record("0461370003")
    assert record.ivr_path == "3>1" and record.topic == "permessi"
    assert record.queue_id == setup.queues["apiae-appuntamenti"]
    assert plane.heard(setup.submenu_sound)


async def test_given_submenu_when_invalid_digits_then_submenus_own_default_queue(
        plane: Plane, carrier: SipUA, menus):
    setup, _ = menus
    await menu_changes.change_menu(plane.sessions, ACTOR, "apiae", {
        "timeout_seconds": "5", "max_invalid": "2", "default_queue": "apiae-appuntamenti"},
        menu_id=setup.submenu_id)
    service = await plane.service("apiae")
    call = await in_submenu(plane, carrier, "0461370004")
    await call.send_dtmf("9")
    await asyncio.sleep(0.3)
    await call.send_dtmf("9")
    record = await plane.record_in_state("0461370004", "voicemail")
    await call.hangup()
    assert record.ivr_path == "3" and record.topic is None
    assert record.queue_id == setup.queues["apiae-appuntamenti"]
    assert plane.heard(service.sounds["invalid"])


async def test_given_submenu_when_no_choice_then_the_services_information_queue(
        plane: Plane, carrier: SipUA, menus):
    call = await in_submenu(plane, carrier, "0461370005")
    record = await plane.record_in_state("0461370005", "voicemail")  # after the 1 s wait
    await call.hangup()
    service = await plane.service("apiae")
    assert record.ivr_path == "3" and record.queue_id == service.main_queue.id


async def test_given_submenu_when_star_then_back_to_the_main_menu(
        plane: Plane, carrier: SipUA, menus):
    setup, _ = menus
    await menu_changes.change_menu(plane.sessions, ACTOR, "apiae", {
        "timeout_seconds": "5", "max_invalid": "2", "default_queue": ""},
        menu_id=setup.submenu_id)
    call = await in_submenu(plane, carrier, "0461370006")
    await call.send_dtmf("*")
    await path_reached(plane, "0461370006", "")
    await call.send_dtmf("2")  # the main menu's 2: appointments, after the notices
    record = await plane.record_in_state("0461370006", "voicemail")
    await call.hangup()
    assert record.ivr_path == "2" and record.queue_id == setup.queues["apiae-appuntamenti"]


async def found_in_plane(plane: Plane, caller: str) -> bool:
    return any(h.flow is not None and h.flow.ctx.caller_number == caller
               for h in plane.running.control_plane.active_calls)


async def test_given_office_ringing_from_menu_when_caller_hangs_up_then_phone_stops_ringing(
        plane: Plane, carrier: SipUA, asterisk):
    async with apiae_menus(plane.settings, plane.sessions, sounds_of(asterisk), rings=10) as (
            _, phone):
        call, ringing = await ring_office_from_menu(plane, carrier, phone, "0461370009")
        await call.hangup()
        await ringing.wait_disconnected(timeout=5)
        record = await plane.ended_record("0461370009")
    assert record.outcome == "hangup_before_queue" and record.hung_up_by == "caller"
    assert record.referent == OFFICE_PHONE and record.overflow is False


async def test_given_office_phone_switched_off_when_chosen_then_main_queue_marked_overflow(
        plane: Plane, carrier: SipUA, menus):
    target = config_target(plane.settings, None)
    await add_office(plane.sessions, "0461497398", service="apiae", endpoint="ufficio-spento",
                     password=PASSWORD, rings=2)
    await apply_configuration(plane.settings, plane.sessions, target)
    option = await _transfer_option(plane)
    try:
        await menu_changes.save_option(plane.sessions, ACTOR, "apiae", option.id, {
            "digit": "4", "label": "Ufficio spento", "action": "transfer",
            "transfer": "0461497398", "rings": "2"})
        call = await in_menu(plane, carrier, "0461370010")
        await call.send_dtmf("4")
        record = await plane.record_in_state("0461370010", "voicemail")  # nobody logged in
        await call.hangup()
        record = await plane.ended_record("0461370010")
    finally:
        await remove_office(plane.sessions, "0461497398")
        await apply_configuration(plane.settings, plane.sessions, target)
    service = await plane.service("apiae")
    assert record.overflow is True and record.referent == "ufficio-spento"
    assert record.queue_id == service.main_queue.id and record.ivr_path == "4"


async def _transfer_option(plane: Plane) -> MenuOption:
    async with plane.sessions() as session:
        return await session.scalar(select(MenuOption).where(
            MenuOption.action == "transfer", MenuOption.transfer_number == OFFICE_NUMBER))
