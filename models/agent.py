"""Contact-center operators: profile, skills, the services they answer and their SIP account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UtcDateTime
from models.service import Service

AGENT_PROFILES = ("junior", "expert", "senior")
AGENT_STATES = ("logged_out", "available", "ringing", "on_call", "wrapup", "paused")

agent_services = Table(
    "agent_services",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SIP user name, also the login on the agent desktop.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    profile: Mapped[str] = mapped_column(String(8), default="junior")
    #: HA1 digest (md5 of user:realm:password): Asterisk can authenticate with it,
    #: and the clear password is never stored.
    sip_ha1: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="logged_out")
    state_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: When a call last rang this agent (round-robin fairness).
    last_offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: A disabled agent has no SIP account in Asterisk's configuration and is never rung.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: Deleted agents stay as rows (disabled) so their calls and SLA records keep their
    #: agent; the user name is not given to anyone else.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Comma-free list kept in its own table; loaded with the agent.
    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )
    services: Mapped[list[Service]] = relationship(secondary=agent_services, lazy="selectin")

    __table_args__ = (
        CheckConstraint(f"profile IN {AGENT_PROFILES!r}", name="profile"),
        CheckConstraint(f"state IN {AGENT_STATES!r}", name="state"),
    )


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[Agent] = relationship(back_populates="skills")
