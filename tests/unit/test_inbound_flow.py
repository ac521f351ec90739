"""The inbound call flow as plain Python: decisions and the requests they lead to."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from ari_app.directory import ServiceInfo
from ari_app.flows.inbound import CallContext, InboundCall, InvalidTransition, State
from ari_app.hours import ServiceCalendar, weekday_windows

ROME = ZoneInfo("Europe/Rome")
SERVICE = ServiceInfo(
    id=1, slug="apiae", name="APIAE",
    calendar=ServiceCalendar("Europe/Rome", weekday_windows(range(5), time(8), time(17))),
    sounds={"welcome": "apiae-welcome-1", "out_of_hours": "apiae-ooh-1"},
)


class FakeAri:
    def __init__(self):
        self.requests: list[tuple] = []

    async def answer(self, channel_id):
        self.requests.append(("answer", channel_id))

    async def play(self, channel_id, media, playback_id, lang="it"):
        self.requests.append(("play", channel_id, tuple(media), playback_id))

    async def set_variable(self, channel_id, name, value):
        self.requests.append(("set", name, value))

    async def subscribe(self, source):
        self.requests.append(("subscribe", source))

    async def continue_in_dialplan(self, channel_id, **_):
        self.requests.append(("continue", channel_id))

    async def hangup(self, channel_id, reason="normal"):
        self.requests.append(("hangup", channel_id, reason))


class FakeRecords:
    def __init__(self):
        self.updates: list[dict] = []
        self.closed: list[dict] = []

    async def update(self, call_id, **fields):
        self.updates.append(fields)

    async def ended(self, call_id, **fields):
        self.closed.append(fields)
        return True


def make_call(at: datetime, service: ServiceInfo = SERVICE):
    ari, records = FakeAri(), FakeRecords()
    ctx = CallContext("call-1", "chan-1", service, "0461497300", "/snd")
    return InboundCall(ctx, ari, records, lambda: at), ari, records


async def test_given_in_hours_then_answer_and_welcome_then_hand_off_on_its_end():
    call, ari, records = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME))
    await call.start()
    assert ari.requests[:2] == [("answer", "chan-1"),
                                ("play", "chan-1", ("sound:/snd/apiae-welcome-1",),
                                 "call-1-welcome")]
    assert call.state is State.WELCOME
    await call.on_playback_finished("call-1-welcome")
    assert call.state is State.HANDED_OFF
    assert ("subscribe", "channel:chan-1") in ari.requests
    assert ("set", "CENTRALINO_VM_GREETING", "b") in ari.requests
    assert ari.requests[-1] == ("continue", "chan-1")
    await call.on_hangup(16)
    assert records.closed == [{"at": records.closed[0]["at"], "hung_up_by": "system",
                               "cause": 16, "outcome": "voicemail"}]


async def test_given_holiday_then_out_of_hours_message_and_unavailable_greeting():
    call, ari, records = make_call(datetime(2026, 12, 25, 10, tzinfo=ROME))
    await call.start()
    assert ari.requests[1][3] == "call-1-out_of_hours"
    await call.on_playback_finished("call-1-out_of_hours")
    assert ("set", "CENTRALINO_VM_GREETING", "u") in ari.requests
    call.on_hangup_request(soft=False, cause=16)
    await call.on_hangup(16)
    assert records.closed[0]["outcome"] == "out_of_hours"
    assert records.closed[0]["hung_up_by"] == "caller"


async def test_given_caller_hangs_up_during_welcome_then_no_hand_off_and_record_closed_once():
    call, ari, records = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME))
    await call.start()
    call.on_hangup_request(soft=False, cause=None)
    await call.on_playback_finished("call-1-welcome")  # "failed": the channel is going
    assert not any(r[0] == "continue" for r in ari.requests)
    await call.on_stasis_end()
    await call.on_hangup(16)  # a late duplicate changes nothing
    assert len(records.closed) == 1
    assert records.closed[0]["outcome"] == "hangup_before_queue"
    assert records.closed[0]["hung_up_by"] == "caller"


async def test_given_service_without_recordings_then_caller_still_reaches_voicemail():
    bare = ServiceInfo(id=2, slug="uru", name="URU", calendar=SERVICE.calendar, sounds={})
    call, ari, _ = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME), bare)
    await call.start()
    assert not any(r[0] == "play" for r in ari.requests)
    assert call.state is State.HANDED_OFF


async def test_an_event_the_state_does_not_accept_raises():
    call, ari, _ = make_call(datetime(2026, 12, 1, 10, tzinfo=ROME))
    call.state = State.ENDED
    with pytest.raises(InvalidTransition):
        await call.start()
    assert ari.requests == []  # refused before touching the channel
