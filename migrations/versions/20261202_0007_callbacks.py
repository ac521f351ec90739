"""call-backs from the agent desktop: one row per attempt

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("ringing_agent", "dialling", "connected", "ended")
RESULTS = ("answered", "no_answer", "busy", "failed", "agent_missed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("voicemail_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("caller_id", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("agent_answered_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("hung_up_by", sa.String(length=8), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"state IN {STATES!r}", name=op.f("ck_callbacks_state")),
        sa.CheckConstraint(f"result IS NULL OR result IN {RESULTS!r}",
                           name=op.f("ck_callbacks_result")),
        sa.ForeignKeyConstraint(["voicemail_id"], ["voicemails.id"], ondelete="SET NULL",
                                name=op.f("fk_callbacks_voicemail_id_voicemails")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="SET NULL",
                                name=op.f("fk_callbacks_call_id_calls")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="SET NULL",
                                name=op.f("fk_callbacks_service_id_services")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="SET NULL",
                                name=op.f("fk_callbacks_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index(op.f("ix_callbacks_voicemail_id"), "callbacks", ["voicemail_id"])
    op.create_index(op.f("ix_callbacks_call_id"), "callbacks", ["call_id"])
    op.create_index(op.f("ix_callbacks_agent_id"), "callbacks", ["agent_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_callbacks_agent_id"), table_name="callbacks")
    op.drop_index(op.f("ix_callbacks_call_id"), table_name="callbacks")
    op.drop_index(op.f("ix_callbacks_voicemail_id"), table_name="callbacks")
    op.drop_table("callbacks")
