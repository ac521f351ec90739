"""`centralino sla` as an operator runs it: a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from centralino.sla.figures import CallFacts
from tests.integration.sla.conftest import insert_calls, new_agent, new_service
from tests.integration.test_cli import assert_one_line_error, run_cli

ROME = ZoneInfo("Europe/Rome")


def env_for(settings) -> dict[str, str]:
    return {"CENTRALINO_STATE_DIR": str(settings.state_dir),
            "CENTRALINO_DATABASE_URL": settings.database_url}


async def sla_cli(settings, *args: str):
    return await asyncio.to_thread(run_cli, "sla", *args, env=env_for(settings))


@pytest.fixture
async def december(sla_database):
    """A service with three answered calls and two abandons on 1 and 2 December 2026."""
    settings, sessions = sla_database
    service = await new_service(sessions)
    agent = await new_agent(sessions)
    calls = []
    for day, waits in ((1, (6, 9, 11.5)), (2, (25,))):
        at = datetime(2026, 12, day, 9, 10, tzinfo=ROME)
        for wait in waits:
            entered = at + timedelta(seconds=12)
            calls.append(CallFacts(
                arrived_at=at, in_hours=True, outcome="answered", queue_entered_at=entered,
                queue_exit="answered", answered_at=entered + timedelta(seconds=wait),
                ended_at=entered + timedelta(seconds=wait + 120), agent_id=agent.id))
    entered = datetime(2026, 12, 2, 16, 40, tzinfo=ROME)
    calls.append(CallFacts(arrived_at=entered, in_hours=True, outcome="abandoned",
                           queue_entered_at=entered, queue_exit="abandoned",
                           ended_at=entered + timedelta(seconds=30)))
    calls.append(CallFacts(arrived_at=entered, in_hours=True, outcome="abandoned_short",
                           queue_entered_at=entered, queue_exit="abandoned",
                           ended_at=entered + timedelta(seconds=4)))
    await insert_calls(sessions, service.id, calls)
    return settings, service


async def test_given_december_when_json_then_one_object_per_period_with_the_figures(
        december) -> None:
    settings, service = december
    result = await sla_cli(settings, "--service", service.slug, "--from", "2026-12-01",
                           "--to", "2026-12-31", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["readings"]["abandon_at_threshold"] is False
    (month,) = report["figures"]
    assert (month["service"], month["period"], month["by"]) == (service.slug, "2026-12", "month")
    assert month["from"] == "2026-12-01T00:00:00+01:00"
    assert (month["answered"], month["abandoned"], month["abandoned_short"]) == (4, 1, 1)
    assert month["tm_seconds"] == 12.875           # (6 + 9 + 11.5 + 25) / 4
    assert month["abandoned_pct"] == 20.0          # 1 / (1 + 4)
    assert month["met"] == {"tm": True, "abandoned": False, "resolved": True}
    assert month["answer_time_distribution"]["20-30"] == 1
    assert month["agents"][0]["answered"] == 4


async def test_given_by_day_when_csv_then_one_line_a_day_and_empty_days_blank(
        december) -> None:
    settings, service = december
    result = await sla_cli(settings, "--service", service.slug, "--from", "2026-12-01",
                           "--to", "2026-12-03", "--by", "day", "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [line["period"] for line in lines] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert [line["answered"] for line in lines] == ["3", "1", "0"]
    assert lines[2]["tm_seconds"] == "" and lines[1]["tm_seconds"] == "25.0"


async def test_given_halfhours_when_table_then_only_bins_with_calls(december) -> None:
    settings, service = december
    result = await sla_cli(settings, "--service", service.slug, "--from", "2026-12-02",
                           "--to", "2026-12-02", "--by", "halfhour")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert [r.split()[1] for r in rows] == ["2026-12-02T09:00+01:00", "2026-12-02T16:30+01:00"]


async def test_given_xlsx_then_the_workbook_has_the_figures_and_charts(
        december, tmp_path: Path) -> None:
    settings, service = december
    out = tmp_path / "sla.xlsx"
    result = await sla_cli(settings, "--service", service.slug, "--from", "2026-12-01",
                           "--to", "2026-12-02", "--by", "day", "--format", "xlsx",
                           "--out", str(out))
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(out)
    sheet = book["SLA"]
    header = [c.value for c in sheet[1]]
    day1 = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert (day1["period"], day1["answered"], day1["tm_seconds"]) == ("2026-12-01", 3, 8.833)
    charts = book[service.slug[:31]]._charts
    assert len(charts) == 5


async def test_given_an_unknown_service_then_one_line_exit_2(sla_database) -> None:
    settings, _sessions = sla_database
    result = await sla_cli(settings, "--service", "nessuno", "--from", "2026-12-01",
                           "--to", "2026-12-31")
    assert_one_line_error(result, "no service 'nessuno'")


@pytest.mark.parametrize(("args", "fragment"), [
    (("--from", "2026-13-01", "--to", "2026-12-31"), "--from '2026-13-01' is not a date"),
    (("--from", "2026-12-01", "--to", "ieri"), "--to 'ieri' is not a date"),
    (("--from", "2026-12-31", "--to", "2026-12-01"), "is before --from"),
    (("--from", "2026-12-01", "--to", "2026-12-31", "--out", "/nonexistent/dir/x.json"),
     "does not exist"),
    (("--from", "2026-12-01", "--to", "2026-12-31", "--format", "xlsx"), "needs --out"),
])
def test_given_bad_arguments_then_one_line_exit_2(args: tuple[str, ...], fragment: str,
                                                  tmp_path: Path) -> None:
    result = run_cli("sla", *args, env={"CENTRALINO_STATE_DIR": str(tmp_path)})
    assert_one_line_error(result, fragment)


def test_given_an_unwritable_out_file_then_one_line_exit_2(tmp_path: Path) -> None:
    # Root writes anywhere permissions allow; /proc refuses new files even to root.
    result = run_cli("sla", "--from", "2026-12-01", "--to", "2026-12-31", "--out",
                     "/proc/sla.csv", env={"CENTRALINO_STATE_DIR": str(tmp_path)})
    assert_one_line_error(result, "not writable")
