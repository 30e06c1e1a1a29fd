"""The parameters of a tuning job, validated in the client before anything starts.

A tuning job's record holds a :class:`TuningSpec` as its parameters (JSON) and the trials'
input channels as its inputs. The spec names the trial template (a training job's
parameters, as :class:`~sagebox.training.spec.TrainingSpec` writes them), the objective, the
ranges and the strategy with SageMaker's names and rules.

Example:
    >>> from sagebox.tuning.parameters import ContinuousParameter
    >>> spec = TuningSpec(
    ...     training={"algorithm": "linear-text"},
    ...     objective_metric_name="validation:macro_f1",
    ...     ranges={"C": ContinuousParameter(0.1, 10, "Logarithmic")},
    ...     max_jobs=4,
    ... )
    >>> spec.validate()
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from sagebox.errors import InputDataError
from sagebox.tuning.parameters import (
    CategoricalParameter,
    ParameterRange,
    ranges_from_dict,
    ranges_to_dict,
)

__all__ = [
    "EARLY_STOPPING_TYPES",
    "OBJECTIVE_TYPES",
    "RESOURCE_NAMES",
    "STRATEGIES",
    "Objective",
    "TuningSpec",
]

STRATEGIES = ("Random", "Bayesian", "Grid", "Hyperband")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
EARLY_STOPPING_TYPES = ("Off", "Auto")
#: the static hyperparameters Hyperband reads its resource (epochs) from, as SageMaker does
RESOURCE_NAMES = ("epochs", "num_epochs", "n_epochs")
#: the longest tuning job name: a trial is ``<name>-NNN`` and must stay a valid job name
MAX_NAME_LENGTH = 58


@dataclass
class Objective:
    """One objective: a metric the trials emit and whether to maximize or minimize it."""

    metric_name: str
    type: str = "Maximize"

    @property
    def direction(self) -> str:
        """Optuna's word for the type."""
        return "maximize" if self.type == "Maximize" else "minimize"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a > b if self.type == "Maximize" else a < b


