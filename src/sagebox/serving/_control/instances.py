"""Worker processes of a variant: start, watch, restart, scale, stop.

The supervisor binds each instance's socket on 127.0.0.1 itself and hands it to the worker
process (``--fd``), so there is no race for ports. A worker that exits unexpectedly is marked
unhealthy at once (new requests go to the other instances, in-flight ones are retried there by
the gateway) and restarted on a fresh socket with exponential back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagebox.config import create_private_file
from sagebox.errors import JobError
from sagebox.serving._control.autoscaling import TargetTracker, process_cpu_seconds
from sagebox.serving._control.metrics import VariantMetrics
from sagebox.serving._control.routing import pick_instance
from sagebox.serving._control.shadow import ShadowComparison
from sagebox.serving._http.pool import HttpPool, WorkerTimeout, WorkerUnavailable
from sagebox.serving.config import ProductionVariant

__all__ = ["Instance", "VariantRuntime"]

_READY_TIMEOUT_S = 180.0
_MAX_BACKOFF_S = 10.0

EventSink = Callable[[str, dict[str, Any]], None]


class Instance:
    """One worker process of a variant."""

    def __init__(self, variant: VariantRuntime, index: int) -> None:
        self.variant = variant
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.pool: HttpPool | None = None
        self.healthy = False
        self.outstanding = 0
        self.restarts = 0
        self.stopping = False
        self.started_at = 0.0
        self.batching: dict[str, float] | None = None  # the worker's batcher counters
        self._cpu: tuple[float, float] | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        """Spawn the worker and wait until it answers /ping.

        Raises:
            JobError: if the worker exits or stays silent during start-up (with its log tail).
        """
        self.stopping = False
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        if self.pool is not None:
            self.pool.close()
        self.pool = HttpPool("127.0.0.1", self.port)
        log_path = self.variant.log_path(self.index)
        with os.fdopen(create_private_file(log_path), "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sagebox.serving._worker.worker",
                "--spec", str(self.variant.spec_path), "--fd", str(sock.fileno()),
                pass_fds=(sock.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        sock.close()  # the worker holds it now: when the worker dies, connects are refused
        await self._wait_ready(log_path)
        self.started_at = time.monotonic()
        self.healthy = True

    async def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``."""
        self.stopping = True
        self.healthy = False
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self.pool is not None:
            self.pool.close()

    def cpu_percent(self) -> float | None:
        """CPU use since the previous call, in percent of one core."""
        if self.pid is None:
            return None
        cpu = process_cpu_seconds(self.pid)
        if cpu is None:
            return None
        now = time.monotonic()
        previous, self._cpu = self._cpu, (now, cpu)
        if previous is None or now <= previous[0]:
            return None
        return 100.0 * (cpu - previous[1]) / (now - previous[0])

    async def _wait_ready(self, log_path: Path) -> None:
        assert self.process is not None and self.pool is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise JobError(
                    f"worker {self.variant.name}-{self.index} exited during start-up "
                    f"(status {self.process.returncode}): {' | '.join(tail)}",
                    hint=f"see {log_path}",
                )
            try:
                response = await self.pool.request(b"GET", b"/ping", b"", [], timeout=0.5)
                if response.status == 200:
                    return
            except (WorkerUnavailable, WorkerTimeout):
                pass
            await asyncio.sleep(0.05)
        await self.stop()
        raise JobError(
            f"worker {self.variant.name}-{self.index} did not answer /ping in "
            f"{_READY_TIMEOUT_S:.0f} s",
            hint=f"see {log_path}",
        )


