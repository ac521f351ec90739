"""config version counter, bumped by triggers on the configuration tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a later change to models.CONFIG_TABLES gets a migration of its own.
CONFIG_TABLES = (
    "services", "service_dids", "service_windows", "closures", "prompts", "notices",
    "menus", "menu_options", "office_lines", "queues",
)


def upgrade() -> None:
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
    )
    op.execute("INSERT INTO config_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION centralino_bump_config_version() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE config_version SET version = version + 1 WHERE id = 1;
                RETURN NULL;
            END $$""")
        for table in CONFIG_TABLES:
            op.execute(f"CREATE TRIGGER config_version_bump AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION centralino_bump_config_version()")
    else:
        for table in CONFIG_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER config_version_{table}_{event.lower()} "
                           f"AFTER {event} ON {table} BEGIN "
                           f"UPDATE config_version SET version = version + 1 WHERE id = 1; "
                           f"END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CONFIG_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS config_version_bump ON {table}")
        op.execute("DROP FUNCTION IF EXISTS centralino_bump_config_version()")
    else:
        for table in CONFIG_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS config_version_{table}_{event}")
    op.drop_table("config_version")
