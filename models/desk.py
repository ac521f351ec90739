"""What the agent desktop adds to the data model: each service's sectors for classifying calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime


class ServiceSector(Base):
    """A sector of a service a call can be classified under (e.g. Motorizzazione: Patenti)."""

    __tablename__ = "service_sectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(64))
    #: Order on the agent's form.
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: The sector's e-mail box: where the desk's forward forms for it are sent.
    mailbox: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: A retired sector is no longer offered; calls classified under it keep its name.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("service_id", "name"),)
