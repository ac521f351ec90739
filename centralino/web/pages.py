"""Server-rendered pages: Jinja2 with autoescaping, texts marked for translation.

Interface texts are written in Italian inside ``_()``; each language has its
own environment with its gettext catalogue installed (:mod:`centralino.web.i18n`),
and a page is rendered in the language chosen for the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from centralino.web.context import web_context
from centralino.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    choose_language,
    translations,
)
from centralino.web.sessions import IDENTITY
from centralino.web.validation import NotFound, Refused

TEMPLATES_DIR = Path(__file__).parent / "templates"


def environment(language: str = DEFAULT_LANGUAGE) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def environments() -> dict[str, Environment]:
    """One environment per language but Italian (``WebContext.pages``)."""
    return {language: environment(language) for language in LANGUAGES
            if language != DEFAULT_LANGUAGE}


def request_language(request: web.Request) -> str:
    """The signed-in user's choice, else the browser's Accept-Language, else Italian."""
    identity = request.get(IDENTITY)
    return choose_language(identity.language if identity else None,
                           request.headers.get("Accept-Language"))


def render(request: web.Request, template: str, status: int = 200,
           **values: Any) -> web.Response:
    context = web_context(request)
    language = request_language(request)
    pages = context.translated.get(language, context.pages)
    html = pages.get_template(template).render(
        identity=request.get(IDENTITY), lang=language, languages=LANGUAGE_NAMES,
        request_path=request.path_qs, **values)
    response = web.Response(text=html, status=status, content_type="text/html")
    # Pages are per user and hold a CSRF token: nothing may be cached or framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; media-src 'self'; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", status=status, status_code=status, message=message)


def see_other(location: str) -> web.Response:
    """Redirect after a POST, so reloading the page does not send the form again."""
    return web.Response(status=303, headers={"Location": location})


async def apply_change(request: web.Request, change: Callable[[], Awaitable[object]],
                       refused: Callable[[str], Awaitable[web.Response]],
                       done: str | Callable[[], Awaitable[str]]) -> web.Response:
    """Run an admin change: 404 for an unknown object, the page again with the reason for
    refused input (``refused``), else a redirect to ``done`` (computed after the change)."""
    try:
        await change()
    except NotFound as exc:
        return error_page(request, 404, str(exc))
    except Refused as exc:
        return await refused(str(exc))
    return see_other(done if isinstance(done, str) else await done())
