"""Local compute: each task is a subprocess in its own session (process group).

Tasks are started detached (``start_new_session``), so they outlive the CLI that submitted them;
the handle is ``"local:<pid>"``. Stopping sends SIGTERM to the whole process group, then SIGKILL
after a grace period unless every process of the group has ended by then. A task submitted
with ``die_with_submitter`` also gets the parent-death signal (SIGKILL when the submitter
dies). Concurrency is limited by the job layer (``Settings.max_workers``), not here, because
tasks survive the submitting process.

There is one node, this machine: a reservation of N slots puts all N on it (address
``127.0.0.1``) and reserves nothing, and :attr:`TaskSpec.resources` are not enforced. Tasks
see ``SAGEBOX_NODE_ID=local`` (a cluster gives each node's id).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from sagebox.backends.compute.base import (
    ComputeBackend,
    Reservation,
    Resources,
    TaskSpec,
    TaskState,
)
from sagebox.backends.compute.lifetime import die_with_parent, group_running, pid_alive
from sagebox.config import create_private_file
from sagebox.errors import ConfigError, NotFoundError

__all__ = ["LocalCompute"]

_POLL_SECONDS = 0.05


class LocalCompute(ComputeBackend):
    """Runs tasks as local subprocesses. See :class:`ComputeBackend`."""

    def __init__(self, uri: str = "local") -> None:
        self.uri = uri
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._logs: dict[int, Path] = {}

    def submit(self, spec: TaskSpec) -> str:
        env = {**os.environ, **spec.env, "SAGEBOX_NODE_ID": "local"}
        # The log and whatever the task writes (job work dirs, checkpoints) are owner-only.
        with os.fdopen(create_private_file(spec.log_path), "ab") as log:
            try:
                proc = subprocess.Popen(
                    spec.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=spec.cwd,
                    start_new_session=True,
                    preexec_fn=die_with_parent() if spec.die_with_submitter else None,
                    umask=0o077,
                )
            except FileNotFoundError as exc:
                raise ConfigError(
                    f"cannot start task: program {spec.argv[0]!r} not found",
                    hint="check the command and your PATH",
                ) from exc
        self._children[proc.pid] = proc
        self._logs[proc.pid] = spec.log_path
        return f"local:{proc.pid}"

    def output(self, handle: str) -> str:
        pid = _pid(handle)
        path = self._logs.get(pid)
        if path is None:
            raise NotFoundError(
                f"task {handle} was not submitted by this client",
                hint="read the log file it was given (TaskSpec.log_path)",
            )
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def reserve(self, count: int, resources: Resources, timeout: float = 300.0) -> Reservation:
        if count < 1:
            raise ConfigError(f"cannot reserve {count} slots", hint="reserve at least one")
        return Reservation(f"local-{secrets.token_hex(4)}", ("127.0.0.1",) * count)

    def release(self, reservation: Reservation) -> None:
        """Nothing is held on the local machine."""

    def state(self, handle: str) -> TaskState:
        pid = _pid(handle)
        child = self._children.get(pid)
        if child is not None:
            return TaskState.RUNNING if child.poll() is None else TaskState.EXITED
        return TaskState.RUNNING if pid_alive(pid) else TaskState.EXITED

    def wait(self, handle: str, timeout: float | None = None) -> int | None:
        pid = _pid(handle)
        child = self._children.get(pid)
        if child is not None:
            try:
                return child.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid_alive(pid):
            if deadline is not None and time.monotonic() > deadline:
                return None
            time.sleep(_POLL_SECONDS)
        return None  # not our child: the exit code is recorded by the job runner instead

    def stop(self, handle: str, grace_seconds: float = 10.0) -> None:
        pid = _pid(handle)
        if not _signal_group(pid, signal.SIGTERM):
            return
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            # the task, and every process it started that is still in its group
            if self.state(handle) is TaskState.EXITED and not group_running(pid):
                return
            time.sleep(_POLL_SECONDS)
        _signal_group(pid, signal.SIGKILL)
        self.wait(handle, timeout=5)


def _pid(handle: str) -> int:
    scheme, _, value = handle.partition(":")
    if scheme != "local" or not value.isdigit():
        raise NotFoundError(f"not a local task handle: {handle!r}", hint="expected 'local:<pid>'")
    return int(value)


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(pid, sig)
    return True
