"""JSON API for what the admin pages do, with its OpenAPI document at /api/v1/openapi.json.

Behind the control plane's bearer token (``/api/`` middleware of
:mod:`centralino.api`), for scripts on this host; changes are audited as made by
``api``. The same functions as the pages do the work (:mod:`centralino.web.changes`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from centralino import api
from centralino.web import audit, changes
from centralino.web.context import web_context
from centralino.web.validation import Refused
from models import Service

ACTOR = "api"


def _service_json(service: Service, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": service.slug, "name": service.name, "mode": service.mode,
        "mode_until": service.mode_until.isoformat() if service.mode_until else None,
        "dids": [d.did for d in service.dids]}
    if full:
        body["prompts"] = {p.kind: {"text": p.text, "sound": p.sound} for p in service.prompts}
    return body


async def list_services(request: web.Request) -> web.Response:
    async with web_context(request).sessions() as session:
        services = (await session.scalars(select(Service).options(
            selectinload(Service.dids)).order_by(Service.slug))).all()
    return web.json_response({"services": [_service_json(s) for s in services]})


async def get_service(request: web.Request) -> web.Response:
    async with web_context(request).sessions() as session:
        service = await session.scalar(select(Service).where(
            Service.slug == request.match_info["slug"][:64]).options(
            selectinload(Service.dids), selectinload(Service.prompts)))
    if service is None:
        return web.json_response({"error": "no such service"}, status=404)
    return web.json_response(_service_json(service, full=True))


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Refused("body must be JSON") from None
    if not isinstance(body, dict):
        raise Refused("body must be a JSON object")
    return body


async def _run(work: Awaitable[Any]) -> web.Response:
    try:
        result = await work
    except Refused as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"done": True, "result": result})


def _sounds(request: web.Request) -> Path:
    sounds = web_context(request).sounds_dir
    if sounds is None:
        raise Refused("no sounds directory configured")
    return sounds


async def put_prompt(request: web.Request) -> web.Response:
    async def work() -> str:
        body = await _body(request)
        return await changes.change_prompt_text(
            web_context(request).sessions, _sounds(request), ACTOR, request.match_info["slug"],
            request.match_info["kind"], str(body.get("text", "")))
    return await _run(work())


async def put_mode(request: web.Request) -> web.Response:
    async def work() -> None:
        body = await _body(request)
        until = body.get("until")
        await changes.change_mode(web_context(request).sessions, ACTOR,
                                  request.match_info["slug"], str(body.get("mode", "")),
                                  str(until) if until else None)
    return await _run(work())


async def list_audit(request: web.Request) -> web.Response:
    entries = await audit.recent(web_context(request).sessions, 200,
                                 request.query.get("object", "")[:100] or None)
    return web.json_response({"entries": [
        {"id": e.id, "at": e.at.isoformat(), "username": e.username, "action": e.action,
         "object_type": e.object_type, "object_key": e.object_key, "before": e.before,
         "after": e.after} for e in entries]})


async def restore(request: web.Request) -> web.Response:
    raw = request.match_info["entry_id"]
    if not raw.isdigit() or len(raw) > 9:
        return web.json_response({"error": "no such entry"}, status=404)

    async def work() -> str:
        return await changes.restore(web_context(request).sessions, _sounds(request), ACTOR,
                                     int(raw))
    return await _run(work())


def _op(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "security": [{"bearer": []}],
        "responses": {"200": {"description": "done"}, "400": {"description": "refused"},
                      "401": {"description": "missing or wrong API token"},
                      "404": {"description": "no such object"}}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": body}}}
    return operation


def _slug() -> dict[str, Any]:
    return {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Centralino admin API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/v1/services": {"get": _op("Services with numbers and mode")},
        "/api/v1/services/{slug}": {"parameters": [_slug()],
                                    "get": _op("One service with its prompts")},
        "/api/v1/services/{slug}/prompts/{kind}": {
            "parameters": [_slug(), {"name": "kind", "in": "path", "required": True,
                                     "schema": {"type": "string"}, "description":
                                     "welcome, menu, … or submenu<ID>: a submenu's prompt"}],
            "put": _op("Change a prompt's text; it is recorded again under a new sound name",
                       {"type": "object", "required": ["text"], "properties": {
                           "text": {"type": "string", "maxLength": 1000}}})},
        "/api/v1/services/{slug}/mode": {
            "parameters": [_slug()],
            "put": _op("Force open/closed (optionally until a date) or back to auto",
                       {"type": "object", "required": ["mode"], "properties": {
                           "mode": {"enum": ["auto", "open", "closed"]},
                           "until": {"type": "string", "description":
                                     "YYYY-MM-DD[THH:MM], service time zone"}}})},
        "/api/v1/audit": {"get": _op("Latest changes, newest first (?object=KEY)")},
        "/api/v1/audit/{entry_id}/restore": {
            "parameters": [{"name": "entry_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "post": _op("Restore the object as it was before this entry")},
    },
}


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def add_api_v1(app: web.Application) -> None:
    """Register the JSON API; only where the bearer-token middleware guards ``/api/``."""
    if api.TOKEN not in app or api.require_token not in app.middlewares:
        raise RuntimeError("the JSON API needs centralino.api's token middleware first")
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/services", list_services)
    app.router.add_get("/api/v1/services/{slug}", get_service)
    app.router.add_put("/api/v1/services/{slug}/prompts/{kind}", put_prompt)
    app.router.add_put("/api/v1/services/{slug}/mode", put_mode)
    app.router.add_get("/api/v1/audit", list_audit)
    app.router.add_post("/api/v1/audit/{entry_id}/restore", restore)
