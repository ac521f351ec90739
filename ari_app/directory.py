"""What the call flows need to know about a service, read from the database.

Checked per call, so that an admin's change applies to the next call without a
restart, and read again only when the configuration changed. While the database
is away, the last answer is served (:class:`ari_app.outage.LastGood`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ari_app.hours import ServiceCalendar, Window
from ari_app.outage import LastGood, WriteBehind
from models import Closure, ConfigVersion, Menu, Notice, OfficeLine, Queue, Service

T = TypeVar("T")
#: Menus nest at most this deep (the main menu is level 1); the admin pages refuse more.
MAX_MENU_DEPTH = 4
_VERSION = select(ConfigVersion.version).where(ConfigVersion.id == 1)
#: Says "what you kept still holds" (the counter did not move since it was read).
_KEPT = object()


@dataclass(frozen=True)
class QueueInfo:
    id: int
    slug: str
    name: str
    strategy: str
    rings_per_agent: int
    wait_limit_seconds: int
    wrapup_seconds: int
    announce_position: bool
    announce_every_seconds: int


@dataclass(frozen=True)
class ReferentInfo:
    """An office phone a menu choice rings (see :class:`models.OfficeLine`)."""

    number: str
    endpoint: str
    name: str


@dataclass(frozen=True)
class OptionInfo:
    digit: str
    label: str
    action: str
    queue: QueueInfo | None = None
    skill: str | None = None
    prompt_kind: str | None = None
    transfer_number: str | None = None
    option_id: int | None = None
    #: For "transfer": the office phone, None if its office line is gone.
    referent: ReferentInfo | None = None
    rings: int = 4
    #: For "submenu": the menu it opens, None if missing or past the depth limit.
    submenu: MenuInfo | None = None


@dataclass(frozen=True)
class MenuInfo:
    prompt_kind: str
    timeout_seconds: int
    max_invalid: int
    #: No choice, or too many wrong ones: the menu's own queue, else the service's main one.
    default_queue: QueueInfo
    options: dict[str, OptionInfo]
    menu_id: int | None = None


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    slug: str
    name: str
    calendar: ServiceCalendar
    #: prompt kind → Asterisk sound name (None: not recorded yet)
    sounds: dict[str, str | None] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    menu: MenuInfo | None = None
    hours_before_queue: bool = False
    abandon_threshold_seconds: int = 10
    #: Say after the welcome that this is not an emergency line (112).
    not_emergency_notice: bool = False
    #: Every recorded notice ("avviso"): (sound, valid from, valid until, menu option id).
    notices: tuple[tuple[str, date, date, int | None], ...] = ()

    def notices_on(self, day: date, option_id: int | None = None) -> list[str]:
        """Sound names of the notices valid on ``day`` (for one menu option, if given).

        All notices are kept and filtered here, so a service read yesterday is still
        right today."""
        return [sound for sound, start, end, option in self.notices
                if start <= day <= end
                and (option_id is None or option is None or option == option_id)]

    @property
    def main_queue(self) -> QueueInfo | None:
        """The service's information queue: the one named after it, else the first."""
        return self.queues.get(self.slug) or next(iter(self.queues.values()), None)


def _queue_info(queue: Queue) -> QueueInfo:
    return QueueInfo(
        id=queue.id, slug=queue.slug, name=queue.name, strategy=queue.strategy,
        rings_per_agent=queue.rings_per_agent, wait_limit_seconds=queue.wait_limit_seconds,
        wrapup_seconds=queue.wrapup_seconds, announce_position=queue.announce_position,
        announce_every_seconds=queue.announce_every_seconds,
    )


async def service_calendar(session: AsyncSession, service: Service) -> ServiceCalendar:
    """The service's calendar: its windows (loaded with it), its closures and everyone's."""
    closures = await session.scalars(
        select(Closure.day).where((Closure.service_id == service.id)
                                  | Closure.service_id.is_(None)))
    return ServiceCalendar(
        timezone=service.timezone,
        windows=tuple(Window(w.weekday, w.opens, w.closes) for w in service.windows),
        closures=frozenset(closures.all()),
        mode=service.mode,
        mode_until=service.mode_until,
        mode_since=service.mode_since,
    )


