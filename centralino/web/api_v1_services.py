"""The JSON API's service settings endpoints: numbers, opening hours and time zone, options,
closures, office lines; the page's functions (:mod:`centralino.web.service_changes`), fed from JSON.

A change of numbers is applied to Asterisk's dialplan at once where this control
plane may do so; the answer says whether it was (``asterisk``: reloaded or pending).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centralino.web import live, office_changes, service_changes
from centralino.web.api_schema import Endpoint, Field
from centralino.web.context import web_context

ACTOR = "api"


def _slug(request: web.Request) -> str:
    return request.match_info["slug"][:64]


async def get_settings(request: web.Request, body: dict[str, Any]) -> Any:
    return await service_changes.settings_of(web_context(request).sessions, _slug(request))


async def put_settings(request: web.Request, body: dict[str, Any]) -> Any:
    if await service_changes.change_settings(web_context(request).sessions, ACTOR,
                                             _slug(request), body):
        return await live.api_outcome(request)
    return None


async def add_did(request: web.Request, body: dict[str, Any]) -> Any:
    did = await service_changes.add_did(web_context(request).sessions, ACTOR, _slug(request),
                                        body["did"])
    return {"did": did, **await live.api_outcome(request)}


async def remove_did(request: web.Request, body: dict[str, Any]) -> Any:
    left = await service_changes.remove_did(web_context(request).sessions, ACTOR,
                                            _slug(request), request.match_info["did"][:40])
    return {"dids_left": left, **await live.api_outcome(request)}


def _scope(request: web.Request) -> str | None:
    return _slug(request) if "slug" in request.match_info else None


async def add_closure(request: web.Request, body: dict[str, Any]) -> None:
    await service_changes.add_closure(web_context(request).sessions, ACTOR, _scope(request),
                                      body["day"], body.get("reason") or "")


async def delete_closure(request: web.Request, body: dict[str, Any]) -> None:
    await service_changes.delete_closure(web_context(request).sessions, ACTOR, _scope(request),
                                         request.match_info["day"][:20])


async def get_offices(request: web.Request, body: dict[str, Any]) -> Any:
    return await office_changes.office_lines(web_context(request).sessions, _slug(request))


async def add_office(request: web.Request, body: dict[str, Any]) -> Any:
    form = {name: str(body.get(name) or "") for name in ("number", "phone", "name")}
    form.update(password=str(body["password"]), password_again=str(body["password"]),
                rings=str(body.get("rings") or 4))
    number = await office_changes.add_office_line(web_context(request).sessions, ACTOR,
                                                  _slug(request), form)
    return {"number": number, **await live.api_outcome(request)}


async def remove_office(request: web.Request, body: dict[str, Any]) -> Any:
    await office_changes.remove_office_line(web_context(request).sessions, ACTOR,
                                            _slug(request), request.match_info["number"][:20])
    return await live.api_outcome(request)


SETTINGS = {
    "dids": Field("strings", description="every number of the service (replaces them): "
                  "3-15 digits, spaces, dots, dashes, +39/0039 allowed"),
    "windows": Field("strings", description="7 entries, Monday first: up to two "
                     "\"HH:MM-HH:MM\" intervals separated by a comma; empty: closed"),
    "timezone": Field("string", description="IANA time zone, e.g. Europe/Rome", max_length=64),
    "not_emergency_notice": Field("boolean", description="the welcome says: not an "
                                  "emergency number, call 112"),
    "hours_before_queue": Field("boolean", description="office hours played before the queue"),
    "mailbox_email": Field("string", description="empty or null: none; receives forward "
                           "forms of sectors without a mailbox", max_length=254, nullable=True),
}
OFFICE = {"number": Field("string", True, "the office's own number", max_length=40),
          "phone": Field("string", True, "SIP user name of the office phone", max_length=32),
          "password": Field("string", True, "SIP password of the office phone", max_length=128),
          "name": Field("string", description="office name, shown on phones", max_length=80),
          "rings": Field("integer", description="rings before the call overflows to the "
                         "service's queue (1-10, default 4)")}
CLOSURE = {"day": Field("string", True, "YYYY-MM-DD"),
           "reason": Field("string", max_length=100)}
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/services/{slug}/settings",
             "A service's numbers, opening hours, time zone, options, mailbox and closures "
             "(those of all services too: service null)", get_settings),
    Endpoint("PUT", "/api/v1/services/{slug}/settings",
             "Change a service's settings (only the fields given); a change of numbers is "
             "applied to Asterisk's dialplan", put_settings, SETTINGS),
    Endpoint("POST", "/api/v1/services/{slug}/dids", "Add a number to a service", add_did,
             {"did": Field("string", True, max_length=40)}),
    Endpoint("DELETE", "/api/v1/services/{slug}/dids/{did}",
             "Take a number off a service (with none left, no call reaches it)", remove_did),
    Endpoint("POST", "/api/v1/services/{slug}/closures", "Close a service on a day",
             add_closure, CLOSURE),
    Endpoint("DELETE", "/api/v1/services/{slug}/closures/{day}",
             "Delete a service's closure", delete_closure),
    Endpoint("GET", "/api/v1/services/{slug}/offices",
             "A service's office lines (number, name, phone, rings)", get_offices),
    Endpoint("POST", "/api/v1/services/{slug}/offices",
             "Add an office line: its number rings the phone first, then overflows to the "
             "service's queue; applied to Asterisk", add_office, OFFICE),
    Endpoint("DELETE", "/api/v1/services/{slug}/offices/{number}",
             "Remove an office line; applied to Asterisk", remove_office),
    Endpoint("POST", "/api/v1/closures", "Close every service on a day", add_closure, CLOSURE),
    Endpoint("DELETE", "/api/v1/closures/{day}", "Delete a closure of every service",
             delete_closure),
]
