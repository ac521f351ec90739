"""Changes to a service's menus and queues made from the web, validated, audited, restorable.

A choice plays a message, queues with a skill, takes a message, rings an office
phone (one of the office lines, chosen from a list: never a number typed in) or
opens a submenu. A submenu is created for the choice that opens it, as a child of
that choice's menu (:mod:`centralino.web.submenus`): the form never names a menu
to jump to, so no choice can lead back up into a loop, and nesting stops at
``MAX_MENU_DEPTH``. Each change is one transaction with its audit entry; the
``config_version`` triggers make the control plane read the service again on its
next call.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ari_app.directory import MAX_MENU_DEPTH
from centralino.offices import MAX_RINGS
from centralino.web import audit, submenus
from centralino.web.validation import (
    NotFound,
    Refused,
    bounded_int,
    clean_label,
    clean_skill,
)
from models import Menu, MenuOption, OfficeLine, Prompt, Queue, Service
from models.service import PROMPT_KINDS, ROUTING_STRATEGIES

#: Actions a menu choice may take, as the page names them.
OFFERED_ACTIONS = {"message": "Messaggio e fine chiamata", "queue": "Coda (con competenza)",
                   "voicemail": "Segreteria",
                   "transfer": "Trasferimento a un ufficio (referente)",
                   "submenu": "Sottomenu"}
DIGITS = "0123456789*#"
STRATEGY_LABELS = {"longest_idle": "Operatore libero da più tempo",
                   "ring_all": "Tutti gli operatori insieme",
                   "round_robin": "A turno"}
#: Bounds of what the forms accept (seconds unless said otherwise).
TIMEOUT_RANGE = (1, 30)
MAX_INVALID_RANGE = (1, 5)
RINGS_RANGE = (1, 20)
WAIT_LIMIT_RANGE = (10, 3600)
WRAPUP_RANGE = (0, 600)
ANNOUNCE_RANGE = (10, 600)
RESTORABLE = ("menu", "menu_option", "queue")


@dataclass(frozen=True)
class OptionInput:
    """A menu choice as checked, ready to store."""

    digit: str
    label: str
    action: str
    queue_slug: str | None
    skill: str | None
    prompt_kind: str | None
    #: For "transfer": the office line's number, and how many rings it gets.
    transfer_number: str | None = None
    rings: int | None = None


def check_option(form: dict[str, str], queue_slugs: AbstractSet[str],
                 recorded_prompts: AbstractSet[str], offices: AbstractSet[str] = frozenset(),
                 depth: int = 1) -> OptionInput:
    """A choice the call flow can carry out, or Refused saying what to fix (no I/O).

    ``offices`` are the office lines' numbers; ``depth`` is the level of the menu the
    choice belongs to (1: the main menu), which bounds how deep a submenu may go.
    """
    digit = form.get("digit", "").strip()
    if len(digit) != 1 or digit not in DIGITS:
        raise Refused("Tasto non valido: una cifra da 0 a 9, * oppure #.")
    label = clean_label(form.get("label", ""))
    action = form.get("action", "")
    if action not in OFFERED_ACTIONS:
        raise Refused("Azione non valida: messaggio, coda, segreteria, trasferimento o "
                      "sottomenu.")
    queue_slug = skill = prompt_kind = transfer_number = None
    rings = None
    if action == "transfer":
        transfer_number = form.get("transfer", "").strip()
        if transfer_number not in offices:
            raise Refused("Ufficio inesistente: sceglierne uno dall'elenco (gli uffici si "
                          "aggiungono con «centralino office add»).")
        rings = bounded_int(form.get("rings", ""), "Squilli all'ufficio", 1, MAX_RINGS)
    elif action == "submenu" and depth >= MAX_MENU_DEPTH:
        raise Refused(f"Troppi livelli di menu: al massimo {MAX_MENU_DEPTH} compreso il "
                      "principale.")
    elif action == "queue":
        queue_slug = form.get("queue", "")
        if queue_slug not in queue_slugs:
            raise Refused("Coda inesistente per questo servizio.")
        raw_skill = form.get("skill", "").strip()
        skill = clean_skill(raw_skill) if raw_skill else None
    elif action == "message":
        prompt_kind = form.get("prompt_kind", "")
        if prompt_kind not in PROMPT_KINDS:
            raise Refused("Messaggio inesistente.")
        if prompt_kind not in recorded_prompts:
            raise Refused("Questo messaggio non è ancora registrato: registrarlo prima di "
                          "usarlo nel menu.")
    return OptionInput(digit, label, action, queue_slug, skill, prompt_kind, transfer_number,
                       rings)


async def _service(session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(select(Service).where(Service.slug == slug[:64]).options(
        selectinload(Service.queues)))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return service


async def _menus(session: AsyncSession, service: Service) -> dict[int, Menu]:
    """All the service's menus by id (the main one and its submenus), with their choices."""
    rows = await session.scalars(select(Menu).where(Menu.service_id == service.id).options(
        selectinload(Menu.options)))
    menus = {m.id: m for m in rows}
    if not any(m.parent_id is None for m in menus.values()):
        raise Refused("Questo servizio non ha un menu.")
    return menus


