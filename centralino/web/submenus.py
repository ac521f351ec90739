"""A service's submenus as the admin pages shape them: a tree, one submenu per choice.

A submenu is made for the choice that opens it and is a child of that choice's
menu, so the menus can only form a tree: no choice can lead back to a menu above
it, and a caller always leaves the menus (a choice, a timeout, too many wrong
digits). Its prompt is the service's prompt of kind ``submenu<id>``, recorded
from a text like every other prompt. A submenu with choices left is never removed
by accident: its choices go first.
"""

from __future__ import annotations

import re

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from ari_app.directory import MAX_MENU_DEPTH
from centralino.web.validation import Refused
from models import Menu, MenuOption, Prompt, Service

SUBMENU_PROMPT = re.compile(r"submenu([1-9][0-9]{0,8})")


def prompt_kind(menu_id: int) -> str:
    return f"submenu{menu_id}"


def menu_of_prompt(kind: str) -> int | None:
    """The submenu a prompt kind belongs to (``submenu12`` → 12), if it is one."""
    match = SUBMENU_PROMPT.fullmatch(kind)
    return int(match.group(1)) if match else None


def depth(menus: dict[int, Menu], menu: Menu) -> int:
    """1 for the main menu, 2 for its submenus, …; a loop (hand-edited table) is too deep."""
    level, seen = 1, {menu.id}
    while menu.parent_id is not None:
        parent = menus.get(menu.parent_id)
        if parent is None or parent.id in seen:
            return MAX_MENU_DEPTH
        seen.add(parent.id)
        menu, level = parent, level + 1
    return level


async def create(session: AsyncSession, service: Service, parent: Menu) -> Menu:
    """A new empty submenu under ``parent``, waiting and counting like it."""
    menu = Menu(service_id=service.id, parent_id=parent.id, prompt_kind="menu",
                timeout_seconds=parent.timeout_seconds, max_invalid=parent.max_invalid)
    session.add(menu)
    await session.flush()
    menu.prompt_kind = prompt_kind(menu.id)
    await _drop_prompt(session, menu)  # a removed submenu's, if the database reused its id
    return menu


async def _drop_prompt(session: AsyncSession, menu: Menu) -> None:
    await session.execute(delete(Prompt).where(Prompt.service_id == menu.service_id,
                                               Prompt.kind == prompt_kind(menu.id)))


async def remove_empty(session: AsyncSession, menus: dict[int, Menu],
                       option: MenuOption) -> None:
    """The choice no longer opens its submenu: remove it, unless it still has choices."""
    submenu = menus.get(option.submenu_id or -1)
    if submenu is not None and submenu.options:
        raise Refused(f"Il sottomenu del tasto {option.digit} ha ancora delle scelte: "
                      "eliminarle prima.")
    option.submenu_id = None
    if submenu is None:
        return
    await session.flush()
    await _drop_prompt(session, submenu)
    await session.delete(submenu)
