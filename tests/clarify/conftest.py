"""Fixtures of the clarify tests: a small review table, a tiny packaged text model, a browser."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.browser import chrome_driver  # noqa: F401 - the shared browser fixture


@pytest.fixture(scope="session")
def reviews() -> pd.DataFrame:
    """600 synthetic reviews in the course's sentiment table."""
    from sagebox.datasets import generate_reviews, to_sentiment

    return to_sentiment(generate_reviews(600, seed=11))


@pytest.fixture(scope="session")
def text_model(reviews: pd.DataFrame):  # type: ignore[no-untyped-def]
    """A small linear-text classifier (word features only, for speed)."""
    from sagebox.algorithms.linear_text import LinearTextClassifier

    clf = LinearTextClassifier(char_ngrams=False, min_df=1, max_iter=300)
    return clf.fit(reviews["review_body"].tolist(), reviews["sentiment"].tolist())


@pytest.fixture(scope="session")
def model_tar(text_model, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """``text_model`` packaged as a model.tar.gz, as a training job would."""
    from sagebox.datasets import LABEL_NAMES
    from sagebox.models import build_manifest, pack_model_dir

    root = tmp_path_factory.mktemp("model")
    text_model.save(root / "model")
    labels = [int(c) for c in text_model.classes_]
    manifest = build_manifest("linear-text", labels, LABEL_NAMES, {})
    return pack_model_dir(root / "model", manifest, root / "model.tar.gz")
