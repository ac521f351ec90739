"""A public office's line: its numbers, service window, closures, prompts, menu and queues."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UtcDateTime

SERVICE_MODES = ("auto", "open", "closed")
ROUTING_STRATEGIES = ("longest_idle", "ring_all", "round_robin")
MENU_ACTIONS = ("message", "queue", "voicemail", "transfer", "submenu")
PROMPT_KINDS = ("welcome", "hours", "out_of_hours", "goodbye", "menu", "invalid", "busy",
                "voicemail", "thanks", "position", "wait_time", "minutes", "emergency")


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    #: auto follows the calendar; open/closed are forced until ``mode_until``.
    mode: Mapped[str] = mapped_column(String(8), default="auto")
    mode_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: When ``mode`` last changed (set on every change, see :func:`_stamp_mode`), so the
    #: desk can tell which past hours a crisis mode made open; None: before migration 0010.
    mode_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Mailbox that receives voicemails and missed-forward forms.
    mailbox_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: Whether the welcome says the line is not an emergency number (112).
    not_emergency_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether Motorizzazione-style office-hours message plays before the queue.
    hours_before_queue: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A caller who hangs up in the queue within this many seconds is a short abandon.
    abandon_threshold_seconds: Mapped[int] = mapped_column(Integer, default=10)
    #: SLA targets (the tender's by default): Tm ≤ 13 s, P ≤ 3.0 %, Q ≥ 75 %.
    sla_answer_seconds: Mapped[float] = mapped_column(Float, default=13.0, server_default="13")
    sla_abandoned_pct: Mapped[float] = mapped_column(Float, default=3.0, server_default="3")
    sla_resolved_pct: Mapped[float] = mapped_column(Float, default=75.0, server_default="75")
    #: Service level reported beside them: answered within this many seconds.
    sla_service_level_seconds: Mapped[int] = mapped_column(Integer, default=20,
                                                           server_default="20")

    dids: Mapped[list[ServiceDid]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="ServiceDid.did"
    )
    windows: Mapped[list[ServiceWindow]] = relationship(
        back_populates="service", cascade="all, delete-orphan",
        order_by="(ServiceWindow.weekday, ServiceWindow.opens)",
    )
    prompts: Mapped[list[Prompt]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    queues: Mapped[list[Queue]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Queue.id"
    )
    menu: Mapped[Menu | None] = relationship(
        back_populates="service", cascade="all, delete-orphan",
        primaryjoin="and_(Service.id == Menu.service_id, Menu.parent_id == None)",
        viewonly=True,
    )

    __table_args__ = (CheckConstraint(f"mode IN {SERVICE_MODES!r}", name="mode"),)


@event.listens_for(Service.mode, "set")
def _stamp_mode(service: Service, value: str, previous: Any, _initiator: Any) -> None:
    """Every way the mode changes (CLI, admin page, API, restore) goes through the ORM:
    stamping here keeps ``mode_since`` true without each of them remembering to."""
    if value != previous:
        service.mode_since = datetime.now(UTC)


class ServiceDid(Base):
    """A number citizens dial, stored as digits only (national format)."""

    __tablename__ = "service_dids"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    did: Mapped[str] = mapped_column(String(20), unique=True)
    service: Mapped[Service] = relationship(back_populates="dids")


class ServiceWindow(Base):
    """One opening interval on a weekday (0 = Monday), in the service's time zone."""

    __tablename__ = "service_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)
    service: Mapped[Service] = relationship(back_populates="windows")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="interval"),
    )


class Closure(Base):
    """A day an admin closes one service (or all, when service_id is null)."""

    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=True
    )
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("service_id", "day"),)


class Prompt(Base):
    """What a caller hears at one point of a service: text and the sound rendered from it."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    #: Asterisk sound name (no extension), e.g. ``custom/apiae-welcome``.
    sound: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    service: Mapped[Service] = relationship(back_populates="prompts")

    __table_args__ = (UniqueConstraint("service_id", "kind"),)


class Notice(Base):
    """An "avviso": a message played only between its validity dates."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    sound: Mapped[str | None] = mapped_column(String(200), nullable=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: Menu option (e.g. APIAE's appointments line) before which the notice plays.
    menu_option_id: Mapped[int | None] = mapped_column(
        ForeignKey("menu_options.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (CheckConstraint("valid_from <= valid_until", name="validity"),)


class Menu(Base):
    """An IVR menu: digits → actions, with timeout and invalid-choice behaviour."""

    __tablename__ = "menus"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("menus.id", ondelete="CASCADE"), nullable=True
    )
    #: Prompt (of the service) that reads the choices out.
    prompt_kind: Mapped[str] = mapped_column(String(32), default="menu")
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=5)
    max_invalid: Mapped[int] = mapped_column(Integer, default=2)
    #: Queue taken when the caller chooses nothing (or fails ``max_invalid`` times).
    default_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"), nullable=True
    )
    service: Mapped[Service] = relationship(back_populates="menu", foreign_keys=[service_id])
    options: Mapped[list[MenuOption]] = relationship(
        back_populates="menu", cascade="all, delete-orphan", order_by="MenuOption.digit",
        foreign_keys="MenuOption.menu_id",
    )


class MenuOption(Base):
    __tablename__ = "menu_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    menu_id: Mapped[int] = mapped_column(ForeignKey("menus.id", ondelete="CASCADE"))
    digit: Mapped[str] = mapped_column(String(1))
    label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(16))
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"), nullable=True
    )
    #: Skill preferred when routing this choice (Trentino Digitale topics).
    skill: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: For action "message": the service's prompt to play, then goodbye.
    prompt_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    transfer_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    submenu_id: Mapped[int | None] = mapped_column(
        ForeignKey("menus.id", ondelete="CASCADE"), nullable=True
    )
    menu: Mapped[Menu] = relationship(back_populates="options", foreign_keys=[menu_id])

    __table_args__ = (
        UniqueConstraint("menu_id", "digit"),
        CheckConstraint(f"action IN {MENU_ACTIONS!r}", name="action"),
        CheckConstraint("digit IN ('0','1','2','3','4','5','6','7','8','9','*','#')",
                        name="digit"),
    )


class OfficeLine(Base):
    """An office's own number: rung first, overflowing to the contact center ("ricaduta")."""

    __tablename__ = "office_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    #: The number callers dial, digits only (a DID like any other).
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: SIP account of the office phone that rings first (also a transfer referent).
    endpoint: Mapped[str] = mapped_column(String(32), unique=True)
    #: HA1 digest of the office phone's SIP password; the clear password is not kept.
    sip_ha1: Mapped[str] = mapped_column(String(32), default="")
    #: Rings before the call overflows to the service's queue (the tender: 3rd-4th).
    rings: Mapped[int] = mapped_column(Integer, default=4)
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"), nullable=True
    )


class Queue(Base):
    """Where callers wait for the first free agent of a service."""

    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(16), default="longest_idle")
    rings_per_agent: Mapped[int] = mapped_column(Integer, default=4)
    #: Longest wait before the caller is offered voicemail with a call-back request.
    wait_limit_seconds: Mapped[int] = mapped_column(Integer, default=300)
    wrapup_seconds: Mapped[int] = mapped_column(Integer, default=10)
    announce_position: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_every_seconds: Mapped[int] = mapped_column(Integer, default=30)
    service: Mapped[Service] = relationship(back_populates="queues")

    __table_args__ = (CheckConstraint(f"strategy IN {ROUTING_STRATEGIES!r}", name="strategy"),)
