"""The agent desktop's work, without the web: sectors, contact registration, the worklist.

A contact is registered on a call the agent answered: its classification (one of
the service's sectors), notes and resolution (through :mod:`centralino.resolution`,
so the rules are the same as for the API). The worklist holds what still needs a
person: voicemails not handled and abandoned calls not called back, of the
agent's services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ari_app.hours import ClosedStretch
from centralino.resolution import (
    ResolutionError,
    UnknownCall,
    check_resolution,
    record_resolution,
)
from centralino.services import WorklistItem, arrived_while_closed, closed_stretches
from centralino.web import audit
from models import Agent, Call, Service, ServiceSector, Voicemail, agent_services

#: Sectors the tender names for Motorizzazione Civile (Appendix 1); services the
#: tender gives none for get :data:`GENERIC_SECTORS`.
SECTORS: dict[str, tuple[str, ...]] = {
    "motorizzazione": ("Patenti", "Immatricolazioni", "Revisioni e collaudi", "Veicoli",
                       "Autotrasporto", "Segreteria"),
    "apiae": ("Contributi", "Appuntamenti", "Orari degli uffici", "Altre informazioni"),
    "trentino-digitale": ("Carta Provinciale dei Servizi", "Trentino in rete",
                          "Portale Geo-cartografico", "Trentino Accessibile"),
    "agenzia-lavoro": ("Offerte di lavoro", "Banca dati candidati", "Centri per l'impiego",
                       "Altre informazioni"),
}
GENERIC_SECTORS = ("Informazioni generali", "Pratica in corso", "Reclamo", "Altro")
ABANDONED_OUTCOMES = ("abandoned", "abandoned_short")


class DeskError(ResolutionError):
    """Bad input from the desktop's form: nothing was written."""


async def seed_sectors(session: AsyncSession) -> None:
    """Give every service without sectors its list (the tender's, or the generic one)."""
    with_sectors = select(ServiceSector.service_id)
    services = (await session.execute(select(Service.id, Service.slug).where(
        Service.id.not_in(with_sectors)))).all()
    for service_id, slug in services:
        for position, name in enumerate(SECTORS.get(slug, GENERIC_SECTORS)):
            session.add(ServiceSector(service_id=service_id, name=name, position=position))
    await session.flush()


async def sectors_of(session: AsyncSession, service_id: int | None) -> list[str]:
    if service_id is None:
        return list(GENERIC_SECTORS)
    names = list(await session.scalars(select(ServiceSector.name).where(
        ServiceSector.service_id == service_id, ServiceSector.retired_at.is_(None))
        .order_by(ServiceSector.position, ServiceSector.name)))
    return names or list(GENERIC_SECTORS)


async def agent_call(sessions: async_sessionmaker, agent_id: int, call_id: str) -> Call | None:
    """The call ``call_id`` if this agent answered it; None otherwise (not theirs, unknown)."""
    async with sessions() as session:
        return await session.scalar(select(Call).where(Call.id == call_id[:64],
                                                       Call.agent_id == agent_id))


async def latest_call(sessions: async_sessionmaker, agent_id: int) -> Call | None:
    """The last call this agent answered (what wrap-up is about)."""
    async with sessions() as session:
        return await session.scalar(select(Call).where(
            Call.agent_id == agent_id, Call.answered_at.is_not(None))
            .order_by(Call.answered_at.desc()).limit(1))


def _registration(call: Call) -> dict[str, Any]:
    return {"classification": call.classification, "resolution": call.resolution,
            "notes": call.notes}


async def register_contact(sessions: async_sessionmaker, call_id: str, classification: str,
                           resolution: str, notes: str, actor: str | None = None) -> None:
    """Classify the call and record its resolution and notes; with ``actor``, also in the
    audit log (what the call said before and after).

    Raises DeskError (bad input), UnknownCall, ResolutionRefused (e.g. "resolved"
    for a call transferred to a referent); on a refusal nothing is written.
    """
    check_resolution(resolution, notes)
    async with sessions() as session:
        call = await session.get(Call, call_id[:64])
        if call is None:
            raise UnknownCall(call_id)
        # A call already classified under a sector retired since may keep it.
        if classification not in await sectors_of(session, call.service_id) \
                and classification != call.classification:
            raise DeskError("scegliere una classificazione fra i settori del servizio")
        before = _registration(call)
    await record_resolution(sessions, call_id, resolution, notes)
    async with sessions() as session:
        call = await session.get(Call, call_id[:64])
        if call is None:
            raise UnknownCall(call_id)
        call.classification = classification
        if actor is not None:
            audit.record(session, actor, "contact.register", "call", call.id, before,
                         _registration(call))
        await session.commit()


@dataclass(frozen=True)
class AbandonedItem:
    call_id: str
    service: str
    caller_number: str
    arrived_at: datetime
    waited_seconds: int | None


def _agent_service_ids(agent_id: int):
    return select(agent_services.c.service_id).where(agent_services.c.agent_id == agent_id)


