"""A record of each nightly SLA export, so a run is done (and mailed) once per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime

EXPORT_STATUSES = ("running", "written", "sent", "failed")


class SlaExportRun(Base):
    """The export of one day (yesterday, with the month to date): written, then sent."""

    __tablename__ = "sla_export_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The local day the export covers (its month-to-date runs up to this day).
    day: Mapped[date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Files written, one path a line.
    files: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint(f"status IN {EXPORT_STATUSES!r}", name="status"),)
