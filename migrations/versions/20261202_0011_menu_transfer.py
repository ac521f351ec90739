"""menu choices that ring an office phone: rings per choice, the phone rung on the call record

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): the config_version triggers on menu_options stay.
    op.add_column("menu_options", sa.Column("rings", sa.Integer(), nullable=True))
    op.add_column("calls", sa.Column("referent", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("referent")
    with op.batch_alter_table("menu_options") as batch:
        batch.drop_column("rings")
