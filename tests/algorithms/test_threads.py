"""text-transformer's automatic torch thread count on a shared machine."""

from __future__ import annotations

import os
import threading
import time

import pytest

from sagebox.algorithms.text_transformer import _cores_busy_elsewhere, auto_threads


def test_auto_threads_stays_within_this_process_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SM_NUM_CPUS", "1")
    assert auto_threads() == 1
    monkeypatch.delenv("SM_NUM_CPUS")
    assert 1 <= auto_threads() <= len(os.sched_getaffinity(0))


def test_this_process_own_work_is_not_counted_as_busy_elsewhere() -> None:
    total = os.cpu_count() or 1
    quiet = _cores_busy_elsewhere(total, window_s=0.5)
    done = threading.Event()

    def spin() -> None:  # keeps about one core of *this* process busy
        while not done.is_set():
            sum(range(1000))

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    time.sleep(0.1)
    try:
        busy = _cores_busy_elsewhere(total, window_s=0.5)
    finally:
        done.set()
        spinner.join()
    assert 0.0 <= busy <= total
    # The old load-average rule counted this process's own core; the measurement must not.
    assert busy < quiet + 0.6, (quiet, busy)
