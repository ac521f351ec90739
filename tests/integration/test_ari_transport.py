"""Against the real Asterisk 22: the calls' requests travel over the event WebSocket."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Plane, did_uri, eventually
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk


async def _true(value: bool) -> bool:
    return value


async def test_given_a_call_then_every_request_it_causes_goes_over_the_websocket(
        plane: Plane, carrier: SipUA):
    ari = plane.running.control_plane.ari
    # Asterisk 22.10 answers RESTRequest frames: the client finds out right after connecting.
    await eventually(lambda: _true(ari.over_websocket), 5, "requests over the WebSocket")
    over_http, over_websocket = ari.requests_over_http, ari.requests_over_websocket
    service = await plane.service("uru")
    call = await carrier.call(did_uri(plane.settings, "0461800133"), from_user="0461777001")
    await call.wait_state("CONFIRMED", timeout=5)
    await eventually(lambda: _true(plane.heard(service.sounds["welcome"])), 5, "the welcome")
    await call.hangup()
    record = await plane.ended_record("0461777001")

    assert record.pbx_answered_at is not None and record.outcome == "hangup_before_queue"
    assert ari.requests_over_websocket - over_websocket >= 2  # the answer and the welcome
    assert ari.requests_over_http == over_http
