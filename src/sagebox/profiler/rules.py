"""The built-in profiler rules, with SageMaker Debugger's names, parameters and defaults.

Each rule reads a :class:`sagebox.profiler.data.ProfileData` (system samples every 500 ms by
default, framework timings per step) and returns a Finding once its condition holds. Besides
:meth:`~sagebox.debugger.rule.Rule.evaluate`, every profiler rule has :meth:`ProfilerRule.explain`:
the figures it looked at, also when it found nothing (for the report and ``debug rules``).

SageMaker's rules watch GPU instances. Without a GPU their GPU conditions cannot hold, so
each rule documents what it checks on a CPU-only machine; LowGPUUtilization never fires there.

``patience`` (how many samples or steps to collect before the first evaluation) and
``window`` keep SageMaker's defaults: 1000 samples are about 8 minutes at 500 ms, so short
jobs end before these rules evaluate; lower them for short jobs. ``scan_interval_us`` is
accepted for compatibility and has no effect (the data is read incrementally every second).
"""

from __future__ import annotations

import math
import statistics
from abc import abstractmethod
from typing import Any

import numpy as np

from sagebox.debugger.rule import Finding, Rule, register_rule
from sagebox.profiler.data import ProfileData

__all__ = [
    "BatchSize",
    "CPUBottleneck",
    "IOBottleneck",
    "LowGPUUtilization",
    "ProfilerRule",
    "StepOutlier",
]

#: StepOutlier ignores this many first steps (warm-up: compilation, caches, first batches)
WARMUP_STEPS = 5
#: StepOutlier needs at least this many steps after the warm-up
MIN_STEPS = 10
#: a step is an outlier only if also this much slower than the mean (relative)
MIN_OUTLIER_MARGIN = 0.1
_SCAN_INTERVAL_US = 60 * 1000 * 1000


class ProfilerRule(Rule):
    """A rule over profiler data: :meth:`analyse` gives the finding (or None) and the figures."""

    kind = "profiler"

    def evaluate(self, data: ProfileData) -> Finding | None:
        return self.analyse(data)[0]

    def explain(self, data: ProfileData) -> dict[str, Any]:
        """The figures the rule looked at (with or without a finding)."""
        return self.analyse(data)[1]

    @abstractmethod
    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        """The finding, if the condition holds, and the figures behind the decision."""


def _cpu_total(sample: dict[str, Any]) -> float | None:
    total = sample.get("cpu_total")
    if isinstance(total, int | float) and math.isfinite(total):
        return float(total)
    cores = [c for c in sample.get("cpu") or [] if isinstance(c, int | float)]
    return statistics.fmean(cores) if cores else None


def _gpu_values(sample: dict[str, Any], key: str) -> list[float]:
    return [
        float(g[key])
        for g in sample.get("gpu") or []
        if isinstance(g, dict) and isinstance(g.get(key), int | float)
    ]


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def _last_step(data: ProfileData) -> int | None:
    steps = data.phases("step")
    return steps[-1]["step"] if steps else None


def _r(value: float) -> float:
    """``value`` to 4 significant digits (figures for people, not for arithmetic)."""
    return float(f"{value:.4g}") if math.isfinite(value) else value


