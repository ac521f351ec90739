"""Server-side browser sessions: a random 256-bit token in a cookie, its hash in the database.

HttpOnly so page scripts cannot read it, SameSite=Strict so no other site's page
can send it, Secure when the installation is served over HTTPS.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from models import Agent, WebSession, WebUser

COOKIE = "centralino_session"


@dataclass(frozen=True)
class Identity:
    """Who is behind a request, as the pages need it."""

    user_id: int
    username: str
    role: str
    agent_id: int | None
    csrf_token: str
    #: The pages' language the user chose; None: the browser's (Accept-Language).
    language: str | None = None


#: Where the guard leaves the identity for the handlers.
IDENTITY: web.RequestKey[Identity] = web.RequestKey("identity", Identity)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(sessions: async_sessionmaker, user: WebUser,
                       lifetime: timedelta) -> str:
    """Create a session for ``user``; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with sessions() as session:
        # Expired sessions of anyone go at each login: the table does not grow for ever.
        await session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(WebSession(token_hash=_hash(token), user_id=user.id,
                               csrf_token=secrets.token_urlsafe(32), created_at=now,
                               expires_at=now + lifetime))
        await session.commit()
    return token


async def identify(sessions: async_sessionmaker, token: str | None) -> Identity | None:
    """The identity behind a cookie; None if absent, unknown, expired or disabled."""
    if not token or len(token) > 100:
        return None
    async with sessions() as session:
        row = (await session.execute(
            select(WebSession, WebUser, Agent.enabled)
            .join(WebUser, WebSession.user_id == WebUser.id)
            .join(Agent, WebUser.agent_id == Agent.id, isouter=True)
            .where(WebSession.token_hash == _hash(token)))).first()
    if row is None:
        return None
    web_session, user, agent_enabled = row
    if web_session.expires_at <= datetime.now(UTC) or user.disabled:
        return None
    if user.agent_id is not None and not agent_enabled:
        return None  # the agent was disabled or deleted: its desk account goes with it
    return Identity(user.id, user.username, user.role, user.agent_id, web_session.csrf_token,
                    user.language)


async def close_session(sessions: async_sessionmaker, token: str | None) -> None:
    if not token:
        return
    async with sessions() as session:
        await session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))
        await session.commit()


def set_cookie(response: web.StreamResponse, token: str, lifetime: timedelta,
               secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=int(lifetime.total_seconds()), path="/",
                        httponly=True, samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=secure)
