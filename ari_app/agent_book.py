"""Agents as the call flows see them: who may be rung, and the state changes calls cause.

Logging in, pausing and logging out are done by agents (CLI, feature codes,
desktop) and written to the database; ringing, on-call and wrap-up are written
here by the control plane. The database is the source of truth, so a restarted
process, or a second process, sees the same agents.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.routing import AgentView
from models import Agent, CallOffer, Queue, agent_services

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class AgentBook:
    def __init__(self, sessions: async_sessionmaker):
        self._sessions = sessions

    async def of_service(self, service_id: int) -> list[Agent]:
        """Every agent who answers this service, whatever their state."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Agent).join(agent_services, agent_services.c.agent_id == Agent.id)
                .where(agent_services.c.service_id == service_id).order_by(Agent.id))
            return list(rows.all())

    @staticmethod
    def view(agent: Agent, busy_elsewhere: bool) -> AgentView:
        return AgentView(
            agent_id=agent.id, username=agent.username, state=agent.state,
            idle_since=agent.state_since or _EPOCH,
            skills=frozenset(s.skill for s in agent.skills), profile=agent.profile,
            busy_elsewhere=busy_elsewhere, last_offered_at=agent.last_offered_at,
        )

    async def set_state(self, agent_id: int, state: str, at: datetime, *,
                        only_if: tuple[str, ...] | None = None) -> bool:
        """Change an agent's state; with ``only_if``, only from one of those states.

        The guard keeps a call from overriding what the agent did meanwhile
        (e.g. an agent who logged out while ringing stays logged out).
        """
        async with self._sessions() as session:
            query = update(Agent).where(Agent.id == agent_id)
            if only_if is not None:
                query = query.where(Agent.state.in_(only_if))
            values: dict[str, object] = {"state": state, "state_since": at}
            if state != "paused":
                values["pause_reason"] = None
            result = await session.execute(query.values(**values))
            await session.commit()
            return bool(result.rowcount)

    async def offer_started(self, call_id: str, agent_id: int, channel_id: str,
                            at: datetime) -> int:
        async with self._sessions() as session:
            offer = CallOffer(call_id=call_id, agent_id=agent_id, channel_id=channel_id,
                              ring_started_at=at)
            session.add(offer)
            await session.execute(update(Agent).where(Agent.id == agent_id).values(
                state="ringing", state_since=at, last_offered_at=at))
            await session.commit()
            return offer.id

    async def offer_ended(self, offer_id: int, at: datetime, result: str) -> None:
        async with self._sessions() as session:
            await session.execute(update(CallOffer).where(
                CallOffer.id == offer_id, CallOffer.ring_stopped_at.is_(None)).values(
                ring_stopped_at=at, result=result))
            await session.commit()

    async def open_offers(self, call_id: str) -> list[CallOffer]:
        async with self._sessions() as session:
            rows = await session.scalars(select(CallOffer).where(
                CallOffer.call_id == call_id).order_by(CallOffer.id))
            return list(rows.all())

    async def get(self, agent_id: int) -> Agent | None:
        async with self._sessions() as session:
            return await session.get(Agent, agent_id)

    async def wrapup_seconds(self, agent_id: int) -> int:
        """The longest wrap-up among the queues of the agent's services."""
        async with self._sessions() as session:
            value = await session.scalar(
                select(func.max(Queue.wrapup_seconds))
                .join(agent_services, agent_services.c.service_id == Queue.service_id)
                .where(agent_services.c.agent_id == agent_id))
            return int(value or 0)

    async def in_states(self, states: tuple[str, ...]) -> list[Agent]:
        async with self._sessions() as session:
            return list((await session.scalars(
                select(Agent).where(Agent.state.in_(states)))).all())
