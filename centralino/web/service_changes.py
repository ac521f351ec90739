"""A service's settings changed from the web: its numbers (DIDs), opening hours and time
zone, options and mailbox, closures; validated, audited, restorable, shared by the page
and the JSON API.

Numbers are checked as strictly as the dialplan needs: they are written into
``extensions.conf`` (:func:`ari_app.sanitize.did_variants`), so only ASCII digits reach
the database. The ``config_version`` triggers (migration 0002) cover services,
service_dids, service_windows and closures, so calls see a change on the next call;
a change of numbers also needs the dialplan rendered again (the callers apply it).
"""

from __future__ import annotations

import re
from datetime import time
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ari_app.sanitize import normalize_did
from centralino import services as service_ops
from centralino.web import audit
from centralino.web.sector_changes import check_mailbox
from centralino.web.validation import NotFound, Refused, clean_label, parse_day
from models import Closure, OfficeLine, Service, ServiceDid, ServiceWindow

MAX_INTERVALS_PER_DAY = 2
MAX_DIDS = 20
WEEKDAY_LABELS = {"0": "Lunedì", "1": "Martedì", "2": "Mercoledì", "3": "Giovedì",
                  "4": "Venerdì", "5": "Sabato", "6": "Domenica"}
OPTIONS = ("not_emergency_notice", "hours_before_queue")
RESTORABLE = ("service_settings", "closure")
#: ``[0-9]``, not ``\d``: Python's ``\d`` also matches Arabic-Indic and fullwidth digits.
_INTERVAL = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


def check_did(raw: str) -> str:
    """A number as the dialplan holds it: 3-15 ASCII digits, national form; spaces, dots,
    dashes and a leading +39/0039 are dropped, as for the seeded numbers (no I/O)."""
    did = normalize_did(raw) if len(raw) <= 40 else None
    if did is None:
        raise Refused("Numero non valido: da 3 a 15 cifre (sono ammessi spazi, punti, "
                      "trattini e il prefisso +39 o 0039).")
    return did


def check_day_windows(raw: str, weekday: int) -> list[tuple[time, time]]:
    """One weekday's opening intervals, "HH:MM-HH:MM, HH:MM-HH:MM"; empty: closed."""
    day = WEEKDAY_LABELS[str(weekday)]
    parts = [p.strip() for p in raw.replace(" - ", "-").split(",")] if raw.strip() else []
    if len(parts) > MAX_INTERVALS_PER_DAY or len(raw) > 100:
        raise Refused(f"{day}: al massimo {MAX_INTERVALS_PER_DAY} fasce orarie.")
    intervals = []
    for part in parts:
        found = _INTERVAL.fullmatch(part)
        if found is None:
            raise Refused(f"{day}: fascia oraria non valida (HH:MM-HH:MM, per esempio "
                          "08:00-12:30).")
        hh1, mm1, hh2, mm2 = (int(g) for g in found.groups())
        opens, closes = time(hh1, mm1), time(hh2, mm2)
        if opens >= closes:
            raise Refused(f"{day}: l'apertura ({part}) deve precedere la chiusura.")
        intervals.append((opens, closes))
    intervals.sort()
    if len(intervals) == 2 and intervals[0][1] > intervals[1][0]:
        raise Refused(f"{day}: le fasce orarie si sovrappongono.")
    return intervals


def check_windows(raw: list[str]) -> dict[int, list[tuple[time, time]]]:
    if len(raw) != 7:
        raise Refused("Orari: una voce per ciascun giorno, da lunedì a domenica.")
    return {weekday: check_day_windows(text, weekday) for weekday, text in enumerate(raw)}


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(raw: str) -> str:
    zone = raw.strip(" ")  # a pasted newline is refused, not silently dropped
    if zone not in _zones():
        raise Refused("Fuso orario sconosciuto (per esempio Europe/Rome).")
    return zone


