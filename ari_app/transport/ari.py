"""ARI over aiohttp: REST requests and the event WebSocket, with reconnect.

This module is the only one that knows ARI's URLs and payloads. Call logic
talks to :class:`AriClient`'s typed helpers and never builds a URL itself.

Requests travel over the event WebSocket itself once it is up (ARI "REST over
WebSocket", Asterisk 20.14/21.9/22.4 and later): a request is one JSON frame and
its answer a ``RESTResponse`` event, so there is no HTTP request to build and
parse on either side, and Asterisk checks the password once per connection
instead of once per request. Before the socket is up (and during re-adoption,
which runs before events are read), or with an Asterisk that does not answer
over the socket, requests go over HTTP as before.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

log = logging.getLogger(__name__)

Event = dict[str, Any]

#: The event type that carries a request's answer over the WebSocket.
_RESPONSE = "RESTResponse"


class AriError(Exception):
    """ARI answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, message: str):
        super().__init__(f"{method} {path} -> {status} {message}")
        self.status = status
        self.message = message


class AriUnavailable(Exception):
    """Asterisk's HTTP server could not be reached."""


async def cleanup_step(step: Awaitable[Any]) -> None:
    """Run a step that tidies up after a call (hang up a leg, destroy a bridge): if
    Asterisk refuses it or cannot be reached, what it tidies is most likely gone."""
    try:
        await step
    except (AriError, AriUnavailable) as exc:
        log.info("cleanup step skipped: %s", exc)


#: What ``quote`` leaves as it is: ids, names and numbers nearly always are all of it.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch
#: ``quote(value, safe="")`` of every other ASCII character, for ``str.translate``: media
#: lists and endpoints (``sound:/…``, ``PJSIP/…``) need it on every call.
_ASCII_QUOTED = {code: f"%{code:02X}" for code in range(128)
                 if not _UNRESERVED(chr(code))}


def _q(value: str) -> str:
    if _UNRESERVED(value):
        return value
    if value.isascii():
        return value.translate(_ASCII_QUOTED)
    return quote(value, safe="")


