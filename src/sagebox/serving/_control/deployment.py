"""Blue/green updates with traffic shifting, alarms and automatic rollback.

An update starts the new config's variants as a separate ("green") fleet next to the serving
("blue") one, then moves traffic to it in steps: ALL_AT_ONCE (100%), CANARY (``canary_size``,
then 100%) or LINEAR (``linear_step_size`` at a time). After each step the deployment bakes
for ``wait_interval_s`` (``termination_wait_s`` after the last) while the alarms watch the
green fleet's requests since that step. If an alarm fires (error rate or p99 latency over its
threshold with enough requests), all traffic goes back to blue and green is stopped: a
rollback. The same alarms (or, when none is set, :data:`LIVE_FLEET_GUARD`) watch the serving
blue fleet since the deployment started: if it fails during the bake, the deployment ends
Failed (``live_fleet_alarm`` event, green stopped), never Succeeded. Otherwise green becomes
production and the blue fleet is drained and stopped. Every step is an event on the endpoint.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sagebox.serving._control.instances import VariantRuntime
from sagebox.serving._control.runtime import EndpointRuntime
from sagebox.serving.config import Alarm, DeploymentConfig, EndpointConfig

__all__ = ["LIVE_FLEET_GUARD", "evaluate_alarms", "run_update"]

_POLL_S = 0.2

LIVE_FLEET_GUARD = Alarm(
    name="live_fleet_errors", metric="error_rate", threshold=0.01, window_s=30, min_invocations=5
)
"""Watches the serving fleet during a deployment that sets no alarms of its own."""


def evaluate_alarms(
    alarms: list[Alarm], fleet: dict[str, VariantRuntime], since: float
) -> dict[str, Any] | None:
    """The first alarm in breach over the fleet's requests since monotonic time ``since``.

    Returns:
        ``{"alarm", "metric", "value", "threshold", "invocations"}`` or None.
    """
    for alarm in alarms:
        windows = [v.metrics.window(alarm.window_s, since=since) for v in fleet.values()]
        n = sum(int(w["invocations"]) for w in windows)
        if n < alarm.min_invocations:
            continue
        if alarm.metric == "error_rate":
            value = sum(int(w["errors"]) for w in windows) / n
        else:
            value = max(float(w[alarm.metric]) for w in windows)
        if value > alarm.threshold:
            return {
                "alarm": alarm.name or f"{alarm.metric}>{alarm.threshold:g}",
                "metric": alarm.metric,
                "value": round(value, 6),
                "threshold": alarm.threshold,
                "invocations": n,
            }
    return None


async def run_update(
    runtime: EndpointRuntime, config: EndpointConfig, policy: DeploymentConfig
) -> dict[str, Any]:
    """Deploy ``config`` to ``runtime`` with ``policy``; return the deployment record."""
    started = time.monotonic()
    record: dict[str, Any] = {
        "status": "InProgress",
        "started_at": _now(),
        "traffic_routing": policy.traffic_routing.model_dump(),
        "alarms": [a.model_dump() for a in policy.alarms],
        "steps": [],
    }
    runtime.deployment = record
    runtime.status = "Updating"
    runtime.event(
        "deployment_started",
        {"strategy": policy.traffic_routing.type, "variants": [v.name for v in config.variants]},
    )
    try:
        green = await runtime.build_fleet(config, "green")
    except Exception as exc:  # noqa: BLE001 - the new fleet failed to start: keep serving blue
        return _finish(runtime, record, "Failed", f"the new variants failed to start: {exc}")
    runtime.attach_green(green, config)
    for share in policy.traffic_routing.fractions():
        runtime.green_share = share
        shifted = time.monotonic()
        record["steps"].append({"green_share": share, "at": _now()})
        runtime.event("traffic_shifted", {"green_share": share})
        bake = policy.traffic_routing.wait_interval_s if share < 1.0 else policy.termination_wait_s
        breach, fleet = await _bake(runtime, green, policy, shifted, bake, started)
        if breach is not None and fleet == "production":
            # The serving fleet failed while the new one baked: green's alarms saw none of it,
            # and promoting green would hide it. Keep serving blue and say why.
            record["alarm"] = {**breach, "fleet": "production"}
            runtime.event("live_fleet_alarm", record["alarm"])
            await runtime.discard_green()
            return _finish(runtime, record, "Failed", _describe_live_breach(breach))
        if breach is not None:
            record["alarm"] = breach
            if policy.auto_rollback:
                runtime.event("alarm", breach)
                await runtime.discard_green()
                return _finish(runtime, record, "RolledBack", _describe_breach(breach))
            runtime.event("alarm_ignored", breach)
    shadows = await runtime.build_fleet(config, "shadow") if config.shadow_variants else {}
    await runtime.promote_green(shadows)
    return _finish(runtime, record, "Succeeded", None)


async def _bake(
    runtime: EndpointRuntime,
    green: dict[str, VariantRuntime],
    policy: DeploymentConfig,
    shifted: float,
    seconds: float,
    started: float,
) -> tuple[dict[str, Any] | None, str]:
    """Watch both fleets for ``seconds``; the first breach and its fleet ("green"/"production").

    The live (blue) fleet is watched with the same alarms since the deployment started (or,
    with no alarms, with :data:`LIVE_FLEET_GUARD`), so that a deployment never reports
    Succeeded over a serving fleet that was failing.
    """
    deadline = time.monotonic() + seconds
    live_alarms = policy.alarms or [LIVE_FLEET_GUARD]
    while True:
        breach = evaluate_alarms(policy.alarms, green, shifted)
        if breach is not None:
            return breach, "green"
        live = {n: v for n, v in runtime.variants.items() if v not in green.values()}
        breach = evaluate_alarms(live_alarms, live, started)
        if breach is not None:
            return breach, "production"
        now = time.monotonic()
        if now - started > policy.maximum_execution_timeout_s:
            return {
                "alarm": "maximum_execution_timeout",
                "metric": "elapsed_s",
                "value": round(now - started, 1),
                "threshold": policy.maximum_execution_timeout_s,
                "invocations": 0,
            }, "green"
        if now >= deadline:
            return None, "green"
        await asyncio.sleep(min(_POLL_S, deadline - now))


def _finish(
    runtime: EndpointRuntime, record: dict[str, Any], status: str, reason: str | None
) -> dict[str, Any]:
    record.update(status=status, ended_at=_now(), reason=reason)
    runtime.deployment = record
    runtime.status = "InService"
    runtime.event(f"deployment_{status.lower()}", {"reason": reason} if reason else {})
    return record


def _describe_breach(breach: dict[str, Any]) -> str:
    return (
        f"alarm {breach['alarm']}: {breach['metric']} {breach['value']:g} > "
        f"{breach['threshold']:g} over {breach['invocations']} requests"
    )


def _describe_live_breach(breach: dict[str, Any]) -> str:
    return (
        f"the live (production) fleet failed during the bake: {_describe_breach(breach)}; "
        "the new fleet was not promoted and was stopped"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
