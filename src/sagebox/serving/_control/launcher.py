"""How a variant's worker processes start: here, or as tasks on a cluster.

The supervisor picks one :class:`InstanceLauncher` when it starts (:func:`choose_launcher`):

- :class:`LocalLauncher` (the compute backend shares this machine's file system: the local
  default): each worker is a child process of the supervisor. The supervisor binds the
  worker's socket on 127.0.0.1 itself and hands it over (``--fd``), so there is no race for
  ports; the worker reads its spec from a file of the endpoint's work directory and its model
  from the directory the supervisor unpacked.
- :class:`ClusterLauncher` (a compute backend that does not share the file system: a Ray
  cluster): each worker is a compute task bound to the supervisor
  (``TaskSpec(die_with_submitter=True)``: on Ray an actor owned by the supervisor process,
  ended by Ray if the supervisor dies), asking the resources of the variant's
  ``instance_type`` (:func:`sagebox.jobs.instances.resources_for`) and placed wherever the
  cluster has room. Its spec travels inline on its command line (``--spec-json``: names and
  settings, a few hundred bytes; never a path of the supervisor's machine), it fetches its
  models from the lake into a node-local temporary home (``--node-home``), binds a free port
  on its node's address itself (``--listen node:0``) and announces it as the first line of
  its output (``sagebox-worker listening on HOST:PORT pid N``), which the launcher reads
  through :meth:`ComputeBackend.output`. Its death is seen through
  :meth:`ComputeBackend.state`; stopping it is :meth:`ComputeBackend.stop`. Compute calls
  block, so they run in the launcher's own threads, never on the event loop.

Either way the gateway, routing, retries and autoscaling stay in the supervisor: a worker is
an HTTP address behind it.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sagebox.backends.compute.base import ComputeBackend, TaskSpec, TaskState
from sagebox.config import create_private_file
from sagebox.errors import JobError
from sagebox.serving._control.autoscaling import process_cpu_seconds

if TYPE_CHECKING:
    from sagebox.serving.config import ProductionVariant
    from sagebox.session import Session

__all__ = [
    "ANNOUNCE",
    "ClusterLauncher",
    "ClusterWorker",
    "InstanceLauncher",
    "LocalLauncher",
    "LocalWorker",
    "WorkerProcess",
    "choose_launcher",
]

#: the first line a worker started with ``--listen`` prints
ANNOUNCE = "sagebox-worker listening on"
_ANNOUNCE_RE = re.compile(re.escape(ANNOUNCE) + r" (\S+):(\d+) pid (\d+)")
_POLL_S = 0.5
_T = TypeVar("_T")


class Variant(Protocol):
    """What a launcher reads of a variant (a :class:`~.instances.VariantRuntime`)."""

    endpoint: str
    name: str
    role: str
    config: ProductionVariant
    spec: dict[str, Any]
    spec_path: Path

    def log_path(self, index: int) -> Path:
        """Where a local worker ``index`` writes its log."""
        ...


class WorkerProcess(abc.ABC):
    """One started worker: where it listens, whether it ended, how to stop it."""

    host: str = "127.0.0.1"
    port: int = 0
    pid: int | None = None
    handle: str | None = None  # the compute backend's task handle (cluster workers)

    @property
    @abc.abstractmethod
    def ended(self) -> bool:
        """Whether the worker is known to have exited (cheap: no I/O)."""

    @property
    @abc.abstractmethod
    def returncode(self) -> int | None:
        """Its exit status once ended (None while it runs, or when nobody knows it)."""

    @abc.abstractmethod
    async def wait(self) -> int | None:
        """Until the worker exits; its exit status."""

    @abc.abstractmethod
    async def stop(self, grace_s: float) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; releases what the worker held."""

    @abc.abstractmethod
    async def log_tail(self, lines: int = 3) -> str:
        """The last lines of its output, joined by `` | ``."""

    @abc.abstractmethod
    def where(self) -> str:
        """Where to read its whole log (for an error's hint)."""

    def cpu_sample(self) -> tuple[float, float] | None:
        """``(monotonic time, CPU seconds used)`` now or at the last report; None if unknown."""
        return None


