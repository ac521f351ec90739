"""Web accounts: argon2 password hashes, creation and disabling, and the rate-limited login.

Failed logins are rows in the database, so a restart does not give a password
guesser a fresh allowance. A failed login never says whether the user exists.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.errors import CentralinoError
from models import WEB_ROLES, Agent, LoginFailure, WebUser

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
#: At most this many failures per user name and address within the window.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("centralino-no-such-user")


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise CentralinoError("user name: 2-32 characters, lower-case letters, digits, . _ - "
                              "(starting with a letter or digit)")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise CentralinoError(f"password: {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                              "characters")
    if not password.isprintable():
        raise CentralinoError("password: no control characters")
    return password


async def add_user(sessions: async_sessionmaker, username: str, role: str, password: str,
                   agent: str | None = None) -> WebUser:
    """Create a web login; role agent may be linked to an agent's SIP user name."""
    check_username(username)
    check_password(password)
    if role not in WEB_ROLES:
        raise CentralinoError(f"role must be one of {', '.join(WEB_ROLES)}")
    if agent and role != "agent":
        raise CentralinoError("--agent links only a login of role agent")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    async with sessions() as session:
        if await session.scalar(select(WebUser.id).where(WebUser.username == username)):
            raise CentralinoError(f"web user {username!r} already exists")
        agent_id = None
        if agent:
            agent_id = await session.scalar(select(Agent.id).where(Agent.username == agent))
            if agent_id is None:
                raise CentralinoError(f"no agent {agent[:32]!r}: `centralino agent list`")
        user = WebUser(username=username, role=role, password_hash=password_hash,
                       agent_id=agent_id, created_at=datetime.now(UTC), disabled=False)
        session.add(user)
        await session.commit()
        return user


async def list_users(sessions: async_sessionmaker) -> list[WebUser]:
    async with sessions() as session:
        return list((await session.scalars(select(WebUser).order_by(WebUser.username))).all())


async def disable_user(sessions: async_sessionmaker, username: str) -> str:
    """Disable a login and end its sessions at once."""
    from models import WebSession

    async with sessions() as session:
        user = await session.scalar(select(WebUser).where(WebUser.username == username))
        if user is None:
            raise CentralinoError(f"no web user {username[:32]!r}: `centralino user list`")
        user.disabled = True
        await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        await session.commit()
    return f"web user {username} disabled, sessions ended"


@dataclass(frozen=True)
class LoginResult:
    user: WebUser | None
    #: True when too many recent failures: the password was not even checked.
    limited: bool = False


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(sessions: async_sessionmaker, username: str, password: str,
                       address: str, *, now: datetime | None = None) -> LoginResult:
    """Check a login, counting failures per user name and address in the database."""
    now = now or datetime.now(UTC)
    username = username.strip().lower()[:64]
    async with sessions() as session:
        failures = await session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address,
            LoginFailure.at > now - FAILURE_WINDOW))
        if (failures or 0) >= MAX_FAILURES:
            return LoginResult(None, limited=True)
        user = await session.scalar(select(WebUser).where(WebUser.username == username))
        ok = await asyncio.to_thread(_verify, user.password_hash if user else _DUMMY_HASH,
                                     password[:MAX_PASSWORD_LENGTH])
        if ok and user is not None and user.agent_id is not None:
            # A disabled or deleted agent's desk account is closed with it.
            ok = bool(await session.scalar(select(Agent.enabled).where(
                Agent.id == user.agent_id)))
        if not ok or user is None or user.disabled:
            # Failures older than the window count no more: forget them here, so the
            # table holds only the last minutes' attempts.
            await session.execute(delete(LoginFailure).where(
                LoginFailure.at <= now - FAILURE_WINDOW))
            session.add(LoginFailure(username=username, address=address[:64], at=now))
            await session.commit()
            return LoginResult(None)
        user.last_login_at = now
        # Old failures of this pair no longer matter once the right password is given.
        await session.execute(delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address))
        await session.commit()
        return LoginResult(user)
