"""Training: the Estimator (script mode and built-in algorithms) and the training job kind.

Example:
    >>> from sagebox.training import Estimator
    >>> est = Estimator(algorithm="blazingtext", hyperparameters={"epochs": 10})
    >>> est.fit({"train": "prepared/train.parquet", "validation": "prepared/validation.parquet"})
"""

from __future__ import annotations

from sagebox.training.estimator import Estimator, resume_training_job
from sagebox.training.fit import evaluate_classifier, fit_text_classifier
from sagebox.training.metrics import MetricDefinition
from sagebox.training.spec import TrainingSpec

__all__ = [
    "Estimator",
    "MetricDefinition",
    "TrainingSpec",
    "evaluate_classifier",
    "fit_text_classifier",
    "resume_training_job",
]
