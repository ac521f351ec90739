"""Changes to a service's menu and queues made from the web, validated, audited, restorable.

Only the menu actions the call flow carries out today are offered (see
``ari_app.flows.inbound``: message, queue, voicemail); "transfer" and "submenu"
would silently send the caller to the default queue, so the pages refuse them.
Each change is one transaction with its audit entry; the ``config_version``
triggers make the control plane read the service again on its next call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from centralino.web import audit
from centralino.web.validation import (
    NotFound,
    Refused,
    bounded_int,
    clean_label,
    clean_skill,
)
from models import Menu, MenuOption, Prompt, Queue, Service
from models.service import PROMPT_KINDS, ROUTING_STRATEGIES

#: Actions a menu choice may take, as the page names them.
OFFERED_ACTIONS = {"message": "Messaggio e fine chiamata", "queue": "Coda (con competenza)",
                   "voicemail": "Segreteria"}
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

    def state(self) -> dict[str, Any]:
        return {"digit": self.digit, "label": self.label, "action": self.action,
                "queue": self.queue_slug, "skill": self.skill, "prompt_kind": self.prompt_kind}


def check_option(form: dict[str, str], queue_slugs: set[str],
                 recorded_prompts: set[str]) -> OptionInput:
    """A choice the call flow can carry out, or Refused saying what to fix (no I/O)."""
    digit = form.get("digit", "").strip()
    if len(digit) != 1 or digit not in DIGITS:
        raise Refused("Tasto non valido: una cifra da 0 a 9, * oppure #.")
    label = clean_label(form.get("label", ""))
    action = form.get("action", "")
    if action not in OFFERED_ACTIONS:
        raise Refused("Azione non valida: messaggio, coda o segreteria.")
    queue_slug = skill = prompt_kind = None
    if action == "queue":
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
    return OptionInput(digit, label, action, queue_slug, skill, prompt_kind)


async def _service(session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(select(Service).where(Service.slug == slug[:64]).options(
        selectinload(Service.queues)))
    if service is None:
        raise NotFound("Servizio inesistente.")
    return service


async def _menu(session: AsyncSession, service: Service) -> Menu:
    menu = await session.scalar(select(Menu).where(
        Menu.service_id == service.id, Menu.parent_id.is_(None)).options(
        selectinload(Menu.options)))
    if menu is None:
        raise Refused("Questo servizio non ha un menu.")
    return menu


async def _recorded_prompts(session: AsyncSession, service: Service) -> set[str]:
    return set(await session.scalars(select(Prompt.kind).where(
        Prompt.service_id == service.id, Prompt.sound.is_not(None))))


def _option_state(option: MenuOption, service: Service) -> dict[str, Any]:
    slugs = {q.id: q.slug for q in service.queues}
    return {"digit": option.digit, "label": option.label, "action": option.action,
            "queue": slugs.get(option.queue_id) if option.queue_id else None,
            "skill": option.skill, "prompt_kind": option.prompt_kind}


def _option_key(service: Service, option_id: int) -> str:
    return f"{service.slug}/menu/{option_id}"


async def _put_option(session: AsyncSession, service: Service, menu: Menu,
                      option: MenuOption | None, form: dict[str, str]) -> MenuOption:
    """Check ``form`` against this service and store it in ``option`` (new if None)."""
    checked = check_option(form, {q.slug for q in service.queues},
                           await _recorded_prompts(session, service))
    if any(o.digit == checked.digit and o is not option for o in menu.options):
        raise Refused(f"Il tasto {checked.digit} è già usato da un'altra scelta del menu.")
    if option is None:
        option = MenuOption(menu_id=menu.id, digit=checked.digit, action=checked.action)
        menu.options.append(option)
    queue_ids = {q.slug: q.id for q in service.queues}
    option.digit, option.label, option.action = checked.digit, checked.label, checked.action
    option.queue_id = queue_ids[checked.queue_slug] if checked.queue_slug else None
    option.skill, option.prompt_kind = checked.skill, checked.prompt_kind
    option.transfer_number = option.submenu_id = None
    await session.flush()
    return option


async def save_option(sessions: async_sessionmaker, actor: str, slug: str,
                      option_id: int | None, form: dict[str, str],
                      action: str | None = None) -> int:
    """Add a choice (``option_id`` None) or change one; return its id."""
    async with sessions() as session:
        service = await _service(session, slug)
        menu = await _menu(session, service)
        option = None
        if option_id is not None:
            option = next((o for o in menu.options if o.id == option_id), None)
            if option is None:
                raise NotFound("Scelta del menu inesistente.")
        before = _option_state(option, service) if option is not None else None
        option = await _put_option(session, service, menu, option, form)
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
        menu = await _menu(session, service)
        option = next((o for o in menu.options if o.id == option_id), None)
        if option is None:
            raise NotFound("Scelta del menu inesistente.")
        audit.record(session, actor, "menu.option.delete", "menu_option",
                     _option_key(service, option.id), _option_state(option, service), None)
        menu.options.remove(option)
        await session.delete(option)
        await session.commit()


def _menu_state(menu: Menu) -> dict[str, Any]:
    return {"timeout_seconds": menu.timeout_seconds, "max_invalid": menu.max_invalid}


async def change_menu(sessions: async_sessionmaker, actor: str, slug: str,
                      form: dict[str, str], action: str = "menu.change") -> None:
    """The menu's wait for a choice and how many wrong digits send the caller on."""
    timeout = bounded_int(form.get("timeout_seconds", ""), "Attesa della scelta (secondi)",
                          *TIMEOUT_RANGE)
    max_invalid = bounded_int(form.get("max_invalid", ""), "Scelte non valide ammesse",
                              *MAX_INVALID_RANGE)
    async with sessions() as session:
        service = await _service(session, slug)
        menu = await _menu(session, service)
        before = _menu_state(menu)
        menu.timeout_seconds, menu.max_invalid = timeout, max_invalid
        audit.record(session, actor, action, "menu", f"{service.slug}/menu", before,
                     _menu_state(menu))
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
        await change_menu(sessions, actor, slug, _as_form(before), action="restore")
    elif object_type == "queue":
        await change_queue(sessions, actor, slug, rest.removeprefix("queue/"), _as_form(before),
                           action="restore")
    else:
        raw_id = rest.removeprefix("menu/")
        async with sessions() as session:
            exists = await session.get(MenuOption, int(raw_id)) if raw_id.isdigit() else None
        await save_option(sessions, actor, slug, exists.id if exists else None,
                          _as_form(before), action="restore")