class AriClient:
    """REST and WebSocket client for one Stasis application."""

    def __init__(self, base_url: str, user: str, password: str, app: str, *,
                 request_timeout: float = 10.0, rest_over_websocket: bool = True):
        #: Called as each request leaves (reaction-time measurement); must be cheap.
        self.on_request: Callable[[], None] | None = None
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None
        self._rest_over_websocket = rest_over_websocket
        #: The event socket, while requests may travel over it.
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        #: request id → the future its RESTResponse resolves.
        self._pending: dict[str, asyncio.Future[Event]] = {}
        self._request_ids = itertools.count(1)
        #: (deadline, request id, method, path) of the requests sent over the socket, oldest
        #: first; one timer looks at them every ``_sweep_every`` seconds (see :meth:`_sweep`).
        self._deadlines: deque[tuple[float, str, str, str]] = deque()
        self._sweep_every = max(request_timeout / 10, 0.05)
        self._sweeper: asyncio.TimerHandle | None = None
        #: How long a new socket's first request may go unanswered before HTTP is used.
        self.probe_timeout = 2.0
        #: Events read while checking a new socket, yielded before the rest.
        self._early_events: list[Event] = []
        #: How many requests went over the WebSocket and over HTTP (for /metrics, tests).
        self.requests_over_websocket = 0
        self.requests_over_http = 0

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # One keep-alive connection pool: Asterisk checks the (crypted)
            # password on every request, so fewer connections cost nothing extra,
            # but reusing them saves the TCP set-up.
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=32),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- REST ----------------------------------------------------------------
    @property
    def over_websocket(self) -> bool:
        """True while requests travel over the event WebSocket."""
        return self._ws is not None

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None) -> Any:
        if self.on_request is not None:
            self.on_request()
        query = "&".join(f"{_q(k)}={_q(_param(v))}" for k, v in params.items()
                         if v is not None) if params else ""
        if self._ws is not None:
            return await self._request_over_websocket(method, path, query, body)
        return await self._request_over_http(method, path, query, body)

    async def _request_over_http(self, method: str, path: str, query: str,
                                 body: dict[str, Any] | None) -> Any:
        self.requests_over_http += 1
        # Encoded here once, and handed over as such: yarl would parse and re-encode it.
        url = URL(f"{self.base_url}/ari{path}?{query}" if query else f"{self.base_url}/ari{path}",
                  encoded=True)
        try:
            async with self.session.request(method, url, json=body) as resp:
                text = await resp.text()
                return _answer(method, path, resp.status, text)
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AriUnavailable(f"{method} {path}: {exc}") from exc

    async def _request_over_websocket(self, method: str, path: str, query: str,
                                      body: dict[str, Any] | None) -> Any:
        ws = self._ws
        assert ws is not None
        self.requests_over_websocket += 1
        request_id = str(next(self._request_ids))
        frame: dict[str, Any] = {
            "type": "RESTRequest", "request_id": request_id, "method": method,
            "uri": f"{path[1:]}?{query}" if query else path[1:],
        }
        if body is not None:
            frame["content_type"] = "application/json"
            frame["message_body"] = orjson.dumps(body).decode()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Event] = loop.create_future()
        self._pending[request_id] = answer
        self._deadlines.append((loop.time() + self._request_timeout, request_id, method, path))
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._sweep_every, self._sweep)
        try:
            await ws.send_frame(orjson.dumps(frame), aiohttp.WSMsgType.TEXT)
            response = await answer
        except (aiohttp.ClientConnectionError, ConnectionError) as exc:
            raise AriUnavailable(f"{method} {path}: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)
        return _answer(method, path, int(response.get("status_code", 500)),
                       response.get("message_body") or "")

    def _sweep(self) -> None:
        """Fail the requests whose time is up: one timer for all of them, not one each
        (the timeout is the same for all, so the oldest deadline is always first)."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _deadline, request_id, method, path = deadlines.popleft()
            answer = self._pending.pop(request_id, None)
            if answer is not None and not answer.done():
                answer.set_exception(AriUnavailable(f"{method} {path}: no answer from Asterisk"))
        if deadlines:
            self._sweeper = loop.call_later(self._sweep_every, self._sweep)

    def _answered(self, response: Event) -> None:
        """A RESTResponse arrived on the event socket: wake whoever asked."""
        answer = self._pending.pop(str(response.get("request_id", "")), None)
        if answer is not None and not answer.done():
            answer.set_result(response)

    def _socket_gone(self) -> None:
        """The event socket closed: requests in flight fail, new ones go over HTTP."""
        self._ws = None
        pending, self._pending = self._pending, {}
        self._deadlines.clear()  # nothing left to time out: the next socket starts afresh
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for answer in pending.values():
            if not answer.done():
                answer.set_exception(AriUnavailable("ARI WebSocket closed"))

    async def _try_websocket_requests(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Ask one request over the new socket; if Asterisk answers, use it from now on.

        Runs before events are read, so it reads the socket itself until the answer
        comes, keeping whatever events arrive meanwhile for the caller to yield.
        """
        request_id = "probe-" + str(next(self._request_ids))
        await ws.send_str(orjson.dumps({
            "type": "RESTRequest", "request_id": request_id, "method": "GET",
            "uri": f"applications/{_q(self.app)}"}).decode())
        try:
            async with asyncio.timeout(self.probe_timeout):
                while True:
                    message = await ws.receive()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        return False
                    try:
                        event = orjson.loads(message.data)
                    except orjson.JSONDecodeError:
                        continue
                    if event.get("type") == _RESPONSE and event.get("request_id") == request_id:
                        return True  # whatever the status: Asterisk answers over the socket
                    self._early_events.append(event)
        except TimeoutError:
            return False

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{_q(channel_id)}", params={"reason": reason})

    async def play(self, channel_id: str, media: list[str], playback_id: str,
                   lang: str | None = "it") -> Event:
        return await self.request(
            "POST", f"/channels/{_q(channel_id)}/play/{_q(playback_id)}",
            params={"media": ",".join(media), "lang": lang},
        )

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_q(playback_id)}")

    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None,
                                   extension: str | None = None, priority: int | None = None,
                                   label: str | None = None) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/continue", params={
            "context": context, "extension": extension, "priority": priority, "label": label,
        })

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/variable",
                           params={"variable": name, "value": value})

    async def get_variable(self, channel_id: str, name: str) -> str | None:
        result = await self._get_or_none(f"/channels/{_q(channel_id)}/variable",
                                         {"variable": name})
        return (result or {}).get("value")

    async def get_channel(self, channel_id: str) -> Event | None:
        return await self._get_or_none(f"/channels/{_q(channel_id)}")

    async def list_channels(self) -> list[Event]:
        return await self.request("GET", "/channels") or []

    async def list_bridges(self) -> list[Event]:
        return await self.request("GET", "/bridges") or []

    async def get_application(self) -> Event:
        return await self.request("GET", f"/applications/{_q(self.app)}")

    async def reload_module(self, name: str) -> None:
        """Reload one module's configuration (``res_pjsip.so``, ``pbx_config.so``).

        Asterisk keeps running and calls stay up; 404 if the module is not loaded,
        409 if it refused the reload.
        """
        await self.request("PUT", f"/asterisk/modules/{_q(name)}")

    async def allow_events(self, types: Iterable[str]) -> None:
        """Have Asterisk send this application only these event types (Asterisk 16+)."""
        await self.request("PUT", f"/applications/{_q(self.app)}/eventFilter",
                           body={"allowed": [{"type": t} for t in types]})

    async def subscribe(self, event_source: str) -> None:
        """Keep receiving a channel's events after it leaves Stasis (e.g. for voicemail)."""
        await self.request("POST", f"/applications/{_q(self.app)}/subscription",
                           params={"eventSource": event_source})

    async def unsubscribe(self, event_source: str) -> None:
        await self.request("DELETE", f"/applications/{_q(self.app)}/subscription",
                           params={"eventSource": event_source})

    async def create_bridge(self, bridge_id: str, bridge_type: str = "mixing",
                            name: str = "") -> Event:
        return await self.request("POST", f"/bridges/{_q(bridge_id)}",
                                  params={"type": bridge_type, "name": name or bridge_id})

    async def get_bridge(self, bridge_id: str) -> Event | None:
        return await self._get_or_none(f"/bridges/{_q(bridge_id)}")

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_q(bridge_id)}")

    async def add_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{_q(bridge_id)}/addChannel",
                           params={"channel": channel_id})

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{_q(bridge_id)}/removeChannel",
                           params={"channel": channel_id})

    async def start_moh(self, target: str, moh_class: str = "default", *,
                        bridge: bool = False) -> None:
        kind = "bridges" if bridge else "channels"
        await self.request("POST", f"/{kind}/{_q(target)}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, target: str, *, bridge: bool = False) -> None:
        """Stop music on hold; music that is not playing (409) is already stopped."""
        kind = "bridges" if bridge else "channels"
        try:
            await self.request("DELETE", f"/{kind}/{_q(target)}/moh")
        except AriError as exc:
            if exc.status != 409:
                raise

    async def list_endpoints(self, technology: str) -> list[Event]:
        """Every endpoint of a technology with its state and channels, in one request."""
        return await self.request("GET", f"/endpoints/{_q(technology)}") or []

    async def record(self, channel_id: str, name: str, *, max_seconds: int = 180,
                     max_silence_seconds: int = 10, beep: bool = True,
                     terminate_on: str = "#") -> Event:
        """Record what the caller says into ``recording/NAME.wav`` under Asterisk's spool."""
        return await self.request("POST", f"/channels/{_q(channel_id)}/record", params={
            "name": name, "format": "wav", "maxDurationSeconds": max_seconds,
            "maxSilenceSeconds": max_silence_seconds, "beep": beep,
            "terminateOn": terminate_on, "ifExists": "overwrite",
        })

    async def live_recording(self, name: str) -> Event | None:
        return await self._get_or_none(f"/recordings/live/{_q(name)}")

    async def stored_recording(self, name: str) -> Event | None:
        return await self._get_or_none(f"/recordings/stored/{_q(name)}")

    async def _get_or_none(self, path: str,
                           params: dict[str, Any] | None = None) -> Event | None:
        """GET a resource; None when Asterisk has no such thing (404)."""
        try:
            return await self.request("GET", path, params=params)
        except AriError as exc:
            if exc.status == 404:
                return None
            raise

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/ring")

    async def originate(self, channel_id: str, endpoint: str, *, app_args: str,
                        caller_id: str | None = None, timeout: int = 30,
                        originator: str | None = None,
                        variables: dict[str, str] | None = None) -> Event:
        """Originate a leg into our application with an id we chose (re-adoptable)."""
        body = {"variables": variables} if variables else None
        return await self.request("POST", f"/channels/{_q(channel_id)}", params={
            "endpoint": endpoint, "app": self.app, "appArgs": app_args,
            "callerId": caller_id, "timeout": timeout, "originator": originator,
        }, body=body)

    # -- events --------------------------------------------------------------
    async def events(self, on_connect: Callable[[], Awaitable[None]] | None = None, *,
                     max_backoff: float = 5.0) -> AsyncIterator[Event]:
        """Yield events forever, reconnecting with backoff; ``on_connect`` runs after each
        (re)connection, before any event is yielded, so the caller can re-adopt calls.

        Answers to requests sent over the socket are taken out of the stream here and
        handed to the requests waiting for them: whoever consumes the events must keep
        consuming for requests to be answered (and so must not await a request itself).
        """
        backoff = 0.2
        ws_url = self.base_url.replace("http", "ws", 1) + "/ari/events"
        while True:
            try:
                async with self.session.ws_connect(
                    ws_url, params={"app": self.app, "subscribeAll": "false"},
                    heartbeat=5.0, autoping=True, timeout=aiohttp.ClientWSTimeout(ws_close=2),
                ) as ws:
                    log.info("ARI WebSocket connected for application %s", self.app)
                    backoff = 0.2
                    if on_connect is not None:
                        try:
                            await on_connect()
                        except Exception:
                            log.exception("re-adoption after ARI (re)connect failed")
                    self._early_events = []
                    if self._rest_over_websocket:
                        if await self._try_websocket_requests(ws):
                            self._ws = ws
                        else:
                            log.warning("Asterisk does not answer requests over the ARI "
                                        "WebSocket (before 22.4?): using HTTP")
                    early, self._early_events = self._early_events, []
                    for event in early:
                        yield event
                    try:
                        async for message in ws:
                            if message.type == aiohttp.WSMsgType.TEXT:
                                try:
                                    event = orjson.loads(message.data)
                                except orjson.JSONDecodeError:
                                    log.warning("ignoring a malformed ARI event")
                                    continue
                                if event.get("type") == _RESPONSE:
                                    self._answered(event)
                                    continue
                                yield event
                            elif message.type in (aiohttp.WSMsgType.ERROR,
                                                  aiohttp.WSMsgType.CLOSED):
                                break
                    finally:
                        self._socket_gone()
                log.warning("ARI WebSocket closed; reconnecting")
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("ARI not reachable (%s); retrying in %.1f s", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)


def _answer(method: str, path: str, status: int, text: str) -> Any:
    """An ARI answer's body as JSON, or AriError for an error status (over either way)."""
    if status >= 400:
        try:
            message = json.loads(text).get("message", text)
        except (ValueError, AttributeError):
            message = text
        raise AriError(method, path, status, message)
    if not text:
        return None
    return orjson.loads(text)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
