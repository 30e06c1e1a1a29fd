"""The parameters of a training job, validated once for the client and again in the job.

Example:
    >>> spec = TrainingSpec(algorithm="linear-text", hyperparameters={"C": 2})
    >>> spec.validate()
    >>> TrainingSpec.from_parameters(spec.to_parameters()) == spec
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError

if TYPE_CHECKING:
    from sagebox.debugger.config import DebugPlan

__all__ = ["TrainingSpec"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_ENV = ("SM_", "SAGEBOX_", "MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE")
_DISTRIBUTIONS = ("torch_distributed", "pytorchddp")


@dataclass
class TrainingSpec:
    """What a training job runs: a built-in ``algorithm`` or a script ``entry_point``.

    Attributes:
        algorithm: built-in algorithm name (``linear-text``, ``blazingtext``, ``xgboost``,
            ``text-transformer``, ``ensemble``).
        entry_point: script file name inside the source archive (script mode).
        source_uri: lake key of ``sourcedir.tar.gz`` (script mode; set by the Estimator).
        hyperparameters: algorithm hyperparameters, or the script's arguments.
        instance_count: worker processes ("hosts" ``algo-1``...).
        instance_type: ``local`` (the CPUs shared out), ``local:N`` (N threads per process)
            or a SageMaker ``ml.*`` type, run locally.
        environment: extra environment variables of the workers.
        metric_definitions: ``{"Name", "Regex"}`` dicts captured from the log.
        checkpoint_uri: lake prefix kept in sync with the workers' checkpoint directory.
        output_path: lake prefix for ``<job>/output/model.tar.gz`` (default: the job's own).
        distribution: ``{"torch_distributed": {"enabled": True}}`` (or ``pytorchddp``); the
            torch.distributed variables are set whenever ``instance_count`` > 1.
        debugger_hook_config: the debugger hook's settings (``save_interval``,
            ``tensor_interval``, ``collections``, ``framework_profile``); ``False`` turns the
            hook off. The hook is on for text-transformer and whenever a debugger rule runs.
        rules: debugger and profiler rules, each ``{"name", "parameters", "actions"}`` (see
            :class:`sagebox.debugger.RuleConfig`).
        profiler_config: ``{"system_monitor_interval_millis": 500, "framework_profile": True,
            "disable_profiler": False}`` (the profiler is on by default).
    """

    algorithm: str | None = None
    entry_point: str | None = None
    source_uri: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    instance_count: int = 1
    instance_type: str = "local"
    environment: dict[str, str] = field(default_factory=dict)
    metric_definitions: list[dict[str, str]] = field(default_factory=list)
    checkpoint_uri: str | None = None
    output_path: str | None = None
    distribution: dict[str, Any] | None = None
    debugger_hook_config: dict[str, Any] | bool | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    profiler_config: dict[str, Any] | None = None

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> TrainingSpec:
        """Read the spec from job parameters (other keys, e.g. max_retries, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        spec = cls(**{k: v for k, v in parameters.items() if k in names and v is not None})
        if spec.algorithm is None and spec.entry_point is None:
            spec.algorithm = "linear-text"  # the walking skeleton's default
        return spec

    def to_parameters(self) -> dict[str, Any]:
        """The spec as job parameters (JSON-ready; unset values left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {}, [])}

    def validate(self) -> None:
        """Check every field; a built-in's hyperparameters are checked by the algorithm.

        Raises:
            InputDataError: naming the first bad value.
            ConfigError: if the algorithm is unknown.
        """
        from sagebox.training.metrics import parse_metric_definitions

        if (self.algorithm is None) == (self.entry_point is None):
            raise InputDataError(
                "give exactly one of a built-in algorithm or an entry_point script",
                hint="e.g. --algorithm text-transformer, or --entry-point train.py",
            )
        if not isinstance(self.instance_count, int) or not 1 <= self.instance_count <= 64:
            raise InputDataError(
                f"instance_count={self.instance_count!r} must be an integer from 1 to 64",
                hint="each instance is one local worker process",
            )
        self.cpus_per_instance()
        try:
            json.dumps(self.hyperparameters)
        except (TypeError, ValueError) as exc:
            raise InputDataError(
                f"hyperparameters must be JSON values: {exc}", hint="use numbers, strings, bools"
            ) from exc
        for key, value in self.environment.items():
            if not _ENV_NAME.match(str(key)) or not isinstance(value, str):
                raise InputDataError(
                    f"environment {key}={value!r} is not NAME=string",
                    hint="give environment variables as strings with valid names",
                )
            if str(key).startswith(_RESERVED_ENV):
                raise InputDataError(
                    f"environment variable {key} is set by sagebox itself",
                    hint="choose another name (SM_*, SAGEBOX_* and torch.distributed are reserved)",
                )
        parse_metric_definitions(self.metric_definitions)
        self._validate_distribution()
        self.debug_plan()
        if self.algorithm is not None:
            from sagebox.algorithms import get_algorithm

            cls = get_algorithm(self.algorithm)
            cls.from_hyperparameters(dict(self.hyperparameters))
            if self.instance_count > 1 and not cls.supports_distributed:
                raise InputDataError(
                    f"{self.algorithm} trains in one process; instance_count="
                    f"{self.instance_count} needs an algorithm with distributed support",
                    hint="use instance_count=1, or text-transformer for data-parallel training",
                )

    def _validate_distribution(self) -> None:
        if self.distribution is None:
            return
        unknown = [k for k in self.distribution if k not in _DISTRIBUTIONS]
        if not isinstance(self.distribution, dict) or unknown:
            raise InputDataError(
                f"unsupported distribution {self.distribution!r}",
                hint="use {'torch_distributed': {'enabled': True}} (or pytorchddp)",
            )

    def debug_plan(self) -> DebugPlan:
        """What the job collects and evaluates for the debugger and profiler.

        Raises:
            InputDataError: on an unknown rule (naming the rules), a bad rule parameter or
                action, a non-http(s) webhook URL, or a bad hook or profiler config.
        """
        from sagebox.debugger.config import plan_debugging

        return plan_debugging(
            self.algorithm, self.debugger_hook_config, self.rules, self.profiler_config
        )

    def cpus_per_instance(self) -> int:
        """Threads each worker may use under ``instance_type``.

        Raises:
            InputDataError: if the instance type is not ``local``, ``local:N`` or ``ml.*``.
        """
        cpus = len(os.sched_getaffinity(0))
        kind = self.instance_type
        if kind == "local" or kind.startswith("ml."):
            return max(1, cpus // self.instance_count)
        name, _, count = kind.partition(":")
        if name == "local" and count.isdigit() and int(count) >= 1:
            return int(count)
        raise InputDataError(
            f"instance_type={kind!r} is not known",
            hint="use 'local' (the CPUs shared out), 'local:N' (N threads each) or an ml.* type",
        )
