"""The built-in profiler rules on synthetic system samples and step timings, with and without a
GPU: each fires on data made to break it and stays silent on healthy data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagebox.debugger.rule import get_rule
from sagebox.profiler.data import ProfileData
from sagebox.profiler.rules import (
    BatchSize,
    CPUBottleneck,
    IOBottleneck,
    LowGPUUtilization,
    StepOutlier,
)
from tests.debugger._events_factory import write_steps, write_system

SAGEMAKER_DEFAULTS: dict[str, dict[str, Any]] = {
    "CPUBottleneck": {
        "threshold": 50.0,
        "gpu_threshold": 10.0,
        "cpu_threshold": 90.0,
        "patience": 1000,
        "scan_interval_us": 60_000_000,
    },
    "IOBottleneck": {
        "threshold": 50.0,
        "gpu_threshold": 10.0,
        "io_threshold": 50.0,
        "patience": 1000,
        "scan_interval_us": 60_000_000,
    },
    "LowGPUUtilization": {
        "threshold_p95": 70.0,
        "threshold_p5": 10.0,
        "window": 500,
        "patience": 1000,
        "scan_interval_us": 60_000_000,
    },
    "StepOutlier": {"stddev": 3.0, "mode": None, "n_outliers": 10, "scan_interval_us": 60_000_000},
    "BatchSize": {
        "cpu_threshold_p95": 70.0,
        "gpu_threshold_p95": 70.0,
        "gpu_memory_threshold_p95": 70.0,
        "patience": 1000,
        "window": 500,
        "scan_interval_us": 60_000_000,
    },
}


def load(root: Path) -> ProfileData:
    data = ProfileData(root)
    data.refresh()
    return data


@pytest.mark.parametrize("name", sorted(SAGEMAKER_DEFAULTS))
def test_sagemaker_names_and_defaults(name: str) -> None:
    cls = get_rule(name)
    assert cls.name == name and cls.kind == "profiler"
    assert cls().parameters == SAGEMAKER_DEFAULTS[name]
    assert cls.description and cls.recommendation and cls.__doc__


@pytest.mark.parametrize(
    ("spelling", "cls"),
    [
        ("cpu_bottleneck", CPUBottleneck),
        ("io_bottleneck", IOBottleneck),
        ("low_gpu_utilization", LowGPUUtilization),
        ("step_outlier", StepOutlier),
        ("batch_size", BatchSize),
    ],
)
def test_snake_case_names(spelling: str, cls: type) -> None:
    assert get_rule(spelling) is cls


def test_no_data_no_finding(tmp_path: Path) -> None:
    data = load(tmp_path)
    for name in SAGEMAKER_DEFAULTS:
        rule = get_rule(name)(patience=1) if name != "StepOutlier" else StepOutlier()
        assert rule.evaluate(data) is None, name
        assert isinstance(rule.explain(data), dict)


# -- CPUBottleneck ---------------------------------------------------------------------------


def test_cpu_bottleneck_without_gpu(tmp_path: Path) -> None:
    write_system(tmp_path, [95.0] * 15 + [40.0] * 5)
    data = load(tmp_path)
    assert CPUBottleneck().evaluate(data) is None  # patience: 1000 samples
    finding = CPUBottleneck(patience="20").evaluate(data)
    assert finding is not None and "no GPU" in finding.message
    assert finding.evidence["bottleneck_percent"] == 75.0
    assert finding.evidence["samples"] == 20
    assert CPUBottleneck(patience=20, threshold=80).evaluate(data) is None


def test_cpu_bottleneck_with_gpu_needs_an_idle_gpu(tmp_path: Path) -> None:
    write_system(tmp_path, [95.0] * 20, gpu_utils=[5.0] * 20)
    assert CPUBottleneck(patience=20).evaluate(load(tmp_path)) is not None
    busy = tmp_path / "busy"
    write_system(busy, [95.0] * 20, gpu_utils=[80.0] * 20)
    data = load(busy)
    assert CPUBottleneck(patience=20).evaluate(data) is None
    assert CPUBottleneck(patience=20).explain(data)["bottleneck_percent"] == 0.0


# -- IOBottleneck ----------------------------------------------------------------------------


def test_io_bottleneck_from_data_loading_time(tmp_path: Path) -> None:
    write_steps(tmp_path, [0.2] * 20, data_share=0.7)
    finding = IOBottleneck(patience=20).evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["source"] == "data_phase"
    assert finding.evidence["data_bound_percent"] == 100.0
    assert finding.step == 19
    fast = tmp_path / "fast"
    write_steps(fast, [0.2] * 20, data_share=0.1)
    assert IOBottleneck(patience=20).evaluate(load(fast)) is None


def test_io_bottleneck_from_iowait(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20, iowait=[80.0] * 20)
    finding = IOBottleneck(patience=20).evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["source"] == "iowait"
    busy_gpu = tmp_path / "gpu"
    write_system(busy_gpu, [30.0] * 20, gpu_utils=[90.0] * 20, iowait=[80.0] * 20)
    assert IOBottleneck(patience=20).evaluate(load(busy_gpu)) is None


# -- LowGPUUtilization -----------------------------------------------------------------------


def test_low_gpu_utilization_never_fires_without_a_gpu(tmp_path: Path) -> None:
    write_system(tmp_path, [5.0] * 30)
    data = load(tmp_path)
    rule = LowGPUUtilization(patience=1, window=10)
    assert rule.evaluate(data) is None and rule.finish(data) is None
    assert rule.explain(data) == {"gpu": "no GPU"}


def test_low_gpu_utilization_under_used(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20, gpu_utils=[30.0] * 20)
    finding = LowGPUUtilization(patience=20).evaluate(load(tmp_path))
    assert finding is not None and "under-used" in finding.message
    assert finding.evidence["p95"] == 30.0 and finding.evidence["gpu"] == "algo-1 gpu0"


def test_low_gpu_utilization_fluctuating(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20, gpu_utils=[95.0, 0.0] * 10)
    finding = LowGPUUtilization(patience=20).evaluate(load(tmp_path))
    assert finding is not None and "fluctuates" in finding.message


def test_low_gpu_utilization_silent_on_a_busy_gpu_and_uses_the_window(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20, gpu_utils=[5.0] * 10 + [90.0] * 10)
    data = load(tmp_path)
    assert LowGPUUtilization(patience=20, window=10).evaluate(data) is None
    assert LowGPUUtilization(patience=20, window=20).evaluate(data) is not None
    assert LowGPUUtilization(patience=21, window=20).evaluate(data) is None


# -- StepOutlier -----------------------------------------------------------------------------


def jittered(n: int, seconds: float = 0.1) -> list[float]:
    return [seconds * (1 + 0.02 * ((i * 7) % 5 - 2)) for i in range(n)]


def test_step_outlier_fires_after_n_outliers(tmp_path: Path) -> None:
    durations = jittered(100)
    for i in range(20, 92, 6):  # 12 slow steps, 10x the others
        durations[i] = 1.0
    write_steps(tmp_path, durations)
    data = load(tmp_path)
    finding = StepOutlier().evaluate(data)
    assert finding is not None
    assert finding.evidence["outliers"] == 12
    assert finding.evidence["outlier_steps"][:2] == [20, 26]
    assert finding.evidence["slowest_s"] == 1.0
    assert finding.evidence["mean_s"] == pytest.approx(0.1, rel=0.05)
    assert StepOutlier(n_outliers=12).evaluate(data) is None
    assert StepOutlier(mode="TRAIN").evaluate(data) is not None


def test_step_outlier_silent_on_steady_steps_and_ignores_warm_up(tmp_path: Path) -> None:
    durations = [3.0] * 5 + jittered(60)
    write_steps(tmp_path, durations)
    data = load(tmp_path)
    assert StepOutlier().evaluate(data) is None
    assert StepOutlier(n_outliers=0).evaluate(data) is None
    assert StepOutlier().explain(data)["steps"] == 60


def test_step_outlier_needs_enough_steps(tmp_path: Path) -> None:
    write_steps(tmp_path, jittered(5) + [5.0] * 9)
    assert StepOutlier(n_outliers=0).evaluate(load(tmp_path)) is None


# -- BatchSize -------------------------------------------------------------------------------


def test_batch_size_without_gpu(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20)
    finding = BatchSize(patience=20).evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["cpu_p95"] == 30.0
    assert "batch size" in finding.message
    busy = tmp_path / "busy"
    write_system(busy, [30.0] * 10 + [95.0] * 10)
    assert BatchSize(patience=20).evaluate(load(busy)) is None


def test_batch_size_with_gpu(tmp_path: Path) -> None:
    write_system(tmp_path, [30.0] * 20, gpu_utils=[30.0] * 20, gpu_memory=20.0)
    finding = BatchSize(patience=20).evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["gpu_memory_p95"] == 20.0
    full = tmp_path / "full"
    write_system(full, [30.0] * 20, gpu_utils=[30.0] * 20, gpu_memory=90.0)
    assert BatchSize(patience=20).evaluate(load(full)) is None
