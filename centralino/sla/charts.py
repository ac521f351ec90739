"""Native Excel charts of one service's SLA (openpyxl): trends with targets, half-hours, waits.

Each chart reads a small table written on the same sheet, so whoever opens the
workbook sees (and can re-plot) the numbers behind every line.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from centralino.sla.figures import SlaFigures, Tally
from centralino.sla.query import SlaRow


def _table(sheet: Worksheet, top: int, header: list[str],
           lines: list[list[object]]) -> tuple[int, int]:
    """Write a table at row ``top``; return its first and last data rows."""
    sheet.cell(row=top, column=1)
    for col, name in enumerate(header, start=1):
        sheet.cell(row=top, column=col, value=name)
    for offset, line in enumerate(lines, start=1):
        for col, value in enumerate(line, start=1):
            sheet.cell(row=top + offset, column=col, value=value)
    return top + 1, top + max(1, len(lines))


def _line_with_target(sheet: Worksheet, title: str, unit: str, first: int, last: int,
                      value_col: int, anchor: str) -> None:
    chart = LineChart()
    chart.title, chart.y_axis.title, chart.height, chart.width = title, unit, 7, 16
    chart.add_data(Reference(sheet, min_col=value_col, max_col=value_col + 1,
                             min_row=first - 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
    chart.series[1].graphicalProperties.line.dashStyle = "dash"  # the target
    chart.series[1].graphicalProperties.line.solidFill = "C00000"
    sheet.add_chart(chart, anchor)


def _by_time_of_day(rows: list[SlaRow]) -> list[tuple[str, SlaFigures]]:
    from centralino.sla.formats import merged_by_time_of_day

    days = {r.period.start.date() for r in rows}
    if len(days) > 1:
        return merged_by_time_of_day(rows)
    return [(r.period.start.strftime("%H:%M"), r.figures) for r in rows]


def add_service_charts(book: Workbook, slug: str, rows: list[SlaRow], trend: list[SlaRow],
                       halfhours: list[SlaRow]) -> Worksheet:
    """A sheet named after the service with its tables and charts."""
    sheet = book.create_sheet(slug[:31])
    targets = (trend or rows)[0].figures.targets if (trend or rows) else None
    if targets is None:
        return sheet
    first, last = _table(sheet, 1, ["periodo", "Tm (s)", "obiettivo Tm (s)", "P (%)",
                                    "obiettivo P (%)", "Q (%)", "obiettivo Q (%)"], [
        [r.period.label, r.figures.tm_seconds, targets.answer_seconds,
         r.figures.abandoned_pct, targets.abandoned_pct, r.figures.resolved_pct,
         targets.resolved_pct] for r in trend])
    _line_with_target(sheet, "Tempo medio di risposta (Tm)", "secondi", first, last, 2, "I1")
    _line_with_target(sheet, "Chiamate abbandonate (P)", "%", first, last, 4, "I16")
    _line_with_target(sheet, "Chiamate risolte (Q)", "%", first, last, 6, "I31")

    top = last + 3
    half = _by_time_of_day(halfhours)
    h_first, h_last = _table(sheet, top, ["mezz'ora", "P (%)", "obiettivo P (%)",
                                          "abbandonate", "risposte"], [
        [label, f.abandoned_pct, targets.abandoned_pct, f.tally.abandoned, f.tally.answered]
        for label, f in half])
    bars = BarChart()
    bars.title, bars.y_axis.title, bars.height, bars.width = (
        "Abbandoni per mezz'ora", "%", 7, 16)
    bars.add_data(Reference(sheet, min_col=2, min_row=h_first - 1, max_row=h_last),
                  titles_from_data=True)
    bars.set_categories(Reference(sheet, min_col=1, min_row=h_first, max_row=h_last))
    target = LineChart()
    target.add_data(Reference(sheet, min_col=3, min_row=h_first - 1, max_row=h_last),
                    titles_from_data=True)
    target.series[0].graphicalProperties.line.solidFill = "C00000"
    bars += target
    sheet.add_chart(bars, "I46")

    total = Tally()
    for r in rows:
        total.add(r.figures.tally)
    top = h_last + 3
    d_first, d_last = _table(sheet, top, ["attesa (s)", "risposte"],
                             [[k, v] for k, v in total.answer_time_distribution().items()])
    waits = BarChart()
    waits.title, waits.y_axis.title, waits.height, waits.width = (
        f"Distribuzione dei tempi di risposta (obiettivo Tm {targets.answer_seconds:g} s)",
        "chiamate", 7, 16)
    waits.add_data(Reference(sheet, min_col=2, min_row=d_first - 1, max_row=d_last),
                   titles_from_data=True)
    waits.set_categories(Reference(sheet, min_col=1, min_row=d_first, max_row=d_last))
    sheet.add_chart(waits, "I61")
    return sheet
