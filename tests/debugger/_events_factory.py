"""Write small synthetic debug directories (the event streams of sagebox.debugger.events)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sagebox.debugger.events import EventWriter

T0 = 1_700_000_000.0


def _write(root: Path, stream: str, events: Iterable[dict[str, Any]], host: str) -> None:
    writer = EventWriter(root, stream, host)
    try:
        for event in events:
            writer.write(event)
    finally:
        writer.close()


def write_scalars(
    root: Path,
    points: Iterable[tuple[int, float]],
    name: str = "loss",
    mode: str = "train",
    host: str = "algo-1",
    t0: float = T0,
) -> None:
    """One scalar series: ``(step, value)`` points, one second apart from ``t0``."""
    _write(
        root,
        "scalars",
        (
            {"step": step, "mode": mode, "name": name, "value": value, "time": t0 + i}
            for i, (step, value) in enumerate(points)
        ),
        host,
    )


def summary(step: int, name: str, kind: str = "gradient", **fields: Any) -> dict[str, Any]:
    """A tensor summary with healthy defaults (mean 0, std 0.05, 1000 values), overridable."""
    mean, std, size = fields.pop("mean", 0.0), fields.pop("std", 0.05), fields.pop("size", 1000)
    norm = math.sqrt(size * (std * std + mean * mean))
    event = {
        "step": step,
        "mode": "train",
        "name": name,
        "kind": kind,
        "norm": norm,
        "mean": mean,
        "std": std,
        "min": mean - 3 * std,
        "max": mean + 3 * std,
        "zero_fraction": 0.0,
        "nan": 0,
        "inf": 0,
        "size": size,
        "time": T0 + step,
    }
    event.update(fields)
    return event


def write_tensors(root: Path, summaries: Iterable[dict[str, Any]], host: str = "algo-1") -> None:
    """Tensor summaries (see :func:`summary`)."""
    _write(root, "tensors", summaries, host)


def write_batches(
    root: Path,
    batches: Iterable[tuple[int, Sequence[Any], Sequence[Any]]],
    mode: str = "train",
    host: str = "algo-1",
) -> None:
    """``(step, labels, predictions)`` batches."""
    _write(
        root,
        "batches",
        (
            {"step": step, "mode": mode, "labels": list(labels), "predictions": list(preds)}
            for step, labels, preds in batches
        ),
        host,
    )


def write_steps(
    root: Path,
    durations: Sequence[float],
    data_share: float = 0.1,
    host: str = "algo-1",
    t0: float = T0,
    first_step: int = 0,
) -> None:
    """Framework timings of consecutive steps from ``first_step``: each step (seconds given)
    starts by waiting ``data_share`` of it for data, then forward, backward and optimizer."""
    events: list[dict[str, Any]] = []
    now = t0
    for step, seconds in enumerate(durations, start=first_step):
        data = seconds * data_share
        compute = (seconds - data) / 3
        bounds = [now, now + data, now + data + compute, now + data + 2 * compute, now + seconds]
        events.append({"step": step, "phase": "step", "start": now, "end": now + seconds})
        for phase, start, end in zip(
            ("data", "forward", "backward", "optimizer"), bounds, bounds[1:], strict=False
        ):
            events.append({"step": step, "phase": phase, "start": start, "end": end})
        now += seconds
    _write(root, "framework", events, host)


def write_system(
    root: Path,
    cpu_totals: Sequence[float],
    gpu_utils: Sequence[float] | None = None,
    gpu_memory: float = 50.0,
    iowait: Sequence[float] | None = None,
    cores: int = 2,
    host: str = "algo-1",
    t0: float = T0,
) -> None:
    """System samples every 0.5 s: total CPU per sample (every core alike), optionally one
    GPU's utilisation and the CPU I/O wait."""
    events = []
    for i, cpu in enumerate(cpu_totals):
        event: dict[str, Any] = {
            "time": t0 + 0.5 * i,
            "interval": 0.5,
            "cpu": [cpu] * cores,
            "cpu_total": cpu,
            "memory_percent": 40.0,
            "memory_used_mb": 4000.0,
            "disk_read_mb_s": 0.0,
            "disk_write_mb_s": 0.0,
            "net_recv_mb_s": 0.0,
            "net_sent_mb_s": 0.0,
            "gpu": [],
        }
        if gpu_utils is not None:
            event["gpu"] = [{"index": 0, "util": gpu_utils[i], "memory_percent": gpu_memory}]
        if iowait is not None:
            event["iowait"] = iowait[i]
        events.append(event)
    _write(root, "system", events, host)
