from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture()
def cli(sagebox_env: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``sagebox`` command in a subprocess with the test's SAGEBOX_HOME."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagebox", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture()
def synth_csv(sagebox_env: Path) -> Callable[[int, int], Path]:
    """Write a synthetic raw review CSV and return its path."""
    from sagebox.datasets import generate_reviews

    def make(rows: int, seed: int) -> Path:
        path = sagebox_env.parent / f"synth-{rows}-{seed}.csv"
        generate_reviews(rows, seed=seed).to_csv(path, index=False)
        return path

    return make
