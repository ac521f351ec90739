"""Asterisk queue_log lines from the control plane's writes: sequences of writes → lines.

Each case is the writes a call flow makes, in order (as the write-behind applies
them), and the lines a reporting tool reading Asterisk's queue_log must get.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ari_app.reporting.queue_log import CallTracker, Names, QueueLogLine, agent_state_lines

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = int(T0.timestamp())
NAMES = Names(queues={1: "agenzia-lavoro", 2: "uru"}, agents={7: "anna", 8: "bruno"})
Q = "agenzia-lavoro"


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- the writes, as the flows post them (op, args, "now" when applied) --------------------
def arrived(call: str = "c1", caller: str = "0461100001") -> tuple:
    return ("calls.arrived", {"call_id": call, "channel_id": f"ch-{call}", "service_id": 1,
                              "did": "800264760", "caller_number": caller, "caller_name": "",
                              "at": t(0), "in_hours": None, "service_slug": None}, t(0))


def update(call: str = "c1", now: float = 0, **fields: Any) -> tuple:
    return ("calls.update", {"call_id": call, "fields": fields}, t(now))


def queued(at: float, call: str = "c1", queue_id: int = 1) -> tuple:
    return update(call, at, queue_entered_at=t(at), queue_id=queue_id, topic=None,
                  flow_state="queued")


def ring(leg: str, agent_id: int, at: float, call: str = "c1") -> tuple:
    return ("agents.offer_started", {"call_id": call, "agent_id": agent_id,
                                     "channel_id": leg, "at": t(at)}, t(at))


def ring_over(leg: str, at: float, result: str) -> tuple:
    return ("agents.offer_ended", {"channel_id": leg, "at": t(at), "result": result}, t(at))


def answered(at: float, agent_id: int, call: str = "c1") -> tuple:
    return update(call, at, answered_at=t(at), queue_exit="answered", agent_id=agent_id,
                  flow_state="connected")


def ended(at: float, by: str, outcome: str = "answered", call: str = "c1") -> tuple:
    return ("calls.ended", {"call_id": call, "at": t(at), "hung_up_by": by, "cause": 16,
                            "outcome": outcome, "extra": {}}, t(at))


def lines(writes: list[tuple], tracker: CallTracker | None = None) -> list[str]:
    tracker = tracker or CallTracker()
    out: list[str] = []
    for op, args, now in writes:
        out += [str(line) for line in tracker.feed(op, args, NAMES, now)]
    return out


ANSWERED = [arrived(), queued(5), ring("c1-a1", 7, 6), ring_over("c1-a1", 9, "answered"),
            answered(9, 7)]

CASES = {
    "answered, the agent hangs up": (
        [*ANSWERED, ended(69, "agent")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4|c1-a1|3",
         f"{E + 69}|c1|{Q}|Agent/anna|COMPLETEAGENT|4|60|1"]),
    "answered, the caller hangs up": (
        [*ANSWERED, ended(40, "caller")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4|c1-a1|3",
         f"{E + 40}|c1|{Q}|Agent/anna|COMPLETECALLER|4|31|1"]),
    "the caller hangs up while waiting": (
        [arrived(), queued(5), ended(20, "caller", "abandoned")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 20}|c1|{Q}|NONE|ABANDON|1|1|15"]),
    "the caller hangs up while an agent's phone rings": (
        [arrived(), queued(5), ring("c1-a1", 7, 6), ring_over("c1-a1", 8.5, "caller_gone"),
         ended(8.5, "caller", "abandoned_short")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 8}|c1|{Q}|Agent/anna|RINGCANCELED|2500",
         f"{E + 8}|c1|{Q}|NONE|ABANDON|1|1|3"]),
    "wait limit: out of the queue to voicemail": (
        [arrived(), queued(5), update(now=65, queue_exit="timeout"),
         update(now=65, flow_state="busy"), update(now=66, flow_state="voicemail"),
         ended(90, "caller", "voicemail")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 65}|c1|{Q}|NONE|EXITWITHTIMEOUT|1|1|60"]),
    "nobody logged in: out of the queue at once": (
        [arrived(), queued(5), update(now=5, queue_exit="no_agents", flow_state="busy"),
         ended(30, "caller", "voicemail")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 5}|c1|{Q}|NONE|EXITEMPTY|1|1|0"]),
    "the first agent lets it ring, the second answers": (
        [arrived(), queued(5), ring("c1-a1", 7, 6), ring_over("c1-a1", 7, "no_answer"),
         ring("c1-a2", 8, 7.5), ring_over("c1-a2", 10, "answered"), answered(10, 8),
         ended(30, "caller")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 7}|c1|{Q}|Agent/anna|RINGNOANSWER|1000",
         f"{E + 10}|c1|{Q}|Agent/bruno|CONNECT|5|c1-a2|3",
         f"{E + 30}|c1|{Q}|Agent/bruno|COMPLETECALLER|5|20|1"]),
    "the agent rejects: a no-answer too": (
        [arrived(), queued(5), ring("c1-a1", 7, 6), ring_over("c1-a1", 6.2, "rejected")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 6}|c1|{Q}|Agent/anna|RINGNOANSWER|200"]),
    "ring all: the phone that did not answer is cancelled": (
        [arrived(), queued(5), ring("c1-a1", 7, 6), ring("c1-a2", 8, 6),
         ring_over("c1-a2", 8, "answered"), ring_over("c1-a1", 8, "caller_gone"),
         answered(8, 8)],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 8}|c1|{Q}|Agent/anna|RINGCANCELED|2000",
         f"{E + 8}|c1|{Q}|Agent/bruno|CONNECT|3|c1-a2|2"]),
    "blind transfer: logged when the agent hands the call over, no completion": (
        [*ANSWERED,
         update(now=30, transferred_at=t(30), resolution="escalated", flow_state="transferring"),
         update(now=35, flow_state="transferred"), ended(90, "caller")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4|c1-a1|3",
         f"{E + 30}|c1|{Q}|Agent/anna|BLINDTRANSFER||referent|4|21|1"]),
    "attended transfer: logged when completed": (
        [*ANSWERED,
         update(now=30, transferred_at=t(30), resolution="escalated", flow_state="consulting"),
         update(now=45, flow_state="transferred"), ended(90, "referent")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4|c1-a1|3",
         f"{E + 45}|c1|{Q}|Agent/anna|ATTENDEDTRANSFER|BRIDGE|call-c1|4|36|1"]),
    "attended transfer cancelled: the agent's call completes as usual": (
        [*ANSWERED,
         update(now=30, transferred_at=t(30), resolution="escalated", flow_state="consulting"),
         update(now=40, transferred_at=None, resolution=None, flow_state="connected"),
         ended(50, "agent")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4|c1-a1|3",
         f"{E + 50}|c1|{Q}|Agent/anna|COMPLETEAGENT|4|41|1"]),
    "updates merged while the writer was busy: the lines still come in order": (
        [arrived(), update(now=9, queue_entered_at=t(5), queue_id=1, flow_state="connected",
                           answered_at=t(9), queue_exit="answered", agent_id=7),
         ring("c1-a1", 7, 6), ring_over("c1-a1", 9, "answered"), ended(20, "caller")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 9}|c1|{Q}|Agent/anna|CONNECT|4||0",
         f"{E + 20}|c1|{Q}|Agent/anna|COMPLETECALLER|4|11|1"]),
    "never queued (menu, hang-up in the welcome, out of hours): no line": (
        [arrived(), update(flow_state="welcome"), ended(3, "caller", "hangup_before_queue")],
        []),
    "a call this process did not see arrive (before a restart): no line": (
        [queued(5), answered(9, 7), ended(20, "caller")], []),
    "a safety-net hand-off takes the caller out of the queue": (
        [arrived(), queued(5), update(now=12, flow_state="handed_off"),
         ended(40, "caller", "voicemail")],
        [f"{E + 5}|c1|{Q}|NONE|ENTERQUEUE||0461100001|1",
         f"{E + 12}|c1|{Q}|NONE|EXITEMPTY|1|1|7"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_writes_of_a_call_make_asterisk_queue_log_lines(case: str) -> None:
    writes, expected = CASES[case]
    tracker = CallTracker()
    assert lines(writes, tracker) == expected
    if any(op == "calls.ended" for op, _args, _now in writes):
        assert tracker.calls == 0  # an ended call is forgotten


def test_positions_follow_the_callers_ahead_leaving() -> None:
    tracker = CallTracker()
    out = lines([arrived("c1", "0461000001"), arrived("c2", "0461000002"),
                 arrived("c3", "0461000003"), queued(1, "c1"), queued(2, "c2"),
                 queued(3, "c3", queue_id=2), ended(10, "caller", "abandoned_short", "c1"),
                 ended(12, "caller", "abandoned", "c2")], tracker)
    assert out == [
        f"{E + 1}|c1|{Q}|NONE|ENTERQUEUE||0461000001|1",
        f"{E + 2}|c2|{Q}|NONE|ENTERQUEUE||0461000002|2",
        f"{E + 3}|c3|uru|NONE|ENTERQUEUE||0461000003|1",  # another queue: its own positions
        f"{E + 10}|c1|{Q}|NONE|ABANDON|1|1|9",
        f"{E + 12}|c2|{Q}|NONE|ABANDON|1|2|10"]  # moved up to 1, entered as 2nd


def test_a_field_never_breaks_the_line() -> None:
    line = QueueLogLine(E, "c1", Q, "NONE", "ENTERQUEUE", ("", "04|61\n1", 1))
    assert str(line) == f"{E}|c1|{Q}|NONE|ENTERQUEUE||04 61 1|1"


@pytest.mark.parametrize(("action", "reason", "expected"), [
    ("login", None, [f"{E}|NONE|NONE|Agent/anna|AGENTLOGIN|PJSIP/anna"]),
    ("logout", None, [f"{E}|NONE|NONE|Agent/anna|AGENTLOGOFF|PJSIP/anna|"]),
    ("pause", "pranzo", [f"{E}|NONE|{Q}|Agent/anna|PAUSE|pranzo",
                         f"{E}|NONE|uru|Agent/anna|PAUSE|pranzo"]),
    ("resume", None, [f"{E}|NONE|{Q}|Agent/anna|UNPAUSE|", f"{E}|NONE|uru|Agent/anna|UNPAUSE|"]),
])
def test_agent_states_as_asterisk_writes_them(action: str, reason: str | None,
                                              expected: list[str]) -> None:
    made = agent_state_lines("anna", action, T0, reason=reason, queues=[Q, "uru"])
    assert [str(line) for line in made] == expected
