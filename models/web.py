"""People who use the web interface, their sessions, failed logins and the audit log.

Kept in the database (not in memory) so that a restart neither logs everyone out
nor forgets the failed logins that rate-limit a password guesser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime

WEB_ROLES = ("admin", "supervisor", "agent")


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: argon2id hash (PHC string); the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(200))
    #: For role agent: the contact-center operator this login belongs to.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The pages' language the user chose ("it", "en"); None: the browser's, else Italian.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)

    __table_args__ = (CheckConstraint(f"role IN {WEB_ROLES!r}", name="role"),)


class WebSession(Base):
    """A logged-in browser. Only a hash of the cookie's token is kept: a copy of the
    database does not let anyone take over a session."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    #: Sent back in every form of this session, checked on every POST.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginFailure(Base):
    """One wrong password (or unknown user) from one address: the login rate limit counts them."""

    __tablename__ = "web_login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_web_login_failures_who", "username", "address", "at"),)


class AuditEntry(Base):
    """Who changed what, when, with the object before and after: also what a rollback uses."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    username: Mapped[str] = mapped_column(String(32))
    #: e.g. ``prompt.text``, ``prompt.upload``, ``service.mode``, ``notice.add``, ``restore``.
    action: Mapped[str] = mapped_column(String(32))
    #: The object changed, e.g. ``prompt``, and its key, e.g. ``apiae/welcome``.
    object_type: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
