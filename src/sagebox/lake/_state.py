"""Commit protocol of multi-file datasets: what readers must not see yet, or any more.

A dataset folder written by :func:`sagebox.lake.to_parquet` holds a small state object,
``_sagebox_dataset.json``, naming the files of writes still in progress (``pending``) and the
files that a committed overwrite replaced but that are not deleted yet (``removed``). Readers
skip both, so a write becomes visible all at once, when the state object (one atomic PUT or
rename) is replaced: before that moment readers see the old data, after it the new data, and a
write that fails on the way leaves the old data untouched. Files put into the folder by other
means (``sagebox lake put``) stay visible.

Concurrent writers are safe: every change of the state is a compare-and-set
(:meth:`ObjectStore.write_bytes_if`: a conditional PUT on S3, a lock file locally), retried on
conflict, so no writer's change overwrites another's. Each pending write records its writer
(host, pid, start time); a write whose writer died (same host and its process is gone, or older
than :data:`STALE_AFTER`) is rolled back by the next write to the dataset or by
``sagebox lake vacuum``: its files become ``removed`` (still hidden) and are deleted.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sagebox.backends.compute.lifetime import pid_alive
from sagebox.errors import InputDataError, JobError, NotFoundError, ServiceUnavailableError

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo, ObjectStore

__all__ = [
    "STALE_AFTER",
    "STATE_NAME",
    "DatasetState",
    "Transaction",
    "join_key",
    "purge",
    "update_state",
    "visible",
]

STATE_NAME = "_sagebox_dataset.json"
#: a pending write older than this (seconds) whose writer cannot be checked is dead
STALE_AFTER = 6 * 3600.0
#: how long a state update keeps retrying against other writers (seconds)
UPDATE_DEADLINE = 120.0

T = TypeVar("T")


def join_key(folder: str, name: str) -> str:
    """``folder/name``, or ``name`` at the store root."""
    folder = folder.strip("/")
    return f"{folder}/{name}" if folder else name


@dataclass
class DatasetState:
    """The hidden files of one dataset folder (keys relative to the folder)."""

    pending: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    #: txid → {"host", "pid", "started" (epoch s)} of each pending write
    writers: dict[str, dict[str, Any]] = field(default_factory=dict)

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
        return cls.read_versioned(store, folder)[0]

    @classmethod
    def read_versioned(cls, store: ObjectStore, folder: str) -> tuple[DatasetState, str | None]:
        """The folder's state and its version (``None`` if it has no state object)."""
        key = join_key(folder, STATE_NAME)
        try:
            raw, version = store.read_versioned(key)
        except NotFoundError:
            return cls(), None
        try:
            data = json.loads(raw)
            state = cls(
                pending={str(k): [str(x) for x in v] for k, v in data["pending"].items()},
                removed=[str(x) for x in data["removed"]],
                writers={str(k): dict(v) for k, v in data.get("writers", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputDataError(
                f"{store.url(key)} is not a valid dataset state ({exc})",
                hint=f"delete it (sagebox lake rm {store.url(key)}) if no write is running",
            ) from exc
        return state, version

    def dump(self) -> bytes:
        """The state object's content."""
        body = {
            "pending": self.pending,
            "removed": sorted(set(self.removed)),
            "writers": {k: v for k, v in self.writers.items() if k in self.pending},
            "updated_at": datetime.now(UTC).isoformat(),
        }
        return json.dumps(body, indent=1).encode("utf-8")

    def dead(self, older_than: float = STALE_AFTER) -> list[str]:
        """The pending writes whose writer died.

        A writer on this host is dead when its process is gone (or it is older than
        :data:`STALE_AFTER`, against pid reuse); a writer elsewhere, or one recorded without
        its writer, when it started more than ``older_than`` seconds ago.
        """
        now, host = time.time(), socket.gethostname()
        out = []
        for txid in self.pending:
            writer = self.writers.get(txid, {})
            started = _float(writer.get("started")) or _started_of(txid)
            age = now - started if started is not None else float("inf")
            if writer.get("host") == host and isinstance(writer.get("pid"), int):
                if not pid_alive(int(writer["pid"])) or age > max(older_than, STALE_AFTER):
                    out.append(txid)
            elif age >= older_than:
                out.append(txid)
        return out

    def roll_back(self, txids: Iterable[str]) -> list[str]:
        """Move the files of ``txids`` from pending to removed (hidden, to be deleted)."""
        moved: list[str] = []
        for txid in txids:
            moved += self.pending.pop(txid, [])
            self.writers.pop(txid, None)
        self.removed = sorted(set(self.removed) | set(moved))
        return moved


def update_state(
    store: ObjectStore, folder: str, change: Callable[[DatasetState], T]
) -> tuple[DatasetState, T]:
    """Apply ``change`` to the folder's state atomically (compare-and-set, retried).

    ``change`` may run several times (on a fresh state each time) and may raise to give up.

    Raises:
        ServiceUnavailableError: other writers kept changing the state for
            :data:`UPDATE_DEADLINE` seconds.
    """
    key = join_key(folder, STATE_NAME)
    deadline = time.monotonic() + UPDATE_DEADLINE
    delay = 0.01
    while True:
        state, version = DatasetState.read_versioned(store, folder)
        result = change(state)
        if store.write_bytes_if(key, state.dump(), version):
            return state, result
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(
                f"could not update {store.url(key)}: other writers kept changing it",
                hint="retry the write; fewer concurrent writers to one dataset help",
            )
        time.sleep(random.uniform(0, delay))  # jittered backoff against the other writers
        delay = min(delay * 2, 0.5)


def purge(store: ObjectStore, folder: str) -> list[str]:
    """Delete the folder's ``removed`` files, then forget them; return those deleted."""
    state = DatasetState.read(store, folder)
    deleted = []
    for rel in state.removed:
        try:
            store.delete(join_key(folder, rel))
            deleted.append(rel)
        except NotFoundError:
            deleted.append(rel)
        except Exception:  # noqa: BLE001 - stays hidden; the next commit or vacuum retries it
            continue
    if deleted:
        gone = set(deleted)

        def forget(current: DatasetState) -> None:
            current.removed = [k for k in current.removed if k not in gone]

        update_state(store, folder, forget)
    return deleted


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _started_of(txid: str) -> float | None:
    """The start time a txid (``20250101T120000-abcd1234``) carries."""
    try:
        return datetime.strptime(txid[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


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
        """Record the files about to be written as pending, before writing any of them.

        Dead writes found in the state are rolled back on the way (their files deleted).
        """
        self.planned = list(planned)
        writer = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}

        def announce(state: DatasetState) -> list[str]:
            dead = state.roll_back(state.dead())
            state.pending[self.txid] = self.planned
            state.writers[self.txid] = writer
            return dead

        _, dead = update_state(self.store, self.folder, announce)
        if dead:
            purge(self.store, self.folder)

    def commit(self, replaced: list[str] | Callable[[], list[str]]) -> int:
        """Make the new files visible and ``replaced`` invisible at once; then delete those.

        ``replaced`` may be a function, called at the commit point (again on each retry), so
        an overwrite replaces what is visible when it commits, not when it started.

        Returns:
            How many replaced files were deleted (the others stay hidden, to be retried).

        Raises:
            JobError: if this write was rolled back meanwhile (taken for dead).
        """

        def publish(state: DatasetState) -> set[str]:
            if self.txid not in state.pending:
                raise JobError(
                    f"the write to {self.store.url(self.folder)} was rolled back before its "
                    "commit (taken for a dead writer)",
                    hint="write again; the dataset keeps its previous data",
                )
            state.pending.pop(self.txid)
            state.writers.pop(self.txid, None)
            mine = set(self.planned)
            old = [rel for rel in (replaced() if callable(replaced) else replaced)]
            old = [rel for rel in old if rel not in mine]
            state.removed = sorted(set(state.removed) | set(old))
            return set(old)

        _, old = update_state(self.store, self.folder, publish)  # the commit point
        deleted = purge(self.store, self.folder)
        return len(old & set(deleted))

    def abort(self) -> None:
        """Roll this write back: hide what it wrote as removed, then delete it (best effort)."""
        with suppress(Exception):
            update_state(self.store, self.folder, lambda state: state.roll_back([self.txid]))
            purge(self.store, self.folder)
