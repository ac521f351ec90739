"""``centralino sla``: the tender's SLA figures per service and period, in four formats."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import click

from centralino.config import Settings
from centralino.errors import CentralinoError
from centralino.sla.figures import Readings
from centralino.sla.formats import FORMATS, to_csv, to_json, to_table, write_xlsx
from centralino.sla.periods import PERIOD_KINDS
from centralino.sla.query import SlaRow, sla_report


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CentralinoError(f"{option} {value[:20]!r} is not a date: use YYYY-MM-DD") from None


def check_writable(path: Path) -> None:
    """Refuse before the (possibly long) query, rather than lose its result."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CentralinoError(f"--out {path} is a directory: name a file")
    if not parent.is_dir():
        raise CentralinoError(f"--out {path}: directory {parent} does not exist")
    existed = path.exists()
    try:  # try it: permission bits say nothing for root or on read-only file systems
        with path.open("ab"):
            pass
    except OSError as exc:
        raise CentralinoError(f"--out {path}: not writable ({exc.strerror})") from None
    if not existed:
        path.unlink(missing_ok=True)


def fetch(settings: Settings, service: str, first: date, last: date, by: str,
          readings: Readings) -> list[SlaRow]:
    """Run the report on a migrated database, with no statement time limit (years of calls)."""
    from centralino.runtime import prepare_database
    from models.db import create_engine, session_factory

    async def go() -> list[SlaRow]:
        engine, _sessions = await prepare_database(settings)
        await engine.dispose()
        engine = create_engine(settings.effective_database_url)
        try:
            return await sla_report(session_factory(engine), service, first, last, by,
                                    readings)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@click.command("sla")
@click.option("--service", "service", default="all", show_default=True,
              help="service slug, or all")
@click.option("--from", "first", required=True, help="first day, YYYY-MM-DD (local)")
@click.option("--to", "last", required=True, help="last day, YYYY-MM-DD (included)")
@click.option("--by", type=click.Choice(PERIOD_KINDS), default="month", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write to this file (required for xlsx)")
@click.option("--abandon-at-threshold", is_flag=True,
              help="a hang-up at exactly the threshold (10 s) is an abandon (default: short)")
@click.option("--system-exits-apart", is_flag=True,
              help="queue timeouts to voicemail are not abandons (default: they are)")
@click.option("--tm-counts-abandoned", is_flag=True,
              help="Tm also averages the waits of abandoned calls (default: answered only)")
@click.option("--strict-resolution", is_flag=True,
              help="only calls marked resolved count in Q (default: all not escalated)")
@click.pass_context
def sla(ctx: click.Context, service: str, first: str, last: str, by: str, fmt: str,
        out: Path | None, abandon_at_threshold: bool, system_exits_apart: bool,
        tm_counts_abandoned: bool, strict_resolution: bool) -> None:
    """The tender's SLA figures (Tm, P, Q and the rest) per service and period."""
    start, end = parse_day(first, "--from"), parse_day(last, "--to")
    if end < start:
        raise CentralinoError(f"--to {end} is before --from {start}")
    if fmt == "xlsx" and out is None:
        raise CentralinoError("--format xlsx needs --out FILE")
    if out is not None:
        check_writable(out)
    readings = Readings(abandon_at_threshold=abandon_at_threshold,
                        system_exits_abandoned=not system_exits_apart,
                        tm_counts_abandoned=tm_counts_abandoned,
                        unset_resolution_resolved=not strict_resolution)
    rows = fetch(ctx.obj["settings"], service, start, end, by, readings)
    try:
        if fmt == "xlsx":
            assert out is not None
            write_xlsx(out, rows, halfhours=rows if by == "halfhour" else None)
            click.echo(f"wrote {len(rows)} periods to {out}")
            return
        text = {"json": lambda: to_json(rows, readings), "csv": lambda: to_csv(rows),
                "table": lambda: to_table(rows)}[fmt]()
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            click.echo(f"wrote {len(rows)} periods to {out}")
    except OSError as exc:
        raise CentralinoError(f"cannot write {out}: {exc.strerror}") from None
