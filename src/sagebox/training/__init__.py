"""Training: fitting built-in algorithms and the training job kind."""

from __future__ import annotations

from sagebox.training.fit import evaluate_classifier, fit_text_classifier

__all__ = ["evaluate_classifier", "fit_text_classifier"]
