"""The wallboard's SLA block and half-hour chart, built from tallies, no I/O.

:mod:`centralino.web.wallboard_feed` reads the tallies (today per half-hour, and
this month before today, which changes rarely and is kept); the functions here
turn them into Tm, P and Q against the targets with their bars' geometry, and
into today's calls per half-hour as bar heights, so the page's template and
its script only draw what they are given and every number can be tested with
tables of cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from centralino.sla.figures import Tally, Targets, figures

#: Chart geometry (SVG user units): one column per half-hour.
CHART_COLUMN = 14
CHART_HEIGHT = 120
#: Room under the bars for the hour labels.
CHART_LABELS = 16


@dataclass(frozen=True)
class Gauge:
    """One figure against its target, with the bar chart's geometry (0–100 % wide)."""

    label: str
    value: float | None
    target: float
    unit: str
    met: bool | None
    #: "≤" when lower is better (Tm, P), "≥" when higher is (Q).
    comparison: str
    bar_pct: float
    target_pct: float

    @property
    def shown(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value:.1f} {self.unit}".strip()

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "shown": self.shown, "met": self.met,
                "target": self.target, "unit": self.unit, "comparison": self.comparison,
                "bar_pct": round(self.bar_pct, 2), "target_pct": round(self.target_pct, 2)}


def gauge(label: str, value: float | None, target: float, unit: str, met: bool | None,
          comparison: str, scale: float | None = None) -> Gauge:
    top = scale or max(target * 1.5, value or 0.0, 1e-9)
    return Gauge(label, value, target, unit, met, comparison,
                 bar_pct=min(100.0, (value or 0.0) / top * 100), target_pct=target / top * 100)


@dataclass(frozen=True)
class ServiceSlaCard:
    service: str
    slug: str
    #: "today" or "month".
    period: str
    answered: int
    abandoned: int
    gauges: tuple[Gauge, ...]

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "slug": self.slug, "period": self.period,
                "answered": self.answered, "abandoned": self.abandoned,
                "gauges": [g.as_json() for g in self.gauges]}


def card(service: str, slug: str, period: str, tally: Tally, targets: Targets) -> ServiceSlaCard:
    """Tm, P and Q of ``tally`` against ``targets``, as the wallboard shows them."""
    f = figures(tally, targets)
    return ServiceSlaCard(
        service=service, slug=slug, period=period,
        answered=tally.answered, abandoned=tally.abandoned,
        gauges=(gauge("Tm", f.tm_seconds, targets.answer_seconds, "s", f.tm_met, "≤"),
                gauge("P", f.abandoned_pct, targets.abandoned_pct, "%", f.abandoned_met, "≤"),
                gauge("Q", f.resolved_pct, targets.resolved_pct, "%", f.resolved_met, "≥",
                      scale=100.0)))


def sum_tallies(tallies: Iterable[Tally | None]) -> Tally:
    """A new tally holding all of ``tallies`` (None: no calls), leaving them unchanged."""
    total = Tally()
    for tally in tallies:
        if tally is not None:
            total.add(tally)
    return total


@dataclass(frozen=True)
class HalfHour:
    """One column of the chart: a local half-hour and its calls, as bar heights."""

    label: str  # local start, "HH:MM"
    answered: int
    abandoned: int
    x: int
    answered_height: float
    abandoned_height: float

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "answered": self.answered, "abandoned": self.abandoned,
                "x": self.x, "answered_height": self.answered_height,
                "abandoned_height": self.abandoned_height}


@dataclass(frozen=True)
class CallsChart:
    """Today's answered and abandoned calls per half-hour, stacked (abandoned on top)."""

    columns: tuple[HalfHour, ...]
    #: Calls the full height stands for (at least 1, so an empty day draws flat).
    top: int
    width: int
    height: int = CHART_HEIGHT

    @property
    def answered(self) -> int:
        return sum(c.answered for c in self.columns)

    @property
    def abandoned(self) -> int:
        return sum(c.abandoned for c in self.columns)

    def as_json(self) -> dict[str, Any]:
        return {"top": self.top, "width": self.width, "height": self.height,
                "answered": self.answered, "abandoned": self.abandoned,
                "columns": [c.as_json() for c in self.columns]}


def half_hour_chart(slots: Iterable[tuple[str, int, int]]) -> CallsChart:
    """``slots``: (local "HH:MM", answered, abandoned) for each half-hour of the day, in
    order (46, 48 or 50 of them: the DST days have one hour less or more)."""
    slots = list(slots)
    top = max([answered + abandoned for _l, answered, abandoned in slots] + [1])
    scale = CHART_HEIGHT / top
    columns = tuple(HalfHour(
        label=label, answered=answered, abandoned=abandoned, x=i * CHART_COLUMN,
        answered_height=round(answered * scale, 1), abandoned_height=round(abandoned * scale, 1))
        for i, (label, answered, abandoned) in enumerate(slots))
    return CallsChart(columns=columns, top=top, width=max(1, len(columns)) * CHART_COLUMN)
