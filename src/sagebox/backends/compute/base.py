"""The compute-backend interface: run a task (a command line) somewhere, watch it, stop it.

A task is an OS-level command: the job runner (``python -m sagebox.jobs.runner JOB``) or a
user's script. The backend owns *where* it runs (a local subprocess, a Ray actor) and returns an
opaque string handle that survives the process that submitted it, so a later CLI call can ask
about the task or stop it.

On a cluster the tasks of one job may run on other machines than the submitter. Two things
support that: :attr:`ComputeBackend.shares_filesystem` says whether a task sees the submitter's
files (the local backend: yes; a cluster: no, so everything a task needs or makes moves through
the storage backend), and :meth:`ComputeBackend.reserve` holds capacity for a *gang* of tasks on
distinct nodes (a job's ``instance_count`` workers) and tells each node's address before any
task starts, so that rank 0's address can be given to every worker (torch.distributed).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BatchMapper",
    "ComputeBackend",
    "Predictor",
    "Reservation",
    "Resources",
    "TaskSpec",
    "TaskState",
]

#: what a pool worker runs on each payload (built once per worker by a picklable factory)
Predictor = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Resources:
    """What one task asks of the machine that runs it.

    Attributes:
        cpus: CPU cores (fractions allowed on a cluster: ``0.1`` for a coordinator).
        memory_bytes: memory; 0 asks for no reservation.
        gpus: GPUs.
    """

    cpus: float = 1.0
    memory_bytes: int = 0
    gpus: float = 0.0


@dataclass(frozen=True)
class Reservation:
    """Capacity held for a gang of tasks, one slot per task, each slot on a distinct node.

    Attributes:
        id: the backend's name for the reservation (used in :attr:`TaskSpec.slot`).
        addresses: the IP address (or host name) of each slot's node, in slot order; the
            address of slot 0 is where rank 0 of a torch.distributed group listens.
    """

    id: str
    addresses: tuple[str, ...]

    def slot(self, index: int) -> tuple[str, int]:
        """The :attr:`TaskSpec.slot` value placing a task on slot ``index``."""
        if not 0 <= index < len(self.addresses):
            raise IndexError(f"slot {index} of a {len(self.addresses)}-slot reservation")
        return (self.id, index)


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
        resources: what the task needs (default: the backend's default, one CPU on a cluster,
            nothing reserved locally).
        slot: ``(reservation id, index)`` from :meth:`Reservation.slot`: run the task on that
            slot's node, inside the reserved capacity (``resources`` is then ignored).
    """

    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    die_with_submitter: bool = False
    resources: Resources | None = None
    slot: tuple[str, int] | None = None


class TaskState(enum.StrEnum):
    """What a backend knows about a task."""

    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


class BatchMapper(abc.ABC):
    """A data engine: map payloads over a pool of long-lived workers (a cluster's actors).

    Each worker calls ``factory()`` once (to load a model, say) and then runs the predictor it
    got on the payloads it is given, so the expensive setup is paid once per worker, not per
    payload.
    """

    @abc.abstractmethod
    def map(
        self,
        payloads: Sequence[bytes],
        factory: Callable[[], Predictor],
        workers: int,
        resources: Resources,
    ) -> list[bytes]:
        """``[predictor(p) for p in payloads]``, computed on ``workers`` pool workers.

        Args:
            payloads: the inputs, one per call of the predictor.
            factory: builds a worker's predictor; must pickle (it travels to the workers).
            workers: the size of the pool.
            resources: what each worker holds for its lifetime.

        Returns:
            The answers, in the order of ``payloads``.

        Raises:
            SageboxError: the first :class:`~sagebox.errors.SageboxError` a worker raised
                (``factory()`` or the predictor), else :class:`~sagebox.errors.JobError`
                naming what failed.
        """


class ComputeBackend(abc.ABC):
    """Runs tasks and reports on them.

    Example:
        >>> from sagebox.backends.compute import open_compute
        >>> compute = open_compute("local")
        >>> handle = compute.submit(TaskSpec(argv=["echo", "hi"], log_path=Path("/tmp/t.log")))
        >>> compute.wait(handle, timeout=10)
        0
    """

    #: whether tasks see the submitter's file system (its ``SAGEBOX_HOME``, its temp files);
    #: False on a cluster, where inputs, outputs and logs must move through the storage backend
    shares_filesystem: bool = True

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

    @abc.abstractmethod
    def output(self, handle: str) -> str:
        """The task's combined stdout and stderr so far.

        Backends that keep task output centrally (a cluster) answer for any handle; the local
        backend answers for the tasks this client submitted (others: read their ``log_path``).

        Raises:
            NotFoundError: if the handle is unknown to this client.
        """

    @abc.abstractmethod
    def reserve(self, count: int, resources: Resources, timeout: float = 300.0) -> Reservation:
        """Hold ``count`` slots of ``resources``, each on a distinct node; wait until held.

        Raises:
            ConfigError: if the capacity is not there within ``timeout`` seconds (the message
                names what was asked and what the cluster has); nothing stays reserved.
        """

    @abc.abstractmethod
    def release(self, reservation: Reservation) -> None:
        """Give the reservation's capacity back (tasks still in it are stopped first)."""

    def batch_mapper(self) -> BatchMapper | None:
        """The backend's data engine for mapping payloads over a worker pool, or None.

        None (the default, and the local backend's answer): the caller runs its own worker
        processes on this machine. A cluster backend answers with its engine (Ray Data), so
        that the workers are spread over the cluster's nodes.
        """
        return None
