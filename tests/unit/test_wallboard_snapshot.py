"""The wallboard's live picture from queues, agents and waiting callers (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralino.web.wallboard_snapshot import (
    AgentDesk,
    QueueDesk,
    WaitingCaller,
    build_wallboard,
)

NOW = datetime(2026, 3, 10, 10, 0, 0, tzinfo=UTC)
URP = QueueDesk(1, "urp", "URP", service_id=10, service_name="Ufficio relazioni")
TRIBUTI = QueueDesk(2, "tributi", "Tributi", service_id=20, service_name="Tributi")
TRIBUTI_ESTERO = QueueDesk(3, "tributi-estero", "Tributi estero", service_id=20,
                           service_name="Tributi")


def agent(id_: int, state: str, services: tuple[int, ...] = (10,), since_s: float | None = 30,
          name: str = "") -> AgentDesk:
    return AgentDesk(id_, f"wal-agent{id_}", name, state,
                     NOW - timedelta(seconds=since_s) if since_s is not None else None,
                     frozenset(services))


def waits(queue: QueueDesk, *seconds: float) -> list[WaitingCaller]:
    return [WaitingCaller(queue.id, NOW - timedelta(seconds=s)) for s in seconds]


@pytest.mark.parametrize(("waiting", "expected"), [
    ([], (0, None)),
    (waits(URP, 4.9), (1, 4)),
    (waits(URP, 3, 47.2, 12), (3, 47)),
    (waits(TRIBUTI, 100), (0, None)),          # another queue's caller
    (waits(URP, -2), (1, 0)),                  # a clock slightly behind: never negative
], ids=["nobody", "one", "three-longest", "other-queue", "clock-skew"])
def test_given_waiting_callers_then_count_and_longest_wait_per_queue(waiting, expected):
    board = build_wallboard([URP], [], waiting, NOW)
    [line] = board.queues
    assert (line.waiting, line.longest_wait_seconds) == expected


@pytest.mark.parametrize(("agents", "expected"), [
    ([], (0, 0, 0, 0, 0, 0)),
    ([agent(1, "available"), agent(2, "logged_out")], (1, 1, 0, 0, 0, 0)),
    ([agent(1, "available"), agent(2, "on_call"), agent(3, "wrapup"), agent(4, "paused"),
      agent(5, "ringing")], (5, 1, 1, 1, 1, 1)),
    ([agent(1, "available", services=(20,))], (0, 0, 0, 0, 0, 0)),  # another service's
    ([agent(1, "on_call", services=(10, 20)), agent(2, "on_call", services=(10,))],
     (2, 0, 0, 2, 0, 0)),
], ids=["none", "logged-out-not-counted", "each-state", "other-service", "two-on-call"])
def test_given_agents_then_their_states_counted_for_their_services_queues(agents, expected):
    [line] = build_wallboard([URP], agents, [], NOW).queues
    assert (line.logged_in, line.available, line.ringing, line.on_call, line.wrapup,
            line.paused) == expected


def test_given_two_queues_of_one_service_then_both_show_the_services_agents():
    board = build_wallboard([TRIBUTI_ESTERO, URP, TRIBUTI], [agent(1, "available", (20,))],
                            waits(TRIBUTI_ESTERO, 9), NOW)
    assert [(q.slug, q.waiting, q.available) for q in board.queues] == [
        ("tributi", 0, 1), ("tributi-estero", 1, 1), ("urp", 0, 0)]


@pytest.mark.parametrize(("desk", "expected"), [
    (agent(1, "paused", since_s=75.6), ("wal-agent1", "In pausa", 75)),
    (agent(2, "on_call", since_s=None, name="Anna Rossi"), ("Anna Rossi", "In chiamata", None)),
    (agent(3, "wrapup", since_s=0), ("wal-agent3", "Post-chiamata", 0)),
], ids=["paused", "display-name-unknown-since", "wrapup"])
def test_given_agent_then_name_state_and_time_in_state(desk, expected):
    [line] = build_wallboard([], [desk], [], NOW).agents
    assert (line.name, line.state_label, line.seconds_in_state) == expected
    assert line.since == desk.state_since


def test_given_agents_then_those_who_can_answer_come_first():
    board = build_wallboard([], [agent(1, "logged_out", name="Aldo"), agent(2, "paused",
                                 name="Bea"), agent(3, "available", name="Ciro"),
                                 agent(4, "on_call", name="Dina")], [], NOW)
    assert [a.name for a in board.agents] == ["Ciro", "Dina", "Bea", "Aldo"]


def test_given_board_then_json_carries_the_numbers_the_page_updates():
    board = build_wallboard([URP], [agent(1, "available")], waits(URP, 12), NOW)
    data = board.as_json()
    assert data["queues"][0]["waiting"] == 1 and data["queues"][0]["longest_wait_seconds"] == 12
    assert data["agents"][0] == {"id": 1, "name": "wal-agent1", "state": "available",
                                 "state_label": "Disponibile",
                                 "since": (NOW - timedelta(seconds=30)).isoformat(),
                                 "seconds_in_state": 30}
    assert data["as_of"] == NOW.isoformat()
