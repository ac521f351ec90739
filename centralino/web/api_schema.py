"""The JSON API's endpoints as data: each one's path, body fields and work, from which both
the aiohttp routes and the OpenAPI document are made, so the document cannot drift.

A request body is checked against its fields before any work is done: unknown
fields, missing required ones and wrong JSON types are refused with a reason; then
the same functions as the pages validate the values themselves.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from centralino.web.validation import NotFound, Refused

Work = Callable[[web.Request, dict[str, Any]], Awaitable[Any]]
#: Path parameters that are row ids (whole numbers).
ID_PARAMS = ("entry_id", "notice_id", "option_id", "sector_id")
_PARAM = re.compile(r"\{([a-z_]+)\}")
_JSON_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean",
               "strings": "array"}
_TYPE_NAMES = {"string": "una stringa", "integer": "un numero intero",
               "boolean": "true o false", "strings": "una lista di stringhe"}


@dataclass(frozen=True)
class Field:
    kind: str  # string | integer | boolean | strings
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] = ()
    max_length: int | None = None
    nullable: bool = False

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.kind]}
        if self.kind == "strings":
            schema["items"] = {"type": "string"}
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        if self.description:
            schema["description"] = self.description
        return schema

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.kind == "string":
            return isinstance(value, str)
        if self.kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind == "boolean":
            return isinstance(value, bool)
        return isinstance(value, list) and all(isinstance(v, str) for v in value)


Body = dict[str, Field]


def body_schema(body: Body) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": [name for name, f in body.items() if f.required],
            "properties": {name: f.schema() for name, f in body.items()}}


def parse_body(raw: Any, body: Body) -> dict[str, Any]:
    """The JSON object's fields if they are the documented ones, of the documented types."""
    if not isinstance(raw, dict):
        raise Refused("Il corpo della richiesta deve essere un oggetto JSON.")
    unknown = sorted(set(raw) - set(body))
    if unknown:
        raise Refused(f"Campo sconosciuto: {str(unknown[0])[:40]!r} (campi ammessi: "
                      f"{', '.join(body)}).")
    for name, spec in body.items():
        if name not in raw:
            if spec.required:
                raise Refused(f"Manca il campo {name!r}.")
            continue
        if not spec.accepts(raw[name]):
            raise Refused(f"Il campo {name!r} deve essere {_TYPE_NAMES[spec.kind]}.")
    return dict(raw)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    work: Work
    body: Body | None = None
    #: The body is an audio file (WAV, or MP3 where sox reads it), not JSON.
    audio: bool = False
    responses: dict[str, str] = field(default_factory=dict)


def id_param(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 9:
        raise NotFound("Oggetto inesistente.")
    return int(raw)


async def _read_body(request: web.Request, endpoint: Endpoint) -> Any:
    if endpoint.audio:
        return await request.read()
    if endpoint.body is None:
        return {}
    try:
        raw = await request.json()
    except ValueError:
        raise Refused("Il corpo della richiesta deve essere JSON.") from None
    return parse_body(raw, endpoint.body)


def handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = await _read_body(request, endpoint)
            result = await endpoint.work(request, {"audio": body} if endpoint.audio else body)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "File troppo grande."}, status=413)
        except NotFound as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except Refused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if isinstance(result, web.Response):  # the work chose its own status (202, 409…)
            return result
        if endpoint.method == "GET":
            return web.json_response(result)
        return web.json_response({"done": True, "result": result})
    handle.__name__ = f"api_{endpoint.method.lower()}_{endpoint.path}"
    return handle


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    responses = {"200": "done" if endpoint.method != "GET" else "the object",
                 "400": "refused: the reason is in `error`",
                 "401": "missing or wrong API token", "404": "no such object",
                 **endpoint.responses}
    operation: dict[str, Any] = {
        "summary": endpoint.summary, "security": [{"bearer": []}],
        "responses": {code: {"description": text} for code, text in responses.items()}}
    if endpoint.audio:
        operation["requestBody"] = {"required": True, "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("audio/wav", "audio/mpeg")}}
        operation["responses"]["413"] = {"description": "file larger than 10 MB"}
    elif endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": body_schema(endpoint.body)}}}
    params = _PARAM.findall(endpoint.path)
    if params:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if name in ID_PARAMS else "string"}}
            for name in params]
    return operation


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {"openapi": "3.1.0",
            "info": {"title": "Centralino admin API", "version": "1",
                     "description": "What the admin pages do, for scripts on this host; "
                                    "every change is audited as made by `api`."},
            "components": {"securitySchemes": {"bearer": {"type": "http",
                                                          "scheme": "bearer"}}},
            "paths": paths}
