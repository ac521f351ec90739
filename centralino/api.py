"""The control plane's HTTP API for agents' commands on calls (transfer, and more to come).

Served by the control plane's own aiohttp server; every ``/api/`` request needs
the installation's bearer token (``credentials.json``, mode 0600), so only the
operator of this host — the CLI, the agent desktop behind it — can use it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import or_, select

from ari_app.app import ControlPlane
from ari_app.flows.transfer import TransferRefused
from ari_app.sanitize import normalize_did
from centralino.errors import CentralinoError
from centralino.resolution import (
    ResolutionError,
    ResolutionRefused,
    UnknownCall,
    check_resolution,
    record_resolution,
)
from centralino.sla.figures import DEFAULT_READINGS
from centralino.sla.formats import report_object
from centralino.sla.query import current_range, sla_report
from models import OfficeLine

PLANE: web.AppKey[ControlPlane] = web.AppKey("plane", ControlPlane)
TOKEN: web.AppKey[str] = web.AppKey("api_token", str)
#: Time zone of "today" and "this month" for the live SLA figures.
SLA_ZONE: web.AppKey[str] = web.AppKey("sla_zone", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), request.app[TOKEN].encode()):
            raise web.HTTPUnauthorized(text='{"error": "missing or wrong API token"}',
                                       content_type="application/json")
    return await handler(request)


async def list_calls(request: web.Request) -> web.Response:
    calls = []
    for handle in request.app[PLANE].active_calls:
        flow = handle.flow
        if flow is None:
            continue
        calls.append({"call_id": flow.ctx.call_id, "service": flow.ctx.service.slug,
                      "did": flow.ctx.did, "caller": flow.ctx.caller_number,
                      "state": flow.state.value, "agent_id": flow.agent_id})
    return web.json_response({"calls": calls})


async def _referent_endpoint(request: web.Request, target: str) -> str | None:
    """An office phone, named by its SIP account or by its office line's number."""
    plane = request.app[PLANE]
    number = normalize_did(target) or ""
    async with plane.sessions() as session:
        return await session.scalar(select(OfficeLine.endpoint).where(
            or_(OfficeLine.endpoint == target, OfficeLine.number == number)))


async def _command(request: web.Request, action: str, **args: str) -> web.Response:
    call_id = request.match_info["call_id"]
    try:
        await request.app[PLANE].command(call_id, action, **args)
    except LookupError:
        return web.json_response({"error": f"no call {call_id} in progress"}, status=404)
    except TransferRefused as exc:
        return web.json_response({"error": str(exc)}, status=409)
    return web.json_response({"call_id": call_id, "done": action})


async def transfer(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    target = str(body.get("to", ""))[:64] if isinstance(body, dict) else ""
    mode = str(body.get("mode", "blind")) if isinstance(body, dict) else "blind"
    if mode not in ("blind", "attended"):
        return web.json_response({"error": "mode must be blind or attended"}, status=400)
    endpoint = await _referent_endpoint(request, target)
    if endpoint is None:
        return web.json_response({"error": f"{target!r} is no referent (office phone or "
                                           "office number)"}, status=400)
    return await _command(request, "transfer", to=endpoint, mode=mode)


async def complete(request: web.Request) -> web.Response:
    return await _command(request, "complete")


async def cancel(request: web.Request) -> web.Response:
    return await _command(request, "cancel")


async def resolve(request: web.Request) -> web.Response:
    """The agent's resolution of a call: ``{"resolution": "resolved"|"escalated", "notes"}``."""
    call_id = request.match_info["call_id"]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    try:
        resolution, notes = check_resolution(body.get("resolution"), body.get("notes"))
    except ResolutionError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    plane = request.app[PLANE]
    await plane.records.flush()  # the call's own writes (arrival, transfer) first
    try:
        done = await record_resolution(plane.sessions, call_id, resolution, notes)
    except UnknownCall:
        return web.json_response({"error": f"there is no call {call_id}"}, status=404)
    except ResolutionRefused as exc:
        return web.json_response({"error": str(exc)}, status=409)
    return web.json_response({"call_id": done.call_id, "resolution": done.resolution,
                              "notes": done.notes})


async def sla_figures(request: web.Request) -> web.Response:
    """Live SLA figures for a wallboard: ``?service=SLUG|all&period=today|month``."""
    from zoneinfo import ZoneInfo

    plane = request.app[PLANE]
    service = request.query.get("service", "all")[:64]
    period = request.query.get("period", "today")
    if period not in ("today", "month"):
        return web.json_response({"error": "period must be today or month"}, status=400)
    now = plane.clock()
    first, last, by = current_range(period, now, ZoneInfo(request.app[SLA_ZONE]))
    try:
        rows = await sla_report(plane.sessions, service, first, last, by)
    except CentralinoError as exc:
        return web.json_response({"error": str(exc)}, status=404)
    return web.json_response({"period": period, "as_of": now.isoformat(),
                              **report_object(rows, DEFAULT_READINGS)})


def add_routes(app: web.Application, plane: ControlPlane, token: str,
               timezone: str = "Europe/Rome") -> None:
    app[PLANE] = plane
    app[TOKEN] = token
    app[SLA_ZONE] = timezone
    app.middlewares.append(require_token)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_post("/api/calls/{call_id}/transfer", transfer)
    app.router.add_post("/api/calls/{call_id}/transfer/complete", complete)
    app.router.add_post("/api/calls/{call_id}/transfer/cancel", cancel)
    app.router.add_post("/api/calls/{call_id}/resolution", resolve)
    app.router.add_get("/api/sla", sla_figures)
