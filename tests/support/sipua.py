"""asyncio client for real SIP user agents used by the tests.

Each :class:`SipUA` owns one child process (``sipua_process.py``) that runs
pjsua2 on a single thread, with one UDP transport bound to a loopback address.
The child can hold several accounts at once: a "carrier" identity per calling
number (no registration, used for calls that must look like they come from the
PSTN trunk) and agent accounts that register to Asterisk.

Typical use::

    async with SipUA.start(bind_address="127.0.0.2") as carrier:
        call = await carrier.call("sip:800264760@127.0.0.1:5060", from_user="0461123456")
        await call.wait_state("CONFIRMED")
        await call.send_dtmf("1")
        await call.hangup()

pjsua2 is kept out of the pytest process on purpose: its threads and global
state do not mix with asyncio, and a crash in the C library must fail one test,
not kill the whole run.

Waiting methods take a ``timeout`` argument rather than relying on
``asyncio.timeout`` around the call, so that the TimeoutError names what was
awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

PROCESS_SCRIPT = Path(__file__).with_name("sipua_process.py")
CALL_STATES = ("NULL", "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED")
COMMAND_TIMEOUT = 5.0

T = TypeVar("T")


class SipUAError(RuntimeError):
    """The harness itself failed: child process died, command refused, ..."""


class SipError(SipUAError):
    """A SIP transaction ended with an unexpected final response."""

    def __init__(self, code: int, reason: str = "", what: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{what + ': ' if what else ''}SIP {code} {reason}".strip())


@dataclass(frozen=True)
class Registration:
    """Outcome of a successful REGISTER."""

    account: str
    id_uri: str
    code: int
    reason: str
    expiration: int


class Call:
    """One call leg as seen by a :class:`SipUA`; updated by events from the child."""

    def __init__(self, ua: SipUA, handle: int) -> None:
        self.ua = ua
        self.handle = handle
        self.account = ""
        self.direction = ""
        self.state = "NULL"
        self.states: list[str] = []
        self.code = 0
        self.reason = ""
        self.call_id = ""
        self.remote_uri = ""
        self.local_uri = ""
        self.remote_contact = ""
        self.remote_user: str | None = None
        self.request_uri = ""
        self.headers: dict[str, str] = {}
        self.dtmf_received = ""
        self.media_active = False

    def __repr__(self) -> str:
        return f"<Call {self.handle} {self.direction} {self.remote_uri!r} {self.state}>"

    def _update(self, data: dict[str, Any]) -> None:
        for name in (
            "account", "direction", "code", "reason", "call_id", "remote_uri",
            "local_uri", "remote_contact", "remote_user", "request_uri", "headers",
        ):  # fmt: skip
            if name in data:
                setattr(self, name, data[name])
        state = data.get("state")
        if state and (not self.states or self.states[-1] != state):
            self.states.append(state)
        if state:
            self.state = state

    @property
    def disconnected(self) -> bool:
        return self.state == "DISCONNECTED"

    def header(self, name: str) -> str | None:
        """Header of the received INVITE (incoming calls), case-insensitively."""
        lname = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lname), None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "code": self.code,
            "reason": self.reason,
            "states": list(self.states),
            "call_id": self.call_id,
        }

    # ------------------------------------------------------------ waiting
    async def wait_state(self, state: str, timeout: float = 5) -> dict[str, Any]:
        """Wait until the call has been in ``state`` (now or earlier).

        Raises SipError as soon as the call ends without reaching it, so a
        rejected call fails fast instead of timing out.
        """
        state = state.upper()
        if state not in CALL_STATES:
            raise ValueError(f"unknown call state {state!r}; one of {CALL_STATES}")

        def reached() -> dict[str, Any] | None:
            if state in self.states:
                return self.snapshot()
            if self.disconnected:
                raise SipError(self.code, self.reason, f"call ended before {state}")
            return None

        return await self.ua._wait_for(reached, timeout, f"{self!r} to reach {state}")

    async def wait_disconnected(self, timeout: float = 5) -> dict[str, Any]:
        """Wait for the end of the call; returns its last status code and reason."""
        return await self.wait_state("DISCONNECTED", timeout)

    async def wait_media(self, timeout: float = 5) -> None:
        def ready() -> bool | None:
            if self.media_active:
                return True
            if self.disconnected:
                raise SipError(self.code, self.reason, "call ended before media")
            return None

        await self.ua._wait_for(ready, timeout, f"audio on {self!r}")

    async def wait_dtmf(self, digits: str, timeout: float = 5) -> str:
        """Wait until ``digits`` appear in :attr:`dtmf_received`; returns all received."""

        def got() -> str | None:
            return self.dtmf_received if digits in self.dtmf_received else None

        return await self.ua._wait_for(got, timeout, f"DTMF {digits!r} on {self!r}")

    # ------------------------------------------------------------ actions
    async def ring(self) -> None:
        """Send 180 Ringing on an incoming call."""
        await self.ua._request("answer", call=self.handle, code=180)

    async def answer(self, code: int = 200) -> None:
        await self.ua._request("answer", call=self.handle, code=code)

    async def reject(self, code: int = 486) -> None:
        """Final negative answer to an incoming call that is not answered yet."""
        await self.ua._request("hangup", call=self.handle, code=code)

    async def hangup(self, code: int = 0) -> None:
        """CANCEL, BYE or (incoming, unanswered) 603/``code``: pjsua picks by state."""
        if not self.disconnected:
            await self.ua._request("hangup", call=self.handle, code=code)

    async def send_dtmf(
        self, digits: str, method: str = "rfc2833", duration_ms: int = 0, media_timeout: float = 3
    ) -> None:
        """Send DTMF; RFC 4733 events need RTP, so wait for audio to be up first."""
        if method == "rfc2833":
            await self.wait_media(media_timeout)
        await self.ua._request(
            "dtmf", call=self.handle, digits=digits, method=method, duration=duration_ms
        )


class _Starting:
    """Result of :meth:`SipUA.start`: await it, or use it with ``async with``."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._ua: SipUA | None = None

    def __await__(self) -> Generator[Any, None, SipUA]:
        return self._factory().__await__()

    async def __aenter__(self) -> SipUA:
        self._ua = await self._factory()
        return self._ua

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ua is not None:
            await self._ua.close()


