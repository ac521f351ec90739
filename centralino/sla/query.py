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
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from centralino.sla.periods import Period, PeriodIndex, periods
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
            return (cast(func.strftime("%s", ts), Integer),
                    cast(func.substr(ts, 21, 6), Integer))
        (ls, lu), (es, eu) = parts(later), parts(earlier)
        return (ls - es) * US + (lu - eu)
    return cast(func.extract("epoch", later - earlier) * US, BigInteger)


def _bucket(ts: ColumnElement, seconds: int, dialect: str) -> ColumnElement[int]:
    if dialect == "sqlite":
        return cast(func.strftime("%s", ts), Integer) / seconds  # integer division
    return cast(func.floor(func.extract("epoch", ts) / seconds), BigInteger)


def _tally_columns(dialect: str, readings: Readings) -> dict[str, ColumnElement]:
    """The SQL twin of ``figures.tally_call``, column by column."""
    window = Call.in_hours == true()
    queued = and_(window, Call.queue_entered_at.is_not(None))
    answered = and_(queued, Call.answered_at.is_not(None))
    wait = _micros(Call.answered_at, Call.queue_entered_at, dialect)
    unanswered = and_(queued, Call.answered_at.is_(None))
    system_exit = and_(unanswered, Call.queue_exit.in_(SYSTEM_EXITS))
    caller_left = and_(unanswered, Call.ended_at.is_not(None), or_(
        Call.queue_exit == "abandoned",
        and_(Call.queue_exit.is_(None), Call.outcome.in_(("abandoned", "abandoned_short")))))
    waited = _micros(Call.ended_at, Call.queue_entered_at, dialect)
    threshold = Service.abandon_threshold_seconds * US
    long_wait = waited >= threshold if readings.abandon_at_threshold else waited > threshold
    long_left = and_(caller_left, long_wait)
    short_left = and_(caller_left, not_(long_wait))
    escalated_if = or_(func.coalesce(Call.resolution, "") == "escalated",
                       Call.transferred_at.is_not(None))
    resolved_if = (or_(Call.resolution == "resolved", Call.resolution.is_(None))
                   if readings.unset_resolution_resolved else Call.resolution == "resolved")
    talked = and_(answered, Call.ended_at.is_not(None))

    def count(condition: ColumnElement) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    def total(*whens: tuple[ColumnElement, ColumnElement]) -> ColumnElement[int]:
        return func.sum(case(*whens, else_=0))

    abandoned = or_(long_left, system_exit) if readings.system_exits_abandoned else long_left
    tm_whens = [(answered, wait)]
    tm_calls = answered
    if readings.tm_counts_abandoned:
        tm_whens.append((long_left, waited))
        tm_calls = or_(answered, long_left)
    outcome_in_window = {name: count(and_(window, Call.outcome == name)) for name in (
        "voicemail", "ivr_only", "hangup_before_queue", "office_answered", "failed")}
    return {
        "calls": func.count(),
        "out_of_hours": count(Call.in_hours == false()),
        "in_window": count(window),
        "offered": count(queued),
        "answered": count(answered),
        "abandoned": count(abandoned),
        "abandoned_short": count(short_left),
        "system_exits": count(system_exit),
        **outcome_in_window,
        "overflow": count(and_(window, Call.overflow == true())),
        "resolved": count(and_(answered, not_(escalated_if), resolved_if)),
        "escalated": count(and_(answered, escalated_if)),
        "answered_in_service_level": count(
            and_(answered, wait <= Service.sla_service_level_seconds * US)),
        "wait_us": total((answered, wait)),
        "tm_us": total(*tm_whens),
        "tm_calls": count(tm_calls),
        "longest_wait_us": func.max(case((answered, wait), (caller_left, waited), else_=None)),
        "talk_us": total((talked, _micros(Call.ended_at, Call.answered_at, dialect))),
        "talked": count(talked),
        **{f"answered_within_{bound}s": count(and_(answered, wait <= bound * US))
           for bound in WAIT_CLASSES},
    }


async def tallies(session: AsyncSession, services: list[ServiceSla], index: PeriodIndex,
                  readings: Readings) -> tuple[dict[tuple[int, int], Tally],
                                               dict[tuple[int, int], dict[int, Tally]]]:
    """Counts per (service, period), and per agent id (0: agent since deleted) within them."""
    dialect = session.bind.dialect.name
    columns = _tally_columns(dialect, readings)
    answered = and_(Call.in_hours == true(), Call.queue_entered_at.is_not(None),
                    Call.answered_at.is_not(None))
    bucket = _bucket(Call.arrived_at, index.bucket_seconds, dialect).label("bucket")
    agent_key = case((answered, func.coalesce(Call.agent_id, 0)), else_=None).label("agent")
    query = (select(Call.service_id, bucket, agent_key,
                    *(expr.label(name) for name, expr in columns.items()))
             .join(Service, Service.id == Call.service_id)
             .where(Call.service_id.in_([s.id for s in services]),
                    Call.arrived_at >= index.periods[0].start_utc,
                    Call.arrived_at < index.periods[-1].end_utc)
             .group_by(Call.service_id, bucket, agent_key))
    per_period: dict[tuple[int, int], Tally] = {}
    per_agent: dict[tuple[int, int], dict[int, Tally]] = {}
    for row in (await session.execute(query)).mappings():
        where = index.find_epoch(int(row["bucket"]) * index.bucket_seconds)
        if where is None:  # cannot happen: buckets never straddle the bounds
            continue
        tally = Tally(**{name: (int(row[name]) if row[name] is not None else None)
                         for name in columns})
        per_period.setdefault((row["service_id"], where), Tally()).add(tally)
        if row["agent"] is not None:
            per_agent.setdefault((row["service_id"], where), {}).setdefault(
                int(row["agent"]), Tally()).add(tally)
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
            per_period, per_agent = await tallies(session, members, index, readings)
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
