"""The :class:`Processor`: SageMaker's processing API, run as sagebox ``processing`` jobs."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sagebox.backends.metadata.base import JobRecord
from sagebox.errors import InputDataError
from sagebox.processing.spec import ProcessingInput, ProcessingOutput, complete
from sagebox.session import Session

__all__ = ["Processor"]


class Processor:
    """Runs a script or a Python function over lake inputs on ``instance_count`` workers.

    Args:
        instance_count: parallel workers (processes on the compute backend).
        instance_type: ``local`` or ``ml.*``: ignored on the local backend; on a cluster, what
            each worker's node slot holds (:func:`sagebox.jobs.instances.resources_for`).
        command: the interpreter of a script (default: ``python`` for ``.py`` files with
            ``/opt/ml`` paths mapped, ``/bin/sh`` for ``.sh`` files).
        env: extra environment variables of the workers.
        max_runtime_in_seconds: fail the job (MaxRuntimeExceeded) after this long.
        base_job_name: job name prefix (default ``processing``).
        path_mapping: map hard-coded ``/opt/ml/...`` paths in Python scripts (see
            :mod:`sagebox.processing._paths`); arguments are always mapped.
        session: the sagebox session (default: from the environment).

    Example:
        >>> processor = Processor(instance_count=2)
        >>> processor.run(
        ...     code="preprocess.py",
        ...     inputs=[ProcessingInput("raw/reviews/", destination="/opt/ml/processing/input/data",
        ...                             distribution="ShardedByKey")],
        ...     outputs=[ProcessingOutput(output_name="train",
        ...                               source="/opt/ml/processing/output/train")],
        ...     arguments=["--train-split-percentage", "0.9"],
        ... )  # doctest: +SKIP
        >>> processor.latest_job.outputs["train"]  # doctest: +SKIP
        'file:///.../jobs/processing-.../output/train/'
    """

    def __init__(
        self,
        *,
        instance_count: int = 1,
        instance_type: str = "local",
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        max_runtime_in_seconds: float | None = None,
        base_job_name: str | None = None,
        path_mapping: bool = True,
        session: Session | None = None,
    ) -> None:
        if not isinstance(instance_count, int) or instance_count < 1:
            raise InputDataError(
                f"instance_count must be a whole number >= 1, got {instance_count!r}",
                hint="e.g. instance_count=2",
            )
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.command = list(command) if command else None
        self.env = dict(env or {})
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.path_mapping = path_mapping
        self.session = session or Session()
        self.latest_job_name: str | None = None

    def run(
        self,
        code: str | Path | Callable[..., Any],
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        arguments: list[str] | None = None,
        *,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
    ) -> JobRecord:
        """Start a processing job; with ``wait``, block until it ends.

        Args:
            code: a local script (``.py``, ``.sh``), ``"module:function"``, or a function
                taking a :class:`~sagebox.processing.spec.ProcessingEnvironment` (functions
                that cannot be imported by name, e.g. from a notebook, are cloudpickled).
            inputs: data copied into the workers before they start.
            outputs: directories uploaded to the lake.
            arguments: the script's command-line arguments (``/opt/ml/...`` paths mapped).
            wait: block until the job ends (raising unless it completed).
            logs: with ``wait``, print the job's log as it is written.
            job_name: the job's name (default ``<base_job_name>-<timestamp>-<random>``).

        Raises:
            InputDataError: a missing script, bad inputs or outputs, an empty input, an
                ``instance_type`` without a known size on a cluster.
            JobError: the job (waited on) did not complete.
        """
        from sagebox.jobs.client import JobClient, new_job_name
        from sagebox.names import check_resource_name

        ins, outs = complete(list(inputs or []), list(outputs or []))
        if not self.session.compute.shares_filesystem:
            from sagebox.jobs.instances import resources_for

            resources_for(self.instance_type)  # an unknown type fails here, not on the cluster
        # Checked before the uploads: the name becomes part of lake keys.
        name = (
            check_resource_name("processing job", job_name)
            if job_name
            else new_job_name(self.base_job_name or "processing")
        )
        for item in ins:
            item["source"] = self._lake_source(item, name)
        parameters = {
            "code": self._code(code, name),
            "inputs": ins,
            "outputs": outs,
            "arguments": [str(a) for a in arguments or []],
            "instance_count": self.instance_count,
            "instance_type": self.instance_type,
            "environment": self.env,
        }
        job = JobClient(self.session).submit(
            "processing",
            parameters=parameters,
            inputs={i["input_name"]: i["source"] for i in ins},
            name=name,
            max_runtime_seconds=self.max_runtime_in_seconds,
        )
        self.latest_job_name = job.name
        return self.wait(logs=logs) if wait else job

    def wait(self, logs: bool = True, out: TextIO | None = None) -> JobRecord:
        """Wait for the latest job (printing its log); raise unless it completed."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).wait_completed(self._require_job(), follow=logs, out=out)

    @property
    def latest_job(self) -> JobRecord | None:
        """The latest job's current record."""
        from sagebox.jobs.client import JobClient

        if self.latest_job_name is None:
            return None
        return JobClient(self.session).describe(self.latest_job_name)

    def _require_job(self) -> str:
        if self.latest_job_name is None:
            raise InputDataError("this processor has not run a job", hint="call run() first")
        return self.latest_job_name

    def _lake_source(self, item: dict[str, Any], job_name: str) -> str:
        """The input's lake location; a local file or directory is uploaded first.

        Raises:
            InputDataError: if there is no data at the source.
        """
        storage = self.session.storage
        source = str(item["source"])
        local = Path(source)
        if "://" not in source and local.exists():
            prefix = f"jobs/{job_name}/input/{item['input_name']}"
            files = (
                [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
            )
            for path in files:
                relative = path.name if local.is_file() else path.relative_to(local).as_posix()
                storage.upload(path, f"{prefix}/{relative}")
            if files:
                return storage.url(prefix) + "/"
        key = self.session.key_for(source)
        if not (key and storage.exists(key)) and not storage.list(key.rstrip("/") + "/"):
            raise InputDataError(
                f"processing input {item['input_name']!r} has no data at {source}",
                hint="give a lake key or URI (sagebox lake ls), or an existing local path",
            )
        return source

    def _code(self, code: str | Path | Callable[..., Any], job_name: str) -> dict[str, Any]:
        storage = self.session.storage
        if callable(code):
            target = _import_name(code)
            if target is not None:
                return {"callable": target}
            key = f"jobs/{job_name}/code/function.pkl"
            storage.write_bytes(key, _pickle_by_value(code))
            return {"pickled": key}
        text = str(code)
        path = Path(text)
        if path.is_file():
            key = f"jobs/{job_name}/code/{path.name}"
            storage.upload(path, key)
            return {
                "script": key,
                "name": path.name,
                "command": self.command,
                "path_mapping": self.path_mapping,
            }
        if ":" in text and not text.endswith((".py", ".sh")):
            return {"callable": text}
        raise InputDataError(
            f"processing code {text!r} is neither a file nor a module:function",
            hint="give the path of a script, or e.g. mypackage.prep:process",
        )


def _import_name(function: Callable[..., Any]) -> str | None:
    """``module:qualname`` if the function's module is installed (importable by any process).

    Functions of scripts, notebooks and test modules are not: they are pickled by value.
    """
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return None
    try:
        source = inspect.getsourcefile(function)
    except TypeError:
        source = None
    if source is None:
        return None
    installed = [str(Path(__file__).parent.parent), *sysconfig_paths()]
    resolved = str(Path(source).resolve())
    return f"{module}:{qualname}" if any(resolved.startswith(p) for p in installed) else None


def sysconfig_paths() -> list[str]:
    """Directories of installed packages (site-packages)."""
    import sysconfig

    return sorted({str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("purelib", "platlib")})


def _pickle_by_value(function: Callable[..., Any]) -> bytes:
    import cloudpickle

    module = sys.modules.get(getattr(function, "__module__", "") or "")
    if module is None or module.__name__ == "__main__":
        return bytes(cloudpickle.dumps(function))
    cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps(function))
    finally:
        cloudpickle.unregister_pickle_by_value(module)