class InstanceLauncher(abc.ABC):
    """Starts the workers of variants (see the module)."""

    #: whether a worker fetches its models from the lake itself (else the spec has local dirs)
    fetches_models: bool = False

    @abc.abstractmethod
    async def launch(self, variant: Variant, index: int) -> WorkerProcess:
        """Start worker ``index`` of ``variant``; return once its address is known.

        Raises:
            JobError: if it ends (or, on a cluster, cannot be placed) before it listens.
        """

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the launcher holds (threads)."""


# --- local ----------------------------------------------------------------------------------


class LocalWorker(WorkerProcess):
    """A worker that is a child process of the supervisor."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.pid = process.pid
        self.log_path = log_path

    @property
    def ended(self) -> bool:
        return self.process.returncode is not None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def wait(self) -> int | None:
        return await self.process.wait()

    async def stop(self, grace_s: float) -> None:
        proc = self.process
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    async def log_tail(self, lines: int = 3) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def where(self) -> str:
        return f"see {self.log_path}"

    def cpu_sample(self) -> tuple[float, float] | None:
        cpu = process_cpu_seconds(self.process.pid)
        return None if cpu is None else (time.monotonic(), cpu)


class LocalLauncher(InstanceLauncher):
    """Workers as child processes on inherited sockets (the local default)."""

    async def launch(self, variant: Variant, index: int) -> WorkerProcess:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        log_path = variant.log_path(index)
        with os.fdopen(create_private_file(log_path), "ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sagebox.serving._worker.worker",
                "--spec", str(variant.spec_path), "--fd", str(sock.fileno()),
                pass_fds=(sock.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        sock.close()  # the worker holds it now: when the worker dies, connects are refused
        return LocalWorker(process, port, log_path)


# --- cluster --------------------------------------------------------------------------------


class ClusterWorker(WorkerProcess):
    """A worker that runs as a compute task on a cluster node."""

    def __init__(self, launcher: ClusterLauncher, handle: str, name: str) -> None:
        self.launcher = launcher
        self.handle = handle
        self.name = name
        self._ended = False
        self._code: int | None = None
        self._output = ""
        self._cpu: tuple[float, float] | None = None

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def returncode(self) -> int | None:
        return self._code

    async def poll(self) -> bool:
        """Ask the compute backend whether the task ended (and its status)."""
        if self._ended:
            return True
        compute = self.launcher.compute
        assert self.handle is not None
        if await self.launcher.call(compute.state, self.handle) is TaskState.RUNNING:
            return False
        self._code = await self.launcher.call(compute.wait, self.handle, 5.0)
        self._ended = True
        return True

    async def wait(self) -> int | None:
        while not await self.poll():
            await asyncio.sleep(_POLL_S)
        return self._code

    async def stop(self, grace_s: float) -> None:
        assert self.handle is not None
        with contextlib.suppress(Exception):  # a task the cluster already lost is stopped too
            await self.read_output()
        with contextlib.suppress(Exception):
            await self.launcher.call(self.launcher.compute.stop, self.handle, grace_s)
        self._ended = True

    async def read_output(self) -> str:
        """The task's output so far (kept: once stopped, the task's copy may be gone)."""
        assert self.handle is not None
        text = await self.launcher.call(self.launcher.compute.output, self.handle)
        if text:
            self._output = text
        return self._output

    async def wait_address(self, timeout_s: float) -> None:
        """Until the worker announces its address (``host``, ``port`` and ``pid`` are set).

        Raises:
            JobError: if the task ends first or nothing is announced in ``timeout_s`` (naming
                why the cluster has not placed it, when it has not).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = await self.read_output()
            found = _ANNOUNCE_RE.search(text)
            if found is not None:
                self.host, self.port, self.pid = found[1], int(found[2]), int(found[3])
                return
            if await self.poll():
                raise JobError(
                    f"worker {self.name} exited during start-up "
                    f"(status {self._code}): {await self.log_tail()}",
                    hint=self.where(),
                )
            await asyncio.sleep(0.1)
        reason = await self.launcher.pending_reason(self.handle or "")
        raise JobError(
            f"worker {self.name} did not start listening in {timeout_s:.0f} s"
            + (f": {reason}" if reason else f": {await self.log_tail()}"),
            hint="ask for a smaller instance_type or add nodes to the cluster"
            if reason
            else self.where(),
        )

    async def log_tail(self, lines: int = 3) -> str:
        with contextlib.suppress(Exception):
            await self.read_output()
        return " | ".join(self._output.strip().splitlines()[-lines:])

    def where(self) -> str:
        return f"the worker ran as cluster task {self.handle}; its output is on its node"

    def report_cpu(self, seconds: float) -> None:
        """Record the CPU seconds the worker reported (its ``/stats``)."""
        self._cpu = (time.monotonic(), seconds)

    def cpu_sample(self) -> tuple[float, float] | None:
        return self._cpu


class ClusterLauncher(InstanceLauncher):
    """Workers as compute tasks bound to the supervisor (see the module).

    Example:
        >>> launcher = ClusterLauncher(session)         # doctest: +SKIP
        >>> worker = await launcher.launch(variant, 0)  # doctest: +SKIP
        >>> worker.handle                               # doctest: +SKIP
        'ray:actor:...'
    """

    fetches_models = True
    #: how long a worker may take to be placed, fetch its model and listen
    start_timeout_s = 180.0

    def __init__(self, session: Session) -> None:
        from sagebox.jobs.cluster import task_env

        self.session = session
        self.compute: ComputeBackend = session.compute
        self.env = {
            **task_env(session.settings, shares_filesystem=False),
            "PYTHONUNBUFFERED": "1",
        }
        # compute calls block (Ray round trips): never on the event loop, never in the
        # default executor that the metadata writes use
        self._threads = concurrent.futures.ThreadPoolExecutor(16, "sagebox-cluster-workers")

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a blocking compute call in the launcher's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, lambda: fn(*args))

    async def pending_reason(self, handle: str) -> str | None:
        """Why the cluster has not started the task (None if unknown or started)."""
        explain = getattr(self.compute, "pending_reason", None)
        if explain is None or not handle:
            return None
        try:
            reason = await self.call(explain, handle)
        except Exception:  # noqa: BLE001 - only an explanation
            return None
        return str(reason) if reason else None

    async def launch(self, variant: Variant, index: int) -> WorkerProcess:
        from sagebox.jobs.cluster import NODE_HOME_FLAG, node_log_path
        from sagebox.jobs.instances import resources_for

        name = f"{variant.name}-{index}"
        tag = f"endpoint-{variant.endpoint}-{variant.name}-{variant.role}-{index}"
        spec = TaskSpec(
            argv=[
                "python",
                "-m",
                "sagebox.serving._worker.worker",
                NODE_HOME_FLAG,
                "--listen",
                "node:0",
                "--spec-json",
                json.dumps(variant.spec),
            ],  # fmt: skip
            log_path=node_log_path(f"{tag}-{secrets.token_hex(4)}"),
            env=self.env,
            die_with_submitter=True,
            resources=resources_for(variant.config.instance_type or "local"),
        )
        handle = await self.call(self.compute.submit, spec)
        worker = ClusterWorker(self, handle, name)
        try:
            await worker.wait_address(self.start_timeout_s)
        except BaseException:
            await worker.stop(1.0)
            raise
        return worker

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def choose_launcher(session: Session) -> InstanceLauncher:
    """Child processes when the compute backend shares this file system, else cluster tasks."""
    if session.compute.shares_filesystem:
        return LocalLauncher()
    return ClusterLauncher(session)
