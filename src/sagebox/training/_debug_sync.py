"""Move a training job's debug directory between this machine and its lake prefix.

On one machine the job runner's debug directory is where the data is written, and
:class:`DebugOutputSync` copies it *up* while the job runs: event files only grow, so each sync
uploads the files whose size or modification time changed since the last one (see
:class:`sagebox.training.checkpoint_sync.CheckpointSync`, whose diff this reuses); a final sync
runs when the job ends, however it ends.

On a cluster the nodes write the data and upload it themselves (each node its own files,
``<stream>/algo-N.jsonl``), and :class:`DebugOutputPull` copies it *down* into the runner's
debug directory, where the rules read it: each pull downloads the objects whose size or
modification time changed since the last one. Downloads replace a file atomically, and an
uploaded event file is always a prefix of the node's file, so a reader that stops at the last
complete line (:class:`sagebox.debugger.events.EventReader`) never sees half a record.

The lake prefix is :func:`sagebox.debugger.events.debug_output_prefix`.

Example:
    >>> sync = DebugOutputSync(session.storage, "jobs/train-1/debug-output", work / "debug")
    >>> with sync.running():
    ...     train()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sagebox.backends.storage.base import ObjectStore
from sagebox.errors import InputDataError
from sagebox.training.checkpoint_sync import CheckpointSync

__all__ = ["DebugOutputPull", "DebugOutputSync"]


class DebugOutputSync:
    """Uploads new debug data from ``local_dir`` to ``prefix`` every ``interval`` seconds.

    Args:
        storage: the lake.
        prefix: lake key prefix (``jobs/<job>/debug-output/``).
        local_dir: the job's debug directory.
        interval: seconds between background syncs.
        log: where sync failures are reported (they are retried at the next sync).
    """

    def __init__(
        self,
        storage: ObjectStore,
        prefix: str,
        local_dir: Path,
        interval: float = 15.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.interval = interval
        self.log = log
        self._mirror = CheckpointSync(storage, prefix, local_dir)

    @property
    def prefix(self) -> str:
        """The lake prefix, with a trailing slash."""
        return self._mirror.prefix

    def sync(self) -> int:
        """Upload what changed; return how many objects changed."""
        return self._mirror.sync()

    @contextmanager
    def running(self) -> Iterator[DebugOutputSync]:
        """Sync in a background thread while the block runs, and once more when it exits."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.interval):
                self._safe_sync()

        thread = threading.Thread(target=loop, name="debug-output-sync", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self._safe_sync()

    def _safe_sync(self) -> None:
        try:
            self.sync()
        except Exception as exc:  # noqa: BLE001 - debug data must never fail the training
            self.log(f"debug output sync failed (will retry): {exc}")


class DebugOutputPull:
    """Downloads what changed under ``prefix`` into ``local_dir`` (the runner on a cluster).

    Args:
        storage: the lake.
        prefix: lake key prefix (``jobs/<job>/debug-output/``).
        local_dir: the runner's debug directory.
        interval: :meth:`maybe_pull` lists the prefix at most this often (the nodes upload
            every ``log_upload_seconds``, so listing more often finds nothing new).
        log: where pull failures are reported (they are retried at the next pull).
    """

    def __init__(
        self,
        storage: ObjectStore,
        prefix: str,
        local_dir: Path,
        interval: float = 5.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.storage = storage
        self.prefix = prefix.strip("/") + "/"
        self.local_dir = local_dir
        self.interval = interval
        self.log = log
        self._seen: dict[str, tuple[int, float | None]] = {}
        self._pulled: float | None = None
        self._lock = threading.Lock()

    def pull(self) -> int:
        """Download the objects new or changed since the last pull; return how many."""
        with self._lock:
            root = self.local_dir.resolve()
            count = 0
            for info in self.storage.list(self.prefix):
                if info.key.endswith("/"):
                    continue
                signature = (info.size, info.modified)
                if self._seen.get(info.key) == signature:
                    continue
                target = (root / info.key[len(self.prefix) :]).resolve()
                if not target.is_relative_to(root):
                    raise InputDataError(
                        f"debug output object {info.key!r} leaves the debug directory",
                        hint="remove it from the lake",
                    )
                self.storage.download(info.key, target)  # atomic: written aside, then renamed
                self._seen[info.key] = signature
                count += 1
            self._pulled = time.monotonic()
            return count

    def maybe_pull(self, final: bool = False) -> None:
        """Pull if ``interval`` passed since the last pull (always when ``final``); never raise."""
        recent = self._pulled is not None and time.monotonic() - self._pulled < self.interval
        if recent and not final:
            return
        try:
            self.pull()
        except Exception as exc:  # noqa: BLE001 - the rules go on with what they have
            self.log(f"could not fetch the nodes' debug output (will retry): {exc}")
