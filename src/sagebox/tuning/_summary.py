"""One trial's training job and SageMaker's ``HyperParameterTrainingJobSummary`` of it
(shared by :mod:`sagebox.tuning.analytics` and :mod:`sagebox.tuning.warm_start`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagebox.errors import NotFoundError
from sagebox.tuning._study import TRIAL_HPS_ATTR, TRIAL_JOB_ATTR, trial_job_name

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session
    from sagebox.tuning.spec import TuningSpec

__all__ = ["training_job_summary", "trial_job"]


def trial_job(
    session: Session, trial: FrozenTrial, tuning: str, offset: int = 0
) -> JobRecord | None:
    """The training job record of ``trial`` (None when it was never submitted)."""
    name = trial.user_attrs.get(TRIAL_JOB_ATTR) or trial_job_name(tuning, trial.number - offset)
    try:
        return session.metadata.get_job(name)
    except NotFoundError:
        return None


def training_job_summary(
    session: Session, spec: TuningSpec, trial: FrozenTrial, tuning: str
) -> dict[str, Any]:
    """SageMaker's ``HyperParameterTrainingJobSummary`` of a completed trial."""
    record = trial_job(session, trial, tuning)
    hps = trial.user_attrs.get(TRIAL_HPS_ATTR) or {}
    summary: dict[str, Any] = {
        "TrainingJobName": None if record is None else record.name,
        "TrainingJobStatus": None if record is None else record.status.value,
        "TunedHyperParameters": {n: str(hps.get(n)) for n in spec.ranges},
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": spec.objective.metric_name,
            "Value": trial.values[0],
        },
        "ObjectiveStatus": "Succeeded",
    }
    if record is not None:
        summary.update(
            CreationTime=record.created_at,
            TrainingStartTime=record.started_at,
            TrainingEndTime=record.ended_at,
        )
        if spec.multi_objective:
            summary["FinalObjectiveValues"] = {
                o.metric_name: v for o, v in zip(spec.all_objectives, trial.values, strict=True)
            }
    return summary
