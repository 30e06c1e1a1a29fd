"""The compute-backend conformance suite: submit, state, wait, stop, logs and a killed task.

The checks use only :class:`~sagebox.backends.compute.ComputeBackend` and
:class:`~sagebox.backends.compute.TaskSpec`, so any backend (local subprocesses, a Ray cluster)
can run them. The tasks are small Python programs (``sys.executable -c ...``); the suite assumes
that they run on this machine, see its files (their ``log_path``, marker files) and have process
ids the test can signal: true of the local backend and of a one-machine Ray cluster.

A backend author subclasses :class:`ComputeBackendSuite` in a test file and provides an
``open_compute`` fixture: a function that opens a client of the backend (each call a new client
of the same backend, as a later CLI call would open one)::

    import pytest
    from sagebox.testing import ComputeBackendSuite

    class TestMyCompute(ComputeBackendSuite):
        @pytest.fixture()
        def open_compute(self):
            return lambda: MyCompute("my://localhost:1234")

Set ``timeout`` on the subclass for a backend that needs longer to start a task.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.backends.compute.base import ComputeBackend, Resources, TaskSpec, TaskState
from sagebox.backends.compute.lifetime import pid_alive
from sagebox.errors import ConfigError, NotFoundError

__all__ = ["ComputeBackendSuite", "OpenCompute"]

#: opens a new client of the backend under test
OpenCompute = Callable[[], ComputeBackend]

#: a task that prints ``ready``, then waits (up to a minute) for the file given as argv[1]
_WAIT_FOR_FILE = (
    "import os, sys, time\n"
    "print('ready', os.getpid(), flush=True)\n"
    "deadline = time.monotonic() + 60\n"
    "while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:\n"
    "    time.sleep(0.05)\n"
)


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


class ComputeBackendSuite:
    """Every check a compute backend passes; needs an ``open_compute`` fixture (see the module)."""

    #: seconds a task may take to start, or to be seen ending
    timeout: float = 30.0
    #: whether the slots of a reservation are on distinct nodes (a cluster), each task of a
    #: slot seeing its node's id in ``SAGEBOX_NODE_ID``; False: one node (the local backend)
    distinct_nodes: bool = False
    #: the most slots the backend can reserve (its node count), None: no limit
    max_slots: int | None = None

    @pytest.fixture()
    def compute(self, open_compute: OpenCompute) -> ComputeBackend:
        """A client of the backend under test."""
        return open_compute()

    # --- helpers -----------------------------------------------------------------------------

    def _until(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not within {self.timeout} s: {what}"
            time.sleep(0.05)

    def _start_waiting(
        self, compute: ComputeBackend, tmp_path: Path, name: str
    ) -> tuple[str, Path]:
        """Submit a task that waits for ``tmp_path/name.go``; return its handle and log path."""
        log = tmp_path / f"{name}.log"
        handle = compute.submit(
            TaskSpec(argv=_python(_WAIT_FOR_FILE, str(tmp_path / f"{name}.go")), log_path=log)
        )
        self._until(lambda: "ready" in _read(log), f"task {name} prints 'ready'")
        return handle, log

    def _task_pid(self, log: Path) -> int:
        self._until(lambda: "ready " in _read(log), "the task prints its pid")
        return int(_read(log).split("ready ", 1)[1].split()[0])

    # --- submit, wait, logs ------------------------------------------------------------------

    def test_a_task_runs_and_wait_returns_its_exit_code(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        log = tmp_path / "logs" / "nested" / "task.log"  # submit creates the directories
        code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(3)"
        handle = compute.submit(TaskSpec(argv=_python(code), log_path=log))
        assert isinstance(handle, str) and handle
        assert compute.wait(handle, timeout=self.timeout) == 3
        assert compute.state(handle) is TaskState.EXITED
        text = _read(log)
        assert "to stdout\n" in text and "to stderr\n" in text  # stdout and stderr, combined

        ok = compute.submit(TaskSpec(argv=_python("pass"), log_path=tmp_path / "ok.log"))
        assert compute.wait(ok, timeout=self.timeout) == 0

    def test_submit_returns_while_tasks_run(self, compute: ComputeBackend, tmp_path: Path) -> None:
        started = [self._start_waiting(compute, tmp_path, f"task{i}")[0] for i in range(3)]
        assert [compute.state(h) for h in started] == [TaskState.RUNNING] * 3  # all at once
        before = time.monotonic()
        assert compute.wait(started[0], timeout=0.5) is None  # still running: None, in time
        assert time.monotonic() - before < 0.5 + 5
        for i in range(3):
            (tmp_path / f"task{i}.go").touch()
        assert [compute.wait(h, timeout=self.timeout) for h in started] == [0, 0, 0]
        assert [compute.state(h) for h in started] == [TaskState.EXITED] * 3

    def test_output_reaches_the_log_while_the_task_runs(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        handle, log = self._start_waiting(compute, tmp_path, "task")  # saw 'ready' in the log
        assert compute.state(handle) is TaskState.RUNNING
        (tmp_path / "task.go").touch()
        assert compute.wait(handle, timeout=self.timeout) == 0

    def test_the_log_is_appended_to(self, compute: ComputeBackend, tmp_path: Path) -> None:
        log = tmp_path / "task.log"
        log.write_text("an earlier line\n", encoding="utf-8")
        for word in ("first", "second"):
            handle = compute.submit(TaskSpec(argv=_python(f"print({word!r})"), log_path=log))
            assert compute.wait(handle, timeout=self.timeout) == 0
        assert _read(log) == "an earlier line\nfirst\nsecond\n"

    def test_env_and_cwd_are_given_to_the_task(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        workdir = tmp_path / "work"
        workdir.mkdir()
        code = (
            "import os\n"
            "print(os.environ['SAGEBOX_SUITE_VALUE'], os.getcwd())\n"
            "print('inherited' if os.environ.get('SAGEBOX_SUITE_INHERITED') else 'missing')\n"
        )
        os.environ["SAGEBOX_SUITE_INHERITED"] = "1"
        try:
            spec = TaskSpec(
                argv=_python(code),
                log_path=tmp_path / "task.log",
                env={"SAGEBOX_SUITE_VALUE": "42"},
                cwd=workdir,
            )
            handle = compute.submit(spec)
        finally:
            del os.environ["SAGEBOX_SUITE_INHERITED"]
        assert compute.wait(handle, timeout=self.timeout) == 0
        assert _read(spec.log_path).splitlines() == [f"42 {workdir.resolve()}", "inherited"]

    # --- stop --------------------------------------------------------------------------------

    def test_stop_asks_first(self, compute: ComputeBackend, tmp_path: Path) -> None:
        code = (
            "import signal, sys, time\n"
            "def bye(*_):\n"
            "    print('stopping cleanly', flush=True)\n"
            "    sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, bye)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        log = tmp_path / "task.log"
        handle = compute.submit(TaskSpec(argv=_python(code), log_path=log))
        self._until(lambda: "ready" in _read(log), "the task prints 'ready'")
        before = time.monotonic()
        compute.stop(handle, grace_seconds=30)
        assert time.monotonic() - before < 15, "a task that stops when asked is not waited on"
        assert compute.state(handle) is TaskState.EXITED
        assert "stopping cleanly" in _read(log)
        assert compute.wait(handle, timeout=self.timeout) in (0, None)

    def test_stop_forces_a_task_that_ignores_the_request(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        code = (
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        log = tmp_path / "task.log"
        handle = compute.submit(TaskSpec(argv=_python(code), log_path=log))
        self._until(lambda: "ready" in _read(log), "the task prints 'ready'")
        before = time.monotonic()
        compute.stop(handle, grace_seconds=1)
        elapsed = time.monotonic() - before
        assert 0.9 <= elapsed < 1 + 15, f"stop took {elapsed:.1f} s with a 1 s grace period"
        assert compute.state(handle) is TaskState.EXITED
        assert compute.wait(handle, timeout=self.timeout) != 0

    def test_stop_ends_the_processes_the_task_started(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        # the child ignores the polite request, so only a forced stop of the whole tree ends it
        child = (
            "import os, signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('child', os.getpid(), flush=True)\n"
            "time.sleep(60)\n"
        )
        code = (
            "import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
            "time.sleep(60)\n"
        )
        log = tmp_path / "task.log"
        handle = compute.submit(TaskSpec(argv=_python(code), log_path=log))
        self._until(lambda: "child " in _read(log), "the task prints its child's pid")
        pid = int(_read(log).split("child ", 1)[1].split()[0])
        compute.stop(handle, grace_seconds=1)
        assert compute.state(handle) is TaskState.EXITED
        self._until(lambda: not pid_alive(pid), f"the task's child {pid} ends")

    def test_stop_after_the_task_ended_is_harmless(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        handle = compute.submit(TaskSpec(argv=_python("pass"), log_path=tmp_path / "task.log"))
        assert compute.wait(handle, timeout=self.timeout) == 0
        compute.stop(handle, grace_seconds=1)
        assert compute.state(handle) is TaskState.EXITED

    # --- a killed task, another client, bad input -------------------------------------------

    def test_a_killed_task_is_seen_as_ended(
        self, compute: ComputeBackend, open_compute: OpenCompute, tmp_path: Path
    ) -> None:
        handle, log = self._start_waiting(compute, tmp_path, "task")
        os.kill(self._task_pid(log), signal.SIGKILL)
        self._until(lambda: compute.state(handle) is TaskState.EXITED, "the killed task ends")
        code = compute.wait(handle, timeout=self.timeout)
        assert code != 0, "a killed task did not succeed (None: exit code unknown)"
        other = open_compute()
        assert other.state(handle) is TaskState.EXITED
        before = time.monotonic()
        assert other.wait(handle, timeout=self.timeout) != 0
        assert time.monotonic() - before < 5, "wait on an ended task returns at once"

    def test_another_client_follows_and_stops_a_task(
        self, compute: ComputeBackend, open_compute: OpenCompute, tmp_path: Path
    ) -> None:
        handle, _ = self._start_waiting(compute, tmp_path, "task")
        other = open_compute()  # as a later CLI call would, from the handle alone
        assert other.state(handle) is TaskState.RUNNING
        assert other.wait(handle, timeout=0.2) is None
        other.stop(handle, grace_seconds=5)
        assert other.state(handle) is TaskState.EXITED
        assert compute.state(handle) is TaskState.EXITED

    # --- output, reservations -------------------------------------------------------------

    def test_output_gives_what_the_task_printed(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        code = "import sys; print('out line'); print('err line', file=sys.stderr)"
        handle = compute.submit(TaskSpec(argv=_python(code), log_path=tmp_path / "task.log"))
        assert compute.wait(handle, timeout=self.timeout) == 0
        self._until(lambda: "err line" in compute.output(handle), "output() has the output")
        text = compute.output(handle)
        assert "out line\n" in text and "err line\n" in text

    def test_tasks_run_in_the_slots_of_a_reservation(
        self, compute: ComputeBackend, tmp_path: Path
    ) -> None:
        reservation = compute.reserve(2, Resources(cpus=0.5), timeout=self.timeout)
        try:
            assert len(reservation.addresses) == 2 and all(reservation.addresses)
            code = "import os; print('node', os.environ['SAGEBOX_NODE_ID'])"
            handles = [
                compute.submit(
                    TaskSpec(
                        argv=_python(code),
                        log_path=tmp_path / f"slot{i}.log",
                        die_with_submitter=True,
                        slot=reservation.slot(i),
                    )
                )
                for i in range(2)
            ]
            assert [compute.wait(h, timeout=self.timeout) for h in handles] == [0, 0]
            nodes = [compute.output(h).split("node ", 1)[1].split()[0] for h in handles]
            if self.distinct_nodes:
                assert nodes[0] != nodes[1], f"both slots ran on node {nodes[0]}"
        finally:
            compute.release(reservation)

    def test_a_reservation_larger_than_the_cluster_fails_in_time(
        self, compute: ComputeBackend
    ) -> None:
        if self.max_slots is None:
            pytest.skip("the backend reserves any number of slots")
        before = time.monotonic()
        with pytest.raises(ConfigError) as raised:
            compute.reserve(self.max_slots + 1, Resources(cpus=0.5), timeout=3)
        assert time.monotonic() - before < 3 + 30
        assert str(self.max_slots + 1) in raised.value.message
        # nothing stays held: a reservation of every node still succeeds
        compute.release(compute.reserve(self.max_slots, Resources(cpus=0.5), self.timeout))

    def test_a_handle_it_did_not_make_is_not_found(self, compute: ComputeBackend) -> None:
        for call in (
            lambda: compute.state("no-such-backend:task"),
            lambda: compute.wait("no-such-backend:task", timeout=1),
            lambda: compute.stop("no-such-backend:task", grace_seconds=1),
        ):
            with pytest.raises(NotFoundError):
                call()

    def test_a_missing_program_fails_visibly(self, compute: ComputeBackend, tmp_path: Path) -> None:
        spec = TaskSpec(argv=["sagebox-no-such-program-0d3f"], log_path=tmp_path / "task.log")
        try:
            handle = compute.submit(spec)
        except ConfigError as exc:  # at once (the local backend) ...
            assert "sagebox-no-such-program-0d3f" in exc.message
            return
        assert compute.wait(handle, timeout=self.timeout) != 0  # ... or as a failed task