@register_rule
class CPUBottleneck(ProfilerRule):
    """The CPU is the bottleneck.

    With a GPU (SageMaker's rule): a sample is a bottleneck when total CPU utilisation is
    above ``cpu_threshold`` percent while the host's GPUs average below ``gpu_threshold``
    percent. Without a GPU: a sample is a bottleneck when total CPU utilisation is above
    ``cpu_threshold`` (the CPU is saturated and limits the speed of training). Once
    ``patience`` samples are in, fires when more than ``threshold`` percent of all samples are
    bottlenecks.
    """

    name = "CPUBottleneck"
    defaults = {
        "threshold": 50.0,
        "gpu_threshold": 10.0,
        "cpu_threshold": 90.0,
        "patience": 1000,
        "scan_interval_us": _SCAN_INTERVAL_US,
    }
    description = "Detects when the CPU limits training speed (saturated CPU, idle GPU)."
    recommendation = (
        "Move preprocessing out of the training loop (pre-tokenise, cache), use more data "
        "loader workers or a machine with more cores; on CPU-only training a GPU instance would "
        "relieve the CPU."
    )

    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        samples = data.system()
        figures: dict[str, Any] = {"samples": len(samples), "gpu": data.has_gpu}
        counted = bottlenecks = 0
        for sample in samples:
            cpu = _cpu_total(sample)
            if cpu is None:
                continue
            if data.has_gpu:
                utils = _gpu_values(sample, "util")
                if not utils:
                    continue
                hit = cpu > self.cpu_threshold and statistics.fmean(utils) < self.gpu_threshold
            else:
                hit = cpu > self.cpu_threshold
            counted += 1
            bottlenecks += hit
        share = 100 * bottlenecks / counted if counted else 0.0
        figures.update(bottleneck_samples=bottlenecks, bottleneck_percent=_r(share))
        if counted < self.patience or share <= self.threshold:
            return None, figures
        condition = (
            f"CPU above {self.cpu_threshold}% with GPU below {self.gpu_threshold}%"
            if data.has_gpu
            else f"CPU above {self.cpu_threshold}% (no GPU)"
        )
        return (
            Finding(
                f"{share:.0f}% of {counted} samples show a CPU bottleneck ({condition}); "
                f"threshold={self.threshold}%",
                step=_last_step(data),
                evidence={**figures, "threshold": self.threshold},
            ),
            figures,
        )


@register_rule
class IOBottleneck(ProfilerRule):
    """Training waits for input data.

    Two sources, each needing ``patience`` data points; fires when either shows a bottleneck
    in more than ``threshold`` percent of them:

    * System samples that carry CPU I/O wait (``iowait``, percent): a sample is a bottleneck
      when I/O wait is above ``io_threshold`` and (with a GPU) the GPUs average below
      ``gpu_threshold``; SageMaker's rule.
    * Framework timings: a step is a bottleneck when waiting for its batch (the ``data``
      phase) takes more than ``io_threshold`` percent of the step's wall-clock time.
    """

    name = "IOBottleneck"
    defaults = {
        "threshold": 50.0,
        "gpu_threshold": 10.0,
        "io_threshold": 50.0,
        "patience": 1000,
        "scan_interval_us": _SCAN_INTERVAL_US,
    }
    description = "Detects when training waits for input data (I/O or data loading)."
    recommendation = (
        "Speed up data loading: more DataLoader workers, pin_memory, prefetching, local or "
        "cached data instead of remote reads, and preprocessing done once before training."
    )

    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        waits = hits = 0
        for sample in data.system():
            iowait = sample.get("iowait", sample.get("cpu_iowait"))
            if not isinstance(iowait, int | float):
                continue
            if data.has_gpu:
                utils = _gpu_values(sample, "util")
                gpu_idle = bool(utils) and statistics.fmean(utils) < self.gpu_threshold
            else:
                gpu_idle = True
            waits += 1
            hits += iowait > self.io_threshold and gpu_idle
        steps = slow = 0
        for parts in data.step_phases().values():
            if "data" not in parts or parts.get("span", 0.0) <= 0:
                continue
            steps += 1
            slow += 100 * parts["data"] / parts["span"] > self.io_threshold
        figures: dict[str, Any] = {
            "iowait_samples": waits,
            "iowait_bottleneck_percent": _r(100 * hits / waits) if waits else None,
            "steps": steps,
            "data_bound_steps": slow,
            "data_bound_percent": _r(100 * slow / steps) if steps else None,
        }
        if waits >= self.patience and 100 * hits / waits > self.threshold:
            return (
                Finding(
                    f"{100 * hits / waits:.0f}% of {waits} samples wait on I/O more than "
                    f"{self.io_threshold}% of the time; threshold={self.threshold}%",
                    step=_last_step(data),
                    evidence={**figures, "source": "iowait", "threshold": self.threshold},
                ),
                figures,
            )
        if steps >= self.patience and 100 * slow / steps > self.threshold:
            return (
                Finding(
                    f"{100 * slow / steps:.0f}% of {steps} steps spend more than "
                    f"{self.io_threshold}% of their time waiting for data; "
                    f"threshold={self.threshold}%",
                    step=_last_step(data),
                    evidence={**figures, "source": "data_phase", "threshold": self.threshold},
                ),
                figures,
            )
        return None, figures


