"""The language chooser in every page's header: the choice is kept on the web user.

An empty choice goes back to the browser's language (Accept-Language); anything
but a supported language is refused with a clear page and changes nothing.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import update

from centralino.web.access import requires
from centralino.web.context import web_context
from centralino.web.i18n import LANGUAGES
from centralino.web.pages import error_page, see_other
from centralino.web.sessions import IDENTITY
from centralino.web.views import _safe_next
from models import WebUser


@requires("admin", "supervisor", "agent")
async def choose(request: web.Request) -> web.Response:
    form = await request.post()
    language = str(form.get("lingua", ""))[:8]
    if language and language not in LANGUAGES:
        return error_page(request, 400, "Lingua non disponibile.")
    async with web_context(request).sessions() as session:
        await session.execute(update(WebUser).where(WebUser.id == request[IDENTITY].user_id)
                              .values(language=language or None))
        await session.commit()
    return see_other(_safe_next(str(form.get("torna", ""))))


ROUTES = [("POST", "/lingua", choose)]
