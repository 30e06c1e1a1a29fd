"""Copy a training job's local debug directory to its lake prefix while the job runs.

Event files only grow, so each sync uploads the files whose size or modification time changed
since the last one (see :class:`sagebox.training.checkpoint_sync.CheckpointSync`, whose diff
this reuses); a final sync runs when the job ends, however it ends. The lake prefix is
:func:`sagebox.debugger.events.debug_output_prefix`.

Example:
    >>> sync = DebugOutputSync(session.storage, "jobs/train-1/debug-output", work / "debug")
    >>> with sync.running():
    ...     train()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sagebox.backends.storage.base import ObjectStore
from sagebox.training.checkpoint_sync import CheckpointSync

__all__ = ["DebugOutputSync"]


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
