"""A control plane that stops leaves its calls as they are in Asterisk: a request left
unanswered as the event socket closes is no reason to send a caller to voicemail."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ari_app.app import ControlPlane
from ari_app.transport.ari import AriUnavailable


class StandInAri:
    """Records the requests; ``answer`` hangs until the socket 'closes'."""

    def __init__(self) -> None:
        self.on_request = None
        self.requests: list[tuple[str, tuple[Any, ...]]] = []
        self.socket_closed = asyncio.Event()

    async def answer(self, channel_id: str) -> None:
        await self.socket_closed.wait()
        raise AriUnavailable("POST /channels/answer: ARI WebSocket closed")

    def __getattr__(self, name: str) -> Any:
        async def request(*args: Any, **_kw: Any) -> None:
            self.requests.append((name, args))
        return request


@pytest.fixture
def sessions(uru_sessions):
    return uru_sessions


async def test_a_call_waiting_on_asterisk_when_the_plane_stops_is_left_where_it_is(
        sessions):
    ari = StandInAri()
    plane = ControlPlane(ari, sessions, sounds_dir="/snd")  # type: ignore[arg-type]
    handle = plane._new_handle("chan-1")
    handle.inbox.put_nowait({"type": "StasisStart", "args": ["inbound", "uru", "800"],
                             "channel": {"id": "chan-1", "caller": {"number": "0461"}}})
    for _ in range(100):  # the call's flow is now waiting for its answer
        if handle.flow is not None:
            break
        await asyncio.sleep(0.01)
    assert handle.flow is not None
    await plane.leave_calls()
    ari.socket_closed.set()  # what closing the event socket does to requests in flight
    await asyncio.sleep(0.05)
    assert [name for name, _ in ari.requests
            if name in ("continue_in_dialplan", "set_variable", "hangup")] == []
    await plane.close()
