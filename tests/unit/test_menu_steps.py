"""The menu's transfer to an office phone and its restart cases, against fakes (no Asterisk)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from ari_app.directory import MenuInfo, OptionInfo, QueueInfo, ReferentInfo, ServiceInfo
from ari_app.flows.inbound import CallContext, InboundCall, State, Toolkit
from ari_app.flows.menu import MenuSession
from ari_app.hours import ServiceCalendar, weekday_windows
from ari_app.routing import AgentView
from ari_app.transport.ari import AriError

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 1, 10, tzinfo=ROME)
MAIN = QueueInfo(1, "apiae", "APIAE", "longest_idle", 4, 300, 10, False, 30)
OFFICE = ReferentInfo("0461497399", "ufficio-apiae", "Ufficio")
MENU = MenuInfo("menu", 5, 2, MAIN, {
    "4": OptionInfo("4", "Ufficio", "transfer", referent=OFFICE, rings=3),
    "5": OptionInfo("5", "Ufficio chiuso", "transfer", referent=None),
})
SERVICE = ServiceInfo(
    id=1, slug="apiae", name="APIAE",
    calendar=ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(8), time(17))),
    sounds={"menu": "m", "busy": "b"}, queues={"apiae": MAIN}, menu=MENU)


class FakeAri:
    """Records every request; ``originate`` can be made to fail like an unknown phone."""

    def __init__(self, originate_fails: bool = False):
        self.requests: list[tuple] = []
        self.originate_fails = originate_fails

    def __getattr__(self, name):
        async def request(*args, **kwargs):
            self.requests.append((name, *args))
            if name == "originate" and self.originate_fails:
                raise AriError("POST", "/channels", 400, "endpoint not found")
            return {"channels": []}

        return request

    def named(self, name: str) -> list[tuple]:
        return [r for r in self.requests if r[0] == name]


class FakeRecords:
    def __init__(self):
        self.fields: dict = {}

    async def update(self, call_id, **fields):
        self.fields.update(fields)


class FakeAgents:
    async def of_service(self, service_id):
        return [AgentView(7, "anna", "available", NOW, frozenset(), "senior", False)]


class FakeDispatcher:
    def __init__(self):
        self.waiting = []

    def enqueue(self, waiting):
        self.waiting.append(waiting)

    def leave(self, call_id):
        pass


def make_call(ari: FakeAri, state: State = State.MENU):
    records = FakeRecords()
    kit = Toolkit(ari=ari, records=records, directory=None, agents=FakeAgents(),
                  dispatcher=FakeDispatcher(), clock=lambda: NOW, sounds_dir="/snd")
    call = InboundCall(CallContext("call-1", "chan-1", SERVICE, "0461497300", "0461123456"),
                       kit, lambda _event: None, state=state)
    call.in_hours = True
    call.menu = MenuSession(MENU)
    return call, records


async def test_given_transfer_choice_then_office_phone_rung_with_its_rings_and_ringback():
    ari = FakeAri()
    call, records = make_call(ari)
    await call.on_dtmf("4")
    assert call.state is State.REFERENT_RINGING
    assert records.fields["referent"] == "ufficio-apiae" and records.fields["ivr_path"] == "4"
    (originate,) = ari.named("originate")
    assert originate[1:] == ("call-1-m1", "PJSIP/ufficio-apiae")
    assert ari.named("play") == [("play", "chan-1", ["tone:ring"], "call-1-ringback")]


@pytest.mark.parametrize(("digit", "fails"), [("4", True), ("5", False)])
async def test_given_office_unreachable_or_gone_then_main_queue_marked_overflow(digit, fails):
    ari = FakeAri(originate_fails=fails)
    call, records = make_call(ari)
    await call.on_dtmf(digit)
    assert call.state is State.QUEUED and call.queue == MAIN
    assert records.fields["overflow"] is True and records.fields["queue_id"] == MAIN.id
    assert call.outcome() != "office_answered"


async def test_given_office_answers_then_bridged_and_counted_as_the_office_s_call():
    ari = FakeAri()
    call, _ = make_call(ari)
    await call.on_dtmf("4")
    await call.on_agent_answered("call-1-m1")
    assert call.state is State.REFERENT_CONNECTED and call.outcome() == "office_answered"
    assert ("stop_playback", "call-1-ringback") in ari.requests
    assert ari.named("add_channel") == [("add_channel", "call-call-1", "chan-1"),
                                        ("add_channel", "call-call-1", "call-1-m1")]


@pytest.mark.parametrize(
    ("state", "leg", "expected", "hangs_up_caller"),
    [
        (State.REFERENT_RINGING, None, State.QUEUED, False),           # rang out meanwhile
        (State.REFERENT_RINGING, "Ringing", State.REFERENT_RINGING, False),  # still ringing
        (State.REFERENT_RINGING, "Up", State.REFERENT_CONNECTED, False),  # answered meanwhile
        (State.REFERENT_CONNECTED, "Up", State.REFERENT_CONNECTED, False),
        (State.REFERENT_CONNECTED, None, State.REFERENT_CONNECTED, True),  # office hung up
    ],
)
async def test_given_restart_at_the_office_phone_then_carries_on_from_what_asterisk_has(
        state, leg, expected, hangs_up_caller):
    ari = FakeAri()
    call, _ = make_call(ari, state)
    call.adopt_menu_referent()
    live = {"chan-1": {"state": "Up"}, **({"call-1-m1": {"state": leg}} if leg else {})}
    await call.resume(live)
    assert call.state is expected
    assert (("hangup", "chan-1") in ari.requests) is hangs_up_caller
    if expected is State.REFERENT_CONNECTED:
        assert call.outcome() == "office_answered"