async def worklist(sessions: async_sessionmaker, agent_id: int, *,
                   closed_until: datetime | None = None
                   ) -> tuple[list[WorklistItem], list[AbandonedItem]]:
    """Voicemails not handled and abandoned calls not called back, of the agent's services,
    oldest first; with ``closed_until``, only what arrived while its service was closed
    up to its last opening (see :func:`centralino.services.voicemail_worklist`)."""
    mine = _agent_service_ids(agent_id)
    async with sessions() as session:
        voicemails = (await session.execute(
            select(Voicemail, Service.name).join(Service, Voicemail.service_id == Service.id)
            .where(Voicemail.handled_at.is_(None), Voicemail.service_id.in_(mine))
            .order_by(Voicemail.recorded_at))).all()
        abandoned = (await session.execute(
            select(Call, Service.name).join(Service, Call.service_id == Service.id)
            .where(Call.outcome.in_(ABANDONED_OUTCOMES), Call.callback_done_at.is_(None),
                   Call.caller_number != "", Call.service_id.in_(mine))
            .order_by(Call.arrived_at))).all()
        if closed_until is not None:
            stretches = await closed_stretches(
                session, {v.service_id for v, _n in voicemails} | {c.service_id
                                                                   for c, _n in abandoned},
                closed_until)
            voicemails = [(v, n) for v, n in voicemails
                          if arrived_while_closed(stretches, v.service_id, v.recorded_at)]
            abandoned = [(c, n) for c, n in abandoned
                         if arrived_while_closed(stretches, c.service_id, c.arrived_at)]
    return ([WorklistItem(v.id, name, v.caller_number, v.recorded_at, v.duration_seconds,
                           v.reason, v.callback_requested, v.audio_path)
             for v, name in voicemails],
            [AbandonedItem(c.id, name, c.caller_number, c.arrived_at,
                           int((c.ended_at - c.queue_entered_at).total_seconds())
                           if c.ended_at and c.queue_entered_at else None)
             for c, name in abandoned])


async def closed_hours(sessions: async_sessionmaker, agent_id: int, now: datetime
                       ) -> list[tuple[str, ClosedStretch | None]]:
    """Per service of the agent (by name), the closure its last opening ended, or the
    one in progress: what the desk's "arrived while closed" filter covers."""
    async with sessions() as session:
        names = dict((await session.execute(
            select(Service.id, Service.name).where(Service.id.in_(_agent_service_ids(agent_id)))
            .order_by(Service.name))).all())
        stretches = await closed_stretches(session, names, now)
    return [(name, stretches.get(service_id)) for service_id, name in names.items()]


async def agent_voicemail(sessions: async_sessionmaker, agent_id: int,
                          voicemail_id: int) -> Voicemail | None:
    """A voicemail of one of the agent's services; None if there is none such."""
    async with sessions() as session:
        return await session.scalar(select(Voicemail).where(
            Voicemail.id == voicemail_id, Voicemail.service_id.in_(_agent_service_ids(agent_id))))


async def mark_voicemail_done(sessions: async_sessionmaker, agent_id: int, voicemail_id: int,
                              now: datetime | None = None, actor: str | None = None) -> bool:
    """Mark the message handled by this agent; False if it is not one of theirs.

    Marking it again keeps the first agent and time (and writes no audit entry)."""
    async with sessions() as session:
        voicemail = await session.scalar(select(Voicemail).where(
            Voicemail.id == voicemail_id, Voicemail.service_id.in_(_agent_service_ids(agent_id)))
            .with_for_update())
        if voicemail is None:
            return False
        if voicemail.handled_at is None:
            voicemail.handled_at = now or datetime.now(UTC)
            voicemail.handled_by = agent_id
            if actor is not None:
                audit.record(session, actor, "voicemail.done", "voicemail", str(voicemail.id),
                             {"handled_at": None, "handled_by": None},
                             {"handled_at": voicemail.handled_at.isoformat(),
                              "handled_by": agent_id})
            await session.commit()
        return True


async def mark_callback_done(sessions: async_sessionmaker, agent_id: int, call_id: str,
                             now: datetime | None = None, actor: str | None = None) -> bool:
    """Mark an abandoned call of the agent's services as called back by this agent; False
    if not one.

    Marking it again keeps the first agent and time (and writes no audit entry)."""
    async with sessions() as session:
        call = await session.scalar(select(Call).where(
            Call.id == call_id[:64], Call.outcome.in_(ABANDONED_OUTCOMES),
            Call.service_id.in_(_agent_service_ids(agent_id))).with_for_update())
        if call is None:
            return False
        if call.callback_done_at is None:
            call.callback_done_at = now or datetime.now(UTC)
            call.callback_done_by = agent_id
            if actor is not None:
                audit.record(session, actor, "callback.done", "call", call.id,
                             {"callback_done_at": None, "callback_done_by": None},
                             {"callback_done_at": call.callback_done_at.isoformat(),
                              "callback_done_by": agent_id})
            await session.commit()
        return True


async def agent_of(sessions: async_sessionmaker, agent_id: int) -> Agent | None:
    async with sessions() as session:
        return await session.get(Agent, agent_id)
