"""One row per call, with every timestamp the tender's SLA figures are computed from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UtcDateTime

CALL_OUTCOMES = (
    "answered",          # an agent answered
    "abandoned",         # caller hung up in the queue after the abandon threshold
    "abandoned_short",   # caller hung up in the queue within the threshold (10 s rule)
    "voicemail",         # caller left a message
    "ivr_only",          # served by the IVR alone (e.g. APIAE option 1)
    "out_of_hours",      # arrived outside the service window
    "office_answered",   # an office phone answered: its own line, or a menu's transfer
    "hangup_before_queue",  # caller hung up during welcome or menu
    "failed",            # the PBX could not handle it (fallback taken)
)
HANGUP_PARTIES = ("caller", "agent", "referent", "system")


class Call(Base):
    __tablename__ = "calls"

    #: Our own id, chosen at arrival; also used to name the call's bridges.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    did: Mapped[str] = mapped_column(String(20))
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    caller_name: Mapped[str] = mapped_column(String(80), default="")
    #: Asterisk channel id of the caller's leg (unique id), to re-adopt it after a restart.
    channel_id: Mapped[str] = mapped_column(String(64), index=True)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: When the PBX answered the caller (welcome starts).
    pbx_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Entry to the queue, after the welcome and the IVR: Tm and the 10 s rule start here.
    queue_entered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"), nullable=True
    )
    #: How the caller left the queue: answered, timeout (wait limit), no_agents, abandoned.
    queue_exit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    transferred_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    hung_up_by: Mapped[str | None] = mapped_column(String(8), nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Digits chosen in the IVR, in order, e.g. "2" or "1>3".
    ivr_path: Mapped[str] = mapped_column(String(64), default="")
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The office phone (SIP account) a menu choice rang for this call, answered or not.
    referent: Mapped[str | None] = mapped_column(String(32), nullable=True)
    in_hours: Mapped[bool | None] = mapped_column(nullable=True)
    #: Where the call flow stands (see ari_app.flows); a restarted process resumes from it.
    flow_state: Mapped[str] = mapped_column(String(24), default="arrived")
    #: Overflowed from an office line ("ricaduta"); the outcome says how it ended.
    overflow: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    #: resolved (autonomously) or escalated (to a referent); set by the agent.
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The service's sector the agent classified the request under (see ServiceSector).
    classification: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: For an abandoned call: when an agent called the citizen back.
    callback_done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: The agent who marked the abandoned call as called back (the desk's "Fatto").
    callback_done_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)

    offers: Mapped[list[CallOffer]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallOffer.id"
    )

    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR outcome IN {CALL_OUTCOMES!r}", name="outcome"),
        CheckConstraint(f"hung_up_by IS NULL OR hung_up_by IN {HANGUP_PARTIES!r}",
                        name="hung_up_by"),
        Index("ix_calls_service_arrived", "service_id", "arrived_at"),
    )


class CallOffer(Base):
    """One time an agent's phone rang for a call."""

    __tablename__ = "call_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    #: The agent leg's channel id (ours, one per offer): the offer's key, chosen by the
    #: control plane so an offer needs no database round trip, and found again after a
    #: restart.
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    ring_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ring_stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: answered, no_answer, rejected, caller_gone
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    call: Mapped[Call] = relationship(back_populates="offers")


class Voicemail(Base):
    """A message left by a caller, in the worklist until an agent handles it."""

    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), nullable=True, index=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    audio_path: Mapped[str] = mapped_column(String(400))
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    callback_requested: Mapped[bool] = mapped_column(default=False)
    #: out_of_hours, no_agents, wait_limit
    reason: Mapped[str] = mapped_column(String(16), default="out_of_hours")
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    handled_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
