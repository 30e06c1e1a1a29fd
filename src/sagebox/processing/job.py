"""The ``processing`` job kind: a script or Python function over lake inputs, on N workers.

Each worker (host ``algo-1`` ... ``algo-N``) gets a local directory standing for the
container's ``/``: inputs are copied to their container paths below it (``FullyReplicated``:
all objects to every worker; ``ShardedByKey``: the objects, sorted by key, dealt out in
turn), outputs are written below it, and ``opt/ml/config/resourceconfig.json`` names the host
and its peers, as in a SageMaker processing container. The script finds the paths:

- in its arguments: every argument starting with ``/opt/ml/`` is rewritten to the local path;
- in the environment: ``SAGEBOX_PROCESSING_ROOT``, ``SAGEBOX_PROCESSING_INPUT_<NAME>``,
  ``SAGEBOX_PROCESSING_OUTPUT_<NAME>``, ``SAGEBOX_PROCESSING_HOST`` and ``..._HOSTS``;
- for Python scripts, also through hard-coded ``/opt/ml/...`` paths: the script runs under
  :mod:`sagebox.processing._paths`, which maps them for ``open``, ``os`` and ``glob``.

Outputs go to the lake when every worker succeeded (``EndOfJob``), or file by file as they
are completed (``Continuous``). Two workers writing the same output file is an error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from sagebox.backends.compute.base import TaskSpec
from sagebox.errors import InputDataError, JobError
from sagebox.jobs.context import JobContext
from sagebox.processing._layout import WorkerLayout, env_name, map_argument
from sagebox.processing.spec import container_to_local

__all__ = ["WorkerLayout", "run_processing", "run_processing_job"]


def run_processing_job(ctx: JobContext) -> None:
    """Run the job that :class:`~sagebox.processing.Processor` (or the CLI) described."""
    params = ctx.parameters
    run_processing(
        ctx,
        code=dict(params["code"]),
        inputs=list(params.get("inputs") or []),
        outputs=list(params.get("outputs") or []),
        arguments=[str(a) for a in params.get("arguments") or []],
        instance_count=int(params.get("instance_count", 1)),
        environment={str(k): str(v) for k, v in (params.get("environment") or {}).items()},
        instance_type=str(params.get("instance_type") or "local"),
    )


def run_processing(
    ctx: JobContext,
    *,
    code: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    arguments: list[str],
    instance_count: int,
    environment: dict[str, str] | None = None,
    instance_type: str = "local",
) -> dict[str, str]:
    """Stage inputs, run the workers, upload outputs; return output name → lake URI.

    On a compute backend that does not share this machine's file system (a cluster), each
    worker is a node task instead (see :mod:`sagebox.processing._cluster`); ``instance_type``
    then says what each worker's node slot holds (:func:`sagebox.jobs.instances.resources_for`).

    Raises:
        InputDataError: an input has no data, or bad parameters.
        JobError: a worker failed (with its last log lines), or two wrote the same file.
    """
    from sagebox.processing._launch import run_worker_group
    from sagebox.processing._outputs import OutputUploader

    if instance_count < 1:
        raise InputDataError(
            f"instance_count must be >= 1, got {instance_count}", hint="e.g. instance_count=2"
        )
    if not ctx.session.compute.shares_filesystem:
        from sagebox.processing._cluster import run_processing_on_nodes

        return run_processing_on_nodes(
            ctx,
            code=code,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            instance_count=instance_count,
            instance_type=instance_type,
            environment=environment,
        )
    hosts = [f"algo-{i + 1}" for i in range(instance_count)]
    base = ctx.workdir / "hosts"
    if base.exists():
        shutil.rmtree(base)  # never mix in what an earlier attempt left
    layouts = [_layout(base, host, hosts, inputs, outputs) for host in hosts]
    staged = _stage_inputs(ctx, inputs, layouts)
    ctx.log(
        f"processing on {instance_count} worker(s); inputs: "
        + (", ".join(f"{k} ({v} object(s))" for k, v in staged.items()) or "none")
    )
    command = _command(ctx, code, layouts)
    uploader = OutputUploader(ctx, outputs, layouts)
    tasks = [
        _task(ctx, layout, hosts, command, arguments, environment or {}, code) for layout in layouts
    ]
    outcome = run_worker_group(ctx.session.compute, tasks, on_poll=uploader.poll)
    if not outcome.ok:
        tail = "\n".join(outcome.tail[-10:])
        raise JobError(
            f"worker {outcome.host} {outcome.describe()}; last log lines:\n{tail}"[-2000:],
            hint=f"see sagebox jobs logs {ctx.job.name}",
        )
    return uploader.finish()


def _layout(
    base: Path,
    host: str,
    hosts: list[str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
) -> WorkerLayout:
    root = base / host
    layout = WorkerLayout(host, root)
    for item in inputs:
        layout.inputs[item["input_name"]] = container_to_local(root, item["destination"])
    for item in outputs:
        layout.outputs[item["output_name"]] = container_to_local(root, item["source"])
    for directory in [*layout.inputs.values(), *layout.outputs.values()]:
        directory.mkdir(parents=True, exist_ok=True)
    config = root / "opt" / "ml" / "config"
    config.mkdir(parents=True, exist_ok=True)
    resource = {"current_host": host, "hosts": hosts, "network_interface_name": "lo"}
    (config / "resourceconfig.json").write_text(json.dumps(resource), encoding="utf-8")
    return layout


def _stage_inputs(
    ctx: JobContext, inputs: list[dict[str, Any]], layouts: list[WorkerLayout]
) -> dict[str, int]:
    """Download each input into every worker (or its share); return objects per input."""
    from sagebox.processing._inputs import deal, input_objects

    storage = ctx.session.storage
    counts = {}
    for item in inputs:
        name = item["input_name"]
        objects = input_objects(ctx, item)
        counts[name] = len(objects)
        first: dict[str, Path] = {}
        shares = deal(objects, len(layouts), item["distribution"])
        for layout, share in zip(layouts, shares, strict=True):
            for object_key, relative in share:
                dest = layout.inputs[name] / relative
                if object_key in first:  # a copy: workers may change their inputs
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(first[object_key], dest)
                else:
                    storage.download(object_key, dest)
                    first[object_key] = dest
    return counts


def _command(ctx: JobContext, code: dict[str, Any], layouts: list[WorkerLayout]) -> list[str]:
    """The worker's command line (without the arguments)."""
    (ctx.workdir / "code").mkdir(parents=True, exist_ok=True)
    if "script" in code:
        script = ctx.workdir / "code" / str(code["name"])
        ctx.session.storage.download(ctx.session.key_for(str(code["script"])), script)
        if code.get("command"):
            return [*map(str, code["command"]), str(script)]
        if script.suffix == ".sh":
            return ["/bin/sh", str(script)]
        if code.get("path_mapping", True):
            return [sys.executable, "-m", "sagebox.processing._paths", str(script)]
        return [sys.executable, str(script)]
    if "pickled" in code:
        local = ctx.workdir / "code" / "function.pkl"
        ctx.session.storage.download(ctx.session.key_for(str(code["pickled"])), local)
        code["pickled_path"] = str(local)
    elif "callable" not in code:
        raise InputDataError(
            f"unknown processing code {code!r}", hint="give a script, or a module:function"
        )
    return [sys.executable, "-m", "sagebox.processing.worker"]