async def _load(session: AsyncSession, condition: Any) -> ServiceInfo | None:
    service = await session.scalar(
        select(Service).where(condition).options(
            selectinload(Service.windows), selectinload(Service.prompts),
            selectinload(Service.queues))
    )
    if service is None:
        return None
    calendar = await service_calendar(session, service)
    queues = {q.slug: _queue_info(q) for q in service.queues}
    by_id = {q.id: q for q in queues.values()}
    main = queues.get(service.slug) or next(iter(queues.values()), None)
    sounds = {p.kind: p.sound for p in service.prompts}
    menu = await _menu_tree(session, service.id, by_id, main, sounds)
    notices = await session.execute(
        select(Notice.sound, Notice.valid_from, Notice.valid_until, Notice.menu_option_id)
        .where(Notice.service_id == service.id, Notice.sound.is_not(None))
        .order_by(Notice.valid_from, Notice.id))
    return ServiceInfo(
        notices=tuple((sound, start, end, option) for sound, start, end, option in notices),
        id=service.id, slug=service.slug, name=service.name, calendar=calendar,
        sounds=sounds, queues=queues, menu=menu,
        hours_before_queue=service.hours_before_queue,
        abandon_threshold_seconds=service.abandon_threshold_seconds,
        not_emergency_notice=service.not_emergency_notice,
    )


async def _menu_tree(session: AsyncSession, service_id: int, by_id: dict[int, QueueInfo],
                     main: QueueInfo | None, sounds: dict[str, str | None]) -> MenuInfo | None:
    """The service's main menu with its submenus, read in two queries.

    A submenu is followed only once on a path and only to :data:`MAX_MENU_DEPTH`, so
    even a table edited by hand into a loop cannot keep a caller in the menus. A
    submenu whose prompt is not recorded yet offers nothing (its caller goes to its
    default queue at once) rather than silence.
    """
    rows = (await session.scalars(select(Menu).where(Menu.service_id == service_id)
                                  .options(selectinload(Menu.options)))).all()
    menus = {m.id: m for m in rows}
    root = next((m for m in rows if m.parent_id is None), None)
    if root is None:
        return None
    numbers = {o.transfer_number for m in rows for o in m.options
               if o.action == "transfer" and o.transfer_number}
    referents: dict[str, ReferentInfo] = {}
    if numbers:
        for line in await session.scalars(select(OfficeLine).where(
                OfficeLine.number.in_(numbers))):
            referents[line.number] = ReferentInfo(line.number, line.endpoint, line.name)

    def build(row: Menu, seen: tuple[int, ...]) -> MenuInfo | None:
        default = by_id.get(row.default_queue_id or -1) or main
        if default is None:
            return None
        options = {}
        for o in row.options if row.parent_id is None or sounds.get(row.prompt_kind) else ():
            submenu = None
            if o.action == "submenu" and o.submenu_id in menus and o.submenu_id not in seen \
                    and len(seen) < MAX_MENU_DEPTH:
                submenu = build(menus[o.submenu_id], (*seen, o.submenu_id))
            options[o.digit] = OptionInfo(
                digit=o.digit, label=o.label, action=o.action,
                queue=by_id.get(o.queue_id or -1), skill=o.skill, prompt_kind=o.prompt_kind,
                transfer_number=o.transfer_number, option_id=o.id,
                referent=referents.get(o.transfer_number or ""), rings=o.rings or 4,
                submenu=submenu)
        return MenuInfo(prompt_kind=row.prompt_kind, timeout_seconds=row.timeout_seconds,
                        max_invalid=row.max_invalid, default_queue=default, options=options,
                        menu_id=row.id)

    return build(root, (root.id,))


