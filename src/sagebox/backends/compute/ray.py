"""Ray compute: tasks run on a Ray cluster (``SAGEBOX_COMPUTE=ray://HOST:PORT`` or ``ray://auto``).

**The address.** ``PORT`` is the port of the cluster's *dashboard*, which serves the Ray Jobs
API (default 8265: ``ray start --head --dashboard-host 0.0.0.0`` opens it), the same address
Ray's own ``RAY_ADDRESS=http://HOST:8265 ray job submit`` uses. Through it the client speaks
plain HTTP: submitting, describing, waiting on, following and stopping a job never starts a
Ray driver in the CLI, and needs no Ray version lock-step beyond the check below. (Ray's own
``ray://HOST:10001`` is the Ray *Client* port, which sagebox does not use.) ``ray://auto`` is
the cluster this machine belongs to: ``RAY_API_SERVER_ADDRESS`` / ``RAY_ADDRESS`` when set,
otherwise the local cluster that ``ray start`` recorded (Ray's own auto-detection).

**Tasks that outlive their submitter** (``die_with_submitter=False``: job runners, endpoint
servers) are Ray *jobs*, submitted through the Jobs API with the entrypoint
``python -m sagebox.backends.compute._ray_task SPEC`` (``python`` on the node's ``PATH`` must
have sagebox installed). The handle is ``ray:job:<submission id>``; any client of the same
cluster can ask about it or stop it. Mapping:

- environment: ``TaskSpec.env`` plus the submitter's ``SAGEBOX_*`` variables (its profile:
  storage, metadata and compute addresses; not ``SAGEBOX_HOME`` nor ``SAGEBOX_PROFILE``, which
  name things on the submitter's machine) are sent as the job's ``runtime_env`` ``env_vars``;
  nothing else of the submitter's environment is (its ``PATH`` or ``PYTHONPATH`` mean nothing
  on another machine; credentials such as ``AWS_*`` belong on the nodes, not in a job record
  every dashboard user can read).
- working directory: ``TaskSpec.cwd`` (must exist on the node), else the submitter's when the
  node has it, else Ray's.
- resources: ``TaskSpec.resources`` → ``entrypoint_num_cpus`` / ``entrypoint_memory`` /
  ``entrypoint_num_gpus``; without it a job asks for 0 CPUs (a coordinator that waits on
  workers must not hold a CPU they need).
- ``log_path``: the wrapper appends the task's output to that path *on the node that runs it*
  (a node-local file on a real cluster) and Ray keeps the same output as the job's logs:
  :meth:`RayCompute.output` reads those from anywhere.
- exit code: ``JobInfo.driver_exit_code`` (``128 + N`` for a task ended by signal N; None when
  Ray does not know it, e.g. its node died).
- stop: ``stop_job`` (SIGTERM to the task's processes); a task still running after
  ``grace_seconds`` is forced by ending its job supervisor actor, whose watcher SIGKILLs the
  task's process group (this needs a Ray driver connection, made only then). Ray itself forces
  after :data:`RAY_STOP_CEILING_S` if the stopping client went away.

**Tasks bound to their submitter** (``die_with_submitter=True``: a job's workers, submitted by
a job runner that itself runs on the cluster) are Ray *actors* owned by the submitting
process: Ray ends them when it dies, also on SIGKILL, and the actor's process takes its
command with it (parent-death signal). The actor runs the command as a subprocess, appends its
output to ``log_path`` on its node and gives it back through :meth:`output`; it is placed in
``TaskSpec.slot``'s placement-group bundle, else asks ``TaskSpec.resources`` (default one CPU).
The command gets ``SAGEBOX_NODE_ID`` and ``SAGEBOX_NODE_IP``, the Ray node id and address it
runs on. :meth:`stop` also ends the actor once its command has ended (keeping its output for
:meth:`output`), so that a long-lived submitter (an endpoint's supervisor restarting a worker)
gets its resources back at once, not when it exits. The handle is
``ray:actor:<actor id>``, known to the client that made it only. This connects the process to
the cluster as a Ray driver: inside a Ray job through ``RAY_ADDRESS``; elsewhere the GCS
address comes from the URI's ``?gcs=HOST:PORT``, else from a probe job that reports it.

**Reservations** are placement groups of ``count`` bundles with the ``STRICT_SPREAD`` strategy
(each on a distinct node); ``Reservation.addresses`` are the bundles' node IPs.

**A task that the cluster cannot place** (more CPUs, memory or GPUs than any node has) waits:
:meth:`state` says RUNNING and :meth:`RayCompute.pending_reason` says why it has not started;
:meth:`reserve` fails after its timeout instead.

:attr:`shares_filesystem` is False.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import secrets
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sagebox._extras import require
from sagebox.backends.compute.base import (
    BatchMapper,
    ComputeBackend,
    Reservation,
    Resources,
    TaskSpec,
    TaskState,
)
from sagebox.config import create_private_file
from sagebox.errors import ConfigError, NotFoundError

__all__ = ["RAY_STOP_CEILING_S", "RayCompute", "check_versions"]

#: seconds after which Ray itself SIGKILLs a job asked to stop (``RAY_JOB_STOP_WAIT_TIME_S``),
#: should the client that asked have gone away before forcing it
RAY_STOP_CEILING_S = 300
START_HINT = (
    "start a cluster with 'ray start --head --dashboard-host 0.0.0.0' and use "
    "ray://HEAD_IP:8265 (the dashboard port), or check SAGEBOX_COMPUTE"
)
FORWARDED_PREFIXES = ("SAGEBOX_",)
#: SAGEBOX_* variables that name something on the submitter's machine only (its home, the
#: profile of its sagebox.toml): never sent to a node; the task gets its own or none
NOT_FORWARDED = frozenset({"SAGEBOX_HOME", "SAGEBOX_PROFILE"})
_TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
_POLL_SECONDS = 0.1
_JOB_PREFIX = "ray:job:"
_ACTOR_PREFIX = "ray:actor:"
_ENTRYPOINT_MODULE = "sagebox.backends.compute._ray_task"
_OUTPUT_STARTS = "--- sagebox task output ---"  # the line _ray_task prints first
_DRIVER_LOCK = threading.Lock()


def _forwarded_env() -> dict[str, str]:
    """The submitter's variables a task on the cluster gets (see the module docs)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(FORWARDED_PREFIXES) and k not in NOT_FORWARDED
    }


