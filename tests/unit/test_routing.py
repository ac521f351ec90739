"""Which agent a queue rings next: eligibility, skill preference, rounds and ties."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from ari_app.routing.strategies import (
    AGENT_STATES,
    STRATEGIES,
    AgentView,
    RoutingRequest,
    choose_agents,
    ring_timeout_seconds,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NOT_AVAILABLE = tuple(s for s in AGENT_STATES if s != "available")


def agent(agent_id: int, idle_minutes: float = 0, *, state: str = "available",
          skills: frozenset[str] = frozenset(), busy_elsewhere: bool = False,
          offered_minutes_ago: float | None = None) -> AgentView:
    """An agent idle for ``idle_minutes`` before NOW."""
    return AgentView(
        agent_id=agent_id,
        username=f"op{agent_id}",
        state=state,
        idle_since=NOW - timedelta(minutes=idle_minutes),
        skills=skills,
        profile="expert",
        busy_elsewhere=busy_elsewhere,
        last_offered_at=(None if offered_minutes_ago is None
                         else NOW - timedelta(minutes=offered_minutes_ago)),
    )


def request(strategy: str = "longest_idle", skill: str | None = None,
            tried: frozenset[int] = frozenset()) -> RoutingRequest:
    return RoutingRequest(strategy=strategy, skill=skill, already_tried=tried, now=NOW)


def ids(agents: list[AgentView]) -> list[int]:
    return [a.agent_id for a in agents]


CPS = frozenset({"cps"})


@pytest.mark.parametrize(
    ("strategy", "agents", "expected"),
    [
        ("longest_idle", [agent(1, 5), agent(2, 30), agent(3, 10)], [2]),
        ("longest_idle", [agent(1, 0)], [1]),
        # round robin ignores idle time: oldest offer wins.
        ("round_robin", [agent(1, 30, offered_minutes_ago=2), agent(2, 1, offered_minutes_ago=9)],
         [2]),
        # never offered comes before any offer, however old.
        ("round_robin", [agent(1, offered_minutes_ago=600), agent(2)], [2]),
        # ring all: everyone eligible, longest idle first.
        ("ring_all", [agent(1, 5), agent(2, 30), agent(3, 10)], [2, 3, 1]),
    ],
)
def test_given_strategy_then_it_chooses_its_agents(strategy, agents, expected):
    assert ids(choose_agents(agents, request(strategy))) == expected


def test_default_strategy_is_longest_idle():
    assert RoutingRequest(now=NOW).strategy == "longest_idle" == STRATEGIES[0]
    assert set(STRATEGIES) == {"longest_idle", "ring_all", "round_robin"}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("state", NOT_AVAILABLE)
def test_given_agent_not_available_then_never_rung(strategy, state):
    # The unavailable agent would win on every strategy if it were eligible.
    busy = agent(1, 60, state=state, skills=CPS)
    free = agent(2, 1, offered_minutes_ago=1)
    assert ids(choose_agents([busy, free], request(strategy, skill="cps"))) == [2]
    assert choose_agents([busy], request(strategy)) == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_given_agent_busy_on_another_channel_then_never_rung(strategy):
    busy = agent(1, 60, busy_elsewhere=True, skills=CPS)
    free = agent(2, 1, offered_minutes_ago=1)
    assert ids(choose_agents([busy, free], request(strategy, skill="cps"))) == [2]
    assert choose_agents([busy], request(strategy)) == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_given_no_agents_then_nobody_rung(strategy):
    assert choose_agents([], request(strategy)) == []


@pytest.mark.parametrize(
    ("strategy", "skill", "agents", "expected"),
    [
        # The skilled agent goes first even if someone else waited longer.
        ("longest_idle", "cps", [agent(1, 60), agent(2, 1, skills=CPS)], [2]),
        ("round_robin", "cps", [agent(1), agent(2, skills=CPS, offered_minutes_ago=1)], [2]),
        ("ring_all", "cps", [agent(1, 60), agent(2, 1, skills=CPS), agent(3, 5, skills=CPS)],
         [3, 2]),
        # Among the skilled, the strategy still decides.
        ("longest_idle", "cps", [agent(1, 5, skills=CPS), agent(2, 50, skills=CPS), agent(3, 99)],
         [2]),
        # Nobody has the skill: any operator of the queue.
        ("longest_idle", "cps", [agent(1, 5), agent(2, 50)], [2]),
        ("ring_all", "cps", [agent(1, 5), agent(2, 50)], [2, 1]),
        # The skilled agents exist but none is free: fall back to the others.
        ("longest_idle", "cps", [agent(1, 99, skills=CPS, state="on_call"),
                                 agent(2, 99, skills=CPS, busy_elsewhere=True), agent(3, 1)], [3]),
        # No preferred skill: skills do not matter.
        ("longest_idle", None, [agent(1, 60), agent(2, 1, skills=CPS)], [1]),
    ],
)
def test_given_preferred_skill_then_skilled_agents_first_else_anyone(
        strategy, skill, agents, expected):
    assert ids(choose_agents(agents, request(strategy, skill=skill))) == expected


@pytest.mark.parametrize(
    ("strategy", "skill", "agents", "tried", "expected"),
    [
        # Agent 1 let it ring out: the next longest idle is rung.
        ("longest_idle", None, [agent(1, 60), agent(2, 30), agent(3, 10)], {1}, [2]),
        ("longest_idle", None, [agent(1, 60), agent(2, 30), agent(3, 10)], {1, 2}, [3]),
        # Everyone free has been tried: a new round starts from the longest idle.
        ("longest_idle", None, [agent(1, 60), agent(2, 30)], {1, 2}, [1]),
        # A tried agent who is now busy does not block the new round.
        ("longest_idle", None, [agent(1, 60), agent(2, 30, state="on_call")], {1}, [1]),
        ("round_robin", None, [agent(1), agent(2, offered_minutes_ago=5)], {1}, [2]),
        ("round_robin", None, [agent(1), agent(2, offered_minutes_ago=5)], {1, 2}, [1]),
        ("ring_all", None, [agent(1, 60), agent(2, 30), agent(3, 10)], {1}, [2, 3]),
        ("ring_all", None, [agent(1, 60), agent(2, 30)], {1, 2}, [1, 2]),
        # The skilled agent let it ring out: an untried operator comes before ringing it again.
        ("longest_idle", "cps", [agent(1, 60, skills=CPS), agent(2, 1)], {1}, [2]),
        # Both tried: new round, skill preference applies again.
        ("longest_idle", "cps", [agent(1, 1, skills=CPS), agent(2, 60)], {1, 2}, [1]),
    ],
)
def test_given_agents_already_tried_then_skipped_until_everyone_had_a_turn(
        strategy, skill, agents, tried, expected):
    chosen = choose_agents(agents, request(strategy, skill=skill, tried=frozenset(tried)))
    assert ids(chosen) == expected


@pytest.mark.parametrize(
    ("strategy", "agents", "expected"),
    [
        ("longest_idle", [agent(7, 10), agent(3, 10), agent(5, 10)], [3]),
        ("round_robin", [agent(7, offered_minutes_ago=4), agent(3, offered_minutes_ago=4)], [3]),
        ("round_robin", [agent(7), agent(3), agent(5)], [3]),
        ("ring_all", [agent(7, 10), agent(3, 10), agent(5, 20)], [5, 3, 7]),
    ],
)
def test_given_ties_then_lowest_agent_id_whatever_the_input_order(strategy, agents, expected):
    for order in permutations(agents):
        assert ids(choose_agents(order, request(strategy))) == expected


def test_given_unknown_strategy_then_clear_error():
    with pytest.raises(ValueError, match=r"unknown routing strategy 'random'.*longest_idle"):
        RoutingRequest(strategy="random", now=NOW)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RoutingRequest(now=datetime(2026, 12, 1, 10, 0)),
        lambda: replace(agent(1), idle_since=datetime(2026, 12, 1, 10, 0)),
        lambda: replace(agent(1), last_offered_at=datetime(2026, 12, 1, 10, 0)),
        lambda: agent(1, state="lunch"),
    ],
    ids=["naive now", "naive idle_since", "naive last_offered_at", "unknown state"],
)
def test_given_malformed_input_then_rejected(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    ("rings", "cadence", "expected"),
    [
        (1, (1000, 4000), 1.0),
        (3, (1000, 4000), 11.0),
        (4, (1000, 4000), 16.0),
        (2, (400, 200), 1.0),
    ],
)
def test_ring_timeout_hears_the_last_ring_without_its_silence(rings, cadence, expected):
    assert ring_timeout_seconds(rings, *cadence) == pytest.approx(expected)


def test_ring_timeout_defaults_to_italian_cadence():
    assert ring_timeout_seconds(4) == 16.0


@pytest.mark.parametrize(("rings", "cadence"), [(0, (1000, 4000)), (-1, (1000, 4000)),
                                                (2, (0, 4000)), (2, (1000, -1))])
def test_given_invalid_rings_or_cadence_then_value_error(rings, cadence):
    with pytest.raises(ValueError):
        ring_timeout_seconds(rings, *cadence)