@dataclass(frozen=True)
class OfficeLineInfo:
    number: str
    endpoint: str
    rings: int
    service_slug: str
    queue_slug: str | None


class ServiceDirectory:
    """Looks services up by slug or id.

    Answers are kept until the configuration changes: each lookup first reads the
    :class:`~models.ConfigVersion` counter (one row, bumped by database triggers on
    every change to the configuration tables, by whoever makes it), and reads the
    service again only when it moved. An admin's change applies to the next call.
    """

    def __init__(self, sessions: async_sessionmaker, writes: WriteBehind | None = None, *,
                 version_max_age: float = 0.0):
        self._sessions = sessions
        self._writes = writes
        self._reads = LastGood(writes)
        self._version: int | None = None
        self._kept: dict[Hashable, Any] = {}
        #: The counter is looked at again only once this old (0: on every lookup); a
        #: change made in this process calls :meth:`forget` and is seen at once.
        self.version_max_age = version_max_age
        self._version_read_at = float("-inf")

    def forget(self) -> None:
        """The configuration may have changed: look at the counter on the next lookup."""
        self._version_read_at = float("-inf")

    async def _current(self, key: Hashable, fetch: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``fetch``'s answer, read again only if the configuration changed since."""
        if (key in self._kept
                and time.monotonic() - self._version_read_at < self.version_max_age):
            return self._kept[key]

        async def read() -> T:
            read_at = time.monotonic()
            version, value = await self._read_if_changed(key, fetch)
            if value is _KEPT:
                if version == self._version and key in self._kept:
                    self._version_read_at = read_at
                    return self._kept[key]  # type: ignore[no-any-return]
                version, value = await self._read_if_changed(key, fetch, force=True)
            if version is None or version != self._version:
                self._kept.clear()  # also when the counter is missing: keep nothing
                self._version = version
            if version is not None:
                self._kept[key] = value
                self._version_read_at = read_at
            return value  # type: ignore[return-value]

        return await self._reads.read(key, read)

    async def _read_if_changed(self, key: Hashable, fetch: Callable[[AsyncSession], Awaitable[T]],
                               *, force: bool = False) -> tuple[int | None, T | object]:
        """The counter, and ``fetch``'s answer unless the counter says the kept one holds
        (then ``_KEPT``). Only reads: what is kept is changed by the caller, on the loop."""
        known = None if force or key not in self._kept else self._version

        async def body(session: AsyncSession) -> tuple[int | None, T | object]:
            version = await session.scalar(_VERSION)
            if version is not None and version == known:
                return version, _KEPT
            return version, await fetch(session)

        if self._writes is not None:
            return await self._writes.read(body)
        async with self._sessions() as session:
            return await body(session)

    async def get(self, slug: str) -> ServiceInfo | None:
        service = await self._current(
            ("service", slug), lambda session: _load(session, Service.slug == slug))
        if service is not None:
            self._reads.remember(("service_id", service.id), service)
        return service

    async def get_by_id(self, service_id: int) -> ServiceInfo | None:
        service = await self._current(
            ("service_id", service_id), lambda session: _load(session, Service.id == service_id))
        if service is not None:
            self._reads.remember(("service", service.slug), service)
        return service

    async def office_line(self, number: str) -> OfficeLineInfo | None:
        async def fetch(session: AsyncSession) -> OfficeLineInfo | None:
            row = (await session.execute(
                select(OfficeLine, Service.slug)
                .join(Service, OfficeLine.service_id == Service.id)
                .where(OfficeLine.number == number))).first()
            if row is None:
                return None
            line, slug = row
            queue_slug = None
            if line.queue_id is not None:
                queue_slug = await session.scalar(select(Queue.slug).where(
                    Queue.id == line.queue_id))
            return OfficeLineInfo(line.number, line.endpoint, line.rings, slug, queue_slug)

        return await self._current(("office_line", number), fetch)
