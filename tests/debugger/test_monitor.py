"""The system monitor: samples at its interval on a daemon thread, stops cleanly, never raises."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

import pytest

from sagebox.debugger.events import EventReader
from sagebox.profiler.monitor import SystemMonitor, gpu_sample

FIELDS = {
    "time",
    "interval",
    "cpu",
    "cpu_total",
    "iowait",
    "memory_percent",
    "memory_used_mb",
    "disk_read_mb_s",
    "disk_write_mb_s",
    "net_recv_mb_s",
    "net_sent_mb_s",
    "gpu",
}


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_samples_at_the_interval_and_stops(tmp_path: Path) -> None:
    monitor = SystemMonitor(tmp_path, host="algo-3", interval_s=0.1)
    monitor.start()
    monitor.start()  # a second start is a no-op
    assert monitor.running
    wait_for(lambda: monitor.samples >= 6)
    monitor.stop()
    assert not monitor.running
    monitor.stop()  # idempotent
    samples = EventReader(tmp_path, "system").read_new()
    assert len(samples) == monitor.samples >= 6
    assert all(set(s) == FIELDS | {"host"} and s["host"] == "algo-3" for s in samples)
    first = samples[0]
    assert len(first["cpu"]) == os.cpu_count()
    assert all(0 <= c <= 100 for s in samples for c in s["cpu"])
    assert 0 < first["memory_percent"] < 100 and first["memory_used_mb"] > 0
    assert min(s["disk_read_mb_s"] for s in samples) >= 0 and first["gpu"] == gpu_sample()
    # the interval is kept on a loaded machine too (sleeps are measured from the last sample)
    assert 0.09 <= statistics.median(s["interval"] for s in samples) <= 0.3
    gaps = [b["time"] - a["time"] for a, b in zip(samples, samples[1:], strict=False)]
    assert 0.05 <= statistics.median(gaps) <= 0.3


def test_stop_before_start_and_as_a_context_manager(tmp_path: Path) -> None:
    SystemMonitor(tmp_path).stop()
    with SystemMonitor(tmp_path, interval_s=0.05) as monitor:
        wait_for(lambda: monitor.samples >= 1)
    assert not monitor.running and monitor.samples >= 1


def test_a_failing_monitor_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monitor = SystemMonitor(blocked, interval_s=0.05)
    with caplog.at_level(logging.WARNING, logger="sagebox.profiler.monitor"):
        monitor.start()
        wait_for(lambda: not monitor.running)
        monitor.stop()
    assert "system monitor stopped" in caplog.text


def test_gpu_fields_from_nvidia_smi(tmp_path: Path) -> None:
    """The documented CSV of ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits``."""
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0, 87, 2000, 8000\\n1, 3, 0, 8000\\n'\n")
    smi.chmod(0o755)
    assert gpu_sample(str(smi)) == [
        {"index": 0, "util": 87.0, "memory_percent": 25.0},
        {"index": 1, "util": 3.0, "memory_percent": 0.0},
    ]
    assert gpu_sample(str(tmp_path / "missing")) == []
