"""The supervisor inside ``sagebox serve``: owns the endpoints, their workers and records.

It creates, updates and deletes endpoints on request of the admin API, restores the endpoints
recorded for its host and port when it starts, runs autoscaling once a second, and writes each
endpoint's record (status, config, events, bandit state) to the metadata store whenever it
changes. While it runs it is the only writer of those records.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Coroutine, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagebox.backends.metadata.base import EndpointRecord
from sagebox.errors import (
    AlreadyExistsError,
    InputDataError,
    NotFoundError,
    ServiceUnavailableError,
)
from sagebox.names import RESOURCE, check_resource_name
from sagebox.serving._control.launcher import choose_launcher
from sagebox.serving._control.runtime import EndpointRuntime
from sagebox.serving.config import DeploymentConfig, EndpointConfig, parse_config
from sagebox.session import Session

__all__ = ["Supervisor"]

_TICK_S = 0.25
_BATCHING_READ_S = 1.0
_IDLE_START_S = 300.0


class Supervisor:
    """Endpoints served on one host and port.

    Example:
        >>> supervisor = Supervisor(Session(), "127.0.0.1", 8080)
        >>> await supervisor.create("reviews", {"variants": [{"model": "reviews-v1"}]})
    """

    def __init__(
        self,
        session: Session,
        host: str,
        port: int,
        exit_when_idle: bool = False,
        fault_injection: bool = False,
    ) -> None:
        self.session = session
        self.fault_injection = fault_injection
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.exit_when_idle = exit_when_idle
        self.handle = f"local:{os.getpid()}"
        self.endpoints: dict[str, EndpointRuntime] = {}
        self.shutdown = asyncio.Event()
        self._created: dict[str, datetime] = {}
        self._dirty: set[str] = set()
        self._model_lock = asyncio.Lock()
        self._scaling: set[tuple[str, str]] = set()
        self._ever_served = False
        self._started = time.monotonic()
        self._batching_task: asyncio.Task[None] | None = None
        self._batching_read_at = 0.0
        # child processes here, or tasks on the cluster of a compute backend that does not
        # share this file system (see sagebox.serving._control.launcher)
        self.launcher = choose_launcher(session)

    # queries used by the gateway
    def ping(self) -> dict[str, Any]:
        """Identity and endpoints of this server."""
        return {
            "status": "Healthy",
            "server": "sagebox",
            "pid": os.getpid(),
            "endpoints": sorted(self.endpoints),
            "exit_when_idle": self.exit_when_idle,
            "fault_injection": self.fault_injection,
        }

    def runtime(self, name: str) -> EndpointRuntime:
        """The endpoint ``name``. Raises NotFoundError."""
        runtime = self.endpoints.get(name)
        if runtime is None:
            raise NotFoundError(
                f"endpoint {name!r} is not served here",
                hint=f"served: {', '.join(sorted(self.endpoints)) or 'none'}",
            )
        return runtime

    def serving(self, name: str) -> EndpointRuntime:
        """The endpoint ``name`` if it takes requests now."""
        runtime = self.runtime(name)
        if runtime.status not in ("InService", "Updating"):
            raise ServiceUnavailableError(
                f"endpoint {name} is {runtime.status}", hint="wait until it is InService"
            )
        return runtime

    def only_endpoint(self) -> str:
        """The one endpoint served (for ``POST /invocations``)."""
        if len(self.endpoints) != 1:
            raise NotFoundError(
                f"this server has {len(self.endpoints)} endpoints, so /invocations is ambiguous",
                hint="POST /endpoints/{name}/invocations",
            )
        return next(iter(self.endpoints))

    def reward(self, name: str, inference_id: str, value: float) -> dict[str, Any]:
        """Credit a bandit reward in [0, 1] to the variant that answered ``inference_id``."""
        runtime = self.serving(name)
        if runtime.bandit is None:
            raise InputDataError(
                f"endpoint {name} does not route by bandit",
                hint="create it with routing 'bandit' to post rewards",
            )
        variant = runtime.bandit.reward(inference_id, value)
        self.mark(runtime)
        return {"variant": variant, "bandit": runtime.bandit.state()}

    # admin API (called by the control app of _control.api)
    async def create(
        self, name: str, raw_config: EndpointConfig | dict[str, Any]
    ) -> dict[str, Any]:
        """Validate, record and start an endpoint; return at once (status Creating)."""
        check_resource_name("endpoint", name)
        if name in self.endpoints:
            raise AlreadyExistsError(
                f"endpoint {name} already exists at {self.url}",
                hint=f"delete it first: sagebox endpoints delete {name}",
            )
        config = _endpoint_config(raw_config)
        await self._check_models(config)
        runtime = self._new_runtime(name, config)
        self.endpoints[name] = runtime
        self._created.setdefault(name, datetime.now(UTC))
        await self.persist(runtime)
        runtime.task = asyncio.get_running_loop().create_task(self._start(runtime))
        return runtime.describe()

    async def update(
        self,
        name: str,
        raw_config: EndpointConfig | dict[str, Any],
        raw_policy: DeploymentConfig | dict[str, Any],
    ) -> dict[str, Any]:
        """Start a blue/green update of ``name`` to a new config; return at once."""
        check_resource_name("endpoint", name)
        from sagebox.serving._control.deployment import run_update

        runtime = self.runtime(name)
        if runtime.status != "InService":
            raise ServiceUnavailableError(
                f"endpoint {name} is {runtime.status}",
                hint="wait until it is InService, then update",
            )
        config = _endpoint_config(raw_config)
        policy = (
            raw_policy
            if isinstance(raw_policy, DeploymentConfig)
            else parse_config(DeploymentConfig, raw_policy, "deployment config")
        )
        await self._check_models(config)
        runtime.status = "Updating"

        async def deploy() -> None:
            try:
                await run_update(runtime, config, policy)
            except Exception as exc:  # noqa: BLE001 - never leave an endpoint stuck Updating
                with contextlib.suppress(Exception):
                    await runtime.discard_green()
                runtime.deployment = {
                    **(runtime.deployment or {}),
                    "status": "Failed",
                    "reason": f"{type(exc).__name__}: {exc}",
                }
                runtime.status = "InService"
                runtime.event("deployment_failed", {"reason": str(exc)})

        runtime.task = asyncio.get_running_loop().create_task(deploy())
        self.mark(runtime)
        return runtime.describe()

    async def patch(
        self, name: str, weights: dict[str, float], instances: dict[str, int]
    ) -> dict[str, Any]:
        """Change weights and/or instance counts in place (no new fleet)."""
        check_resource_name("endpoint", name)
        runtime = self.serving(name)
        unknown = sorted(set(instances) - set(runtime.variants))
        if unknown:
            raise InputDataError(
                f"endpoint {name} has no variant {', '.join(map(repr, unknown))}",
                hint=f"variants: {', '.join(runtime.variants)}",
            )
        bad = {v: c for v, c in instances.items() if not 1 <= c <= 64}
        if bad:
            raise InputDataError(f"instance counts {bad} are outside 1..64", hint="1..64")
        if weights:
            runtime.set_weights(weights)
        for variant_name, count in instances.items():
            await runtime.variants[variant_name].scale_to(count, reason="requested")
        self.mark(runtime)
        return runtime.describe()

    async def delete(self, name: str) -> None:
        """Stop an endpoint's workers and delete its record."""
        check_resource_name("endpoint", name)
        runtime = self.runtime(name)
        runtime.status = "Deleting"
        if runtime.task is not None and not runtime.task.done():
            runtime.task.cancel()
        await runtime.stop()
        self._dirty.discard(name)
        with contextlib.suppress(NotFoundError):
            await asyncio.to_thread(self.session.metadata.delete_endpoint, name)
        # Dropped last: an idle-exiting server must not shut down before this call answers.
        self.endpoints.pop(name, None)

    async def inject_fault(
        self,
        name: str,
        variant_name: str,
        fleet: str | None = None,
        error_rate: float = 1.0,
        seconds: float = 10.0,
    ) -> dict[str, Any]:
        """Make one fleet's variant fail a share of requests for a while (drills, tests).

        Only the workers of the variant named in ``fleet`` (production, green or shadow) get
        the fault; without ``fleet`` the name must be in one fleet only.
        """
        check_resource_name("endpoint", name)
        runtime = self.runtime(name)
        fleets = {
            "production": runtime.variants,
            "green": runtime.green,
            "shadow": runtime.shadows,
        }
        found = [f for f, group in fleets.items() if variant_name in group]
        if fleet is not None and fleet not in found:
            where = f" (it is in the {' and '.join(found)} fleet)" if found else ""
            raise InputDataError(
                f"endpoint {name} has no {fleet} variant {variant_name!r}{where}",
                hint=_fleet_hint(runtime),
            )
        if fleet is None:
            if not found:
                raise InputDataError(
                    f"endpoint {name} has no variant {variant_name!r}", hint=_fleet_hint(runtime)
                )
            if len(found) > 1:
                raise InputDataError(
                    f"variant {variant_name!r} of endpoint {name} is in the "
                    f"{' and '.join(found)} fleets: name the one to fail",
                    hint="add --fleet green (the new fleet) or --fleet production",
                )
            fleet = found[0]
        variant = fleets[fleet][variant_name]
        body = json.dumps({"error_rate": error_rate, "seconds": seconds}).encode()
        for instance in variant.instances:
            if instance.pool is not None:
                await instance.pool.request(b"POST", b"/_fault", body, [], 5.0)
        runtime.event(
            "fault_injected",
            {"variant": variant_name, "fleet": fleet, "error_rate": error_rate, "seconds": seconds},
        )
        return {"variant": variant_name, "fleet": fleet, "instances": len(variant.instances)}

    # background
    async def restore(self) -> None:
        """Serve again the endpoints recorded for this host and port (after a restart)."""
        records = await asyncio.to_thread(self.session.metadata.list_endpoints)
        for record in records:
            cfg = record.config or {}
            if (cfg.get("host"), cfg.get("port")) != (self.host, self.port):
                continue
            if record.name in self.endpoints or "spec" not in cfg:
                continue
            if not RESOURCE.matches(record.name):
                continue  # recorded before names were checked: never a path part

            if record.status == "Deleting" or (
                record.status == "Failed" and cfg.get("failure_reason")
            ):
                continue
            try:
                config = parse_config(EndpointConfig, cfg["spec"])
            except InputDataError:
                continue
            runtime = self._new_runtime(record.name, config, cfg)
            self.endpoints[record.name] = runtime
            self._created[record.name] = record.created_at or datetime.now(UTC)
            runtime.task = asyncio.get_running_loop().create_task(self._start(runtime))

    async def run_ticks(self) -> None:
        """Autoscaling, record writes and the idle exit, until shutdown."""
        while not self.shutdown.is_set():
            await asyncio.sleep(_TICK_S)
            self._autoscale()
            self._start_batching_refresh()
            for name in list(self._dirty):
                runtime = self.endpoints.get(name)
                self._dirty.discard(name)
                if runtime is not None:
                    await self.persist(runtime)
            if self.endpoints:
                self._ever_served = True
            elif self.exit_when_idle and (
                self._ever_served or time.monotonic() - self._started > _IDLE_START_S
            ):
                self.shutdown.set()  # auto-started and done (or never given an endpoint)

    def _start_batching_refresh(self) -> None:
        """Every second, read the counters of the variants that batch (in the background)."""
        running = self._batching_task is not None and not self._batching_task.done()
        if running or time.monotonic() - self._batching_read_at < _BATCHING_READ_S:
            return
        variants = [
            variant
            for runtime in self.endpoints.values()
            for group in (runtime.variants, runtime.green, runtime.shadows)
            for variant in group.values()
            if variant.reads_stats
        ]
        if variants:
            self._batching_read_at = time.monotonic()
            self._batching_task = asyncio.get_running_loop().create_task(
                _gather(v.refresh_batching() for v in variants)
            )

    async def stop_all(self) -> None:
        """Stop every endpoint's workers (records stay, so a restart restores them)."""
        for runtime in list(self.endpoints.values()):
            await runtime.stop()
            runtime.status = "OutOfService"
            await self.persist(runtime)
        self.launcher.close()

    def mark(self, runtime: EndpointRuntime) -> None:
        """Schedule a write of the endpoint's record."""
        self._dirty.add(runtime.name)

    async def persist(self, runtime: EndpointRuntime) -> None:
        """Write the endpoint's record now."""
        first = runtime.config.variants[0]
        model = first.model or ("multi-model" if first.multi_model else "pipeline")
        record = EndpointRecord(
            name=runtime.name,
            model_name=model,
            status=runtime.status,
            url=self.url,
            handle=self.handle,
            config={
                "host": self.host,
                "port": self.port,
                "spec": runtime.config.to_json(),
                "failure_reason": runtime.failure_reason,
                **runtime.state(),
            },
            created_at=self._created.get(runtime.name),
        )
        await asyncio.to_thread(self.session.metadata.put_endpoint, record)

    def _new_runtime(
        self, name: str, config: EndpointConfig, state: dict[str, Any] | None = None
    ) -> EndpointRuntime:
        workdir = self.session.settings.home / "endpoints" / check_resource_name("endpoint", name)
        runtime = EndpointRuntime(
            name,
            config,
            workdir,
            self._model_dir,
            self.session.storage,
            self.mark,
            state,
            self.launcher,
        )
        runtime.fault_injection = self.fault_injection
        return runtime

    async def _start(self, runtime: EndpointRuntime) -> None:
        try:
            await runtime.start()
        except Exception as exc:  # noqa: BLE001 - any start failure is recorded on the endpoint
            runtime.status = "Failed"
            runtime.failure_reason = str(exc)
            runtime.event("endpoint_failed", {"reason": str(exc)})
            await runtime.stop()
            await self.persist(runtime)
            self.endpoints.pop(runtime.name, None)
            return
        await self.persist(runtime)

    async def _check_models(self, config: EndpointConfig) -> None:
        for name in config.model_names():
            await asyncio.to_thread(self.session.metadata.get_model, name)

    async def _model_dir(self, model_name: str) -> Path:
        async with self._model_lock:
            from sagebox.models import fetch_verified

            record = await asyncio.to_thread(self.session.metadata.get_model, model_name)
            # keyed by the verified digest: a model re-registered with another archive under the
            # same name never reuses the old unpacked copy
            check_resource_name("model", model_name)
            tag = record.sha256 or hashlib.sha256(record.artifact_uri.encode()).hexdigest()
            target = self.session.settings.home / "serving" / "models" / f"{model_name}-{tag[:16]}"
            if record.sha256 is None or not (target / "model" / "manifest.json").is_file():
                await asyncio.to_thread(fetch_verified, self.session, record, target)
            return target / "model"

    def _autoscale(self) -> None:
        now = time.monotonic()
        for runtime in self.endpoints.values():
            if runtime.status != "InService":
                continue
            for variant in runtime.variants.values():
                key = (runtime.name, variant.name)
                if variant.tracker is None or key in self._scaling or not variant.instances:
                    continue
                policy = variant.tracker.policy
                window = variant.metrics.window(policy.window_s)
                cpu = variant.cpu_percent() if policy.target_cpu_percent else None
                decision = variant.tracker.evaluate(
                    len(variant.instances), window["per_minute"], cpu, now
                )
                if decision is None or decision.desired == decision.current:
                    continue
                variant.tracker.applied(decision, now)
                self._scaling.add(key)

                async def scale(
                    v: Any = variant, k: tuple[str, str] = key, d: Any = decision
                ) -> None:
                    try:
                        await v.scale_to(d.desired, reason=d.reason)
                    finally:
                        self._scaling.discard(k)

                asyncio.get_running_loop().create_task(scale())


def _endpoint_config(raw: EndpointConfig | dict[str, Any]) -> EndpointConfig:
    return raw if isinstance(raw, EndpointConfig) else parse_config(EndpointConfig, raw)


def _fleet_hint(runtime: EndpointRuntime) -> str:
    fleets = {"production": runtime.variants, "green": runtime.green, "shadow": runtime.shadows}
    listed = [f"{fleet}: {', '.join(group)}" for fleet, group in fleets.items() if group]
    return "; ".join(listed) or "the endpoint has no variants running"


async def _gather(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*coroutines)
