"""The search strategies: SageMaker's four names on Optuna's samplers and pruners.

- ``Random``: :class:`optuna.samplers.RandomSampler`;
- ``Bayesian``: :class:`optuna.samplers.TPESampler` (multivariate; random start-up trials
  1 in 10 of ``max_jobs``, at least 2 and at most 10, so a 30-trial study models from its 4th
  trial on; the constant liar while trials run in parallel; MOTPE with several objectives);
- ``Grid``: :class:`optuna.samplers.GridSampler` over the categorical ranges, each
  combination once;
- ``Hyperband``: random sampling with :class:`optuna.pruners.HyperbandPruner`: asynchronous
  successive halving over the epochs resource, a trial's objective at each epoch compared with
  its bracket's rung (stopping-based, as SageMaker's Hyperband stops trials rather than
  restarting them).

``early_stopping_type="Auto"`` adds :class:`MedianRunningAveragePruner`, SageMaker's
documented rule. All samplers take the spec's ``random_seed``.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from optuna.pruners import BasePruner, HyperbandPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from optuna.study import Study

    from sagebox.tuning.spec import TuningSpec

__all__ = [
    "CONSTRAINTS_ATTR",
    "MedianRunningAveragePruner",
    "make_pruner",
    "make_sampler",
]

#: the trial user attribute holding its constraint violations (<= 0: met)
CONSTRAINTS_ATTR = "constraint_violations"


class MedianRunningAveragePruner(BasePruner):
    """SageMaker's early-stopping rule for ``early_stopping_type="Auto"``.

    At each epoch a trial reports, its objective is compared with the median of the running
    averages of the objective of the earlier trials (completed or stopped) up to that epoch;
    a trial worse than that median is stopped (one equal to it is not). With fewer than
    ``min_earlier_trials`` earlier trials that reached a value by that epoch, nothing is
    stopped. An epoch is the n-th time a trial emitted the objective metric (see
    :mod:`sagebox.tuning.job`).

    Args:
        min_earlier_trials: earlier trials needed before the rule applies.
    """

    def __init__(self, min_earlier_trials: int = 1) -> None:
        self.min_earlier_trials = min_earlier_trials

    def median_at(self, study: Study, step: int, exclude: int | None = None) -> float | None:
        """The median of earlier trials' running averages up to ``step`` (None if too few)."""
        averages = []
        for other in study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
        ):
            if other.number == exclude:
                continue
            values = [
                v for s, v in other.intermediate_values.items() if s <= step and math.isfinite(v)
            ]
            if values:
                averages.append(math.fsum(values) / len(values))
        if len(averages) < self.min_earlier_trials:
            return None
        return statistics.median(averages)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        value = trial.intermediate_values[step]
        median = self.median_at(study, step, exclude=trial.number)
        if median is None or not math.isfinite(value):
            return False
        # a value equal to the median (up to rounding of the averages) is not worse
        tolerance = 1e-9 * max(1.0, abs(median))
        if study.direction == StudyDirection.MAXIMIZE:
            return value < median - tolerance
        return value > median + tolerance


class _AskTellGridSampler(GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` after the last grid point.

    That call only works inside ``study.optimize``; the tuner asks and tells, and ends after
    ``trial_count()`` trials (the number of combinations) by itself.
    """

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        return None


class _FullyTrainedKept(BasePruner):
    """Hyperband's pruner, except that a trial that reached ``max_resource`` is never stopped.

    The last epoch is a rung of every bracket; a trial whose last value arrives while its job
    is still finishing has done all its work, and stopping it would only throw that away.
    """

    def __init__(self, inner: BasePruner, max_resource: int) -> None:
        self.inner = inner
        self.max_resource = max_resource

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is not None and step >= self.max_resource:
            return False
        return self.inner.prune(study, trial)


def _constraints(trial: FrozenTrial) -> list[float]:
    return list(trial.user_attrs.get(CONSTRAINTS_ATTR, [0.0]))


def make_sampler(spec: TuningSpec) -> BaseSampler:
    """The sampler of ``spec.strategy``, seeded with ``spec.random_seed``."""
    seed = spec.random_seed
    constrained: dict[str, Any] = {"constraints_func": _constraints} if spec.constraints else {}
    if spec.strategy == "Grid":
        return _AskTellGridSampler(spec.grid(), seed=seed)
    if spec.strategy == "Bayesian":
        trials = spec.trial_count()
        return TPESampler(
            seed=seed,
            multivariate=True,
            group=False,
            n_startup_trials=max(2, min(10, trials // 10)),
            constant_liar=spec.max_parallel_jobs > 1,
            **constrained,
        )
    return RandomSampler(seed=seed)


def make_pruner(spec: TuningSpec) -> BasePruner:
    """The pruner: Hyperband's, SageMaker's median rule (``Auto``) or none."""
    if spec.strategy == "Hyperband":
        low, high = spec.resource_bounds()
        hyperband = HyperbandPruner(min_resource=low, max_resource=high, reduction_factor=3)
        return _FullyTrainedKept(hyperband, high)
    if spec.early_stopping_type == "Auto":
        return MedianRunningAveragePruner()
    return NopPruner()
