"""Workers of a variant: start, watch, restart, scale, stop.

A worker is started by the supervisor's :class:`~sagebox.serving._control.launcher.
InstanceLauncher`: a child process on a socket the supervisor bound on 127.0.0.1 (the local
default), or a task on a cluster node that binds its own port and announces it. A worker that
exits unexpectedly is marked unhealthy at once (new requests go to the other instances,
in-flight ones are retried there by the gateway) and restarted with exponential back-off.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagebox.config import create_private_file
from sagebox.errors import JobError
from sagebox.serving._control.autoscaling import TargetTracker
from sagebox.serving._control.launcher import ClusterWorker, InstanceLauncher, WorkerProcess
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
    """One worker of a variant (a child process, or a task on a cluster: see launcher)."""

    def __init__(self, variant: VariantRuntime, index: int) -> None:
        self.variant = variant
        self.index = index
        self.process: WorkerProcess | None = None
        self.port = 0
        self.pool: HttpPool | None = None
        self.healthy = False
        self.outstanding = 0
        self.restarts = 0
        self.stopping = False
        self.started_at = 0.0
        self.batching: dict[str, float] | None = None  # the worker's batcher counters
        self._cpu: tuple[float, float] | None = None
        self._cpu_percent: float | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id (on its node, for a cluster worker)."""
        return self.process.pid if self.process is not None else None

    @property
    def host(self) -> str:
        """The address the worker listens on."""
        return self.process.host if self.process is not None else "127.0.0.1"

    @property
    def handle(self) -> str | None:
        """The compute backend's task handle of a cluster worker (None for a child process)."""
        return self.process.handle if self.process is not None else None

    async def start(self) -> None:
        """Start the worker and wait until it answers /ping.

        Raises:
            JobError: if the worker exits or stays silent during start-up (with its log tail).
        """
        self.stopping = False
        if self.process is not None:
            await self.process.stop(1.0)  # a dead cluster task still holds its slot: free it
        self.process = None
        if self.pool is not None:
            self.pool.close()
        self.pool = None
        self.process = await self.variant.launcher.launch(self.variant, self.index)
        self.port = self.process.port
        self.pool = HttpPool(self.process.host, self.port)
        self._cpu = self._cpu_percent = None
        await self._wait_ready()
        self.started_at = time.monotonic()
        self.healthy = True

    async def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``."""
        self.stopping = True
        self.healthy = False
        if self.process is not None:
            await self.process.stop(grace_s)
        if self.pool is not None:
            self.pool.close()

    def cpu_percent(self) -> float | None:
        """CPU use since the previous sample, in percent of one core."""
        sample = self.process.cpu_sample() if self.process is not None else None
        if sample is None:
            return None
        previous = self._cpu
        if previous is not None and sample[0] == previous[0]:
            return self._cpu_percent  # no new report since the last call (cluster workers)
        self._cpu = sample
        if previous is None or sample[0] <= previous[0]:
            return None
        self._cpu_percent = 100.0 * (sample[1] - previous[1]) / (sample[0] - previous[0])
        return self._cpu_percent

    async def _wait_ready(self) -> None:
        assert self.process is not None and self.pool is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.ended:
                raise JobError(
                    f"worker {self.variant.name}-{self.index} exited during start-up "
                    f"(status {self.process.returncode}): {await self.process.log_tail()}",
                    hint=self.process.where(),
                )
            try:
                response = await self.pool.request(b"GET", b"/ping", b"", [], timeout=0.5)
                if response.status == 200:
                    return
            except (WorkerUnavailable, WorkerTimeout):
                pass
            await asyncio.sleep(0.05)
        hint = self.process.where()
        await self.stop()
        raise JobError(
            f"worker {self.variant.name}-{self.index} did not answer /ping in "
            f"{_READY_TIMEOUT_S:.0f} s",
            hint=hint,
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
        launcher: InstanceLauncher | None = None,
    ) -> None:
        from sagebox.serving._control.launcher import LocalLauncher

        self.endpoint = endpoint
        self.launcher = launcher or LocalLauncher()
        self.spec = spec
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

    @property
    def reads_stats(self) -> bool:
        """Whether the supervisor reads the workers' ``/stats`` every second.

        For the batching counters, and for the CPU use of cluster workers, whose processes
        run on other machines (a CPU target of the autoscaling policy).
        """
        cpu = self.tracker is not None and self.tracker.policy.target_cpu_percent is not None
        return self.config.batching is not None or (cpu and self.launcher.fetches_models)

    async def refresh_batching(self) -> None:
        """Read each healthy worker's ``/stats``: batching counters, CPU of cluster workers."""
        if not self.reads_stats:
            return

        async def read(instance: Instance) -> None:
            if not instance.healthy or instance.pool is None:
                return
            try:
                answer = await instance.pool.request(b"GET", b"/stats", b"", [], timeout=2.0)
                stats = json.loads(answer.body)
                instance.batching = stats.get("batching")
                if isinstance(instance.process, ClusterWorker) and "cpu_seconds" in stats:
                    instance.process.report_cpu(float(stats["cpu_seconds"]))
            except (WorkerUnavailable, WorkerTimeout, ValueError, TypeError):
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
                    "host": i.host,
                    "port": i.port,
                    **({"handle": i.handle} if i.handle else {}),
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
            process = instance.process
            assert process is not None
            code = await process.wait()
            if instance.process is not process:
                return  # restarted meanwhile (by whoever saw the exit first)
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
