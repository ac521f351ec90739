"""The SLA records of real SIP calls with known waits, checked to the second and
against Asterisk's own Channel Event Log.

One scenario at the Agenzia del Lavoro, on a day no other test uses: two callers
answered after 5 s and 20 s in the queue, two who hang up after 4 s and 15 s
(the 10-second rule) while both agents are busy with the first two, and one out
of hours; plus one served by the IVR alone (APIAE option 1). Waits are timed
from the queue entry our record holds; Asterisk's CEL must agree with our
record on when each caller entered the queue, was answered and hung up, and on
how the call counts; the tender's figures from our records (in Python and in
the SQL report) and from Asterisk's facts must be the same, and what the
scenario says: Tm (5 + 20) / 2 = 12.5 s, P 1 / (1 + 2) = 33.3 % (the 4-second
hang-up does not count), Q 100 %.

The control plane's clock is shifted to the chosen day (``ShiftedClock``);
Asterisk writes real time. ``Shift`` maps Asterisk's times onto the control plane's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from centralino.sandbox import Sandbox
from centralino.sla.asterisk_records import (
    AsteriskCall,
    as_call_facts,
    classify,
    read_cel,
    rebuild_calls,
)
from centralino.sla.figures import CallFacts, SlaFigures, Targets, figures, tally_calls
from centralino.sla.query import sla_report
from models import Call, Queue
from tests.integration.conftest import ROME, Plane, did_uri, eventually
from tests.integration.test_queue import offers_of, team
from tests.support.sipua import Call as SipCall
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

ADL = "800264760"      # Agenzia del Lavoro (agents slaanna, slabruno)
APIAE = "0461497300"
#: A Thursday no other test calls on, so the day's SQL report holds only these calls.
SLA_DAY = date(2026, 12, 10)
OPEN = datetime(2026, 12, 10, 10, 0, tzinfo=ROME)
CLOSED_AT = datetime(2026, 12, 10, 19, 0, tzinfo=ROME)
ANSWERED = {"0461700105": 5.0, "0461700120": 20.0}    # caller → seconds before an answer
ABANDONED = {"0461700204": 4.0, "0461700215": 15.0}   # caller → seconds before hanging up
IVR_ONLY = "0461700301"
CLOSED = "0461700401"
#: Our record and Asterisk's log are written by different processes a few ms apart.
TOLERANCE = 1.0


@dataclass(frozen=True)
class Shift:
    """Control-plane time minus real time (the plane's clock is shifted to ``SLA_DAY``)."""

    delta: timedelta

    @classmethod
    def of(cls, plane: Plane) -> Shift:
        return cls(plane.clock() - datetime.now(UTC))

    def __call__(self, asterisk_time: datetime | None) -> datetime | None:
        return None if asterisk_time is None else asterisk_time + self.delta


@pytest.fixture
async def patient_queue(plane: Plane) -> AsyncIterator[None]:
    """Phones ring long enough (20 rings ≈ 40 s) for an answer after 20 s."""
    async def set_values(**values) -> None:
        async with plane.sessions() as session:
            await session.execute(update(Queue).where(Queue.slug == "agenzia-lavoro")
                                  .values(**values))
            await session.commit()

    await set_values(rings_per_agent=20, wrapup_seconds=1, wait_limit_seconds=120)
    yield
    await set_values(rings_per_agent=4, wrapup_seconds=10, wait_limit_seconds=300)


class Desk:
    """The agents' phones, handing each ringing call to whoever waits for that caller."""

    def __init__(self, phones: SipUA) -> None:
        self.phones = phones
        self.ringing: list[SipCall] = []
        self.lock = asyncio.Lock()

    async def ringing_for(self, caller: str, timeout: float = 10) -> SipCall:
        async with self.lock:
            while not any(caller in c.remote_uri for c in self.ringing):
                self.ringing.append(await self.phones.wait_incoming_call(timeout=timeout))
            return next(c for c in self.ringing if caller in c.remote_uri)


async def queued_record(plane: Plane, caller: str) -> Call:
    async def probe() -> Call | None:
        record = await plane.call_record(caller_number=caller)
        return record if record is not None and record.queue_entered_at is not None else None

    return await eventually(probe, 10, f"the call from {caller} to enter the queue")


async def until_waited(plane: Plane, caller: str, seconds: float) -> None:
    """Return when the caller has been in the queue ``seconds``, by our record's entry time."""
    record = await queued_record(plane, caller)
    waited = (plane.clock() - record.queue_entered_at).total_seconds()
    await asyncio.sleep(max(0.0, seconds - waited))


async def answered_call(plane: Plane, carrier: SipUA, desk: Desk, caller: str, wait: float,
                        hang_up: asyncio.Event) -> Call:
    """Answered ``wait`` seconds after entering the queue; the caller hangs up on ``hang_up``."""
    call = await carrier.call(did_uri(plane.settings, ADL), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    ringing = await desk.ringing_for(caller)
    await until_waited(plane, caller, wait)
    await ringing.answer()
    await plane.record_in_state(caller, "connected")
    await hang_up.wait()
    await call.hangup()
    return await plane.ended_record(caller)


async def abandoned_call(plane: Plane, carrier: SipUA, caller: str, wait: float) -> Call:
    call = await carrier.call(did_uri(plane.settings, ADL), from_user=caller)
    await call.wait_state("CONFIRMED", timeout=5)
    await until_waited(plane, caller, wait)
    await call.hangup()
    return await plane.ended_record(caller)


async def ivr_only_call(plane: Plane, carrier: SipUA) -> Call:
    call = await carrier.call(did_uri(plane.settings, APIAE), from_user=IVR_ONLY)
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state(IVR_ONLY, "menu")
    await call.send_dtmf("1")
    await call.wait_disconnected(timeout=10)  # office hours, goodbye, the IVR hangs up
    return await plane.ended_record(IVR_ONLY)


async def out_of_hours_call(plane: Plane, carrier: SipUA) -> Call:
    call = await carrier.call(did_uri(plane.settings, ADL), from_user=CLOSED)
    await call.wait_state("CONFIRMED", timeout=5)
    await plane.record_in_state(CLOSED, "voicemail")
    await call.hangup()
    return await plane.ended_record(CLOSED)


async def queue_scenario(plane: Plane, carrier: SipUA, desk: Desk) -> list[Call]:
    """Both agents ring for the first two callers before the other two queue, and stay
    busy (ringing, then talking) until those two have hung up: nobody rings for them."""
    talked = asyncio.Event()
    answered = [asyncio.create_task(answered_call(plane, carrier, desk, caller, wait, talked))
                for caller, wait in ANSWERED.items()]
    for caller in ANSWERED:
        await desk.ringing_for(caller)
    abandoned = await asyncio.gather(*(abandoned_call(plane, carrier, caller, wait)
                                       for caller, wait in ABANDONED.items()))
    talked.set()
    return [*await asyncio.gather(*answered), *abandoned]


async def asterisk_view(asterisk: Sandbox, records: list[Call]) -> dict[str, AsteriskCall]:
    """Asterisk's facts for our records' caller channels, once it logged their end."""
    path = asterisk.host_path(f"{asterisk.layout.log}/cel-custom/Master.csv")

    async def probe() -> dict[str, AsteriskCall] | None:
        calls = rebuild_calls(await asyncio.to_thread(read_cel, path))
        mine = {r.id: calls.get(r.channel_id) for r in records}
        return mine if all(c is not None and c.ended_at for c in mine.values()) else None

    return await eventually(probe, 5, "Asterisk's CEL to log every call's end")


def seconds(later: datetime | None, earlier: datetime | None) -> float:
    assert later is not None and earlier is not None
    return (later - earlier).total_seconds()


def facts_of(record: Call) -> CallFacts:
    return CallFacts(
        arrived_at=record.arrived_at, in_hours=record.in_hours, outcome=record.outcome,
        queue_entered_at=record.queue_entered_at, queue_exit=record.queue_exit,
        answered_at=record.answered_at, ended_at=record.ended_at,
        transferred_at=record.transferred_at, overflow=record.overflow,
        resolution=record.resolution, agent_id=record.agent_id)


def assert_scenario_figures(result: SlaFigures) -> None:
    """The Agenzia del Lavoro's figures of the day, computed by hand."""
    assert result.tm_seconds is not None and abs(result.tm_seconds - 12.5) <= TOLERANCE
    assert result.abandoned_pct == pytest.approx(100 / 3)   # 1 / (1 + 2); 4 s does not count
    assert result.resolved_pct == 100.0    # nobody escalated; an unset resolution is resolved
    tally = result.tally
    assert (tally.calls, tally.out_of_hours, tally.in_window, tally.offered) == (5, 1, 4, 4)
    assert (tally.answered, tally.abandoned, tally.abandoned_short) == (2, 1, 1)


async def test_given_calls_with_known_waits_then_records_agree_with_asterisk_and_figures(
        plane: Plane, carrier: SipUA, asterisk: Sandbox, patient_queue):
    plane.clock.travel_to(OPEN)
    async with team(plane.settings, plane.sessions, ["slaanna", "slabruno"]) as agents:
        queued = await queue_scenario(plane, carrier, Desk(agents.phones))
    ivr_only = await ivr_only_call(plane, carrier)
    open_shift = Shift.of(plane)
    plane.clock.travel_to(CLOSED_AT)
    closed = await out_of_hours_call(plane, carrier)
    closed_shift = Shift.of(plane)
    by_caller = {r.caller_number: r for r in [*queued, ivr_only, closed]}

    # Our records: outcome, and the waits to the second, timed from the queue entry.
    for caller, wait in ANSWERED.items():
        record = by_caller[caller]
        assert (record.outcome, record.queue_exit) == ("answered", "answered")
        assert abs(seconds(record.answered_at, record.queue_entered_at) - wait) <= TOLERANCE
    for caller, wait in ABANDONED.items():
        record = by_caller[caller]
        assert record.outcome == ("abandoned" if wait > 10 else "abandoned_short")
        assert record.queue_exit == "abandoned" and record.hung_up_by == "caller"
        assert abs(seconds(record.ended_at, record.queue_entered_at) - wait) <= TOLERANCE
        assert await offers_of(plane, record.id) == []  # both agents were busy meanwhile
    assert by_caller[IVR_ONLY].outcome == "ivr_only" and by_caller[IVR_ONLY].ivr_path == "1"
    assert by_caller[CLOSED].outcome == "out_of_hours" and by_caller[CLOSED].in_hours is False
    assert by_caller[IVR_ONLY].queue_entered_at is None
    assert by_caller[CLOSED].queue_entered_at is None

    # Asterisk's own log: the same queue entry, answer and end, the same classification.
    seen = await asterisk_view(asterisk, list(by_caller.values()))
    for record in by_caller.values():
        cel = seen[record.id]
        shift = closed_shift if record.caller_number == CLOSED else open_shift
        assert cel.caller_number == record.caller_number
        assert abs(seconds(shift(cel.ended_at), record.ended_at)) <= TOLERANCE
        if record.queue_entered_at is None:
            assert classify(cel) == "not_queued" and cel.call_id is None
            continue
        assert cel.call_id == record.id  # the queue bridge is named after our call id
        assert abs(seconds(shift(cel.queue_entered_at), record.queue_entered_at)) <= TOLERANCE
        assert classify(cel) == record.outcome
        if record.outcome == "answered":
            assert abs(seconds(shift(cel.agent_joined_at), record.answered_at)) <= TOLERANCE
        else:
            assert cel.agent_joined_at is None and cel.hung_up_in_queue

    # The tender's figures: the same from our records (Python and SQL) and from Asterisk's.
    [report] = await sla_report(plane.sessions, "agenzia-lavoro", SLA_DAY, SLA_DAY, by="day")
    targets: Targets = report.service.targets
    adl = [r for r in by_caller.values() if r.caller_number != IVR_ONLY]
    ours = figures(tally_calls([facts_of(r) for r in adl], targets), targets)
    asterisks = figures(tally_calls([as_call_facts(seen[r.id], r.in_hours,
                                                   targets.abandon_threshold_seconds)
                                     for r in adl], targets), targets)
    for result in (report.figures, ours, asterisks):
        assert_scenario_figures(result)
    assert report.figures.tally == ours.tally
    assert abs(ours.tm_seconds - asterisks.tm_seconds) <= TOLERANCE
    assert ours.abandoned_pct == asterisks.abandoned_pct
    assert ours.resolved_pct == asterisks.resolved_pct
    [apiae] = await sla_report(plane.sessions, "apiae", SLA_DAY, SLA_DAY, by="day")
    assert (apiae.figures.tally.ivr_only, apiae.figures.tally.offered) == (1, 0)
