"""The compute-backend interface: run a task (a command line) somewhere, watch it, stop it.

A task is an OS-level command: the job runner (``python -m sagebox.jobs.runner JOB``) or a
user's script. The backend owns *where* it runs (a local subprocess, a Ray actor) and returns an
opaque string handle that survives the process that submitted it, so a later CLI call can ask
about the task or stop it.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ComputeBackend", "TaskSpec", "TaskState"]


@dataclass(frozen=True)
class TaskSpec:
    """What to run.

    Attributes:
        argv: command line; ``argv[0]`` is resolved on PATH.
        log_path: file that receives combined stdout and stderr.
        env: extra environment variables (added to the submitter's environment).
        cwd: working directory (defaults to the submitter's).
        die_with_submitter: end the task when the process that submitted it dies (the
            workers of a job: a job runner killed with SIGKILL must not leave them running).
            Tasks that must outlive their submitter (job runners started by the CLI) leave it
            False.
    """

    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    die_with_submitter: bool = False


class TaskState(enum.StrEnum):
    """What a backend knows about a task."""

    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


class ComputeBackend(abc.ABC):
    """Runs tasks and reports on them.

    Example:
        >>> from sagebox.backends.compute import open_compute
        >>> compute = open_compute("local")
        >>> handle = compute.submit(TaskSpec(argv=["echo", "hi"], log_path=Path("/tmp/t.log")))
        >>> compute.wait(handle, timeout=10)
        0
    """

    @abc.abstractmethod
    def submit(self, spec: TaskSpec) -> str:
        """Start the task without waiting for it; return its handle."""

    @abc.abstractmethod
    def state(self, handle: str) -> TaskState:
        """Whether the task still runs."""

    @abc.abstractmethod
    def wait(self, handle: str, timeout: float | None = None) -> int | None:
        """Wait for the task to end; return its exit code (None if unknown or still running)."""

    @abc.abstractmethod
    def stop(self, handle: str, grace_seconds: float = 10.0) -> None:
        """Ask the task to stop (SIGTERM-like), then force it after ``grace_seconds``."""