def check_versions(client: str, cluster: str, address: str) -> None:
    """Refuse a cluster running another Ray version than this client.

    Raises:
        ConfigError: naming both versions.

    Example:
        >>> check_versions("2.60.0", "2.60.0", "ray://head:8265")
    """
    if client != cluster:
        raise ConfigError(
            f"the Ray cluster at {address} runs Ray {cluster} but this client has Ray {client}",
            hint=f"install the cluster's version here: pip install 'ray[default]=={cluster}'",
        )


class RayCompute(ComputeBackend):
    """Runs tasks on a Ray cluster. See the module and :class:`ComputeBackend`."""

    shares_filesystem = False

    def batch_mapper(self) -> BatchMapper:
        """Ray Data over an actor pool (:mod:`sagebox.backends.compute.ray_data`)."""
        from sagebox.backends.compute.ray_data import RayDataMapper

        return RayDataMapper()

    def __init__(self, uri: str = "ray://auto") -> None:
        require("ray", needed_by=f"the Ray compute backend ({uri})")
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme != "ray" or not parsed.netloc:
            raise ConfigError(
                f"not a Ray address: {uri!r}",
                hint="use ray://HOST:PORT (dashboard port) or ray://auto",
            )
        self.uri = uri
        query = urllib.parse.parse_qs(parsed.query)
        gcs = query.get("gcs")
        self._gcs_address: str | None = gcs[0] if gcs else None
        self._host = parsed.netloc
        self._url: str | None = None
        self._client: Any = None
        self._actors: dict[str, _ActorTask] = {}
        self._groups: dict[str, Any] = {}

    # --- connection ----------------------------------------------------------------------------

    @property
    def dashboard_url(self) -> str:
        """``http://HOST:PORT`` of the cluster's dashboard (Jobs API)."""
        if self._url is None:
            if self._host == "auto":
                from ray.dashboard.utils import get_address_for_submission_client

                try:
                    self._url = get_address_for_submission_client("auto")
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise ConfigError(
                        f"no Ray cluster found for {self.uri}: {exc}", hint=START_HINT
                    ) from None
            else:
                self._url = f"http://{self._host}"
        return self._url

    def _jobs(self) -> Any:
        """The Jobs API client, after checking that the cluster answers and its version."""
        if self._client is None:
            cluster = self._get("/api/version")
            mine = importlib.metadata.version("ray")
            check_versions(mine, str(cluster.get("ray_version")), self.uri)
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.dashboard_url)
        return self._client

    def _get(self, path: str) -> dict[str, Any]:
        url = self.dashboard_url + path
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConfigError(
                f"no Ray cluster answers at {self.uri} ({url}: {reason})", hint=START_HINT
            ) from None

    def _driver(self) -> Any:
        """Join the cluster as a Ray driver (for actors, placement groups, forced stops)."""
        import ray

        with _DRIVER_LOCK:  # callers in several threads (an endpoint's supervisor) join once
            if not ray.is_initialized():
                self._jobs()  # reachable, same version
                address = self._find_gcs_address()
                ray.init(
                    address=address,
                    namespace="sagebox",
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                    configure_logging=False,
                )
        return ray

    def _find_gcs_address(self) -> str:
        if self._gcs_address:
            return self._gcs_address
        inside = os.environ.get("RAY_ADDRESS", "")
        if inside and "://" not in inside:
            return inside  # inside a Ray job: the GCS of the cluster that runs it
        # ask the cluster: a job's environment holds the GCS address as the head sees it
        client = self._jobs()
        sid = client.submit_job(entrypoint="echo sagebox-gcs=$RAY_ADDRESS", entrypoint_num_cpus=0)
        self._wait_job(sid, timeout=120)
        for line in client.get_job_logs(sid).splitlines():
            if line.startswith("sagebox-gcs="):
                self._gcs_address = line.split("=", 1)[1].strip()
                return self._gcs_address
        raise ConfigError(
            f"could not learn the GCS address of the Ray cluster at {self.uri}",
            hint="give it in the URI: ray://HOST:PORT?gcs=HEAD_IP:6379",
        )

    # --- submit --------------------------------------------------------------------------------

    def submit(self, spec: TaskSpec) -> str:
        if spec.die_with_submitter:
            return self._submit_actor(spec)
        if spec.slot is not None:
            raise ConfigError(
                f"a task placed in reservation slot {spec.slot} must be bound to its submitter",
                hint="set TaskSpec.die_with_submitter=True for a job's workers",
            )
        return self._submit_job(spec)

    def _submit_job(self, spec: TaskSpec) -> str:
        client = self._jobs()
        env = _forwarded_env()
        env.update(spec.env)
        env["RAY_JOB_STOP_WAIT_TIME_S"] = str(RAY_STOP_CEILING_S)
        cwd = Path(spec.cwd).resolve() if spec.cwd is not None else Path.cwd()
        payload = {
            "argv": [str(a) for a in spec.argv],
            "log_path": str(Path(spec.log_path).resolve()),
            "cwd": str(cwd),
            "cwd_required": spec.cwd is not None,
        }
        resources = spec.resources or Resources(cpus=0.0)
        sid = f"sagebox-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
        client.submit_job(
            entrypoint=f"python -m {_ENTRYPOINT_MODULE} {shlex.quote(json.dumps(payload))}",
            submission_id=sid,
            runtime_env={"env_vars": env},
            entrypoint_num_cpus=resources.cpus,
            entrypoint_num_gpus=resources.gpus,
            entrypoint_memory=int(resources.memory_bytes),
            metadata={
                "sagebox.log_path": payload["log_path"],
                "sagebox.asks": _describe_resources(
                    resources.cpus, resources.memory_bytes, resources.gpus
                ),
            },
        )
        return _JOB_PREFIX + sid

    # --- jobs ----------------------------------------------------------------------------------

    def _job_info(self, sid: str) -> Any:
        try:
            return self._jobs().get_job_info(sid)
        except RuntimeError as exc:
            if "404" in str(exc) or "does not exist" in str(exc):
                raise NotFoundError(
                    f"no Ray job {sid} on the cluster at {self.uri}",
                    hint="list the cluster's jobs: ray job list",
                ) from None
            raise

    def _wait_job(self, sid: str, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self._job_info(sid)
            if str(info.status) in _TERMINAL:
                return info
            if deadline is not None and time.monotonic() >= deadline:
                return info
            time.sleep(_POLL_SECONDS)

    def state(self, handle: str) -> TaskState:
        kind, ident = _parse(handle)
        if kind == "actor":
            return self._actor(handle).state()
        status = str(self._job_info(ident).status)
        return TaskState.EXITED if status in _TERMINAL else TaskState.RUNNING

    def wait(self, handle: str, timeout: float | None = None) -> int | None:
        kind, ident = _parse(handle)
        if kind == "actor":
            return self._actor(handle).wait(timeout)
        info = self._wait_job(ident, timeout)
        if str(info.status) not in _TERMINAL:
            return None
        code = info.driver_exit_code
        return None if code is None else int(code)

    def stop(self, handle: str, grace_seconds: float = 10.0) -> None:
        kind, ident = _parse(handle)
        if kind == "actor":
            self._actor(handle).stop(grace_seconds)
            return
        client = self._jobs()
        if str(self._job_info(ident).status) in _TERMINAL:
            return
        client.stop_job(ident)
        info = self._wait_job(ident, grace_seconds)
        if str(info.status) in _TERMINAL:
            return
        self._force_job(ident)
        self._wait_job(ident, 60)

    def _force_job(self, sid: str) -> None:
        """End the job's supervisor actor: Ray's watcher then SIGKILLs the job's process group."""
        ray = self._driver()
        from ray.dashboard.modules.job.common import (
            JOB_ACTOR_NAME_TEMPLATE,
            SUPERVISOR_ACTOR_RAY_NAMESPACE,
        )

        try:
            actor = ray.get_actor(
                JOB_ACTOR_NAME_TEMPLATE.format(job_id=sid), namespace=SUPERVISOR_ACTOR_RAY_NAMESPACE
            )
        except ValueError:
            return  # it ended meanwhile
        ray.kill(actor, no_restart=True)

    def output(self, handle: str) -> str:
        kind, ident = _parse(handle)
        if kind == "actor":
            return self._actor(handle).output()
        self._job_info(ident)  # NotFoundError for an unknown job
        logs: str = self._jobs().get_job_logs(ident)
        marker = _OUTPUT_STARTS + "\n"
        return logs.split(marker, 1)[1] if marker in logs else ""

    def pending_reason(self, handle: str) -> str | None:
        """Why the task has not started yet (None once it runs or has ended).

        A task asking for more than any node of the cluster has waits: this says what it asks
        and what the cluster has, for ``sagebox jobs describe`` to show as its Pending reason.
        """
        kind, ident = _parse(handle)
        if kind == "actor":
            return self._actor(handle).pending_reason(self)
        info = self._job_info(ident)
        if str(info.status) != "PENDING":
            return None
        asked = (info.metadata or {}).get("sagebox.asks", "its resources")
        return f"waiting for a node with {asked} free; {self.capacity()}"

    def capacity(self) -> str:
        """What the cluster has, in words: its live nodes and their free CPUs and GPUs."""
        try:
            body = self._get("/api/v0/nodes?detail=1&limit=1000")
            nodes = [n for n in body["data"]["result"]["result"] if n["state"] == "ALIVE"]
        except (ConfigError, KeyError, TypeError):
            return "the cluster's capacity is unknown"
        cpus = sum(float(n["resources_total"].get("CPU", 0)) for n in nodes)
        gpus = sum(float(n["resources_total"].get("GPU", 0)) for n in nodes)
        most = max((float(n["resources_total"].get("CPU", 0)) for n in nodes), default=0.0)
        return (
            f"the cluster has {len(nodes)} live node(s) with {cpus:g} CPUs and {gpus:g} GPUs "
            f"in all, at most {most:g} CPUs on one node"
        )

    # --- actors (tasks bound to their submitter) -----------------------------------------------

    def _submit_actor(self, spec: TaskSpec) -> str:
        ray = self._driver()
        options: dict[str, Any] = {"max_concurrency": 4}
        if spec.slot is not None:
            group, bundle = self._group(spec.slot[0]), spec.slot[1]
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=group, placement_group_bundle_index=bundle
            )
            need = group.bundle_specs[bundle]
            options["num_cpus"] = need.get("CPU", 0)
            options["num_gpus"] = need.get("GPU", 0)
            if need.get("memory"):
                options["memory"] = need["memory"]
        else:
            res = spec.resources or Resources()
            options.update(num_cpus=res.cpus, num_gpus=res.gpus)
            if res.memory_bytes:
                options["memory"] = res.memory_bytes
        actor = ray.remote(_TaskRunner).options(**options).remote()
        env = _forwarded_env()
        env.update(spec.env)
        started = actor.start.remote(
            [str(a) for a in spec.argv],
            str(Path(spec.log_path).resolve()),
            env,
            str(Path(spec.cwd).resolve()) if spec.cwd is not None else None,
        )
        handle = _ACTOR_PREFIX + actor._actor_id.hex()
        self._actors[handle] = _ActorTask(ray, actor, started, spec.slot)
        return handle

    def _actor(self, handle: str) -> _ActorTask:
        task = self._actors.get(handle)
        if task is None:
            raise NotFoundError(
                f"task {handle} was not submitted by this client",
                hint="a job's workers are known to the job runner that started them",
            )
        return task

    # --- reservations --------------------------------------------------------------------------

    def reserve(self, count: int, resources: Resources, timeout: float = 300.0) -> Reservation:
        if count < 1:
            raise ConfigError(f"cannot reserve {count} slots", hint="reserve at least one")
        ray = self._driver()
        from ray.util.placement_group import placement_group, remove_placement_group

        bundle = _bundle(resources)
        group = placement_group([dict(bundle) for _ in range(count)], strategy="STRICT_SPREAD")
        ready, _ = ray.wait([group.ready()], timeout=timeout)
        if not ready:
            remove_placement_group(group)
            asked = _describe_resources(resources.cpus, resources.memory_bytes, resources.gpus)
            raise ConfigError(
                f"cannot reserve {count} slots of {asked}, each on a distinct node, within "
                f"{timeout:g} s: {self.capacity()}",
                hint="ask for fewer instances or smaller ones, or add nodes to the cluster",
            )
        from ray.util import placement_group_table

        table = placement_group_table(group)
        ips = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}
        nodes = table["bundles_to_node_id"]
        group_id = group.id.hex()
        self._groups[group_id] = group
        return Reservation(group_id, tuple(ips.get(nodes[i], "") for i in range(count)))

    def release(self, reservation: Reservation) -> None:
        group = self._groups.pop(reservation.id, None)
        if group is None:
            return
        for task in list(self._actors.values()):
            if task.slot is not None and task.slot[0] == reservation.id:
                task.stop(grace_seconds=10.0)
        from ray.util.placement_group import remove_placement_group

        remove_placement_group(group)

    def _group(self, group_id: str) -> Any:
        group = self._groups.get(group_id)
        if group is None:
            raise NotFoundError(
                f"reservation {group_id} was not made by this client",
                hint="place tasks with the Reservation that reserve() returned",
            )
        return group


