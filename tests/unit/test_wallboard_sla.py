"""The wallboard's SLA cards and half-hour chart from tallies (pure, no I/O)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from centralino.sla.figures import US, Tally, Targets
from centralino.sla.periods import periods
from centralino.web.wallboard_sla import CHART_HEIGHT, card, half_hour_chart, sum_tallies

ROME = ZoneInfo("Europe/Rome")


def tally(answered: int = 0, abandoned: int = 0, wait_s: float = 0.0,
          resolved: int | None = None) -> Tally:
    return Tally(calls=answered + abandoned, answered=answered, abandoned=abandoned,
                 tm_us=int(wait_s * US) * answered, tm_calls=answered,
                 resolved=answered if resolved is None else resolved)


@pytest.mark.parametrize(("counts", "shown", "met"), [
    (tally(), ("—", "—", "—"), (None, None, None)),
    (tally(answered=4, wait_s=10), ("10.0 s", "0.0 %", "100.0 %"), (True, True, True)),
    (tally(answered=3, abandoned=1, wait_s=20, resolved=2),
     ("20.0 s", "25.0 %", "66.7 %"), (False, False, False)),
], ids=["no-calls", "all-met", "all-missed"])
def test_card_shows_tm_p_q_against_targets(counts: Tally, shown: tuple, met: tuple):
    c = card("URP", "urp", "today", counts, Targets())
    assert tuple(g.shown for g in c.gauges) == shown
    assert tuple(g.met for g in c.gauges) == met
    assert all(0 <= g.bar_pct <= 100 for g in c.gauges)


def test_month_is_earlier_days_plus_today_and_leaves_them_unchanged():
    before, today = tally(answered=2, wait_s=4), tally(answered=1, abandoned=1, wait_s=10)
    month = sum_tallies([before, None, today])
    assert (month.answered, month.abandoned, month.tm_us) == (3, 1, 18 * US)
    assert before.answered == 2 and today.answered == 1


@pytest.mark.parametrize(("day", "columns", "last"), [
    (date(2026, 12, 1), 48, "23:30"),
    (date(2026, 3, 29), 46, "23:30"),   # spring forward: no 02:00-03:00
    (date(2026, 10, 25), 50, "23:30"),  # fall back: 02:00 and 02:30 twice
], ids=["plain-day", "spring-dst", "autumn-dst"])
def test_chart_has_one_column_per_local_half_hour(day: date, columns: int, last: str):
    slots = periods(day, day, "halfhour", ROME)
    chart = half_hour_chart((p.start.strftime("%H:%M"), 0, 0) for p in slots)
    assert len(chart.columns) == columns and chart.columns[-1].label == last
    assert chart.top == 1 and chart.answered == chart.abandoned == 0


def test_chart_scales_the_busiest_half_hour_to_full_height_abandoned_stacked_on_top():
    chart = half_hour_chart([("09:00", 3, 1), ("09:30", 1, 0), ("10:00", 0, 0)])
    busiest, quiet, empty = chart.columns
    assert chart.top == 4 and (chart.answered, chart.abandoned) == (4, 1)
    assert busiest.answered_height + busiest.abandoned_height == CHART_HEIGHT
    assert quiet.answered_height == CHART_HEIGHT / 4 and quiet.abandoned_height == 0
    assert empty.answered_height == empty.abandoned_height == 0
    assert [c.x for c in chart.columns] == [0, 14, 28]
