"""The shipped compute-backend suite on the local backend, plus opening backends by name."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.backends.compute import TaskState, open_compute
from sagebox.errors import ConfigError
from sagebox.testing.compute import ComputeBackendSuite, OpenCompute


class TestLocalCompute(ComputeBackendSuite):
    """The shipped suite on local subprocesses."""

    @pytest.fixture()
    def open_compute(self) -> OpenCompute:
        return lambda: open_compute("local")


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'nope'"):
        open_compute("nope://cluster:10001")


# a task bound to its submitter (a job's workers) dies with it, even on SIGKILL
_SUBMITTER = """
import sys, time
from pathlib import Path
from sagebox.backends.compute import TaskSpec, open_compute

compute = open_compute("local")
out = Path(sys.argv[1])
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
bound = compute.submit(TaskSpec(sleeper, out / "bound.log", die_with_submitter=True))
free = compute.submit(TaskSpec(sleeper, out / "free.log"))
(out / "handles.tmp").write_text(f"{bound} {free}")
(out / "handles.tmp").rename(out / "handles")
time.sleep(120)
"""


def test_a_task_bound_to_its_submitter_dies_with_it(tmp_path: Path) -> None:
    submitter = subprocess.Popen([sys.executable, "-c", _SUBMITTER, str(tmp_path)])
    compute = open_compute("local")
    free = None
    try:
        _until(lambda: (tmp_path / "handles").exists(), "the submitter starts its tasks")
        bound, free = (tmp_path / "handles").read_text().split()
        assert compute.state(bound) is TaskState.RUNNING
        submitter.kill()  # SIGKILL: the submitter cannot stop anything itself
        submitter.wait()
        _until(lambda: compute.state(bound) is TaskState.EXITED, "the bound task dies")
        assert compute.state(free) is TaskState.RUNNING  # a detached task outlives it
    finally:
        if submitter.poll() is None:
            submitter.kill()
            submitter.wait()
        if free is not None:
            compute.stop(free, grace_seconds=1)


def _until(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)