def _day_text(windows: list[ServiceWindow], weekday: int) -> str:
    return ", ".join(f"{w.opens:%H:%M}-{w.closes:%H:%M}" for w in windows
                     if w.weekday == weekday)


def settings_state(service: Service) -> dict[str, Any]:
    """The settings as the API shows them and the audit log keeps them (the input form)."""
    return {"dids": sorted(d.did for d in service.dids),
            "windows": [_day_text(service.windows, day) for day in range(7)],
            "timezone": service.timezone, "mailbox_email": service.mailbox_email,
            **{name: bool(getattr(service, name)) for name in OPTIONS}}


def check_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """The given settings, checked; what is not given is left as it is."""
    checked: dict[str, Any] = {}
    if raw.get("dids") is not None:
        dids = [check_did(str(d)) for d in raw["dids"]]
        if len(set(dids)) != len(dids):
            raise Refused("Lo stesso numero compare due volte.")
        if len(dids) > MAX_DIDS:
            raise Refused(f"Al massimo {MAX_DIDS} numeri per servizio.")
        checked["dids"] = dids
    if raw.get("windows") is not None:
        checked["windows"] = check_windows([str(w) for w in raw["windows"]])
    if raw.get("timezone") is not None:
        checked["timezone"] = check_timezone(str(raw["timezone"]))
    if "mailbox_email" in raw:
        checked["mailbox_email"] = check_mailbox(str(raw["mailbox_email"] or ""))
    for name in OPTIONS:
        if raw.get(name) is not None:
            checked[name] = bool(raw[name])
    return checked