def _bundle(resources: Resources) -> dict[str, float]:
    bundle: dict[str, float] = {}
    if resources.cpus:
        bundle["CPU"] = float(resources.cpus)
    if resources.gpus:
        bundle["GPU"] = float(resources.gpus)
    if resources.memory_bytes:
        bundle["memory"] = float(resources.memory_bytes)
    return bundle or {"CPU": 0.01}


def _describe_resources(cpus: float, memory_bytes: float, gpus: float) -> str:
    parts = [f"{cpus:g} CPU(s)"]
    if memory_bytes:
        parts.append(f"{memory_bytes / 2**30:.1f} GiB memory")
    if gpus:
        parts.append(f"{gpus:g} GPU(s)")
    return ", ".join(parts)


def _parse(handle: str) -> tuple[str, str]:
    if handle.startswith(_JOB_PREFIX) and len(handle) > len(_JOB_PREFIX):
        return "job", handle[len(_JOB_PREFIX) :]
    if handle.startswith(_ACTOR_PREFIX) and len(handle) > len(_ACTOR_PREFIX):
        return "actor", handle[len(_ACTOR_PREFIX) :]
    raise NotFoundError(
        f"not a Ray task handle: {handle!r}", hint="expected 'ray:job:<id>' or 'ray:actor:<id>'"
    )


