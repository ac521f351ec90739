"""SLA figures from the database: the tally of ``figures.py`` aggregated in SQL, per bucket.

The database groups calls by (service, UTC bucket of 1 h — or 30/15 min where the
time zone needs it —, agent who answered) and adds counts and exact microsecond
sums; Python maps each bucket to its local period and finishes the figures. The
same statement runs on SQLite and PostgreSQL: only "microseconds between two
timestamps" and "seconds since the epoch" are written per dialect, exactly
(integers on SQLite, numeric on PostgreSQL), so the 10-second boundary is
decided as in the pure reference.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Subquery

from centralino.errors import CentralinoError
from centralino.sla.figures import (
    DEFAULT_READINGS,
    SYSTEM_EXITS,
    US,
    WAIT_CLASSES,
    AgentFigures,
    Readings,
    SlaFigures,
    Tally,
    Targets,
    agent_figures,
    figures,
)
from centralino.sla.periods import Period, PeriodIndex, offset_changes, periods
from models import Agent, Call, Service

ALL = "all"


@dataclass(frozen=True)
class ServiceSla:
    """A service as the SLA report needs it."""

    id: int
    slug: str
    name: str
    timezone: str
    targets: Targets


@dataclass(frozen=True)
class SlaRow:
    """The figures of one service over one period: one object of the JSON report."""

    service: ServiceSla
    by: str
    period: Period
    figures: SlaFigures


def targets_of(service: Service) -> Targets:
    return Targets(answer_seconds=service.sla_answer_seconds,
                   abandoned_pct=service.sla_abandoned_pct,
                   resolved_pct=service.sla_resolved_pct,
                   service_level_seconds=service.sla_service_level_seconds,
                   abandon_threshold_seconds=service.abandon_threshold_seconds)


async def load_services(session: AsyncSession, slug: str) -> list[ServiceSla]:
    """The service named ``slug``, or all of them for ``all``; unknown names are an error."""
    query = select(Service).order_by(Service.slug)
    if slug != ALL:
        query = query.where(Service.slug == slug)
    found = [ServiceSla(s.id, s.slug, s.name, s.timezone, targets_of(s))
             for s in (await session.scalars(query)).all()]
    if not found:
        known = ", ".join((await session.scalars(select(Service.slug).order_by(Service.slug)))
                          .all())
        raise CentralinoError(f"no service {slug!r}: use one of {known} or 'all'")
    return found


def _micros(later: ColumnElement, earlier: ColumnElement, dialect: str) -> ColumnElement[int]:
    """Exact microseconds from ``earlier`` to ``later``."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds, then the digits.
        def parts(ts: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
            return (_sqlite_seconds(ts), cast(func.substr(ts, 21, 6), Integer))
        (ls, lu), (es, eu) = parts(later), parts(earlier)
        return (ls - es) * US + (lu - eu)
    return cast(func.extract("epoch", later - earlier) * US, BigInteger)


def _epoch(ts: ColumnElement, dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970 (UTC)."""
    if dialect == "sqlite":
        return _sqlite_seconds(ts)
    return cast(func.floor(func.extract("epoch", ts)), BigInteger)


def _sqlite_seconds(ts: ColumnElement) -> ColumnElement[int]:
    """Whole seconds since 1970 of a stored UTC timestamp: ``unixepoch`` where SQLite has
    it (3.38+, several times cheaper per row than ``strftime('%s')``)."""
    if sqlite3.sqlite_version_info >= (3, 38):
        return func.unixepoch(ts)
    return cast(func.strftime("%s", ts), Integer)


def _period_number(index: PeriodIndex, by: str, dialect: str) -> ColumnElement[int]:
    """The index of each call's period, computed by the database from UTC instants.

    Months: a CASE over their (few) UTC starts. Days: local time is UTC plus the
    zone's offset, which changes a couple of times a year (a short CASE), then
    whole days since the first. Half-hours: 30-minute steps of UTC since the first.
    """
    first = index.periods[0]
    arrived = Call.arrived_at
    if by == "month":
        whens = [(arrived >= p.start_utc, i) for i, p in enumerate(index.periods)][1:]
        return case(*reversed(whens), else_=0) if whens else literal_column("0")
    epoch = _epoch(arrived, dialect)
    first_epoch = int(first.start_utc.timestamp())
    if by == "halfhour":
        return (epoch - first_epoch) // 1800
    changes = offset_changes(first.start_utc, index.periods[-1].end_utc, first.start.tzinfo)
    offset: ColumnElement[int] = literal_column(str(changes[-1][1]))
    if len(changes) > 1:
        offset = case(*[(arrived < at, literal_column(str(changes[i][1])))
                        for i, (at, _o) in enumerate(changes[1:])],
                      else_=literal_column(str(changes[-1][1])))
    first_local = first_epoch + changes[0][1]
    return (epoch + offset - first_local) // 86400


def _per_call(services: list[ServiceSla], index: PeriodIndex, by: str,
              dialect: str) -> Subquery:
    """One row per call with its period, its three durations and its flags, computed once."""
    flag = {
        "window": Call.in_hours == true(),
        "night": Call.in_hours == false(),
        "queued": Call.queue_entered_at.is_not(None),
        "answered": Call.answered_at.is_not(None),
        "ended": Call.ended_at.is_not(None),
        "transferred": Call.transferred_at.is_not(None),
        "overflowed": Call.overflow == true(),
    }
    answered = and_(flag["window"], flag["queued"], flag["answered"])
    query = (select(
        Call.service_id, _period_number(index, by, dialect).label("period"),
        case((answered, func.coalesce(Call.agent_id, 0)), else_=None).label("agent"),
        *(case((condition, 1), else_=0).label(name) for name, condition in flag.items()),
        Call.outcome, Call.queue_exit, Call.resolution,
        (Service.abandon_threshold_seconds * US).label("threshold_us"),
        (Service.sla_service_level_seconds * US).label("service_level_us"),
        _micros(Call.answered_at, Call.queue_entered_at, dialect).label("wait"),
        _micros(Call.ended_at, Call.queue_entered_at, dialect).label("waited"),
        _micros(Call.ended_at, Call.answered_at, dialect).label("talk"))
        .join(Service, Service.id == Call.service_id)
        .where(Call.service_id.in_([s.id for s in services]),
               Call.arrived_at >= index.periods[0].start_utc,
               Call.arrived_at < index.periods[-1].end_utc))
    if dialect == "sqlite":
        # A LIMIT keeps SQLite from flattening the subquery into the aggregate, which
        # would parse every timestamp again for each figure that uses a duration.
        query = query.limit(-1)
    return query.subquery("per_call")


def _tally_columns(r: Subquery, readings: Readings) -> dict[str, ColumnElement]:
    """The SQL twin of ``figures.tally_call``, column by column."""
    c = r.c
    window = c.window == 1
    queued = and_(window, c.queued == 1)
    answered = and_(queued, c.answered == 1)
    unanswered = and_(queued, c.answered == 0)
    system_exit = and_(unanswered, c.queue_exit.in_(SYSTEM_EXITS))
    caller_left = and_(unanswered, c.ended == 1, or_(
        c.queue_exit == "abandoned",
        and_(c.queue_exit.is_(None), c.outcome.in_(("abandoned", "abandoned_short")))))
    long_wait = (c.waited >= c.threshold_us if readings.abandon_at_threshold
                 else c.waited > c.threshold_us)
    long_left = and_(caller_left, long_wait)
    short_left = and_(caller_left, not_(long_wait))
    escalated_if = or_(func.coalesce(c.resolution, "") == "escalated", c.transferred == 1)
    resolved_if = (or_(c.resolution == "resolved", c.resolution.is_(None))
                   if readings.unset_resolution_resolved else c.resolution == "resolved")
    talked = and_(answered, c.ended == 1)

    def count(condition: ColumnElement) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    def total(*whens: tuple[ColumnElement, ColumnElement]) -> ColumnElement[int]:
        return func.sum(case(*whens, else_=0))

    abandoned = or_(long_left, system_exit) if readings.system_exits_abandoned else long_left
    tm_whens = [(answered, c.wait)]
    tm_calls = answered
    if readings.tm_counts_abandoned:
        tm_whens.append((long_left, c.waited))
        tm_calls = or_(answered, long_left)
    outcome_in_window = {name: count(and_(window, c.outcome == name)) for name in (
        "voicemail", "ivr_only", "hangup_before_queue", "office_answered", "failed")}
    return {
        "calls": func.count(),
        "out_of_hours": func.sum(c.night),
        "in_window": func.sum(c.window),
        "offered": count(queued),
        "answered": count(answered),
        "abandoned": count(abandoned),
        "abandoned_short": count(short_left),
        "system_exits": count(system_exit),
        **outcome_in_window,
        "overflow": count(and_(window, c.overflowed == 1)),
        "resolved": count(and_(answered, not_(escalated_if), resolved_if)),
        "escalated": count(and_(answered, escalated_if)),
        "answered_in_service_level": count(and_(answered, c.wait <= c.service_level_us)),
        "wait_us": total((answered, c.wait)),
        "tm_us": total(*tm_whens),
        "tm_calls": count(tm_calls),
        "longest_wait_us": func.max(case((answered, c.wait), (caller_left, c.waited),
                                         else_=None)),
        "talk_us": total((talked, c.talk)),
        "talked": count(talked),
        **{f"answered_within_{bound}s": count(and_(answered, c.wait <= bound * US))
           for bound in WAIT_CLASSES},
    }


async def tallies(session: AsyncSession, services: list[ServiceSla], index: PeriodIndex,
                  by: str, readings: Readings
                  ) -> tuple[dict[tuple[int, int], Tally],
                             dict[tuple[int, int], dict[int, Tally]]]:
    """Counts per (service, period index), and per agent id (0: agent since deleted)."""
    dialect = session.bind.dialect.name
    per_call = _per_call(services, index, by, dialect)
    columns = _tally_columns(per_call, readings)
    c = per_call.c
    query = (select(c.service_id, c.period, c.agent,
                    *(expr.label(name) for name, expr in columns.items()))
             .group_by(c.service_id, c.period, c.agent))
    per_period: dict[tuple[int, int], Tally] = {}
    per_agent: dict[tuple[int, int], dict[int, Tally]] = {}
    for row in (await session.execute(query)).all():
        service_id, period, agent, *values = row
        tally = Tally(**{name: int(v) if v is not None else None
                         for name, v in zip(columns, values, strict=True)})
        key = (service_id, int(period))
        per_period.setdefault(key, Tally()).add(tally)
        if agent is not None:
            per_agent.setdefault(key, {})[int(agent)] = tally
    return per_period, per_agent


async def sla_report(sessions: async_sessionmaker, service: str, first: date, last: date,
                     by: str = "month", readings: Readings = DEFAULT_READINGS) -> list[SlaRow]:
    """The figures of ``service`` (a slug or ``all``) per period of ``first``..``last``.

    Month and day periods are all listed, empty ones with None figures; half-hours
    only where a call arrived, as there are 48 a day.
    """
    async with sessions() as session:
        services = await load_services(session, service)
        by_zone: dict[str, list[ServiceSla]] = {}
        for svc in services:
            by_zone.setdefault(svc.timezone, []).append(svc)
        result: dict[int, list[SlaRow]] = {}
        agent_ids: set[int] = set()
        pending: list[tuple[ServiceSla, int, Period, Tally, dict[int, Tally]]] = []
        for zone, members in by_zone.items():
            index = PeriodIndex(periods(first, last, by, ZoneInfo(zone)))
            per_period, per_agent = await tallies(session, members, index, by, readings)
            for svc in members:
                for i, period in enumerate(index.periods):
                    tally = per_period.get((svc.id, i))
                    if tally is None and by == "halfhour":
                        continue
                    agents = per_agent.get((svc.id, i), {})
                    agent_ids.update(agents)
                    pending.append((svc, i, period, tally or Tally(), agents))
        names = dict((await session.execute(
            select(Agent.id, Agent.username).where(Agent.id.in_(agent_ids))
        )).all()) if agent_ids else {}
    for svc, _i, period, tally, agents in pending:
        per_agent_figures: tuple[AgentFigures, ...] = tuple(
            agent_figures(a or None, names.get(a), t) for a, t in sorted(agents.items()))
        row = SlaRow(svc, by, period, figures(tally, svc.targets, per_agent_figures))
        result.setdefault(svc.id, []).append(row)
    return [row for svc in services for row in result.get(svc.id, [])]


def current_range(period: str, now: datetime, zone: ZoneInfo) -> tuple[date, date, str]:
    """Dates and period kind for the live figures: ``today`` or this ``month`` to date."""
    today = now.astimezone(zone).date()
    if period == "today":
        return today, today, "day"
    if period == "month":
        return today.replace(day=1), today, "month"
    if period == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday, "day"
    raise ValueError(f"unknown period {period!r}: use today or month")
