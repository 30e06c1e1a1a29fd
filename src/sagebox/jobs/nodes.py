"""Node tasks: one command per node of a job's gang, with its files moved through the lake.

A multi-node job (training with ``instance_count=N``, a processing job on N instances) runs
one *node task* on each of N distinct nodes. Nothing is shared between the nodes and the
job runner but the lake (``session.storage``) and the metadata store, so a node task is
described by a :class:`NodeTaskSpec` stored as JSON in the lake, and runs as::

    python -m sagebox.jobs.nodes [--node-home] SPEC_KEY

Node side (:func:`run_node`): the task makes a private root directory (under a node-local
temporary ``SAGEBOX_HOME`` with ``--node-home``, which a task on a cluster always gets),
downloads ``downloads`` into it, restores the ``synced`` directories from the lake, agrees on a
port with the other nodes when ``rendezvous`` is set, runs ``argv`` with ``{root}`` and
``{port}`` substituted (its output goes to the task's stdout), uploads the ``synced``
directories every ``log_upload_seconds`` while the command runs and once more at the end
whatever the exit, uploads ``uploads`` only if the command exited 0, removes the root and
exits with the command's exit code (``128 + N`` when killed by signal N). A SIGTERM is
forwarded to the command's process group, and the final syncs still run.

Runner side (:class:`NodeGroup`): reserve ``count`` slots on distinct nodes through the
compute backend, read the nodes' :attr:`~NodeGroup.addresses` (rank 0's is the
``MASTER_ADDR``), build one spec per host, then :meth:`NodeGroup.run` them: the specs are
written to ``jobs/<job>/nodes/<attempt>/<host>.json``, one task per host is submitted in its
slot (``die_with_submitter``), each task's new output is copied into the job log (this
process's stdout, lines prefixed ``[algo-N]`` when there are several hosts), and on the first
failure the other tasks are stopped. Tasks are always stopped, and the reservation released,
when the group ends.

Example:
    >>> with NodeGroup(session, "train-1", count=2) as group:     # doctest: +SKIP
    ...     specs = [
    ...         NodeTaskSpec(
    ...             job_name="train-1", host=host, hosts=group.hosts,
    ...             argv=["python", "train.py"],
    ...             env={"MASTER_ADDR": group.addresses[0], "MASTER_PORT": "{port}"},
    ...             downloads=[("datasets/reviews/", "input/data/train")],
    ...             uploads=[("model", "jobs/train-1/output/model/")],
    ...             synced=[("checkpoints", "jobs/train-1/checkpoints/")],
    ...             rendezvous=True,
    ...         )
    ...         for host in group.hosts
    ...     ]
    ...     outcome = group.run(specs)
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from sagebox.backends.compute.base import (
    ComputeBackend,
    Reservation,
    Resources,
    TaskSpec,
    TaskState,
)
from sagebox.backends.compute.lifetime import die_with_parent, exit_status, signals_forwarded
from sagebox.backends.storage.base import ObjectStore
from sagebox.config import make_private_dir
from sagebox.errors import InputDataError, JobError, NotFoundError, SageboxError
from sagebox.jobs.cluster import NODE_HOME_FLAG, node_home, node_log_path, task_env
from sagebox.session import Session

__all__ = [
    "GroupOutcome",
    "NodeGroup",
    "NodeTaskSpec",
    "node_hosts",
    "rendezvous_key",
    "run_node",
    "supervise_tasks",
]

_POLL_SECONDS = 0.1
_RENDEZVOUS_POLL_SECONDS = 0.2
_TAIL_LINES = 12


def node_hosts(count: int) -> list[str]:
    """SageMaker's host names of a ``count``-node job: ``["algo-1", ..., "algo-N"]``."""
    return [f"algo-{i + 1}" for i in range(count)]


def rendezvous_key(job_name: str, attempt: str) -> str:
    """The lake key where rank 0's node publishes the rendezvous port of one attempt."""
    return f"jobs/{job_name}/rendezvous/{attempt}"


