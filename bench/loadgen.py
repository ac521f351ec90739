"""Callers and agents' phones generated inside Asterisk, driven by a second ARI application.

A caller is a Local channel ``Local/<did>@from-carrier`` originated into the
benchmark's Stasis application: its ``;2`` half runs the carrier's dialplan and
enters ``Stasis(centralino, inbound, ...)`` like a SIP call from the carrier would;
the ``;1`` half is ours. When the control plane answers, ``;1`` enters our
application; we send the menu digit after the welcome, wait until an agent's phone
answers, talk for a while and hang up.

An agent's phone is the answerer endpoint of the bench instance: the control
plane's ``PJSIP/<agent>`` leg reaches it over SIP on loopback, the dialplan
answers and hands the channel to us (``StasisStart`` with args ``agent``); the
caller number the control plane put on the leg tells us which caller it is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger("bench.loadgen")


@dataclass
class BenchCall:
    """One caller's life, as timestamps (perf_counter seconds) and an outcome."""

    index: int
    number: str
    channel_id: str
    scheduled: float = 0.0
    originated: float | None = None
    pbx_answered: float | None = None
    menu_started: float | None = None
    digit_sent: float | None = None
    agent_answered: float | None = None
    hangup_sent: float | None = None
    ended: float | None = None
    agent_leg: str | None = None
    end_cause: int | None = None
    failure: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.wake.set()


class AriHttpError(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"{status} {text[:120]}")
        self.status = status


@dataclass
class LoadSettings:
    did: str
    digit: str
    #: The menu prompt's sound name: the digit is sent when it starts playing.
    menu_sound: str
    #: If set, send the digit this many seconds after our half is answered instead.
    dtmf_delay: float | None
    talk_seconds: float
    answer_timeout: float = 30.0
    agent_timeout: float = 40.0
    formats: str = "alaw"


