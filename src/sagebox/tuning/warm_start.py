"""Warm start: seed a tuning job's study with the trials of up to 5 finished parent jobs.

SageMaker's two warm-start types and its rules, checked by :func:`check_parents` before
anything starts (each a one-line error naming the parent and the difference):

- 1 to 5 parents, each an existing **tuning** job that has **finished** (Completed, Stopped
  or Failed: SageMaker's terminal states); a pending or running parent is refused;
- the same objective(s): metric name and type;
- the same hyperparameters: the tuned plus static names are the same set (a hyperparameter
  may move between tuned and static, as SageMaker allows), and a hyperparameter tuned in both
  has the same range kind (Continuous, Integer or Categorical); bounds and values may differ;
- ``IdenticalDataAndAlgorithm``: the same algorithm (built-in name, or script entry point) and
  the same value of every hyperparameter static in both; ``TransferLearning`` allows other
  data, other static values and another algorithm version.

:func:`seed_study` adds the parents' own COMPLETE trials (not their parents': warm start is not
recursive, as in SageMaker) to the new study with ``study.add_trial``, each marked with the
:data:`~sagebox.tuning._study.WARM_START_ATTR` user attribute, so that the sampler (TPE)
learns from them. A parent trial is skipped when a value of it lies outside the new ranges
(or is not one of a categorical range's values). Seeded trials are not training jobs of the
new job: they do not count toward ``max_jobs``, are not listed by its analytics and cannot be
its ``BestTrainingJob``; :func:`overall_best` compares its best with the parents' bests
(``OverallBestTrainingJob``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState, create_trial

from sagebox.backends.metadata.base import JobRecord
from sagebox.errors import InputDataError, NotFoundError
from sagebox.tuning._best import best_trial
from sagebox.tuning._study import (
    TRIAL_HPS_ATTR,
    TRIAL_JOB_ATTR,
    WARM_START_ATTR,
    load_study,
    own_trials,
)
from sagebox.tuning.constraints import parse_constraint
from sagebox.tuning.parameters import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ParameterRange,
)
from sagebox.tuning.spec import TuningSpec

if TYPE_CHECKING:
    import optuna

    from sagebox.session import Session

__all__ = ["MAX_PARENTS", "WARM_START_TYPES", "check_parents", "overall_best", "seed_study"]

WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")
#: SageMaker's limit on parent tuning jobs
MAX_PARENTS = 5


def _parents(spec: TuningSpec) -> tuple[str, list[str]]:
    """The warm-start type and parent names of ``spec`` (checked for shape)."""
    config = spec.warm_start or {}
    kind = str(config.get("type", ""))
    if kind not in WARM_START_TYPES:
        raise InputDataError(
            f"unknown warm start type {kind!r}", hint=f"use one of {', '.join(WARM_START_TYPES)}"
        )
    parents = [str(p) for p in config.get("parents") or []]
    if not parents:
        raise InputDataError(
            "warm start needs at least one parent tuning job",
            hint="WarmStartConfig(type, parents={'tuning-...'})",
        )
    if len(parents) > MAX_PARENTS:
        raise InputDataError(
            f"warm start takes at most {MAX_PARENTS} parent tuning jobs, got {len(parents)}",
            hint="keep the 5 parents whose trials matter most",
        )
    return kind, parents


def _parent_job(session: Session, name: str) -> JobRecord:
    try:
        job = session.metadata.get_job(name)
    except NotFoundError:
        raise NotFoundError(
            f"warm-start parent tuning job {name} does not exist",
            hint="list tuning jobs with: sagebox tune list",
        ) from None
    if job.kind != "tuning":
        raise InputDataError(
            f"warm-start parent {name} is a {job.kind} job, not a tuning job",
            hint="name a tuning job as parent (sagebox tune list)",
        )
    return job


def _algorithm(spec: TuningSpec) -> str:
    training = spec.training
    if training.get("entry_point"):
        return f"script:{training['entry_point']}"
    return str(training.get("algorithm") or "linear-text")


def _same(a: Any, b: Any) -> bool:
    """Whether two hyperparameter values are the same (as SageMaker's strings)."""
    return CategoricalParameter([a]).values == CategoricalParameter([b]).values


def check_parents(session: Session, spec: TuningSpec) -> None:
    """Check the warm-start parents of ``spec`` with SageMaker's rules.

    Raises:
        InputDataError: on a bad type, too many parents, a parent that is not a tuning job or
            has not finished, or a parent that differs in objective or hyperparameters.
        NotFoundError: if a parent does not exist.
    """
    kind, parents = _parents(spec)
    if len(set(parents)) != len(parents):
        raise InputDataError(f"warm-start parents repeat a job: {parents}", hint="list each once")
    child_names = set(spec.ranges) | set(spec.static_hyperparameters)
    for name in parents:
        job = _parent_job(session, name)
        if not job.status.is_terminal:
            raise InputDataError(
                f"warm-start parent {name} is {job.status.value}, not finished",
                hint=f"wait for it (sagebox tune describe {name}) or stop it first",
            )
        parent = TuningSpec.from_parameters(job.parameters)
        mine = [(o.metric_name, o.type) for o in spec.all_objectives]
        theirs = [(o.metric_name, o.type) for o in parent.all_objectives]
        if mine != theirs:
            raise InputDataError(
                f"warm-start parent {name} optimizes {_objectives(theirs)}, "
                f"this job {_objectives(mine)}",
                hint="warm start needs the same objective metric and type",
            )
        parent_names = set(parent.ranges) | set(parent.static_hyperparameters)
        if parent_names != child_names:
            extra = sorted(child_names - parent_names)
            missing = sorted(parent_names - child_names)
            diff = "; ".join(
                part
                for part in (
                    f"not in the parent: {', '.join(extra)}" if extra else "",
                    f"only in the parent: {', '.join(missing)}" if missing else "",
                )
                if part
            )
            raise InputDataError(
                f"warm-start parent {name} has other hyperparameters ({diff})",
                hint="keep the same hyperparameter names (tuned or static) as the parent",
            )
        for hp, rng in spec.ranges.items():
            other = parent.ranges.get(hp)
            if other is not None and other.kind != rng.kind:
                raise InputDataError(
                    f"warm-start parent {name} tunes {hp} as {other.kind}, this job as {rng.kind}",
                    hint="keep each hyperparameter's range type (bounds and values may change)",
                )
        if kind == "IdenticalDataAndAlgorithm":
            _check_identical(name, spec, parent)


def _check_identical(name: str, spec: TuningSpec, parent: TuningSpec) -> None:
    mine, theirs = _algorithm(spec), _algorithm(parent)
    if mine != theirs:
        raise InputDataError(
            f"warm-start parent {name} trained {theirs}, this job {mine}",
            hint="IdenticalDataAndAlgorithm needs the same algorithm; use TransferLearning",
        )
    ours, parents = spec.static_hyperparameters, parent.static_hyperparameters
    for hp in sorted(set(ours) & set(parents)):
        if not _same(ours[hp], parents[hp]):
            raise InputDataError(
                f"warm-start parent {name} has static {hp}={parents[hp]!r}, this job {ours[hp]!r}",
                hint="IdenticalDataAndAlgorithm keeps static hyperparameters; "
                "use TransferLearning to change them",
            )


def _objectives(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{m} ({t})" for m, t in pairs)


# -- seeding ---------------------------------------------------------------------------------


def _searched(rng: ParameterRange, value: Any) -> Any | None:
    """The searched value of hyperparameter ``value`` in ``rng``, or None when outside it."""
    if value is None:
        return None
    if isinstance(rng, CategoricalParameter):
        text = CategoricalParameter([value]).values[0]
        return text if text in rng.values else None
    assert isinstance(rng, ContinuousParameter | IntegerParameter)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    low, high = float(rng.min_value), float(rng.max_value)
    if not (math.isfinite(number) and low <= number <= high):
        return None
    if isinstance(rng, IntegerParameter):
        return int(number) if number == int(number) else None
    assert isinstance(rng, ContinuousParameter)
    return rng.searched(number)


def seed_study(session: Session, spec: TuningSpec, study: optuna.Study) -> int:
    """Add the parents' completed trials that fit the new ranges to ``study``; how many.

    Idempotent: a parent trial already seeded (after a restart) is not added again.

    Raises:
        NotFoundError: if a parent disappeared since the job was created.
    """
    _, parents = _parents(spec)
    done = {
        (t.user_attrs.get(WARM_START_ATTR), t.user_attrs.get(TRIAL_JOB_ATTR))
        for t in study.get_trials(deepcopy=False)
        if WARM_START_ATTR in t.user_attrs
    }
    distributions = {n: r.distribution() for n, r in spec.ranges.items()}
    constraints = [parse_constraint(c) for c in spec.constraints]
    seeded = 0
    for parent in parents:
        _parent_job(session, parent)
        parent_study = load_study(session, parent)
        if parent_study is None:
            continue
        for trial in own_trials(parent_study):
            job_name = trial.user_attrs.get(TRIAL_JOB_ATTR)
            if trial.state != TrialState.COMPLETE or (parent, job_name) in done:
                continue
            values = list(trial.values or [])
            if len(values) != len(spec.all_objectives) or not all(map(math.isfinite, values)):
                continue
            hps = trial.user_attrs.get(TRIAL_HPS_ATTR) or {}
            params = {n: _searched(r, hps.get(n)) for n, r in spec.ranges.items()}
            if any(v is None for v in params.values()):
                continue
            measured = {
                **_trial_metrics(session, job_name),
                **trial.user_attrs.get("measured_metrics", {}),
            }
            violations = {
                str(i): c.violation(measured[c.metric])
                for i, c in enumerate(constraints)
                if c.metric in measured
            }
            try:
                frozen = create_trial(
                    params=params,
                    distributions=distributions,
                    values=values,
                    user_attrs={
                        WARM_START_ATTR: parent,
                        TRIAL_JOB_ATTR: job_name,
                        TRIAL_HPS_ATTR: hps,
                    },
                    constraints=violations or None,
                )
            except ValueError:  # a value on the edge of a range that Optuna refuses
                continue
            study.add_trial(frozen)
            seeded += 1
    return seeded


def _trial_metrics(session: Session, job_name: str | None) -> dict[str, float]:
    if not job_name:
        return {}
    try:
        return dict(session.metadata.get_job(job_name).metrics)
    except NotFoundError:
        return {}


# -- OverallBestTrainingJob ------------------------------------------------------------------


def overall_best(session: Session, spec: TuningSpec, name: str) -> dict[str, Any] | None:
    """``OverallBestTrainingJob``: the best of this job's best and its parents' bests.

    The same shape as ``BestTrainingJob`` (a ``HyperParameterTrainingJobSummary``) with
    ``TuningJobName`` added; each job's best follows its own constraints; the objective (the
    first one) decides, ties go to this job. None for a multi-objective job or when no job
    has a best trial.
    """
    from sagebox.tuning._summary import training_job_summary

    if spec.multi_objective:
        return None
    objective = spec.objective
    best: tuple[float, dict[str, Any]] | None = None
    candidates = [name, *(spec.warm_start or {}).get("parents", [])]
    for job_name in candidates:
        try:
            job = session.metadata.get_job(job_name)
        except NotFoundError:
            continue
        study = load_study(session, job_name)
        if study is None:
            continue
        job_spec = TuningSpec.from_parameters(job.parameters)
        trial = best_trial(study, job_spec)
        if trial is None:
            continue
        value = trial.values[0]
        if best is None or objective.better(value, best[0]):
            summary = training_job_summary(session, job_spec, trial, job_name)
            summary["TuningJobName"] = job_name
            best = (value, summary)
    return None if best is None else best[1]
