"""Reading a tuning job: SageMaker's ``DescribeHyperParameterTuningJob`` shape and the trials.

:func:`describe_tuning_job` returns the dict SageMaker's API returns (status, config, the
training job status and objective status counters, the best training job, the Pareto front of
a multi-objective job, the warm-start parents' overall best); :func:`trial_rows` one dict per
trial, which :class:`TuningJobAnalytics` turns into the SDK's ``dataframe()`` (the tuned
hyperparameters, ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``,
``TrainingStartTime``, ``TrainingEndTime``, ``TrainingElapsedTimeSeconds``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.errors import InputDataError
from sagebox.session import Session
from sagebox.tuning._best import best_trial, feasible, pareto_front
from sagebox.tuning._study import TRIAL_HPS_ATTR, load_study, own_trials
from sagebox.tuning._summary import training_job_summary
from sagebox.tuning._summary import trial_job as _trial_job
from sagebox.tuning.parameters import ranges_to_dict
from sagebox.tuning.spec import TuningSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TuningJobAnalytics",
    "describe_tuning_job",
    "get_tuning_job",
    "training_job_summary",
    "trial_rows",
]


def get_tuning_job(session: Session, name: str) -> JobRecord:
    """The record of tuning job ``name``.

    Raises:
        NotFoundError: if there is no such job.
        InputDataError: if ``name`` is another kind of job.
    """
    job = session.metadata.get_job(name)
    if job.kind != "tuning":
        raise InputDataError(
            f"job {name} is a {job.kind} job, not a tuning job",
            hint="list tuning jobs with: sagebox tune list",
        )
    return job


def trial_rows(session: Session, name: str) -> list[dict[str, Any]]:
    """One dict per trial, in trial order: hyperparameters, status, objective(s), times.

    Only the job's own trials (its training jobs), as SageMaker's analytics: trials seeded
    from warm-start parents are left out.
    """
    job = get_tuning_job(session, name)
    spec = TuningSpec.from_parameters(job.parameters)
    study = load_study(session, name)
    if study is None:
        return []
    rows = []
    trials = own_trials(study)
    offset = trials[0].number if trials else 0  # seeded trials come first
    for trial in trials:
        record = _trial_job(session, trial, name, offset)
        hps = trial.user_attrs.get(TRIAL_HPS_ATTR) or {}
        row: dict[str, Any] = {n: hps.get(n) for n in spec.ranges}
        row["TrainingJobName"] = None if record is None else record.name
        row["TrainingJobStatus"] = "Pending" if record is None else record.status.value
        row["TrialState"] = trial.state.name
        row["Feasible"] = feasible(trial) if spec.constraints else None
        if spec.multi_objective:
            for i, objective in enumerate(spec.all_objectives):
                row[objective.metric_name] = (
                    trial.values[i] if trial.state == TrialState.COMPLETE else None
                )
        value = trial.values[0] if trial.state == TrialState.COMPLETE else None
        if value is None and record is not None:
            value = record.metrics.get(spec.objective.metric_name)
        row["FinalObjectiveValue"] = value
        start = None if record is None else record.started_at
        end = None if record is None else record.ended_at
        row["TrainingStartTime"] = start
        row["TrainingEndTime"] = end
        row["TrainingElapsedTimeSeconds"] = (
            (end - start).total_seconds() if start is not None and end is not None else None
        )
        row["StopReason"] = trial.user_attrs.get("stop_reason")
        if spec.constraints:
            row["MeasuredMetrics"] = trial.user_attrs.get("measured_metrics")
        rows.append(row)
    return rows


def _counters(rows: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    jobs = {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for row in rows:
        status = row["TrainingJobStatus"]
        if status == JobStatus.COMPLETED.value:
            jobs["Completed"] += 1
        elif status == JobStatus.FAILED.value:
            jobs["NonRetryableError"] += 1
        elif status == JobStatus.STOPPED.value:
            jobs["Stopped"] += 1
        else:
            jobs["InProgress"] += 1
        state = row["TrialState"]
        if state == "COMPLETE":
            objectives["Succeeded"] += 1
        elif state in ("RUNNING", "WAITING"):
            objectives["Pending"] += 1
        else:
            objectives["Failed"] += 1
    return jobs, objectives


def describe_tuning_job(session: Session, name: str) -> dict[str, Any]:
    """SageMaker's ``DescribeHyperParameterTuningJob`` response for tuning job ``name``.

    Raises:
        NotFoundError: if there is no such job.
    """
    job = get_tuning_job(session, name)
    spec = TuningSpec.from_parameters(job.parameters)
    rows = trial_rows(session, name)
    job_counters, objective_counters = _counters(rows)
    config: dict[str, Any] = {
        "Strategy": spec.strategy,
        "HyperParameterTuningJobObjective": {
            "Type": spec.objective_type,
            "MetricName": spec.objective_metric_name,
        },
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": spec.trial_count(),
            "MaxParallelTrainingJobs": spec.max_parallel_jobs,
            **(
                {"MaxRuntimeInSeconds": spec.max_runtime_in_seconds}
                if spec.max_runtime_in_seconds
                else {}
            ),
        },
        "ParameterRanges": ranges_to_dict(spec.ranges),
        "TrainingJobEarlyStoppingType": spec.early_stopping_type,
    }
    if spec.random_seed is not None:
        config["RandomSeed"] = spec.random_seed
    if spec.strategy == "Hyperband":
        low, high = spec.resource_bounds()
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {"MinResource": low, "MaxResource": high}
        }
    if spec.multi_objective:
        config["Objectives"] = [
            {"MetricName": o.metric_name, "Type": o.type} for o in spec.all_objectives
        ]
    if spec.constraints:
        config["Constraints"] = list(spec.constraints)
    description: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobStatus": job.status.value,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": spec.training.get("algorithm")
                or f"script:{spec.training.get('entry_point')}",
            },
            "StaticHyperParameters": {k: str(v) for k, v in spec.static_hyperparameters.items()},
            "InputDataConfig": [
                {"ChannelName": c, "DataSource": {"S3Uri": uri}} for c, uri in job.inputs.items()
            ],
        },
        "TrainingJobStatusCounters": job_counters,
        "ObjectiveStatusCounters": objective_counters,
        "CreationTime": job.created_at,
        "HyperParameterTuningEndTime": job.ended_at,
    }
    if spec.warm_start:
        description["WarmStartConfig"] = {
            "WarmStartType": spec.warm_start.get("type"),
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p} for p in spec.warm_start.get("parents", [])
            ],
        }
    if job.failure_reason:
        description["FailureReason"] = job.failure_reason
    study = load_study(session, name)
    if study is not None:
        if spec.multi_objective:
            description["ParetoFrontTrainingJobs"] = [
                training_job_summary(session, spec, t, name) for t in pareto_front(study, spec)
            ]
        else:
            best = best_trial(study, spec)
            if best is not None:
                description["BestTrainingJob"] = training_job_summary(session, spec, best, name)
        if spec.warm_start:
            from sagebox.tuning.warm_start import overall_best

            overall = overall_best(session, spec, name)
            if overall is not None:
                description["OverallBestTrainingJob"] = overall
    return description


class TuningJobAnalytics:
    """The trials of a tuning job as a table (SageMaker's ``HyperparameterTuningJobAnalytics``).

    Example:
        >>> TuningJobAnalytics("tuning-20261207-...").dataframe()  # doctest: +SKIP
    """

    def __init__(self, tuning_job_name: str, session: Session | None = None) -> None:
        self.name = tuning_job_name
        self.session = session or Session()

    def dataframe(self, force_refresh: bool = True) -> pd.DataFrame:
        """One row per trial: tuned hyperparameters, job name, status, objective, times."""
        import pandas as pd

        return pd.DataFrame(trial_rows(self.session, self.name))

    def description(self, force_refresh: bool = True) -> dict[str, Any]:
        """The tuning job's :func:`describe_tuning_job` dict."""
        return describe_tuning_job(self.session, self.name)
