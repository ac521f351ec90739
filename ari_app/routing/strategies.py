"""Which agent a queue rings next: a pure decision over a snapshot of its agents.

Only an agent who is "available" and whose phone is idle on every channel may
ring; anyone else (on a call, wrapping up, paused, already ringing, logged out,
or busy on a line that is not ours) is never disturbed. Among those, agents with
the caller's preferred skill go first, and agents who let this call ring out are
skipped until everyone has had a turn, so a caller is never stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

AGENT_STATES = ("logged_out", "available", "ringing", "on_call", "wrapup", "paused")
#: The first one is the default of a new queue.
STRATEGIES = ("longest_idle", "ring_all", "round_robin")


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


@dataclass(frozen=True)
class AgentView:
    """What routing needs to know about one agent of the queue, at one instant."""

    agent_id: int
    username: str
    state: str
    #: When the agent last became available (end of wrap-up); aware.
    idle_since: datetime
    skills: frozenset[str]
    profile: str
    #: The phone has a call on some channel, even one that is not ours: never ring.
    busy_elsewhere: bool
    #: When the agent was last offered a call, for round-robin fairness; None = never.
    last_offered_at: datetime | None = None

    def __post_init__(self) -> None:
        # A misspelt state would otherwise silently take an agent out of rotation.
        if self.state not in AGENT_STATES:
            raise ValueError(f"unknown agent state {self.state!r}; "
                             f"known: {', '.join(AGENT_STATES)}")
        _require_aware("idle_since", self.idle_since)
        _require_aware("last_offered_at", self.last_offered_at)


@dataclass(frozen=True, kw_only=True)
class RoutingRequest:
    """One call's question to its queue: whom do I ring now?"""

    strategy: str = "longest_idle"
    #: Preferred skill (e.g. the topic "cps"); None means any agent of the queue.
    skill: str | None = None
    #: Agents who let this call ring out in the current round.
    already_tried: frozenset[int] = field(default_factory=frozenset)
    #: Aware; when the decision is taken. Strategies order by the agents' own timestamps.
    now: datetime

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown routing strategy {self.strategy!r}; "
                             f"known: {', '.join(STRATEGIES)}")
        _require_aware("now", self.now)


def is_eligible(agent: AgentView) -> bool:
    """May this agent's phone ring at all?"""
    return agent.state == "available" and not agent.busy_elsewhere


def _idle_order(agent: AgentView) -> tuple[float, int]:
    return (agent.idle_since.timestamp(), agent.agent_id)


def _offer_order(agent: AgentView) -> tuple[int, float, int]:
    # Never offered sorts before any time; agent_id makes ties deterministic.
    if agent.last_offered_at is None:
        return (0, 0.0, agent.agent_id)
    return (1, agent.last_offered_at.timestamp(), agent.agent_id)


def _candidates(agents: Sequence[AgentView], request: RoutingRequest) -> list[AgentView]:
    """Eligible agents of this turn: untried first, then the preferred skill among them."""
    eligible = [a for a in agents if is_eligible(a)]
    untried = [a for a in eligible if a.agent_id not in request.already_tried]
    # Everyone free has let it ring once: start a new round rather than leave the caller waiting.
    pool = untried or eligible
    if request.skill is not None:
        skilled = [a for a in pool if request.skill in a.skills]
        if skilled:
            return skilled
    return pool


def choose_agents(agents: Sequence[AgentView], request: RoutingRequest) -> list[AgentView]:
    """The agents to ring now, in order; an empty list means nobody is free.

    longest_idle and round_robin give one agent, ring_all every candidate,
    longest idle first. Ties go to the lowest ``agent_id``, so the same snapshot
    always gives the same answer whatever the order of ``agents``.
    """
    candidates = _candidates(agents, request)
    if not candidates:
        return []
    if request.strategy == "ring_all":
        return sorted(candidates, key=_idle_order)
    if request.strategy == "round_robin":
        return [min(candidates, key=_offer_order)]
    return [min(candidates, key=_idle_order)]


def ring_timeout_seconds(rings: int, cadence_on_ms: int = 1000,
                         cadence_off_ms: int = 4000) -> float:
    """How long to ring an agent so that exactly ``rings`` rings are heard.

    The Italian cadence is 1 s of tone then 4 s of silence; the last ring need
    not wait out its silence, so 4 rings take 3 × 5 s + 1 s = 16 s.
    """
    if rings < 1:
        raise ValueError(f"rings must be at least 1, got {rings}")
    if cadence_on_ms <= 0 or cadence_off_ms < 0:
        raise ValueError(f"invalid ring cadence {cadence_on_ms}/{cadence_off_ms} ms")
    return ((rings - 1) * (cadence_on_ms + cadence_off_ms) + cadence_on_ms) / 1000
