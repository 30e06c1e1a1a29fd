"""The ``training`` job kind: run a built-in algorithm or a script-mode entry point.

Both run the same way, as SageMaker does: the job downloads its input channels, starts one
worker process per instance with the script-mode environment (:mod:`sagebox.training.sm_env`),
streams the workers' output into the job log while capturing metrics, keeps the checkpoint
directory in sync with ``checkpoint_uri``, restarts killed workers while restarts are left
(``max_retries``), and finally packages the first host's model directory as ``model.tar.gz``
into the lake. A model is recorded as the job's output only after every worker succeeded and
the archive is completely uploaded, so a failed job never registers a half-written model.

While the workers run, the debugger and profiler (:mod:`sagebox.training._debugging`) collect
data into ``<workdir>/debug`` (synced to ``jobs/<job>/debug-output/``) and evaluate the job's
rules; a rule's stop action ends the workers and the job as Stopped, naming the rule.

On a cluster (a compute backend that does not share this machine's files) each host is a
node task on its own node instead (:mod:`sagebox.training.cluster`): the nodes fetch their
inputs and sync checkpoints and debugger data through the lake themselves, and the model is
packaged from what algo-1 staged in the lake, under the same rule: only after every host
succeeded. Debugger rules are refused there up front.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sagebox.errors import JobError
from sagebox.jobs.context import JobContext
from sagebox.training.launcher import GroupResult, WorkerSpec
from sagebox.training.spec import TrainingSpec

if TYPE_CHECKING:
    from sagebox.training._debugging import JobDebugging
    from sagebox.training.metrics import MetricCapture

__all__ = ["run_training_job"]


def run_training_job(ctx: JobContext, on_cluster: bool | None = None) -> None:
    """Train as ``ctx.parameters`` describe (a :class:`TrainingSpec`); package the model.

    Args:
        ctx: the job's context.
        on_cluster: run each host as a node task on its own node of the compute backend
            (:mod:`sagebox.training.cluster`) rather than as a worker process of this job
            process. Default: when the compute backend does not share this machine's files
            (a cluster); the local backend runs node tasks too (all on this machine).
    """
    from sagebox.training._debugging import JobDebugging

    spec = TrainingSpec.from_parameters(ctx.parameters)
    spec.validate()
    if on_cluster is None:
        on_cluster = not ctx.session.compute.shares_filesystem
    debugging = JobDebugging(ctx, spec.debug_plan(), monitor=not on_cluster)
    if on_cluster:
        _train_on_cluster(ctx, spec, debugging)
    else:
        _train_here(ctx, spec, debugging)


def _train_here(ctx: JobContext, spec: TrainingSpec, debugging: JobDebugging) -> None:
    """The hosts as worker processes of this job process (see the module docstring)."""
    from sagebox.training.checkpoint_sync import CheckpointSync
    from sagebox.training.launcher import run_workers

    channels = {name: ctx.input_dir(name) for name in sorted(ctx.job.inputs)}
    if spec.algorithm is not None:
        _check_builtin_channels(spec, channels)
        argv, code_dir, what = (
            [sys.executable, "-m", "sagebox.training.builtin"],
            ctx.workdir,
            spec.algorithm,
        )
    else:
        code_dir = _unpack_source(ctx, spec)
        argv, what = _script_argv(ctx, code_dir, spec), f"script {spec.entry_point}"
    ctx.log(
        f"training {what} on {spec.instance_count} instance(s) x {spec.cpus_per_instance()} "
        f"CPU(s); channels: {', '.join(channels) or 'none'}"
    )
    sync = None
    checkpoint_dir = None
    if spec.checkpoint_uri:
        checkpoint_dir = ctx.workdir / "checkpoints"
        sync = CheckpointSync(
            ctx.session.storage, ctx.session.key_for(spec.checkpoint_uri), checkpoint_dir
        )
        restored = sync.restore()
        ctx.log(f"checkpoints: {restored} file(s) restored from {spec.checkpoint_uri}")
    capture = _metric_capture(ctx, spec)

    def attempt() -> GroupResult:
        hosts = _prepare_hosts(ctx, spec, channels, argv, code_dir, checkpoint_dir)
        for host in hosts:
            host.env.update(debugging.worker_env())
        if sync is None:
            return run_workers(hosts, capture, stop=debugging.stop_event)
        with sync.running():  # its final sync keeps the last checkpoint, also on a stop
            return run_workers(hosts, capture, stop=debugging.stop_event)

    with debugging.running():
        _attempts(ctx, what, debugging, attempt)
    _package(ctx, spec, ctx.workdir / "hosts" / "algo-1")


def _train_on_cluster(ctx: JobContext, spec: TrainingSpec, debugging: JobDebugging) -> None:
    """The hosts as node tasks on distinct cluster nodes (:mod:`sagebox.training.cluster`)."""
    from sagebox.training.cluster import ClusterTraining

    cluster = ClusterTraining(ctx, spec, debugging.worker_env())
    what = spec.algorithm or f"script {spec.entry_point}"
    ctx.log(
        f"training {what} on {cluster.describe()}; channels: "
        f"{', '.join(cluster.channels) or 'none'}"
        + (f"; checkpoints synced with {spec.checkpoint_uri}" if spec.checkpoint_uri else "")
    )
    capture = _metric_capture(ctx, spec)
    with debugging.running():
        _attempts(ctx, what, debugging, lambda: cluster.run(capture, debugging.stop_event))
    _package(ctx, spec, cluster.fetch_first_host())


def _metric_capture(ctx: JobContext, spec: TrainingSpec) -> MetricCapture:
    from sagebox.training.metrics import MetricCapture, parse_metric_definitions

    metadata = ctx.session.metadata
    return MetricCapture(
        parse_metric_definitions(spec.metric_definitions),
        sink=lambda points: metadata.add_metric_points(ctx.job.name, points),
        builtin_lines=spec.algorithm is not None,
    )


def _attempts(
    ctx: JobContext, what: str, debugging: JobDebugging, attempt: Callable[[], GroupResult]
) -> None:
    """Run ``attempt`` until it succeeds, restarting killed (or lost) hosts while retries last.

    Raises:
        JobInterrupted: when a rule or a request stopped the job.
        JobError: when a host failed for good, with its error or last log lines.
    """
    from sagebox.backends.metadata.base import JobStatus
    from sagebox.jobs.runner import JobInterrupted

    metadata = ctx.session.metadata
    retries = int(ctx.parameters.get("max_retries", 0))
    while True:
        result = attempt()
        if result.ok:
            return
        if result.stopped:
            raise JobInterrupted(JobStatus.STOPPED, debugging.stop_reason or "Stopped")
        job = metadata.get_job(ctx.job.name)
        if job.status is JobStatus.STOPPING:
            raise JobInterrupted(JobStatus.STOPPED, "Stopped by request")
        if result.killed and job.restarts < retries:
            ctx.job = metadata.update_job(ctx.job.name, restarts=job.restarts + 1)
            ctx.log(
                f"{what} on {result.host} was {result.describe()}; restarting from the "
                f"last checkpoint (restart {ctx.job.restarts} of {retries})"
            )
            continue
        message, hint = _failure_reason(what, result)
        raise JobError(message, hint=hint or f"see sagebox jobs logs {ctx.job.name}")


def _check_builtin_channels(spec: TrainingSpec, channels: dict[str, Path]) -> None:
    """Fail before starting workers on missing or malformed built-in input."""
    from sagebox.algorithms import get_algorithm
    from sagebox.datasets import LABELS
    from sagebox.errors import InputDataError
    from sagebox.training.channels import read_channel

    if "train" not in channels:
        raise InputDataError(
            f"{spec.algorithm} needs a 'train' input channel; got {', '.join(channels) or 'none'}",
            hint="give --train URI (and optionally --validation/--test)",
        )
    tabular = get_algorithm(str(spec.algorithm)).accepts_tabular
    for name in ("train", "validation", "test"):
        if name in channels:
            read_channel(channels[name], name, LABELS, tabular)


def _unpack_source(ctx: JobContext, spec: TrainingSpec) -> Path:
    from sagebox.errors import InputDataError

    code_dir = ctx.workdir / "code"
    if code_dir.exists():
        shutil.rmtree(code_dir)
    archive = ctx.workdir / "sourcedir.tar.gz"
    ctx.session.storage.download(ctx.session.key_for(str(spec.source_uri)), archive)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(code_dir, filter="data")
    if not (code_dir / str(spec.entry_point)).is_file():
        raise InputDataError(
            f"entry point {spec.entry_point} is not in the source directory",
            hint="give an entry_point relative to source_dir",
        )
    return code_dir


def _script_argv(ctx: JobContext, code_dir: Path, spec: TrainingSpec) -> list[str]:
    """The entry point's command line (its requirements.txt installed first, if any)."""
    from sagebox.training.requirements import script_python
    from sagebox.training.sm_env import hyperparameter_args

    script = str(code_dir / str(spec.entry_point))
    if script.endswith(".sh"):
        runner = "/bin/sh"
    else:
        runner = script_python(code_dir, ctx.workdir / "venv", ctx.log)
    return [runner, script, *hyperparameter_args(spec.hyperparameters)]