class _ActorTask:
    """This client's view of one actor task."""

    def __init__(self, ray: Any, actor: Any, started: Any, slot: tuple[str, int] | None) -> None:
        self.ray, self.actor, self.started, self.slot = ray, actor, started, slot
        self.code: int | None = None
        self.ended = False
        self.released = False
        self.last_output = ""

    def _call(self, method: str, *args: Any, timeout: float | None = 30.0) -> Any:
        return self.ray.get(getattr(self.actor, method).remote(*args), timeout=timeout)

    def _started(self) -> bool:
        ready, _ = self.ray.wait([self.started], timeout=0)
        return bool(ready)

    def state(self) -> TaskState:
        if self.ended:
            return TaskState.EXITED
        if not self._started():
            return TaskState.RUNNING  # still being placed (see pending_reason)
        try:
            self.ray.get(self.started, timeout=0)
            code = self._call("poll")
        except Exception:  # the actor or its node died: the task ended with it
            self.ended = True
            return TaskState.EXITED
        if code is None:
            return TaskState.RUNNING
        self.code, self.ended = int(code), True
        return TaskState.EXITED

    def wait(self, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state() is TaskState.RUNNING:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_SECONDS)
        return self.code

    def stop(self, grace_seconds: float) -> None:
        if self.released:
            return
        if self.state() is not TaskState.EXITED:
            try:
                self._call("stop", grace_seconds, timeout=grace_seconds + 30)
            except Exception:
                self.ray.kill(self.actor, no_restart=True)
            self.wait(timeout=30)
        # the command has ended: end the actor too, so that its resources are free at once
        self.last_output = self.output()
        with contextlib.suppress(Exception):
            self.ray.kill(self.actor, no_restart=True)
        self.released = self.ended = True

    def output(self) -> str:
        if self.released:
            return self.last_output
        try:
            text: str = self._call("output")
        except Exception:
            return self.last_output
        self.last_output = text
        return text

    def pending_reason(self, compute: RayCompute) -> str | None:
        if self.ended or self._started():
            return None
        return f"waiting for a node with the resources the task asks; {compute.capacity()}"