@register_rule
class LowGPUUtilization(ProfilerRule):
    """A GPU is under-used or its utilisation fluctuates.

    Per GPU of every host, over its last ``window`` samples once it has ``patience``: fires
    when the 95th percentile of utilisation is below ``threshold_p95`` (under-used), or when
    it is above ``threshold_p95`` but the 5th percentile is below ``threshold_p5``
    (fluctuating: the GPU often waits). Without a GPU it never fires (``explain`` says
    ``no GPU``).
    """

    name = "LowGPUUtilization"
    defaults = {
        "threshold_p95": 70.0,
        "threshold_p5": 10.0,
        "window": 500,
        "patience": 1000,
        "scan_interval_us": _SCAN_INTERVAL_US,
    }
    description = "Detects GPUs that are under-used or whose utilisation fluctuates."
    recommendation = (
        "Increase the batch size or use a smaller instance if the GPU idles; if it fluctuates, "
        "look for data loading or CPU bottlenecks that make it wait."
    )

    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        if not data.has_gpu:
            return None, {"gpu": "no GPU"}
        series: dict[tuple[str, int], list[float]] = {}
        for sample in data.system():
            for gpu in sample.get("gpu") or []:
                if isinstance(gpu, dict) and isinstance(gpu.get("util"), int | float):
                    key = (str(sample.get("host", "")), int(gpu.get("index", 0)))
                    series.setdefault(key, []).append(float(gpu["util"]))
        figures: dict[str, Any] = {"gpus": {}}
        for (host, index), utils in sorted(series.items()):
            recent = utils[-max(int(self.window), 1) :]
            p95, p5 = _p(recent, 95), _p(recent, 5)
            label = f"{host} gpu{index}"
            figures["gpus"][label] = {"samples": len(utils), "p95": _r(p95), "p5": _r(p5)}
            if len(utils) < self.patience:
                continue
            evidence = {"gpu": label, "p95": _r(p95), "p5": _r(p5), "window": len(recent)}
            if p95 < self.threshold_p95:
                message = (
                    f"{label} is under-used: 95th percentile utilisation {p95:.0f}% < "
                    f"threshold_p95={self.threshold_p95}%"
                )
                return Finding(message, step=_last_step(data), evidence=evidence), figures
            if p5 < self.threshold_p5:
                message = (
                    f"{label} utilisation fluctuates: 5th percentile {p5:.0f}% < "
                    f"threshold_p5={self.threshold_p5}% (95th: {p95:.0f}%)"
                )
                return Finding(message, step=_last_step(data), evidence=evidence), figures
        return None, figures


@register_rule
class StepOutlier(ProfilerRule):
    """Some steps take far longer than the others.

    Step durations (the ``step`` intervals of the first host; only those saved in ``mode``
    when given and the events carry a mode) without the first 5 (warm-up), once there are at
    least 10. A step is an outlier when it lasts more than ``stddev`` standard deviations
    above the mean, and at least 10% more than the mean. Mean and standard deviation are
    those of the steps that are not outliers themselves (found from the median and its
    absolute deviation, then by iterated sigma clipping), so that a group of slow steps does
    not hide itself by inflating the deviation. Fires when there are more than ``n_outliers``
    outliers.
    """

    name = "StepOutlier"
    defaults = {
        "stddev": 3.0,
        "mode": None,
        "n_outliers": 10,
        "scan_interval_us": _SCAN_INTERVAL_US,
    }
    description = "Detects training steps that take much longer than the typical step."
    recommendation = (
        "Look at what the slow steps do differently: evaluation or checkpointing inside the "
        "loop, garbage collection, data loader stalls, or other processes on the machine."
    )

    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        mode = str(self.mode).lower() if self.mode not in (None, "") else None
        if mode == "global":
            mode = None
        durations = data.step_durations(mode)[WARMUP_STEPS:]
        figures: dict[str, Any] = {"steps": len(durations)}
        if len(durations) < MIN_STEPS:
            return None, figures
        values = [seconds for _, seconds in durations]
        limit, mean, std = self._limit(values)
        outliers = [(step, seconds) for step, seconds in durations if seconds > limit]
        figures.update(
            mean_s=_r(mean),
            stddev_s=_r(std),
            threshold_s=_r(limit),
            outliers=len(outliers),
        )
        if len(outliers) <= self.n_outliers:
            return None, figures
        slowest = max(outliers, key=lambda item: item[1])
        evidence = {
            **figures,
            "n_outliers": self.n_outliers,
            "slowest_step": slowest[0],
            "slowest_s": _r(slowest[1]),
            "outlier_steps": [step for step, _ in outliers[:20]],
        }
        return (
            Finding(
                f"{len(outliers)} of {len(durations)} steps last longer than {limit:.3g} s "
                f"(mean {mean:.3g} s + {self.stddev} x {std:.3g} s); slowest: step "
                f"{slowest[0]} ({slowest[1]:.3g} s); n_outliers={self.n_outliers}",
                step=outliers[-1][0],
                evidence=evidence,
            ),
            figures,
        )

    def _limit(self, values: list[float]) -> tuple[float, float, float]:
        """The outlier limit, mean and standard deviation of the typical steps: start from the
        median and its absolute deviation (robust to the outliers), then clip iteratively."""
        median = statistics.median(values)
        robust_std = 1.4826 * statistics.median(abs(v - median) for v in values)
        limit = median + max(self.stddev * robust_std, MIN_OUTLIER_MARGIN * median)
        kept = [v for v in values if v <= limit]
        mean = std = 0.0
        for _ in range(10):
            if len(kept) < 2:
                kept = values
            mean, std = statistics.fmean(kept), statistics.pstdev(kept)
            limit = mean + max(self.stddev * std, MIN_OUTLIER_MARGIN * mean)
            within = [v for v in values if v <= limit]
            if len(within) == len(kept):
                break
            kept = within
        return limit, mean, std


