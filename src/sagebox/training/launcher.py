"""Run a training job's worker processes (one per host), stream their logs and supervise them.

Workers stay in the job runner's process group, so stopping the job stops them too. Their
output is copied line by line to the runner's stdout (the job log), prefixed with the host
name when there are several, and fed to the metric capture (the first host only, as the
others repeat the same figures in data-parallel training). When one worker fails, the others
are stopped: peers of a torch.distributed group would otherwise wait for it forever. A
``stop`` event (set by a debugger rule's stop action) ends them all the same way.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sagebox.backends.compute.lifetime import die_with_parent
from sagebox.training.metrics import MetricCapture

__all__ = ["GroupResult", "WorkerSpec", "run_workers"]

_POLL_SECONDS = 0.1
_TAIL_LINES = 12
_STOPPED = object()  # _wait_all's answer when the stop event was set


@dataclass(frozen=True)
class WorkerSpec:
    """One worker: its host name, command line, extra environment and working directory."""

    host: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class GroupResult:
    """How the workers ended: all well, the first failure with its last log lines, or stopped.

    ``stopped`` is true when the workers were ended because the ``stop`` event was set;
    ``lost`` when the failed worker ended without an exit status (on a cluster: its node or
    its task died).
    """

    ok: bool
    host: str = ""
    returncode: int = 0
    tail: list[str] = field(default_factory=list)
    stopped: bool = False
    lost: bool = False

    @property
    def killed(self) -> bool:
        """Whether the failed worker was ended by a signal (SIGKILL, SIGTERM, ...) or lost."""
        return self.returncode < 0 or self.lost

    def describe(self) -> str:
        """``killed by SIGKILL``, ``exited with status 1`` or ``stopped on request``."""
        if self.stopped:
            return "stopped on request"
        if self.lost:
            return "lost (it ended without an exit status: its node or task died)"
        if self.killed:
            try:
                return f"killed by {signal.Signals(-self.returncode).name}"
            except ValueError:
                return f"killed by signal {-self.returncode}"
        return f"exited with status {self.returncode}"


def run_workers(
    specs: list[WorkerSpec],
    capture: MetricCapture | None = None,
    stop: threading.Event | None = None,
) -> GroupResult:
    """Start every worker, wait for all; on the first failure stop the rest and report it.

    When ``stop`` is set while they run, every worker is terminated (SIGTERM, then SIGKILL
    after a grace period) and the result has ``stopped`` true.
    """
    write_lock = threading.Lock()
    tails: dict[str, collections.deque[str]] = {
        s.host: collections.deque(maxlen=_TAIL_LINES) for s in specs
    }
    procs: list[tuple[WorkerSpec, subprocess.Popen[bytes]]] = []
    readers = []
    prefix = len(specs) > 1
    try:
        for spec in specs:
            proc = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env={**os.environ, **spec.env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(),  # a killed job runner takes its workers along
            )
            procs.append((spec, proc))
            reader = threading.Thread(
                target=_pump,
                args=(proc, spec.host, prefix, tails[spec.host], write_lock),
                kwargs={"capture": capture if spec is specs[0] else None},
                daemon=True,
            )
            reader.start()
            readers.append(reader)
        failure = _wait_all(procs, stop)
        if failure is _STOPPED:
            _stop_all(procs)
        for reader in readers:
            reader.join(timeout=10)
        if failure is _STOPPED:
            return GroupResult(ok=False, stopped=True, tail=list(tails[specs[0].host]))
        if failure is None:
            return GroupResult(ok=True)
        assert isinstance(failure, tuple)
        spec, code = failure
        return GroupResult(ok=False, host=spec.host, returncode=code, tail=list(tails[spec.host]))
    finally:
        _stop_all(procs)


def _pump(
    proc: subprocess.Popen[bytes],
    host: str,
    prefix: bool,
    tail: collections.deque[str],
    lock: threading.Lock,
    capture: MetricCapture | None = None,
) -> None:
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        with lock:
            sys.stdout.write(f"[{host}] {line}\n" if prefix else f"{line}\n")
            sys.stdout.flush()
        if line.strip():
            tail.append(line)
        if capture is not None:
            try:
                capture.feed(line)
            except Exception as exc:  # noqa: BLE001 - a metric store hiccup must not kill logs
                with lock:
                    print(f"could not record a metric: {exc}", flush=True)


def _wait_all(
    procs: list[tuple[WorkerSpec, subprocess.Popen[bytes]]],
    stop: threading.Event | None = None,
) -> tuple[WorkerSpec, int] | object | None:
    """Wait until all exit 0 (None), one fails (it and its exit code) or ``stop`` is set."""
    while True:
        if stop is not None and stop.is_set():
            return _STOPPED
        running = False
        for spec, proc in procs:
            code = proc.poll()
            if code is None:
                running = True
            elif code != 0:
                return spec, code
        if not running:
            return None
        time.sleep(_POLL_SECONDS)


def _stop_all(procs: list[tuple[WorkerSpec, subprocess.Popen[bytes]]], grace: float = 10) -> None:
    alive = [p for _, p in procs if p.poll() is None]
    for proc in alive:
        proc.terminate()
    deadline = time.monotonic() + grace
    for proc in alive:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
