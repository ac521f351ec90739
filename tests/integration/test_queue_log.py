"""The queue_log over real SIP: what a reporting tool reading it would find about real calls.

The suite's control planes all write ``state_dir/queue_log`` (the default), so each
test reads the lines of its own calls (by call id) and of its own agent.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from ari_app.clock import ShiftedClock
from models import Call
from tests.integration import test_queue
from tests.integration.conftest import IN_HOURS, Plane, did_uri, eventually, running_plane
from tests.integration.test_cli import run_cli
from tests.integration.test_queue import ADL, team
from tests.support.sipua import SipUA

pytestmark = pytest.mark.asterisk

#: Agenzia del Lavoro's queue with 1 ring and 1 s wrap-up, as in test_queue.
quick_queue = test_queue.quick_queue
QUEUE = "agenzia-lavoro"


def all_lines(path: Path) -> list[list[str]]:
    return [line.split("|") for line in path.read_text().splitlines()] if path.exists() else []


def lines_of(path: Path, key: str, since: int = 0) -> list[list[str]]:
    """The queue_log lines from line ``since`` whose call id or agent is ``key``, split."""
    return [row for row in all_lines(path)[since:] if key in (row[1], row[3])]


async def lines_until(path: Path, key: str, last_event: str) -> list[list[str]]:
    async def probe() -> list[list[str]] | None:
        rows = lines_of(path, key)
        return rows if rows and rows[-1][4] == last_event else None

    return await eventually(probe, 10, f"{last_event} of {key} in {path}")


async def agent_cli(plane: Plane, *args: str):
    """`centralino agent ...` in its own process, on the plane's database and state dir."""
    env = {"CENTRALINO_STATE_DIR": str(plane.settings.state_dir),
           "CENTRALINO_DATABASE_URL": plane.settings.database_url,
           "CENTRALINO_INSTANCE": plane.settings.instance}
    return await asyncio.to_thread(run_cli, "agent", *args, env=env)


def epoch(moment) -> int:
    return int(moment.timestamp())


def near(value: str, seconds: float) -> bool:
    return abs(int(value) - seconds) <= 1


async def test_given_an_answered_and_an_abandoned_call_then_queue_log_tells_both_in_order(
        plane: Plane, carrier: SipUA, quick_queue):
    path = plane.settings.queue_log_path
    assert path is not None
    before = len(all_lines(path))  # the same agent's lines of the other database's run
    await quick_queue(rings_per_agent=4)  # time to let it ring a while
    async with team(plane.settings, plane.sessions, ["qlanna"]) as agents:
        # Answered: the agent lets it ring 2 s, the caller hangs up after a while.
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461700001")
        await call.wait_state("CONFIRMED", timeout=5)
        ringing = await agents.phones.wait_incoming_call(timeout=10, account="qlanna")
        await ringing.ring()
        await asyncio.sleep(2)
        await ringing.answer()
        await plane.record_in_state("0461700001", "connected")
        await asyncio.sleep(2)
        await call.hangup()
        answered: Call = await plane.ended_record("0461700001")
        await agents.wait_state("qlanna", "available", timeout=10)

        # Abandoned: the only agent paused (`centralino agent pause`), the caller gives up.
        paused = await agent_cli(plane, "pause", "qlanna", "--reason", "riunione")
        assert paused.returncode == 0, paused.stderr
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461700002")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461700002", "queued")
        await asyncio.sleep(3)
        await call.hangup()
        abandoned: Call = await plane.ended_record("0461700002")
        resumed = await agent_cli(plane, "resume", "qlanna")
        assert resumed.returncode == 0, resumed.stderr

    one = await lines_until(path, answered.id, "COMPLETECALLER")
    assert [row[4] for row in one] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert all(row[2] == QUEUE for row in one)
    enter, connect, complete = one
    assert enter[0] == str(epoch(answered.queue_entered_at))
    assert enter[3] == "NONE" and enter[5:] == ["", "0461700001", "1"]
    hold = (answered.answered_at - answered.queue_entered_at).total_seconds()
    assert connect[3] == "Agent/qlanna" and near(connect[5], hold) and int(connect[5]) >= 2
    assert connect[6] == f"{answered.id}-a1"  # the agent leg's channel id
    assert near(connect[7], 2)  # ring time
    talk = (answered.ended_at - answered.answered_at).total_seconds()
    assert complete[3] == "Agent/qlanna"
    assert near(complete[5], hold) and near(complete[6], talk) and complete[7] == "1"
    assert near(complete[0], epoch(answered.ended_at))

    two = await lines_until(path, abandoned.id, "ABANDON")
    assert [row[4] for row in two] == ["ENTERQUEUE", "ABANDON"]
    wait = (abandoned.ended_at - abandoned.queue_entered_at).total_seconds()
    assert two[1][2] == QUEUE and two[1][5:7] == ["1", "1"] and near(two[1][7], wait)
    assert 2 <= int(two[1][7]) <= 4

    pauses = [row for row in lines_of(path, "Agent/qlanna", before)
              if row[4] in ("PAUSE", "UNPAUSE")]
    assert [(row[2], row[4], row[5]) for row in pauses] == [
        (QUEUE, "PAUSE", "riunione"), (QUEUE, "UNPAUSE", "")]
    # The file's order is the calls' order.
    ids = [row[1] for row in all_lines(path) if row[1] in (answered.id, abandoned.id)]
    assert ids == [answered.id] * 3 + [abandoned.id] * 2


