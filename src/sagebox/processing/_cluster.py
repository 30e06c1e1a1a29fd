"""A processing job on a cluster: one node task per worker, data through the lake.

Chosen when the compute backend does not share the submitter's file system (Ray). The job
runner lists every input (as the local path does), deals ``ShardedByKey`` objects out among
the workers, and describes one node task per host (``algo-1`` ... ``algo-N``, each on its own
node): the task downloads only its own share into the container paths below its node-local
root, plus ``opt/ml/config/resourceconfig.json`` and the code (a script, or the function
worker's spec and pickled function), runs the same command as on the local path (``/opt/ml``
arguments and the ``SAGEBOX_PROCESSING_*`` variables point below that root), and, when it exits
with status 0, uploads each output directory to a staging prefix
``jobs/<job>/hosts/<host>/outputs/<name>/``. When every worker succeeded the runner publishes
the staged outputs to their destinations with the local path's rules (:mod:`._outputs`): a
failed job publishes nothing, two workers writing the same file is an error.

``Continuous`` outputs are refused on a cluster: their files would have to reach the
destination while workers on other machines still write them.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

from sagebox.errors import ConfigError, JobError
from sagebox.jobs.context import JobContext
from sagebox.processing._inputs import deal, input_objects
from sagebox.processing._layout import WorkerLayout, env_name, map_argument

__all__ = ["run_processing_on_nodes", "staging_prefix"]

#: the node-local root directory, filled in on the node (see sagebox.jobs.nodes)
_ROOT = "{root}"


def staging_prefix(job_name: str, host: str) -> str:
    """Where host ``host`` of job ``job_name`` leaves its outputs for the runner to publish."""
    return f"jobs/{job_name}/hosts/{host}/outputs"


def run_processing_on_nodes(
    ctx: JobContext,
    *,
    code: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    arguments: list[str],
    instance_count: int,
    instance_type: str = "local",
    environment: dict[str, str] | None = None,
) -> dict[str, str]:
    """Run the processing job as one node task per worker; return output name → lake URI.

    Raises:
        ConfigError: a ``Continuous`` output (not supported on a cluster).
        InputDataError: an input has no data.
        JobError: a worker failed (with its last log lines), or two wrote the same file.
    """
    from sagebox.jobs.instances import resources_for
    from sagebox.jobs.nodes import NodeGroup, NodeTaskSpec
    from sagebox.processing._outputs import OutputUploader

    continuous = [o["output_name"] for o in outputs if o["upload_mode"] == "Continuous"]
    if continuous:
        raise ConfigError(
            f"output {continuous[0]!r} uses upload_mode='Continuous', which a cluster "
            "compute backend does not support",
            hint="use upload_mode='EndOfJob' (the default), or run on the local backend",
        )
    storage = ctx.session.storage
    job = ctx.job.name
    hosts = [f"algo-{i + 1}" for i in range(instance_count)]
    _clear_staging(ctx, hosts)
    shares: dict[str, list[list[tuple[str, str]]]] = {}
    counts: dict[str, int] = {}
    for item in inputs:
        objects = input_objects(ctx, item)
        counts[item["input_name"]] = len(objects)
        shares[item["input_name"]] = deal(objects, instance_count, item["distribution"])
    ctx.log(
        f"processing on {instance_count} node(s); inputs: "
        + (", ".join(f"{k} ({v} object(s))" for k, v in counts.items()) or "none")
    )
    resources = resources_for(instance_type)
    directories = [
        f"{_ROOT}/{_relative(path)}"
        for path in [*(i["destination"] for i in inputs), *(o["source"] for o in outputs)]
    ]
    prepare = [sys.executable, "-m", "sagebox.processing._prepare", *directories, "--"]
    specs = []
    for index, host in enumerate(hosts):
        private = f"jobs/{job}/hosts/{host}/processing"
        resource = {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}
        storage.write_bytes(f"{private}/resourceconfig.json", json.dumps(resource).encode())
        downloads = [(f"{private}/resourceconfig.json", "opt/ml/config/resourceconfig.json")]
        for item in inputs:
            directory = _relative(item["destination"])
            downloads += [
                (key, f"{directory}/{relative}")
                for key, relative in shares[item["input_name"]][index]
            ]
        argv, code_downloads = _argv(ctx, code, host, hosts, inputs, outputs, arguments)
        specs.append(
            NodeTaskSpec(
                job_name=job,
                host=host,
                hosts=hosts,
                argv=[*prepare, *argv],
                env=_env(ctx, host, hosts, inputs, outputs, resources.cpus, environment or {}),
                cwd="code",
                downloads=downloads + code_downloads,
                uploads=[
                    (_relative(o["source"]), f"{staging_prefix(job, host)}/{o['output_name']}/")
                    for o in outputs
                ],
                synced=[],
            )
        )
    try:
        with NodeGroup(ctx.session, job, instance_count, resources) as group:
            outcome = group.run(specs)
        if not outcome.ok:
            tail = "\n".join(outcome.tail[-10:])
            raise JobError(
                f"worker {outcome.host} {outcome.describe()}; last log lines:\n{tail}"[-2000:],
                hint=f"see sagebox jobs logs {job}",
            )
        layouts = _fetch_staged(ctx, hosts, outputs)
        return OutputUploader(ctx, outputs, layouts).finish()
    finally:
        _clear_staging(ctx, hosts)


def _relative(container_path: str) -> str:
    """``/opt/ml/processing/input/data`` → ``opt/ml/processing/input/data`` (below the root)."""
    return container_path.lstrip("/")


def _argv(
    ctx: JobContext,
    code: dict[str, Any],
    host: str,
    hosts: list[str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    arguments: list[str],
) -> tuple[list[str], list[tuple[str, str]]]:
    """The node's command line and the code it downloads first (lake key, path below root)."""
    from sagebox.errors import InputDataError

    mapped = [map_argument(a, _ROOT) for a in arguments]
    python = sys.executable  # cluster nodes run the runner's environment (same image)
    if "script" in code:
        local = f"code/{code['name']}"
        downloads = [(ctx.session.key_for(str(code["script"])), local)]
        script = f"{_ROOT}/{local}"
        if code.get("command"):
            command = [*map(str, code["command"]), script]
        elif local.endswith(".sh"):
            command = ["/bin/sh", script]
        elif code.get("path_mapping", True):
            command = [python, "-m", "sagebox.processing._paths", script]
        else:
            command = [python, script]
        return [*command, *mapped], downloads
    if "pickled" not in code and "callable" not in code:
        raise InputDataError(
            f"unknown processing code {code!r}", hint="give a script, or a module:function"
        )
    downloads = []
    node_code = {k: v for k, v in code.items() if k != "pickled_path"}
    if "pickled" in code:
        downloads.append((ctx.session.key_for(str(code["pickled"])), "code/function.pkl"))
        node_code["pickled_path"] = "code/function.pkl"  # relative: resolved against the root
    spec = {
        "job_name": ctx.job.name,
        "host": host,
        "hosts": hosts,
        "root": "",
        "inputs": {i["input_name"]: _relative(i["destination"]) for i in inputs},
        "outputs": {o["output_name"]: _relative(o["source"]) for o in outputs},
        "arguments": mapped,
        "code": node_code,
    }
    key = f"jobs/{ctx.job.name}/hosts/{host}/processing/worker.json"
    ctx.session.storage.write_bytes(key, json.dumps(spec).encode())
    downloads.append((key, "worker.json"))
    argv = [python, "-m", "sagebox.processing.worker", f"{_ROOT}/worker.json", "--root", _ROOT]
    return argv, downloads


