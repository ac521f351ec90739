"""Agents as the call flows see them: who may be rung, and the state changes calls cause.

Logging in, pausing and logging out are done by agents (CLI, feature codes,
desktop) and written to the database; ringing, on-call and wrap-up are written
here by the control plane. The database is the source of truth, so a restarted
process, or a second process, sees the same agents.

While the database is away, reads answer from the last snapshot, kept up to date
with the state changes this process wrote since (journaled or not), so an agent
who just answered does not look available (see :mod:`ari_app.outage`).

The call flows and the dispatcher ask for a service's agents many times a second
under load. They are answered from a roster of every agent, read again from the
database once it is older than ``roster_max_age`` seconds, with every change this
process posts applied to it at once. On an SQLite file it is read again only if
another connection committed meanwhile (:meth:`WriteBehind.outside_changes`): the
process's own changes are in it already. What another process changes (the CLI, a
``psql`` session) is seen within that age; what this process changes, at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Update, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from ari_app.outage import LastGood, WriteBehind, Written, insert_if_new
from ari_app.routing import AgentView
from models import Agent, AgentSkill, CallOffer, Queue, agent_services

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_OFFERS = CallOffer.__table__
_AGENTS = Agent.__table__
_SKILLS = AgentSkill.__table__
_RINGING = (update(_AGENTS).where(_AGENTS.c.id == bindparam("agent_id_"))
            .values(state="ringing", state_since=bindparam("at"),
                    last_offered_at=bindparam("at")))
_OFFER_ENDED = (update(_OFFERS).where(_OFFERS.c.channel_id == bindparam("channel_id_"),
                                      _OFFERS.c.ring_stopped_at.is_(None))
                .values(ring_stopped_at=bindparam("at"), result=bindparam("result")))
T = TypeVar("T")


@lru_cache(maxsize=32)
def _state_statement(only_if: tuple[str, ...] | None, clears_reason: bool) -> Update:
    """The agent-state UPDATE, built once per shape: a state change is the commonest
    write, and a statement built anew is compiled and keyed anew every time. The
    guard's states are the statement's own values (a handful of shapes, all in the
    code), not an expanding IN, so that the writer can run it as a plain statement."""
    query = update(_AGENTS).where(_AGENTS.c.id == bindparam("agent_id_"))
    if only_if is not None:
        query = query.where(or_(*(_AGENTS.c.state == state for state in only_if)))
    values: dict[str, object] = {"state": bindparam("state"), "state_since": bindparam("at")}
    if clears_reason:
        values["pause_reason"] = None
    return query.values(**values)


@dataclass(frozen=True)
class AgentSnapshot:
    """One agent as last read, with the control plane's own later changes applied."""

    id: int
    username: str
    state: str
    state_since: datetime | None
    profile: str
    skills: frozenset[str]
    last_offered_at: datetime | None
    #: The services the agent answers (ids).
    services: frozenset[int] = frozenset()
    enabled: bool = True


async def _snapshots(session: AsyncSession, condition: Any) -> list[AgentSnapshot]:
    """Agents matching ``condition`` (None: all), with their skills, in two plain queries.

    Plain rows, not ORM objects: the dispatcher reads a service's agents on every
    round, and loading ``Agent`` would also load its services and theirs.
    """
    agents = select(_AGENTS.c.id, _AGENTS.c.username, _AGENTS.c.state, _AGENTS.c.state_since,
                    _AGENTS.c.profile, _AGENTS.c.last_offered_at,
                    _AGENTS.c.enabled).order_by(_AGENTS.c.id)
    skills = select(_SKILLS.c.agent_id, _SKILLS.c.skill)
    services = select(agent_services.c.agent_id, agent_services.c.service_id)
    if condition is not None:
        agents = agents.where(condition)
        skills = skills.where(_SKILLS.c.agent_id.in_(select(_AGENTS.c.id).where(condition)))
        services = services.where(
            agent_services.c.agent_id.in_(select(_AGENTS.c.id).where(condition)))
    skills_of: dict[int, set[str]] = {}
    for agent_id, skill in await session.execute(skills):
        skills_of.setdefault(agent_id, set()).add(skill)
    services_of: dict[int, set[int]] = {}
    for agent_id, service_id in await session.execute(services):
        services_of.setdefault(agent_id, set()).add(service_id)
    return [AgentSnapshot(id=row.id, username=row.username, state=row.state,
                          state_since=row.state_since, profile=row.profile,
                          skills=frozenset(skills_of.get(row.id, ())),
                          last_offered_at=row.last_offered_at,
                          services=frozenset(services_of.get(row.id, ())),
                          enabled=bool(row.enabled))
            for row in await session.execute(agents)]


