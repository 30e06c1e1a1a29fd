"""The SQLite online store (the default): one table in one local database file.

Records are upserted with ``ON CONFLICT ... WHERE excluded.event_ns >= event_ns``, so an older
event time never replaces a newer one, and each batch is one ``BEGIN IMMEDIATE`` transaction,
so readers (other threads or processes: WAL mode) see a batch completely or not at all.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path

from sagebox.backends.kv.base import OnlineRecord, OnlineStore, newest_per_key, now_ns
from sagebox.config import create_private_database, make_private_dir
from sagebox.errors import ConfigError, ServiceUnavailableError

__all__ = ["SqliteOnlineStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_records (
    grp TEXT NOT NULL,
    rkey TEXT NOT NULL,
    event_ns INTEGER NOT NULL,
    expires_ns INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    PRIMARY KEY (grp, rkey)
) WITHOUT ROWID
"""
_UPSERT = """
INSERT INTO online_records (grp, rkey, event_ns, expires_ns, deleted, payload)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (grp, rkey) DO UPDATE SET
    event_ns = excluded.event_ns,
    expires_ns = excluded.expires_ns,
    deleted = excluded.deleted,
    payload = excluded.payload
WHERE excluded.event_ns >= online_records.event_ns
"""
_CHUNK = 500  # SQLite's default limit on bound parameters is 999 (older builds)


class SqliteOnlineStore(OnlineStore):
    """Online records in a SQLite file (``sqlite:///path``) or in memory (``sqlite:///:memory:``).

    One connection is shared by the threads of a process (SQLite serialises writers anyway).
    See :class:`OnlineStore`.

    Example:
        >>> store = SqliteOnlineStore("sqlite:///:memory:")
        >>> store.write_batch("g", [OnlineRecord("1", 10, {"x": 1})])
        1
    """

    def __init__(self, uri: str, busy_timeout: float = 30.0) -> None:
        scheme, _, rest = uri.partition("://")
        if scheme.lower() != "sqlite" or not rest.startswith("/"):
            raise ConfigError(
                f"invalid SQLite online store URI {uri!r}",
                hint="use sqlite:///absolute/path/online.db or sqlite:///:memory:",
            )
        path = rest[1:]
        self.uri = uri
        if path not in ("", ":memory:"):
            make_private_dir(Path(path).parent)
            with contextlib.suppress(OSError):  # SQLite reports an unusable path itself
                create_private_database(Path(path))
        try:
            self._conn = sqlite3.connect(
                path or ":memory:",
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ServiceUnavailableError(
                f"cannot open the SQLite online store {path}: {exc}",
                hint="check that the directory is writable",
            ) from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({self.uri!r})"

    def write_batch(self, group: str, records: list[OnlineRecord]) -> int:
        rows = [
            (
                group,
                r.key,
                int(r.event_ns),
                r.expires_ns,
                int(r.deleted),
                json.dumps(r.values, separators=(",", ":")),
            )
            for r in newest_per_key(records)
        ]
        if not rows:
            return 0
        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return self._conn.total_changes - before

    def read(
        self, group: str, keys: list[str], at_ns: int | None = None
    ) -> list[OnlineRecord | None]:
        at = now_ns() if at_ns is None else at_ns
        found: dict[str, OnlineRecord] = {}
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self._conn.execute(
                    "SELECT rkey, event_ns, expires_ns, deleted, payload FROM online_records "
                    f"WHERE grp = ? AND rkey IN ({marks})",
                    [group, *chunk],
                )
                for key, event_ns, expires_ns, deleted, payload in cursor:
                    found[key] = OnlineRecord(
                        key, event_ns, json.loads(payload), expires_ns, bool(deleted)
                    )
        out: list[OnlineRecord | None] = []
        for key in keys:
            record = found.get(key)
            out.append(record if record is not None and record.live(at) else None)
        return out

    def delete(self, group: str, keys: list[str]) -> int:
        deleted = 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    cursor = self._conn.execute(
                        f"DELETE FROM online_records WHERE grp = ? AND rkey IN ({marks})",
                        [group, *chunk],
                    )
                    deleted += cursor.rowcount
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return deleted

    def drop_group(self, group: str) -> int:
        with self._lock:
            cursor = self._conn.execute("DELETE FROM online_records WHERE grp = ?", [group])
            return int(cursor.rowcount)

    def count(self, group: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM online_records WHERE grp = ?", [group]
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
