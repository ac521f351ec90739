"""agent desktop extras: forward forms, sector mailboxes, who called an abandoned call back

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("created_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("surname", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("call_day", sa.Date(), nullable=False),
        sa.Column("call_time", sa.String(length=5), nullable=False),
        sa.Column("person_sought", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("sent_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="SET NULL",
                                name=op.f("fk_forwards_call_id_calls")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="SET NULL",
                                name=op.f("fk_forwards_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forwards")),
    )
    op.create_index(op.f("ix_forwards_call_id"), "forwards", ["call_id"])
    op.create_index(op.f("ix_forwards_agent_id"), "forwards", ["agent_id"])
    with op.batch_alter_table("service_sectors") as batch:
        batch.add_column(sa.Column("mailbox", sa.String(length=254), nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("callback_done_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_calls_callback_done_by_agents"), "agents",
                                 ["callback_done_by"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint(op.f("fk_calls_callback_done_by_agents"), type_="foreignkey")
        batch.drop_column("callback_done_by")
    with op.batch_alter_table("service_sectors") as batch:
        batch.drop_column("mailbox")
    op.drop_index(op.f("ix_forwards_agent_id"), table_name="forwards")
    op.drop_index(op.f("ix_forwards_call_id"), table_name="forwards")
    op.drop_table("forwards")
