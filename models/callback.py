"""Call-backs placed from the agent desktop: one row per attempt, outside the inbound SLA.

An agent clicks "Richiama" on a worklist item (a voicemail or an abandoned call);
the control plane rings the agent's phone, then dials the number recorded on that
item through the carrier and bridges the two. The row holds where the attempt
stands (a restarted control plane resumes from it) and how it ended. Inbound
figures are computed from ``calls`` only, so call-backs never count in them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime

CALLBACK_STATES = ("ringing_agent", "dialling", "connected", "ended")
CALLBACK_RESULTS = (
    "answered",       # the citizen answered: talked with the agent
    "no_answer",      # the citizen's phone rang out (or was switched off)
    "busy",           # busy or declined
    "failed",         # the carrier or the PBX could not place it
    "agent_missed",   # the agent's own phone was not answered
    "cancelled",      # the agent hung up before the citizen answered
)


class Callback(Base):
    __tablename__ = "callbacks"

    #: Our id: names the legs (``cb-<id>-agent``, ``cb-<id>-citizen``) and the bridge.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The worklist item called back: one of these two.
    voicemail_id: Mapped[int | None] = mapped_column(
        ForeignKey("voicemails.id", ondelete="SET NULL"), nullable=True, index=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True, index=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True)
    #: The web login that clicked (kept if the agent is removed); audited under it.
    username: Mapped[str] = mapped_column(String(32))
    #: The agent's SIP account the call rang.
    endpoint: Mapped[str] = mapped_column(String(32))
    #: The number dialled: the one recorded on the item, never one typed in a browser.
    number: Mapped[str] = mapped_column(String(32))
    #: Caller ID presented to the citizen (the service's number).
    caller_id: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(16), default="ringing_agent")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    agent_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: agent, citizen or system.
    hung_up_by: Mapped[str | None] = mapped_column(String(8), nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        CheckConstraint(f"state IN {CALLBACK_STATES!r}", name="state"),
        CheckConstraint(f"result IS NULL OR result IN {CALLBACK_RESULTS!r}", name="result"),
    )
