"""ARI requests over the event WebSocket, against a stand-in Asterisk on port 0.

The stand-in is a real aiohttp server speaking ARI's protocol (events on
``/ari/events``, ``RESTRequest`` frames answered with ``RESTResponse`` events, plain
HTTP beside it), so the client's own sockets and framing are what is tested. The real
Asterisk is in ``tests/integration/test_ari_transport.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from ari_app.transport.ari import AriClient, AriError, AriUnavailable, _q


@dataclass
class FakeAsterisk:
    """What the stand-in was asked, and how it behaves."""

    #: False: an Asterisk before 22.4, which ignores RESTRequest frames.
    answers_over_websocket: bool = True
    #: Frames it reads and never answers (a stuck Asterisk), by URI.
    ignore: set[str] = field(default_factory=set)
    http_requests: list[str] = field(default_factory=list)
    websocket_requests: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)

    def answer(self, method: str, uri: str, body: str | None) -> tuple[int, str]:
        path = uri.split("?", 1)[0]
        if path == "bridges/missing":
            return 404, json.dumps({"message": "Bridge not found"})
        if method == "POST" and path.startswith("bridges/"):
            return 200, json.dumps({"id": path.split("/")[1], "query": uri.partition("?")[2],
                                    "body": json.loads(body) if body else None})
        return 204, ""

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "StasisStart", "channel": {"id": "early"}}))
        async for message in ws:
            frame = json.loads(message.data)
            self.websocket_requests.append(frame)
            if not self.answers_over_websocket or frame["uri"] in self.ignore:
                continue
            status, body = self.answer(frame["method"], frame["uri"],
                                       frame.get("message_body"))
            # An event in between: answers and events share the socket.
            await ws.send_str(json.dumps({"type": "PlaybackStarted", "playback": {"id": "x"}}))
            await ws.send_str(json.dumps({
                "type": "RESTResponse", "request_id": frame.get("request_id"),
                "status_code": status, "reason_phrase": "", "uri": frame["uri"],
                **({"content_type": "application/json", "message_body": body} if body
                   else {})}))
        return ws

    async def rest(self, request: web.Request) -> web.Response:
        uri = request.path_qs.removeprefix("/ari/")
        self.http_requests.append(f"{request.method} {uri}")
        status, body = self.answer(request.method, uri, await request.text() or None)
        return web.Response(status=status, text=body or None,
                            content_type="application/json" if body else None)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAsterisk, str]]:
    asterisk = FakeAsterisk()
    app = web.Application()
    app.router.add_get("/ari/events", asterisk.events)
    app.router.add_route("*", "/ari/{tail:.*}", asterisk.rest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield asterisk, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _consume(client: AriClient, seen: list[dict[str, Any]]) -> None:
    async for event in client.events():
        seen.append(event)


async def _connected(client: AriClient, seen: list[dict[str, Any]]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(_consume(client, seen))
    for _ in range(200):
        if seen:
            return task
        await asyncio.sleep(0.01)
    raise AssertionError("no event came through the socket")


async def test_given_socket_up_then_requests_travel_over_it_and_answers_never_reach_the_flows(
        fake: tuple[FakeAsterisk, str]):
    asterisk, url = fake
    seen: list[dict[str, Any]] = []
    async with AriClient(url, "centralino", "secret", "centralino") as client:
        task = await _connected(client, seen)
        assert client.over_websocket
        bridge = await client.create_bridge("call-1", name="x y,z")
        await client.answer("chan-1")
        with pytest.raises(AriError) as missing:
            await client.destroy_bridge("missing")
        await client.allow_events(["StasisStart"])
        task.cancel()
    assert bridge["id"] == "call-1" and bridge["query"] == "type=mixing&name=x%20y%2Cz"
    assert missing.value.status == 404 and missing.value.message == "Bridge not found"
    sent = [(f["method"], f["uri"]) for f in asterisk.websocket_requests]
    assert sent[1:] == [("POST", "bridges/call-1?type=mixing&name=x%20y%2Cz"),
                        ("POST", "channels/chan-1/answer"), ("DELETE", "bridges/missing"),
                        ("PUT", "applications/centralino/eventFilter")]
    assert json.loads(asterisk.websocket_requests[-1]["message_body"]) == {
        "allowed": [{"type": "StasisStart"}]}
    assert asterisk.http_requests == []
    assert {e["type"] for e in seen} == {"StasisStart", "PlaybackStarted"}
    assert client.requests_over_websocket == 4


async def test_given_a_value_with_query_characters_then_it_reaches_asterisk_as_one_value(
        fake: tuple[FakeAsterisk, str]):
    asterisk, url = fake
    name = '"Rossi" & figli/2=1?#àè'  # from a caller ID: must not add or split a parameter
    async with AriClient(url, "centralino", "secret", "centralino") as client:
        task = await _connected(client, [])
        bridge = await client.create_bridge("call-2", name=name)
        task.cancel()
    assert bridge["query"] == ("type=mixing&name=%22Rossi%22%20%26%20figli%2F2%3D1%3F%23"
                               "%C3%A0%C3%A8")
    assert [f["uri"] for f in asterisk.websocket_requests][-1].count("&") == 1


async def test_given_asterisk_before_22_4_then_requests_go_over_http(
        fake: tuple[FakeAsterisk, str]):
    asterisk, url = fake
    asterisk.answers_over_websocket = False
    seen: list[dict[str, Any]] = []
    async with AriClient(url, "centralino", "secret", "centralino") as client:
        client.probe_timeout = 0.2
        task = await _connected(client, seen)  # events flow once the probe gave up
        await client.answer("chan-2")
        task.cancel()
    assert not client.over_websocket
    assert asterisk.http_requests == ["POST channels/chan-2/answer"]
    assert [e["type"] for e in seen] == ["StasisStart"]  # read during the probe, kept


async def test_given_socket_closes_with_a_request_in_flight_then_it_fails_at_once(
        fake: tuple[FakeAsterisk, str]):
    asterisk, url = fake
    asterisk.ignore.add("channels/stuck/answer")
    seen: list[dict[str, Any]] = []
    async with AriClient(url, "centralino", "secret", "centralino",
                         request_timeout=30) as client:
        task = await _connected(client, seen)
        pending = asyncio.ensure_future(client.answer("stuck"))
        for _ in range(200):
            if any(f["uri"] == "channels/stuck/answer" for f in asterisk.websocket_requests):
                break
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        await asterisk.sockets[-1].close()
        with pytest.raises(AriUnavailable):
            await pending
        waited = asyncio.get_running_loop().time() - started
        task.cancel()
    assert waited < 2  # not the 30-second request timeout


async def test_given_no_answer_then_the_request_times_out_with_a_clear_error(
        fake: tuple[FakeAsterisk, str]):
    asterisk, url = fake
    asterisk.ignore.add("channels/slow/answer")
    seen: list[dict[str, Any]] = []
    async with AriClient(url, "centralino", "secret", "centralino",
                         request_timeout=0.3) as client:
        task = await _connected(client, seen)
        with pytest.raises(AriUnavailable, match="no answer from Asterisk"):
            await client.answer("slow")
        await client.answer("fine")  # the socket is still good for the next one
        task.cancel()
    assert client.requests_over_websocket == 2


def test_a_query_value_is_quoted_exactly_as_urllib_quotes_it():
    values = [chr(code) for code in range(128)] + [
        "sound:/var/lib/centralino/sounds/welcome,sound:/var/lib/x/menu", "PJSIP/anna",
        "leg,5f0c-11", '"Rossi" <0461|x>', "àè€", "a b\r\n"]
    assert [_q(value) for value in values] == [quote(value, safe="") for value in values]
