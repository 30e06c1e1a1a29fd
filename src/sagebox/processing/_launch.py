"""Run a processing job's workers as tasks on the compute backend and supervise them.

Each worker is a task (a subprocess on the local backend) with its own log file. The job
copies new output lines into its own log as they appear (prefixed with the worker's host name
when there are several), calls a hook on every poll (continuous uploads), and when one worker
fails stops the others (:func:`sagebox.jobs.nodes.supervise_tasks`, which a multi-node job on a
cluster uses too). Whatever happens, no worker outlives the job: those still running are
stopped (they run in their own process groups, so a stopped job would not take them along by
itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sagebox.backends.compute.base import ComputeBackend, TaskSpec
from sagebox.jobs.nodes import GroupOutcome, supervise_tasks

__all__ = ["GroupOutcome", "WorkerTask", "run_worker_group"]

#: how long a worker stopped because another failed has to end before it is killed
_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerTask:
    """One worker: its host name and what to run."""

    host: str
    spec: TaskSpec


def run_worker_group(
    compute: ComputeBackend,
    tasks: list[WorkerTask],
    on_poll: Callable[[], None] | None = None,
) -> GroupOutcome:
    """Start every worker and wait for all; on the first failure stop the rest.

    Args:
        compute: the compute backend.
        tasks: the workers.
        on_poll: called about ten times a second while workers run (e.g. uploads).
    """
    handles: list[str] = []
    try:
        for task in tasks:
            handles.append(compute.submit(task.spec))
    except BaseException:
        for handle in handles:
            compute.stop(handle, grace_seconds=_GRACE_SECONDS)
        raise
    return supervise_tasks(
        compute,
        [t.host for t in tasks],
        handles,
        on_poll=on_poll,
        grace_seconds=_GRACE_SECONDS,
    )
