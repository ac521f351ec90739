"""Admin handlers for a service's menu (choices, timeout, invalid choices) and its queues."""

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
               "wrapup_seconds", "announce_position", "announce_every_seconds")


async def _form(request: web.Request) -> dict[str, str]:
    """The known text fields of the posted form, each bounded (files are ignored)."""
    posted = await request.post()
    return {name: str(posted.get(name, ""))[:300] for name in FORM_FIELDS
            if isinstance(posted.get(name, ""), str)}


def _option_id(request: web.Request) -> int | None:
    raw = request.match_info.get("option_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@requires("admin")
async def option_save(request: web.Request) -> web.Response:
    form = await _form(request)
    option_id = _option_id(request)
    if "option_id" in request.match_info and option_id is None:
        return error_page(request, 404, "Scelta del menu inesistente.")
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.save_option(
        web_context(request).sessions, actor, request.match_info["slug"], option_id, form))


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
    actor = request[IDENTITY].username
    return await _apply(request, lambda: menu_changes.change_menu(
        web_context(request).sessions, actor, request.match_info["slug"], form))


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
    ("POST", "/admin/services/{slug}/queues/{queue}", queue_save),
]
