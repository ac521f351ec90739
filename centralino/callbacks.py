"""Placing a call-back from the worklist ("Richiama"), without the web: checks, then the call.

Only the number recorded on the worklist item is ever dialled (a voicemail's or an
abandoned call's caller number, checked again by :func:`ari_app.sanitize.dialable_number`),
never one sent by a browser; the item must belong to one of the agent's services
and still be open. The agent must be logged in and free: in one transaction the
agent is claimed (``on_call``) and the attempt is recorded, so two clicks, or a
queue call ringing meanwhile, cannot both have them. The control plane then rings
the agent's phone (:mod:`ari_app.flows.callback`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ari_app.flows.callback import CallbackPlan
from ari_app.sanitize import dialable_number
from ari_app.transport.ari import AriError, AriUnavailable
from centralino import desk  # as a module: it imports the web package, which imports us
from centralino.web import audit
from models import Agent, Call, Callback, ServiceDid, Voicemail, agent_services

#: States from which an agent may call back: logged in, not on (or rung for) a call.
FREE_STATES = ("available", "wrapup")
RESULT_LABELS = {"answered": "risposto", "no_answer": "nessuna risposta", "busy": "occupato",
                 "failed": "errore", "agent_missed": "l'operatore non ha risposto",
                 "cancelled": "annullata dall'operatore"}
NOT_CONFIGURED = ("Richiamata non configurata: manca il collegamento in uscita verso "
                  "l'operatore telefonico (carrier_outbound_uri).")


class CallbackRefused(Exception):
    """The call-back cannot be placed; the message says why, in Italian, for the agent."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Attempt:
    """A call-back attempt as the desk shows it."""

    callback_id: str
    voicemail_id: int | None
    call_id: str | None
    number: str
    username: str
    agent_name: str
    requested_at: datetime
    ended_at: datetime | None
    result: str | None

    @property
    def result_label(self) -> str:
        return RESULT_LABELS.get(self.result or "", "in corso")


def _mine(agent_id: int) -> Any:
    return select(agent_services.c.service_id).where(agent_services.c.agent_id == agent_id)


async def _item(session: AsyncSession, agent_id: int, voicemail_id: int | None,
                call_id: str | None) -> tuple[int | None, str]:
    """The open worklist item's service and recorded number; refused if there is none."""
    if voicemail_id is not None:
        row = (await session.execute(select(Voicemail.service_id, Voicemail.caller_number)
                                     .where(Voicemail.id == voicemail_id,
                                            Voicemail.service_id.in_(_mine(agent_id)),
                                            Voicemail.handled_at.is_(None)))).first()
        what = "Messaggio inesistente o già gestito."
    else:
        row = (await session.execute(select(Call.service_id, Call.caller_number).where(
            Call.id == (call_id or "")[:64], Call.outcome.in_(desk.ABANDONED_OUTCOMES),
            Call.service_id.in_(_mine(agent_id)), Call.callback_done_at.is_(None)))).first()
        what = "Chiamata abbandonata inesistente o già richiamata."
    if row is None:
        raise CallbackRefused(what, 404)
    return row[0], row[1]


_BUSY_MESSAGES = {
    "logged_out": "Per richiamare occorre essere connessi: premere «Disponibile».",
    "paused": "In pausa non si richiama: premere «Disponibile», poi «Richiama».",
}


async def _phone_free(plane: Any, endpoint: str) -> None:
    """The agent's softphone is registered and has no call: else say so now."""
    try:
        phones = {e.get("resource"): e for e in await plane.ari.list_endpoints("PJSIP")}
    except (AriError, AriUnavailable):
        raise CallbackRefused("Centralino momentaneamente non raggiungibile: riprovare.",
                              503) from None
    phone = phones.get(endpoint)
    if phone is None or phone.get("state") == "offline":
        raise CallbackRefused("Il telefono dell'operatore non è registrato: accenderlo e "
                              "riprovare.")
    if phone.get("channel_ids"):
        raise CallbackRefused("Il telefono dell'operatore è già in una chiamata.")


