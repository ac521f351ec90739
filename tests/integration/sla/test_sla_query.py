"""SLA figures from the database agree with the pure reference, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from centralino.errors import CentralinoError
from centralino.sla.figures import CallFacts, Readings, tally_calls
from centralino.sla.periods import PeriodIndex, periods
from centralino.sla.query import sla_report, targets_of
from tests.integration.sla.conftest import insert_calls, new_agent, new_service

ROME = ZoneInfo("Europe/Rome")
OUTCOMES = ("answered", "abandoned", "abandoned_short", "voicemail", "ivr_only",
            "out_of_hours", "office_answered", "hangup_before_queue", "failed", None)


def random_call(rng: random.Random, start: datetime, span_hours: int,
                agents: list[int]) -> CallFacts:
    """A record with arbitrary (even odd) combinations of facts, microseconds included."""
    arrived = start + timedelta(seconds=rng.randrange(span_hours * 3600),
                                microseconds=rng.randrange(1_000_000))
    queued = rng.random() < 0.8
    entered = arrived + timedelta(seconds=rng.randrange(0, 40)) if queued else None
    wait = timedelta(seconds=rng.choice([0, 5, 9, 10, 10, 11, 13, 20, 21, 95]),
                     microseconds=rng.choice([0, 0, 1, 500_000, 999_999]))
    answered = entered + wait if entered and rng.random() < 0.6 else None
    ended = None
    if rng.random() < 0.95:
        ended = (answered or entered or arrived) + (
            timedelta(seconds=rng.randrange(1, 600)) if answered else wait)
    return CallFacts(
        arrived_at=arrived, in_hours=rng.choice([True, True, True, False, None]),
        outcome=rng.choice(OUTCOMES), queue_entered_at=entered,
        queue_exit=rng.choice(["answered", "abandoned", "abandoned", "timeout", "no_agents",
                               None]) if entered else None,
        answered_at=answered, ended_at=ended,
        transferred_at=answered + timedelta(seconds=30)
        if answered and rng.random() < 0.2 else None,
        overflow=rng.random() < 0.1,
        resolution=rng.choice([None, None, "resolved", "escalated"]) if answered else None,
        agent_id=rng.choice(agents) if answered else None)


@pytest.mark.parametrize("by", ["month", "day", "halfhour"])
@pytest.mark.parametrize("readings", [
    Readings(),
    Readings(abandon_at_threshold=True, system_exits_abandoned=False,
             tm_counts_abandoned=True, unset_resolution_resolved=False),
])
async def test_given_random_records_then_sql_and_reference_agree_in_every_period(
        sla_database, by: str, readings: Readings) -> None:
    _settings, sessions = sla_database
    rng = random.Random(f"{by}{readings}")
    service = await new_service(sessions, abandon_threshold_seconds=10,
                                sla_service_level_seconds=20)
    agents = [(await new_agent(sessions)).id for _ in range(3)]
    # Around the autumn DST change and a month boundary: 24 Oct to 2 Nov 2026.
    start = datetime(2026, 10, 24, tzinfo=ROME).astimezone(UTC)
    calls = [random_call(rng, start, 24 * 9, agents) for _ in range(400)]
    await insert_calls(sessions, service.id, calls)

    rows = await sla_report(sessions, service.slug, date(2026, 10, 24), date(2026, 11, 1),
                            by, readings)

    index = PeriodIndex(periods(date(2026, 10, 24), date(2026, 11, 1), by, ROME))
    targets = targets_of(service)
    expected: dict[str, list[CallFacts]] = {}
    for call in calls:
        where = index.find(call.arrived_at)
        assert where is not None
        expected.setdefault(index.periods[where].label, []).append(call)
    got = {row.period.label: row.figures for row in rows}
    if by != "halfhour":
        assert list(got) == [p.label for p in index.periods]
    assert set(expected) <= set(got)
    for label, result in got.items():
        reference = tally_calls(expected.get(label, []), targets, readings)
        assert result.tally == reference, label
        for agent_figures in result.agents:
            mine = [c for c in expected[label] if c.agent_id == agent_figures.agent_id
                    and c.in_hours is True and c.queue_entered_at and c.answered_at]
            assert agent_figures.answered == len(mine)


async def test_given_hand_made_calls_then_the_report_shows_the_tender_figures(
        sla_database) -> None:
    _settings, sessions = sla_database
    service = await new_service(sessions)
    agent = await new_agent(sessions)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=ROME)

    def waited(seconds: float, answered: bool, **extra: object) -> CallFacts:
        entered = at + timedelta(seconds=15)
        left = entered + timedelta(seconds=seconds)
        if answered:
            return CallFacts(arrived_at=at, in_hours=True, outcome="answered",
                             queue_entered_at=entered, queue_exit="answered", answered_at=left,
                             ended_at=left + timedelta(seconds=90), agent_id=agent.id,
                             **extra)  # type: ignore[arg-type]
        return CallFacts(arrived_at=at, in_hours=True, outcome="abandoned",
                         queue_entered_at=entered, queue_exit="abandoned", ended_at=left)

    await insert_calls(sessions, service.id, [
        waited(8, True), waited(14, True),
        waited(20, True, transferred_at=at + timedelta(minutes=2), resolution="escalated"),
        waited(10, False), waited(10.5, False),
        CallFacts(arrived_at=at.replace(hour=20), in_hours=False, outcome="out_of_hours"),
    ])
    (row,) = await sla_report(sessions, service.slug, date(2026, 12, 1), date(2026, 12, 31))
    f = row.figures
    assert row.period.label == "2026-12"
    assert f.tm_seconds == pytest.approx(14.0)          # (8 + 14 + 20) / 3
    assert f.abandoned_pct == pytest.approx(25.0)       # 1 / (1 + 3): 10 s exactly is short
    assert f.resolved_pct == pytest.approx(200 / 3)     # the transferred one is not resolved
    assert (f.tally.abandoned_short, f.tally.out_of_hours) == (1, 1)
    assert (f.tm_met, f.abandoned_met, f.resolved_met) == (False, False, False)
    (per_agent,) = f.agents
    assert (per_agent.agent, per_agent.answered, per_agent.escalated) == (
        agent.username, 3, 1)


async def test_given_an_unknown_service_then_one_clear_error(sla_database) -> None:
    _settings, sessions = sla_database
    with pytest.raises(CentralinoError, match="no service 'nessuno'"):
        await sla_report(sessions, "nessuno", date(2026, 12, 1), date(2026, 12, 31))
