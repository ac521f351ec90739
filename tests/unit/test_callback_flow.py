"""The call-back flow's decisions as plain Python, against fakes of its collaborators."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ari_app.flows.callback import (
    CallbackCall,
    CallbackKit,
    CallbackPlan,
    InvalidTransition,
    State,
    unanswered_result,
)
from ari_app.transport.ari import AriError

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLAN = CallbackPlan(callback_id="c1", agent_id=7, endpoint="anna", number="0461123456",
                    caller_id="0461492006")


class FakeAri:
    def __init__(self, refuse: str | None = None):
        self.requests: list[tuple] = []
        self.refuse = refuse

    async def originate(self, channel_id, endpoint, **kwargs):
        if self.refuse == endpoint:
            raise AriError("POST", "/channels", 500, "Allocation failed")
        self.requests.append(("originate", channel_id, endpoint, kwargs))

    def __getattr__(self, name):
        async def request(*args, **kwargs):
            self.requests.append((name, *args))
        return request


class FakeRecords:
    def __init__(self):
        self.writes: list[tuple] = []

    def update(self, callback_id, **fields):
        self.writes.append(("update", fields))

    def answered(self, callback_id, at):
        self.writes.append(("answered",))

    def ended(self, callback_id, **fields):
        self.writes.append(("ended", fields["result"], fields["hung_up_by"]))


class FakeAgents:
    def __init__(self):
        self.states: list[tuple] = []

    async def set_state(self, agent_id, state, at, *, only_if=None):
        self.states.append((agent_id, state, only_if))

    async def wrapup_seconds(self, agent_id):
        return 10


class FakeDispatcher:
    def __init__(self):
        self.wrapups: list[tuple] = []

    def schedule_wrapup_end(self, agent_id, seconds):
        self.wrapups.append((agent_id, seconds))

    def kick(self):
        pass


def make(state: State = State.RINGING_AGENT, refuse: str | None = None):
    kit = CallbackKit(ari=FakeAri(refuse), records=FakeRecords(), agents=FakeAgents(),
                      dispatcher=FakeDispatcher(), clock=lambda: AT, ring_on_ms=1000,
                      ring_off_ms=4000)
    return CallbackCall(PLAN, kit, state), kit


def originated(kit) -> list[tuple]:
    return [r for r in kit.ari.requests if r[0] == "originate"]


async def test_start_rings_the_agents_own_phone_showing_the_number():
    flow, kit = make()
    await flow.start()
    [(_, channel, endpoint, args)] = originated(kit)
    assert (channel, endpoint) == ("cb-c1-agent", "PJSIP/anna")
    assert args["app_args"] == "callback,c1" and args["caller_id"] == "0461123456"
    assert args["timeout"] == 16  # 4 rings of the Italian cadence


async def test_agent_answers_then_ringing_tone_and_only_the_recorded_number_is_dialled():
    flow, kit = make()
    await flow.on_answered("cb-c1-agent")
    assert flow.state is State.DIALLING
    play = next(r for r in kit.ari.requests if r[0] == "play")
    assert play[1] == "cb-c1-agent" and play[2][0].startswith("tone:ring")
    [(_, channel, endpoint, args)] = originated(kit)
    assert (channel, endpoint) == ("cb-c1-citizen", "PJSIP/0461123456@carrier")
    assert args["originator"] == "cb-c1-agent" and args["caller_id"] == "0461492006"


async def test_citizen_answers_then_both_legs_in_the_derivable_bridge_and_item_done():
    flow, kit = make(State.DIALLING)
    await flow.on_answered("cb-c1-citizen")
    assert ("create_bridge", "callback-c1", "mixing", "callback-c1") in kit.ari.requests
    assert ("add_channel", "callback-c1", "cb-c1-agent") in kit.ari.requests
    assert ("add_channel", "callback-c1", "cb-c1-citizen") in kit.ari.requests
    assert flow.state is State.CONNECTED and ("answered",) in kit.records.writes


@pytest.mark.parametrize(("cause", "result"), [
    (17, "busy"), (21, "busy"), (19, "no_answer"), (None, "no_answer"), (0, "no_answer"),
    (1, "failed"), (34, "failed"), (127, "failed")])
def test_unanswered_citizen_leg_cause_to_result(cause, result):
    assert unanswered_result(cause) == result


async def test_citizen_busy_then_agent_hung_up_and_available_again():
    flow, kit = make(State.DIALLING)
    await flow.on_leg_gone("cb-c1-citizen", 17)
    assert ("hangup", "cb-c1-agent") in kit.ari.requests
    assert kit.records.writes[-1] == ("ended", "busy", "citizen")
    assert kit.agents.states == [(7, "available", ("on_call",))]
    assert flow.state is State.ENDED


async def test_conversation_over_then_wrapup_as_after_an_inbound_call():
    flow, kit = make(State.CONNECTED)
    await flow.on_leg_gone("cb-c1-agent", 16)
    await flow.on_leg_gone("cb-c1-citizen", 16)  # the second leg's end changes nothing
    assert ("hangup", "cb-c1-citizen") in kit.ari.requests
    assert ("destroy_bridge", "callback-c1") in kit.ari.requests
    assert [w for w in kit.records.writes if w[0] == "ended"] == [("ended", "answered", "agent")]
    assert kit.agents.states == [(7, "wrapup", ("on_call",))]
    assert kit.dispatcher.wrapups == [(7, 10)]


async def test_carrier_refuses_the_originate_then_failed_and_agent_leg_dropped():
    flow, kit = make(refuse="PJSIP/0461123456@carrier")
    await flow.on_answered("cb-c1-agent")
    assert ("hangup", "cb-c1-agent") in kit.ari.requests
    assert kit.records.writes[-1] == ("ended", "failed", "system")
    assert kit.agents.states == [(7, "available", ("on_call",))]


async def test_agent_hangs_up_while_citizen_rings_then_cancelled():
    flow, kit = make(State.DIALLING)
    await flow.on_leg_gone("cb-c1-agent", 16)
    assert ("hangup", "cb-c1-citizen") in kit.ari.requests
    assert kit.records.writes[-1] == ("ended", "cancelled", "agent")


@pytest.mark.parametrize(("state", "live", "expected"), [
    (State.CONNECTED, {"cb-c1-agent": {"state": "Up"}, "cb-c1-citizen": {"state": "Up"}},
     State.CONNECTED),
    (State.CONNECTED, {"cb-c1-agent": {"state": "Up"}}, State.ENDED),
    (State.RINGING_AGENT, {"cb-c1-agent": {"state": "Ringing"}}, State.RINGING_AGENT),
    (State.RINGING_AGENT, {"cb-c1-agent": {"state": "Up"}}, State.DIALLING),
    (State.RINGING_AGENT, {}, State.ENDED),
    (State.DIALLING, {"cb-c1-agent": {"state": "Up"}, "cb-c1-citizen": {"state": "Up"}},
     State.CONNECTED),
    (State.DIALLING, {"cb-c1-agent": {"state": "Up"}}, State.ENDED),
])
async def test_resumed_after_a_restart_then_catches_up_with_asterisk(state, live, expected):
    flow, _ = make(state)
    await flow.resume(live)
    assert flow.state is expected


async def test_an_answer_the_state_does_not_expect_hangs_that_leg_up():
    flow, kit = make(State.ENDED)
    await flow.on_answered("cb-c1-citizen")
    assert kit.ari.requests == [("hangup", "cb-c1-citizen")]
    flow.state = State.CONNECTED
    with pytest.raises(InvalidTransition):
        await flow._agent_answered()
