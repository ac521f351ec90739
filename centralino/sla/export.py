"""The nightly SLA export: yesterday and month to date, per service, as CSV and XLSX, mailed.

Each day's export is a row of ``sla_export_runs``, claimed by a compare-and-set
update, so a second run (another process, a restart, a catch-up) sends nothing
twice; a day whose run failed is tried again, and a day missed while the
process was down is caught up at start. Delivery is at least once: if the
database cannot record a sent mail, the next try sends it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import Clock
from centralino.config import Settings
from centralino.sla import mailer
from centralino.sla.formats import to_csv, to_table, write_xlsx
from centralino.sla.query import ALL, SlaRow, sla_report
from models import SlaExportRun

log = logging.getLogger(__name__)
#: A run still "running" after this long died with its process: it may be taken over.
STALE_AFTER = timedelta(minutes=30)
#: Catch-up goes back at most this many days.
CATCH_UP_DAYS = 31


@dataclass(frozen=True)
class ServiceExport:
    slug: str
    day: list[SlaRow]
    month: list[SlaRow]
    trend: list[SlaRow]
    halfhours: list[SlaRow]


async def collect(sessions: async_sessionmaker, day: date) -> list[ServiceExport]:
    """Every service's figures for ``day`` and for its month up to ``day``."""
    first = day.replace(day=1)
    day_rows = await sla_report(sessions, ALL, day, day, "day")
    month_rows = await sla_report(sessions, ALL, first, day, "month")
    trend_rows = await sla_report(sessions, ALL, first, day, "day")
    half_rows = await sla_report(sessions, ALL, day, day, "halfhour")
    slugs = list(dict.fromkeys(r.service.slug for r in month_rows))

    def of(rows: list[SlaRow], slug: str) -> list[SlaRow]:
        return [r for r in rows if r.service.slug == slug]

    return [ServiceExport(s, of(day_rows, s), of(month_rows, s), of(trend_rows, s),
                          of(half_rows, s)) for s in slugs]


def write_files(folder: Path, day: date, exports: list[ServiceExport]) -> list[Path]:
    """Two files per service: ``sla-SLUG-DAY.csv`` and ``.xlsx`` (yesterday, month to date)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for item in exports:
        rows = [*item.day, *item.month]
        csv_path = folder / f"sla-{item.slug}-{day.isoformat()}.csv"
        csv_path.write_text(to_csv(rows), encoding="utf-8")
        xlsx_path = folder / f"sla-{item.slug}-{day.isoformat()}.xlsx"
        write_xlsx(xlsx_path, rows, trend=item.trend, halfhours=item.halfhours)
        written += [csv_path, xlsx_path]
    return written


async def _claim(sessions: async_sessionmaker, day: date, now: datetime) -> bool:
    """Take the day's run for this process; False if it is done or another has it."""
    async with sessions() as session:
        run = await session.scalar(select(SlaExportRun).where(SlaExportRun.day == day))
        if run is None:
            session.add(SlaExportRun(day=day, status="running", attempts=1, started_at=now,
                                     files="", error=""))
            try:
                await session.commit()
            except IntegrityError:
                return False
            return True
        stale = run.status == "running" and run.started_at < now - STALE_AFTER
        if run.status != "failed" and not stale:
            return False
        claimed = await session.execute(
            update(SlaExportRun).where(SlaExportRun.id == run.id,
                                       SlaExportRun.status == run.status,
                                       SlaExportRun.attempts == run.attempts)
            .values(status="running", attempts=run.attempts + 1, started_at=now))
        await session.commit()
        return claimed.rowcount == 1


async def _finish(sessions: async_sessionmaker, day: date, **values: object) -> None:
    async with sessions() as session:
        await session.execute(update(SlaExportRun).where(SlaExportRun.day == day)
                              .values(**values))
        await session.commit()


