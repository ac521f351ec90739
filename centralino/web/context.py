"""What every web handler needs, kept on the aiohttp application under one typed key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from jinja2 import Environment
from sqlalchemy.ext.asyncio import async_sessionmaker


@dataclass(frozen=True)
class WebContext:
    sessions: async_sessionmaker
    #: Recorded prompts, as this host sees the directory Asterisk plays them from.
    sounds_dir: Path | None
    pages: Environment
    session_lifetime: timedelta
    secure_cookies: bool
    #: Whether uploads may be MP3: sox decodes them only with libsox-fmt-mp3.
    mp3_supported: bool
    #: The pages in the other languages (``pages`` is Italian), by language code.
    translated: dict[str, Environment] = field(default_factory=dict)


WEB: web.AppKey[WebContext] = web.AppKey("web", WebContext)


def web_context(request: web.Request) -> WebContext:
    return request.app[WEB]
