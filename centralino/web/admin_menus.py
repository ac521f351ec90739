"""Admin handlers for a service's menus (choices, submenus, timeout, invalid choices) and queues."""

from __future__ import annotations

from aiohttp import web

from centralino.web import menu_changes
from centralino.web.access import Handler, requires
from centralino.web.admin import _apply
from centralino.web.context import web_context
from centralino.web.pages import error_page
from centralino.web.sessions import IDENTITY

FORM_FIELDS = ("digit", "label", "action", "queue", "skill", "prompt_kind", "timeout_seconds",
               "max_invalid", "strategy", "rings_per_agent", "wait_limit_seconds",
               "wrapup_seconds", "announce_position", "announce_every_seconds", "transfer",
               "rings", "default_queue")


async def _form(request: web.Request) -> dict[str, str]:
    """The known text fields of the posted form, each bounded (files are ignored)."""
    posted = await request.post()
    return {name: str(posted.get(name, ""))[:300] for name in FORM_FIELDS
            if isinstance(posted.get(name, ""), str)}


def _id(request: web.Request, name: str) -> int | None:
    raw = request.match_info.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _option_id(request: web.Request) -> int | None:
    return _id(request, "option_id")


@requires("admin")
async def option_save(request: web.Request) -> web.Response:
    form = await _form(request)
    option_id = _option_id(request)
    if "option_id" in request.match_info and option_id is None:
        return error_page(request, 404, "Scelta del menu inesistente.")
    menu_id = _id(request, "menu_id")
    if "menu_id" in request.match_info and menu_id is None:
        return error_page(request, 404, "Sottomenu inesistente.")
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.save_option(
        web_context(request).sessions, actor, request.match_info["slug"], option_id, form,
        menu_id=menu_id))


@requires("admin")
async def option_delete(request: web.Request) -> web.Response:
    option_id = _option_id(request)
    if option_id is None:
        return error_page(request, 404, "Scelta del menu inesistente.")
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.delete_option(
        web_context(request).sessions, actor, request.match_info["slug"], option_id))


@requires("admin")
async def menu_save(request: web.Request) -> web.Response:
    form = await _form(request)
    menu_id = _id(request, "menu_id")
    if "menu_id" in request.match_info and menu_id is None:
        return error_page(request, 404, "Sottomenu inesistente.")
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.change_menu(
        web_context(request).sessions, actor, request.match_info["slug"], form,
        menu_id=menu_id))


@requires("admin")
async def queue_save(request: web.Request) -> web.Response:
    form = await _form(request)
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.change_queue(
        web_context(request).sessions, actor, request.match_info["slug"],
        request.match_info["queue"][:64], form))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/admin/services/{slug}/menu", menu_save),
    ("POST", "/admin/services/{slug}/menu/options", option_save),
    ("POST", "/admin/services/{slug}/menu/options/{option_id}", option_save),
    ("POST", "/admin/services/{slug}/menu/options/{option_id}/delete", option_delete),
    ("POST", "/admin/services/{slug}/menus/{menu_id}", menu_save),
    ("POST", "/admin/services/{slug}/menus/{menu_id}/options", option_save),
    ("POST", "/admin/services/{slug}/queues/{queue}", queue_save),
]