@dataclass(frozen=True)
class _StateChange:
    """A state change this process wrote, to apply to snapshots read before it."""

    agent_id: int
    state: str
    at: datetime
    only_if: tuple[str, ...] | None
    offered: bool
    #: Journal sequence number while it waits for the database; None once written.
    seq: int | None

    def applied_to(self, agent: AgentSnapshot) -> AgentSnapshot:
        if agent.id != self.agent_id or (self.only_if is not None
                                         and agent.state not in self.only_if):
            return agent
        return replace(agent, state=self.state, state_since=self.at,
                       last_offered_at=self.at if self.offered else agent.last_offered_at)

    def applied_to_answer(self, answer: Any) -> Any:
        """A remembered answer: an agent, a list of agents, or something else (unchanged)."""
        if isinstance(answer, AgentSnapshot):
            return self.applied_to(answer)
        if isinstance(answer, list):
            return [self.applied_to(a) if isinstance(a, AgentSnapshot) else a for a in answer]
        return answer


class AgentBook:
    def __init__(self, sessions: async_sessionmaker, writes: WriteBehind | None = None, *,
                 roster_max_age: float = 0.25):
        self._sessions = sessions
        self._writes = writes or WriteBehind(sessions)
        self._reads = LastGood(self._writes)
        self.roster_max_age = roster_max_age
        #: Every agent as last read, with this process's later changes applied.
        self._roster: dict[int, AgentSnapshot] | None = None
        self._roster_read_at = 0.0
        #: What :meth:`WriteBehind.outside_changes` said when the roster was read.
        self._roster_version: int | None = None
        self._roster_refresh: asyncio.Future[dict[int, AgentSnapshot]] | None = None
        #: How many times the roster was read from the database (for /metrics, tests).
        self.roster_reads = 0
        #: Changes journaled and not yet in the database: fresh reads lack them.
        self._waiting: list[_StateChange] = []
        #: Per read in progress, the changes made meanwhile (it may not see them).
        self._reading: list[list[_StateChange]] = []
        self._writes.register("agents.set_state", self._set_state)
        self._writes.register("agents.offer_started", self._offer_started)
        self._writes.register("agents.offer_ended", self._offer_ended)
        self._writes.listen(self._written)

    # -- reads -------------------------------------------------------------------
    async def of_service(self, service_id: int) -> list[AgentSnapshot]:
        """Every agent who answers this service, whatever their state (from the roster)."""
        roster = await self.roster()
        # A disabled (or deleted) agent has no phone to ring.
        return [agent for agent in roster.values()
                if service_id in agent.services and agent.enabled]

    async def roster(self) -> dict[int, AgentSnapshot]:
        """Every agent by id: read again once older than ``roster_max_age``."""
        if (self._roster is not None
                and time.monotonic() - self._roster_read_at < self.roster_max_age):
            return self._roster
        if self._roster_refresh is None:  # one read at a time; the others wait for it
            self._roster_refresh = asyncio.ensure_future(self._read_roster())
            self._roster_refresh.add_done_callback(self._roster_read_done)
        return await asyncio.shield(self._roster_refresh)

    def known_username(self, agent_id: int) -> str | None:
        """The agent's user name in the roster as it stands (no read), None if not in it."""
        agent = self._roster.get(agent_id) if self._roster is not None else None
        return agent.username if agent is not None else None

    def forget_roster(self) -> None:
        """Someone in this process changed agents behind the book: read them next time."""
        self._roster_read_at = 0.0
        self._roster_version = None

    async def _read_roster(self) -> dict[int, AgentSnapshot]:
        read_at = time.monotonic()
        # Taken before the read: a change committed meanwhile moves it, and is read next time.
        version = await self._writes.outside_changes()
        if (self._roster is not None and version is not None
                and version == self._roster_version):
            # Nobody else wrote to the database since: the roster, with this process's
            # own changes applied as they were posted, is still the truth.
            self._roster_read_at = read_at
            return self._roster

        async def fetch() -> list[AgentSnapshot]:
            return await self._writes.read(lambda session: _snapshots(session, None))

        agents = await self._read("every_agent", fetch)
        self.roster_reads += 1
        self._roster = {agent.id: agent for agent in agents}
        self._roster_read_at = read_at
        self._roster_version = version
        return self._roster

    def _roster_read_done(self, _future: asyncio.Future[Any]) -> None:
        self._roster_refresh = None

    async def get(self, agent_id: int) -> AgentSnapshot | None:
        async def fetch() -> AgentSnapshot | None:
            found = await self._writes.read(
                lambda session: _snapshots(session, _AGENTS.c.id == agent_id))
            return found[0] if found else None

        return await self._read(("agent", agent_id), fetch)

    async def in_states(self, states: tuple[str, ...]) -> list[AgentSnapshot]:
        # Every agent is read (a small table), so that a remembered snapshot, kept up to
        # date with our changes, can show an agent moving into these states too.
        async def fetch() -> list[AgentSnapshot]:
            return await self._writes.read(lambda session: _snapshots(session, None))

        agents = await self._read("every_agent", fetch)
        return [agent for agent in agents if agent.state in states]

    async def wrapup_seconds(self, agent_id: int) -> int:
        """The longest wrap-up among the queues of the agent's services."""
        async def fetch() -> int:
            value = await self._writes.read(lambda session: session.scalar(
                select(func.max(Queue.wrapup_seconds))
                .join(agent_services, agent_services.c.service_id == Queue.service_id)
                .where(agent_services.c.agent_id == agent_id)))
            return int(value or 0)

        return await self._reads.read(("wrapup", agent_id), fetch)

    async def open_offers(self, call_id: str) -> list[CallOffer]:
        async with self._sessions() as session:
            rows = await session.scalars(select(CallOffer).where(
                CallOffer.call_id == call_id).order_by(CallOffer.id))
            return list(rows.all())

    @staticmethod
    def view(agent: AgentSnapshot, busy_elsewhere: bool) -> AgentView:
        return AgentView(
            agent_id=agent.id, username=agent.username, state=agent.state,
            idle_since=agent.state_since or _EPOCH, skills=agent.skills, profile=agent.profile,
            busy_elsewhere=busy_elsewhere, last_offered_at=agent.last_offered_at,
        )

    # -- writes ------------------------------------------------------------------
    async def set_state(self, agent_id: int, state: str, at: datetime, *,
                        only_if: tuple[str, ...] | None = None) -> None:
        """Change an agent's state; with ``only_if``, only from one of those states.

        The guard keeps a call from overriding what the agent did meanwhile
        (e.g. an agent who logged out while ringing stays logged out); it is checked
        when the write reaches the database (also on a journal replay). Posted:
        the call does not wait, and every later read of this book sees it.
        """
        self._writes.post("agents.set_state", agent_id=agent_id, state=state, at=at,
                          only_if=list(only_if) if only_if is not None else None)
        self._posted(_StateChange(agent_id, state, at, only_if, offered=False, seq=None))

    async def offer_started(self, call_id: str, agent_id: int, channel_id: str,
                            at: datetime) -> None:
        """The agent's phone rings for a call; the offer is known by its leg's channel id."""
        self._writes.post("agents.offer_started", call_id=call_id, agent_id=agent_id,
                          channel_id=channel_id, at=at)
        self._posted(_StateChange(agent_id, "ringing", at, None, offered=True, seq=None))

    async def offer_ended(self, channel_id: str, at: datetime, result: str) -> None:
        self._writes.post("agents.offer_ended", channel_id=channel_id, at=at, result=result)

    # -- the writes themselves, inside the writer's transaction and safe to repeat -----
    @staticmethod
    async def _set_state(session: AsyncConnection, *, agent_id: int, state: str, at: datetime,
                         only_if: list[str] | None) -> bool:
        result = await session.execute(
            _state_statement(tuple(only_if) if only_if is not None else None,
                             state != "paused"),
            {"agent_id_": agent_id, "state": state, "at": at})
        return bool(result.rowcount)

    @staticmethod
    async def _offer_started(session: AsyncConnection, *, call_id: str, agent_id: int,
                             channel_id: str, at: datetime) -> None:
        inserted = await session.execute(insert_if_new(session, _OFFERS), dict(
            call_id=call_id, agent_id=agent_id, channel_id=channel_id, ring_started_at=at))
        if inserted.rowcount == 0:
            return  # written already (with the agent's state, same transaction)
        await session.execute(_RINGING, {"agent_id_": agent_id, "at": at})

    @staticmethod
    async def _offer_ended(session: AsyncConnection, *, channel_id: str, at: datetime,
                           result: str) -> None:
        await session.execute(_OFFER_ENDED, {"channel_id_": channel_id, "at": at,
                                             "result": result})

    def _written(self, op: str, args: dict[str, Any], written: Written) -> None:
        """A state change of ours reached the database or the journal: remember it."""
        if op == "agents.offer_started":
            self._changed(args["agent_id"], "ringing", args["at"], only_if=None, offered=True,
                          seq=written.seq)
        elif op == "agents.set_state" and not (written.applied and not written.result):
            # (applied with no row changed: the guard held, nothing changed)
            only_if = tuple(args["only_if"]) if args["only_if"] is not None else None
            self._changed(args["agent_id"], args["state"], args["at"],
                          only_if=None if written.applied else only_if, offered=False,
                          seq=written.seq)

    # -- our own changes over remembered snapshots ----------------------------------
    def _posted(self, change: _StateChange) -> None:
        """A change of ours, as it is posted: the roster shows it at once, and so does a
        roster read in progress (it may have missed it)."""
        if self._roster is not None and change.agent_id in self._roster:
            self._roster[change.agent_id] = change.applied_to(self._roster[change.agent_id])
        for meanwhile in self._reading:
            meanwhile.append(change)

    async def _read(self, key: Hashable, query: Callable[[], Awaitable[T]]) -> T:
        await self._writes.flush()  # our own posted changes first
        if not self._reads.enabled:
            answer, meanwhile = await self._watching(query)
            for change in meanwhile:
                answer = change.applied_to_answer(answer)
            return answer

        async def fetch() -> T:
            answer, meanwhile = await self._watching(query)
            self._waiting = [c for c in self._waiting
                             if c.seq is not None and c.seq > self._writes.applied_through]
            for change in [*self._waiting, *(c for c in meanwhile if c not in self._waiting)]:
                answer = change.applied_to_answer(answer)
            return answer

        return await self._reads.read(key, fetch)

    async def _watching(self, query: Callable[[], Awaitable[Any]]
                        ) -> tuple[Any, list[_StateChange]]:
        """Run a read, and the changes this process made while it ran (it may lack them)."""
        meanwhile: list[_StateChange] = []
        self._reading.append(meanwhile)
        try:
            return await query(), meanwhile
        finally:
            self._reading.remove(meanwhile)

    def _changed(self, agent_id: int, state: str, at: datetime, *,
                 only_if: tuple[str, ...] | None, offered: bool, seq: int | None) -> None:
        if not self._reads.enabled:
            return  # nothing is remembered: every read is fresh
        change = _StateChange(agent_id, state, at, only_if, offered, seq)
        self._reads.revise(change.applied_to_answer)
        for meanwhile in self._reading:
            meanwhile.append(change)
        if seq is not None:
            self._waiting.append(change)