class LoadGenerator:
    """The ``bench-callers`` Stasis application: places calls and plays the agents' phones."""

    def __init__(self, base_url: str, user: str, password: str, app: str,
                 settings: LoadSettings):
        self.base_url = base_url.rstrip("/")
        self.app = app
        self.settings = settings
        self.password = password
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.by_channel: dict[str, BenchCall] = {}
        self.by_number: dict[str, BenchCall] = {}
        self.stray_agent_legs = 0
        self.requests = 0
        self.connected = asyncio.Event()
        self.on_event: Callable[[dict[str, Any]], None] | None = None

    # -- connection ------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            headers=self._headers, timeout=aiohttp.ClientTimeout(total=15),
            connector=aiohttp.TCPConnector(limit=64))
        ws_url = self.base_url.replace("http", "ws", 1) + "/ari/events"
        self._ws = await self._session.ws_connect(
            ws_url, params={"app": self.app, "subscribeAll": "false"}, heartbeat=10.0)
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="bench-ws")
        self.connected.set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, **params: Any) -> Any:
        assert self._session is not None
        self.requests += 1
        clean = {k: str(v) for k, v in params.items() if v is not None}
        async with self._session.request(method, f"{self.base_url}/ari{path}",
                                         params=clean) as response:
            text = await response.text()
            if response.status >= 400:
                raise AriHttpError(response.status, text)
            return json.loads(text) if text else None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events ------------------------------------------------------------------------
    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                self._on_event(json.loads(message.data))
            except Exception:
                log.exception("bench: event handling failed")
        self.connected.clear()
        log.error("bench: the ARI WebSocket of %s closed", self.app)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if self.on_event is not None:
            self.on_event(event)
        if kind == "PlaybackStarted":
            playback = event.get("playback") or {}
            if self.settings.menu_sound in str(playback.get("media_uri", "")):
                target = str(playback.get("target_uri", "")).removeprefix("channel:")
                call = self.by_channel.get(target)
                if call is not None and call.menu_started is None:
                    call.menu_started = time.perf_counter()
                    call.touch()
            return
        channel = event.get("channel") or {}
        channel_id = channel.get("id", "")
        now = time.perf_counter()
        if kind == "StasisStart":
            args = event.get("args") or []
            if args[:1] == ["agent"]:
                self._agent_answered(channel_id, str((channel.get("caller") or {}).get(
                    "number", "")), now)
                return
            call = self.by_channel.get(channel_id)
            if call is not None and call.pbx_answered is None:
                call.pbx_answered = now
                call.touch()
        elif kind == "ChannelDestroyed":
            call = self.by_channel.pop(channel_id, None)
            if call is not None and channel_id == call.channel_id:
                call.ended = now
                call.end_cause = event.get("cause")
                self.by_number.pop(call.number, None)
                call.touch()

    def _agent_answered(self, leg: str, number: str, now: float) -> None:
        call = self.by_number.get(number)
        if call is None or call.ended is not None or call.agent_answered is not None:
            # Not one of ours any more (or a second agent for one caller): drop it.
            self.stray_agent_legs += 1
            self._spawn(self._hangup(leg))
            return
        call.agent_answered = now
        call.agent_leg = leg
        self.by_channel[leg] = call
        call.touch()

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriHttpError, aiohttp.ClientError, TimeoutError):
            await self.request("DELETE", f"/channels/{channel_id}")

    # -- one caller ----------------------------------------------------------------------
    async def _until(self, call: BenchCall, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not done():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            call.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.wake.wait(), remaining)
        return True

    @staticmethod
    def inner_half(call: BenchCall) -> str:
        """The id of the ``;2`` half, the one that runs the dialplan and the call flow."""
        return f"{call.channel_id}-2"

    async def place_call(self, call: BenchCall) -> BenchCall:
        """welcome → digit → queue → agent answers → talk → caller hangs up."""
        s = self.settings
        self.by_channel[call.channel_id] = call
        self.by_channel[self.inner_half(call)] = call
        self.by_number[call.number] = call
        try:
            call.originated = time.perf_counter()
            await self.request(
                "POST", "/channels", endpoint=f"Local/{s.did}@from-carrier", app=self.app,
                appArgs="caller", callerId=call.number, timeout=int(s.answer_timeout),
                channelId=call.channel_id, otherChannelId=self.inner_half(call),
                formats=s.formats)
            if s.dtmf_delay is None:
                # To hear the menu start: the control plane's playbacks on the ;2 half.
                await self.request("POST", f"/applications/{self.app}/subscription",
                                   eventSource=f"channel:{self.inner_half(call)}")
        except (AriHttpError, aiohttp.ClientError, TimeoutError) as exc:
            call.failure = f"originate refused ({exc.__class__.__name__})"
            if call.originated is not None:
                await self._hangup(call.channel_id)
            self._forget(call)
            return call
        try:
            await self._run_call(call)
        except asyncio.CancelledError:
            self._forget(call)  # the bench is stopping: Asterisk goes down with the calls
            raise
        if call.ended is None:
            await self._hangup(call.channel_id)
            await self._until(call, lambda: call.ended is not None, 10)
        self._forget(call)
        return call

    async def _run_call(self, call: BenchCall) -> None:
        s = self.settings
        if not await self._until(call, lambda: call.pbx_answered or call.ended,
                                 s.answer_timeout):
            call.failure = "not answered by the control plane"
            return
        if call.pbx_answered is None:
            call.failure = "ended before the control plane answered"
            return
        if s.dtmf_delay is not None:
            await self._until(call, lambda: call.ended is not None, s.dtmf_delay)
        elif not await self._until(call, lambda: call.menu_started or call.ended,
                                   s.agent_timeout):
            call.failure = "the menu never started"
            return
        if call.ended is not None:
            call.failure = "ended before the menu"
            return
        with contextlib.suppress(AriHttpError):
            await self.request("POST", f"/channels/{call.channel_id}/dtmf", dtmf=s.digit)
        call.digit_sent = time.perf_counter()
        if not await self._until(call, lambda: call.agent_answered or call.ended,
                                 s.agent_timeout):
            call.failure = "no agent within the time limit"
            return
        if call.agent_answered is None:
            call.failure = "ended before an agent answered"
            return
        await self._until(call, lambda: call.ended is not None, s.talk_seconds)
        if call.ended is not None:
            call.failure = "ended during the conversation"
            return
        call.hangup_sent = time.perf_counter()
        await self._hangup(call.channel_id)
        await self._until(call, lambda: call.ended is not None, 10)

    def _forget(self, call: BenchCall) -> None:
        self.by_channel.pop(call.channel_id, None)
        self.by_channel.pop(self.inner_half(call), None)
        if call.agent_leg:
            self.by_channel.pop(call.agent_leg, None)
        if self.by_number.get(call.number) is call:
            del self.by_number[call.number]
