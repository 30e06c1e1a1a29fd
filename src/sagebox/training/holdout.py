"""Train on one raw review file, evaluate on another (``sagebox evaluate``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["train_and_evaluate"]


def train_and_evaluate(
    train_path: Path,
    test_path: Path,
    algorithm: str = "linear-text",
    hyperparameters: dict[str, Any] | None = None,
    validation_fraction: float = 0.1,
    seed: int = 0,
    include_title: bool = False,
    on_step: Callable[[str], Any] = lambda step: None,
) -> dict[str, Any]:
    """Fit ``algorithm`` on ``train_path`` (minus a validation hold-out), score ``test_path``.

    Both files are in the raw review format; the course transformation is applied to each
    (with ``include_title``, each review's title is put before its text, in both files).
    The test file is never used for fitting or tuning.

    Returns:
        The test classification report plus ``train_rows``, ``test_file`` and, when a
        hold-out was taken, ``validation`` (its report).
    """
    from sagebox.datasets import read_raw_reviews, split_dataset, to_sentiment
    from sagebox.training.fit import evaluate_classifier, fit_text_classifier

    on_step("reading data")
    train_all = to_sentiment(read_raw_reviews(train_path), include_title=include_title)
    test = to_sentiment(read_raw_reviews(test_path), include_title=include_title)
    validation = None
    if validation_fraction > 0:
        train_part, validation, _ = split_dataset(
            train_all,
            train=1 - validation_fraction,
            validation=validation_fraction,
            test=0.0,
            seed=seed,
        )
    else:
        train_part = train_all
    on_step(f"training {algorithm}")
    from sagebox.algorithms import get_algorithm

    params = dict(hyperparameters or {})
    if "seed" in get_algorithm(algorithm).hyperparameter_types:
        params.setdefault("seed", seed)
    clf = fit_text_classifier(algorithm, params, train_part, validation)
    on_step("scoring")
    report = evaluate_classifier(clf, test)
    report["train_rows"] = len(train_part)
    report["test_file"] = str(test_path)
    report["algorithm"] = algorithm
    report["include_title"] = include_title
    if validation is not None and len(validation):
        report["validation"] = evaluate_classifier(clf, validation)
    on_step("done")
    return report
