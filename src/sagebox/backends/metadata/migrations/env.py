"""Alembic environment of the metadata store.

The store runs migrations itself and passes its open connection in
``config.attributes["connection"]``. For writing a new migration by hand, set
``sqlalchemy.url`` on the Config instead, e.g.::

    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "src/sagebox/backends/metadata/migrations")
    cfg.set_main_option("sqlalchemy.url", "sqlite:///dev.db")
    command.revision(cfg, "add a column", autogenerate=True)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from sagebox.backends.metadata._orm import Base, load_models

load_models()
config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite can only ALTER tables by copying them, which batch mode does.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``) instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the store's connection, or on ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
