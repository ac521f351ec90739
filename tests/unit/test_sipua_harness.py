"""Self-test of the SIP user-agent harness (tests/support/sipua.py), no Asterisk needed.

Two pjsua2 child processes call each other directly over loopback, so a
broken harness shows up here rather than as a confusing Asterisk test failure.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import cast

import pytest

from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[SipUA, SipUA]]:
    """Two user agents on their own loopback addresses; always stopped afterwards."""
    a = await SipUA.start(bind_address="127.0.0.3")
    try:
        b = await SipUA.start(bind_address="127.0.0.4")
        try:
            yield a, b
        finally:
            await b.close()
            assert b.returncode is not None
    finally:
        await a.close()
        assert a.returncode is not None


async def test_direct_call_ring_answer_dtmf_hangup(pair: tuple[SipUA, SipUA]) -> None:
    a, b = pair
    assert a.port > 0 and b.port > 0

    call = await a.call(
        f"sip:bob@127.0.0.4:{b.port}",
        headers={"X-Harness": "yes"},
        caller_id_name="Alice Rossi",
        from_user="0461123456",
    )
    incoming = await b.wait_incoming_call(timeout=5)
    assert incoming.direction == "incoming"
    assert incoming.remote_user == "0461123456"
    assert "Alice Rossi" in incoming.remote_uri
    assert incoming.header("x-harness") == "yes"
    assert incoming.call_id == call.call_id
    assert incoming.request_uri.startswith("sip:bob@127.0.0.4")

    await incoming.ring()
    await call.wait_state("EARLY", timeout=5)
    await incoming.answer()
    await call.wait_state("CONFIRMED", timeout=5)
    await incoming.wait_state("CONFIRMED", timeout=5)

    await call.send_dtmf("1#")
    assert await incoming.wait_dtmf("1#", timeout=5) == "1#"
    assert incoming.dtmf_received == "1#"

    await call.hangup()
    ended = await incoming.wait_disconnected(timeout=5)
    assert ended["state"] == "DISCONNECTED"
    assert (await call.wait_disconnected(timeout=5))["state"] == "DISCONNECTED"


async def test_reject_busy_reports_486(pair: tuple[SipUA, SipUA]) -> None:
    a, b = pair
    call = await a.call(f"sip:bob@127.0.0.4:{b.port}", from_user="0461123456")
    incoming = await b.wait_incoming_call(timeout=5)
    await incoming.reject(486)

    ended = await call.wait_disconnected(timeout=5)
    assert ended["code"] == 486
    with pytest.raises(SipError) as err:
        await call.wait_state("CONFIRMED", timeout=1)
    assert err.value.code == 486
    await incoming.wait_disconnected(timeout=5)


class FakeRegistrar(asyncio.DatagramProtocol):
    """Answers REGISTER statelessly: 200 for known users, 403 for the rest."""

    def __init__(self, users: set[str]) -> None:
        self.users = users
        self.transport: asyncio.DatagramTransport | None = None
        self.seen: list[tuple[str, str]] = []  # (user, Expires)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        lines = data.decode().split("\r\n")
        if not lines[0].startswith("REGISTER ") or self.transport is None:
            return
        hdrs = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            hdrs.setdefault(name.strip().lower(), value.strip())
        user = re.search(r"sip:([^@]+)@", hdrs["to"]).group(1)  # type: ignore[union-attr]
        expires = hdrs.get("expires", "300")
        self.seen.append((user, expires))
        status = "200 OK" if user in self.users else "403 Forbidden"
        reply = [f"SIP/2.0 {status}"]
        reply += [f"{n}: {hdrs[n.lower()]}" for n in ("Via", "From", "To", "Call-ID", "CSeq")]
        if user in self.users:
            reply += [f"Contact: {hdrs['contact']};expires={expires}", f"Expires: {expires}"]
        reply += ["Content-Length: 0", "", ""]
        self.transport.sendto("\r\n".join(reply).encode(), addr)


@pytest.fixture
async def registrar() -> AsyncIterator[tuple[FakeRegistrar, str]]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: FakeRegistrar({"agent1"}), local_addr=("127.0.0.5", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        yield proto, f"sip:127.0.0.5:{port}"
    finally:
        transport.close()


async def test_register_ok_then_refused(registrar: tuple[FakeRegistrar, str]) -> None:
    proto, uri = registrar
    async with SipUA.start(bind_address="127.0.0.3") as ua:
        reg = await ua.register("agent1", "secret", registrar=uri, timeout=5)
        assert reg.code == 200 and reg.expiration > 0
        assert reg.id_uri == "sip:agent1@127.0.0.5"

        with pytest.raises(SipError) as err:
            await ua.register("agent2", "wrong", registrar=uri, timeout=5)
        assert err.value.code == 403

        await ua.unregister("agent1", timeout=5)
    assert ("agent1", "0") in proto.seen


async def test_incoming_call_reaches_the_registered_account(
    pair: tuple[SipUA, SipUA], registrar: tuple[FakeRegistrar, str]
) -> None:
    """Agents share one process: the request URI's user picks the account."""
    a, b = pair
    _, uri = registrar
    await b.register("agent1", "secret", registrar=uri, timeout=5)

    call = await a.call(f"sip:agent1@127.0.0.4:{b.port}", from_user="0461123456")
    incoming = await b.wait_incoming_call(timeout=5, account="agent1")
    assert incoming.account == "agent1"
    assert "sip:agent1@127.0.0.4" in incoming.local_uri
    await incoming.answer()
    await call.wait_state("CONFIRMED", timeout=5)
    await incoming.hangup()
    assert (await call.wait_disconnected(timeout=5))["state"] == "DISCONNECTED"


async def test_context_manager_and_close_end_the_process() -> None:
    async with SipUA.start(bind_address="127.0.0.3") as ua:
        assert ua.returncode is None
        await ua.call("sip:nobody@127.0.0.5:5999", from_user="0461000000")
    assert ua.returncode is not None
    await ua.close()  # idempotent
