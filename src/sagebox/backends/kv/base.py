"""The online-store interface: the latest version of each record, by identifier, fast.

An online store keeps, per feature group and record identifier, one record: its event time,
an optional expiry time and its feature values (a JSON-serialisable dict). Writes are
*versioned by event time*: a record with an older event time than the stored one is ignored
(it still goes to the offline store), and a record with the same event time replaces the
stored one, so that re-ingesting the same data changes nothing. A batch is written
atomically: readers see all of it or none of it.

Implementations: SQLite (default, one file) and Redis (``redis://``).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OnlineRecord", "OnlineStore", "now_ns"]


def now_ns() -> int:
    """The current time in nanoseconds since the epoch."""
    return time.time_ns()


@dataclass
class OnlineRecord:
    """One record as the online store holds it.

    Attributes:
        key: the record identifier, as a string.
        event_ns: the record's event time (nanoseconds since the epoch).
        values: the feature values (empty for a deletion marker).
        expires_ns: when the record expires (None: never).
        deleted: whether this is a soft-deletion marker (read as absent).
    """

    key: str
    event_ns: int
    values: dict[str, Any] = field(default_factory=dict)
    expires_ns: int | None = None
    deleted: bool = False

    def live(self, at_ns: int) -> bool:
        """Whether a read at ``at_ns`` sees the record (not deleted, not expired)."""
        return not self.deleted and (self.expires_ns is None or self.expires_ns > at_ns)


class OnlineStore(abc.ABC):
    """Latest-version record storage per feature group.

    Example:
        >>> from sagebox.backends.kv import open_online_store
        >>> store = open_online_store("sqlite:///:memory:")
        >>> store.write_batch("reviews", [OnlineRecord("17", 1, {"rating": 5})])
        1
        >>> store.read("reviews", ["17", "18"])[0].values
        {'rating': 5}
    """

    #: the store's URI (password masked)
    uri: str

    @abc.abstractmethod
    def write_batch(self, group: str, records: list[OnlineRecord]) -> int:
        """Write ``records`` atomically; return how many replaced or added a record.

        A record whose event time is older than the stored one's is skipped. Of several
        records with one key in the batch, the one with the newest event time wins (the last
        of equals). Soft-deletion markers (``deleted=True``) are written like records.
        """

    @abc.abstractmethod
    def read(
        self, group: str, keys: list[str], at_ns: int | None = None
    ) -> list[OnlineRecord | None]:
        """The live record of each key (None if absent, deleted or expired at ``at_ns``).

        ``at_ns`` defaults to now.
        """

    @abc.abstractmethod
    def delete(self, group: str, keys: list[str]) -> int:
        """Remove the keys entirely (hard delete); return how many existed."""

    @abc.abstractmethod
    def drop_group(self, group: str) -> int:
        """Remove every record of a feature group; return how many there were."""

    @abc.abstractmethod
    def count(self, group: str) -> int:
        """How many records (including deletion markers and expired ones) a group holds."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def newest_per_key(records: list[OnlineRecord]) -> list[OnlineRecord]:
    """Of several records per key, the one with the newest event time (the last of equals)."""
    best: dict[str, OnlineRecord] = {}
    for record in records:
        held = best.get(record.key)
        if held is None or record.event_ns >= held.event_ns:
            best[record.key] = record
    return list(best.values())
