"""admin lifecycle: agents disabled or deleted (kept for their calls), sectors retired

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("enabled", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("deleted_at", models.base.UtcDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("service_sectors") as batch:
        batch.add_column(sa.Column("retired_at", models.base.UtcDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_sectors") as batch:
        batch.drop_column("retired_at")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("enabled")
