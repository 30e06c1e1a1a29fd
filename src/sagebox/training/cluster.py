"""A training job's hosts as node tasks on distinct cluster nodes (multi-node training).

Chosen by :func:`sagebox.training.job.run_training_job` when the compute backend does not
share the submitter's files (a Ray cluster). Each host ``algo-N`` of the job is one node task
(:mod:`sagebox.jobs.nodes`) in a slot of a gang reserved on distinct nodes, each slot sized by
:func:`sagebox.jobs.instances.resources_for` from the job's ``instance_type``. A node task

- downloads the job's channels (``input/data/<channel>/``) and, in script mode, the source
  archive (unpacked and run by :mod:`sagebox.training.node_worker`) from the lake itself;
- runs the entry point (or the built-in) with the script-mode environment of its host:
  ``MASTER_ADDR`` is rank 0's node address, ``MASTER_PORT`` the port rank 0's node picked at
  the rendezvous, ``SM_HOSTS``/``SM_CURRENT_HOST``/``SM_NUM_GPUS``/``SM_NUM_CPUS`` per node,
  ``SAGEBOX_DIST_BACKEND`` ``nccl`` with GPUs, ``gloo`` without;
- keeps its checkpoint directory in sync with ``checkpoint_uri`` (restored before the script
  starts, so a restarted attempt resumes) and its debugger directory with the job's
  ``debug-output/`` prefix (one file per stream and host, as on one machine);
- on exit 0, uploads its model directory and ``output/data`` (algo-1's only: the model that is
  packaged) to a staging prefix :func:`staging_prefix`, from which the runner downloads and
  packages the model exactly as on one machine. The staging prefix is emptied before each
  attempt, and a model is recorded only once every host succeeded.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sagebox.errors import ConfigError, InputDataError
from sagebox.jobs.context import JobContext
from sagebox.training.launcher import GroupResult
from sagebox.training.metrics import MetricCapture
from sagebox.training.spec import TrainingSpec

if TYPE_CHECKING:
    from sagebox.jobs.nodes import NodeTaskSpec

__all__ = ["ClusterTraining", "staging_prefix"]

#: the first host: the one whose model is packaged and whose lines feed the metrics
_FIRST = "algo-1"


def _killed(code: int | None) -> bool:
    """Whether a node task ended without an exit status or by SIGKILL (a lost host).

    A SIGTERM is not: that is how the group stops the peers of a failed host.
    """
    return code is None or code in (-9, 128 + 9)


def staging_prefix(job_name: str, host: str) -> str:
    """Where node ``host`` of a job uploads its model (``model/``) and ``output-data/``."""
    return f"jobs/{job_name}/hosts/{host}"


class ClusterTraining:
    """Runs attempts of one training job on cluster nodes; see the module docstring.

    Args:
        ctx: the job's context (its session's compute backend reserves the nodes).
        spec: the validated training spec.
        debug_env: the debugger hook's worker variables (``SAGEBOX_DEBUG_DIR`` replaced by
            the node's own debug directory), empty when the hook is off.

    Raises:
        ConfigError: when debugger or profiler rules are asked for (they are evaluated next
            to the data, on the runner, which a cluster's nodes do not share yet).
        InputDataError: on a missing channel, a built-in without a ``train`` channel, or an
            unknown instance type.
    """

    def __init__(self, ctx: JobContext, spec: TrainingSpec, debug_env: dict[str, str]) -> None:
        from sagebox.jobs.instances import resources_for

        if spec.rules:
            names = ", ".join(str(r.get("name", r)) for r in spec.rules)
            raise ConfigError(
                f"debugger/profiler rules ({names}) cannot run on the cluster "
                f"{ctx.session.settings.compute} yet",
                hint="drop rules= (the debugger hook's data is still collected), or run the "
                "job on the local compute backend",
            )
        self.ctx = ctx
        self.spec = spec
        self.debug_env = debug_env
        self.resources = resources_for(spec.instance_type)
        self.downloads = self._channel_downloads()
        if spec.algorithm is not None and "train" not in self.channels:
            raise InputDataError(
                f"{spec.algorithm} needs a 'train' input channel; got "
                f"{', '.join(self.channels) or 'none'}",
                hint="give --train URI (and optionally --validation/--test)",
            )
        if spec.algorithm is None:
            source = ctx.session.key_for(str(spec.source_uri))
            self.downloads.append((source, "sourcedir.tar.gz"))

    @property
    def channels(self) -> list[str]:
        """The job's channel names, sorted."""
        return sorted(self.ctx.job.inputs)

    def describe(self) -> str:
        """One log line: how many nodes of what size."""
        res = self.resources
        size = f"{res.cpus:g} CPU(s)" + (f", {res.gpus:g} GPU(s)" if res.gpus else "")
        return f"{self.spec.instance_count} node(s) of {size} ({self.spec.instance_type})"

    def _channel_downloads(self) -> list[tuple[str, str]]:
        """Each channel's lake key (one object) or prefix (ending ``/``) and its directory."""
        storage = self.ctx.session.storage
        downloads = []
        for name in self.channels:
            uri = self.ctx.job.inputs[name]
            key = self.ctx.session.key_for(uri)
            dest = f"input/data/{name}/"
            if key and storage.exists(key):
                downloads.append((key, dest))
                continue
            prefix = key.rstrip("/") + "/" if key else ""
            if not any(not i.key.endswith("/") for i in storage.list(prefix)):
                raise InputDataError(
                    f"input channel {name!r} has no data at {uri}",
                    hint="check the URI (sagebox lake ls) or upload the data first",
                )
            downloads.append((prefix, dest))
        return downloads

    def run(self, capture: MetricCapture, stop: threading.Event | None) -> GroupResult:
        """One attempt: reserve the nodes, run every host, release; how the hosts ended."""
        from sagebox.jobs.nodes import NodeGroup

        self._clear_staging()
        ctx = self.ctx

        def on_line(host: str, line: str) -> None:
            if host == _FIRST:  # the others repeat the same figures in data-parallel training
                try:
                    capture.feed(line)
                except Exception as exc:  # noqa: BLE001 - a metric store hiccup keeps the logs
                    ctx.log(f"could not record a metric: {exc}")

        with NodeGroup(
            ctx.session, ctx.job.name, self.spec.instance_count, self.resources
        ) as group:
            ctx.log(f"nodes reserved: {', '.join(group.addresses)}")
            specs = self.node_specs(group.hosts, group.addresses)
            outcome = group.run(specs, on_line=on_line, stop=stop)
            ended = self._exit_codes(group.hosts, group.handles)
        host, code = outcome.host, outcome.returncode
        if not outcome.ok and not outcome.stopped and not _killed(code):
            # In a torch.distributed group the peers of a killed host fail at once with
            # their own error, and may be seen first: the killed (or lost) host is the cause.
            for other, other_code in ended.items():
                if _killed(other_code):
                    ctx.log(f"{host} {outcome.describe()} after {other} was killed or lost")
                    host, code = other, other_code
                    break
        if code is not None and 128 < code < 128 + 65:  # the node task's 128 + N: signal N
            code = 128 - code
        return GroupResult(
            ok=outcome.ok,
            host=host,
            returncode=code if code is not None else 0,
            tail=list(outcome.tail),
            stopped=outcome.stopped,
            lost=not outcome.ok and not outcome.stopped and code is None,
        )

    def _exit_codes(self, hosts: list[str], handles: list[str]) -> dict[str, int | None]:
        """Each ended host's exit code (None: it ended without one, e.g. its node died)."""
        from sagebox.errors import SageboxError

        compute = self.ctx.session.compute
        codes: dict[str, int | None] = {}
        for host, handle in zip(hosts, handles, strict=False):
            try:
                codes[host] = compute.wait(handle, timeout=1)
            except SageboxError:
                codes[host] = None
        return codes

    def node_specs(self, hosts: list[str], addresses: tuple[str, ...]) -> list[NodeTaskSpec]:
        """One :class:`~sagebox.jobs.nodes.NodeTaskSpec` per host, rank 0 first."""
        from sagebox.debugger.events import debug_output_prefix
        from sagebox.jobs.nodes import NodeTaskSpec
        from sagebox.training.sm_env import HostLayout, hyperparameter_args, sm_environment

        ctx, spec = self.ctx, self.spec
        root = Path("{root}")
        channels = {name: root / "input" / "data" / name for name in self.channels}
        script = spec.algorithm is None
        argv = [sys.executable, "-m", "sagebox.training.node_worker", "{root}"]
        if script:
            argv += [str(spec.entry_point), *hyperparameter_args(spec.hyperparameters)]
        else:
            argv += ["--builtin"]
        synced = []
        checkpoint_dir = None
        if spec.checkpoint_uri:
            checkpoint_dir = root / "checkpoints"
            synced.append(("checkpoints", ctx.session.key_for(spec.checkpoint_uri)))
        if self.debug_env:
            synced.append(("debug", debug_output_prefix(ctx.job.name)))
        specs = []
        for host in hosts:
            env = sm_environment(
                HostLayout(root, host, hosts, channels),
                ctx.job.name,
                spec.hyperparameters,
                str(spec.entry_point or spec.algorithm),
                num_cpus=max(1, int(self.resources.cpus)),
                num_gpus=int(self.resources.gpus),
                master_port="{port}" if len(hosts) > 1 else None,
                checkpoint_dir=checkpoint_dir,
                code_dir=root / "code" if script else root,
                master_addr=addresses[0],
            )
            env.update(spec.environment)
            if not script:
                env["SAGEBOX_ALGORITHM"] = str(spec.algorithm)
            if self.debug_env:
                env.update({**self.debug_env, "SAGEBOX_DEBUG_DIR": "{root}/debug"})
            uploads = []
            if host == _FIRST:
                stage = staging_prefix(ctx.job.name, host)
                uploads = [("model", f"{stage}/model/"), ("output/data", f"{stage}/output-data/")]
            specs.append(
                NodeTaskSpec(
                    job_name=ctx.job.name,
                    host=host,
                    hosts=list(hosts),
                    argv=argv,
                    env=env,
                    downloads=list(self.downloads),
                    uploads=uploads,
                    synced=list(synced),
                    rendezvous=len(hosts) > 1,
                )
            )
        return specs

    def fetch_first_host(self) -> Path:
        """Download algo-1's staged model and output data; return its host root directory."""
        import shutil

        storage = self.ctx.session.storage
        host_root = self.ctx.workdir / "hosts" / _FIRST
        if host_root.exists():
            shutil.rmtree(host_root)
        stage = staging_prefix(self.ctx.job.name, _FIRST)
        for part, local in (
            ("model", host_root / "model"),
            ("output-data", host_root / "output" / "data"),
        ):
            local.mkdir(parents=True, exist_ok=True)
            prefix = f"{stage}/{part}/"
            for info in storage.list(prefix):
                if not info.key.endswith("/"):
                    storage.download(info.key, local / info.key[len(prefix) :])
        return host_root

    def _clear_staging(self) -> None:
        """Remove what an earlier attempt staged (it must never be packaged)."""
        storage = self.ctx.session.storage
        for info in storage.list(f"jobs/{self.ctx.job.name}/hosts/"):
            storage.delete(info.key)
