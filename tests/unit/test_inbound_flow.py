"""The inbound call flow's decisions as plain Python, against fakes of its collaborators."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from ari_app.directory import MenuInfo, OptionInfo, QueueInfo, ServiceInfo
from ari_app.flows.inbound import CallContext, InboundCall, InvalidTransition, State, Toolkit
from ari_app.flows.menu import MenuSession
from ari_app.hours import ServiceCalendar, weekday_windows

ROME = ZoneInfo("Europe/Rome")
QUEUE = QueueInfo(1, "apiae", "APIAE", "longest_idle", 4, 300, 10, False, 30)
APPOINTMENTS = QueueInfo(2, "apiae-appuntamenti", "APIAE app.", "longest_idle", 4, 300, 10,
                         False, 30)
MENU = MenuInfo(prompt_kind="menu", timeout_seconds=5, max_invalid=2, default_queue=QUEUE,
                options={"1": OptionInfo("1", "Orari", "message", prompt_kind="hours"),
                         "2": OptionInfo("2", "Appuntamenti", "queue", queue=APPOINTMENTS)})
SERVICE = ServiceInfo(
    id=1, slug="apiae", name="APIAE",
    calendar=ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(8), time(17))),
    sounds={"welcome": "apiae-welcome-1", "out_of_hours": "apiae-ooh-1", "menu": "m"},
    queues={"apiae": QUEUE}, menu=MENU,
)


class FakeAri:
    def __init__(self):
        self.requests: list[tuple] = []

    async def answer(self, channel_id):
        self.requests.append(("answer", channel_id))

    async def play(self, channel_id, media, playback_id, lang="it"):
        self.requests.append(("play", tuple(media), playback_id))


class FakeRecords:
    def __init__(self):
        self.updates: list[dict] = []

    async def update(self, call_id, **fields):
        self.updates.append(fields)


def make_call(at: datetime):
    ari, records = FakeAri(), FakeRecords()
    kit = Toolkit(ari=ari, records=records, directory=None, agents=None, dispatcher=None,
                  clock=lambda: at, sounds_dir="/snd")
    ctx = CallContext("call-1", "chan-1", SERVICE, "0461497300", "0461123456")
    return InboundCall(ctx, kit, lambda _event: None), ari, records


async def test_given_in_hours_then_answer_and_welcome():
    call, ari, records = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME))
    await call.start()
    assert ari.requests == [("answer", "chan-1"),
                            ("play", ("sound:/snd/apiae-welcome-1",), "call-1-p1")]
    assert call.state is State.WELCOME
    assert {"in_hours": True} .items() <= records.updates[0].items()


async def test_given_holiday_then_out_of_hours_message_not_welcome():
    call, ari, _ = make_call(datetime(2026, 12, 25, 10, tzinfo=ROME))
    await call.start()
    assert ari.requests[1] == ("play", ("sound:/snd/apiae-ooh-1",), "call-1-p1")
    assert call.state is State.CLOSED_MESSAGE


async def test_an_event_the_state_does_not_accept_raises_before_touching_the_channel():
    call, ari, _ = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME))
    call.state = State.ENDED
    with pytest.raises(InvalidTransition):
        await call.start()
    assert ari.requests == []


@pytest.mark.parametrize(
    ("digits", "decisions"),
    [
        ("1", ["choose"]),
        ("2", ["choose"]),
        ("9", ["retry"]),
        ("99", ["retry", "default"]),
        ("9x", ["retry", "default"]),     # not a DTMF digit counts as invalid
        ("92", ["retry", "choose"]),
    ],
)
def test_menu_decisions(digits, decisions):
    session = MenuSession(MENU)
    assert [session.on_digit(d).kind for d in digits] == decisions


def test_menu_timeout_goes_to_the_information_queue():
    assert MenuSession(MENU).on_timeout().kind == "default"


def test_menu_choice_carries_option_and_digit_for_the_ivr_path():
    decision = MenuSession(MENU).on_digit("2")
    assert decision.option.queue == APPOINTMENTS and decision.digit == "2"
