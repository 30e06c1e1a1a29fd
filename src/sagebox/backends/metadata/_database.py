"""The one SQL database behind every metadata-family store: engine, sessions, migration, errors.

The metadata store, the catalog, the feature-group store and the query history keep their
tables in one database (one Alembic migration chain); each SQL store opens it through
:class:`SqlDatabase`, which checks the URL, configures SQLite for several processes, migrates
the schema to the newest revision and maps "cannot reach or lock the database" onto
:class:`~sagebox.errors.ServiceUnavailableError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from sagebox.backends.metadata._migrate import upgrade_to_head
from sagebox.config import create_private_database, make_private_dir
from sagebox.errors import ConfigError, ServiceUnavailableError

__all__ = [
    "SqlDatabase",
    "create_store_engine",
    "describe",
    "is_unavailable",
    "parse_url",
    "unavailable_error",
]

_URL_HINT = "use sqlite:///path/to/sagebox.db or postgresql://user@host:port/database"
_POSTGRES_ALIASES = ("postgresql", "postgres")


def parse_url(url: str) -> URL:
    """Parse a metadata URL; plain ``postgresql://`` gets the psycopg 3 driver.

    Raises:
        ConfigError: if the URL cannot be parsed or names another database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot parse the metadata URI {url!r}", hint=_URL_HINT) from exc
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(
            f"the SQL metadata store supports SQLite and PostgreSQL, not {shown!r}", hint=_URL_HINT
        )
    return parsed


def is_memory(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database."""
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def create_store_engine(url: URL, *, connect_timeout: float, busy_timeout: float) -> Engine:
    """Create the engine for ``url``, configured for several processes sharing one database.

    SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and the store
    emits ``BEGIN`` itself so that a write transaction can ``BEGIN IMMEDIATE``: it takes the
    write lock up front, which makes read-modify-write updates atomic across processes.

    Raises:
        ConfigError: if the database driver is not installed.
    """
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    try:
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except ImportError as exc:
        raise ConfigError(
            f"the PostgreSQL metadata store needs the {exc.name or 'psycopg'} package",
            hint="install it with pip install 'sagebox[postgres]'",
        ) from exc


def _sqlite_engine(url: URL, busy_timeout: float) -> Engine:
    memory = is_memory(url)
    if not memory and not url.query.get("uri") and url.database:
        folder = Path(url.database).parent
        try:
            make_private_dir(folder)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder {str(folder)!r} of the SQLite metadata database "
                f"{url.database!r}: {exc.strerror or type(exc).__name__}",
                hint="point SAGEBOX_METADATA_URI at a file in a folder you can write, e.g. "
                "sqlite:///$HOME/.sagebox/sagebox.db",
            ) from None
        with contextlib.suppress(OSError):  # SQLite reports an unusable path itself
            create_private_database(Path(url.database))
    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout, "check_same_thread": False}}
    if memory:
        # One shared connection, or every checkout would see a different empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    busy_ms = int(busy_timeout * 1000)

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own; on_begin does
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, and faster
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def describe(url: URL) -> str:
    """Where the database is, for messages: a file path or ``host:port/database``."""
    if url.get_backend_name() == "sqlite":
        return ":memory:" if is_memory(url) else str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def unavailable_error(url: URL, exc: DBAPIError) -> ServiceUnavailableError:
    """A one-line :class:`ServiceUnavailableError` for a failed connection or a locked file."""
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc.orig).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    where = describe(url)
    if url.get_backend_name() == "sqlite":
        return ServiceUnavailableError(
            f"the SQLite metadata database {where} is unavailable: {reason}",
            hint="check that the file is writable and not held locked by a stuck process",
        )
    return ServiceUnavailableError(
        f"cannot reach the PostgreSQL metadata database at {where}: {reason}",
        hint="start the server, or point SAGEBOX_METADATA_URI at a reachable database",
    )


_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "readonly", "disk i/o")


def is_unavailable(exc: DBAPIError) -> bool:
    """Whether ``exc`` means "cannot reach or lock the database" rather than a bad statement."""
    import sqlite3

    if isinstance(exc.orig, sqlite3.OperationalError):
        return any(word in str(exc.orig).lower() for word in _SQLITE_UNAVAILABLE)
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc.orig, psycopg.OperationalError)


class SqlDatabase:
    """An engine on a metadata URL, migrated to the newest schema on open.

    Args:
        url: ``sqlite:///path``, ``sqlite:///:memory:`` or ``postgresql://...``.
        connect_timeout: seconds to wait for a PostgreSQL server.
        busy_timeout: seconds a SQLite statement waits for another process's lock.

    Raises:
        ConfigError: if the URL is malformed or its driver is missing.
        ServiceUnavailableError: if the database cannot be reached.

    Example:
        >>> db = SqlDatabase("sqlite:///:memory:")
        >>> with db.session(write=True) as session:
        ...     pass
    """

    def __init__(self, url: str, *, connect_timeout: float = 5.0, busy_timeout: float = 30.0):
        self.url = parse_url(url)
        self.engine = create_store_engine(
            self.url, connect_timeout=connect_timeout, busy_timeout=busy_timeout
        )
        writer = self.engine
        if self.url.get_backend_name() == "sqlite":
            writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(writer, expire_on_commit=False)
        try:
            with self.unavailable_as_error():
                upgrade_to_head(self.engine, writer)
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def masked_url(self) -> str:
        """The URL with its password masked, e.g. ``postgresql+psycopg://u:***@h/db``."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def unavailable_as_error(self) -> Iterator[None]:
        """Turn "cannot reach or lock the database" into ServiceUnavailableError."""
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if is_unavailable(exc):
                raise unavailable_error(self.url, exc) from exc
            raise

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A transaction: committed at the end of the block, rolled back on an exception.

        ``write=True`` takes SQLite's write lock up front, so read-modify-write is atomic.
        """
        maker = self._writer if write else self._reader
        with self.unavailable_as_error(), maker.begin() as session:
            yield session

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()
