"""agent desktop: service sectors, a call's classification and callback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_sectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE",
                                name=op.f("fk_service_sectors_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sectors")),
        sa.UniqueConstraint("service_id", "name", name=op.f("uq_service_sectors_service_id")),
    )
    op.create_index(op.f("ix_service_sectors_service_id"), "service_sectors", ["service_id"])
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("classification", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("callback_done_at", models.base.UtcDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("callback_done_at")
        batch.drop_column("classification")
    op.drop_index(op.f("ix_service_sectors_service_id"), table_name="service_sectors")
    op.drop_table("service_sectors")
