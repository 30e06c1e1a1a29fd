"""Model evaluation: metrics reports and the evaluation job."""

from __future__ import annotations

from sagebox.evaluation.metrics import classification_report

__all__ = ["classification_report"]