@register_rule
class BatchSize(ProfilerRule):
    """The machine is under-used: the batch could be larger (or the machine smaller).

    Over the last ``window`` system samples once there are ``patience``: with a GPU, fires
    when the 95th percentiles of CPU utilisation, GPU utilisation and GPU memory are all below
    ``cpu_threshold_p95``, ``gpu_threshold_p95`` and ``gpu_memory_threshold_p95`` (SageMaker's
    rule). Without a GPU, fires when the 95th percentile of total CPU utilisation is below
    ``cpu_threshold_p95``: even at its busiest the CPU has room for larger batches.
    """

    name = "BatchSize"
    defaults = {
        "cpu_threshold_p95": 70.0,
        "gpu_threshold_p95": 70.0,
        "gpu_memory_threshold_p95": 70.0,
        "patience": 1000,
        "window": 500,
        "scan_interval_us": _SCAN_INTERVAL_US,
    }
    description = "Detects an under-used machine, a sign that the batch size is too small."
    recommendation = (
        "Increase the batch size (scale the learning rate with it) or train on a smaller, "
        "cheaper machine."
    )

    def analyse(self, data: ProfileData) -> tuple[Finding | None, dict[str, Any]]:
        samples = data.system()
        recent = samples[-max(int(self.window), 1) :]
        cpu = [v for v in (_cpu_total(s) for s in recent) if v is not None]
        figures: dict[str, Any] = {"samples": len(samples), "gpu": data.has_gpu}
        if not cpu:
            return None, figures
        figures["cpu_p95"] = _r(_p(cpu, 95))
        checks = [("CPU", figures["cpu_p95"], self.cpu_threshold_p95)]
        if data.has_gpu:
            utils = [max(_gpu_values(s, "util")) for s in recent if _gpu_values(s, "util")]
            memory = [
                max(_gpu_values(s, "memory_percent"))
                for s in recent
                if _gpu_values(s, "memory_percent")
            ]
            if not utils or not memory:
                return None, figures
            figures["gpu_p95"] = _r(_p(utils, 95))
            figures["gpu_memory_p95"] = _r(_p(memory, 95))
            checks += [
                ("GPU", figures["gpu_p95"], self.gpu_threshold_p95),
                ("GPU memory", figures["gpu_memory_p95"], self.gpu_memory_threshold_p95),
            ]
        if len(samples) < self.patience or any(value >= limit for _, value, limit in checks):
            return None, figures
        described = ", ".join(f"{what} {value:.0f}% < {limit}%" for what, value, limit in checks)
        return (
            Finding(
                f"the machine is under-used (95th percentiles: {described}): the batch size "
                "could be larger",
                step=_last_step(data),
                evidence={**figures, "window": len(recent)},
            ),
            figures,
        )
