"""Commit protocol of multi-file datasets: what readers must not see yet, or any more.

A dataset folder written by :func:`sagebox.lake.to_parquet` holds a small state object,
``_sagebox_dataset.json``, naming the files of writes still in progress (``pending``) and the
files that a committed overwrite replaced but that are not deleted yet (``removed``). Readers
skip both, so a write becomes visible all at once, when the state object (one atomic PUT or
rename) is replaced: before that moment readers see the old data, after it the new data, and a
write that fails on the way leaves the old data untouched. Files put into the folder by other
means (``sagebox lake put``) stay visible.

One writer per dataset at a time is assumed; two concurrent writers may hide each other's
files until the next overwrite.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sagebox.errors import InputDataError, NotFoundError

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo, ObjectStore

__all__ = ["STATE_NAME", "DatasetState", "Transaction", "join_key", "visible"]

STATE_NAME = "_sagebox_dataset.json"


def join_key(folder: str, name: str) -> str:
    """``folder/name``, or ``name`` at the store root."""
    folder = folder.strip("/")
    return f"{folder}/{name}" if folder else name


@dataclass
class DatasetState:
    """The hidden files of one dataset folder (keys relative to the folder)."""

    pending: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def hidden(self) -> set[str]:
        """Every key readers must skip."""
        out = set(self.removed)
        for keys in self.pending.values():
            out.update(keys)
        return out

    @classmethod
    def read(cls, store: ObjectStore, folder: str) -> DatasetState:
        """The folder's state; empty if it has none.

        Raises:
            InputDataError: if the state object is not valid JSON of the expected shape.
        """
        key = join_key(folder, STATE_NAME)
        try:
            raw = store.read_bytes(key)
        except NotFoundError:
            return cls()
        try:
            data = json.loads(raw)
            return cls(
                pending={str(k): [str(x) for x in v] for k, v in data["pending"].items()},
                removed=[str(x) for x in data["removed"]],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputDataError(
                f"{store.url(key)} is not a valid dataset state ({exc})",
                hint=f"delete it (sagebox lake rm {store.url(key)}) if no write is running",
            ) from exc

    def write(self, store: ObjectStore, folder: str) -> None:
        """Replace the folder's state atomically (or delete it when empty)."""
        key = join_key(folder, STATE_NAME)
        if not self.pending and not self.removed:
            with suppress(NotFoundError):
                store.delete(key)
            return
        body = {
            "pending": self.pending,
            "removed": sorted(set(self.removed)),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        store.write_bytes(key, json.dumps(body, indent=1).encode("utf-8"))


def visible(store: ObjectStore, infos: Iterable[ObjectInfo]) -> list[ObjectInfo]:
    """Drop the files that dataset states among ``infos`` hide (pending or removed)."""
    infos = list(infos)
    folders = [
        info.key[: -len(STATE_NAME)].rstrip("/")
        for info in infos
        if info.key == STATE_NAME or info.key.endswith("/" + STATE_NAME)
    ]
    if not folders:
        return infos
    hidden: set[str] = set()
    for folder in folders:
        hidden.update(join_key(folder, k) for k in DatasetState.read(store, folder).hidden())
    return [info for info in infos if info.key not in hidden]


class Transaction:
    """One write to a dataset folder: announce, write, then commit or abort.

    Example:
        >>> tx = Transaction(store, "curated/reviews")  # doctest: +SKIP
        >>> tx.begin(["part-1.parquet"]); store.write_bytes(...); tx.commit(replaced=[])
    """

    def __init__(self, store: ObjectStore, folder: str) -> None:
        self.store = store
        self.folder = folder.strip("/")
        self.txid = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
        self.planned: list[str] = []

    def begin(self, planned: list[str]) -> None:
        """Record the files about to be written as pending, before writing any of them."""
        self.planned = list(planned)
        state = DatasetState.read(self.store, self.folder)
        state.pending[self.txid] = self.planned
        state.write(self.store, self.folder)

    def commit(self, replaced: list[str]) -> int:
        """Make the new files visible and ``replaced`` invisible at once; then delete those.

        Returns:
            How many replaced files were deleted (the others stay hidden, to be retried).
        """
        state = DatasetState.read(self.store, self.folder)
        state.pending.pop(self.txid, None)
        state.removed = sorted(set(state.removed) | set(replaced))
        state.write(self.store, self.folder)  # the commit point
        deleted = []
        for rel in list(state.removed):
            try:
                self.store.delete(join_key(self.folder, rel))
                deleted.append(rel)
            except NotFoundError:
                deleted.append(rel)
            except Exception:  # noqa: BLE001 - stays hidden; the next commit retries it
                continue
        if deleted:
            state = DatasetState.read(self.store, self.folder)
            state.removed = [k for k in state.removed if k not in set(deleted)]
            state.write(self.store, self.folder)
        return len(deleted)

    def abort(self) -> None:
        """Delete what was written (best effort) and forget the pending files."""
        # Best effort: what cannot be deleted stays hidden by the pending entry anyway.
        for rel in self.planned:
            with suppress(Exception):
                self.store.delete(join_key(self.folder, rel))
        with suppress(Exception):
            state = DatasetState.read(self.store, self.folder)
            state.pending.pop(self.txid, None)
            state.write(self.store, self.folder)
