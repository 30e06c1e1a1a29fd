"""The job runner: ``python -m sagebox.jobs.runner JOB_NAME`` runs one job to its end.

It is what the compute backend starts. It claims a worker slot in the metadata store (an
atomic claim that also makes the job InProgress; while every slot is taken it waits, and on
each try marks Failed the jobs whose runner lost its lease), keeps the job's lease alive from a
heartbeat thread, arms the ``max_runtime_seconds`` timer, calls the job kind's function, and
records the outcome (Completed, Failed with the reason, Stopped on SIGTERM, Failed with
MaxRuntimeExceeded on timeout). The log it writes to stdout is uploaded to the lake when it
ends.

On a compute backend that does not share the submitter's files (a cluster) the runner is
started as ``python -m sagebox.jobs.runner --node-home JOB_NAME``: it makes itself a private,
node-local ``SAGEBOX_HOME`` (removed when it exits), so that nothing it does touches the
submitter's, continues the job's log from the lake (a restarted job keeps its earlier output),
tees its stdout and stderr (file descriptors, so its child processes' output too) into that log
while still writing them to the original stdout (which the cluster captures), and uploads the
log to the lake every ``log_upload_seconds`` when it changed, and at the end.

Run as ``python -m`` (a process-group leader on the local backend) it kills what is left
of its process group when it exits; its workers get the parent-death signal, so they die with
it even when it is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from types import FrameType

from sagebox.backends.compute.lifetime import kill_group_members
from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.config import make_private_dir
from sagebox.errors import NotFoundError, SageboxError, redact
from sagebox.jobs._tee import FdTee
from sagebox.jobs.cluster import NODE_HOME_FLAG, node_home
from sagebox.jobs.context import JobContext, lake_log_key, local_log_path
from sagebox.jobs.kinds import job_kinds
from sagebox.session import Session

_SLOT_POLL_SECONDS = 0.2
#: sent to the runner by its heartbeat thread when its lease is lost
_LEASE_LOST_SIGNAL = signal.SIGUSR2
#: serialises log uploads (the periodic uploader and the final one): the last wins, and it
#: holds the most text
_UPLOAD_LOCK = threading.Lock()
#: the tee of a runner on a cluster node (see :func:`main`), drained before each upload
_tee: FdTee | None = None


class JobInterrupted(BaseException):
    """Raised inside a job when it is stopped or runs out of time.

    A BaseException so that job code catching ``Exception`` does not swallow it.
    """

    def __init__(self, status: JobStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def run_job(name: str, session: Session | None = None) -> JobStatus:
    """Run job ``name`` in this process and record its outcome; return the final status."""
    session = session or Session()
    metadata = session.metadata
    job = metadata.get_job(name)
    max_runtime = job.parameters.get("max_runtime_seconds")
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    _install_signal_handlers(max_runtime)
    status, reason = JobStatus.COMPLETED, None
    heartbeat: _Heartbeat | None = None
    try:
        claimed = _wait_for_slot(session, name, owner)
        if claimed.lease_owner != owner:  # it ended or is being stopped while it waited
            print(f"job {name} is {claimed.status.value}; not starting it", flush=True)
            return claimed.status
        heartbeat = _Heartbeat(session, name, owner)
        heartbeat.start()
        if max_runtime:  # armed only now: time waiting for a slot does not count
            signal.setitimer(signal.ITIMER_REAL, float(max_runtime))
        # a runner started by hand records its process; one started through a compute
        # backend keeps the handle the submitter records (compare-and-set: never overwrite it)
        job = claimed
        if claimed.handle is None:
            mine = metadata.update_job_if(name, {"handle": None}, handle=f"local:{os.getpid()}")
            job = mine or metadata.get_job(name)
        workdir = make_private_dir(session.settings.jobs_dir / name / "work")
        print(f"job {name} ({job.kind}) started (slot {claimed.slot})", flush=True)
        job_kinds.get(job.kind)(JobContext(job=job, session=session, workdir=workdir))
    except JobInterrupted as exc:
        status, reason = exc.status, exc.reason
        if status is JobStatus.STOPPED and _restart_pending(session, name):
            signal.setitimer(signal.ITIMER_REAL, 0)
            if heartbeat is not None:
                heartbeat.stop()
            print(f"job {name} interrupted (SIGTERM); it restarts when next observed", flush=True)
            _upload_log(session, name)
            return JobStatus.IN_PROGRESS
    except SageboxError as exc:
        status, reason = JobStatus.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure of job code ends the job as Failed
        print(redact(traceback.format_exc()), end="", file=sys.stderr, flush=True)
        status, reason = JobStatus.FAILED, redact(f"{type(exc).__name__}: {exc}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if heartbeat is not None:
        heartbeat.stop()
    print(f"job {name} ended: {status.value}" + (f" ({reason})" if reason else ""), flush=True)
    sys.stdout.flush()
    log_uri = _upload_log(session, name)
    outcome = {
        "status": status,
        "failure_reason": reason,
        "ended_at": datetime.now(UTC),
        "log_uri": log_uri,
    }
    if heartbeat is None:  # never started (stopped while queued): nobody else owns it
        metadata.update_job(name, **outcome)
    elif metadata.update_job_if(name, {"lease_owner": owner}, **outcome) is None:
        # another runner took the job over, or it was marked Failed after our lease expired
        print(f"job {name}: this runner lost its lease; its outcome is not recorded", flush=True)
        return metadata.get_job(name).status
    return status


class _Heartbeat:
    """Renews the runner's lease every ``job_heartbeat_seconds`` from a daemon thread.

    When the lease is lost (the job was marked Failed after it expired, or another runner took
    the job over) the runner is interrupted (:data:`_LEASE_LOST_SIGNAL`): its work no longer
    counts and its slot may already be someone else's.
    """

    def __init__(self, session: Session, name: str, owner: str) -> None:
        self._metadata = session.metadata
        self._name = name
        self._owner = owner
        self._lease = session.settings.job_lease_seconds
        self._every = session.settings.job_heartbeat_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._done.wait(self._every):
            try:
                renewed = self._metadata.renew_job_lease(self._name, self._owner, self._lease)
            except SageboxError as exc:  # the database is unreachable: try again next beat
                print(f"could not renew the job's lease: {exc}", flush=True)
                continue
            if renewed is None and not self._done.is_set():
                print("this runner lost the job's lease; stopping", flush=True)
                os.kill(os.getpid(), _LEASE_LOST_SIGNAL)
                return


def _restart_pending(session: Session, name: str) -> bool:
    """Whether a SIGTERM came from elsewhere than ``jobs stop`` and the job may restart."""
    job = session.metadata.get_job(name)
    retries = int(job.parameters.get("max_retries", 0))
    return job.status is not JobStatus.STOPPING and job.restarts < retries


def _upload_log(session: Session, name: str) -> str | None:
    path = local_log_path(session, name)
    if _tee is not None:
        _tee.drain()
    with _UPLOAD_LOCK:
        if not path.is_file():
            return None
        key = lake_log_key(name)
        try:
            session.storage.upload(path, key)
        except SageboxError as exc:
            print(f"could not upload the log: {exc}", flush=True)
            return str(path)
    return session.storage.url(key)


def _run_on_node(name: str) -> JobStatus:
    """Run job ``name`` with a node-local home, its log teed and uploaded (see the module)."""
    global _tee
    with node_home(prefix="sagebox-runner-"):
        session = Session()
        path = local_log_path(session, name)
        with contextlib.suppress(NotFoundError):  # a restarted job: go on with its log
            session.storage.download(lake_log_key(name), path)
        every = session.settings.log_upload_seconds
        tee = FdTee(path, lambda: _upload_quietly(session, name), every)
        with tee:
            _tee = tee
            try:
                return run_job(name, session)
            finally:
                _end_own_group()
                _tee = None


def _upload_quietly(session: Session, name: str) -> None:
    with _UPLOAD_LOCK:
        path = local_log_path(session, name)
        if path.is_file():
            session.storage.upload(path, lake_log_key(name))


def _end_own_group() -> None:
    if os.getpgid(0) == os.getpid():  # our own process group (the local backend's task)
        kill_group_members(os.getpid())  # nothing the job started outlives it


def _wait_for_slot(session: Session, name: str, owner: str) -> JobRecord:
    """Claim one of ``max_workers`` slots, waiting while all are taken; return the claim.

    A coordinator kind (:data:`~sagebox.jobs.kinds.COORDINATOR_KINDS`) takes a slot outside
    the ``max_workers`` pool at once (see :meth:`MetadataStore.claim_job_slot`).

    Each try first ends the jobs whose runner lost its lease (see
    :meth:`JobClient.reap_lost_jobs`), so that a killed runner's slot comes free. The record
    returned has another ``lease_owner`` when the job ended or is being stopped meanwhile.
    """
    from sagebox.jobs.client import JobClient  # the client imports this module lazily too
    from sagebox.jobs.kinds import COORDINATOR_KINDS

    settings = session.settings
    limit = max(1, settings.max_workers)
    coordinator = session.metadata.get_job(name).kind in COORDINATOR_KINDS
    client = JobClient(session)
    while True:
        client.reap_lost_jobs()
        claimed = session.metadata.claim_job_slot(
            name, owner, limit, settings.job_lease_seconds, coordinator=coordinator
        )
        if claimed is not None:
            return claimed
        time.sleep(_SLOT_POLL_SECONDS)


def _install_signal_handlers(max_runtime: float | None) -> None:
    def on_term(signum: int, frame: FrameType | None) -> None:
        raise JobInterrupted(JobStatus.STOPPED, "Stopped by request")

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise JobInterrupted(
            JobStatus.FAILED, f"MaxRuntimeExceeded: the job ran longer than {max_runtime} s"
        )

    def on_lease_lost(signum: int, frame: FrameType | None) -> None:
        raise JobInterrupted(JobStatus.FAILED, "the runner lost its lease on the job")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(_LEASE_LOST_SIGNAL, on_lease_lost)
    if max_runtime:
        signal.signal(signal.SIGALRM, on_alarm)  # the timer is armed once a slot is claimed


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the job named in argv; exit 0 if it completed, 1 otherwise."""
    args = sys.argv[1:] if argv is None else list(argv)
    on_node = NODE_HOME_FLAG in args
    args = [a for a in args if a != NODE_HOME_FLAG]
    if len(args) != 1:
        print(f"usage: python -m sagebox.jobs.runner [{NODE_HOME_FLAG}] JOB_NAME", file=sys.stderr)
        return 2
    if on_node:
        return 0 if _run_on_node(args[0]) is JobStatus.COMPLETED else 1
    try:
        return 0 if run_job(args[0]) is JobStatus.COMPLETED else 1
    finally:
        _end_own_group()


if __name__ == "__main__":
    # Run the importable copy of this module, not ``__main__``: job code raises and catches
    # ``sagebox.jobs.runner.JobInterrupted``, which must be the class this loop catches.
    from sagebox.jobs import runner as _runner

    sys.exit(_runner.main())
