"""The agent desktop (``/agente``): state buttons, the current call, contact registration,
the worklist of voicemails and abandoned calls.

Only web users of role agent linked to an operator reach it, and each sees only
their own calls and their services' worklist. State changes go through
:func:`centralino.agents.set_state`, the same rules as the CLI and the phone's
feature codes. The current call comes from the control plane's memory when it
runs in the same process (the call in progress), else from the database (the
last call answered, what wrap-up is about). The page works with plain reloads;
a small script refreshes it from ``/agente/stato`` every 2 seconds.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from yarl import URL

from centralino import callbacks, desk, forwards
from centralino.agents import AgentError, AlreadyLoggedIn, StateRefused, set_state
from centralino.api import PLANE
from centralino.resolution import ResolutionError, ResolutionRefused, UnknownCall
from centralino.web.access import requires
from centralino.web.context import web_context
from centralino.web.i18n import translate
from centralino.web.pages import error_page, render, request_language, see_other
from centralino.web.sessions import IDENTITY
from centralino.web.wallboard import clock_of
from models import Service

log = logging.getLogger(__name__)
ZONE = ZoneInfo("Europe/Rome")
STATE_LABELS = {"logged_out": "Fine turno (disconnesso)", "available": "Disponibile",
                "ringing": "Il telefono squilla", "on_call": "In chiamata",
                "wrapup": "Post-chiamata", "paused": "In pausa"}
VOICEMAIL_REASONS = {"out_of_hours": "fuori orario", "no_agents": "operatori non disponibili",
                     "wait_limit": "attesa troppo lunga"}
CALLBACK_STATES = {"ringing_agent": "squilla il suo telefono: rispondere",
                   "dialling": "chiamata al cittadino in corso",
                   "connected": "in conversazione con il cittadino"}
RESOLUTION_LABELS = {"resolved": "Risolta", "escalated": "Inoltrata al referente"}
DONE_MESSAGES = {"stato": "Stato aggiornato.", "registrata": "Contatto registrato.",
                 "messaggio": "Messaggio segnato come fatto.",
                 "richiamata": "Richiamata segnata come fatta.",
                 "inoltro": "Modulo di inoltro inviato.",
                 "richiamo": "Richiamata avviata: rispondere al proprio telefono.",
                 "inoltro-fallito": "Modulo salvato ma non inviato: resta da reinviare."}
#: Fetches the desk's state every 2 s; reloads the page when the call changes and
#: nothing is being typed. Served from this site (the pages' CSP allows no inline script).
SCRIPT = """\
(function () {
  var root = document.getElementById("desk");
  if (!root || !window.fetch) { return; }
  var shown = root.getAttribute("data-signature");
  function typing() {
    var notes = document.querySelector("#registrazione textarea");
    return notes && notes.value !== "";
  }
  function refresh() {
    fetch("/agente/stato", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        document.getElementById("desk-state").textContent = s.state_label;
        if (s.signature !== shown && !typing()) { window.location.reload(); }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 2000);
})();
"""


def _agent_id(request: web.Request) -> int | None:
    return request[IDENTITY].agent_id


def _no_agent(request: web.Request) -> web.Response:
    return error_page(request, 403, "Questo utente non è collegato a un operatore: "
                                    "chiedere all'amministratore.")


def _local(moment: datetime | None) -> str:
    return moment.astimezone(ZONE).strftime("%d/%m/%Y %H:%M") if moment else ""


def _live_call(request: web.Request, agent_id: int) -> dict[str, Any] | None:
    """The call in progress with this agent, from the control plane's memory."""
    plane = request.app.get(PLANE)
    if plane is None:
        return None
    for handle in plane.active_calls:
        flow = handle.flow
        if flow is not None and flow.agent_id == agent_id:
            return {"call_id": flow.ctx.call_id, "service": flow.ctx.service.name,
                    "caller_number": flow.ctx.caller_number,
                    "ivr_path": " > ".join(flow.ivr_path), "topic": flow.skill or "",
                    "live": True, "resolution": None, "classification": None, "notes": "",
                    "sectors": [], "answered_at": "", "ended": False}
    return None


async def _current_call(request: web.Request, agent_id: int) -> dict[str, Any] | None:
    """The call in progress, else the last one the agent answered."""
    sessions = web_context(request).sessions
    live = _live_call(request, agent_id)
    recorded = await desk.agent_call(sessions, agent_id, live["call_id"]) if live else \
        await desk.latest_call(sessions, agent_id)
    if recorded is None:
        return live
    async with sessions() as session:
        service = await session.get(Service, recorded.service_id) if recorded.service_id \
            else None
        sectors = await desk.sectors_of(session, recorded.service_id)
    call = live or {"call_id": recorded.id, "service": service.name if service else "",
                    "caller_number": recorded.caller_number,
                    "ivr_path": recorded.ivr_path.replace(">", " > "),
                    "topic": recorded.topic or "", "live": False}
    call.update(resolution=recorded.resolution, classification=recorded.classification,
                notes=recorded.notes, sectors=sectors, answered_at=_local(recorded.answered_at),
                ended=recorded.ended_at is not None)
    return call


async def _status(request: web.Request, agent_id: int) -> dict[str, Any] | None:
    agent = await desk.agent_of(web_context(request).sessions, agent_id)
    if agent is None:
        return None
    call = await _current_call(request, agent_id)
    plane = request.app.get(PLANE)
    calling = plane.callbacks.of_agent(agent_id) if plane is not None else None
    callback = {"number": calling.plan.number, "state": calling.state.value,
                "state_label": CALLBACK_STATES.get(calling.state.value, "")} if calling else None
    signature = f"{agent.state}|{call['call_id'] if call else ''}|" \
                f"{call.get('ended', False) if call else ''}|" \
                f"{callback['state'] if callback else ''}"
    return {"state": agent.state, "state_label": STATE_LABELS.get(agent.state, agent.state),
            "pause_reason": agent.pause_reason, "since": _local(agent.state_since),
            "username": agent.username, "call": call, "callback": callback,
            "signature": signature}


async def _page(request: web.Request, agent_id: int, status: int = 200,
                error: str | None = None, notes: str | None = None) -> web.Response:
    info = await _status(request, agent_id)
    if info is None:
        return _no_agent(request)
    sessions = web_context(request).sessions
    # ?filtro=chiusura: only what arrived while the service was closed, to its last opening.
    closed_filter = request.query.get("filtro") == "chiusura"
    now = clock_of(request.app)()
    voicemails, abandoned = await desk.worklist(sessions, agent_id,
                                                closed_until=now if closed_filter else None)
    closures = await desk.closed_hours(sessions, agent_id, now) if closed_filter else []
    unsent = await forwards.unsent(sessions, agent_id)
    message = DONE_MESSAGES.get(request.query.get("ok", ""))
    latest = callbacks.latest_by_item(await callbacks.attempts(
        sessions, voicemail_ids=tuple(v.id for v in voicemails),
        call_ids=tuple(c.call_id for c in abandoned)))
    plane = request.app.get(PLANE)
    return render(request, "desk.html", status=status, desk=info, error=error,
                  message=None if error else message, voicemails=voicemails,
                  abandoned=abandoned, unsent=unsent, local=_local, reasons=VOICEMAIL_REASONS,
                  latest_attempts=latest,
                  recent_callbacks=await callbacks.attempts(sessions, agent_id=agent_id,
                                                            limit=10),
                  can_call_back=plane is not None and plane.callbacks.enabled,
                  resolution_labels=RESOLUTION_LABELS, typed_notes=notes,
                  closed_filter=closed_filter, closures=closures,
                  out_of_hours=sum(v.reason == "out_of_hours" for v in voicemails))


@requires("agent")
async def desk_page(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    return await _page(request, agent_id)


@requires("agent")
async def desk_status(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    info = await _status(request, agent_id) if agent_id is not None else None
    if info is None:
        return web.json_response({"error": "utente non collegato a un operatore"}, status=403)
    info["state_label"] = translate(request_language(request), info["state_label"])
    response = web.json_response(info)
    response.headers["Cache-Control"] = "no-store"
    return response


@requires("agent")
async def desk_script(request: web.Request) -> web.Response:
    return web.Response(text=SCRIPT, content_type="application/javascript",
                        headers={"Cache-Control": "no-cache",
                                 "X-Content-Type-Options": "nosniff"})


#: Button → the agent action it means from each state ("Disponibile" logs in or resumes).
def _action(button: str, state: str) -> str | None:
    if button == "disponibile":
        return "login" if state == "logged_out" else "resume"
    return {"pausa": "pause", "fine-turno": "logout"}.get(button)


REFUSALS = {
    "login": "È già connesso.",
    "resume": "È già disponibile (o al telefono): nulla da riprendere.",
    "pause": "La pausa non è possibile adesso: durante una chiamata, o senza essere connessi.",
    "logout": "Non è connesso.",
}


@requires("agent")
async def desk_state(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    agent = await desk.agent_of(web_context(request).sessions, agent_id) \
        if agent_id is not None else None
    if agent is None:
        return _no_agent(request)
    form = await request.post()
    action = _action(str(form.get("azione", "")), agent.state)
    if action is None:
        return await _page(request, agent_id, 400, "Azione sconosciuta.")
    reason = str(form.get("motivo", "")) if action == "pause" else None
    if action == "pause" and not (reason or "").strip():
        return await _page(request, agent_id, 400, "Indicare il motivo della pausa.")
    try:
        await set_state(web_context(request).sessions, agent.username, action, reason)
        plane = request.app.get(PLANE)
        if plane is not None:
            plane.agents_changed()
    except (StateRefused, AlreadyLoggedIn):
        return await _page(request, agent_id, 409, REFUSALS[action])
    except AgentError:
        return await _page(request, agent_id, 400, "Motivo della pausa non valido: al massimo "
                                                   "100 caratteri su una riga.")
    return see_other("/agente?ok=stato")


@requires("agent")
async def desk_register(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    sessions = web_context(request).sessions
    call_id = request.match_info["call_id"]
    if await desk.agent_call(sessions, agent_id, call_id) is None:
        return error_page(request, 404, "Chiamata inesistente o non sua.")
    form = await request.post()
    notes = str(form.get("note", ""))
    try:
        await desk.register_contact(sessions, call_id, str(form.get("classificazione", "")),
                                    str(form.get("esito", "")), notes,
                                    actor=request[IDENTITY].username)
    except desk.DeskError as exc:
        return await _page(request, agent_id, 400, str(exc), notes)
    except ResolutionError:
        return await _page(request, agent_id, 400, "Indicare l'esito (risolta o inoltrata al "
                                                   "referente); note al massimo di 2000 "
                                                   "caratteri.", notes)
    except ResolutionRefused:
        return await _page(request, agent_id, 409, "La chiamata è stata trasferita a un "
                                                   "referente: l'esito resta «inoltrata».", notes)
    except UnknownCall:
        return error_page(request, 404, "Chiamata inesistente o non sua.")
    log.info("call %s: contact registered by agent %s", call_id, agent_id)
    return see_other("/agente?ok=registrata")


def _int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@requires("agent")
async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    voicemail_id = _int(request.match_info["voicemail_id"])
    voicemail = await desk.agent_voicemail(web_context(request).sessions, agent_id,
                                           voicemail_id) if voicemail_id else None
    plane = request.app.get(PLANE)
    if voicemail is None:
        return error_page(request, 404, "Messaggio inesistente.")
    name = voicemail.audio_path.removeprefix("recording/").removesuffix(".wav")
    if plane is None or not name:
        return error_page(request, 404, "Registrazione non disponibile.")
    # Asterisk keeps the recording: ask it for the file (it may run on another host).
    url = URL(f"{plane.ari.base_url}/ari/recordings/stored/{quote(name, safe='')}/file",
              encoded=True)
    try:
        async with plane.ari.session.get(url) as answer:
            if answer.status != 200:
                return error_page(request, 404, "Registrazione non disponibile.")
            body = await answer.read()
    except Exception as exc:  # Asterisk away: the page says so, the desk keeps working
        log.warning("voicemail %s: recording not fetched (%s)", voicemail.id, exc)
        return error_page(request, 503, "Registrazione momentaneamente non disponibile.")
    return web.Response(body=body, content_type="audio/wav",
                        headers={"Cache-Control": "no-store"})


@requires("agent")
async def voicemail_done(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    voicemail_id = _int(request.match_info["voicemail_id"])
    if not voicemail_id or not await desk.mark_voicemail_done(
            web_context(request).sessions, agent_id, voicemail_id,
            actor=request[IDENTITY].username):
        return error_page(request, 404, "Messaggio inesistente.")
    return see_other("/agente?ok=messaggio")


@requires("agent")
async def callback_done(request: web.Request) -> web.Response:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    if not await desk.mark_callback_done(web_context(request).sessions, agent_id,
                                         request.match_info["call_id"],
                                         actor=request[IDENTITY].username):
        return error_page(request, 404, "Chiamata abbandonata inesistente.")
    return see_other("/agente?ok=richiamata")


async def _call_back(request: web.Request, **item: Any) -> web.Response:
    agent_id = _agent_id(request)
    if agent_id is None:
        return _no_agent(request)
    try:
        callback_id = await callbacks.place_callback(
            web_context(request).sessions, request.app.get(PLANE), agent_id,
            actor=request[IDENTITY].username, **item)
    except callbacks.CallbackRefused as exc:
        return await _page(request, agent_id, exc.status, str(exc))
    log.info("callback %s: placed by agent %s", callback_id, agent_id)
    return see_other("/agente?ok=richiamo")


@requires("agent")
async def voicemail_call_back(request: web.Request) -> web.Response:
    voicemail_id = _int(request.match_info["voicemail_id"])
    if voicemail_id is None:
        return error_page(request, 404, "Messaggio inesistente.")
    return await _call_back(request, voicemail_id=voicemail_id)


@requires("agent")
async def abandoned_call_back(request: web.Request) -> web.Response:
    return await _call_back(request, call_id=request.match_info["call_id"])


ROUTES = [
    ("GET", "/agente", desk_page),
    ("GET", "/agente/stato", desk_status),
    ("GET", "/agente/desk.js", desk_script),
    ("POST", "/agente/stato", desk_state),
    ("POST", "/agente/chiamate/{call_id}/registrazione", desk_register),
    ("GET", "/agente/messaggi/{voicemail_id}/audio", voicemail_audio),
    ("POST", "/agente/messaggi/{voicemail_id}/fatto", voicemail_done),
    ("POST", "/agente/abbandonate/{call_id}/fatto", callback_done),
    ("POST", "/agente/messaggi/{voicemail_id}/richiama", voicemail_call_back),
    ("POST", "/agente/abbandonate/{call_id}/richiama", abandoned_call_back),
]
