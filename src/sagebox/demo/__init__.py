"""The end-to-end walkthrough behind ``sagebox demo``.

:func:`run_demo` runs the lifecycle (lake, crawler, processing, training, evaluation, model
registry, endpoint; with ``tune_trials`` a tuning job picks the model) and, with
``deployment=True``, the deployment steps (A/B test, canary
rollback, autoscaling, batch transform).
"""

from __future__ import annotations

from sagebox.demo._deployment import DEPLOYMENT_STEPS
from sagebox.demo._walkthrough import (
    DEMO_DATABASE,
    DEMO_STEPS,
    FEATURE_STORE_STEPS,
    SAMPLE_REVIEWS,
    DemoResult,
    demo_steps,
    run_demo,
    tuning_ranges,
)

__all__ = [
    "DEMO_DATABASE",
    "DEMO_STEPS",
    "DEPLOYMENT_STEPS",
    "FEATURE_STORE_STEPS",
    "SAMPLE_REVIEWS",
    "DemoResult",
    "demo_steps",
    "run_demo",
    "tuning_ranges",
]