@dataclass
class TuningSpec:
    """What a tuning job searches, how, and with which trials.

    Attributes:
        training: the trial template: a training job's parameters (built-in algorithm or
            script, static hyperparameters, metric definitions, ...).
        objective_metric_name: the metric the trials emit that is optimized.
        objective_type: ``Maximize`` or ``Minimize``.
        ranges: hyperparameter name → range; the other hyperparameters stay static.
        strategy: ``Random``, ``Bayesian`` (Optuna's TPE), ``Grid`` (categorical ranges only,
            every combination once) or ``Hyperband`` (asynchronous successive halving over the
            ``epochs`` resource).
        max_jobs: trials in all (Grid: the number of combinations when not given).
        max_parallel_jobs: trials running at once.
        max_runtime_in_seconds: the tuning job's time limit: running trials are stopped and
            the job ends when it is reached.
        early_stopping_type: ``Off`` or ``Auto`` (SageMaker's median rule per epoch).
        random_seed: seed of the search (same seed, same suggestions for sequential trials).
        min_resource / max_resource: Hyperband's bounds on the resource (default 1 and the
            static ``epochs`` / ``num_epochs`` / ``n_epochs`` hyperparameter).
        trial_max_run: each trial's ``max_run`` (seconds).
        trial_max_retries: each trial's ``max_retries``.
        warm_start: ``{"type": "IdenticalDataAndAlgorithm"|"TransferLearning",
            "parents": [names]}``.
        constraints: ``"metric<=value"`` / ``"metric>=value"`` rules a best trial must meet.
        objectives: more than one objective: the Pareto front is reported instead of a best.
    """

    training: dict[str, Any]
    objective_metric_name: str = ""
    objective_type: str = "Maximize"
    ranges: dict[str, ParameterRange] = field(default_factory=dict)
    strategy: str = "Bayesian"
    max_jobs: int | None = None
    max_parallel_jobs: int = 1
    max_runtime_in_seconds: float | None = None
    early_stopping_type: str = "Off"
    random_seed: int | None = None
    min_resource: int | None = None
    max_resource: int | None = None
    trial_max_run: float | None = None
    trial_max_retries: int = 0
    warm_start: dict[str, Any] | None = None
    constraints: list[str] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)

    # -- (de)serialisation -------------------------------------------------------------------

    def to_parameters(self) -> dict[str, Any]:
        """The spec as JSON-ready job parameters."""
        params: dict[str, Any] = {
            "training": dict(self.training),
            "objective_metric_name": self.objective_metric_name,
            "objective_type": self.objective_type,
            "parameter_ranges": ranges_to_dict(self.ranges),
            "strategy": self.strategy,
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "max_runtime_in_seconds": self.max_runtime_in_seconds,
            "early_stopping_type": self.early_stopping_type,
            "random_seed": self.random_seed,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "trial_max_run": self.trial_max_run,
            "trial_max_retries": self.trial_max_retries,
            "warm_start": self.warm_start,
            "constraints": list(self.constraints),
            "objectives": [{"MetricName": o.metric_name, "Type": o.type} for o in self.objectives],
        }
        return {k: v for k, v in params.items() if v not in (None, [])}

    @classmethod
    def from_parameters(cls, params: dict[str, Any]) -> TuningSpec:
        """Read the spec back from job parameters."""
        return cls(
            training=dict(params.get("training") or {}),
            objective_metric_name=params.get("objective_metric_name", ""),
            objective_type=params.get("objective_type", "Maximize"),
            ranges=ranges_from_dict(params.get("parameter_ranges") or {}),
            strategy=params.get("strategy", "Bayesian"),
            max_jobs=params.get("max_jobs"),
            max_parallel_jobs=int(params.get("max_parallel_jobs", 1)),
            max_runtime_in_seconds=params.get("max_runtime_in_seconds"),
            early_stopping_type=params.get("early_stopping_type", "Off"),
            random_seed=params.get("random_seed"),
            min_resource=params.get("min_resource"),
            max_resource=params.get("max_resource"),
            trial_max_run=params.get("trial_max_run"),
            trial_max_retries=int(params.get("trial_max_retries", 0)),
            warm_start=params.get("warm_start"),
            constraints=list(params.get("constraints") or []),
            objectives=[
                Objective(o["MetricName"], o.get("Type", "Maximize"))
                for o in params.get("objectives") or []
            ],
        )

    # -- derived values ------------------------------------------------------------------------

    @property
    def all_objectives(self) -> list[Objective]:
        """The objectives: ``objectives`` when given, else the one objective metric."""
        return self.objectives or [Objective(self.objective_metric_name, self.objective_type)]

    @property
    def objective(self) -> Objective:
        """The first (or only) objective."""
        return self.all_objectives[0]

    @property
    def multi_objective(self) -> bool:
        """Whether the job reports a Pareto front rather than one best trial."""
        return len(self.all_objectives) > 1

    @property
    def static_hyperparameters(self) -> dict[str, Any]:
        """The template's hyperparameters that are not tuned."""
        hps = dict(self.training.get("hyperparameters") or {})
        return {k: v for k, v in hps.items() if k not in self.ranges}

    def grid_size(self) -> int:
        """The number of combinations of the categorical ranges."""
        return math.prod(len(r.values) for r in self.ranges.values() if hasattr(r, "values"))

    def grid(self) -> dict[str, list[Any]]:
        """The Grid strategy's search space (name → values)."""
        return {n: list(r.values) for n, r in self.ranges.items() if hasattr(r, "values")}

    def trial_count(self) -> int:
        """How many trials the job runs at most."""
        if self.strategy == "Grid" and self.max_jobs is None:
            return self.grid_size()
        return int(self.max_jobs or 0)

    def resource_name(self) -> str | None:
        """The static hyperparameter Hyperband scales (``epochs`` and its aliases)."""
        hps = self.static_hyperparameters
        return next((n for n in RESOURCE_NAMES if n in hps), None)

    def resource_bounds(self) -> tuple[int, int]:
        """Hyperband's ``(min_resource, max_resource)``."""
        name = self.resource_name()
        top = self.max_resource
        if top is None and name is not None:
            top = int(float(self.static_hyperparameters[name]))
        return int(self.min_resource or 1), int(top or 0)

    # -- validation ----------------------------------------------------------------------------

    def validate(self) -> None:
        """Check every field with SageMaker's rules; the trials' template too.

        Raises:
            InputDataError: naming the first bad value and how to fix it.
            ConfigError: if the trials' algorithm is unknown.
        """
        self._validate_choices()
        self._validate_ranges()
        self._validate_strategy()
        self._validate_limits()
        self._validate_trials()
        for constraint in self.constraints:
            from sagebox.tuning.constraints import parse_constraint

            parse_constraint(constraint)

    def _validate_choices(self) -> None:
        for what, value, allowed in (
            ("strategy", self.strategy, STRATEGIES),
            ("early_stopping_type", self.early_stopping_type, EARLY_STOPPING_TYPES),
        ):
            if value not in allowed:
                raise InputDataError(
                    f"unknown {what} {value!r}", hint=f"use one of {', '.join(allowed)}"
                )
        for objective in self.all_objectives:
            if objective.type not in OBJECTIVE_TYPES:
                raise InputDataError(
                    f"unknown objective_type {objective.type!r}", hint="use Maximize or Minimize"
                )
            if not objective.metric_name:
                raise InputDataError(
                    "no objective_metric_name",
                    hint="name a metric the trials emit, e.g. validation:macro_f1",
                )
        names = [o.metric_name for o in self.all_objectives]
        from sagebox.tuning._measures import check_measured_metric

        for name in names:
            check_measured_metric(name)
        if len(set(names)) != len(names):
            raise InputDataError(f"objectives repeat a metric: {names}", hint="list each once")

    def _validate_ranges(self) -> None:
        if not self.ranges:
            raise InputDataError(
                "no hyperparameter ranges to tune",
                hint="give hyperparameter_ranges, e.g. {'C': ContinuousParameter(0.1, 10)}",
            )
        for name, rng in self.ranges.items():
            if not isinstance(rng, ParameterRange):
                raise InputDataError(
                    f"range of {name!r} is {rng!r}",
                    hint="use ContinuousParameter, IntegerParameter or CategoricalParameter",
                )
            rng.check(name)

    def _validate_limits(self) -> None:
        count = self.trial_count()
        if self.strategy != "Grid" and (not isinstance(self.max_jobs, int) or self.max_jobs < 1):
            raise InputDataError(
                f"max_jobs must be a positive integer, got {self.max_jobs!r}",
                hint="e.g. max_jobs=20",
            )
        if not isinstance(self.max_parallel_jobs, int) or self.max_parallel_jobs < 1:
            raise InputDataError(
                f"max_parallel_jobs must be a positive integer, got {self.max_parallel_jobs!r}",
                hint="e.g. max_parallel_jobs=2",
            )
        if self.max_parallel_jobs > count:
            raise InputDataError(
                f"max_parallel_jobs ({self.max_parallel_jobs}) exceeds max_jobs ({count})",
                hint="lower max_parallel_jobs or raise max_jobs",
            )
        if self.max_runtime_in_seconds is not None and not self.max_runtime_in_seconds > 0:
            raise InputDataError(
                f"max_runtime_in_seconds must be positive, got {self.max_runtime_in_seconds}",
                hint="give a number of seconds > 0",
            )

    def _validate_strategy(self) -> None:
        if self.strategy == "Grid":
            continuous = [
                n for n, r in self.ranges.items() if not isinstance(r, CategoricalParameter)
            ]
            if continuous:
                raise InputDataError(
                    f"Grid search takes categorical ranges only; {', '.join(continuous)} is not",
                    hint="use CategoricalParameter for each, or strategy Random/Bayesian",
                )
            if self.max_jobs is not None and self.max_jobs != self.grid_size():
                raise InputDataError(
                    f"Grid search runs every combination ({self.grid_size()}); "
                    f"max_jobs={self.max_jobs} differs",
                    hint="leave max_jobs out for Grid",
                )
        if self.strategy == "Hyperband":
            if self.early_stopping_type != "Off":
                raise InputDataError(
                    "Hyperband stops trials itself: early_stopping_type must be Off",
                    hint="drop early_stopping_type='Auto' or use strategy Random/Bayesian",
                )
            low, high = self.resource_bounds()
            if self.resource_name() is None:
                raise InputDataError(
                    "Hyperband needs a static hyperparameter epochs, num_epochs or n_epochs "
                    "(the resource it halves)",
                    hint="set e.g. hyperparameters={'epochs': 27} on the estimator",
                )
            if not 1 <= low < high:
                raise InputDataError(
                    f"Hyperband resource bounds [{low}, {high}] are not 1 <= min < max",
                    hint="raise the epochs hyperparameter or lower min_resource",
                )
        if self.multi_objective and self.strategy in ("Hyperband",):
            raise InputDataError(
                "Hyperband optimizes one objective", hint="use Random or Bayesian for several"
            )
        if self.multi_objective and self.early_stopping_type == "Auto":
            raise InputDataError(
                "early stopping needs a single objective", hint="set early_stopping_type='Off'"
            )

    def _validate_trials(self) -> None:
        """Check the template and each range's extreme values against the algorithm."""
        from sagebox.training.spec import TrainingSpec

        template = TrainingSpec.from_parameters(self.training)
        template.validate()
        if template.algorithm is None:
            return
        base = self.static_hyperparameters
        for name, rng in self.ranges.items():
            for bound in rng.bounds():
                trial = TrainingSpec.from_parameters(
                    {**self.training, "hyperparameters": {**base, name: bound}}
                )
                trial.validate()

    def trial_hyperparameters(self, tuned: dict[str, Any]) -> dict[str, Any]:
        """The hyperparameters of a trial: the static ones with the tuned values over them."""
        return {**self.static_hyperparameters, **tuned}


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a fixed order."""
    names = sorted(grid)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(grid[n] for n in names))
    ]