def _prepare_hosts(
    ctx: JobContext,
    spec: TrainingSpec,
    channels: dict[str, Path],
    argv: list[str],
    code_dir: Path,
    checkpoint_dir: Path | None,
) -> list[WorkerSpec]:
    """Fresh model/output directories and the environment of each host."""
    from sagebox.training.sm_env import HostLayout, sm_environment

    names = [f"algo-{i + 1}" for i in range(spec.instance_count)]
    port = _free_port() if spec.instance_count > 1 else None
    cpus = spec.cpus_per_instance()
    workers = []
    for name in names:
        layout = HostLayout(ctx.workdir / "hosts" / name, name, names, channels)
        for directory in (layout.model_dir, layout.output_dir):
            if directory.exists():
                shutil.rmtree(directory)  # never package what a killed attempt left behind
        layout.model_dir.mkdir(parents=True)
        layout.output_data_dir.mkdir(parents=True)
        env = sm_environment(
            layout,
            ctx.job.name,
            spec.hyperparameters,
            str(spec.entry_point or f"{spec.algorithm}"),
            num_cpus=cpus,
            master_port=port,
            checkpoint_dir=checkpoint_dir,
            code_dir=code_dir,
        )
        env.update(spec.environment)
        if spec.algorithm is not None:
            env["SAGEBOX_ALGORITHM"] = spec.algorithm
            env["SAGEBOX_JOB_PID"] = str(os.getpid())
        workers.append(WorkerSpec(host=name, argv=argv, env=env, cwd=code_dir))
    return workers


