"""Which trials are best: the feasible completed trial with the best objective, or the
Pareto front of the feasible completed trials when there are several objectives.

Only the study's own trials compete: trials seeded from a warm-start parent are no training
jobs of this tuning job (the parents' bests are compared in ``OverallBestTrainingJob``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState

from sagebox.tuning._study import own_trials
from sagebox.tuning.strategies import CONSTRAINTS_ATTR

if TYPE_CHECKING:
    import optuna

    from sagebox.tuning.spec import TuningSpec

__all__ = ["best_trial", "feasible", "pareto_front"]


def feasible(trial: FrozenTrial) -> bool:
    """Whether the trial completed and met every constraint."""
    return trial.state == TrialState.COMPLETE and all(
        v <= 0 for v in trial.user_attrs.get(CONSTRAINTS_ATTR, [])
    )


def _completed(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in own_trials(study) if feasible(t)]


def best_trial(study: optuna.Study, spec: TuningSpec) -> FrozenTrial | None:
    """The best feasible trial (ties: the earliest), or None; the first objective decides."""
    objective = spec.objective
    best: FrozenTrial | None = None
    for trial in _completed(study):
        value = trial.values[0]
        if best is None or objective.better(value, best.values[0]):
            best = trial
    return best


def pareto_front(study: optuna.Study, spec: TuningSpec) -> list[FrozenTrial]:
    """The feasible completed trials no other feasible trial dominates, by trial number."""
    objectives = spec.all_objectives
    trials = _completed(study)

    def dominates(a: FrozenTrial, b: FrozenTrial) -> bool:
        pairs = list(zip(a.values, b.values, objectives, strict=True))
        return all(not o.better(y, x) for x, y, o in pairs) and any(
            o.better(x, y) for x, y, o in pairs
        )

    return [t for t in trials if not any(dominates(o, t) for o in trials if o is not t)]
