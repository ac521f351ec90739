"""Asterisk's CEL rebuilt into per-call facts, on a sample recorded from the real sandbox.

``data/cel_sample.csv`` is Asterisk 22's CEL of ``test_sla_records``' scenario
(Agenzia del Lavoro: answered after 5 s and 20 s, hung up in the queue after 4 s
and 15 s, out of hours; APIAE: IVR only) followed by the wait-limit test of
``test_queue`` (queue → voicemail), as the sandbox wrote it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from centralino.sla.asterisk_records import (
    as_call_facts,
    classify,
    parse_cel,
    read_cel,
    rebuild_calls,
)
from centralino.sla.figures import Targets, figures, tally_calls

SAMPLE = Path(__file__).parent / "data" / "cel_sample.csv"


@pytest.fixture(scope="module")
def calls():
    by_number = {c.caller_number: c for c in rebuild_calls(read_cel(SAMPLE)).values()}
    assert len(by_number) == 7  # one per caller: agent legs and music on hold are not callers
    return by_number


@pytest.mark.parametrize(("caller", "dnid", "expected", "queued", "agent", "answer_after",
                          "end_after"), [
    ("0461700105", "800264760", "answered", True, "PJSIP/slaanna-", 5, None),
    ("0461700120", "800264760", "answered", True, "PJSIP/slabruno-", 20, None),
    ("0461700204", "800264760", "abandoned_short", True, None, None, 4),
    ("0461700215", "800264760", "abandoned", True, None, None, 15),
    ("0461700301", "0461497300", "not_queued", False, None, None, None),   # IVR only
    ("0461700401", "800264760", "not_queued", False, None, None, None),    # out of hours
    ("0461100020", "800264760", "left_queue", True, None, None, None),     # wait limit
])
def test_given_recorded_cel_then_each_caller_as_asterisk_saw_it(
        calls, caller, dnid, expected, queued, agent, answer_after, end_after):
    call = calls[caller]
    assert call.dnid == dnid and call.channel.startswith("PJSIP/carrier-")
    assert classify(call) == expected
    assert (call.call_id is not None) is queued
    assert (call.queue_entered_at is not None) is queued
    assert call.ended_at is not None and call.started_at < call.ended_at
    if agent is None:
        assert call.agent_channel is None and call.agent_joined_at is None
    else:
        assert call.agent_channel.startswith(agent)
        waited = (call.agent_joined_at - call.queue_entered_at).total_seconds()
        assert waited == pytest.approx(answer_after, abs=0.1)
    if end_after is not None:
        stayed = (call.ended_at - call.queue_entered_at).total_seconds()
        assert stayed == pytest.approx(end_after, abs=0.1)


def test_given_recorded_cel_then_the_call_id_comes_from_the_queue_bridge(calls):
    assert calls["0461700105"].call_id == "1e294cfa-15fd-4feb-a154-e180a5572f9f"


def test_given_caller_moved_to_voicemail_then_not_a_hang_up_in_the_queue(calls):
    waited = calls["0461100020"]
    assert (waited.queue_left_at - waited.queue_entered_at).total_seconds() == pytest.approx(
        2, abs=0.1)  # the queue's wait limit in that test
    assert (waited.ended_at - waited.queue_left_at).total_seconds() > 1  # busy prompt, beep
    assert not waited.hung_up_in_queue
    assert calls["0461700215"].hung_up_in_queue


def test_given_who_hung_up_then_hangup_source(calls):
    assert calls["0461700204"].hangup_source == calls["0461700204"].channel   # the caller
    assert calls["0461700301"].hangup_source == ""   # the IVR hung up after its goodbye


def test_given_recorded_cel_then_event_times_keep_microseconds():
    [event] = parse_cel(SAMPLE.read_text().splitlines(keepends=True)[0])
    assert event.type == "CHAN_START"
    assert event.time == datetime(2026, 11, 28, 14, 40, 35, 124627, tzinfo=UTC)


def _queue_stay(seconds: str) -> str:
    """A caller who waits in the queue and hangs up after ``seconds`` (CEL lines)."""
    bridge = '"{""bridge_id"":""call-x""}"'
    hangup = '"{""hangupsource"":""PJSIP/c-1""}"'
    line = '"{}","{}","PJSIP/c-1","1.0","1.0","","0461","800",{}\n'
    return (line.format("CHAN_START", "1000.000000", '""')
            + line.format("BRIDGE_ENTER", "1001.000000", bridge)
            + line.format("BRIDGE_EXIT", f"{1001 + float(seconds):.6f}", bridge)
            + line.format("HANGUP", f"{1001 + float(seconds):.6f}", hangup))


@pytest.mark.parametrize(("seconds", "expected"), [
    ("9.999999", "abandoned_short"),
    ("10.000000", "abandoned_short"),   # the rule: abandoned only after 10 s have passed
    ("10.000001", "abandoned"),
])
def test_given_hang_up_around_ten_seconds_then_ten_second_rule(seconds, expected):
    [call] = rebuild_calls(parse_cel(_queue_stay(seconds))).values()
    assert classify(call) == expected


def test_given_a_line_being_written_then_it_is_left_for_the_next_read():
    text = _queue_stay("4") + '"CHAN_END","1005.0","PJSIP/c-1"'
    assert [e.type for e in parse_cel(text)] == ["CHAN_START", "BRIDGE_ENTER", "BRIDGE_EXIT",
                                                 "HANGUP"]


def test_given_recorded_cel_then_figures_of_the_scenario(calls):
    # The Agenzia del Lavoro's calls of the scenario (the APIAE one is another service).
    scenario = [c for number, c in calls.items()
                if number.startswith("04617") and c.dnid == "800264760"]
    facts = [as_call_facts(c, in_hours=c.caller_number != "0461700401") for c in scenario]
    result = figures(tally_calls(facts, Targets()), Targets())
    assert result.tm_seconds == pytest.approx(12.5, abs=0.1)
    assert result.abandoned_pct == pytest.approx(100 / 3)
    assert result.resolved_pct == 100.0
    tally = result.tally
    assert (tally.calls, tally.out_of_hours, tally.offered, tally.answered, tally.abandoned,
            tally.abandoned_short) == (5, 1, 4, 2, 1, 1)
