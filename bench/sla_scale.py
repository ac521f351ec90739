"""How long the SLA figures take at scale: 10 million calls on PostgreSQL, a year on SQLite.

    .venv/bin/python bench/sla_scale.py                    # 10,000,000 calls; a few minutes
    .venv/bin/python bench/sla_scale.py --calls 1000000    # quicker

PostgreSQL: creates its own database on the server of ``--postgres`` (default
the development machine's, trust auth), runs the migrations and the seed, loads
``--calls`` records over 2026 for every service with COPY (asyncpg), rebuilds
the indexes, ANALYZEs, then times ``sla_report`` — SQL aggregation plus
Python finishing, what `centralino sla` and the API run — for one month and
for the year, all services. SQLite: the tender's volume (87,000 calls a year)
in a file, timed for the year by month and by day. Each figure is the best of
``--repeat`` runs (first run included in the JSON). The database is dropped
at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from centralino.config import load_settings
from centralino.runtime import prepare_database
from centralino.sla.query import sla_report
from models import Agent, Call, Service
from models.db import create_engine, session_factory

ROME = ZoneInfo("Europe/Rome")
YEAR = 2026
COLUMNS = ("id", "service_id", "did", "caller_number", "caller_name", "channel_id",
           "arrived_at", "queue_entered_at", "queue_exit", "answered_at", "transferred_at",
           "ended_at", "ivr_path", "in_hours", "flow_state", "overflow", "outcome",
           "agent_id", "resolution", "notes")


def days_of_year() -> list[tuple[datetime, bool]]:
    """Each local day of the year: its midnight in UTC, and whether it is a weekday."""
    result, day = [], date(YEAR, 1, 1)
    while day.year == YEAR:
        midnight = datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)
        result.append((midnight, day.weekday() < 5))
        day += timedelta(days=1)
    return result


def call_rows(count: int, services: list[int], agents: dict[int, list[int]],
              seed: int = 1) -> Iterator[tuple]:
    """Plausible records: 85% in the window (Mon–Fri 08–17), the tender's mix of outcomes."""
    rng = random.Random(seed)
    days = days_of_year()
    weekdays = [d for d in days if d[1]]
    s = timedelta(seconds=1)
    for n in range(count):
        service = services[n % len(services)]
        if rng.random() < 0.85:
            midnight, weekday = rng.choice(weekdays)
            second = rng.randrange(8 * 3600, 17 * 3600)
        else:
            midnight, weekday = rng.choice(days)
            second = rng.randrange(86_400)
        in_hours = weekday and 8 * 3600 <= second < 17 * 3600
        arrived = midnight + s * second + timedelta(microseconds=rng.randrange(1_000_000))
        entered = answered = ended = transferred = None
        queue_exit = agent = resolution = None
        overflow = rng.random() < 0.03
        roll = rng.random()
        if not in_hours:
            outcome = "out_of_hours"
            ended = arrived + s * rng.randrange(10, 90)
        elif roll < 0.05:
            outcome, ended = "ivr_only", arrived + s * 40
        elif roll < 0.09:
            outcome, ended = "hangup_before_queue", arrived + s * 8
        else:
            entered = arrived + s * rng.randrange(15, 35)
            wait = s * rng.expovariate(1 / 12) + timedelta(microseconds=rng.randrange(10**6))
            if roll < 0.84:
                outcome, queue_exit = "answered", "answered"
                answered = entered + wait
                ended = answered + s * rng.randrange(30, 600)
                agent = rng.choice(agents[service])
                if rng.random() < 0.15:
                    transferred, resolution = answered + s * 60, "escalated"
            elif roll < 0.95:
                queue_exit = "abandoned"
                ended = entered + wait
                outcome = "abandoned" if wait > s * 10 else "abandoned_short"
            else:
                outcome, queue_exit = "voicemail", "timeout"
                ended = entered + s * 330
        yield (f"b{n:011d}", service, "800264760", "0461000000", "", f"b{n:011d}", arrived,
               entered, queue_exit, answered, transferred, ended, "", in_hours, "ended",
               overflow, outcome, agent, resolution, "")


