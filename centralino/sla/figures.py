"""The tender's SLA figures (Appendix 4), as plain Python: one call's facts → counts → figures.

This module is the reference: the SQL aggregation in ``query.py`` must give the
same :class:`Tally` for the same calls (a test checks it on both databases).
Durations are kept as integer microseconds so both sides add up exactly; the
10-second boundary is decided on exact values, never on rounded seconds.

Where the tender is ambiguous, :class:`Readings` holds the choice; the defaults
are the readings explained in ``docs/sla.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

US = 1_000_000
#: Queue exits where the system, not the caller, ended the wait (voicemail offered).
SYSTEM_EXITS = ("timeout", "no_agents")
#: Upper bounds (seconds, included) of the answer-time distribution: answered within N s.
WAIT_CLASSES = (5, 10, 13, 20, 30, 60)


@dataclass(frozen=True)
class Readings:
    """How the tender's ambiguous points are read (defaults: docs/sla.md)."""

    #: A caller who hangs up exactly at the threshold is a short abandon (">" 10 s);
    #: True reads "trascorsi 10 secondi" as "≥ 10 s".
    abandon_at_threshold: bool = False
    #: A caller sent to voicemail by the queue (wait limit, no agent logged in) was
    #: not answered by an operator: counted in P as abandoned.
    system_exits_abandoned: bool = True
    #: Tm averages the answered calls' waits (N = answered). True adds the waits of
    #: the calls abandoned after the threshold to the sum and to N.
    tm_counts_abandoned: bool = False
    #: An answered call with no resolution recorded, not transferred, counts as
    #: resolved. False counts only calls explicitly marked ``resolved``.
    unset_resolution_resolved: bool = True


#: The readings of docs/sla.md.
DEFAULT_READINGS = Readings()


@dataclass(frozen=True)
class Targets:
    """One service's SLA targets (the tender's by default) and thresholds."""

    answer_seconds: float = 13.0
    abandoned_pct: float = 3.0
    resolved_pct: float = 75.0
    #: Service level: answered within this many seconds of entering the queue.
    service_level_seconds: int = 20
    #: The tender's 10-second rule (per service, ``services.abandon_threshold_seconds``).
    abandon_threshold_seconds: int = 10


@dataclass(frozen=True)
class CallFacts:
    """What the SLA figures need from one call record."""

    arrived_at: datetime
    in_hours: bool | None
    outcome: str | None
    queue_entered_at: datetime | None = None
    queue_exit: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    transferred_at: datetime | None = None
    overflow: bool = False
    resolution: str | None = None
    agent_id: int | None = None


@dataclass
class Tally:
    """Additive counts and microsecond sums for a set of calls; merged across buckets."""

    calls: int = 0
    out_of_hours: int = 0
    in_window: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    system_exits: int = 0
    voicemail: int = 0
    ivr_only: int = 0
    hangup_before_queue: int = 0
    office_answered: int = 0
    failed: int = 0
    overflow: int = 0
    resolved: int = 0
    escalated: int = 0
    answered_in_service_level: int = 0
    wait_us: int = 0
    tm_us: int = 0
    tm_calls: int = 0
    longest_wait_us: int | None = None
    talk_us: int = 0
    talked: int = 0
    #: Answered within 5, 10, 13, 20, 30, 60 s (cumulative): the answer-time distribution.
    answered_within_5s: int = 0
    answered_within_10s: int = 0
    answered_within_13s: int = 0
    answered_within_20s: int = 0
    answered_within_30s: int = 0
    answered_within_60s: int = 0

    def answer_time_distribution(self) -> dict[str, int]:
        """Answered calls per class of wait ("0-5", "5-10", …, ">60"), not cumulative."""
        result, below, lower = {}, 0, 0
        for bound in WAIT_CLASSES:
            within = getattr(self, f"answered_within_{bound}s")
            result[f"{lower}-{bound}"] = within - below
            below, lower = within, bound
        result[f">{WAIT_CLASSES[-1]}"] = self.answered - below
        return result

    def add(self, other: Tally) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "longest_wait_us":
                values = [v for v in (mine, theirs) if v is not None]
                setattr(self, f.name, max(values) if values else None)
            else:
                setattr(self, f.name, mine + theirs)


