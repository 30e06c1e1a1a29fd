"""The live state of one endpoint inside ``sagebox serve``: fleets, routing, capture, events.

An endpoint has a production fleet (the "blue" variants), optional shadow variants, and during
a blue/green update a second "green" fleet that receives ``green_share`` of the traffic.
:meth:`EndpointRuntime.choose` picks the variant of each request: the one named in
``X-Sagebox-Target-Variant``, else blue or green by the deployment's share, else by weight (or
by the bandit).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError
from sagebox.serving._control.bandit import Bandit
from sagebox.serving._control.capture import CaptureWriter
from sagebox.serving._control.instances import VariantRuntime
from sagebox.serving._control.launcher import InstanceLauncher
from sagebox.serving._control.routing import WeightedChooser
from sagebox.serving.config import EndpointConfig, ProductionVariant

__all__ = ["EndpointRuntime", "UnknownVariantError"]

_EVENTS_KEPT = 500

ModelDirResolver = Callable[[str], Awaitable[Path]]


class UnknownVariantError(InputDataError):
    """A request named a variant the endpoint does not have."""


class EndpointRuntime:
    """One endpoint being served.

    Example:
        >>> runtime = EndpointRuntime("reviews", config, workdir, resolve, storage, on_change)
        >>> await runtime.start()
        >>> variant = runtime.choose(None)
    """

    def __init__(
        self,
        name: str,
        config: EndpointConfig,
        workdir: Path,
        resolve_model_dir: ModelDirResolver,
        storage: Any,
        on_change: Callable[[EndpointRuntime], None],
        state: dict[str, Any] | None = None,
        launcher: InstanceLauncher | None = None,
    ) -> None:
        self.name = name
        self.launcher = launcher
        self.config = config
        self.workdir = workdir
        self.resolve_model_dir = resolve_model_dir
        self.storage = storage
        self.on_change = on_change
        self.status = "Creating"
        self.failure_reason: str | None = None
        state = state or {}
        self.events: deque[dict[str, Any]] = deque(state.get("events", []), maxlen=_EVENTS_KEPT)
        self.deployment: dict[str, Any] | None = state.get("deployment")
        self.variants: dict[str, VariantRuntime] = {}
        self.shadows: dict[str, VariantRuntime] = {}
        self.green: dict[str, VariantRuntime] = {}
        self.green_config: EndpointConfig | None = None
        self.green_share = 0.0
        self.chooser: WeightedChooser | None = None
        self.green_chooser: WeightedChooser | None = None
        self.bandit: Bandit | None = None
        self.capture: CaptureWriter | None = None
        self._bandit_state = state.get("bandit")
        self._random = random.random
        self.task: asyncio.Task[Any] | None = None
        self.fault_injection = False  # workers accept /_fault only on servers for testing

    # lifecycle
    async def start(self) -> None:
        """Start every variant of the config (in parallel) and begin serving."""
        variants = await self.build_fleet(self.config, "production")
        shadows = await self.build_fleet(self.config, "shadow")
        self._install(self.config, variants, shadows)
        self.status = "InService"
        self.event("endpoint_in_service", {"variants": list(variants), "shadows": list(shadows)})

    async def stop(self) -> None:
        """Stop every worker and flush data capture."""
        fleets = [*self.variants.values(), *self.shadows.values(), *self.green.values()]
        await asyncio.gather(*(v.stop() for v in fleets))
        if self.capture is not None:
            await self.capture.close()

    async def build_fleet(self, config: EndpointConfig, role: str) -> dict[str, VariantRuntime]:
        """Start the production (or shadow) variants of ``config``; stop all if one fails."""
        chosen = config.shadow_variants if role == "shadow" else config.variants
        fleet: dict[str, VariantRuntime] = {}
        for variant in chosen:
            spec = await self._worker_spec(variant, config)
            fleet[variant.name] = VariantRuntime(
                self.name,
                variant,
                "green" if role == "green" else role,
                spec,
                self.workdir,
                self.event,
                self.launcher,
            )
        results = await asyncio.gather(*(v.start() for v in fleet.values()), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await asyncio.gather(*(v.stop() for v in fleet.values()))
            raise errors[0]
        return fleet

    def attach_green(self, fleet: dict[str, VariantRuntime], config: EndpointConfig) -> None:
        """Start routing ``green_share`` of traffic to a new fleet (share 0 at first)."""
        self.green, self.green_config, self.green_share = fleet, config, 0.0
        self.green_chooser = _chooser(config)

    async def promote_green(self, shadows: dict[str, VariantRuntime]) -> None:
        """Make the green fleet production; stop the old fleet and shadows."""
        assert self.green_config is not None
        old = [*self.variants.values(), *self.shadows.values()]
        config, fleet = self.green_config, self.green
        self.green, self.green_config, self.green_share, self.green_chooser = {}, None, 0.0, None
        self._bandit_state = None
        self._install(config, fleet, shadows)
        await asyncio.gather(*(v.drain_and_stop() for v in old))

    async def discard_green(self) -> None:
        """Send all traffic back to production and stop the green fleet (a rollback)."""
        fleet = list(self.green.values())
        self.green, self.green_config, self.green_share, self.green_chooser = {}, None, 0.0, None
        await asyncio.gather(*(v.drain_and_stop() for v in fleet))

    def set_weights(self, weights: dict[str, float]) -> None:
        """Change production weights in place (no deployment)."""
        unknown = sorted(set(weights) - set(self.variants))
        if unknown:
            raise UnknownVariantError(
                f"endpoint {self.name} has no variant {', '.join(unknown)}",
                hint=f"variants: {', '.join(self.variants)}",
            )
        variants = [
            v.config.model_copy(update={"initial_weight": weights.get(n, v.config.initial_weight)})
            for n, v in self.variants.items()
        ]
        config = self.config.model_copy(update={"variants": variants})
        EndpointConfig.model_validate(config.model_dump())  # weights still sum to > 0
        for variant in variants:
            self.variants[variant.name].config = variant
        self.config = config
        self.chooser = _chooser(config)
        self.event("weights_changed", {"weights": {v.name: v.initial_weight for v in variants}})

    # routing
    def choose(self, target: str | None, fleet: str | None = None) -> VariantRuntime:
        """The variant that answers the next request.

        ``fleet`` ("green" or "production") picks the fleet of ``target`` (or, without
        ``target``, the fleet's weighted choice): during a blue/green update that keeps the
        variant name it is how a client reaches the new fleet on its own.

        Raises:
            UnknownVariantError: if ``target`` names no production (or green) variant, or the
                fleet is unknown or not running.
        """
        if fleet:
            return self._choose_in_fleet(target, fleet)
        if target:
            found = self.variants.get(target) or self.green.get(target)
            if found is None:
                raise UnknownVariantError(
                    f"endpoint {self.name} has no variant {target!r}",
                    hint=f"variants: {', '.join([*self.variants, *self.green])}",
                )
            return found
        if self.green and self.green_share > 0 and self._random() < self.green_share:
            assert self.green_chooser is not None
            return self.green[self.green_chooser.choose()]
        if self.bandit is not None:
            return self.variants[self.bandit.choose()]
        assert self.chooser is not None
        return self.variants[self.chooser.choose()]

    def _choose_in_fleet(self, target: str | None, fleet: str) -> VariantRuntime:
        if fleet not in ("production", "green"):
            raise UnknownVariantError(
                f"unknown fleet {fleet!r}", hint="X-Sagebox-Target-Fleet: production or green"
            )
        group = self.green if fleet == "green" else self.variants
        if not group:
            raise UnknownVariantError(
                f"endpoint {self.name} has no {fleet} fleet now",
                hint="a green fleet runs only during a blue/green update",
            )
        if target:
            found = group.get(target)
            if found is None:
                raise UnknownVariantError(
                    f"endpoint {self.name} has no {fleet} variant {target!r}",
                    hint=f"{fleet} variants: {', '.join(group)}",
                )
            return found
        chooser = self.green_chooser if fleet == "green" else self.chooser
        assert chooser is not None
        return group[chooser.choose()]

    def shares(self) -> dict[str, float]:
        """The expected traffic share of each production and green variant."""
        blue = 1.0 - self.green_share
        out: dict[str, float] = {}
        if self.bandit is not None:
            total = sum(self.bandit.chosen.values()) or 1
            out.update({a: blue * c / total for a, c in self.bandit.chosen.items()})
        elif self.chooser is not None:
            out.update({n: blue * s for n, s in self.chooser.shares().items()})
        if self.green_chooser is not None:
            out.update({n: self.green_share * s for n, s in self.green_chooser.shares().items()})
        return {n: round(s, 6) for n, s in out.items()}

    # records
    def event(self, kind: str, detail: dict[str, Any]) -> None:
        """Record an event (scaling, deployment step, worker restart...)."""
        self.events.append(
            {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": kind, **detail}
        )
        self.on_change(self)

    def state(self) -> dict[str, Any]:
        """What is persisted on the endpoint record besides the config."""
        return {
            "events": list(self.events),
            "deployment": self.deployment,
            "bandit": self.bandit.state() if self.bandit is not None else self._bandit_state,
            "instances": {n: len(v.instances) for n, v in self.variants.items()},
        }

    def describe(self) -> dict[str, Any]:
        """Live state for ``GET /endpoints/{name}``."""
        shares = self.shares()
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "config": self.config.to_json(),
            "variants": {n: v.describe(shares.get(n, 0.0)) for n, v in self.variants.items()},
            "shadow_variants": {n: v.describe() for n, v in self.shadows.items()},
            "deployment": self.deployment,
            "events": list(self.events)[-50:],
        }
        if self.green:
            out["green_share"] = self.green_share
            out["green_variants"] = {
                n: v.describe(shares.get(n, 0.0)) for n, v in self.green.items()
            }
        if self.bandit is not None:
            out["bandit"] = self.bandit.state()
        if self.capture is not None:
            out["data_capture"] = self.capture.stats()
        return out

    def _install(
        self,
        config: EndpointConfig,
        variants: dict[str, VariantRuntime],
        shadows: dict[str, VariantRuntime],
    ) -> None:
        self.config, self.variants, self.shadows = config, variants, shadows
        self.chooser = _chooser(config)
        self.bandit = None
        if config.routing == "bandit":
            b = config.bandit
            self.bandit = Bandit(list(variants), b.algorithm, b.epsilon, b.seed, self._bandit_state)
        capture = config.data_capture
        if capture is not None and capture.enabled and self.capture is None:
            self.capture = CaptureWriter(self.storage, self.name, capture, capture.destination)
            self.capture.start()
        elif self.capture is not None:
            if capture is None or not capture.enabled:
                self.capture.config = self.capture.config.model_copy(update={"enabled": False})
            else:
                self.capture.config = capture

    async def _worker_spec(
        self, variant: ProductionVariant, config: EndpointConfig
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": f"{self.name}/{variant.name}",
            "max_payload_bytes": config.max_payload_bytes,
            "fault_injection": self.fault_injection,
        }
        if variant.batching is not None:
            spec["batching"] = variant.batching.model_dump()
        remote = self.launcher is not None and self.launcher.fetches_models
        if variant.multi_model is not None:
            mm = variant.multi_model.model_dump()
            if not remote:  # a cluster worker caches in its node-local home
                mm["cache_dir"] = str(self.workdir / "mme" / f"{variant.name}-{time.time_ns()}")
            spec["multi_model"] = mm
        elif variant.model is not None:
            spec["steps"] = [await self._model_step(variant.model, remote)]
        else:
            steps: list[dict[str, str]] = []
            for step in variant.pipeline or []:
                if step.builtin is not None:
                    steps.append({"builtin": step.builtin})
                else:
                    assert step.model is not None
                    steps.append(await self._model_step(step.model, remote))
            spec["steps"] = steps
        return spec

    async def _model_step(self, model: str, remote: bool) -> dict[str, str]:
        """A model step: the unpacked directory here, or the model's name for a cluster worker
        (which fetches and verifies it from the lake on its node)."""
        if remote:
            return {"model": model, "name": model}
        model_dir = await self.resolve_model_dir(model)
        return {"model_dir": str(model_dir), "name": model}


def _chooser(config: EndpointConfig) -> WeightedChooser:
    return WeightedChooser(
        [v.name for v in config.variants], [v.initial_weight for v in config.variants]
    )
