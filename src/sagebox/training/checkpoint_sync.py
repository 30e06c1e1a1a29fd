"""Mirror a training job's local checkpoint directory to ``checkpoint_uri`` in the lake.

SageMaker copies ``/opt/ml/checkpoints`` to ``checkpoint_s3_uri`` while the job runs and back
onto a fresh instance when a (spot) job restarts. :class:`CheckpointSync` does the same: it
restores the lake's checkpoints into the local directory before the workers start, uploads new
or changed files every few seconds from a background thread (hidden and ``*.tmp`` files, i.e.
checkpoints still being written, are skipped), removes from the lake the files the trainer
pruned locally, and syncs once more when the workers end.

Example:
    >>> sync = CheckpointSync(session.storage, "checkpoints/run-1", Path("work/checkpoints"))
    >>> sync.restore()
    0
    >>> with sync.running():
    ...     train()
"""

from __future__ import annotations

import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sagebox.backends.storage.base import ObjectStore
from sagebox.errors import SageboxError

__all__ = ["CheckpointSync"]


class CheckpointSync:
    """Keeps ``storage`` under ``prefix`` equal to the files of ``local_dir``.

    Args:
        storage: the lake.
        prefix: lake key prefix of the checkpoints (no trailing slash needed).
        local_dir: the directory the trainer writes checkpoints to.
        interval: seconds between background syncs.
    """

    def __init__(
        self, storage: ObjectStore, prefix: str, local_dir: Path, interval: float = 2.0
    ) -> None:
        self.storage = storage
        self.prefix = prefix.strip("/") + "/"
        self.local_dir = local_dir
        self.interval = interval
        self._seen: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def restore(self) -> int:
        """Replace the local directory with the lake's checkpoints; return how many files."""
        if self.local_dir.exists():
            shutil.rmtree(self.local_dir)
        self.local_dir.mkdir(parents=True)
        infos = self.storage.list(self.prefix)
        for info in infos:
            local = self.local_dir / info.key[len(self.prefix) :]
            self.storage.download(info.key, local)
            stat = local.stat()
            self._seen[info.key] = (stat.st_size, stat.st_mtime_ns)
        return len(infos)

    def sync(self) -> int:
        """Upload new or changed files, delete pruned ones; return how many objects changed."""
        with self._lock:
            changed = 0
            local_keys = set()
            for path in sorted(self.local_dir.rglob("*")) if self.local_dir.is_dir() else []:
                rel = path.relative_to(self.local_dir)
                if not path.is_file() or _in_progress(rel):
                    continue
                key = self.prefix + rel.as_posix()
                local_keys.add(key)
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue  # pruned by the trainer just now
                signature = (stat.st_size, stat.st_mtime_ns)
                if self._seen.get(key) != signature:
                    try:
                        self.storage.upload(path, key)
                    except SageboxError:
                        continue  # deleted between stat and upload; the next sync settles it
                    self._seen[key] = signature
                    changed += 1
            for key in [k for k in self._seen if k not in local_keys]:
                if self.storage.exists(key):
                    self.storage.delete(key)
                del self._seen[key]
                changed += 1
            return changed

    @contextmanager
    def running(self) -> Iterator[CheckpointSync]:
        """Sync in a background thread while the block runs, and once more at its end.

        A SIGUSR1 to this process (sent by a built-in trainer after writing a checkpoint)
        makes the thread sync at once instead of at its next interval.
        """
        stop, wake = threading.Event(), threading.Event()

        def loop() -> None:
            while not stop.is_set():
                wake.wait(self.interval)
                wake.clear()
                try:
                    self.sync()
                except Exception as exc:  # noqa: BLE001 - keep syncing; report and retry
                    print(f"checkpoint sync failed (will retry): {exc}", flush=True)

        previous = signal.signal(signal.SIGUSR1, lambda signum, frame: wake.set())
        thread = threading.Thread(target=loop, name="checkpoint-sync", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            wake.set()
            thread.join()
            signal.signal(signal.SIGUSR1, previous)
            self.sync()


def _in_progress(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or rel.name.endswith(".tmp")
