"""Where tuning studies live: Optuna's storage beside the metadata store.

The tuner keeps its Optuna study (trials, suggested values, intermediate objective values,
pruning decisions) in the same database server as the metadata store, kept apart from
sagebox's own tables because both Optuna and sagebox version their schema with Alembic in a
table of the same name:

- PostgreSQL: the schema ``sagebox_studies`` of the metadata database (created on first use);
- SQLite: the file ``<metadata file stem>-studies.db`` beside the metadata file, in WAL mode
  with a busy timeout, so that readers (``sagebox tune describe``) never block the tuner.

Only a tuning job's own process writes to its study (trials are separate training jobs that
write to the metadata store), so parallel trials never contend for the study's write lock.

Example:
    >>> storage = open_study_storage("sqlite:////tmp/sb/sagebox.db")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox.backends.metadata._database import is_memory, parse_url
from sagebox.errors import ConfigError

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = ["POSTGRES_SCHEMA", "open_study_storage", "study_storage_url"]

POSTGRES_SCHEMA = "sagebox_studies"
_BUSY_SECONDS = 60.0


def study_storage_url(metadata_uri: str) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL and engine arguments of the study storage for ``metadata_uri``.

    Raises:
        ConfigError: for an in-memory metadata store (a tuning job runs in its own process,
            which cannot see it) or an unsupported URL.
    """
    url = parse_url(metadata_uri)
    if url.get_backend_name() == "sqlite":
        if is_memory(url) or not url.database:
            raise ConfigError(
                "tuning jobs need a metadata store on disk or a server, not in memory",
                hint="set SAGEBOX_METADATA_URI to sqlite:///path/sagebox.db or postgresql://...",
            )
        path = Path(url.database)
        studies = path.with_name(f"{path.stem}-studies.db")
        return f"sqlite:///{studies}", {"connect_args": {"timeout": _BUSY_SECONDS}}
    rendered = url.render_as_string(hide_password=False)
    return rendered, {
        "connect_args": {"options": f"-csearch_path={POSTGRES_SCHEMA}"},
        "pool_pre_ping": True,
    }


def _prepare(metadata_uri: str, url: str) -> None:
    """Create what the storage needs before Optuna connects (schema; WAL mode)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        with sqlite3.connect(path, timeout=_BUSY_SECONDS) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(parse_url(metadata_uri))
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}"))
    finally:
        engine.dispose()


@functools.lru_cache(maxsize=8)
def open_study_storage(metadata_uri: str) -> RDBStorage:
    """Optuna's storage for the studies of the metadata store at ``metadata_uri``.

    One per URI and process (cached): opening one creates an engine and checks Optuna's
    schema, which the CLI's live view would otherwise repeat every second.

    Raises:
        ConfigError: as :func:`study_storage_url`.
    """
    import optuna
    from optuna.storages import RDBStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, engine_kwargs = study_storage_url(metadata_uri)
    _prepare(metadata_uri, url)
    return RDBStorage(url, engine_kwargs=engine_kwargs)
