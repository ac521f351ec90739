"""The web interface (admin, and later agent desktop and wallboard), served by the control plane.

:func:`add_web` adds its pages and its access middleware to the control plane's
aiohttp application; nothing here talks to Asterisk: changes go to the database
and reach calls through the ``config_version`` counter.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.web import (
    admin,
    admin_agents,
    admin_menus,
    admin_sectors,
    admin_services,
    desk,
    desk_forward,
    language,
    views,
    wallboard,
)
from centralino.web.access import Handler, guard
from centralino.web.changes import mp3_supported
from centralino.web.context import WEB, WebContext
from centralino.web.pages import environment, environments

#: Largest request body: a prompt recording of a few minutes.
MAX_BODY_BYTES = 12 * 1024 * 1024


def _route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    if getattr(handler, "web_roles", None) is None:
        raise TypeError(f"{handler.__name__} declares no roles: use @requires or @public")
    app.router.add_route(method, path, handler)


def add_web(app: web.Application, sessions: async_sessionmaker, sounds_dir: Path | None, *,
            session_hours: float = 8.0, secure_cookies: bool = False) -> None:
    app[WEB] = WebContext(sessions=sessions, sounds_dir=sounds_dir, pages=environment(),
                          session_lifetime=timedelta(hours=session_hours),
                          secure_cookies=secure_cookies, mp3_supported=mp3_supported(),
                          translated=environments())
    app.middlewares.append(guard)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/", views.home),
        ("GET", "/login", views.login_form),
        ("POST", "/login", views.login),
        ("POST", "/logout", views.logout),
        ("GET", "/admin/services", admin.service_list),
        ("GET", "/admin/services/{slug}", admin.service_page),
        ("POST", "/admin/services/{slug}/prompts/{kind}", admin.prompt_text),
        ("POST", "/admin/services/{slug}/prompts/{kind}/upload", admin.prompt_upload),
        ("POST", "/admin/services/{slug}/mode", admin.service_mode),
        ("POST", "/admin/services/{slug}/notices", admin.notice_save),
        ("POST", "/admin/services/{slug}/notices/{notice_id}", admin.notice_save),
        ("POST", "/admin/services/{slug}/notices/{notice_id}/delete", admin.notice_delete),
        ("GET", "/admin/sounds/{name}", admin.sound_file),
        ("GET", "/admin/audit", admin.audit_page),
        ("POST", "/admin/audit/{entry_id}/restore", admin.audit_restore),
        *wallboard.ROUTES,
        *desk.ROUTES,
        *admin_menus.ROUTES,
        *admin_agents.ROUTES,
        *desk_forward.ROUTES,
        *admin_sectors.ROUTES,
        *admin_services.ROUTES,
        *language.ROUTES,
    ]
    for method, path, handler in routes:
        _route(app, method, path, handler)
    wallboard.setup(app)