async def setup(url: str) -> tuple[list[int], dict[int, list[int]]]:
    """Migrated, seeded database with ten agents per service; returns their ids."""
    settings = load_settings(None, {"CENTRALINO_DATABASE_URL": url,
                                    "CENTRALINO_STATE_DIR": tempfile.mkdtemp()},
                             default_file=None)
    engine, sessions = await prepare_database(settings)
    try:
        async with sessions() as session:
            services = list((await session.scalars(select(Service.id).order_by(Service.id)))
                            .all())
            agents: dict[int, list[int]] = {}
            for service in services:
                made = [Agent(username=f"b{service}x{i}", sip_ha1="0" * 32) for i in range(10)]
                session.add_all(made)
                await session.flush()
                agents[service] = [a.id for a in made]
            await session.commit()
    finally:
        await engine.dispose()
    return services, agents


async def best_of(repeat: int, work: Callable[[], Awaitable[object]]) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "first_s": round(times[0], 3)}


async def postgres(admin_url: str, calls: int, repeat: int) -> dict[str, object]:
    name = f"centralino_sla_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        services, agents = await setup(url)
        conn = await asyncpg.connect(url)
        try:
            # COPY into bare tables, then build the indexes once: much faster.
            await conn.execute("DROP INDEX ix_calls_channel_id")
            await conn.execute("DROP INDEX ix_calls_service_arrived")
            started = time.perf_counter()
            rows = call_rows(calls, services, agents)
            loaded = 0
            while loaded < calls:
                chunk = [next(rows) for _ in range(min(200_000, calls - loaded))]
                await conn.copy_records_to_table("calls", records=chunk, columns=COLUMNS)
                loaded += len(chunk)
                print(f"  loaded {loaded:,} calls", file=sys.stderr, end="\r")
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            await conn.execute("CREATE INDEX ix_calls_channel_id ON calls (channel_id)")
            await conn.execute(
                "CREATE INDEX ix_calls_service_arrived ON calls (service_id, arrived_at)")
            await conn.execute("ANALYZE calls")
            index_s = time.perf_counter() - started
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        print(f"\n  COPY {load_s:.0f} s, indexes + ANALYZE {index_s:.0f} s", file=sys.stderr)
        engine = create_engine("postgresql+asyncpg://" + url.split("://", 1)[1])
        sessions = session_factory(engine)
        try:
            month = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 3, 1), date(YEAR, 3, 31), "month"))
            year = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 1, 1), date(YEAR, 12, 31), "month"))
            year_by_day = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 1, 1), date(YEAR, 12, 31), "day"))
            rows_year = await sla_report(sessions, "all", date(YEAR, 1, 1),
                                         date(YEAR, 12, 31), "month")
        finally:
            await engine.dispose()
        return {"postgresql": version, "calls": calls, "copy_s": round(load_s, 1),
                "index_analyze_s": round(index_s, 1), "month_all_services": month,
                "year_all_services_by_month": year, "year_all_services_by_day": year_by_day,
                "calls_counted_year": sum(r.figures.tally.calls for r in rows_year)}
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def sqlite(calls: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/centralino.db"
        services, agents = await setup(url)
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/centralino.db")
        sessions = session_factory(engine)
        try:
            async with sessions() as session:
                records = [dict(zip(COLUMNS, row, strict=True))
                           for row in call_rows(calls, services, agents)]
                await session.execute(insert(Call), records)
                await session.commit()
            year = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 1, 1), date(YEAR, 12, 31), "month"))
            year_by_day = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 1, 1), date(YEAR, 12, 31), "day"))
            month = await best_of(repeat, lambda: sla_report(
                sessions, "all", date(YEAR, 3, 1), date(YEAR, 3, 31), "month"))
        finally:
            await engine.dispose()
    return {"calls": calls, "year_all_services_by_month": year,
            "year_all_services_by_day": year_by_day, "month_all_services": month}


def git_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--sqlite-calls", type=int, default=87_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    commit = git_commit()
    result = {"commit": commit, "machine": platform.processor() or platform.machine(),
              "date": datetime.now(UTC).isoformat(timespec="seconds")}
    print("SQLite: loading the tender's volume...", file=sys.stderr)
    result["sqlite"] = await sqlite(args.sqlite_calls, args.repeat)
    print(json.dumps(result["sqlite"]), file=sys.stderr)
    print(f"PostgreSQL: loading {args.calls:,} calls...", file=sys.stderr)
    result["postgresql"] = await postgres(args.postgres, args.calls, args.repeat)
    out = Path(__file__).parent / "results" / \
        f"sla_scale-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
