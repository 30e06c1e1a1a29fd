"""Bring a metadata database to the newest schema with the Alembic migrations shipped here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from sagebox.errors import ConfigError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "upgrade_to_head"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest migration's revision (a test checks). Knowing it here lets an up-to-date database
# open without importing alembic, which would cost a CLI command about a second.
HEAD_REVISION = "0006"
# Arbitrary constant: PostgreSQL advisory locks are keyed by one bigint per database.
_PG_LOCK_KEY = 0x5A6EB0C5


def upgrade_to_head(reader: Engine, writer: Engine) -> None:
    """Run ``alembic upgrade head`` unless the database is already there.

    Several processes may open a fresh database at once, so the check is repeated inside a
    transaction that holds the database's write lock (SQLite ``BEGIN IMMEDIATE`` via
    ``writer``) or an advisory lock (PostgreSQL): exactly one of them migrates.

    Raises:
        ConfigError: if the database was migrated by a newer sagebox.
    """
    with reader.connect() as conn:
        if _stored_revisions(conn) == [HEAD_REVISION]:
            return

    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        current = _current_revision(conn)
        if current == head:
            return
        if current is not None and not _known(script, current):
            raise ConfigError(
                f"the metadata database is at schema revision {current!r}, which this version "
                "of sagebox does not know",
                hint="upgrade sagebox (pip install -U sagebox) or use another metadata URI",
            )
        # The transaction is ours, so alembic runs inside it and we commit (or roll back) it.
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _stored_revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False
