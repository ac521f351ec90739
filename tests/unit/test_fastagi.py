"""The FastAGI server answers Asterisk and shrugs off clients that are not Asterisk."""

from __future__ import annotations

import asyncio
import time

from agi_scripts.server import FastAgiServer


async def _start(handler=None):
    server = FastAgiServer()
    seen: list[dict[str, str]] = []

    async def script(request):
        seen.append(dict(request.headers))
        result = await request.send_command('SET VARIABLE CENTRALINO_OPEN "1"')
        seen.append({"result": str(result)})

    server.route("service-open", handler or script)
    port = await server.start("127.0.0.1", 0)
    return server, port, seen


async def test_given_asterisk_request_then_script_runs_and_sets_variable():
    server, port, seen = await _start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\nagi_network_script: service-open\n"
                     b"agi_arg_1: apiae\n\n")
        await writer.drain()
        command = await asyncio.wait_for(reader.readline(), 2)
        assert command == b'SET VARIABLE CENTRALINO_OPEN "1"\n'
        writer.write(b"200 result=1\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""  # server closed the session
        writer.close()
    finally:
        await server.close()
    assert seen[0]["agi_arg_1"] == "apiae"
    assert "'status_code': 200" in seen[1]["result"]


async def test_given_client_that_closes_at_once_then_server_does_not_spin():
    server, port, _ = await _start()
    try:
        cpu_before = time.process_time()
        for _ in range(20):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"agi_network: yes\n")  # headers never finished
            writer.close()
        await asyncio.sleep(0.3)
        assert time.process_time() - cpu_before < 0.5
    finally:
        await server.close()


async def test_given_oversized_or_unknown_request_then_connection_closed():
    server, port, seen = await _start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x" * 70000 + b"\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network_script: ../../etc/passwd\n\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""
    finally:
        await server.close()
    assert seen == []