async def test_given_wait_limit_passes_then_exit_with_timeout_after_the_limit(
        plane: Plane, carrier: SipUA, quick_queue):
    path = plane.settings.queue_log_path
    assert path is not None
    await quick_queue(wait_limit_seconds=2)
    async with team(plane.settings, plane.sessions, ["qlcarla"]) as agents:
        paused = await agent_cli(plane, "pause", "qlcarla", "--reason", "pranzo")
        assert paused.returncode == 0, paused.stderr
        call = await carrier.call(did_uri(plane.settings, ADL), from_user="0461700004")
        await call.wait_state("CONFIRMED", timeout=5)
        await plane.record_in_state("0461700004", "voicemail", timeout=15)
        await call.hangup()
        record: Call = await plane.ended_record("0461700004")
        assert agents.names == ["qlcarla"]
    # Dated by the calls' clock, as the rest: the wait is the limit, not nonsense.
    enter, timeout = await lines_until(path, record.id, "EXITWITHTIMEOUT")
    assert enter[4] == "ENTERQUEUE" and timeout[2] == QUEUE and timeout[3] == "NONE"
    assert timeout[5:7] == ["1", "1"] and near(timeout[7], 2)
    assert near(timeout[0], int(enter[0]) + 2)
    await asyncio.sleep(0.5)
    assert [row[4] for row in lines_of(path, record.id)] == ["ENTERQUEUE", "EXITWITHTIMEOUT"]


async def test_given_queue_log_cannot_be_written_then_logged_once_and_the_call_completes(
        plane_database, asterisk, carrier: SipUA, tmp_path, caplog):
    settings, sessions = plane_database
    blocked = tmp_path / "queue_log"
    blocked.mkdir()  # a directory where the file should be: every append fails
    settings = settings.with_overrides(queue_log=str(blocked))
    async with team(settings, sessions, ["qlbruno"]) as agents, running_plane(
            settings, sessions, asterisk, ShiftedClock(IN_HOURS)) as plane:
        with caplog.at_level(logging.ERROR, logger="ari_app.reporting.queue_log_file"):
            call = await carrier.call(did_uri(settings, ADL), from_user="0461700003")
            await call.wait_state("CONFIRMED", timeout=5)
            ringing = await agents.phones.wait_incoming_call(timeout=10, account="qlbruno")
            await ringing.answer()
            await plane.record_in_state("0461700003", "connected")
            await asyncio.sleep(0.5)
            await ringing.hangup()
            await call.wait_disconnected(timeout=5)
            record = await plane.ended_record("0461700003")
            recorder = plane.running.control_plane.queue_log
            assert recorder is not None
            await recorder.flush()
        # The seeded queue's 10-second wrap-up, then a margin for a loaded machine.
        await agents.wait_state("qlbruno", "available", timeout=15)
    assert record.outcome == "answered" and record.hung_up_by == "agent"
    errors = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(errors) == 1 and str(blocked) in errors[0]
    assert recorder.dropped >= 3 and recorder.written == 0