def _us(later: datetime, earlier: datetime) -> int:
    delta = later - earlier
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def tally_call(call: CallFacts, targets: Targets, readings: Readings = DEFAULT_READINGS) -> Tally:
    """One call's contribution to the counts (the reference the SQL must match)."""
    t = Tally(calls=1)
    if call.in_hours is False:
        t.out_of_hours = 1
    if call.in_hours is not True:
        return t  # only the service window counts (unknown: failed before deciding)
    t.in_window = 1
    t.overflow = int(call.overflow)
    for outcome in ("voicemail", "ivr_only", "hangup_before_queue", "office_answered",
                    "failed"):
        if call.outcome == outcome:
            setattr(t, outcome, 1)
    if call.queue_entered_at is None:
        return t
    t.offered = 1
    threshold_us = targets.abandon_threshold_seconds * US
    if call.answered_at is not None:
        wait = _us(call.answered_at, call.queue_entered_at)
        t.answered, t.wait_us, t.tm_us, t.tm_calls = 1, wait, wait, 1
        t.longest_wait_us = wait
        t.answered_in_service_level = int(wait <= targets.service_level_seconds * US)
        for bound in WAIT_CLASSES:
            setattr(t, f"answered_within_{bound}s", int(wait <= bound * US))
        escalated = call.resolution == "escalated" or call.transferred_at is not None
        t.escalated = int(escalated)
        t.resolved = int(not escalated and (
            call.resolution == "resolved"
            or (call.resolution is None and readings.unset_resolution_resolved)))
        if call.ended_at is not None:
            t.talk_us, t.talked = _us(call.ended_at, call.answered_at), 1
        return t
    if call.queue_exit in SYSTEM_EXITS:
        t.system_exits = 1
        t.abandoned = int(readings.system_exits_abandoned)
        return t
    caller_left = call.queue_exit == "abandoned" or (
        call.queue_exit is None and call.outcome in ("abandoned", "abandoned_short"))
    if not caller_left or call.ended_at is None:
        return t  # still waiting, or the system failed: neither answered nor abandoned
    waited = _us(call.ended_at, call.queue_entered_at)
    t.longest_wait_us = waited
    long_enough = waited >= threshold_us if readings.abandon_at_threshold \
        else waited > threshold_us
    if long_enough:
        t.abandoned = 1
        if readings.tm_counts_abandoned:
            t.tm_us, t.tm_calls = waited, 1
    else:
        t.abandoned_short = 1
    return t


@dataclass(frozen=True)
class AgentFigures:
    """One agent's share of a service's period."""

    agent_id: int | None
    agent: str | None
    answered: int
    average_wait_seconds: float | None
    average_talk_seconds: float | None
    resolved: int
    escalated: int
    resolved_pct: float | None


@dataclass(frozen=True)
class SlaFigures:
    """The figures of one service over one period, with the targets and whether they are met.

    A figure whose denominator is zero is None: an empty period has no Tm, not 0 s.
    """

    tally: Tally
    targets: Targets
    tm_seconds: float | None
    abandoned_pct: float | None
    resolved_pct: float | None
    service_level_pct: float | None
    longest_wait_seconds: float | None
    average_talk_seconds: float | None
    tm_met: bool | None
    abandoned_met: bool | None
    resolved_met: bool | None
    agents: tuple[AgentFigures, ...] = field(default=())


def _ratio(part: int, whole: int, scale: float = 100.0) -> float | None:
    return part / whole * scale if whole else None


def figures(tally: Tally, targets: Targets,
            agents: tuple[AgentFigures, ...] = ()) -> SlaFigures:
    """Tm, P, Q and the rest from the counts; None where nothing was counted."""
    tm = tally.tm_us / tally.tm_calls / US if tally.tm_calls else None
    p = _ratio(tally.abandoned, tally.abandoned + tally.answered)
    q = _ratio(tally.resolved, tally.answered)
    return SlaFigures(
        tally=tally, targets=targets, tm_seconds=tm, abandoned_pct=p, resolved_pct=q,
        service_level_pct=_ratio(tally.answered_in_service_level,
                                 tally.answered + tally.abandoned),
        longest_wait_seconds=(tally.longest_wait_us / US
                              if tally.longest_wait_us is not None else None),
        average_talk_seconds=tally.talk_us / tally.talked / US if tally.talked else None,
        tm_met=None if tm is None else tm <= targets.answer_seconds,
        abandoned_met=None if p is None else p <= targets.abandoned_pct,
        resolved_met=None if q is None else q >= targets.resolved_pct,
        agents=agents)


def agent_figures(agent_id: int | None, name: str | None, tally: Tally) -> AgentFigures:
    return AgentFigures(
        agent_id=agent_id, agent=name, answered=tally.answered,
        average_wait_seconds=tally.wait_us / tally.answered / US if tally.answered else None,
        average_talk_seconds=tally.talk_us / tally.talked / US if tally.talked else None,
        resolved=tally.resolved, escalated=tally.escalated,
        resolved_pct=_ratio(tally.resolved, tally.answered))


def tally_calls(calls: list[CallFacts], targets: Targets,
                readings: Readings = DEFAULT_READINGS) -> Tally:
    """All calls' counts added up: the reference the SQL aggregation is tested against."""
    total = Tally()
    for call in calls:
        total.add(tally_call(call, targets, readings))
    return total
