"""when a service's mode last changed (services.mode_since), for the desk's look back;
a web user's language (web_users.language)

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite too): no table copy, so the config_version triggers stay.
    op.add_column("services", sa.Column("mode_since", models.base.UtcDateTime(timezone=True),
                                        nullable=True))
    op.add_column("web_users", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("mode_since")
