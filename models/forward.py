"""The desk's forward forms ("modulo di inoltro"): a call the agent could not pass on, written
down and e-mailed to the sector's mailbox or the referent.

Each form is stored before it is sent, so an SMTP outage loses nothing: the row
keeps the error and the desk offers to send it again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime


class Forward(Base):
    __tablename__ = "forwards"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True, index=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True)
    #: The web login that filled the form (kept even if the agent is removed).
    username: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    surname: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    #: Day and time of the call, as the form says (Europe/Rome).
    call_day: Mapped[date] = mapped_column(Date)
    call_time: Mapped[str] = mapped_column(String(5))
    person_sought: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254), default="")
    #: The sector chosen, if any, and the address the form goes to.
    sector: Mapped[str] = mapped_column(String(64), default="")
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Why the last attempt failed; empty once sent.
    error: Mapped[str] = mapped_column(String(500), default="")
