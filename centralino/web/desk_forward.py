"""The desk's forward form (``/agente/chiamate/{call_id}/inoltro``); the sectors' mailboxes
are set on the admin page ``/admin/settori`` (:mod:`centralino.web.admin_sectors`).

The form is for a call the agent answered; it is prefilled from the call (day,
time, caller number) and goes to the chosen sector's mailbox or to a typed
referent address. What could not be sent stays listed "da reinviare" on the desk
with a button to retry. The mail server comes from the control plane's settings
(``smtp_*``), put on the application under :data:`MAIL_SETTINGS`.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from centralino import desk, forwards
from centralino.config import Settings
from centralino.web.access import requires
from centralino.web.context import web_context
from centralino.web.pages import error_page, render, see_other
from centralino.web.sessions import IDENTITY
from models import Call, ServiceSector

log = logging.getLogger(__name__)
ZONE = ZoneInfo("Europe/Rome")
MAIL_SETTINGS: web.AppKey[Settings] = web.AppKey("mail_settings", Settings)


def _agent_id(request: web.Request) -> int | None:
    return request[IDENTITY].agent_id


def _prefill(call: Call) -> dict[str, str]:
    moment = (call.answered_at or call.arrived_at).astimezone(ZONE)
    return {"data": moment.date().isoformat(), "ora": moment.strftime("%H:%M"),
            "telefono": call.caller_number}


async def _sectors(request: web.Request, call: Call) -> list[ServiceSector]:
    async with web_context(request).sessions() as session:
        return list(await session.scalars(select(ServiceSector).where(
            ServiceSector.service_id == call.service_id,
            ServiceSector.retired_at.is_(None)).order_by(ServiceSector.position,
                                                                  ServiceSector.name)))


async def _form_page(request: web.Request, call: Call, values: dict[str, str],
                     status: int = 200, error: str | None = None) -> web.Response:
    return render(request, "desk_forward.html", status=status, call=call, values=values,
                  sectors=await _sectors(request, call), error=error)


async def _own_call(request: web.Request) -> tuple[int | None, Call | None]:
    agent_id = _agent_id(request)
    if agent_id is None:
        return None, None
    return agent_id, await desk.agent_call(web_context(request).sessions, agent_id,
                                           request.match_info["call_id"])


@requires("agent")
async def forward_form(request: web.Request) -> web.Response:
    agent_id, call = await _own_call(request)
    if call is None:
        return error_page(request, 404 if agent_id else 403, "Chiamata inesistente o non sua.")
    return await _form_page(request, call, _prefill(call))


@requires("agent")
async def forward_submit(request: web.Request) -> web.Response:
    agent_id, call = await _own_call(request)
    if call is None or agent_id is None:
        return error_page(request, 404 if agent_id else 403, "Chiamata inesistente o non sua.")
    form = await request.post()
    values = {key: str(form.get(key, "")) for key in (
        "cognome", "nome", "data", "ora", "persona", "motivo", "telefono", "email", "settore",
        "referente")}
    try:
        checked = forwards.check_form(form)
        forward = await forwards.submit(web_context(request).sessions,
                                        request.app.get(MAIL_SETTINGS), call, agent_id,
                                        request[IDENTITY].username, checked)
    except forwards.ForwardRefused as exc:
        return await _form_page(request, call, values, 400, str(exc))
    return see_other("/agente?ok=inoltro" if forward.sent_at else "/agente?ok=inoltro-fallito")


@requires("agent")
async def forward_retry(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    raw = request.match_info["forward_id"]
    forward_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
    sessions = web_context(request).sessions
    if agent_id is None or forward_id is None or \
            await forwards.agent_forward(sessions, agent_id, forward_id) is None:
        return error_page(request, 404, "Modulo inesistente.")
    forward = await forwards.send(sessions, request.app.get(MAIL_SETTINGS), forward_id)
    return see_other("/agente?ok=inoltro" if forward and forward.sent_at
                     else "/agente?ok=inoltro-fallito")


ROUTES = [
    ("GET", "/agente/chiamate/{call_id}/inoltro", forward_form),
    ("POST", "/agente/chiamate/{call_id}/inoltro", forward_submit),
    ("POST", "/agente/inoltri/{forward_id}/reinvia", forward_retry),
]
