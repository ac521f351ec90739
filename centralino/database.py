"""Schema upgrades through Alembic: migrations are the only way the schema changes."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError

from centralino.errors import CentralinoError
from centralino.paths import MIGRATIONS_DIR, PROJECT_ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a database that cannot be reached is one clear line."""
    try:
        command.upgrade(alembic_config(url), revision)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CentralinoError(f"cannot upgrade the database schema: {reason}") from None