@dataclass(frozen=True)
class NodeTaskSpec:
    """What one node of a gang runs, and which files move in and out through the lake.

    Attributes:
        job_name: the job the node works for.
        host: this node's host name (``algo-1`` ...); ``hosts[0]`` is rank 0.
        hosts: every node's host name, in rank order.
        argv: the command; ``{root}`` (this node's local root dir) and ``{port}`` (the
            rendezvous port) are substituted in every argument.
        env: environment added to the command's (``SM_*``, ``SAGEBOX_*`` allowed); values
            may hold ``{root}`` and ``{port}`` too.
        cwd: the command's working directory, relative to the root (default: the root).
        downloads: ``(lake key, dest)`` pairs fetched before the command: a key ending ``/``
            is a prefix whose every object is fetched below the directory ``dest``, keeping
            its path below the prefix; another key is one object fetched to the file
            ``dest`` (into the directory ``dest`` when it is empty or ends with ``/``).
            ``dest`` is relative to the root.
        uploads: ``(dir, lake prefix)`` pairs: every file below the directory ``dir``
            (relative to the root) is uploaded below the prefix after the command exits 0.
        synced: ``(dir, lake prefix)`` pairs restored from the lake before the command,
            uploaded (changed files) every ``log_upload_seconds`` while it runs and at the
            end whatever the exit: checkpoints, debugger output.
        rendezvous: rank 0's node picks a free port and publishes it at
            :func:`rendezvous_key`; every node waits for it (``rendezvous_timeout`` s at
            most) and substitutes ``{port}``.
        rendezvous_timeout: how long a node waits for the port before failing.
        attempt: the run of the group the spec belongs to (set by :meth:`NodeGroup.run`).
    """

    job_name: str
    host: str
    hosts: list[str]
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    downloads: list[tuple[str, str]] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)
    synced: list[tuple[str, str]] = field(default_factory=list)
    rendezvous: bool = False
    rendezvous_timeout: float = 300.0
    attempt: str = ""

    @property
    def rank(self) -> int:
        """This node's rank (its index in :attr:`hosts`)."""
        return self.hosts.index(self.host)

    def to_json(self) -> str:
        """The spec as JSON (what :class:`NodeGroup` stores in the lake)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> NodeTaskSpec:
        """Read a spec written by :meth:`to_json`.

        Raises:
            InputDataError: if the text is not such a spec.
        """
        try:
            data: dict[str, Any] = json.loads(text)
            for name in ("downloads", "uploads", "synced"):
                data[name] = [(str(a), str(b)) for a, b in data.get(name, [])]
            spec = cls(**data)
        except (TypeError, ValueError) as exc:
            raise InputDataError(
                f"not a node task spec: {exc}", hint="write it with NodeTaskSpec.to_json"
            ) from exc
        if spec.host not in spec.hosts:
            raise InputDataError(
                f"node task host {spec.host!r} is not one of hosts {spec.hosts}",
                hint="give the host its place in hosts (hosts[0] is rank 0)",
            )
        return spec


# ---------------------------------------------------------------- node side


def run_node(spec: NodeTaskSpec, session: Session, out: TextIO | None = None) -> int:
    """Run one node task in this process (see the module docs); return the exit code.

    Args:
        spec: what to run.
        session: the session whose lake holds the files and whose home holds the root.
        out: where this function's own messages go (default: ``sys.stdout``); the command's
            output goes to this process's stdout.

    Raises:
        SageboxError: if a download, the rendezvous or an upload fails.
    """
    stream = out or sys.stdout
    storage = session.storage
    base = session.settings.jobs_dir / spec.job_name / "nodes"
    root = make_private_dir(base / f"{spec.host}-{secrets.token_hex(4)}")
    try:
        for key, dest in spec.downloads:
            _download(storage, key, root, dest)
        synced = [_SyncedDir(storage, _inside(root, d), p) for d, p in spec.synced]
        for directory in synced:
            directory.restore()
        port = _rendezvous(storage, spec) if spec.rendezvous else None

        def fill(value: str) -> str:
            value = value.replace("{root}", str(root))
            return value.replace("{port}", str(port)) if port is not None else value

        cwd = _inside(root, spec.cwd) if spec.cwd else root
        make_private_dir(cwd)
        code = _run_command(
            [fill(a) for a in spec.argv],
            {**os.environ, **{k: fill(v) for k, v in spec.env.items()}},
            cwd,
            synced,
            session.settings.log_upload_seconds,
        )
        for directory in synced:
            directory.upload()
        if code == 0:
            for directory_name, prefix in spec.uploads:
                _SyncedDir(storage, _inside(root, directory_name), prefix).upload()
        elif spec.uploads:
            print(
                f"{spec.host}: the command exited with status {code}; outputs not uploaded",
                file=stream,
                flush=True,
            )
        return code
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a path that leaves ``root``."""
    path = (root / relative).resolve()
    if path != root.resolve() and not path.is_relative_to(root.resolve()):
        raise InputDataError(
            f"node task path {relative!r} leaves the node's root directory",
            hint="give a path relative to the root, without '..'",
        )
    return path


