"""The debug and profiler data of a training job: JSON-lines event files in one directory.

This is the event format shared by the debugger (hook, rules), the profiler (system monitor,
profiler rules, report), the training job (which syncs the directory to the lake) and
``sagebox jobs watch``: they all write and read it through this module.

Writers (the hook inside a worker, the system monitor in the job runner) append one JSON
object per line; readers (rule evaluators, reports) tail the files, so rules run while the job
trains. A line is only ever read once it is complete (ends with a newline).

Layout of a debug directory (local ``<job workdir>/debug``; in the lake
``jobs/<job>/debug-output/``), one file per stream and host:

``scalars/<host>.jsonl``
    ``{"step", "mode", "name", "value", "time"}``: loss, accuracy, learning rate...
    ``mode`` is ``train`` or ``eval`` (validation); ``step`` the global training step.
``tensors/<host>.jsonl``
    ``{"step", "mode", "name", "kind", "norm", "mean", "std", "min", "max", "zero_fraction",
    "nan", "inf", "size", "time"}``: one summary of one tensor; ``kind`` is ``weight``,
    ``gradient``, ``activation`` (a layer's output, e.g. a ReLU's) or ``activation_input``.
``batches/<host>.jsonl``
    ``{"step", "mode", "labels": [int], "predictions": [int], "time"}``: sampled labels and
    arg-max predictions (for ClassImbalance).
``framework/<host>.jsonl``
    ``{"step", "phase", "start", "end", "batch_size"}``: wall-clock intervals (Unix seconds) of
    ``step`` (a whole training step), ``data`` (waiting for the batch), ``forward``,
    ``backward`` and ``optimizer``.
``system/<host>.jsonl``
    ``{"time", "interval", "cpu": [percent per core], "cpu_total", "iowait", "memory_percent",
    "memory_used_mb", "disk_read_mb_s", "disk_write_mb_s", "net_recv_mb_s", "net_sent_mb_s",
    "gpu": [{"index", "util", "memory_percent"}]}``: one sample of the machine.
``meta.json``
    ``{"job", "started", "hook": {...}, "profiler": {...}}`` written once.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "DEBUG_OUTPUT_PREFIX",
    "STREAMS",
    "EventReader",
    "EventWriter",
    "debug_output_prefix",
    "stream_files",
]

STREAMS = ("scalars", "tensors", "batches", "framework", "system")

#: ``jobs/<job>/debug-output/``: where a job's debug and profiler data live in the lake.
DEBUG_OUTPUT_PREFIX = "jobs/{job}/debug-output/"


def debug_output_prefix(job_name: str) -> str:
    """The lake prefix of a job's debug output (``jobs/<job>/debug-output/``)."""
    return DEBUG_OUTPUT_PREFIX.format(job=job_name)


class EventWriter:
    """Append events to ``<root>/<stream>/<host>.jsonl`` (thread-safe, line-buffered).

    Lines are written whole with one ``write`` call and flushed at most every
    ``flush_seconds`` (and on :meth:`close`), so a reader never sees half a line for long.

    Example:
        >>> w = EventWriter(tmp_path, "scalars", "algo-1")
        >>> w.write({"step": 1, "mode": "train", "name": "loss", "value": 0.7})
        >>> w.close()
    """

    def __init__(self, root: Path, stream: str, host: str, flush_seconds: float = 0.5) -> None:
        if stream not in STREAMS:
            raise ValueError(f"unknown debug stream {stream!r}; use one of {STREAMS}")
        self.path = Path(root) / stream / f"{host}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._flush_seconds = flush_seconds
        self._flushed = time.monotonic()

    def write(self, event: dict[str, Any]) -> None:
        """Append one event (adds ``time`` if missing)."""
        event.setdefault("time", time.time())
        line = json.dumps(event, separators=(",", ":"), allow_nan=True) + "\n"
        with self._lock:
            self._fh.write(line)
            now = time.monotonic()
            if now - self._flushed >= self._flush_seconds:
                self._fh.flush()
                self._flushed = now

    def flush(self) -> None:
        """Push buffered lines to the file."""
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()

    def close(self) -> None:
        """Flush and close."""
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()


class EventReader:
    """Incrementally read every ``<root>/<stream>/*.jsonl`` file: each call returns new events.

    Each event gets a ``host`` key (the file's stem). Incomplete trailing lines are kept for
    the next call; undecodable lines are skipped.
    """

    def __init__(self, root: Path, stream: str) -> None:
        self.root = Path(root)
        self.stream = stream
        self._offsets: dict[Path, int] = {}

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call (all of them on the first call)."""
        events: list[dict[str, Any]] = []
        for path in stream_files(self.root, self.stream):
            offset = self._offsets.get(path, 0)
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
            end = chunk.rfind(b"\n") + 1
            if end == 0:
                continue
            self._offsets[path] = offset + end
            for line in chunk[:end].splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    event["host"] = path.stem
                    events.append(event)
        return events

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.read_new())


def stream_files(root: Path, stream: str) -> list[Path]:
    """The event files of one stream, sorted by host."""
    folder = Path(root) / stream
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
