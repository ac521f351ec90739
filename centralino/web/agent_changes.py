"""Agents created and changed from the admin page: checked, stored with their audit entry.

The SIP password is typed twice and turned into the HA1 digest by
:func:`centralino.agents.sip_ha1`; neither the clear password nor the digest
goes into the audit log or back to the page. The display name ends up in
``pjsip_agents.conf`` (the caller ID), so it is refused, not cleaned, when it
holds anything but letters, digits, spaces and ``. ' -``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ari_app.sanitize import clean_caller_name
from centralino.agents import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, sip_ha1
from centralino.render import AGENT_USERNAME, RESERVED_USERNAMES
from centralino.web import audit
from centralino.web.validation import NotFound, Refused, clean_skill
from models import AGENT_PROFILES, Agent, AgentSkill, OfficeLine, Service

MAX_SKILLS = 20
PROFILE_LABELS = {"junior": "Junior", "expert": "Esperto", "senior": "Senior"}
STATE_LABELS = {"logged_out": "Non collegato", "available": "Disponibile",
                "ringing": "Squilla", "on_call": "In chiamata", "wrapup": "Riordino",
                "paused": "In pausa"}


@dataclass(frozen=True)
class AgentInput:
    display_name: str
    profile: str
    services: tuple[str, ...]
    skills: tuple[str, ...]


def check_username(raw: str) -> str:
    username = raw.strip()
    if not AGENT_USERNAME.fullmatch(username):
        raise Refused("Nome utente non valido: da 1 a 32 tra lettere minuscole, cifre, '.', "
                      "'_' e '-', iniziando con una lettera o una cifra.")
    if username in RESERVED_USERNAMES:
        raise Refused(f"Il nome utente {username} è riservato: sceglierne un altro.")
    return username


def check_password(password: str, again: str) -> str:
    if password != again:
        raise Refused("Le due password non coincidono.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH \
            or not password.isprintable():
        raise Refused(f"La password SIP deve avere da {MIN_PASSWORD_LENGTH} a "
                      f"{MAX_PASSWORD_LENGTH} caratteri stampabili.")
    return password


def check_agent(display_name: str, profile: str, services: list[str], skills: str,
                known_services: set[str]) -> AgentInput:
    """Profile, services and skills of an agent, or Refused saying what to fix (no I/O)."""
    name = display_name.strip()
    if len(name) > 80 or clean_caller_name(name) != name:
        raise Refused("Nome visualizzato: al massimo 80 tra lettere, cifre, spazi e . ' -")
    if profile not in AGENT_PROFILES:
        raise Refused("Profilo non valido.")
    chosen = tuple(sorted(set(services)))
    if not chosen:
        raise Refused("Scegliere almeno un servizio a cui l'operatore risponde.")
    if any(slug not in known_services for slug in chosen):
        raise Refused("Servizio inesistente.")
    words = [word for word in re.split(r"[,\s]+", skills) if word]
    if len(words) > MAX_SKILLS:
        raise Refused(f"Al massimo {MAX_SKILLS} competenze.")
    return AgentInput(name, profile, chosen, tuple(sorted({clean_skill(w) for w in words})))


def agent_state(agent: Agent) -> dict[str, Any]:
    """What the audit log keeps of an agent: never the password nor its digest."""
    return {"display_name": agent.display_name, "profile": agent.profile,
            "services": sorted(s.slug for s in agent.services),
            "skills": sorted(s.skill for s in agent.skills),
            "enabled": agent.enabled, "deleted": agent.deleted_at is not None}


class UnknownAgent(NotFound):
    """No such agent (or a deleted one, for changes other than restore): a 404 for the API."""


async def _agent(session: AsyncSession, username: str, *, deleted: bool = False) -> Agent:
    agent = await session.scalar(select(Agent).where(Agent.username == username[:32]))
    if agent is None or (agent.deleted_at is not None and not deleted):
        raise UnknownAgent("Operatore inesistente.")
    return agent


async def _services(session: AsyncSession) -> dict[str, Service]:
    return {s.slug: s for s in await session.scalars(select(Service))}


async def create_agent(sessions: async_sessionmaker, actor: str, form: dict[str, Any]) -> str:
    """Store a new agent (logged out) with its SIP digest; return its user name."""
    username = check_username(str(form.get("username", "")))
    password = check_password(str(form.get("password", "")), str(form.get("password2", "")))
    async with sessions() as session:
        services = await _services(session)
        checked = check_agent(str(form.get("display_name", "")), str(form.get("profile", "")),
                              list(form.get("services", [])), str(form.get("skills", "")),
                              set(services))
        existing = await session.scalar(select(Agent).where(Agent.username == username))
        if existing is not None and existing.deleted_at is not None:
            raise Refused(f"L'operatore {username} è stato eliminato: il nome resta alle sue "
                          "chiamate; ripristinarlo dal registro modifiche o sceglierne un altro.")
        if existing is not None:
            raise Refused(f"L'operatore {username} esiste già.")
        if await session.scalar(select(OfficeLine.id).where(OfficeLine.endpoint == username)):
            raise Refused(f"{username} è già l'account SIP di un telefono d'ufficio.")
        agent = Agent(username=username, display_name=checked.display_name,
                      profile=checked.profile, sip_ha1=sip_ha1(username, password),
                      state="logged_out", state_since=datetime.now(UTC), enabled=True,
                      skills=[AgentSkill(skill=skill) for skill in checked.skills],
                      services=[services[slug] for slug in checked.services])
        session.add(agent)
        audit.record(session, actor, "agent.add", "agent", f"agent/{username}", None,
                     agent_state(agent))
        try:
            await session.commit()
        except IntegrityError:
            raise Refused(f"L'operatore {username} esiste già.") from None
    return username


async def change_agent(sessions: async_sessionmaker, actor: str, username: str,
                       form: dict[str, Any]) -> None:
    """New profile, display name, services and skills; the SIP password stays as it is."""
    async with sessions() as session:
        agent = await _agent(session, username)
        services = await _services(session)
        checked = check_agent(str(form.get("display_name", "")), str(form.get("profile", "")),
                              list(form.get("services", [])), str(form.get("skills", "")),
                              set(services))
        before = agent_state(agent)
        agent.display_name, agent.profile = checked.display_name, checked.profile
        agent.services = [services[slug] for slug in checked.services]
        kept = {s.skill: s for s in agent.skills}
        agent.skills = [kept.get(skill) or AgentSkill(skill=skill) for skill in checked.skills]
        audit.record(session, actor, "agent.change", "agent", f"agent/{username}", before,
                     agent_state(agent))
        await session.commit()


def _off_duty(agent: Agent, what: str) -> None:
    """Log the agent out before it loses its phone; refused in the middle of a call."""
    if agent.state in ("ringing", "on_call"):
        raise Refused(f"L'operatore {agent.username} è in chiamata: {what} dopo la chiamata.")
    if agent.state != "logged_out":
        agent.state, agent.state_since, agent.pause_reason = "logged_out", datetime.now(UTC), None


async def set_enabled(sessions: async_sessionmaker, actor: str, username: str,
                      enabled: bool) -> None:
    """Disable an agent (logged out, SIP account gone at the next render) or enable it again."""
    async with sessions() as session:
        agent = await _agent(session, username)
        if agent.enabled == enabled:
            return
        before = agent_state(agent)
        if not enabled:
            _off_duty(agent, "disattivarlo")
        agent.enabled = enabled
        audit.record(session, actor, "agent.enable" if enabled else "agent.disable", "agent",
                     f"agent/{agent.username}", before, agent_state(agent))
        await session.commit()


async def delete_agent(sessions: async_sessionmaker, actor: str, username: str) -> None:
    """Soft delete: the row stays (disabled, marked deleted) so that calls, offers, forward
    forms and SLA figures keep naming who answered; restorable from the audit log."""
    async with sessions() as session:
        agent = await _agent(session, username)
        before = agent_state(agent)
        _off_duty(agent, "eliminarlo")
        agent.enabled, agent.deleted_at = False, datetime.now(UTC)
        audit.record(session, actor, "agent.delete", "agent", f"agent/{agent.username}",
                     before, agent_state(agent))
        await session.commit()


async def change_password(sessions: async_sessionmaker, actor: str, username: str,
                          password: str, again: str) -> None:
    """A new SIP password (typed twice): only its HA1 is stored; the audit entry says that
    the password changed, and nothing of it."""
    check_password(password, again)
    async with sessions() as session:
        agent = await _agent(session, username)
        agent.sip_ha1 = sip_ha1(agent.username, password)
        audit.record(session, actor, "agent.password", "agent_password",
                     f"agent/{agent.username}", None, None)
        await session.commit()


async def restore_agent(sessions: async_sessionmaker, actor: str, key: str,
                        before: dict[str, Any]) -> None:
    """Put an agent back as an audit entry says it was (profile, skills, services, enabled),
    undeleting it if it was deleted since; its SIP password stays the current one."""
    username = key.removeprefix("agent/")
    async with sessions() as session:
        agent = await _agent(session, username, deleted=True)
        services = await _services(session)
        checked = check_agent(str(before.get("display_name", "")),
                              str(before.get("profile", "")),
                              [str(slug) for slug in before.get("services", [])],
                              " ".join(str(skill) for skill in before.get("skills", [])),
                              set(services))
        state = agent_state(agent)
        enabled = bool(before.get("enabled", True)) and not before.get("deleted", False)
        if not enabled and agent.enabled:
            _off_duty(agent, "ripristinarlo disattivato")
        agent.display_name, agent.profile = checked.display_name, checked.profile
        agent.services = [services[slug] for slug in checked.services]
        kept = {s.skill: s for s in agent.skills}
        agent.skills = [kept.get(skill) or AgentSkill(skill=skill) for skill in checked.skills]
        agent.enabled = enabled
        agent.deleted_at = (agent.deleted_at or datetime.now(UTC)) if before.get("deleted") \
            else None
        audit.record(session, actor, "restore", "agent", f"agent/{agent.username}", state,
                     agent_state(agent))
        await session.commit()
