"""The supervisor wallboard's live picture: queues and agents, built from plain facts, no I/O.

The wallboard module reads the queues and agents from the database and the
callers waiting from the control plane's dispatcher; :func:`build_wallboard`
turns them into what the page and its WebSocket show, so every count can be
tested with tables of cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Agent states as the supervisor reads them.
STATE_LABELS = {
    "available": "Disponibile",
    "ringing": "Squilla",
    "on_call": "In chiamata",
    "wrapup": "Post-chiamata",
    "paused": "In pausa",
    "logged_out": "Non collegato",
}
#: Agents listed by what they are doing: those who can take a call first.
_STATE_ORDER = ("available", "ringing", "on_call", "wrapup", "paused", "logged_out")


@dataclass(frozen=True)
class QueueDesk:
    """A queue and the service whose agents answer it."""

    id: int
    slug: str
    name: str
    service_id: int
    service_name: str


@dataclass(frozen=True)
class AgentDesk:
    """An agent's state as stored, and the services they answer."""

    id: int
    username: str
    display_name: str
    state: str
    state_since: datetime | None
    service_ids: frozenset[int]


@dataclass(frozen=True)
class WaitingCaller:
    queue_id: int
    entered_at: datetime


@dataclass(frozen=True)
class QueueLine:
    slug: str
    name: str
    service: str
    waiting: int
    #: Whole seconds the longest-waiting caller has waited so far; None: nobody waits.
    longest_wait_seconds: int | None
    logged_in: int
    available: int
    ringing: int
    on_call: int
    wrapup: int
    paused: int


@dataclass(frozen=True)
class AgentLine:
    id: int
    name: str
    state: str
    state_label: str
    since: datetime | None
    #: Whole seconds in this state; None when the change time is unknown.
    seconds_in_state: int | None


@dataclass(frozen=True)
class Wallboard:
    as_of: datetime
    queues: tuple[QueueLine, ...]
    agents: tuple[AgentLine, ...]

    def as_json(self) -> dict[str, Any]:
        """What the WebSocket pushes (the page's script reads these names)."""
        return {
            "as_of": self.as_of.isoformat(),
            "queues": [{
                "slug": q.slug, "name": q.name, "service": q.service, "waiting": q.waiting,
                "longest_wait_seconds": q.longest_wait_seconds, "logged_in": q.logged_in,
                "available": q.available, "ringing": q.ringing, "on_call": q.on_call,
                "wrapup": q.wrapup, "paused": q.paused} for q in self.queues],
            "agents": [{
                "id": a.id, "name": a.name, "state": a.state, "state_label": a.state_label,
                "since": a.since.isoformat() if a.since else None,
                "seconds_in_state": a.seconds_in_state} for a in self.agents],
        }


def _seconds(now: datetime, since: datetime) -> int:
    # A clock a little behind the writer's must not show a negative wait.
    return max(0, int((now - since).total_seconds()))


def build_wallboard(queues: Iterable[QueueDesk], agents: Iterable[AgentDesk],
                    waiting: Iterable[WaitingCaller], now: datetime) -> Wallboard:
    """Per queue: callers waiting, longest wait and its service's agents by state;
    per agent: state and since when."""
    agents = list(agents)
    waits_of: dict[int, list[datetime]] = {}
    for caller in waiting:
        waits_of.setdefault(caller.queue_id, []).append(caller.entered_at)
    lines = []
    for queue in sorted(queues, key=lambda q: (q.service_name, q.name, q.id)):
        entered = waits_of.get(queue.id, [])
        states = [a.state for a in agents if queue.service_id in a.service_ids]
        lines.append(QueueLine(
            slug=queue.slug, name=queue.name, service=queue.service_name,
            waiting=len(entered),
            longest_wait_seconds=_seconds(now, min(entered)) if entered else None,
            logged_in=sum(s != "logged_out" for s in states),
            available=states.count("available"), ringing=states.count("ringing"),
            on_call=states.count("on_call"), wrapup=states.count("wrapup"),
            paused=states.count("paused")))
    order = {state: i for i, state in enumerate(_STATE_ORDER)}
    people = [AgentLine(
        id=a.id, name=a.display_name or a.username, state=a.state,
        state_label=STATE_LABELS.get(a.state, a.state), since=a.state_since,
        seconds_in_state=_seconds(now, a.state_since) if a.state_since else None)
        for a in agents]
    people.sort(key=lambda a: (order.get(a.state, len(order)), a.name.lower(), a.id))
    return Wallboard(as_of=now, queues=tuple(lines), agents=tuple(people))
