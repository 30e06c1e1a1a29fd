"""Tee this process's stdout and stderr (file descriptors 1 and 2) into a log file.

Used by a job runner on a cluster node: its output (and that of every child process, which
inherits the descriptors) keeps going to the original stdout, which the cluster captures, and
is also appended to the job's log file in the runner's node-local home, from which it is
uploaded to the lake every ``log_upload_seconds`` when it changed (see :mod:`sagebox.jobs.runner`).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import select
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sagebox.config import create_private_file

__all__ = ["FdTee"]

_CHUNK = 1 << 16
_DRAIN_POLL_SECONDS = 0.01
_SELECT_SECONDS = 0.2


class FdTee:
    """While active, what is written to fds 1 and 2 also goes to ``path`` (appended).

    Args:
        path: the log file (created owner-only).
        upload: called every ``every`` seconds when the file grew, and once at exit.
        every: seconds between upload checks.
    """

    def __init__(self, path: Path, upload: Callable[[], None], every: float) -> None:
        self.path = path
        self._upload = upload
        self._every = every
        self._lock = threading.Lock()  # held while a chunk is being copied
        self._done = threading.Event()
        self._read_fd = -1
        self._saved: dict[int, int] = {}
        self._log_fd = -1
        self._reader: threading.Thread | None = None
        self._uploader: threading.Thread | None = None

    def __enter__(self) -> FdTee:
        self._log_fd = create_private_file(self.path)
        sys.stdout.flush()
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        self._read_fd = read_fd
        self._saved = {1: os.dup(1), 2: os.dup(2)}
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._reader = threading.Thread(target=self._copy, name="log-tee", daemon=True)
        self._reader.start()
        self._uploader = threading.Thread(target=self._upload_loop, name="log-upload", daemon=True)
        self._uploader.start()
        return self

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until what was written to fds 1 and 2 so far is in the log file."""
        sys.stdout.flush()
        sys.stderr.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if _pending(self._read_fd) == 0:
                    return
            time.sleep(_DRAIN_POLL_SECONDS)

    def __exit__(self, *exc_info: object) -> None:
        self.drain()
        self._done.set()
        # fds 1 and 2 back to the originals: this process no longer holds the pipe's write end
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
        if self._uploader is not None:
            self._uploader.join(timeout=30)
        if self._reader is not None:
            # children still holding the write end would keep the pipe open: don't wait forever
            self._reader.join(timeout=5)
        with contextlib.suppress(Exception):
            self._upload()
        if self._reader is None or not self._reader.is_alive():
            os.close(self._read_fd)
            os.close(self._log_fd)
        for saved in self._saved.values():
            os.close(saved)

    def _copy(self) -> None:
        out = self._saved[1]
        while True:
            try:
                readable, _, _ = select.select([self._read_fd], [], [], _SELECT_SECONDS)
            except OSError:
                return
            if not readable:
                continue
            # read and copy under the lock: drain() sees an empty pipe only once the bytes
            # read from it are in the log file
            with self._lock:
                try:
                    data = os.read(self._read_fd, _CHUNK)
                except OSError:
                    return
                if not data:
                    return
                _write_all(self._log_fd, data)
                with contextlib.suppress(OSError):  # the captured stdout went away
                    _write_all(out, data)

    def _upload_loop(self) -> None:
        last = -1
        while not self._done.wait(self._every):
            try:
                size = os.fstat(self._log_fd).st_size
            except OSError:
                return
            if size != last:
                last = size
                with contextlib.suppress(Exception):  # the upload prints its own error
                    self._upload()


def _pending(fd: int) -> int:
    """Bytes waiting in the pipe ``fd``."""
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int(buf[0])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
