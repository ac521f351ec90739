"""The JSON API's menu, queue and sector endpoints: the page functions, fed from JSON.

The menu and queue functions (:mod:`centralino.web.menu_changes`) take the form
as the page posts it (text fields), so a checked JSON body is turned into that
form first: numbers as digits, booleans as a ticked or empty checkbox.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from centralino.web import menu_changes, sector_changes
from centralino.web.api_schema import Endpoint, Field, id_param
from centralino.web.context import web_context
from centralino.web.validation import MAX_LABEL_LENGTH, NotFound
from models import Menu, Service, ServiceSector
from models.service import PROMPT_KINDS, ROUTING_STRATEGIES

ACTOR = "api"


def as_form(body: dict[str, Any]) -> dict[str, str]:
    return {name: ("on" if value is True else "" if value in (None, False) else str(value))
            for name, value in body.items()}


async def _service(request: web.Request) -> Service:
    async with web_context(request).sessions() as session:
        service = await session.scalar(select(Service).where(
            Service.slug == request.match_info["slug"][:64]).options(
            selectinload(Service.queues),
            selectinload(Service.menu).selectinload(Menu.options)))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return service


async def get_menu(request: web.Request, body: dict[str, Any]) -> Any:
    service = await _service(request)
    if service.menu is None:
        raise NotFound("Questo servizio non ha un menu.")
    slugs = {q.id: q.slug for q in service.queues}
    return {"timeout_seconds": service.menu.timeout_seconds,
            "max_invalid": service.menu.max_invalid,
            "options": [{"id": o.id, "digit": o.digit, "label": o.label, "action": o.action,
                         "queue": slugs.get(o.queue_id) if o.queue_id else None,
                         "skill": o.skill, "prompt_kind": o.prompt_kind}
                        for o in sorted(service.menu.options, key=lambda o: o.digit)]}


async def put_menu(request: web.Request, body: dict[str, Any]) -> None:
    await menu_changes.change_menu(web_context(request).sessions, ACTOR,
                                   request.match_info["slug"], as_form(body))


async def save_option(request: web.Request, body: dict[str, Any]) -> Any:
    option_id = id_param(request, "option_id") if "option_id" in request.match_info else None
    return await menu_changes.save_option(web_context(request).sessions, ACTOR,
                                          request.match_info["slug"], option_id, as_form(body))


async def delete_option(request: web.Request, body: dict[str, Any]) -> None:
    await menu_changes.delete_option(web_context(request).sessions, ACTOR,
                                     request.match_info["slug"], id_param(request, "option_id"))


async def list_queues(request: web.Request, body: dict[str, Any]) -> Any:
    service = await _service(request)
    return {"queues": [{"slug": q.slug, **menu_changes.queue_state(q)} for q in service.queues]}


async def put_queue(request: web.Request, body: dict[str, Any]) -> None:
    await menu_changes.change_queue(web_context(request).sessions, ACTOR,
                                    request.match_info["slug"], request.match_info["queue"][:64],
                                    as_form(body))


async def list_sectors(request: web.Request, body: dict[str, Any]) -> Any:
    service = await _service(request)
    async with web_context(request).sessions() as session:
        sectors = await session.scalars(select(ServiceSector).where(
            ServiceSector.service_id == service.id).order_by(ServiceSector.position,
                                                             ServiceSector.name))
        return {"sectors": [{"id": s.id, **sector_changes.sector_state(s)} for s in sectors]}


async def add_sector(request: web.Request, body: dict[str, Any]) -> Any:
    return await sector_changes.add_sector(web_context(request).sessions, ACTOR,
                                           request.match_info["slug"], body["name"])


async def patch_sector(request: web.Request, body: dict[str, Any]) -> None:
    mailbox = body.get("mailbox")
    await sector_changes.change_sector(
        web_context(request).sessions, ACTOR, id_param(request, "sector_id"),
        name=body.get("name"), retired=body.get("retired"), position=body.get("position"),
        mailbox=(mailbox or "") if "mailbox" in body else None)


OPTION = {"digit": Field("string", True, "0-9, * or #", max_length=1),
          "label": Field("string", True, max_length=MAX_LABEL_LENGTH),
          "action": Field("string", True, enum=tuple(menu_changes.OFFERED_ACTIONS)),
          "queue": Field("string", description="for action queue: a queue of the service"),
          "skill": Field("string", description="for action queue: agents with it first"),
          "prompt_kind": Field("string", description="for action message: a recorded prompt",
                               enum=PROMPT_KINDS)}
QUEUE = {"strategy": Field("string", True, enum=ROUTING_STRATEGIES),
         "rings_per_agent": Field("integer", True, "1-20"),
         "wait_limit_seconds": Field("integer", True, "10-3600"),
         "wrapup_seconds": Field("integer", True, "0-600"),
         "announce_position": Field("boolean", True),
         "announce_every_seconds": Field("integer", True, "10-600")}
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/services/{slug}/menu", "A service's menu and its choices",
             get_menu),
    Endpoint("PUT", "/api/v1/services/{slug}/menu",
             "The menu's wait for a choice and how many wrong digits are allowed", put_menu,
             {"timeout_seconds": Field("integer", True, "1-30"),
              "max_invalid": Field("integer", True, "1-5")}),
    Endpoint("POST", "/api/v1/services/{slug}/menu/options", "Add a menu choice", save_option,
             OPTION),
    Endpoint("PUT", "/api/v1/services/{slug}/menu/options/{option_id}", "Change a menu choice",
             save_option, OPTION),
    Endpoint("DELETE", "/api/v1/services/{slug}/menu/options/{option_id}",
             "Delete a menu choice", delete_option),
    Endpoint("GET", "/api/v1/services/{slug}/queues", "A service's queues and their settings",
             list_queues),
    Endpoint("PUT", "/api/v1/services/{slug}/queues/{queue}", "Change a queue's settings",
             put_queue, QUEUE),
    Endpoint("GET", "/api/v1/services/{slug}/sectors",
             "A service's sectors (the desk's classification list), retired ones too",
             list_sectors),
    Endpoint("POST", "/api/v1/services/{slug}/sectors", "Add a sector at the end of the list",
             add_sector, {"name": Field("string", True, max_length=64)}),
    Endpoint("PATCH", "/api/v1/sectors/{sector_id}",
             "Rename, retire or bring back, move (position from 0) or set the mailbox of a "
             "sector; calls already classified keep their sector", patch_sector,
             {"name": Field("string", max_length=64), "retired": Field("boolean"),
              "position": Field("integer"),
              "mailbox": Field("string", description="empty or null: none", nullable=True)}),
]
