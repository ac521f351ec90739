"""The nightly SLA export: files, a real SMTP server in the test, once per day, retries."""

from __future__ import annotations

import email
import io
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select

from centralino.sla.export import (
    last_due_day,
    missed_days,
    nightly,
    run_export,
    run_with_retries,
    start_nightly_exports,
)
from centralino.sla.figures import CallFacts
from models import SlaExportRun
from tests.integration.sla.conftest import insert_calls, new_service

ROME = ZoneInfo("Europe/Rome")
DAY = date(2027, 3, 9)   # a Tuesday
NOW = datetime(2027, 3, 10, 2, 0, tzinfo=ROME)


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd names it
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def exporting(sla_database, tmp_path: Path):
    """A service with calls on DAY and earlier in its month; no export recorded yet."""
    settings, sessions = sla_database
    async with sessions() as session:
        await session.execute(delete(SlaExportRun))
        await session.commit()
    service = await new_service(sessions)
    calls = []
    for day, wait in ((1, 4.0), (DAY.day, 20.0), (DAY.day, 8.0)):
        at = datetime(2027, 3, day, 10, 5, tzinfo=ROME)
        calls.append(CallFacts(arrived_at=at, in_hours=True, outcome="answered",
                               queue_entered_at=at, queue_exit="answered",
                               answered_at=at + timedelta(seconds=wait),
                               ended_at=at + timedelta(seconds=wait + 100)))
    at = datetime(2027, 3, DAY.day, 10, 40, tzinfo=ROME)
    calls.append(CallFacts(arrived_at=at, in_hours=True, outcome="abandoned",
                           queue_entered_at=at, queue_exit="abandoned",
                           ended_at=at + timedelta(seconds=45)))
    await insert_calls(sessions, service.id, calls)
    settings = settings.with_overrides(sla_export_dir=str(tmp_path / "exports"),
                                       smtp_host="", sla_export_recipients=(),
                                       sla_export_cron="0 2 * * *",
                                       smtp_starttls=False, sla_export_retries=2,
                                       sla_export_retry_seconds=0.01)
    return settings, sessions, service


def with_mail(settings, port: int):
    return settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port,
                                   sla_export_recipients=("sla@provincia.tn.it",))


def attachment(message: Message, name: str) -> bytes:
    for part in message.walk():
        if part.get_filename() == name:
            return part.get_payload(decode=True)
    raise AssertionError(f"no attachment {name}; got "
                         f"{[p.get_filename() for p in message.walk() if p.get_filename()]}")


async def test_given_a_day_of_calls_when_exported_then_mailed_once_with_figures_and_charts(
        exporting, smtp) -> None:
    settings, sessions, service = exporting
    inbox, port = smtp
    settings = with_mail(settings, port)

    assert await run_export(sessions, settings, DAY, lambda: NOW) == "sent"
    assert await run_export(sessions, settings, DAY, lambda: NOW) == "done before"

    (message,) = inbox.messages
    assert message["To"] == "sla@provincia.tn.it"
    assert "2027-03-09" in message["Subject"]
    book = openpyxl.load_workbook(io.BytesIO(
        attachment(message, f"sla-{service.slug}-2027-03-09.xlsx")))
    sheet = book["SLA"]
    header = [c.value for c in sheet[1]]
    yesterday, month = (dict(zip(header, [c.value for c in row], strict=True))
                        for row in sheet.iter_rows(min_row=2))
    assert (yesterday["period"], yesterday["answered"], yesterday["abandoned"]) == (
        "2027-03-09", 2, 1)
    assert yesterday["tm_seconds"] == 14.0                  # (20 + 8) / 2
    assert yesterday["abandoned_pct"] == pytest.approx(33.33)
    assert (month["period"], month["answered"], month["tm_seconds"]) == ("2027-03", 3, 10.667)
    charts = book[service.slug[:31]]._charts
    assert len(charts) == 5   # Tm, P, Q with targets; abandons by half-hour; answer times
    csv_text = attachment(message, f"sla-{service.slug}-2027-03-09.csv").decode()
    assert csv_text.splitlines()[0].startswith("service,service_name,by,period")
    assert (Path(settings.sla_export_dir) / f"sla-{service.slug}-2027-03-09.xlsx").exists()