class SipUA:
    """Handle on one SIP user agent child process."""

    def __init__(self, process: asyncio.subprocess.Process, bind_address: str) -> None:
        self.process = process
        self.address = bind_address
        self.port = 0
        self.calls: dict[int, Call] = {}
        self.registrations: dict[str, list[dict[str, Any]]] = {}
        self._incoming: list[Call] = []
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._next_id = 1
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._dead: str | None = None
        self._closed = False
        self._reader = asyncio.create_task(self._read_loop(), name=f"sipua-{bind_address}")

    # --------------------------------------------------------- lifecycle
    @classmethod
    def start(
        cls,
        bind_address: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: int = 1,
        stderr: int | IO[Any] | None = None,
        start_timeout: float = 10,
    ) -> _Starting:
        """Spawn a user agent bound to ``bind_address:port`` (0: any free UDP port).

        ``stderr`` defaults to inheriting ours, so pjsip logs (raise
        ``log_level`` up to 5 to see SIP traffic) land in pytest's captured output.
        """

        async def spawn() -> SipUA:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(PROCESS_SCRIPT),
                "--bind", bind_address,
                "--port", str(port),
                "--log-level", str(log_level),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                limit=1 << 20,
            )  # fmt: skip
            ua = cls(process, bind_address)
            try:
                async with asyncio.timeout(start_timeout):
                    ready = await asyncio.shield(ua._ready)
            except BaseException:
                await ua.close(timeout=1)
                raise
            ua.port = int(ready["port"])
            return ua

        return _Starting(spawn)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def uri(self) -> str:
        """Where to send requests to reach this user agent directly."""
        return f"sip:{self.address}:{self.port}"

    async def close(self, timeout: float = 5) -> None:
        """Hang up everything, unregister, stop the child; kill it if it lingers.

        Idempotent and safe to call from a ``finally`` after a failure.
        """
        if self._closed and self.process.returncode is not None:
            return
        self._closed = True
        if self.process.returncode is None and self._dead is None:
            with contextlib.suppress(Exception):
                self._write({"id": 0, "cmd": "quit"})
                if self.process.stdin is not None:
                    self.process.stdin.close()
        try:
            async with asyncio.timeout(timeout):
                await self.process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        finally:
            if self.process.returncode is None:  # cancelled while waiting
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        # Never mask the test's own failure from a finally: block.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._reader, 1)
        self._fail_all(f"user agent closed (exit status {self.process.returncode})")

    # ------------------------------------------------------------ accounts
    async def register(
        self,
        username: str,
        password: str,
        registrar: str = "sip:127.0.0.1:5060",
        timeout: float = 5,
        *,
        account: str | None = None,
        domain: str | None = None,
        expires: int = 300,
        display_name: str | None = None,
        auth_username: str | None = None,
    ) -> Registration:
        """Add an account (key ``account``, default ``username``) and REGISTER it.

        Returns on 2xx; raises SipError with the final code otherwise (the
        failed account is removed, so it can be retried with other credentials).
        The AOR is ``sip:username@domain`` (domain: the registrar's host).
        """
        key = account or username
        # Count before sending: the reg_state event may be dispatched before we resume.
        seen = len(self.registrations.get(key, []))
        result = await self._request(
            "register",
            account=key,
            username=username,
            password=password,
            registrar=registrar,
            domain=domain,
            expires=expires,
            display_name=display_name,
            auth_username=auth_username,
        )

        def outcome() -> dict[str, Any] | None:
            events = self.registrations.get(key, [])
            return events[seen] if len(events) > seen else None

        try:
            ev = await self._wait_for(outcome, timeout, f"REGISTER of {key!r}")
        except BaseException:
            with contextlib.suppress(Exception):
                await self._request("remove_account", account=key)
            raise
        if not ev["active"]:
            with contextlib.suppress(Exception):
                await self._request("remove_account", account=key)
            raise SipError(ev["code"], ev["reason"], f"REGISTER of {key!r}")
        return Registration(key, result["id_uri"], ev["code"], ev["reason"], ev["expiration"])

    async def unregister(self, account: str, timeout: float = 5) -> None:
        """REGISTER with Expires: 0 and wait for the registrar's answer."""
        seen = len(self.registrations.get(account, []))
        await self._request("unregister", account=account)

        def done() -> bool | None:
            events = self.registrations.get(account, [])[seen:]
            return True if any(not e["active"] for e in events) else None

        await self._wait_for(done, timeout, f"unREGISTER of {account!r}")

    async def remove_account(self, account: str) -> None:
        await self._request("remove_account", account=account)

    # --------------------------------------------------------------- calls
    async def call(
        self,
        uri: str,
        headers: dict[str, str] | None = None,
        caller_id_name: str | None = None,
        from_user: str | None = None,
        *,
        account: str | None = None,
    ) -> Call:
        """Send an INVITE to ``uri`` and return at once (use ``wait_state``).

        The identity is the registered ``account`` if given, else a carrier
        identity ``"caller_id_name" <sip:from_user@bind_address>`` (no
        registration), else the agent's bare local address.
        """
        result = await self._request(
            "call",
            uri=uri,
            headers=headers or {},
            caller_id_name=caller_id_name,
            from_user=from_user,
            account=account,
        )
        call = self._call_for(int(result["call"]))
        if not call.states:
            call._update(result)
        return call

    async def wait_incoming_call(self, timeout: float = 5, *, account: str | None = None) -> Call:
        """Next unclaimed incoming call (optionally only those for ``account``)."""

        def first() -> Call | None:
            for call in self._incoming:
                if account is None or call.account == account:
                    self._incoming.remove(call)
                    return call
            return None

        return await self._wait_for(first, timeout, f"incoming call on {self.address}")

    async def hangup_all(self) -> None:
        for call in list(self.calls.values()):
            if not call.disconnected:
                with contextlib.suppress(SipUAError):
                    await call.hangup()

    # ------------------------------------------------------------ plumbing
    def _call_for(self, handle: int) -> Call:
        # Events for a new call can arrive before the reply to "call".
        call = self.calls.get(handle)
        if call is None:
            call = self.calls[handle] = Call(self, handle)
        return call

    def _write(self, msg: dict[str, Any]) -> None:
        if self.process.stdin is None or self.process.stdin.is_closing():
            raise SipUAError("user agent process is not accepting commands")
        self.process.stdin.write((json.dumps(msg) + "\n").encode())

    async def _request(self, cmd: str, **args: Any) -> dict[str, Any]:
        if self._dead is not None:
            raise SipUAError(self._dead)
        msg_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            self._write({"id": msg_id, "cmd": cmd, **args})
            assert self.process.stdin is not None
            await self.process.stdin.drain()
            async with asyncio.timeout(COMMAND_TIMEOUT):
                reply = await fut
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise SipUAError(f"user agent process gone: {exc}") from exc
        finally:
            self._pending.pop(msg_id, None)
        if not reply.get("ok"):
            raise SipUAError(f"{cmd} failed: {reply.get('error')}")
        return reply.get("result") or {}

    async def _wait_for(self, predicate: Callable[[], T | None], limit: float, what: str) -> T:
        """Wait until ``predicate()`` returns non-None (re-checked after every event)."""
        result = predicate()
        if result is not None:
            return result
        if self._dead is not None:
            raise SipUAError(f"{self._dead} while waiting for {what}")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(limit):
                return await fut
        except TimeoutError:
            raise TimeoutError(f"timed out after {limit}s waiting for {what}") from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    def _notify(self) -> None:
        for predicate, fut in list(self._waiters):
            if fut.done():
                continue
            try:
                result = predicate()
            except Exception as exc:
                fut.set_exception(exc)
                continue
            if result is not None:
                fut.set_result(result)

    def _fail_all(self, why: str) -> None:
        if self._dead is None:
            self._dead = why
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(SipUAError(why))
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(SipUAError(why))
        if not self._ready.done():
            self._ready.set_exception(SipUAError(why))
            self._ready.exception()  # retrieved: no "never retrieved" warning

    async def _read_loop(self) -> None:
        assert self.process.stdout is not None
        try:
            while line := await self.process.stdout.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours; the protocol channel should only carry JSON
                self._dispatch(msg)
        finally:
            code = await self.process.wait()
            self._fail_all(f"user agent process exited with status {code}")

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "reply":
            fut = self._pending.get(msg.get("id", -1))
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if kind == "ready":
            if not self._ready.done():
                self._ready.set_result(msg)
            return
        if kind == "fatal":
            self._fail_all(f"user agent failed to start: {msg.get('error')}")
            return
        if kind != "event":
            return
        name = msg.get("event")
        if name == "reg_state":
            self.registrations.setdefault(msg["account"], []).append(msg)
        elif name in ("incoming_call", "call_state", "media_state", "dtmf"):
            call = self._call_for(int(msg["call"]))
            if name == "dtmf":
                call.dtmf_received += str(msg["digit"])
            elif name == "media_state":
                call.media_active = bool(msg["active"])
            else:
                call._update(msg)
            if name == "incoming_call":
                self._incoming.append(call)
        self._notify()
