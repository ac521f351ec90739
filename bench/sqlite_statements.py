"""CPU of a call's record writes and the plane's frequent reads on SQLite, two ways.

On an SQLite file the control plane runs its writes and frequent reads in a
thread of its own on a plain connection (``ari_app/sqlite_thread.py``); the
other way is through aiosqlite, as the web pages do. This drives the real
:class:`~ari_app.records.CallRecords` and :class:`~ari_app.agent_book.AgentBook`
the same way both ways, each write awaited (a transaction per write, as at a
low call rate) or all posted at once (``--batched``: as under load), and prints
the process's CPU time (all threads) per call::

    .venv/bin/python bench/sqlite_statements.py --calls 300
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ari_app.agent_book import AgentBook
from ari_app.outage import WriteBehind
from ari_app.records import CallRecords
from centralino.config import Settings
from centralino.runtime import prepare_database

#: One call's record as the flows write it: arrival, eight changes, the end.
UPDATES = ({"pbx_answered_at": "now"}, {"flow_state": "welcome"}, {"flow_state": "menu"},
           {"ivr_path": "1", "topic": "cps"}, {"queue_entered_at": "now"},
           {"flow_state": "queued"}, {"answered_at": "now", "agent_id": None},
           {"flow_state": "talking"})


async def one_way(folder: Path, calls: int, batched: bool, own_thread: bool) -> float:
    settings = Settings(state_dir=folder, database_url="")
    engine, sessions = await prepare_database(settings)
    writes = WriteBehind(sessions, sqlite_thread=own_thread)
    records, agents = CallRecords(sessions, writes), AgentBook(sessions, writes)
    started = time.process_time()
    for number in range(calls):
        call_id, now = f"bench-{own_thread}-{number}", datetime.now(UTC)
        await records.arrived(call_id=call_id, channel_id=call_id, service_id=1, did="800",
                              caller_number="0461000000", caller_name="", at=now,
                              in_hours=True)
        for fields in UPDATES:
            await records.update(call_id, **{k: (now if v == "now" else v)
                                             for k, v in fields.items()})
            if not batched:
                await writes.flush()
        await agents.roster()
        agents.forget_roster()
        await records.ended(call_id, at=now, hung_up_by="caller", cause=16,
                            outcome="answered")
    await writes.flush()
    spent = time.process_time() - started
    await writes.close()
    await engine.dispose()
    return spent / calls * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batched", action="store_true",
                        help="post a call's writes without waiting for each")
    args = parser.parse_args()
    print(f"{args.calls} calls, each: 10 record writes "
          f"({'posted together' if args.batched else 'a transaction each'}) "
          "and one read of every agent")
    for own_thread, label in ((False, "through aiosqlite"), (True, "in the plane's thread")):
        with tempfile.TemporaryDirectory() as folder:
            cost = await one_way(Path(folder), args.calls, args.batched, own_thread)
        print(f"  {label:24} {cost:6.2f} ms CPU per call")


if __name__ == "__main__":
    asyncio.run(main())