def _menu_of(menus: dict[int, Menu], menu_id: int | None) -> Menu:
    """The main menu (None) or one of the service's submenus; Refused for another's."""
    if menu_id is None:
        return next(m for m in menus.values() if m.parent_id is None)
    menu = menus.get(menu_id)
    if menu is None:
        raise NotFound("Sottomenu inesistente per questo servizio.")
    return menu


async def _office_numbers(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(OfficeLine.number)))


async def _recorded_prompts(session: AsyncSession, service: Service) -> set[str]:
    return set(await session.scalars(select(Prompt.kind).where(
        Prompt.service_id == service.id, Prompt.sound.is_not(None))))


def _option_state(option: MenuOption, service: Service) -> dict[str, Any]:
    slugs = {q.id: q.slug for q in service.queues}
    return {"digit": option.digit, "label": option.label, "action": option.action,
            "queue": slugs.get(option.queue_id) if option.queue_id else None,
            "skill": option.skill, "prompt_kind": option.prompt_kind,
            "transfer": option.transfer_number, "rings": option.rings,
            "menu": option.menu_id, "submenu": option.submenu_id}


def _option_key(service: Service, option_id: int) -> str:
    return f"{service.slug}/menu/{option_id}"


async def _put_option(session: AsyncSession, service: Service, menus: dict[int, Menu],
                      menu: Menu, option: MenuOption | None,
                      form: dict[str, str]) -> MenuOption:
    """Check ``form`` against this service and store it in ``option`` (new if None)."""
    checked = check_option(form, {q.slug for q in service.queues},
                           await _recorded_prompts(session, service),
                           await _office_numbers(session), submenus.depth(menus, menu))
    if any(o.digit == checked.digit and o is not option for o in menu.options):
        raise Refused(f"Il tasto {checked.digit} è già usato da un'altra scelta del menu.")
    if option is None:
        option = MenuOption(menu_id=menu.id, digit=checked.digit, action=checked.action)
        menu.options.append(option)
    elif option.action == "submenu" and checked.action != "submenu":
        await submenus.remove_empty(session, menus, option)
    queue_ids = {q.slug: q.id for q in service.queues}
    option.digit, option.label, option.action = checked.digit, checked.label, checked.action
    option.queue_id = queue_ids[checked.queue_slug] if checked.queue_slug else None
    option.skill, option.prompt_kind = checked.skill, checked.prompt_kind
    option.transfer_number, option.rings = checked.transfer_number, checked.rings
    await session.flush()
    if checked.action == "submenu" and option.submenu_id not in menus:
        option.submenu_id = (await submenus.create(session, service, menu)).id
        await session.flush()
    return option


def _find_option(menus: dict[int, Menu], option_id: int) -> MenuOption:
    option = next((o for m in menus.values() for o in m.options if o.id == option_id), None)
    if option is None:
        raise NotFound("Scelta del menu inesistente.")
    return option


async def save_option(sessions: async_sessionmaker, actor: str, slug: str,
                      option_id: int | None, form: dict[str, str],
                      action: str | None = None, menu_id: int | None = None) -> int:
    """Add a choice to a menu (``option_id`` None) or change one; return its id.

    ``menu_id`` names the submenu a new choice goes in (None: the main menu).
    """
    async with sessions() as session:
        service = await _service(session, slug)
        menus = await _menus(session, service)
        option = None
        if option_id is not None:
            option = _find_option(menus, option_id)
            menu = menus[option.menu_id]
        else:
            menu = _menu_of(menus, menu_id)
        before = _option_state(option, service) if option is not None else None
        option = await _put_option(session, service, menus, menu, option, form)
        audit.record(session, actor, action or ("menu.option.add" if before is None
                                                else "menu.option.change"),
                     "menu_option", _option_key(service, option.id), before,
                     _option_state(option, service))
        await session.commit()
        return option.id


async def delete_option(sessions: async_sessionmaker, actor: str, slug: str,
                        option_id: int) -> None:
    async with sessions() as session:
        service = await _service(session, slug)
        menus = await _menus(session, service)
        option = _find_option(menus, option_id)
        menu = menus[option.menu_id]
        audit.record(session, actor, "menu.option.delete", "menu_option",
                     _option_key(service, option.id), _option_state(option, service), None)
        if option.action == "submenu":
            await submenus.remove_empty(session, menus, option)
        menu.options.remove(option)
        await session.delete(option)
        await session.commit()


def _menu_state(menu: Menu, service: Service) -> dict[str, Any]:
    state: dict[str, Any] = {"timeout_seconds": menu.timeout_seconds,
                             "max_invalid": menu.max_invalid}
    if menu.parent_id is not None:
        slugs = {q.id: q.slug for q in service.queues}
        state["default_queue"] = slugs.get(menu.default_queue_id or -1, "")
    return state


