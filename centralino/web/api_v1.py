"""JSON API for what the admin pages do, with its OpenAPI document at /api/v1/openapi.json.

Behind the control plane's bearer token (``/api/`` middleware of
:mod:`centralino.api`), for scripts on this host; changes are audited as made by
``api``. The same functions as the pages do the work and the checking
(:mod:`centralino.web.changes`, ``menu_changes``, ``sector_changes``,
``agent_changes``); endpoints are declared once (:mod:`centralino.web.api_schema`)
and both the routes and the document are made from that list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from centralino import api
from centralino.web import (
    admin,
    api_v1_agents,
    api_v1_callbacks,
    api_v1_config,
    api_v1_services,
    audit,
    changes,
)
from centralino.web.api_schema import Endpoint, Field, document, handler, id_param
from centralino.web.context import web_context
from centralino.web.validation import MAX_TEXT_LENGTH, NotFound, Refused
from models import Notice, Service
from models.service import PROMPT_KINDS

ACTOR = "api"


def _service_json(service: Service, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": service.slug, "name": service.name, "mode": service.mode,
        "mode_until": service.mode_until.isoformat() if service.mode_until else None,
        "dids": [d.did for d in service.dids]}
    if full:
        body["prompts"] = {p.kind: {"text": p.text, "sound": p.sound} for p in service.prompts}
    return body


async def list_services(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        services = (await session.scalars(select(Service).options(
            selectinload(Service.dids)).order_by(Service.slug))).all()
    return {"services": [_service_json(s) for s in services]}


async def get_service(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        service = await session.scalar(select(Service).where(
            Service.slug == request.match_info["slug"][:64]).options(
            selectinload(Service.dids), selectinload(Service.prompts)))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return _service_json(service, full=True)


def _sounds(request: web.Request) -> Path:
    sounds = web_context(request).sounds_dir
    if sounds is None:
        raise Refused("Directory dei suoni non configurata.")
    return sounds


async def put_prompt(request: web.Request, body: dict[str, Any]) -> Any:
    return await changes.change_prompt_text(
        web_context(request).sessions, _sounds(request), ACTOR, request.match_info["slug"],
        request.match_info["kind"], body["text"])


async def put_recording(request: web.Request, body: dict[str, Any]) -> Any:
    return await changes.upload_prompt(
        web_context(request).sessions, _sounds(request), ACTOR, request.match_info["slug"],
        request.match_info["kind"], body["audio"][:changes.MAX_UPLOAD_BYTES + 1])


async def put_mode(request: web.Request, body: dict[str, Any]) -> None:
    await changes.change_mode(web_context(request).sessions, ACTOR,
                              request.match_info["slug"], body["mode"], body.get("until"))


def _notice_json(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "text": notice.text, "sound": notice.sound,
            "valid_from": notice.valid_from.isoformat(),
            "valid_until": notice.valid_until.isoformat()}


async def list_notices(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        service_id = await session.scalar(select(Service.id).where(
            Service.slug == request.match_info["slug"][:64]))
        if service_id is None:
            raise NotFound("Servizio inesistente.")
        notices = await session.scalars(select(Notice).where(
            Notice.service_id == service_id).order_by(Notice.valid_from, Notice.id))
        return {"notices": [_notice_json(n) for n in notices]}


async def save_notice(request: web.Request, body: dict[str, Any]) -> Any:
    notice_id = id_param(request, "notice_id") if "notice_id" in request.match_info else None
    return await changes.save_notice(
        web_context(request).sessions, _sounds(request), ACTOR, request.match_info["slug"],
        notice_id, body["text"], body["valid_from"], body["valid_until"])


async def delete_notice(request: web.Request, body: dict[str, Any]) -> None:
    await changes.delete_notice(web_context(request).sessions, ACTOR,
                                request.match_info["slug"], id_param(request, "notice_id"))


async def list_audit(request: web.Request, body: dict[str, Any]) -> Any:
    entries = await audit.recent(web_context(request).sessions, 200,
                                 request.query.get("object", "")[:100] or None)
    return {"entries": [
        {"id": e.id, "at": e.at.isoformat(), "username": e.username, "action": e.action,
         "object_type": e.object_type, "object_key": e.object_key, "before": e.before,
         "after": e.after} for e in entries]}


async def restore(request: web.Request, body: dict[str, Any]) -> Any:
    entry_id = id_param(request, "entry_id")
    key = await changes.restore(web_context(request).sessions, _sounds(request), ACTOR,
                                entry_id)
    await admin.restored_page(request.app, key)  # an agent's SIP account reaches Asterisk
    return key


NOTICE = {"text": Field("string", True, max_length=MAX_TEXT_LENGTH),
          "valid_from": Field("string", True, "YYYY-MM-DD"),
          "valid_until": Field("string", True, "YYYY-MM-DD")}
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/services", "Services with numbers and mode", list_services),
    Endpoint("GET", "/api/v1/services/{slug}", "One service with its prompts", get_service),
    Endpoint("PUT", "/api/v1/services/{slug}/prompts/{kind}",
             "Change a prompt's text (kind: " + ", ".join(PROMPT_KINDS) + ", or submenu<ID>: a "
             "submenu's prompt); it is recorded "
             "again under a new sound name", put_prompt,
             {"text": Field("string", True, max_length=MAX_TEXT_LENGTH)}),
    Endpoint("PUT", "/api/v1/services/{slug}/prompts/{kind}/recording",
             "Upload a recording (WAV, or MP3 where sox reads it; at most 10 MB), "
             "converted to 8 kHz mono as on the page", put_recording, audio=True),
    Endpoint("PUT", "/api/v1/services/{slug}/mode",
             "Force open/closed (optionally until a date) or back to auto", put_mode,
             {"mode": Field("string", True, enum=("auto", "open", "closed")),
              "until": Field("string", description="YYYY-MM-DD[THH:MM], service time zone",
                             nullable=True)}),
    Endpoint("GET", "/api/v1/services/{slug}/notices", "A service's notices", list_notices),
    Endpoint("POST", "/api/v1/services/{slug}/notices",
             "Add a notice with its validity dates (recorded with espeak-ng)", save_notice,
             NOTICE),
    Endpoint("PUT", "/api/v1/services/{slug}/notices/{notice_id}", "Change a notice",
             save_notice, NOTICE),
    Endpoint("DELETE", "/api/v1/services/{slug}/notices/{notice_id}", "Delete a notice",
             delete_notice),
    *api_v1_config.ENDPOINTS,
    *api_v1_services.ENDPOINTS,
    *api_v1_agents.ENDPOINTS,
    *api_v1_callbacks.ENDPOINTS,
    Endpoint("GET", "/api/v1/audit", "Latest changes, newest first (?object=KEY)", list_audit),
    Endpoint("POST", "/api/v1/audit/{entry_id}/restore",
             "Restore the object as it was before this entry", restore),
]
OPENAPI: dict[str, Any] = document(ENDPOINTS)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def add_api_v1(app: web.Application) -> None:
    """Register the JSON API; only where the bearer-token middleware guards ``/api/``."""
    if api.TOKEN not in app or api.require_token not in app.middlewares:
        raise RuntimeError("the JSON API needs centralino.api's token middleware first")
    app.router.add_get("/api/v1/openapi.json", openapi)
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, handler(endpoint))
