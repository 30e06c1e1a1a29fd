"""Open a tuning job's Optuna study (named after the job) in the study storage."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal, cast

import optuna

from sagebox.backends.metadata.studies import open_study_storage
from sagebox.tuning.strategies import make_pruner, make_sampler

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from sagebox.session import Session
    from sagebox.tuning.spec import TuningSpec

__all__ = [
    "TRIAL_HPS_ATTR",
    "TRIAL_JOB_ATTR",
    "WARM_START_ATTR",
    "create_study",
    "load_study",
    "own_trials",
    "trial_job_name",
]

#: the trial user attribute naming its training job
TRIAL_JOB_ATTR = "training_job_name"
#: the trial user attribute holding its full hyperparameters (static and tuned)
TRIAL_HPS_ATTR = "hyperparameters"
#: the user attribute of a trial seeded from a warm-start parent: the parent's name (such a
#: trial is no training job of this tuning job: not counted, listed or best)
WARM_START_ATTR = "warm_start_parent"


def trial_job_name(tuning_job: str, number: int) -> str:
    """The training job of trial ``number`` (0-based): ``<tuning job>-001`` for the first."""
    return f"{tuning_job}-{number + 1:03d}"


def own_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's own trials, in order (not those seeded from a warm-start parent)."""
    return [t for t in study.get_trials(deepcopy=False) if WARM_START_ATTR not in t.user_attrs]


def create_study(session: Session, name: str, spec: TuningSpec) -> optuna.Study:
    """Create (or, after a restart, reopen) the study of tuning job ``name``.

    A reopened study's sampler is seeded with ``random_seed + trials so far``, so that a
    resumed Random or Bayesian search does not repeat the suggestions it already made.
    """
    storage = open_study_storage(session.settings.metadata_uri)
    existing = 0
    with contextlib.suppress(KeyError):  # no such study yet
        existing = len(optuna.load_study(study_name=name, storage=storage).trials)
    if existing and spec.random_seed is not None:
        spec = type(spec).from_parameters(
            {**spec.to_parameters(), "random_seed": spec.random_seed + existing}
        )
    return optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        directions=[
            cast(Literal["minimize", "maximize"], o.direction) for o in spec.all_objectives
        ],
        load_if_exists=True,
    )


def load_study(session: Session, name: str) -> optuna.Study | None:
    """The study of tuning job ``name`` for reading (None before its first trial started)."""
    storage = open_study_storage(session.settings.metadata_uri)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None