class _TaskRunner:
    """A Ray actor that runs one command as a subprocess on its node (see the module)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.offset = 0
        self.failed: int | None = None

    def start(self, argv: list[str], log_path: str, env: dict[str, str], cwd: str | None) -> int:
        """Start the command (from a thread that lives as long as it: parent-death signal)."""
        import ray

        from sagebox.backends.compute.lifetime import die_with_parent

        self.log_path = Path(log_path)
        node_id = ray.get_runtime_context().get_node_id()
        full_env = {
            **os.environ,
            **env,
            "SAGEBOX_NODE_ID": node_id,
            "SAGEBOX_NODE_IP": _node_address(ray, node_id),
        }
        started = threading.Event()

        def run() -> None:
            fd = create_private_file(Path(log_path))
            self.offset = os.fstat(fd).st_size
            with os.fdopen(fd, "ab") as log:
                try:
                    self.proc = subprocess.Popen(
                        argv,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=full_env,
                        cwd=cwd,
                        start_new_session=True,
                        preexec_fn=die_with_parent(),
                        umask=0o077,
                    )
                except (FileNotFoundError, NotADirectoryError) as exc:
                    log.write(f"sagebox: cannot start task: {exc}\n".encode())
                    self.failed = 127
                    started.set()
                    return
            started.set()
            self.proc.wait()

        threading.Thread(target=run, daemon=True).start()
        started.wait()
        return self.proc.pid if self.proc is not None else -1

    def poll(self) -> int | None:
        if self.failed is not None:
            return self.failed
        assert self.proc is not None
        return self.proc.poll()

    def output(self) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", errors="replace")

    def stop(self, grace_seconds: float) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.poll()
        _killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
        _killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()


def _node_address(ray: Any, node_id: str) -> str:
    """The address node ``node_id`` joined the cluster with (``--node-ip-address``)."""
    with contextlib.suppress(Exception):
        for node in ray.nodes():
            if node.get("NodeID") == node_id and node.get("NodeManagerAddress"):
                return str(node["NodeManagerAddress"])
    return str(ray.util.get_node_ip_address())


def _killpg(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
