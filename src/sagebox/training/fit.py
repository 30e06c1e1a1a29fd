"""Fit and evaluate a built-in text classifier on prepared review frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagebox.algorithms import TextClassifier, get_algorithm
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["evaluate_classifier", "fit_text_classifier"]


def fit_text_classifier(
    algorithm: str,
    hyperparameters: dict[str, Any],
    train: pd.DataFrame,
    validation: pd.DataFrame | None = None,
) -> TextClassifier:
    """Build ``algorithm`` from ``hyperparameters`` and fit it on ``train``'s text and labels.

    ``validation`` (optional) is given to the algorithm for per-epoch validation metrics,
    early stopping or ensemble weights; it is never trained on.

    Raises:
        InputDataError: if a frame lacks the text/label columns or is empty.
        ConfigError: if the algorithm is unknown.
    """
    from sagebox.algorithms.base import FitContext
    from sagebox.datasets import LABEL_COLUMN, TEXT_COLUMN

    _check_frame(train, "training")
    context = FitContext()
    if validation is not None and len(validation):
        _check_frame(validation, "validation")
        context.validation = (
            validation[TEXT_COLUMN].astype(str).tolist(),
            validation[LABEL_COLUMN].astype(int).tolist(),
        )
    clf = get_algorithm(algorithm).from_hyperparameters(hyperparameters)
    return clf.fit(
        train[TEXT_COLUMN].astype(str).tolist(),
        train[LABEL_COLUMN].astype(int).tolist(),
        context,
    )


def evaluate_classifier(clf: TextClassifier, data: pd.DataFrame) -> dict[str, Any]:
    """The classification report of ``clf`` on ``data`` (see ``classification_report``)."""
    from sagebox.datasets import LABEL_COLUMN, LABELS, TEXT_COLUMN
    from sagebox.evaluation import classification_report

    _check_frame(data, "evaluation")
    predicted = clf.predict(data[TEXT_COLUMN].astype(str).tolist())
    return classification_report(
        data[LABEL_COLUMN].astype(int).tolist(), predicted.tolist(), labels=list(LABELS)
    )


def _check_frame(frame: pd.DataFrame, role: str) -> None:
    from sagebox.datasets import LABEL_COLUMN, TEXT_COLUMN

    missing = [c for c in (TEXT_COLUMN, LABEL_COLUMN) if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"the {role} data lacks column(s) {', '.join(missing)}",
            hint="prepare it with the review transformation (sentiment, review_body)",
        )
    if frame.empty:
        raise InputDataError(f"the {role} data is empty", hint="give it at least one review")
