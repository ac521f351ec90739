"""The queue_log file behind the write-behind: every write reaches it, errors never stop calls.

The database is a SQLite file (as in test_journal) with the queue ``uru`` and the
agent ``anna``; the records and agent book are the real ones.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from ari_app.reporting.queue_log_file import QueueLogRecorder
from models import Call
from tests.unit import test_journal
from tests.unit.test_journal import T0, Database, Plane, rows

#: The journal tests' SQLite database, as a fixture of this module too.
database = test_journal.database
E = int(T0.timestamp())


async def a_call_answered_step_by_step(plane: Plane, call_id: str = "call-1") -> None:
    """The writes of a call answered by anna, each applied before the next (as in life)."""
    records, agents, at = plane.records, plane.agents, lambda s: T0 + timedelta(seconds=s)
    await records.arrived(call_id=call_id, channel_id=f"chan-{call_id}", service_id=1,
                          did="0461800133", caller_number="0461000200", caller_name="",
                          at=at(0), in_hours=None)
    await records.update(call_id, queue_entered_at=at(5), queue_id=1, flow_state="queued")
    await plane.writes.flush()
    await agents.offer_started(call_id, 1, f"{call_id}-a1", at(6))
    await plane.writes.flush()
    await agents.offer_ended(f"{call_id}-a1", at(8), "answered")
    await records.update(call_id, answered_at=at(8), agent_id=1, queue_exit="answered",
                         flow_state="connected")
    await plane.writes.flush()
    await records.ended(call_id, at=at(60), hung_up_by="caller", cause=16, outcome="answered")


EXPECTED = [f"{E + 5}|call-1|uru|NONE|ENTERQUEUE||0461000200|1",
            f"{E + 8}|call-1|uru|Agent/anna|CONNECT|3|call-1-a1|2",
            f"{E + 60}|call-1|uru|Agent/anna|COMPLETECALLER|3|52|1"]


def listening(plane: Plane, database: Database, path: Path) -> QueueLogRecorder:
    recorder = QueueLogRecorder(path, database)
    plane.writes.listen(recorder)
    return recorder


async def test_given_a_queue_log_when_a_call_is_answered_then_its_lines_name_queue_and_agent(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl")
    recorder = listening(plane, database, tmp_path / "queue_log")
    await a_call_answered_step_by_step(plane)
    await recorder.close()
    assert (tmp_path / "queue_log").read_text().splitlines() == EXPECTED
    await plane.writes.close()


async def test_given_database_away_then_journaled_writes_make_their_lines_too(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl", retry_first=60)
    recorder = listening(plane, database, tmp_path / "queue_log")
    await recorder._names("calls.update", {"fields": {"queue_id": 1}})  # known before
    await recorder._names("agents.offer_started", {"agent_id": 1})
    database.away = True
    await a_call_answered_step_by_step(plane)
    await recorder.close()
    assert (tmp_path / "queue_log").read_text().splitlines() == EXPECTED
    await plane.writes.close()


async def test_given_queue_log_not_writable_then_logged_once_and_the_calls_are_recorded(
        database, tmp_path, caplog):
    blocked = tmp_path / "queue_log"
    blocked.mkdir()  # a directory where the file should be: every write fails
    plane = Plane(database, tmp_path / "j.jsonl")
    recorder = listening(plane, database, blocked)
    with caplog.at_level(logging.ERROR, logger="ari_app.reporting.queue_log_file"):
        await a_call_answered_step_by_step(plane, "call-1")
        await recorder.flush()
        await a_call_answered_step_by_step(plane, "call-2")
        await recorder.close()
    assert [c.id for c in await rows(database, Call)] == ["call-1", "call-2"]
    assert all(c.outcome == "answered" for c in await rows(database, Call))
    errors = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(errors) == 1 and str(blocked) in errors[0]
    assert recorder.dropped == 6 and recorder.written == 0
    await plane.writes.close()


async def test_given_the_roster_knows_the_agent_then_a_ring_reads_no_name_from_the_database(
        database, tmp_path):
    plane = Plane(database, tmp_path / "j.jsonl")
    await plane.agents.roster()  # what the dispatcher reads before it offers a call
    recorder = QueueLogRecorder(tmp_path / "queue_log", database,
                                known_username=plane.agents.known_username)
    plane.writes.listen(recorder)
    reads: list[str] = []
    read = recorder._read

    async def counted(fetch):
        reads.append(getattr(fetch, "__name__", "?"))
        return await read(fetch)

    recorder._read = counted  # type: ignore[method-assign]
    await a_call_answered_step_by_step(plane)
    await recorder.close()
    assert (tmp_path / "queue_log").read_text().splitlines() == EXPECTED
    assert reads == ["_queue_slugs"]  # the queue's name once; anna's from the roster
    await plane.writes.close()