class VariantRuntime:
    """The live state of one variant: its instances, metrics and scaling.

    Example:
        >>> variant = VariantRuntime("reviews", config, "production", spec, workdir, sink)
        >>> await variant.start()
        >>> instance = variant.pick()
    """

    def __init__(
        self,
        endpoint: str,
        config: ProductionVariant,
        role: str,
        spec: dict[str, Any],
        workdir: Path,
        on_event: EventSink,
    ) -> None:
        self.endpoint = endpoint
        self.config = config
        self.name = config.name
        self.role = role
        self.workdir = workdir
        self.on_event = on_event
        self.metrics = VariantMetrics()
        self.instances: list[Instance] = []
        self.comparison = ShadowComparison() if role == "shadow" else None
        self.tracker = TargetTracker(config.autoscaling) if config.autoscaling else None
        self.multi_model = config.multi_model is not None
        self._rr = 0
        self._closed = False
        self._next_index = 0
        self.spec_path = workdir / "specs" / f"{self.name}-{role}.json"
        fd = create_private_file(self.spec_path, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(json.dumps(spec))

    def log_path(self, index: int) -> Path:
        """Where instance ``index`` writes its log."""
        return self.workdir / "logs" / f"{self.name}-{self.role}-{index}.log"

    @property
    def healthy_count(self) -> int:
        """Instances ready to serve."""
        return sum(1 for i in self.instances if i.healthy)

    def pick(self, key: str | None = None) -> Instance | None:
        """A healthy instance for the next request (None if none is up)."""
        self._rr += 1
        chosen = pick_instance(self.instances, self._rr, key)
        return chosen  # type: ignore[return-value]

    async def start(self) -> None:
        """Start ``instance_count`` workers in parallel and wait for all of them."""
        await self.scale_to(self.config.instance_count, reason="initial")

    async def scale_to(self, count: int, reason: str = "") -> None:
        """Start or stop workers until ``count`` run (newest stopped first)."""
        before = len(self.instances)
        if reason and reason != "initial" and count != before:
            self.on_event(
                "scaling", {"variant": self.name, "from": before, "to": count, "reason": reason}
            )
        if count > before:
            new = [Instance(self, self._take_index()) for _ in range(count - before)]
            self.instances.extend(new)
            results = await asyncio.gather(*(i.start() for i in new), return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            for instance in new:
                if instance.healthy:
                    self._watch(instance)
            if failed:
                for instance in new:
                    if not instance.healthy:
                        self.instances.remove(instance)
                        await instance.stop()
                raise failed[0]
        elif count < before:
            retiring = self.instances[count:]
            self.instances = self.instances[:count]
            await asyncio.gather(*(self._drain_and_stop(i) for i in retiring))

    async def stop(self) -> None:
        """Stop every worker."""
        self._closed = True
        instances, self.instances = self.instances, []
        await asyncio.gather(*(i.stop() for i in instances))

    async def drain_and_stop(self, drain_s: float = 10.0) -> None:
        """Stop every worker once its requests in flight are answered (or ``drain_s`` passed)."""
        self._closed = True
        instances, self.instances = self.instances, []
        await asyncio.gather(*(self._drain_and_stop(i, drain_s) for i in instances))

    def cpu_percent(self) -> float | None:
        """Mean CPU use of the instances since the last call."""
        values = [v for v in (i.cpu_percent() for i in self.instances) if v is not None]
        return sum(values) / len(values) if values else None

    async def refresh_batching(self) -> None:
        """Read each healthy worker's dynamic-batching counters (a variant with batching)."""
        if self.config.batching is None:
            return

        async def read(instance: Instance) -> None:
            if not instance.healthy or instance.pool is None:
                return
            try:
                answer = await instance.pool.request(b"GET", b"/stats", b"", [], timeout=2.0)
                instance.batching = json.loads(answer.body).get("batching")
            except (WorkerUnavailable, WorkerTimeout, ValueError):
                pass  # a busy or restarting worker keeps its last counters

        await asyncio.gather(*(read(i) for i in self.instances))

    def batching_totals(self) -> dict[str, float] | None:
        """Batches, records, mean batch size and model busy seconds over the instances."""
        if self.config.batching is None:
            return None
        counters = [i.batching for i in self.instances if i.batching]
        batches = sum(int(c.get("batches", 0)) for c in counters)
        records = sum(int(c.get("records", 0)) for c in counters)
        return {
            "batches": batches,
            "records": records,
            "mean_batch_size": round(records / batches, 2) if batches else 0.0,
            "busy_seconds": round(sum(float(c.get("busy_seconds", 0.0)) for c in counters), 3),
        }

    def describe(self, share: float = 0.0) -> dict[str, Any]:
        """JSON-ready state: config, instances, metrics."""
        out: dict[str, Any] = {
            "role": self.role,
            "model": self.config.model,
            "instance_count": len(self.instances),
            "healthy_instances": self.healthy_count,
            "instances": [
                {
                    "index": i.index,
                    "pid": i.pid,
                    "port": i.port,
                    "healthy": i.healthy,
                    "restarts": i.restarts,
                    "outstanding": i.outstanding,
                }
                for i in self.instances
            ],
            "traffic_share": share,
            "metrics": self.metrics.snapshot(),
        }
        if self.comparison is not None:
            out["agreement"] = self.comparison.summary()
        batching = self.batching_totals()
        if batching is not None:
            out["batching"] = batching
        return out

    def _take_index(self) -> int:
        self._next_index += 1
        return self._next_index - 1

    def _watch(self, instance: Instance) -> None:
        async def watch() -> None:
            assert instance.process is not None
            code = await instance.process.wait()
            if instance.stopping or self._closed or instance not in self.instances:
                return
            instance.healthy = False
            self.on_event(
                "worker_exit",
                {
                    "variant": self.name,
                    "index": instance.index,
                    "pid": instance.pid,
                    "status": code,
                },
            )
            await self._restart(instance)

        asyncio.get_running_loop().create_task(watch())

    async def _restart(self, instance: Instance) -> None:
        delay = 0.2
        while not self._closed and instance in self.instances:
            instance.restarts += 1
            try:
                await instance.start()
            except JobError as exc:
                self.on_event(
                    "worker_restart_failed",
                    {"variant": self.name, "index": instance.index, "error": exc.message},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF_S)
                continue
            self.on_event(
                "worker_restarted",
                {"variant": self.name, "index": instance.index, "pid": instance.pid},
            )
            self._watch(instance)
            return

    async def _drain_and_stop(self, instance: Instance, drain_s: float = 10.0) -> None:
        instance.healthy = False
        deadline = time.monotonic() + drain_s
        while instance.outstanding and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await instance.stop()