async def test_given_smtp_down_then_failure_recorded_and_a_retry_sends_once(
        exporting) -> None:
    settings, sessions, _service = exporting
    port = free_port()   # nothing listens here yet
    settings = with_mail(settings, port)
    with pytest.raises(OSError):
        await run_export(sessions, settings, DAY, lambda: NOW)
    async with sessions() as session:
        run = await session.scalar(select(SlaExportRun).where(SlaExportRun.day == DAY))
        assert (run.status, run.attempts) == ("failed", 1)
        assert "Connection refused" in run.error or "ConnectionRefused" in run.error

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await run_with_retries(sessions, settings, DAY, lambda: NOW) == "sent"
        assert await run_with_retries(sessions, settings, DAY, lambda: NOW) == "done before"
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    async with sessions() as session:
        run = await session.scalar(select(SlaExportRun).where(SlaExportRun.day == DAY))
        assert (run.status, run.attempts) == ("sent", 2)


async def test_given_retries_exhausted_then_given_up_and_logged(exporting, caplog) -> None:
    settings, sessions, _service = exporting
    settings = with_mail(settings, free_port())
    assert await run_with_retries(sessions, settings, DAY, lambda: NOW) == "failed"
    assert "given up" in caplog.text
    async with sessions() as session:
        run = await session.scalar(select(SlaExportRun).where(SlaExportRun.day == DAY))
        assert (run.status, run.attempts) == ("failed", 3)


async def test_given_the_process_was_down_at_2am_then_start_catches_up_the_missed_days(
        exporting, smtp) -> None:
    settings, sessions, _service = exporting
    inbox, port = smtp
    settings = with_mail(settings, port)
    # The export of 7 March was sent; the process was down on the nights of 9 and 10 March.
    async with sessions() as session:
        session.add(SlaExportRun(day=date(2027, 3, 7), status="sent", attempts=1,
                                 started_at=NOW - timedelta(days=2), files="", error=""))
        await session.commit()
    later = datetime(2027, 3, 10, 9, 0, tzinfo=ROME)
    assert await missed_days(sessions, settings, later) == [date(2027, 3, 8), DAY]
    await nightly(sessions, settings, lambda: later)
    assert sorted(m["Subject"][-10:] for m in inbox.messages) == ["2027-03-08", "2027-03-09"]
    await nightly(sessions, settings, lambda: later)   # started again: nothing more
    assert len(inbox.messages) == 2


def test_given_the_default_cron_then_the_due_day_follows_2am_rome(test_settings) -> None:
    settings = test_settings.with_overrides(sla_export_cron="0 2 * * *")
    assert last_due_day(settings, datetime(2027, 3, 10, 1, 59, tzinfo=ROME)) == date(2027, 3, 8)
    assert last_due_day(settings, datetime(2027, 3, 10, 2, 0, tzinfo=ROME)) == date(2027, 3, 9)
    # The night DST starts (28 March 2027): 02:00 does not exist, the run still happens.
    assert last_due_day(settings, datetime(2027, 3, 28, 9, 0, tzinfo=ROME)) == date(2027, 3, 27)


async def test_given_the_control_plane_starts_then_the_export_is_scheduled_at_2am(
        exporting) -> None:
    settings, sessions, _service = exporting
    scheduler = start_nightly_exports(settings.with_overrides(sla_export_cron="0 2 * * *"),
                                      sessions, lambda: NOW)
    assert scheduler is not None
    try:
        job = scheduler.get_job("sla-export")
        next_run = job.next_run_time.astimezone(ROME)
        assert (next_run.hour, next_run.minute) == (2, 0)
        assert next_run > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=False)
    assert start_nightly_exports(settings.with_overrides(sla_export_cron=""), sessions,
                                 lambda: NOW) is None