def _download(storage: ObjectStore, key: str, root: Path, dest: str) -> None:
    if key.endswith("/"):
        infos = [i for i in storage.list(key) if not i.key.endswith("/")]
        if not infos:
            raise InputDataError(
                f"no objects under {storage.url(key)} to download",
                hint="check the prefix (sagebox lake ls) or upload the data first",
            )
        target = _inside(root, dest)
        for info in infos:
            storage.download(info.key, _inside(target, info.key[len(key) :]))
        return
    if not dest or dest.endswith("/"):
        dest = f"{dest}{key.rsplit('/', 1)[-1]}"
    storage.download(key, _inside(root, dest))


class _SyncedDir:
    """A local directory mirrored to a lake prefix: restore once, upload what changed."""

    def __init__(self, storage: ObjectStore, directory: Path, prefix: str) -> None:
        self.storage = storage
        self.directory = directory
        self.prefix = prefix.rstrip("/") + "/" if prefix else ""
        self.seen: dict[Path, tuple[int, int]] = {}

    def restore(self) -> None:
        make_private_dir(self.directory)
        for info in self.storage.list(self.prefix):
            if info.key.endswith("/"):
                continue
            local = _inside(self.directory, info.key[len(self.prefix) :])
            self.storage.download(info.key, local)
            stat = local.stat()
            self.seen[local] = (stat.st_mtime_ns, stat.st_size)

    def upload(self) -> int:
        """Upload the files new or changed since the last call; return how many."""
        if not self.directory.is_dir():
            return 0
        count = 0
        for path in sorted(self.directory.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed meanwhile by the command
                continue
            mark = (stat.st_mtime_ns, stat.st_size)
            if self.seen.get(path) == mark:
                continue
            relative = path.relative_to(self.directory).as_posix()
            try:
                self.storage.upload(path, self.prefix + relative)
            except InputDataError:  # removed between stat and upload
                continue
            self.seen[path] = mark
            count += 1
        return count


def _rendezvous(storage: ObjectStore, spec: NodeTaskSpec) -> int:
    """Rank 0 publishes a free port of its node; every node returns it."""
    if not spec.attempt:
        raise InputDataError(
            f"node task {spec.host} of job {spec.job_name} asks for a rendezvous without an "
            "attempt id",
            hint="run node tasks through NodeGroup.run, which sets it",
        )
    key = rendezvous_key(spec.job_name, spec.attempt)
    if spec.rank == 0:
        with socket.socket() as sock:
            sock.bind(("", 0))
            port = int(sock.getsockname()[1])
        storage.write_bytes(key, json.dumps({"port": port, "host": spec.host}).encode())
        return port
    deadline = time.monotonic() + spec.rendezvous_timeout
    while True:
        try:
            return int(json.loads(storage.read_bytes(key))["port"])
        except NotFoundError:
            pass
        if time.monotonic() > deadline:
            raise JobError(
                f"{spec.host}: no rendezvous port from {spec.hosts[0]} at {storage.url(key)} "
                f"after {spec.rendezvous_timeout} s",
                hint=f"read the log of {spec.hosts[0]} (did it start?)",
            )
        time.sleep(_RENDEZVOUS_POLL_SECONDS)


def _run_command(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    synced: list[_SyncedDir],
    every: float,
) -> int:
    """Run the command in its own process group, syncing meanwhile; forward SIGTERM/SIGINT."""
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
    except FileNotFoundError as exc:
        raise InputDataError(
            f"cannot start the node command: program {argv[0]!r} not found",
            hint="check the command and the node's PATH",
        ) from exc

    with signals_forwarded(proc):
        next_sync = time.monotonic() + every
        while True:
            try:
                code = proc.wait(timeout=max(0.05, next_sync - time.monotonic()))
                break
            except subprocess.TimeoutExpired:
                pass
            for directory in synced:
                try:
                    directory.upload()
                except SageboxError as exc:  # the lake is unreachable: try again next time
                    print(f"could not sync {directory.directory}: {exc}", flush=True)
            next_sync = time.monotonic() + every
    return exit_status(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m sagebox.jobs.nodes [--node-home] SPEC_KEY``."""
    args = sys.argv[1:] if argv is None else list(argv)
    own_home = NODE_HOME_FLAG in args
    args = [a for a in args if a != NODE_HOME_FLAG]
    if len(args) != 1:
        print(f"usage: python -m sagebox.jobs.nodes [{NODE_HOME_FLAG}] SPEC_KEY", file=sys.stderr)
        return 2
    with node_home() if own_home else contextlib.nullcontext():
        try:
            session = Session()
            spec = NodeTaskSpec.from_json(session.storage.read_bytes(args[0]))
            return run_node(spec, session)
        except SageboxError as exc:
            print(f"node task {args[0]}: {exc}", file=sys.stderr, flush=True)
            return 1


# ---------------------------------------------------------------- runner side


@dataclass
class GroupOutcome:
    """How a gang of tasks ended: all well, stopped, or the first failure and its last lines.

    Attributes:
        ok: every task exited 0.
        host: the first host that failed ("" when ok or stopped).
        returncode: its exit code (None when the backend has none).
        tail: its last non-empty output lines.
        stopped: the group was stopped from outside (its stop event) before it ended.
    """

    ok: bool
    host: str = ""
    returncode: int | None = 0
    tail: list[str] = field(default_factory=list)
    stopped: bool = False

    def describe(self) -> str:
        """``exited with status 1`` (or ``ended`` when the backend has no exit status)."""
        if self.returncode is None:
            return "ended without an exit status"
        if self.returncode < 0:
            return f"was killed by signal {-self.returncode}"
        if 128 < self.returncode < 128 + 65:
            signum = self.returncode - 128
            return f"exited with status {self.returncode} (killed by signal {signum})"
        return f"exited with status {self.returncode}"

    def summary(self) -> str:
        """One line for a failure reason: ``algo-2 exited with status 1: <last line>``."""
        if self.ok:
            return "every node completed"
        if self.stopped:
            return "stopped"
        last = f": {self.tail[-1]}" if self.tail else ""
        return f"{self.host} {self.describe()}{last}"


class _OutputPump:
    """Copies a task's new output lines to the job log, keeping the last few."""

    def __init__(
        self,
        host: str,
        prefix: bool,
        out: TextIO,
        on_line: Callable[[str, str], None] | None,
    ) -> None:
        self.host = host
        self.prefix = prefix
        self.out = out
        self.on_line = on_line
        self.offset = 0
        self.partial = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)

    def feed(self, text: str, final: bool = False) -> None:
        chunk = text[self.offset :]
        self.offset = len(text)
        lines = (self.partial + chunk).split("\n")
        self.partial = "" if final else lines.pop()
        for line in lines:
            if not line and final:
                continue
            self.out.write(f"[{self.host}] {line}\n" if self.prefix else f"{line}\n")
            if line.strip():
                self.tail.append(line)
            if self.on_line is not None:
                self.on_line(self.host, line)
        self.out.flush()


class NodeGroup:
    """A gang of node tasks on distinct nodes, run from a job runner (see the module docs).

    Use it as a context manager: entering reserves the slots (so :attr:`addresses` is known
    before the specs are built), :meth:`run` runs one spec per host, leaving releases the
    reservation.

    Args:
        session: the runner's session (its compute backend, lake and settings).
        job_name: the job.
        count: how many nodes.
        resources: what each node's slot holds (CPUs, memory, GPUs).
        timeout: how long :meth:`reserve` waits for the capacity (default: the setting
            ``capacity_timeout_seconds``).
        grace_seconds: how long a stopped task has to end (and sync) before it is killed.

    Example:
        >>> with NodeGroup(session, "job-1", count=2) as group:  # doctest: +SKIP
        ...     outcome = group.run([NodeTaskSpec("job-1", h, group.hosts, ["true"])
        ...                          for h in group.hosts])
    """

    def __init__(
        self,
        session: Session,
        job_name: str,
        count: int,
        resources: Resources | None = None,
        *,
        timeout: float | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        self.session = session
        self.job_name = job_name
        self.hosts = node_hosts(count)
        self.resources = resources or Resources()
        self.timeout = session.settings.capacity_timeout_seconds if timeout is None else timeout
        self.grace_seconds = grace_seconds
        self.reservation: Reservation | None = None
        self.handles: list[str] = []

    def reserve(self) -> Reservation:
        """Reserve one slot per host on distinct nodes (waits; see ComputeBackend.reserve)."""
        if self.reservation is None:
            res = self.resources
            print(
                f"waiting for {len(self.hosts)} node(s) with {res.cpus:g} CPU(s)"
                + (f", {res.memory_bytes / 1024**3:.3g} GiB" if res.memory_bytes else "")
                + (f", {res.gpus:g} GPU(s)" if res.gpus else "")
                + f" free each (at most {self.timeout:g} s)",
                flush=True,
            )
            self.reservation = self.session.compute.reserve(
                len(self.hosts), self.resources, timeout=self.timeout
            )
        return self.reservation

    @property
    def addresses(self) -> tuple[str, ...]:
        """Each host's node address, in rank order (reserves first if needed)."""
        return self.reserve().addresses

    def release(self) -> None:
        """Give the reservation back (idempotent)."""
        if self.reservation is not None:
            reservation, self.reservation = self.reservation, None
            self.session.compute.release(reservation)

    def __enter__(self) -> NodeGroup:
        self.reserve()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def run(
        self,
        specs: Iterable[NodeTaskSpec],
        *,
        on_line: Callable[[str, str], None] | None = None,
        stop: threading.Event | None = None,
        on_poll: Callable[[], None] | None = None,
        out: TextIO | None = None,
    ) -> GroupOutcome:
        """Run one spec per host and wait for all; on the first failure stop the rest.

        Args:
            specs: one per host, in the order of :attr:`hosts`.
            on_line: called with ``(host, line)`` for every output line of every host
                (e.g. metric capture from rank 0's lines).
            stop: when set, the tasks are stopped and the outcome says ``stopped``.
            on_poll: called about ten times a second while the tasks run.
            out: the job log (default: ``sys.stdout`` at call time).

        Raises:
            InputDataError: if the specs do not match the group's hosts.
        """
        specs = list(specs)
        if [s.host for s in specs] != self.hosts:
            raise InputDataError(
                f"node specs for hosts {[s.host for s in specs]} in a group of {self.hosts}",
                hint="build one spec per host of NodeGroup.hosts, in that order",
            )
        stream = out or sys.stdout
        reservation = self.reserve()
        compute = self.session.compute
        storage = self.session.storage
        attempt = secrets.token_hex(6)
        env = task_env(self.session.settings, shares_filesystem=compute.shares_filesystem)
        flag = [] if compute.shares_filesystem else [NODE_HOME_FLAG]
        self.handles = []
        try:
            for index, spec in enumerate(specs):
                key = f"jobs/{self.job_name}/nodes/{attempt}/{spec.host}.json"
                storage.write_bytes(key, replace(spec, attempt=attempt).to_json().encode())
                log_path = self.session.settings.jobs_dir / self.job_name / "nodes" / attempt
                log_path = log_path / f"{spec.host}.log"
                if not compute.shares_filesystem:  # on another node: a file of its temp dir
                    log_path = node_log_path(f"{self.job_name}-{attempt}-{spec.host}")
                task = TaskSpec(
                    argv=[sys.executable, "-m", "sagebox.jobs.nodes", *flag, key],
                    log_path=log_path,
                    env=env,
                    die_with_submitter=True,
                    slot=reservation.slot(index),
                )
                try:
                    self.handles.append(compute.submit(task))
                except BaseException:
                    _stop_all(compute, self.handles, self.grace_seconds)  # those already started
                    raise
            return supervise_tasks(
                compute,
                self.hosts,
                self.handles,
                out=stream,
                on_line=on_line,
                stop=stop,
                on_poll=on_poll,
                grace_seconds=self.grace_seconds,
            )
        finally:
            if any(s.rendezvous for s in specs):
                with contextlib.suppress(SageboxError):
                    storage.delete(rendezvous_key(self.job_name, attempt))


def supervise_tasks(
    compute: ComputeBackend,
    hosts: Sequence[str],
    handles: Sequence[str],
    *,
    out: TextIO | None = None,
    on_line: Callable[[str, str], None] | None = None,
    stop: threading.Event | None = None,
    on_poll: Callable[[], None] | None = None,
    grace_seconds: float = 10.0,
) -> GroupOutcome:
    """Watch a job's running tasks (one per host) until all end; on the first failure stop the rest.

    Each task's new output is copied into ``out`` (the job log), prefixed ``[host]`` when there
    are several. However it ends (all exited 0, one failed, ``stop`` set, an exception), the
    tasks still running are stopped, all at once with ``grace_seconds`` each, and their last
    output is copied.

    Args:
        compute: the backend that runs the tasks (its :meth:`~ComputeBackend.output` must know
            them: they were submitted by this client).
        hosts: each task's host name, in the order of ``handles``.
        handles: the tasks.
        out: the job log (default: ``sys.stdout`` at call time).
        on_line: called with ``(host, line)`` for every output line of every host.
        stop: when set, the tasks are stopped and the outcome says ``stopped``.
        on_poll: called about ten times a second while the tasks run (e.g. uploads).
        grace_seconds: how long a stopped task has to end before it is killed.
    """
    stream = out or sys.stdout
    pumps = [_OutputPump(host, len(hosts) > 1, stream, on_line) for host in hosts]
    try:
        running = set(range(len(handles)))
        while running:
            if stop is not None and stop.is_set():
                return GroupOutcome(ok=False, returncode=None, stopped=True)
            for index in sorted(running):
                if compute.state(handles[index]) is TaskState.RUNNING:
                    continue
                code = compute.wait(handles[index], timeout=5)
                running.discard(index)
                pumps[index].feed(compute.output(handles[index]), final=True)
                if code != 0:
                    return GroupOutcome(False, hosts[index], code, list(pumps[index].tail))
            for index in running:
                pumps[index].feed(compute.output(handles[index]))
            if on_poll is not None:
                on_poll()
            if running:
                time.sleep(_POLL_SECONDS)
        return GroupOutcome(ok=True)
    finally:
        _stop_all(compute, handles, grace_seconds)
        for index, handle in enumerate(handles):
            with contextlib.suppress(SageboxError):
                pumps[index].feed(compute.output(handle), final=True)


def _stop_all(compute: ComputeBackend, handles: Sequence[str], grace_seconds: float) -> None:
    """Stop the tasks still running, all at once (each gets the full grace period)."""
    running = [h for h in handles if compute.state(h) is TaskState.RUNNING]
    threads = [
        threading.Thread(target=compute.stop, args=(h, grace_seconds), daemon=True) for h in running
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    sys.exit(main())
