"""The :class:`HyperparameterTuner`: SageMaker's tuning API, run as a sagebox tuning job.

Example (the course's tuning lab):
    >>> tuner = HyperparameterTuner(
    ...     estimator=Estimator(algorithm="blazingtext", hyperparameters={"epochs": 10}),
    ...     objective_metric_name="validation:accuracy",
    ...     objective_type="Maximize",
    ...     hyperparameter_ranges={
    ...         "learning_rate": ContinuousParameter(0.05, 1.0, "Logarithmic"),
    ...         "word_ngrams": CategoricalParameter([1, 2]),
    ...     },
    ...     strategy="Random",
    ...     max_jobs=2,
    ...     max_parallel_jobs=2,
    ...     early_stopping_type="Auto",
    ... )  # doctest: +SKIP
    >>> tuner.fit({"train": "prepared/train.csv", "validation": "prepared/validation.csv"})
    >>> tuner.analytics().dataframe()
    >>> tuner.deploy(initial_instance_count=1, endpoint_name="reviews-best")
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TextIO

from sagebox.backends.metadata.base import JobRecord
from sagebox.errors import InputDataError, JobError, NotFoundError
from sagebox.session import Session
from sagebox.tuning.analytics import TuningJobAnalytics, describe_tuning_job, get_tuning_job
from sagebox.tuning.parameters import ParameterRange
from sagebox.tuning.spec import MAX_NAME_LENGTH, Objective, TuningSpec

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import EndpointRecord
    from sagebox.training import Estimator

__all__ = ["HyperparameterTuner", "WarmStartConfig", "WarmStartTypes"]

_log = logging.getLogger(__name__)
#: SageMaker SDK arguments accepted and ignored (they name cloud resources)
_IGNORED = ("tags", "completion_criteria_config", "autotune", "hyperparameters_to_keep_static")


class WarmStartTypes:
    """SageMaker's warm-start types."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """Seed a tuning job with the trials of up to 5 finished parent tuning jobs.

    Args:
        warm_start_type: ``IdenticalDataAndAlgorithm`` or ``TransferLearning``.
        parents: names of the parent tuning jobs.
    """

    def __init__(self, warm_start_type: str, parents: set[str] | list[str]) -> None:
        self.type = str(getattr(warm_start_type, "value", warm_start_type))
        self.parents = sorted(set(parents))

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``warm_start`` value."""
        return {"type": self.type, "parents": list(self.parents)}


