"""Per-variant serving metrics: counts, errors, latency percentiles, model time vs overhead.

Recording is O(1) on the request path: counters, a ring buffer of recent latencies (for
percentiles since start) and one bucket per second (for windowed figures that alarms and
autoscaling read). Percentiles are computed only when someone asks.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from typing import Any

__all__ = ["VariantMetrics", "prometheus_text"]

_RING = 8192
_BUCKET_SAMPLES = 2000
_BUCKETS_KEPT = 900


class _Bucket:
    __slots__ = ("errors", "latencies", "model", "n", "second")

    def __init__(self, second: int) -> None:
        self.second = second
        self.n = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.model: list[float] = []


class VariantMetrics:
    """Counters and latencies of one variant (as seen by the gateway).

    ``latency`` is the gateway's time from request to response; ``model`` is the time the
    worker spent in the inference hooks (reported in a response header); ``overhead`` is the
    difference (HTTP, routing, queueing).

    Example:
        >>> m = VariantMetrics()
        >>> m.record(200, latency_ms=4.0, model_ms=3.0)
        >>> m.snapshot()["invocations"]
        1
    """

    def __init__(self) -> None:
        self.invocations = 0
        self.errors_4xx = 0
        self.errors_5xx = 0
        self.retries = 0
        self.started = time.time()
        self._latency = array("d", bytes(8 * _RING))
        self._model = array("d", bytes(8 * _RING))
        self._filled = 0
        self._pos = 0
        self._buckets: deque[_Bucket] = deque(maxlen=_BUCKETS_KEPT)

    def record(self, status: int, latency_ms: float, model_ms: float | None = None) -> None:
        """Count one answered request."""
        self.invocations += 1
        if status >= 500:
            self.errors_5xx += 1
        elif status >= 400:
            self.errors_4xx += 1
        model = latency_ms if model_ms is None else min(model_ms, latency_ms)
        pos = self._pos
        self._latency[pos] = latency_ms
        self._model[pos] = model
        self._pos = (pos + 1) % _RING
        if self._filled < _RING:
            self._filled += 1
        second = int(time.monotonic())
        buckets = self._buckets
        if not buckets or buckets[-1].second != second:
            buckets.append(_Bucket(second))
        bucket = buckets[-1]
        bucket.n += 1
        if status >= 500:
            bucket.errors += 1
        if len(bucket.latencies) < _BUCKET_SAMPLES:
            bucket.latencies.append(latency_ms)
            bucket.model.append(model)

    def window(self, seconds: float, since: float | None = None) -> dict[str, float]:
        """Figures over the last ``seconds`` (and not before monotonic time ``since``)."""
        now = time.monotonic()
        start = now - seconds if since is None else max(now - seconds, since)
        n = errors = 0
        lat: list[float] = []
        model: list[float] = []
        for bucket in reversed(self._buckets):
            if bucket.second + 1 <= start:
                break
            n += bucket.n
            errors += bucket.errors
            lat.extend(bucket.latencies)
            model.extend(bucket.model)
        return {
            "invocations": n,
            "errors": errors,
            "error_rate": errors / n if n else 0.0,
            "per_minute": n * 60.0 / max(now - start, 1e-3),
            "p99_latency_ms": _percentile(lat, 99),
            "model_latency_p99_ms": _percentile(model, 99),
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything since start: counts and p50/p90/p99 of the recent requests."""
        lat = self._latency[: self._filled].tolist()
        model = self._model[: self._filled].tolist()
        overhead = [a - b for a, b in zip(lat, model, strict=True)]
        return {
            "invocations": self.invocations,
            "errors_4xx": self.errors_4xx,
            "errors_5xx": self.errors_5xx,
            "retries": self.retries,
            "latency_ms": _quantiles(lat),
            "model_latency_ms": _quantiles(model),
            "overhead_latency_ms": _quantiles(overhead),
        }


def _quantiles(values: list[float]) -> dict[str, float]:
    return {f"p{q}": _percentile(values, q) for q in (50, 90, 99)}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return round(ordered[rank], 3)


def prometheus_text(endpoints: dict[str, dict[str, Any]]) -> str:
    """Render ``{endpoint: describe-dict}`` as Prometheus text exposition format."""
    lines: list[str] = []
    series: dict[str, tuple[str, str, list[str]]] = {}

    def add(name: str, kind: str, help_text: str, labels: dict[str, str], value: float) -> None:
        entry = series.setdefault(name, (kind, help_text, []))
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        entry[2].append(f"{name}{{{label_text}}} {value:g}")

    for endpoint, info in endpoints.items():
        groups = ("variants", "green_variants", "shadow_variants")
        for variant, v in [item for g in groups for item in info.get(g, {}).items()]:
            labels = {"endpoint": endpoint, "variant": variant, "role": v.get("role", "")}
            m = v["metrics"]
            add(
                "sagebox_invocations_total",
                "counter",
                "Answered requests.",
                labels,
                m["invocations"],
            )
            for cls in ("4xx", "5xx"):
                add(
                    "sagebox_invocation_errors_total",
                    "counter",
                    "Error answers by class.",
                    {**labels, "class": cls},
                    m[f"errors_{cls}"],
                )
            add(
                "sagebox_retries_total",
                "counter",
                "Requests retried on another instance.",
                labels,
                m["retries"],
            )
            for key, metric in (
                ("latency_ms", "sagebox_latency_ms"),
                ("model_latency_ms", "sagebox_model_latency_ms"),
                ("overhead_latency_ms", "sagebox_overhead_latency_ms"),
            ):
                for q, value in m[key].items():
                    add(
                        metric,
                        "summary",
                        f"{key} quantiles of recent requests.",
                        {**labels, "quantile": str(int(q[1:]) / 100)},
                        value,
                    )
            add(
                "sagebox_instances",
                "gauge",
                "Healthy worker processes.",
                labels,
                v.get("healthy_instances", 0),
            )
            add(
                "sagebox_traffic_weight",
                "gauge",
                "Share of production traffic.",
                labels,
                v.get("traffic_share", 0.0),
            )
            if "agreement" in v:
                add(
                    "sagebox_shadow_agreement_ratio",
                    "gauge",
                    "Share of mirrored records where the shadow agreed with production.",
                    labels,
                    v["agreement"].get("ratio") or 0.0,
                )
            batching = v.get("batching")
            for key, metric, help_text in (
                ("batches", "sagebox_batches_total", "Dynamic batches predicted."),
                ("records", "sagebox_batched_records_total", "Records predicted in batches."),
                ("busy_seconds", "sagebox_model_busy_seconds_total", "Time spent predicting."),
            ):
                if batching:
                    add(metric, "counter", help_text, labels, batching[key])
    for name, (kind, help_text, samples) in series.items():
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(samples)
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
