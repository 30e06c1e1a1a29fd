"""Run a processing job's workers as tasks on the compute backend and supervise them.

Each worker is a task (a subprocess on the local backend) with its own log file. The job
copies new log lines into its own log as they appear (prefixed with the worker's host name
when there are several), calls a hook on every poll (continuous uploads), and when one worker
fails stops the others. Whatever happens, no worker outlives the job: the job's ``finally``
stops those still running (they run in their own process groups, so a stopped job would not
take them along by itself).
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sagebox.backends.compute.base import ComputeBackend, TaskSpec, TaskState

__all__ = ["GroupOutcome", "WorkerTask", "run_worker_group"]

_POLL_SECONDS = 0.1
_TAIL_LINES = 12


@dataclass(frozen=True)
class WorkerTask:
    """One worker: its host name and what to run."""

    host: str
    spec: TaskSpec


@dataclass
class GroupOutcome:
    """How the workers ended: all well, or the first failure with its last log lines."""

    ok: bool
    host: str = ""
    returncode: int | None = 0
    tail: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """``exited with status 1`` (or ``ended`` when the backend has no exit status)."""
        if self.returncode is None:
            return "ended without an exit status"
        if self.returncode < 0:
            return f"was killed by signal {-self.returncode}"
        return f"exited with status {self.returncode}"


class _LogPump:
    """Copies a worker's new log lines to this process's stdout, keeping the last few."""

    def __init__(self, host: str, path: Path, prefix: bool) -> None:
        self.host = host
        self.path = path
        self.prefix = prefix
        self.offset = 0
        self.partial = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)

    def pump(self, final: bool = False) -> None:
        if not self.path.is_file():
            return
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
            self.offset = fh.tell()
        text = self.partial + chunk
        lines = text.split("\n")
        self.partial = "" if final else lines.pop()
        for line in lines:
            if not line and final:
                continue
            sys.stdout.write(f"[{self.host}] {line}\n" if self.prefix else f"{line}\n")
            if line.strip():
                self.tail.append(line)
        sys.stdout.flush()


def run_worker_group(
    compute: ComputeBackend,
    tasks: list[WorkerTask],
    on_poll: Callable[[], None] | None = None,
) -> GroupOutcome:
    """Start every worker and wait for all; on the first failure stop the rest.

    Args:
        compute: the compute backend.
        tasks: the workers.
        on_poll: called about ten times a second while workers run (e.g. uploads).
    """
    pumps = [_LogPump(t.host, t.spec.log_path, len(tasks) > 1) for t in tasks]
    handles: list[str] = []
    try:
        for task in tasks:
            handles.append(compute.submit(task.spec))
        running = set(range(len(tasks)))
        while running:
            for index in sorted(running):
                if compute.state(handles[index]) is TaskState.RUNNING:
                    continue
                code = compute.wait(handles[index], timeout=5)
                running.discard(index)
                pumps[index].pump(final=True)
                if code != 0:
                    return GroupOutcome(False, tasks[index].host, code, list(pumps[index].tail))
            for pump in pumps:
                pump.pump()
            if on_poll is not None:
                on_poll()
            if running:
                time.sleep(_POLL_SECONDS)
        return GroupOutcome(ok=True)
    finally:
        for handle in handles:
            if compute.state(handle) is TaskState.RUNNING:
                compute.stop(handle, grace_seconds=5)
        for pump in pumps:
            pump.pump(final=True)
