"""The dispatcher's rounds: who is offered to whom, with stand-ins for the roster and ARI.

A round looks at every free agent of a service; what it knows of an agent is
kept from one round to the next while neither the agent nor the phone changed.
These tests check that what is kept never hides a change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ari_app.agent_book import AgentBook, AgentSnapshot
from ari_app.directory import QueueInfo
from ari_app.queueing.dispatcher import Dispatcher, Waiting

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
QUEUE = QueueInfo(id=1, slug="uru", name="URU", strategy="longest_idle", rings_per_agent=4,
                  wait_limit_seconds=60, wrapup_seconds=0, announce_position=False,
                  announce_every_seconds=60)


class Roster:
    """The agent book as the dispatcher uses it: a service's agents, and their views."""

    view = staticmethod(AgentBook.view)

    def __init__(self, count: int):
        # a1 has been idle longest, then a2, ...
        self.agents = {i: AgentSnapshot(id=i, username=f"a{i}", state="available",
                                        state_since=T0 + timedelta(minutes=i), profile="junior",
                                        skills=frozenset(), last_offered_at=None,
                                        services=frozenset({1}))
                       for i in range(1, count + 1)}

    async def of_service(self, service_id: int) -> list[AgentSnapshot]:
        return [a for a in self.agents.values() if service_id in a.services]


class Phones:
    """``GET /endpoints/PJSIP``: every phone registered and idle unless told otherwise."""

    def __init__(self, roster: Roster):
        self.busy: set[str] = set()
        self.roster = roster

    async def list_endpoints(self, technology: str) -> list[dict[str, Any]]:
        return [{"technology": technology, "resource": a.username, "state": "online",
                 "channel_ids": ["elsewhere"] if a.username in self.busy else []}
                for a in self.roster.agents.values()]


def offers_of(dispatcher: Dispatcher, *call_ids: str) -> dict[str, list[str]]:
    """Wait the given callers in the queue (oldest first); collect what they are offered."""
    offered: dict[str, list[str]] = {}
    for n, call_id in enumerate(call_ids):
        def post(event: dict[str, Any], call_id: str = call_id) -> None:
            offered[call_id] = [agent.username for agent in event["agents"]]
        dispatcher.waiting[call_id] = Waiting(call_id=call_id, service_id=1, queue=QUEUE,
                                              skill=None, entered_at=T0 + timedelta(seconds=n),
                                              post=post)
    return offered


def a_dispatcher(agents: int) -> tuple[Dispatcher, Roster, Phones]:
    roster = Roster(agents)
    phones = Phones(roster)
    return Dispatcher(phones, roster, lambda: T0), roster, phones  # type: ignore[arg-type]


async def test_two_callers_in_one_round_are_offered_different_agents_oldest_caller_first():
    dispatcher, _roster, _phones = a_dispatcher(3)
    offered = offers_of(dispatcher, "first", "second")
    await dispatcher.match()
    assert offered == {"first": ["a1"], "second": ["a2"]}


async def test_a_phone_busy_on_another_line_since_the_last_round_is_not_rung():
    dispatcher, _roster, phones = a_dispatcher(2)
    offered = offers_of(dispatcher, "first")
    await dispatcher.match()
    assert offered == {"first": ["a1"]}
    dispatcher.leave("first")  # the caller hung up; a1 is free again, as before
    phones.busy.add("a1")  # but a1 picked up the phone for a call of their own
    offered = offers_of(dispatcher, "second")
    await dispatcher.match()
    assert offered == {"second": ["a2"]}
    dispatcher.leave("second")
    phones.busy.clear()
    offered = offers_of(dispatcher, "third")
    await dispatcher.match()
    assert offered == {"third": ["a1"]}


async def test_an_agent_who_changed_since_the_last_round_is_seen_as_they_are_now():
    dispatcher, roster, _phones = a_dispatcher(2)
    offered = offers_of(dispatcher, "first")
    await dispatcher.match()
    assert offered == {"first": ["a1"]}
    dispatcher.leave("first")
    # a2 has now been idle longer than a1 (a1 just came back from a call).
    roster.agents[1] = replace(roster.agents[1], state_since=T0 + timedelta(hours=1))
    offered = offers_of(dispatcher, "second")
    await dispatcher.match()
    assert offered == {"second": ["a2"]}
    dispatcher.leave("second")
    roster.agents[2] = replace(roster.agents[2], state="paused")
    offered = offers_of(dispatcher, "third")
    await dispatcher.match()
    assert offered == {"third": ["a1"]}
