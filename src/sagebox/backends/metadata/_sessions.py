"""A migrated SQL database with read and write sessions, for stores that share the metadata DB.

The metadata store, the data catalog and the query history keep their tables in one database
(one Alembic migration chain); each opens it through :class:`SqlDatabase`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sagebox.backends.metadata._engine import create_store_engine, parse_url, unavailable_error
from sagebox.backends.metadata._migrate import upgrade_to_head

__all__ = ["SqlDatabase"]


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
        """The URL with its password masked."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def unavailable_as_error(self) -> Iterator[None]:
        """Turn "cannot reach or lock the database" into ServiceUnavailableError."""
        from sagebox.backends.metadata.sql import _is_unavailable

        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if _is_unavailable(exc):
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
