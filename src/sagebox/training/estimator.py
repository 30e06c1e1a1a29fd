"""The :class:`Estimator`: SageMaker's training API, run as sagebox training jobs.

Example:
    >>> from sagebox.training import Estimator
    >>> est = Estimator(
    ...     entry_point="train.py",
    ...     source_dir="src",
    ...     hyperparameters={"epochs": 1, "learning_rate": 5e-5},
    ...     metric_definitions=[{"Name": "validation:accuracy", "Regex": "val_acc: ([0-9.]+)"}],
    ...     checkpoint_uri="checkpoints/roberta",
    ... )
    >>> est.fit({"train": "prepared/train.parquet", "validation": "prepared/validation.parquet"})
    >>> est.model_data
    'file:///.../jobs/train-20261127-.../output/model.tar.gz'
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path
from typing import Any, TextIO

from sagebox.backends.metadata.base import JobRecord, MetricPoint
from sagebox.errors import InputDataError
from sagebox.session import Session
from sagebox.training.spec import TrainingSpec

__all__ = ["Estimator", "resume_training_job"]

_CHANNEL = re.compile(r"^[A-Za-z0-9_-]+$")


class Estimator:
    """Trains a built-in algorithm or a SageMaker script-mode entry point as a job.

    Args:
        entry_point: the training script (relative to ``source_dir`` when that is given).
        source_dir: local directory uploaded with the script (unpacked as the working dir).
        algorithm: a built-in algorithm instead of a script (``text-transformer``, ...).
        hyperparameters: the algorithm's hyperparameters or the script's ``--name value``
            arguments (also in ``SM_HPS`` / ``SM_HP_<NAME>``).
        instance_count: worker processes; > 1 runs data-parallel with torch.distributed set.
        instance_type: ``local``, ``local:N`` (N threads per process) or an ``ml.*`` type.
        max_run: seconds before the job fails with MaxRuntimeExceeded.
        max_retries: restarts after the job or a worker is killed (resuming from checkpoints).
        environment: extra environment variables of the workers.
        metric_definitions: ``[{"Name": ..., "Regex": ...}]`` captured live from the log.
        checkpoint_uri: lake prefix mirrored with the workers' ``SM_CHECKPOINT_DIR``
            (``checkpoint_s3_uri`` is accepted as an alias).
        output_path: lake prefix for ``<job>/output/model.tar.gz``.
        distribution: ``{"torch_distributed": {"enabled": True}}`` (or ``pytorchddp``).
        debugger_hook_config: the debugger hook's settings, a
            :class:`~sagebox.debugger.hook.HookConfig` or its dict (``save_interval``,
            ``tensor_interval``, ``collections``); ``False`` turns the hook off. The hook is on
            for text-transformer and whenever a debugger rule runs.
        rules: rules evaluated while the job trains: :class:`~sagebox.debugger.RuleConfig`
            objects (``RuleConfig("overfit", {"patience": 2}, actions=[StopTraining()])``),
            their dicts, or rule names. Statuses: ``sagebox debug rules JOB``.
        profiler_config: a :class:`~sagebox.debugger.ProfilerConfig` or its dict
            (``system_monitor_interval_millis``, default 500; ``framework_profile``).
        disable_profiler: turn off system monitoring and framework timings.
        base_job_name: job name prefix (default: the algorithm or ``training``).
        session: the sagebox session (default: from the environment).

    Raises:
        InputDataError: on a bad argument (also re-checked when the job starts).
        ConfigError: on an unknown algorithm.
    """

    def __init__(
        self,
        *,
        entry_point: str | None = None,
        source_dir: str | Path | None = None,
        algorithm: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        instance_count: int = 1,
        instance_type: str = "local",
        max_run: float | None = None,
        max_retries: int = 0,
        environment: dict[str, str] | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        checkpoint_uri: str | None = None,
        checkpoint_s3_uri: str | None = None,
        output_path: str | None = None,
        distribution: dict[str, Any] | None = None,
        debugger_hook_config: Any = None,
        rules: list[Any] | None = None,
        profiler_config: Any = None,
        disable_profiler: bool = False,
        base_job_name: str | None = None,
        session: Session | None = None,
    ) -> None:
        self.entry_point = entry_point
        self.source_dir = None if source_dir is None else Path(source_dir)
        self.max_run = max_run
        self.max_retries = max_retries
        self.base_job_name = base_job_name
        self.session = session or Session()
        self.spec = TrainingSpec(
            algorithm=algorithm,
            entry_point=None if entry_point is None else Path(entry_point).name,
            hyperparameters=dict(hyperparameters or {}),
            instance_count=instance_count,
            instance_type=instance_type,
            environment=dict(environment or {}),
            metric_definitions=list(metric_definitions or []),
            checkpoint_uri=checkpoint_uri or checkpoint_s3_uri,
            output_path=output_path,
            distribution=distribution,
            **_debugger_parameters(debugger_hook_config, rules, profiler_config, disable_profiler),
        )
        if entry_point is not None and source_dir is not None:
            self.spec.entry_point = str(entry_point)
        self.spec.validate()
        self.latest_job_name: str | None = None

    @classmethod
    def attach(cls, job_name: str, session: Session | None = None) -> Estimator:
        """An estimator for an existing training job (to read its model, metrics or logs)."""
        session = session or Session()
        job = session.metadata.get_job(job_name)
        spec = TrainingSpec.from_parameters(job.parameters)
        est = cls.__new__(cls)
        est.entry_point, est.source_dir, est.base_job_name = spec.entry_point, None, None
        est.max_run = job.parameters.get("max_runtime_seconds")
        est.max_retries = int(job.parameters.get("max_retries", 0))
        est.session, est.spec, est.latest_job_name = session, spec, job_name
        return est

    def fit(
        self,
        inputs: str | dict[str, str] | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
    ) -> JobRecord:
        """Start a training job on ``inputs`` (channel name → lake key or URI).

        A single string is the ``train`` channel. With ``wait``, block until the job ends,
        printing its log as it is written when ``logs`` is true.

        Raises:
            InputDataError: if a channel is empty or outside the lake.
            JobError: if the job (waited on) does not complete.
        """
        from sagebox.jobs.client import JobClient, new_job_name
        from sagebox.names import check_resource_name

        jobs = JobClient(self.session)
        # Checked before the source upload: the name becomes part of a lake key.
        name = (
            check_resource_name("training job", job_name)
            if job_name
            else new_job_name(self.base_job_name or self.spec.algorithm or "training")
        )
        spec, channels = self.prepare_job(name, inputs)
        job = jobs.submit(
            "training",
            parameters=spec.to_parameters(),
            inputs=channels,
            name=name,
            max_runtime_seconds=self.max_run,
            max_retries=self.max_retries,
        )
        self.latest_job_name = job.name
        return self.wait(logs=logs) if wait else job

    def prepare_job(
        self, job_name: str, inputs: str | dict[str, str] | None
    ) -> tuple[TrainingSpec, dict[str, str]]:
        """The spec and input channels of a job named ``job_name`` (what :meth:`fit` submits).

        Checks the channels, then uploads the script's source (script mode) under the job's
        name. A tuning job calls it once for all its trials.

        Raises:
            InputDataError: if a channel is empty or outside the lake, or the entry point is
                missing.
        """
        channels = self._channels(inputs)
        spec = TrainingSpec.from_parameters(self.spec.to_parameters())
        if self.entry_point is not None:
            spec.source_uri = self._upload_source(job_name)
        return spec, channels

    def wait(self, logs: bool = True, out: TextIO | None = None) -> JobRecord:
        """Wait for the latest job, optionally streaming its log; raise unless it completed."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).wait_completed(self._require_job(), follow=logs, out=out)

    def resume(self, wait: bool = True, logs: bool = True) -> JobRecord:
        """Start a new job that continues the latest one from its checkpoints."""
        job = resume_training_job(self.session, self._require_job())
        self.latest_job_name = job.name
        return self.wait(logs=logs) if wait else job

    @property
    def latest_training_job(self) -> JobRecord | None:
        """The latest job's current record."""
        from sagebox.jobs.client import JobClient

        return (
            None
            if self.latest_job_name is None
            else JobClient(self.session).describe(self.latest_job_name)
        )

    @property
    def model_data(self) -> str | None:
        """URI of the latest job's ``model.tar.gz`` (None until it completed)."""
        job = self.latest_training_job
        return None if job is None else job.outputs.get("model")

    def metrics(self, name: str | None = None) -> list[MetricPoint]:
        """The latest job's metric time series."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).metrics(self._require_job(), name)

    def logs(self) -> str:
        """The latest job's log so far."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).logs(self._require_job())

    def stop(self) -> JobRecord:
        """Stop the latest job."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).stop(self._require_job())

    def _require_job(self) -> str:
        if self.latest_job_name is None:
            raise InputDataError("this estimator has not started a job", hint="call fit() first")
        return self.latest_job_name

    def _channels(self, inputs: str | dict[str, str] | None) -> dict[str, str]:
        channels = {"train": inputs} if isinstance(inputs, str) else dict(inputs or {})
        storage = self.session.storage
        for name, uri in channels.items():
            if not _CHANNEL.match(name) or not isinstance(uri, str) or not uri:
                raise InputDataError(
                    f"bad input channel {name!r}: {uri!r}",
                    hint="give channel names of letters, digits, - and _, each with a lake URI",
                )
            key = self.session.key_for(uri)
            if not (key and storage.exists(key)) and not storage.list(key.rstrip("/") + "/"):
                raise InputDataError(
                    f"input channel {name!r} has no data at {uri}",
                    hint="check the URI (sagebox lake ls) or upload the data first",
                )
        return channels

    def _upload_source(self, job_name: str) -> str:
        if self.source_dir is not None:
            root = self.source_dir
            if not (root / str(self.entry_point)).is_file():
                raise InputDataError(
                    f"entry point {self.entry_point} not found in {root}",
                    hint="give entry_point relative to source_dir",
                )
            items = sorted(p for p in root.iterdir() if p.name not in ("__pycache__", ".git"))
        else:
            script = Path(str(self.entry_point))
            if not script.is_file():
                raise InputDataError(
                    f"entry point {script} not found", hint="give the path of the script"
                )
            items = [script]
        key = f"jobs/{job_name}/source/sourcedir.tar.gz"
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "sourcedir.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                for item in items:
                    tar.add(item, arcname=item.name)
            self.session.storage.upload(archive, key)
        return key


def _debugger_parameters(
    hook_config: Any, rules: list[Any] | None, profiler_config: Any, disable_profiler: bool
) -> dict[str, Any]:
    """The Estimator's debugger arguments as TrainingSpec fields (plain JSON values)."""
    import dataclasses

    from sagebox.debugger.config import ProfilerConfig, parse_rule_configs

    if dataclasses.is_dataclass(hook_config) and not isinstance(hook_config, type):
        hook_config = dataclasses.asdict(hook_config)
        hook_config["collections"] = list(hook_config.get("collections", ()))
    profiler = ProfilerConfig.from_dict(profiler_config).to_dict()
    if disable_profiler:
        profiler["disable_profiler"] = True
    return {
        "debugger_hook_config": hook_config,
        "rules": [rule.to_dict() for rule in parse_rule_configs(rules)],
        "profiler_config": None if profiler == ProfilerConfig().to_dict() else profiler,
    }


def resume_training_job(session: Session, job_name: str, wait: bool = False) -> JobRecord:
    """Start a new training job with ``job_name``'s settings, continuing from its checkpoints.

    Raises:
        InputDataError: if the job is not a training job or had no ``checkpoint_uri``.
    """
    from sagebox.jobs.client import JobClient, new_job_name

    old = session.metadata.get_job(job_name)
    if old.kind != "training" or not old.parameters.get("checkpoint_uri"):
        raise InputDataError(
            f"job {job_name} has no checkpoints to resume from",
            hint="only training jobs started with a checkpoint_uri can be resumed",
        )
    jobs = JobClient(session)
    params = {
        k: v for k, v in old.parameters.items() if k not in ("max_runtime_seconds", "max_retries")
    }
    job = jobs.submit(
        "training",
        parameters={**params, "resumed_from": job_name},
        inputs=dict(old.inputs),
        name=new_job_name(re.sub(r"-\d{8}-\d{6}-[0-9a-f]{4}$", "", job_name) or "training"),
        max_runtime_seconds=old.parameters.get("max_runtime_seconds"),
        max_retries=int(old.parameters.get("max_retries", 0)),
    )
    return jobs.wait(job.name) if wait else job
