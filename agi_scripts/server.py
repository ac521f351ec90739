"""FastAGI over TCP: Asterisk runs in a chroot or on another host, so AGI is a socket.

Scripts register by name (``agi://host:port/NAME``). The request headers are
read with a size and time limit; a script that fails sets AGI status to
failure and the dialplan takes its own fallback, so no call waits on us.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from panoramisk.fast_agi import Request

log = logging.getLogger(__name__)

Script = Callable[[Request], Awaitable[None]]
MAX_HEADER_BYTES = 16 * 1024
HEADER_TIMEOUT = 5.0


class FastAgiServer:
    def __init__(self) -> None:
        self._scripts: dict[str, Script] = {}
        self._server: asyncio.Server | None = None

    def route(self, name: str, script: Script) -> None:
        if name in self._scripts:
            raise ValueError(f"AGI script {name!r} registered twice")
        self._scripts[name] = script

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _read_headers(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        size = 0
        while True:
            line = await reader.readline()
            size += len(line)
            if not line or size > MAX_HEADER_BYTES:
                return None  # connection closed, or not Asterisk talking
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                return headers
            key, sep, value = text.partition(": ")
            if sep:
                headers[key] = value

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers = await asyncio.wait_for(self._read_headers(reader), HEADER_TIMEOUT)
            if headers is None:
                return
            name = headers.get("agi_network_script", "").split("?", 1)[0].strip("/")
            script = self._scripts.get(name)
            if script is None:
                log.warning("FastAGI: no script named %r", name[:64])
                return
            await script(Request(app=None, headers=headers, reader=reader, writer=writer))
        except (TimeoutError, ConnectionError, ValueError):
            # ValueError: a line longer than the stream limit, i.e. not Asterisk.
            log.warning("FastAGI: client went away, was too slow or sent garbage")
        except Exception:
            log.exception("FastAGI script failed")
        finally:
            writer.close()