def _task(
    ctx: JobContext,
    layout: WorkerLayout,
    hosts: list[str],
    command: list[str],
    arguments: list[str],
    environment: dict[str, str],
    code: dict[str, Any],
) -> Any:
    from sagebox.processing._launch import WorkerTask

    threads = str(max(1, (os.cpu_count() or 1) // len(hosts)))
    env = {
        "SAGEBOX_PROCESSING_ROOT": str(layout.root),
        "SAGEBOX_PROCESSING_HOST": layout.host,
        "SAGEBOX_PROCESSING_HOSTS": json.dumps(hosts),
        "SAGEBOX_PROCESSING_JOB": ctx.job.name,
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "RAYON_NUM_THREADS": threads,
    }
    for name, path in layout.inputs.items():
        env[f"SAGEBOX_PROCESSING_INPUT_{env_name(name)}"] = str(path)
    for name, path in layout.outputs.items():
        env[f"SAGEBOX_PROCESSING_OUTPUT_{env_name(name)}"] = str(path)
    env.update(environment)
    mapped = [map_argument(a, layout.root) for a in arguments]
    argv = [*command, *mapped]
    if command[-1] == "sagebox.processing.worker":
        spec_path = layout.root.parent / f"{layout.host}.json"
        spec = {
            "job_name": ctx.job.name,
            "host": layout.host,
            "hosts": hosts,
            "root": str(layout.root),
            "inputs": {k: str(v) for k, v in layout.inputs.items()},
            "outputs": {k: str(v) for k, v in layout.outputs.items()},
            "arguments": mapped,
            "code": code,
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        argv = [*command, str(spec_path)]
    log_path = layout.root.parent / f"{layout.host}.log"
    task = TaskSpec(
        argv=argv,
        log_path=log_path,
        env=env,
        cwd=ctx.workdir / "code",
        die_with_submitter=True,  # a killed job runner must not leave its workers running
    )
    return WorkerTask(layout.host, task)
