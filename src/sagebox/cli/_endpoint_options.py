"""Turn ``sagebox endpoints`` options into endpoint and deployment configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = ["deployment_from_options", "endpoint_config_from_options", "parse_pairs"]


def parse_pairs(text: str | None, what: str) -> dict[str, float]:
    """``"v1=0.5,v2=0.5"`` as a dict."""
    out: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            out[name.strip()] = float(value)
        except ValueError as exc:
            raise InputDataError(
                f"cannot read {what} {item!r}", hint=f"write {what} as NAME=NUMBER,NAME=NUMBER"
            ) from exc
    return out


def _variant(spec: str, shadow: bool = False) -> dict[str, Any]:
    """``NAME=MODEL[:WEIGHT_OR_PCT[:INSTANCES]]``."""
    name, sep, rest = spec.partition("=")
    if not sep or not name or not rest:
        raise InputDataError(
            f"cannot read variant {spec!r}",
            hint="write NAME=MODEL[:WEIGHT[:INSTANCES]], e.g. v1=reviews-v1:1:2",
        )
    fields = rest.split(":")
    out: dict[str, Any] = {"name": name, "model": fields[0]}
    try:
        if len(fields) > 1 and fields[1]:
            out["sampling_percentage" if shadow else "initial_weight"] = float(fields[1])
        if len(fields) > 2 and fields[2]:
            out["instance_count"] = int(fields[2])
    except ValueError as exc:
        raise InputDataError(
            f"cannot read variant {spec!r}",
            hint="weights and percentages are numbers, instances an integer",
        ) from exc
    return out


def endpoint_config_from_options(
    model: str | None,
    config_file: Path | None,
    variants: list[str],
    instances: int,
    shadows: list[str],
    data_capture: float | None,
    capture_destination: str,
    routing: str | None,
    bandit_algorithm: str | None,
    autoscale: str | None,
    batching: str | None,
) -> dict[str, Any]:
    """The endpoint config (a JSON-ready dict) the options describe."""
    if config_file is not None:
        if not config_file.is_file():
            raise InputDataError(f"{config_file} does not exist", hint="check the path")
        try:
            config: dict[str, Any] = json.loads(config_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputDataError(f"{config_file} is not JSON: {exc}", hint="fix the file") from exc
    elif variants:
        config = {"variants": [_variant(v) for v in variants]}
    elif model:
        config = {"variants": [{"model": model, "instance_count": instances}]}
    else:
        raise InputDataError(
            "give --model, --variant or --config",
            hint="e.g. sagebox endpoints create reviews --model reviews-v1",
        )
    if shadows:
        config["shadow_variants"] = [_variant(s, shadow=True) for s in shadows]
    if data_capture is not None:
        config["data_capture"] = {
            "sampling_percentage": data_capture,
            "destination": capture_destination,
        }
    if routing:
        config["routing"] = routing
    if bandit_algorithm:
        config["routing"] = "bandit"
        config["bandit"] = {"algorithm": bandit_algorithm}
    extra: dict[str, Any] = {}
    if autoscale:
        parts = autoscale.split(":")
        try:
            extra["autoscaling"] = {
                "min_instances": int(parts[0]),
                "max_instances": int(parts[1]),
                "target_invocations_per_instance_per_minute": float(parts[2]),
            }
        except (IndexError, ValueError) as exc:
            raise InputDataError(
                f"cannot read --autoscale {autoscale!r}",
                hint="write MIN:MAX:TARGET_INVOCATIONS_PER_INSTANCE_PER_MINUTE",
            ) from exc
    if batching:
        size, _, delay = batching.partition(":")
        try:
            extra["batching"] = {"max_batch_size": int(size), "max_delay_ms": float(delay or 5)}
        except ValueError as exc:
            raise InputDataError(
                f"cannot read --batching {batching!r}", hint="write MAX_BATCH_SIZE[:MAX_DELAY_MS]"
            ) from exc
    for variant in config.get("variants", []):
        variant.update(extra)
    return config


def deployment_from_options(
    strategy: str,
    canary_size: float,
    linear_step: float,
    wait_interval: float,
    bake: float,
    alarm_error_rate: float | None,
    alarm_p99_ms: float | None,
    alarm_window: float,
    alarm_min_invocations: int,
    rollback: bool,
) -> dict[str, Any]:
    """The deployment config (a JSON-ready dict) the options describe."""
    alarms = []
    if alarm_error_rate is not None:
        alarms.append(
            {
                "metric": "error_rate",
                "threshold": alarm_error_rate,
                "window_s": alarm_window,
                "min_invocations": alarm_min_invocations,
            }
        )
    if alarm_p99_ms is not None:
        alarms.append(
            {
                "metric": "p99_latency_ms",
                "threshold": alarm_p99_ms,
                "window_s": alarm_window,
                "min_invocations": alarm_min_invocations,
            }
        )
    return {
        "traffic_routing": {
            "type": strategy.upper().replace("-", "_"),
            "canary_size": canary_size,
            "linear_step_size": linear_step,
            "wait_interval_s": wait_interval,
        },
        "termination_wait_s": bake,
        "alarms": alarms,
        "auto_rollback": rollback,
    }