async def _service(session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(select(Service).where(Service.slug == slug[:64]).options(
        selectinload(Service.dids), selectinload(Service.windows)))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return service


async def _check_free(session: AsyncSession, service: Service, dids: list[str]) -> None:
    """Refuse a number another service (or an office line) already answers."""
    owner = (await session.execute(select(ServiceDid.did, Service.name, Service.slug).join(
        Service, ServiceDid.service_id == Service.id).where(
        ServiceDid.did.in_(dids), Service.id != service.id))).first()
    if owner is not None:
        raise Refused(f"Il numero {owner[0]} è già del servizio «{owner[1]}» ({owner[2]}).")
    office = (await session.execute(select(OfficeLine.number, OfficeLine.name).where(
        OfficeLine.number.in_(dids)))).first()
    if office is not None:
        raise Refused(f"Il numero {office[0]} è la linea dell'ufficio «{office[1]}».")


async def change_settings(sessions: async_sessionmaker, actor: str, slug: str,
                          raw: dict[str, Any], action: str = "service.settings") -> bool:
    """Apply the given settings in one audited transaction; True if the numbers changed
    (then the dialplan must be rendered again)."""
    checked = check_settings(raw)
    async with sessions() as session:
        service = await _service(session, slug)
        before = settings_state(service)
        if "dids" in checked:
            await _check_free(session, service, checked["dids"])
            kept = [d for d in service.dids if d.did in checked["dids"]]
            service.dids = kept + [ServiceDid(did=d) for d in checked["dids"]
                                   if d not in {k.did for k in kept}]
        if "windows" in checked:
            service.windows = [ServiceWindow(weekday=day, opens=opens, closes=closes)
                               for day, intervals in checked["windows"].items()
                               for opens, closes in intervals]
        for name in ("timezone", "mailbox_email", *OPTIONS):
            if name in checked:
                setattr(service, name, checked[name])
        after = settings_state(service)
        if after != before:
            audit.record(session, actor, action, "service_settings", f"{service.slug}/settings",
                         before, after)
        try:
            await session.commit()
        except IntegrityError:  # two admins giving the same number at once
            raise Refused("Numero già usato da un altro servizio.") from None
        return after["dids"] != before["dids"]


async def _dids(sessions: async_sessionmaker, slug: str) -> list[str]:
    async with sessions() as session:
        return settings_state(await _service(session, slug))["dids"]


async def add_did(sessions: async_sessionmaker, actor: str, slug: str, raw: str) -> str:
    did = check_did(raw)
    dids = await _dids(sessions, slug)
    if did in dids:
        raise Refused(f"Il servizio ha già il numero {did}.")
    await change_settings(sessions, actor, slug, {"dids": [*dids, did]}, "service.did.add")
    return did


async def remove_did(sessions: async_sessionmaker, actor: str, slug: str, raw: str) -> int:
    """Take a number off the service; how many it has left (0: no call reaches it)."""
    did = normalize_did(raw)
    dids = await _dids(sessions, slug)
    if did not in dids:
        raise NotFound("Il servizio non ha questo numero.")
    await change_settings(sessions, actor, slug, {"dids": [d for d in dids if d != did]},
                          "service.did.remove")
    return len(dids) - 1


def closure_state(closure: Closure, slug: str | None) -> dict[str, Any]:
    return {"day": closure.day.isoformat(), "reason": closure.reason, "service": slug}


def closure_key(slug: str | None, day: str) -> str:
    return f"{slug or '*'}/closure/{day}"


async def _scope(session: AsyncSession, slug: str | None) -> int | None:
    return None if slug is None else (await _service(session, slug)).id


async def add_closure(sessions: async_sessionmaker, actor: str, slug: str | None,
                      raw_day: str, raw_reason: str, action: str = "closure.add") -> None:
    """Close the service (``slug``) or every service (None) on a day, besides holidays:
    the path ``centralino service close`` takes, audited."""
    day = parse_day(raw_day, "Giorno di chiusura")
    reason = clean_label(raw_reason, "Il motivo") if raw_reason.strip() else ""
    async with sessions() as session:
        closure = await service_ops.close_day(session, day, reason, await _scope(session, slug))
        if closure is None:
            raise Refused(f"Il {day.isoformat()} è già un giorno di chiusura"
                          f"{' di tutti i servizi' if slug is None else ''}.")
        audit.record(session, actor, action, "closure", closure_key(slug, day.isoformat()),
                     None, closure_state(closure, slug))
        await session.commit()


async def delete_closure(sessions: async_sessionmaker, actor: str, slug: str | None,
                         raw_day: str) -> None:
    day = parse_day(raw_day, "Giorno di chiusura")
    async with sessions() as session:
        closure = await service_ops.closure_on(session, day, await _scope(session, slug))
        if closure is None:
            raise NotFound("Chiusura inesistente.")
        audit.record(session, actor, "closure.delete", "closure",
                     closure_key(slug, day.isoformat()), closure_state(closure, slug), None)
        await session.delete(closure)
        await session.commit()


async def closures(sessions: async_sessionmaker, slug: str) -> list[dict[str, Any]]:
    """The service's closures and the all-services ones, by day (``service`` None: all)."""
    async with sessions() as session:
        service = await _service(session, slug)
        rows = await session.scalars(select(Closure).where(
            service_ops.closure_scope(service.id) | service_ops.closure_scope(None))
            .order_by(Closure.day, Closure.id))
        return [closure_state(c, service.slug if c.service_id else None) for c in rows]


async def settings_of(sessions: async_sessionmaker, slug: str) -> dict[str, Any]:
    """Settings and closures, as the JSON API shows them."""
    async with sessions() as session:
        state = settings_state(await _service(session, slug))
    return {**state, "closures": await closures(sessions, slug)}


async def restore(sessions: async_sessionmaker, actor: str, object_type: str, key: str,
                  before: dict[str, Any]) -> None:
    """Put back settings, or a deleted closure, as an audit entry says they were."""
    if object_type == "service_settings":
        await change_settings(sessions, actor, key.partition("/")[0], before, "restore")
        return
    slug = before.get("service")
    await add_closure(sessions, actor, str(slug) if slug else None, str(before.get("day", "")),
                      str(before.get("reason") or ""), "restore")