async def place_callback(sessions: async_sessionmaker, plane: Any, agent_id: int, *,
                         actor: str, voicemail_id: int | None = None,
                         call_id: str | None = None, now: datetime | None = None) -> str:
    """Call back the citizen of one worklist item from this agent's phone; the attempt's id.

    Raises CallbackRefused (nothing written, the agent's state unchanged) when call-backs
    are not configured, the item is not the agent's or not open, its number cannot be
    dialled, or the agent is not logged in and free.
    """
    if plane is None or not plane.callbacks.enabled:
        raise CallbackRefused(NOT_CONFIGURED, 503)
    if (voicemail_id is None) == (call_id is None):
        raise CallbackRefused("Indicare il messaggio o la chiamata da richiamare.", 400)
    moment = now or datetime.now(UTC)
    async with sessions() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise CallbackRefused("Operatore inesistente.", 404)
        service_id, recorded = await _item(session, agent_id, voicemail_id, call_id)
        number = dialable_number(recorded)
        if number is None:
            raise CallbackRefused("Numero del chiamante sconosciuto (anonimo) o non valido: "
                                  "non si può richiamare.", 400)
        if agent.state not in FREE_STATES:
            raise CallbackRefused(_BUSY_MESSAGES.get(
                agent.state, "Durante una chiamata non si può richiamare."))
        if plane.callbacks.of_agent(agent_id) is not None or agent_id in \
                plane.dispatcher.offered:
            raise CallbackRefused("Durante una chiamata non si può richiamare.")
        endpoint = agent.username
    await _phone_free(plane, endpoint)
    callback_id = str(uuid.uuid4())
    async with sessions() as session:
        caller_id = await session.scalar(select(ServiceDid.did).where(
            ServiceDid.service_id == service_id).order_by(ServiceDid.id).limit(1)) or ""
        claimed = await session.execute(update(Agent).where(
            Agent.id == agent_id, Agent.state.in_(FREE_STATES)).values(
            state="on_call", state_since=moment, pause_reason=None))
        if not claimed.rowcount:
            raise CallbackRefused("Durante una chiamata non si può richiamare.")
        session.add(Callback(
            id=callback_id, voicemail_id=voicemail_id, call_id=call_id, service_id=service_id,
            agent_id=agent_id, username=actor[:32], endpoint=endpoint, number=number,
            caller_id=caller_id, state="ringing_agent", requested_at=moment))
        await session.flush()
        audit.record(session, actor, "callback.start", "callback", callback_id, None,
                     {"item": f"voicemail/{voicemail_id}" if voicemail_id is not None
                      else f"call/{call_id}", "number": number, "agent_id": agent_id})
        await session.commit()
    plane.callbacks.place(CallbackPlan(callback_id=callback_id, agent_id=agent_id,
                                       endpoint=endpoint, number=number, caller_id=caller_id))
    return callback_id


async def attempts(sessions: async_sessionmaker, *, voicemail_ids: tuple[int, ...] = (),
                   call_ids: tuple[str, ...] = (), agent_id: int | None = None,
                   limit: int = 200) -> list[Attempt]:
    """Call-back attempts, newest first: of these items, or placed by this agent."""
    query = select(Callback, Agent.display_name).outerjoin(
        Agent, Agent.id == Callback.agent_id).order_by(Callback.requested_at.desc()).limit(limit)
    if agent_id is not None:
        query = query.where(Callback.agent_id == agent_id)
    else:
        query = query.where(Callback.voicemail_id.in_(list(voicemail_ids))
                            | Callback.call_id.in_(list(call_ids)))
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [Attempt(c.id, c.voicemail_id, c.call_id, c.number, c.username,
                    name or c.endpoint, c.requested_at, c.ended_at, c.result)
            for c, name in rows]


def latest_by_item(found: list[Attempt]) -> dict[str, Attempt]:
    """The newest attempt per item, keyed ``v<id>`` (voicemail) or ``c<id>`` (call)."""
    latest: dict[str, Attempt] = {}
    for attempt in found:  # newest first
        key = f"v{attempt.voicemail_id}" if attempt.voicemail_id is not None \
            else f"c{attempt.call_id}"
        latest.setdefault(key, attempt)
    return latest