def _menu_key(service: Service, menu: Menu) -> str:
    return f"{service.slug}/menu" if menu.parent_id is None else \
        f"{service.slug}/menus/{menu.id}"


async def change_menu(sessions: async_sessionmaker, actor: str, slug: str,
                      form: dict[str, str], action: str = "menu.change",
                      menu_id: int | None = None) -> None:
    """A menu's wait for a choice and how many wrong digits send the caller on; for a
    submenu also where they go then (its own queue, or "" for the service's main one)."""
    timeout = bounded_int(form.get("timeout_seconds", ""), "Attesa della scelta (secondi)",
                          *TIMEOUT_RANGE)
    max_invalid = bounded_int(form.get("max_invalid", ""), "Scelte non valide ammesse",
                              *MAX_INVALID_RANGE)
    async with sessions() as session:
        service = await _service(session, slug)
        menu = _menu_of(await _menus(session, service), menu_id)
        before = _menu_state(menu, service)
        if menu.parent_id is not None:
            default = form.get("default_queue", "")
            queue_ids = {q.slug: q.id for q in service.queues}
            if default and default not in queue_ids:
                raise Refused("Coda inesistente per questo servizio.")
            menu.default_queue_id = queue_ids.get(default)
        menu.timeout_seconds, menu.max_invalid = timeout, max_invalid
        audit.record(session, actor, action, "menu", _menu_key(service, menu), before,
                     _menu_state(menu, service))
        await session.commit()


def queue_state(queue: Queue) -> dict[str, Any]:
    return {"strategy": queue.strategy, "rings_per_agent": queue.rings_per_agent,
            "wait_limit_seconds": queue.wait_limit_seconds,
            "wrapup_seconds": queue.wrapup_seconds,
            "announce_position": queue.announce_position,
            "announce_every_seconds": queue.announce_every_seconds}


def check_queue(form: dict[str, str]) -> dict[str, Any]:
    """Queue settings within bounds the flows handle, or Refused (no I/O)."""
    strategy = form.get("strategy", "")
    if strategy not in ROUTING_STRATEGIES:
        raise Refused("Strategia di distribuzione non valida.")
    announce = form.get("announce_position", "") in ("on", "1", "true", "True")
    return {"strategy": strategy,
            "rings_per_agent": bounded_int(form.get("rings_per_agent", ""),
                                           "Squilli per operatore", *RINGS_RANGE),
            "wait_limit_seconds": bounded_int(form.get("wait_limit_seconds", ""),
                                              "Attesa massima (secondi)", *WAIT_LIMIT_RANGE),
            "wrapup_seconds": bounded_int(form.get("wrapup_seconds", ""),
                                          "Riordino dopo la chiamata (secondi)", *WRAPUP_RANGE),
            "announce_position": announce,
            "announce_every_seconds": bounded_int(form.get("announce_every_seconds", ""),
                                                  "Annuncio ogni (secondi)", *ANNOUNCE_RANGE)}


async def change_queue(sessions: async_sessionmaker, actor: str, slug: str, queue_slug: str,
                       form: dict[str, str], action: str = "queue.change") -> None:
    settings = check_queue(form)
    async with sessions() as session:
        service = await _service(session, slug)
        queue = next((q for q in service.queues if q.slug == queue_slug), None)
        if queue is None:
            raise NotFound("Coda inesistente per questo servizio.")
        before = queue_state(queue)
        for name, value in settings.items():
            setattr(queue, name, value)
        audit.record(session, actor, action, "queue", f"{service.slug}/queue/{queue.slug}",
                     before, queue_state(queue))
        await session.commit()


def _as_form(before: dict[str, Any]) -> dict[str, str]:
    return {name: ("on" if value is True else "" if value in (None, False) else str(value))
            for name, value in before.items()}


async def restore(sessions: async_sessionmaker, actor: str, object_type: str, key: str,
                  before: dict[str, Any]) -> None:
    """Put back a menu, menu choice or queue as an audit entry says it was."""
    slug, _, rest = key.partition("/")
    if object_type == "menu":
        sub = rest.removeprefix("menus/")
        await change_menu(sessions, actor, slug, _as_form(before), action="restore",
                          menu_id=int(sub) if sub.isdigit() else None)
    elif object_type == "queue":
        await change_queue(sessions, actor, slug, rest.removeprefix("queue/"), _as_form(before),
                           action="restore")
    else:
        raw_id = rest.removeprefix("menu/")
        async with sessions() as session:
            exists = await session.get(MenuOption, int(raw_id)) if raw_id.isdigit() else None
        menu = before.get("menu")  # a deleted choice goes back into its own (sub)menu
        await save_option(sessions, actor, slug, exists.id if exists else None,
                          _as_form(before), action="restore",
                          menu_id=menu if isinstance(menu, int) and not exists else None)
