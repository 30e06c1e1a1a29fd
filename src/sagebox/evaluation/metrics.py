"""Classification metrics in one JSON-ready report (the content of ``evaluation.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["classification_report"]


def classification_report(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int] = (-1, 0, 1)
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        y_true: true labels.
        y_pred: predicted labels.
        labels: the label order for per-class figures and the matrix rows/columns.

    Returns:
        ``{"accuracy", "macro_f1", "per_class": {label: {...}}, "confusion_matrix":
        {"labels": [...], "matrix": [[...]]}, "support"}``; matrix rows are true labels.

    Example:
        >>> classification_report([1, 0, -1], [1, 0, 0])["accuracy"]
        0.6666666666666666
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    true = np.asarray(y_true)
    pred = np.asarray(y_pred)
    label_list = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=label_list, zero_division=0
    )
    matrix = confusion_matrix(true, pred, labels=label_list)
    return {
        "accuracy": float(np.mean(true == pred)) if len(true) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "support": int(len(true)),
        "per_class": {
            str(label): {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(label_list, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {"labels": label_list, "matrix": matrix.tolist()},
    }
