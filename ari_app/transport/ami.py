"""AMI through panoramisk: actions, events, and notice of an Asterisk restart.

panoramisk reconnects by itself; every successful login after the first means
Asterisk (or the link to it) went away and came back, so the application must
resynchronise. Our AMI user has no 'system' read class, so we do not rely on the
FullyBooted event: a new login is the signal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk import Manager

log = logging.getLogger(__name__)


class AmiLink:
    """One AMI connection for the control plane."""

    def __init__(self, host: str, port: int, user: str, secret: str, *,
                 on_relogin: Callable[[], Awaitable[None]] | None = None,
                 ping_seconds: int = 5, reconnect_seconds: int = 1):
        self._on_relogin = on_relogin
        self._logins = 0
        self._first_login = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.manager = Manager(
            host=host, port=port, username=user, secret=secret,
            ping_delay=ping_seconds, ping_interval=ping_seconds,
            reconnect_timeout=reconnect_seconds,
            on_login=self._logged_in, on_disconnect=self._disconnected,
            # No event is used: Asterisk would format, and we would parse, every
            # channel's events for nothing (a tenth of the control plane's CPU per call).
            events="off",
        )

    @property
    def logins(self) -> int:
        """How many times we logged in (more than one: Asterisk came back)."""
        return self._logins

    def _logged_in(self, _manager: Manager) -> None:
        self._logins += 1
        log.info("AMI logged in (%d)", self._logins)
        self._first_login.set()
        if self._logins > 1 and self._on_relogin is not None:
            task = asyncio.get_running_loop().create_task(self._on_relogin())
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("resynchronisation after AMI re-login failed", exc_info=task.exception())

    @staticmethod
    def _disconnected(_manager: Manager, exc: BaseException | None) -> None:
        log.warning("AMI connection lost (%s); panoramisk reconnects", exc)

    async def connect(self, timeout: float = 10.0) -> None:
        self.manager.loop = asyncio.get_running_loop()
        self.manager.connect()
        await asyncio.wait_for(self._first_login.wait(), timeout)

    def on_event(self, pattern: str, callback: Callable[[Manager, Any], None]) -> None:
        self.manager.register_event(pattern, callback)

    async def action(self, name: str, **fields: str) -> Any:
        return await self.manager.send_action({"Action": name, **fields})

    def close(self) -> None:
        self.manager.close()
        for task in list(self._tasks):
            task.cancel()