def _failure_reason(what: str, result: GroupResult) -> tuple[str, str | None]:
    """The error a built-in reported (``error:``/``hint:`` lines), else the log's last lines."""
    errors = [line.removeprefix("error: ") for line in result.tail if line.startswith("error: ")]
    hints = [line.removeprefix("hint: ") for line in result.tail if line.startswith("hint: ")]
    if errors:
        return errors[-1][:2000], (hints[-1] if hints else None)
    tail = "\n".join(result.tail[-10:])
    return f"{what} on {result.host} {result.describe()}; last log lines:\n{tail}"[-2000:], None


def _package(ctx: JobContext, spec: TrainingSpec, host_root: Path) -> None:
    from sagebox.errors import InputDataError
    from sagebox.models.package import MANIFEST_NAME, pack_model_dir

    model_dir = host_root / "model"
    if not any(model_dir.iterdir()):
        raise InputDataError(
            f"the training wrote nothing to SM_MODEL_DIR ({model_dir})",
            hint="save the model into os.environ['SM_MODEL_DIR']",
        )
    prefix = f"jobs/{ctx.job.name}/output"
    if spec.output_path:
        prefix = f"{ctx.session.key_for(spec.output_path).rstrip('/')}/{ctx.job.name}/output"
    archive = ctx.workdir / "model.tar.gz"
    if spec.algorithm is not None:
        manifest = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        pack_model_dir(model_dir, manifest, archive)
    else:
        _tar_dir(model_dir, archive)
    ctx.put_output("model", archive, f"{prefix}/model.tar.gz", kind="model")
    data_dir = host_root / "output" / "data"
    if data_dir.is_dir() and any(data_dir.iterdir()):
        _tar_dir(data_dir, ctx.workdir / "output.tar.gz")
        ctx.put_output("output", ctx.workdir / "output.tar.gz", f"{prefix}/output.tar.gz")


def _tar_dir(directory: Path, out_path: Path) -> Path:
    tmp = out_path.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for item in sorted(directory.iterdir()):
            tar.add(item, arcname=item.name)
    tmp.replace(out_path)
    return out_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
