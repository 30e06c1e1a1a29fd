"""Hyperparameter tuning: SageMaker's Automatic Model Tuning on sagebox training jobs.

:class:`HyperparameterTuner` starts a ``tuning`` job (:mod:`sagebox.tuning.job`) whose trials
are normal training jobs, searched with Optuna (Random, Bayesian, Grid, Hyperband), stopped
early by SageMaker's median rule or Hyperband's rungs, and readable as SageMaker's describe
dict and analytics table. See docs/tuning.md.

Example:
    >>> from sagebox.tuning import ContinuousParameter, HyperparameterTuner  # doctest: +SKIP
"""

from __future__ import annotations

from sagebox.tuning.analytics import TuningJobAnalytics, describe_tuning_job, trial_rows
from sagebox.tuning.parameters import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    ParameterRange,
    parse_range,
    parse_ranges,
)
from sagebox.tuning.spec import TuningSpec
from sagebox.tuning.tuner import HyperparameterTuner, WarmStartConfig, WarmStartTypes

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperparameterTuner",
    "IntegerParameter",
    "ParameterRange",
    "TuningJobAnalytics",
    "TuningSpec",
    "WarmStartConfig",
    "WarmStartTypes",
    "describe_tuning_job",
    "parse_range",
    "parse_ranges",
    "trial_rows",
]