class HyperparameterTuner:
    """Searches an estimator's hyperparameters with training jobs as trials.

    Args:
        estimator: the :class:`~sagebox.training.Estimator` each trial runs (its
            hyperparameters are the static ones).
        objective_metric_name: a metric the trials emit (``validation:macro_f1`` for the
            built-ins, or one of ``metric_definitions``).
        hyperparameter_ranges: name → :class:`ContinuousParameter`,
            :class:`IntegerParameter` or :class:`CategoricalParameter`.
        metric_definitions: ``[{"Name", "Regex"}]`` added to the estimator's (script mode).
        strategy: ``Bayesian`` (default), ``Random``, ``Grid`` or ``Hyperband``.
        objective_type: ``Maximize`` (default) or ``Minimize``.
        max_jobs: trials in all (default 1; Grid: every combination).
        max_parallel_jobs: trials at once (default 1).
        max_runtime_in_seconds: time limit of the whole tuning job.
        base_tuning_job_name: prefix of the generated tuning job name.
        warm_start_config: a :class:`WarmStartConfig`.
        early_stopping_type: ``Off`` (default) or ``Auto``.
        random_seed: seed of the search.
        strategy_config: ``{"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 27}}``.
        constraints: beyond SageMaker: ``["bias:DPPL<=0.1", "latency_p50_ms<=20"]``; a trial
            that breaks one cannot be best.
        objectives: beyond SageMaker: ``[("validation:macro_f1", "Maximize"),
            ("model_size_bytes", "Minimize")]`` for a Pareto front (replaces the objective).
        session: the sagebox session (default: the estimator's).

    Raises:
        InputDataError: on a bad argument (checked again at :meth:`fit`).
    """

    def __init__(
        self,
        estimator: Estimator,
        objective_metric_name: str,
        hyperparameter_ranges: dict[str, ParameterRange],
        metric_definitions: list[dict[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: float | None = None,
        base_tuning_job_name: str | None = None,
        warm_start_config: WarmStartConfig | None = None,
        early_stopping_type: str = "Off",
        random_seed: int | None = None,
        strategy_config: dict[str, Any] | None = None,
        constraints: list[str] | None = None,
        objectives: list[tuple[str, str]] | None = None,
        session: Session | None = None,
        **sagemaker_only: Any,
    ) -> None:
        unknown = sorted(set(sagemaker_only) - set(_IGNORED))
        if unknown:
            raise InputDataError(
                f"HyperparameterTuner got unexpected argument(s): {', '.join(unknown)}",
                hint="see docs/tuning.md for the supported arguments",
            )
        for name in sagemaker_only:
            _log.debug("HyperparameterTuner: %s is accepted and ignored locally", name)
        self.estimator = estimator
        self.session = session or estimator.session
        self.base_tuning_job_name = base_tuning_job_name
        hyperband = (strategy_config or {}).get("HyperbandStrategyConfig", {})
        training = estimator.spec.to_parameters()
        if metric_definitions:
            training["metric_definitions"] = [
                *training.get("metric_definitions", []),
                *metric_definitions,
            ]
        if strategy != "Grid" and max_jobs is None:
            max_jobs = 1  # the SDK's default for every strategy but Grid
        self.spec = TuningSpec(
            training=training,
            objective_metric_name=objective_metric_name,
            objective_type=objective_type,
            ranges=dict(hyperparameter_ranges),
            strategy=strategy,
            max_jobs=max_jobs,
            max_parallel_jobs=max_parallel_jobs,
            max_runtime_in_seconds=max_runtime_in_seconds,
            early_stopping_type=early_stopping_type,
            random_seed=random_seed,
            min_resource=hyperband.get("MinResource"),
            max_resource=hyperband.get("MaxResource"),
            trial_max_run=estimator.max_run,
            trial_max_retries=estimator.max_retries,
            warm_start=None if warm_start_config is None else warm_start_config.to_dict(),
            constraints=list(constraints or []),
            objectives=[Objective(m, t) for m, t in objectives or []],
        )
        if self.spec.objectives:
            self.spec.objective_metric_name = self.spec.objectives[0].metric_name
            self.spec.objective_type = self.spec.objectives[0].type
        self.spec.validate()
        self.latest_tuning_job: str | None = None

    @classmethod
    def attach(cls, tuning_job_name: str, session: Session | None = None) -> HyperparameterTuner:
        """A tuner for an existing tuning job (to wait on, read or deploy it)."""
        from sagebox.training import Estimator

        session = session or Session()
        job = get_tuning_job(session, tuning_job_name)
        tuner = cls.__new__(cls)
        tuner.spec = TuningSpec.from_parameters(job.parameters)
        tuner.session = session
        tuner.base_tuning_job_name = None
        tuner.estimator = Estimator.__new__(Estimator)
        tuner.latest_tuning_job = tuning_job_name
        return tuner

    # -- running -------------------------------------------------------------------------------

    def fit(
        self,
        inputs: str | dict[str, str] | None = None,
        job_name: str | None = None,
        wait: bool = True,
        logs: bool = False,
        max_retries: int = 2,
        **sagemaker_only: Any,
    ) -> JobRecord:
        """Start the tuning job on ``inputs`` (channel → lake key or URI, as for ``fit``).

        Everything is checked before anything starts. The tuning job runs on the compute
        backend and survives this process; it is restarted up to ``max_retries`` times when
        its process is killed and continues from the trials recorded. With ``wait``, block
        until it ends (``logs``: stream its log).

        Raises:
            InputDataError: on a bad argument or input, or a bad warm-start parent.
            JobError: if the tuning job (waited on) ends Failed or Stopped.
        """
        from sagebox.jobs.client import JobClient, new_job_name
        from sagebox.names import check_resource_name

        self.spec.validate()
        if self.spec.warm_start:
            from sagebox.tuning.warm_start import check_parents

            check_parents(self.session, self.spec)
        if job_name:
            check_resource_name("tuning job", job_name)
            if len(job_name) > MAX_NAME_LENGTH:
                raise InputDataError(
                    f"tuning job name {job_name!r} is longer than {MAX_NAME_LENGTH} characters",
                    hint="its trials are named <name>-NNN; choose a shorter name",
                )
            name = job_name
        else:
            # new_job_name adds 20 characters; trials add 4 more
            prefix = (self.base_tuning_job_name or "tuning")[: MAX_NAME_LENGTH - 21]
            name = new_job_name(prefix)
        training, channels = self.estimator.prepare_job(name, inputs)
        spec = TuningSpec.from_parameters(self.spec.to_parameters())
        if training.source_uri:  # script mode: the source every trial unpacks
            spec.training = {**spec.training, "source_uri": training.source_uri}
        job = JobClient(self.session).submit(
            "tuning",
            parameters=spec.to_parameters(),
            inputs=channels,
            name=name,
            max_retries=max_retries,
        )
        self.latest_tuning_job = job.name
        return self.wait(logs=logs) if wait else job

    def wait(self, logs: bool = False, out: TextIO | None = None) -> JobRecord:
        """Wait for the latest tuning job; raise unless it completed."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).wait_completed(self._require_job(), follow=logs, out=out)

    def stop(self) -> JobRecord:
        """Stop the tuning job and its running trials."""
        from sagebox.jobs.client import JobClient

        return JobClient(self.session).stop(self._require_job())

    # -- reading -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """SageMaker's ``DescribeHyperParameterTuningJob`` dict for the latest tuning job."""
        from sagebox.jobs.client import JobClient

        JobClient(self.session).describe(self._require_job())  # notices a lost runner first
        return describe_tuning_job(self.session, self._require_job())

    def best_training_job(self) -> str:
        """The name of the best trial's training job.

        Raises:
            JobError: if no trial has completed with a (feasible) objective yet.
        """
        best = self.describe().get("BestTrainingJob")
        if best is None:
            raise JobError(
                f"tuning job {self._require_job()} has no best training job yet",
                hint="wait for a trial to complete (tuner.wait()) and check the trials' logs",
            )
        return str(best["TrainingJobName"])

    def best_estimator(self) -> Estimator:
        """An estimator attached to the best training job."""
        from sagebox.training import Estimator

        return Estimator.attach(self.best_training_job(), session=self.session)

    def pareto_front(self) -> list[dict[str, Any]]:
        """The Pareto-optimal trials of a multi-objective tuning job."""
        return list(self.describe().get("ParetoFrontTrainingJobs", []))

    def analytics(self) -> TuningJobAnalytics:
        """The trials as a table: ``analytics().dataframe()``."""
        return TuningJobAnalytics(self._require_job(), session=self.session)

    # -- deploying ------------------------------------------------------------------------------

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "local",
        endpoint_name: str | None = None,
        model_name: str | None = None,
        port: int = 8080,
        wait: bool = True,
        **sagemaker_only: Any,
    ) -> EndpointRecord:
        """Register the best trial's model and serve it as an endpoint, in one call.

        Raises:
            JobError: if there is no best training job.
            AlreadyExistsError / PortInUseError: as :meth:`EndpointClient.create`.
        """
        from sagebox.models import ModelClient
        from sagebox.serving import EndpointClient

        best = self.best_training_job()
        model_name = model_name or best
        models = ModelClient(self.session)
        try:
            models.get(model_name)
        except NotFoundError:
            models.create(model_name, training_job=best)
        return EndpointClient(self.session).create(
            endpoint_name or best,
            model_name=model_name,
            port=port,
            instance_count=initial_instance_count,
            wait=wait,
        )

    def _require_job(self) -> str:
        if self.latest_tuning_job is None:
            raise InputDataError("this tuner has not started a tuning job", hint="call fit()")
        return self.latest_tuning_job
