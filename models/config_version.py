"""A counter that moves whenever what callers hear or where calls go is changed.

Database triggers (see the ``0002`` migration) bump it on every insert, update or
delete in the configuration tables, whoever makes the change: the command line,
the web admin, another control plane, or an operator with ``psql``. The control
plane keeps what it read about a service until the counter moves, so a call
costs one tiny query instead of loading the whole service.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

#: The tables whose changes a call flow must see at once.
CONFIG_TABLES = (
    "services", "service_dids", "service_windows", "closures", "prompts", "notices",
    "menus", "menu_options", "office_lines", "queues",
)


class ConfigVersion(Base):
    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