def _env(
    ctx: JobContext,
    host: str,
    hosts: list[str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    cpus: float,
    environment: dict[str, str],
) -> dict[str, str]:
    threads = str(max(1, int(cpus)))
    env = {
        "SAGEBOX_PROCESSING_ROOT": _ROOT,
        "SAGEBOX_PROCESSING_HOST": host,
        "SAGEBOX_PROCESSING_HOSTS": json.dumps(hosts),
        "SAGEBOX_PROCESSING_JOB": ctx.job.name,
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "RAYON_NUM_THREADS": threads,
    }
    for item in inputs:
        env[f"SAGEBOX_PROCESSING_INPUT_{env_name(item['input_name'])}"] = (
            f"{_ROOT}/{_relative(item['destination'])}"
        )
    for item in outputs:
        env[f"SAGEBOX_PROCESSING_OUTPUT_{env_name(item['output_name'])}"] = (
            f"{_ROOT}/{_relative(item['source'])}"
        )
    env.update(environment)
    return env


def _fetch_staged(
    ctx: JobContext, hosts: list[str], outputs: list[dict[str, Any]]
) -> list[WorkerLayout]:
    """Download each host's staged outputs below the runner's work dir, as local layouts."""
    storage = ctx.session.storage
    base = ctx.workdir / "hosts"
    if base.exists():
        shutil.rmtree(base)
    layouts = []
    for host in hosts:
        layout = WorkerLayout(host, base / host)
        for item in outputs:
            name = item["output_name"]
            directory = layout.root / _relative(item["source"])
            directory.mkdir(parents=True, exist_ok=True)
            layout.outputs[name] = directory
            prefix = f"{staging_prefix(ctx.job.name, host)}/{name}/"
            for info in storage.list(prefix):
                if not info.key.endswith("/"):
                    storage.download(info.key, directory / info.key[len(prefix) :])
        layouts.append(layout)
    return layouts


def _clear_staging(ctx: JobContext, hosts: list[str]) -> None:
    """Remove what this job's workers staged (also what an earlier attempt left)."""
    storage = ctx.session.storage
    for host in hosts:
        storage.delete_prefix(f"{staging_prefix(ctx.job.name, host)}/")
        storage.delete_prefix(f"jobs/{ctx.job.name}/hosts/{host}/processing/")
