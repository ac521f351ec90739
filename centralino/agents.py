"""Agents: their SIP accounts and the states they put themselves in.

Operations asked for by an operator (``centralino agent ...``) or by the agent's
own phone (feature codes, through FastAGI). Each runs in one transaction and
refuses anything it cannot do with a :class:`CentralinoError` whose one line
says what to do. The clear SIP password never reaches the database: only the
HA1 digest Asterisk authenticates with.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ari_app.reporting.queue_log import agent_state_lines
from ari_app.reporting.queue_log_file import append_lines
from ari_app.sanitize import clean_caller_name, is_slug
from centralino.errors import CentralinoError
from centralino.render import (
    AGENT_USERNAME,
    RESERVED_USERNAMES,
    SIP_REALM,
    AgentAccount,
)
from models import AGENT_PROFILES, Agent, AgentSkill, OfficeLine, Queue, Service, agent_services

log = logging.getLogger(__name__)

AGENT_ACTIONS = ("login", "logout", "pause", "resume")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_PAUSE_REASON = 100
#: The reason recorded when an agent pauses from the phone (``*47``).
PHONE_PAUSE_REASON = "break"
#: States in which the agent is busy with a call: no pause, no removal.
_IN_CALL = frozenset({"ringing", "on_call"})


class AgentError(CentralinoError):
    """An agent operation refused; ``word`` is what the dialplan is told."""

    word = "failed"


class UnknownAgent(AgentError):
    word = "unknown"

    def __init__(self, username: str):
        super().__init__(f"there is no agent {username!r}: see `centralino agent list`")


class StateRefused(AgentError):
    word = "refused"


class AlreadyLoggedIn(StateRefused):
    word = "already"


@dataclass(frozen=True)
class AgentView:
    """An agent as the CLI lists it (no digest)."""

    username: str
    display_name: str
    profile: str
    services: tuple[str, ...]
    skills: tuple[str, ...]
    state: str
    state_since: datetime | None
    pause_reason: str | None
    #: False once an admin disabled it: its phone cannot register or log in.
    enabled: bool = True


def _view(agent: Agent) -> AgentView:
    return AgentView(
        username=agent.username, display_name=agent.display_name, profile=agent.profile,
        services=tuple(sorted(s.slug for s in agent.services)),
        skills=tuple(sorted(s.skill for s in agent.skills)),
        state=agent.state, state_since=agent.state_since, pause_reason=agent.pause_reason,
        enabled=agent.enabled,
    )


# -- validation (no I/O) ------------------------------------------------------------
def sip_ha1(username: str, password: str) -> str:
    """The digest Asterisk checks SIP passwords against: md5("user:realm:password")."""
    return hashlib.md5(f"{username}:{SIP_REALM}:{password}".encode(),
                       usedforsecurity=False).hexdigest()


def check_username(username: str) -> str:
    if not AGENT_USERNAME.fullmatch(username):
        raise AgentError(
            f"agent user name {username[:40]!r} is not valid: use 1-32 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit")
    if username in RESERVED_USERNAMES:
        raise AgentError(f"agent user name {username!r} is reserved: choose another one")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"the SIP password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH or not password.isprintable():
        raise AgentError(f"the SIP password must be at most {MAX_PASSWORD_LENGTH} printable "
                         "characters")
    return password


def check_profile(profile: str) -> str:
    if profile not in AGENT_PROFILES:
        raise AgentError(f"profile {profile[:20]!r} is not one of {', '.join(AGENT_PROFILES)}")
    return profile


def check_slugs(values: Iterable[str], kind: str) -> list[str]:
    """Distinct slugs in the order given; refuses the first that is not one."""
    slugs: list[str] = []
    for value in values:
        if not is_slug(value):
            raise AgentError(f"{kind} {value[:40]!r} is not valid: use lower-case letters, "
                             "digits and inner '-'")
        if value not in slugs:
            slugs.append(value)
    return slugs


def check_pause_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise AgentError("a pause needs a reason (e.g. --reason pranzo)")
    if len(text) > MAX_PAUSE_REASON or not text.isprintable():
        raise AgentError(f"the pause reason must be at most {MAX_PAUSE_REASON} printable "
                         "characters on one line")
    return text


def check_new_agent(username: str, password: str, profile: str, services: Iterable[str],
                    skills: Iterable[str]) -> tuple[list[str], list[str]]:
    """Everything about a new agent that needs no database; returns (services, skills)."""
    check_username(username)
    check_password(password)
    check_profile(profile)
    service_slugs = check_slugs(services, "service")
    if not service_slugs:
        raise AgentError("an agent answers at least one service: give --services SLUG[,SLUG]")
    return service_slugs, check_slugs(skills, "skill")


def next_state(username: str, current: str, action: str) -> str:
    """The state ``action`` leads to from ``current``, or StateRefused saying why not."""
    if action == "login":
        if current != "logged_out":
            raise AlreadyLoggedIn(f"agent {username} is already logged in (state {current})")
        return "available"
    if current == "logged_out":
        if action == "logout":
            raise StateRefused(f"agent {username} is not logged in")
        raise StateRefused(f"agent {username} is logged out: log in first "
                           f"(`centralino agent login {username}` or *45)")
    if action == "logout":
        return "logged_out"
    if action == "pause":
        if current in _IN_CALL:
            raise StateRefused(f"agent {username} is {current.replace('_', ' ')}: pause after "
                               "the call")
        return "paused"
    if action == "resume":
        if current != "paused":
            raise StateRefused(f"agent {username} is not paused (state {current})")
        return "available"
    raise AgentError(f"unknown agent action {action[:20]!r}: one of {', '.join(AGENT_ACTIONS)}")


# -- operations ----------------------------------------------------------------------
async def _services_by_slug(session: AsyncSession, slugs: list[str]) -> list[Service]:
    found = {s.slug: s for s in await session.scalars(select(Service).where(
        Service.slug.in_(slugs)))}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        known = ", ".join(await session.scalars(select(Service.slug).order_by(Service.slug)))
        raise AgentError(f"unknown service {', '.join(missing)}; known services: {known}")
    return [found[slug] for slug in slugs]


async def _get(session: AsyncSession, username: str, *, for_update: bool = False) -> Agent:
    query = select(Agent).where(Agent.username == username)
    if for_update:
        query = query.with_for_update()
    agent = await session.scalar(query)
    if agent is None:
        raise UnknownAgent(username)
    return agent


async def add_agent(sessions: async_sessionmaker, username: str, password: str, *,
                    services: Iterable[str], skills: Iterable[str] = (),
                    profile: str = "junior", display_name: str = "") -> AgentView:
    """Create an agent whose SIP account works as soon as Asterisk reloads its config."""
    service_slugs, skill_slugs = check_new_agent(username, password, profile, services, skills)
    async with sessions() as session:
        linked = await _services_by_slug(session, service_slugs)
        if await session.scalar(select(OfficeLine.id).where(OfficeLine.endpoint == username)):
            raise AgentError(f"{username} is already an office phone's SIP account: choose "
                             "another user name")
        if await session.scalar(select(Agent.id).where(Agent.username == username)):
            raise AgentError(f"agent {username} already exists: remove it first or choose "
                             "another user name")
        agent = Agent(
            username=username, display_name=clean_caller_name(display_name),
            profile=profile, sip_ha1=sip_ha1(username, password), state="logged_out",
            state_since=datetime.now(UTC), pause_reason=None,
            skills=[AgentSkill(skill=skill) for skill in skill_slugs], services=linked,
        )
        session.add(agent)
        try:
            await session.commit()
        except IntegrityError:
            raise AgentError(f"agent {username} already exists: remove it first or choose "
                             "another user name") from None
        log.info("agent %s added (services %s)", username, ",".join(service_slugs))
        return _view(agent)


async def remove_agent(sessions: async_sessionmaker, username: str) -> None:
    """Delete an agent; the calls it answered keep their records (agent unset)."""
    check_username(username)
    async with sessions() as session:
        agent = await _get(session, username, for_update=True)
        if agent.state in _IN_CALL:
            raise StateRefused(f"agent {username} is {agent.state.replace('_', ' ')}: remove "
                               "it after the call")
        await session.execute(delete(Agent).where(Agent.id == agent.id))
        await session.commit()
    log.info("agent %s removed", username)


async def list_agents(sessions: async_sessionmaker) -> list[AgentView]:
    """The agents an admin works with: those deleted from the web (kept for their calls'
    history) are left out."""
    async with sessions() as session:
        agents = await session.scalars(select(Agent).where(Agent.deleted_at.is_(None))
                                       .order_by(Agent.username))
        return [_view(agent) for agent in agents]


async def set_state(sessions: async_sessionmaker, username: str, action: str,
                    reason: str | None = None, *, now: datetime | None = None,
                    queue_log: Path | None = None) -> AgentView:
    """Apply login, logout, pause (with a reason) or resume; record since when.

    With ``queue_log``, the change is also appended there as Asterisk writes it
    (AGENTLOGIN, AGENTLOGOFF, PAUSE and UNPAUSE per queue of the agent's services).
    """
    check_username(username)
    if action not in AGENT_ACTIONS:
        raise AgentError(f"unknown agent action {action[:20]!r}: one of "
                         f"{', '.join(AGENT_ACTIONS)}")
    pause_reason = check_pause_reason(reason) if action == "pause" else None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    async with sessions() as session:
        agent = await _get(session, username, for_update=True)
        if action == "login" and not agent.enabled:
            raise StateRefused(f"agent {username} is disabled: an admin enables it again on "
                               "/admin/agents")
        before = agent.state
        agent.state = next_state(username, before, action)
        agent.state_since = moment
        agent.pause_reason = pause_reason
        queues = list(await session.scalars(
            select(Queue.slug).join(agent_services, agent_services.c.service_id
                                    == Queue.service_id)
            .where(agent_services.c.agent_id == agent.id).order_by(Queue.slug))
        ) if queue_log is not None and action in ("pause", "resume") else []
        await session.commit()
        log.info("agent %s: %s -> %s -> %s%s", username, before, action, agent.state,
                 f" ({pause_reason})" if pause_reason else "")
        view = _view(agent)
    if queue_log is not None:
        lines = agent_state_lines(username, action, moment, reason=pause_reason, queues=queues)
        try:
            await asyncio.to_thread(append_lines, queue_log, lines)
        except OSError as exc:  # the state is changed: reporting must not undo it
            log.error("agent %s: queue_log %s not written (%s)", username, queue_log,
                      exc.strerror or exc)
    return view


async def agent_accounts(sessions: async_sessionmaker) -> list[AgentAccount]:
    """Every enabled agent's SIP account, for rendering ``pjsip_agents.conf``: a disabled
    or deleted agent's phone can then neither register nor be rung."""
    async with sessions() as session:
        rows = await session.execute(
            select(Agent.username, Agent.display_name, Agent.sip_ha1)
            .where(Agent.enabled.is_(True)).order_by(Agent.username))
        return [AgentAccount(username, display_name, ha1) for username, display_name, ha1 in rows]