async def run_export(sessions: async_sessionmaker, settings: Settings, day: date,
                     clock: Clock) -> str:
    """Export ``day`` once: "sent", "written" (no mail configured) or "done before".

    Raises on failure, after recording it; the run can then be tried again.
    """
    if not await _claim(sessions, day, clock()):
        return "done before"
    try:
        exports = await collect(sessions, day)
        files = await asyncio.to_thread(write_files, settings.sla_export_path, day, exports)
        await _finish(sessions, day, status="written", files="\n".join(map(str, files)),
                      finished_at=clock(), error="")
        if not mailer.mail_configured(settings):
            log.info("SLA export of %s written to %s (no mail configured)", day,
                     settings.sla_export_path)
            return "written"
        body = to_table([r for e in exports for r in (*e.day, *e.month)])
        message = await asyncio.to_thread(
            mailer.build_message, settings, f"Centralino: SLA del {day.isoformat()}",
            f"Livelli di servizio del {day.isoformat()} e del mese fino a quel giorno.\n\n"
            f"{body}", files)
        await mailer.send(settings, message)
    except Exception as exc:
        await _finish(sessions, day, status="failed", finished_at=clock(),
                      error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    await _finish(sessions, day, status="sent", sent_at=clock())
    log.info("SLA export of %s sent to %s", day, ", ".join(settings.sla_export_recipients))
    return "sent"


async def run_with_retries(sessions: async_sessionmaker, settings: Settings, day: date,
                           clock: Clock) -> str:
    """``run_export``, tried again after a failure (``sla_export_retries`` times)."""
    for attempt in range(settings.sla_export_retries + 1):
        try:
            return await run_export(sessions, settings, day, clock)
        except Exception as exc:
            log.warning("SLA export of %s failed (attempt %d of %d): %s", day, attempt + 1,
                        settings.sla_export_retries + 1, exc)
            if attempt == settings.sla_export_retries:
                log.error("SLA export of %s given up; it will be tried at the next start",
                          day)
                return "failed"
            await asyncio.sleep(settings.sla_export_retry_seconds)
    return "failed"  # pragma: no cover


def trigger(settings: Settings) -> CronTrigger:
    return CronTrigger.from_crontab(settings.sla_export_cron,
                                    timezone=ZoneInfo(settings.timezone))


def last_due_day(settings: Settings, now: datetime) -> date:
    """The day the latest scheduled run at or before ``now`` should have exported."""
    cron = trigger(settings)
    fire = cron.get_next_fire_time(None, now - timedelta(days=CATCH_UP_DAYS))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = cron.get_next_fire_time(fire, fire + timedelta(seconds=1))
    zone = ZoneInfo(settings.timezone)
    when = (last or now).astimezone(zone)
    return when.date() - timedelta(days=1)


async def missed_days(sessions: async_sessionmaker, settings: Settings,
                      now: datetime) -> list[date]:
    """Days whose export never completed, since the last completed one (at most a month)."""
    due = last_due_day(settings, now)
    async with sessions() as session:
        done = set((await session.scalars(select(SlaExportRun.day).where(
            SlaExportRun.status.in_(("sent", "written")),
            SlaExportRun.day > due - timedelta(days=CATCH_UP_DAYS)))).all())
    since = max(done) + timedelta(days=1) if done else due
    return [since + timedelta(days=n) for n in range((due - since).days + 1)]


async def nightly(sessions: async_sessionmaker, settings: Settings, clock: Clock) -> None:
    """The scheduled job: export every day still due (normally just yesterday)."""
    for day in await missed_days(sessions, settings, clock()):
        await run_with_retries(sessions, settings, day, clock)


def start_nightly_exports(settings: Settings, sessions: async_sessionmaker,
                          clock: Clock) -> AsyncIOScheduler | None:
    """Schedule the export on ``sla_export_cron`` and catch up at once; None if disabled."""
    if not settings.sla_export_cron:
        return None
    scheduler = AsyncIOScheduler(timezone=ZoneInfo(settings.timezone))
    scheduler.add_job(nightly, trigger(settings), args=(sessions, settings, clock),
                      id="sla-export", coalesce=True, max_instances=1,
                      misfire_grace_time=3600)
    scheduler.add_job(nightly, args=(sessions, settings, clock), id="sla-export-catch-up",
                      next_run_time=datetime.now(UTC))
    scheduler.start()
    return scheduler
