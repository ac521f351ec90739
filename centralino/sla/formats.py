"""The SLA report written out: stable JSON (docs/sla.md), a table, CSV, and XLSX with charts.

The JSON object of one service and period is the reference; CSV and XLSX hold
the same fields flattened, so a spreadsheet and the API never disagree.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from centralino.sla.figures import Readings, SlaFigures, Tally
from centralino.sla.query import SlaRow

FORMATS = ("table", "json", "csv", "xlsx")
#: Counts copied from the tally into each object, in this order.
COUNTS = ("calls", "out_of_hours", "in_window", "offered", "answered", "abandoned",
          "abandoned_short", "system_exits", "voicemail", "ivr_only", "hangup_before_queue",
          "office_answered", "failed", "overflow", "resolved", "escalated")


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def row_object(row: SlaRow) -> dict[str, Any]:
    """One service over one period, as documented in docs/sla.md (numbers as numbers)."""
    f, t = row.figures, row.figures.targets
    return {
        "service": row.service.slug,
        "service_name": row.service.name,
        "by": row.by,
        "period": row.period.label,
        "from": row.period.start.isoformat(),
        "to": row.period.end.isoformat(),
        **{name: getattr(f.tally, name) for name in COUNTS},
        "tm_seconds": _r(f.tm_seconds, 3),
        "abandoned_pct": _r(f.abandoned_pct, 2),
        "resolved_pct": _r(f.resolved_pct, 2),
        "service_level_pct": _r(f.service_level_pct, 2),
        "service_level_seconds": t.service_level_seconds,
        "longest_wait_seconds": _r(f.longest_wait_seconds, 3),
        "average_talk_seconds": _r(f.average_talk_seconds, 3),
        "answer_time_distribution": f.tally.answer_time_distribution(),
        "targets": {"tm_seconds": t.answer_seconds, "abandoned_pct": t.abandoned_pct,
                    "resolved_pct": t.resolved_pct,
                    "abandon_threshold_seconds": t.abandon_threshold_seconds},
        "met": {"tm": f.tm_met, "abandoned": f.abandoned_met, "resolved": f.resolved_met},
        "agents": [{**asdict(a),
                    "average_wait_seconds": _r(a.average_wait_seconds, 3),
                    "average_talk_seconds": _r(a.average_talk_seconds, 3),
                    "resolved_pct": _r(a.resolved_pct, 2)} for a in f.agents],
    }


def report_object(rows: list[SlaRow], readings: Readings) -> dict[str, Any]:
    return {"readings": asdict(readings), "figures": [row_object(r) for r in rows]}


def to_json(rows: list[SlaRow], readings: Readings) -> str:
    return json.dumps(report_object(rows, readings), ensure_ascii=False, indent=2) + "\n"


def flat(row: SlaRow) -> dict[str, Any]:
    """The JSON object without nesting (agents left out): one CSV or spreadsheet row."""
    obj = row_object(row)
    obj.pop("agents")
    result: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            prefix = {"answer_time_distribution": "answered_in_"}.get(key, f"{key}_")
            result.update({f"{prefix}{k}": v for k, v in value.items()})
        else:
            result[key] = value
    return result


def to_csv(rows: list[SlaRow]) -> str:
    out = io.StringIO()
    flats = [flat(r) for r in rows]
    if flats:
        writer = csv.DictWriter(out, fieldnames=list(flats[0]), lineterminator="\n")
        writer.writeheader()
        for item in flats:
            writer.writerow({k: "" if v is None else v for k, v in item.items()})
    return out.getvalue()


def _cell(value: float | bool | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def _mark(met: bool | None) -> str:
    return {True: "ok", False: "NO", None: ""}[met]


def to_table(rows: list[SlaRow]) -> str:
    """A terminal table: Tm, P, Q with whether each target is met, and the main counts."""
    header = (f"{'service':24} {'period':22} {'offered':>7} {'answ':>6} {'aband':>5} "
              f"{'short':>5} {'Tm s':>6} {'':2} {'P %':>6} {'':2} {'Q %':>6} {'':2} "
              f"{'SL %':>6} {'max s':>6}")
    lines = [header]
    for row in rows:
        f, t = row.figures, row.figures.tally
        lines.append(
            f"{row.service.slug:24} {row.period.label:22} {t.offered:7} {t.answered:6} "
            f"{t.abandoned:5} {t.abandoned_short:5} {_cell(f.tm_seconds):>6} "
            f"{_mark(f.tm_met):2} {_cell(f.abandoned_pct, digits=2):>6} "
            f"{_mark(f.abandoned_met):2} {_cell(f.resolved_pct):>6} {_mark(f.resolved_met):2} "
            f"{_cell(f.service_level_pct):>6} {_cell(f.longest_wait_seconds, digits=0):>6}")
    return "\n".join(lines) + "\n"


def merged_by_time_of_day(rows: list[SlaRow]) -> list[tuple[str, SlaFigures]]:
    """Half-hour rows of several days added up per local time of day ("08:30")."""
    from centralino.sla.figures import figures

    tallies: dict[str, Tally] = {}
    targets = {}
    for row in rows:
        key = row.period.start.strftime("%H:%M")
        tallies.setdefault(key, Tally()).add(row.figures.tally)
        targets[key] = row.figures.targets
    return [(key, figures(tallies[key], targets[key])) for key in sorted(tallies)]


def write_xlsx(path: Path, rows: list[SlaRow], *, trend: list[SlaRow] | None = None,
               halfhours: list[SlaRow] | None = None, title: str = "SLA") -> None:
    """A workbook: the figures, per-agent figures, and one sheet of charts per service.

    Charts are native Excel charts (openpyxl): Tm, P and Q per period of ``trend``
    with their targets drawn as lines, abandonment by half-hour with its target,
    and the answer-time distribution of ``rows``.
    """
    from openpyxl import Workbook

    from centralino.sla.charts import add_service_charts

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    flats = [flat(r) for r in rows]
    if flats:
        sheet.append(list(flats[0]))
        for item in flats:
            sheet.append(list(item.values()))
    agents = book.create_sheet("agenti")
    agents.append(["service", "period", "agent", "answered", "average_wait_seconds",
                   "average_talk_seconds", "resolved", "escalated", "resolved_pct"])
    for r in rows:
        for a in r.figures.agents:
            agents.append([r.service.slug, r.period.label, a.agent, a.answered,
                           _r(a.average_wait_seconds, 3), _r(a.average_talk_seconds, 3),
                           a.resolved, a.escalated, _r(a.resolved_pct, 2)])
    for slug in dict.fromkeys(r.service.slug for r in rows):
        add_service_charts(
            book, slug, [r for r in rows if r.service.slug == slug],
            [r for r in (trend if trend is not None else rows) if r.service.slug == slug],
            [r for r in (halfhours or []) if r.service.slug == slug])
    book.save(path)
