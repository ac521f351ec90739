"""The JSON API's call-backs: what the desk's "Richiama" does, for scripts on this host."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from centralino import api, callbacks
from centralino.web.api_schema import Endpoint, Field
from centralino.web.context import web_context
from centralino.web.validation import NotFound, Refused
from models import Agent, Callback

ACTOR = "api"


async def place_callback(request: web.Request, body: dict[str, Any]) -> web.Response:
    """Call a worklist item's citizen back from an agent's phone: 202 with its id."""
    sessions = web_context(request).sessions
    async with sessions() as session:
        agent_id = await session.scalar(select(Agent.id).where(
            Agent.username == request.match_info["username"][:32]))
    if agent_id is None:
        raise NotFound("Operatore inesistente.")
    voicemail_id = body.get("voicemail_id")
    if voicemail_id is not None and not 0 < voicemail_id < 2**31:
        raise Refused("voicemail_id deve essere un numero intero positivo.")
    try:
        callback_id = await callbacks.place_callback(
            sessions, request.app[api.PLANE], agent_id, actor=ACTOR,
            voicemail_id=voicemail_id, call_id=body.get("call_id"))
    except callbacks.CallbackRefused as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    return web.json_response({"callback_id": callback_id}, status=202)


async def get_callback(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        found = await session.get(Callback, request.match_info["callback_id"][:36])
    if found is None:
        raise NotFound("Richiamata inesistente.")
    return {
        "callback_id": found.id, "voicemail_id": found.voicemail_id, "call_id": found.call_id,
        "agent_id": found.agent_id, "username": found.username, "number": found.number,
        "state": found.state, "result": found.result, "hung_up_by": found.hung_up_by,
        **{name: moment.isoformat() if moment else None for name, moment in (
            ("requested_at", found.requested_at), ("agent_answered_at", found.agent_answered_at),
            ("answered_at", found.answered_at), ("ended_at", found.ended_at))}}


ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/api/v1/agents/{username}/callbacks",
             "Call back the citizen of an open worklist item from this agent's phone: the "
             "agent's phone rings, then the number recorded on the item is dialled (exactly "
             "one of voicemail_id and call_id)", place_callback,
             {"voicemail_id": Field("integer"), "call_id": Field("string")},
             responses={"202": "the agent's phone is ringing: `callback_id`",
                        "400": "no item, or a number that cannot be dialled (anonymous)",
                        "404": "no such agent, or no such open item of the agent's services",
                        "409": "agent not logged in or on a call",
                        "503": "call-backs not configured (carrier_outbound_uri)"}),
    Endpoint("GET", "/api/v1/callbacks/{callback_id}",
             "One call-back attempt: state, result (answered, no_answer, busy, failed, "
             "agent_missed, cancelled) and times", get_callback),
]
