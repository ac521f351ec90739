"""The JSON API's agent endpoints: create, change, disable, delete, new SIP password.

Same functions as the admin page (:mod:`centralino.web.agent_changes`); answers
never hold the SIP password nor its HA1 digest. After a change Asterisk's
configuration is applied as the page does (``asterisk``: ``reloaded`` or
``pending`` when this control plane cannot reload it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from centralino.web import agent_changes, live
from centralino.web.api_schema import Endpoint, Field
from centralino.web.context import web_context
from centralino.web.validation import NotFound
from models import AGENT_PROFILES, Agent

ACTOR = "api"


def _agent_json(agent: Agent) -> dict[str, Any]:
    return {"username": agent.username, "state": agent.state,
            **agent_changes.agent_state(agent)}


def _form(body: dict[str, Any]) -> dict[str, Any]:
    """The page's form from a checked body (skills as the page's comma-separated text)."""
    form = dict(body)
    form["skills"] = ", ".join(body.get("skills", []))
    form["password2"] = body.get("password", "")
    return form


async def list_agents(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        agents = await session.scalars(select(Agent).where(Agent.deleted_at.is_(None))
                                       .order_by(Agent.username))
        return {"agents": [_agent_json(a) for a in agents]}


async def get_agent(request: web.Request, body: dict[str, Any]) -> Any:
    async with web_context(request).sessions() as session:
        agent = await session.scalar(select(Agent).where(
            Agent.username == request.match_info["username"][:32],
            Agent.deleted_at.is_(None)))
        if agent is None:
            raise NotFound("Operatore inesistente.")
        return _agent_json(agent)


async def create_agent(request: web.Request, body: dict[str, Any]) -> Any:
    username = await agent_changes.create_agent(web_context(request).sessions, ACTOR,
                                                _form(body))
    return {"username": username, **await live.api_outcome(request)}


async def change_agent(request: web.Request, body: dict[str, Any]) -> Any:
    await agent_changes.change_agent(web_context(request).sessions, ACTOR,
                                     request.match_info["username"], _form(body))
    return await live.api_outcome(request)


async def set_enabled(request: web.Request, body: dict[str, Any]) -> Any:
    await agent_changes.set_enabled(web_context(request).sessions, ACTOR,
                                    request.match_info["username"], body["enabled"])
    return await live.api_outcome(request)


async def delete_agent(request: web.Request, body: dict[str, Any]) -> Any:
    await agent_changes.delete_agent(web_context(request).sessions, ACTOR,
                                     request.match_info["username"])
    return await live.api_outcome(request)


async def change_password(request: web.Request, body: dict[str, Any]) -> Any:
    await agent_changes.change_password(web_context(request).sessions, ACTOR,
                                        request.match_info["username"], body["password"],
                                        body["password"])
    return await live.api_outcome(request)


PROFILE = {"display_name": Field("string", True, "letters, digits, spaces and . ' -",
                                 max_length=80),
           "profile": Field("string", True, enum=AGENT_PROFILES),
           "services": Field("strings", True, "service slugs, at least one"),
           "skills": Field("strings", description="lower-case skill names")}
PASSWORD = Field("string", True, "8-128 printable characters; only its HA1 is stored",
                 max_length=128)
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/agents", "Agents (not deleted) with profile, skills, services, "
             "state; never a password or digest", list_agents),
    Endpoint("POST", "/api/v1/agents", "Create an agent (logged out) with its SIP password",
             create_agent, {"username": Field("string", True, "SIP user name", max_length=32),
                            "password": PASSWORD, **PROFILE}),
    Endpoint("GET", "/api/v1/agents/{username}", "One agent", get_agent),
    Endpoint("PUT", "/api/v1/agents/{username}", "Change profile, name, services, skills",
             change_agent, PROFILE),
    Endpoint("PUT", "/api/v1/agents/{username}/enabled",
             "Disable (logged out, phone can no longer register or ring) or enable again",
             set_enabled, {"enabled": Field("boolean", True)}),
    Endpoint("PUT", "/api/v1/agents/{username}/password", "A new SIP password", change_password,
             {"password": PASSWORD}),
    Endpoint("DELETE", "/api/v1/agents/{username}",
             "Delete (kept for its calls and SLA records; restorable from the audit log)",
             delete_agent),
]
