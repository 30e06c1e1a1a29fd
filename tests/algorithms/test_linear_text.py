from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagebox.algorithms import get_algorithm
from sagebox.algorithms.linear_text import LinearTextClassifier
from sagebox.errors import ConfigError, InputDataError
from tests.fixtures.tiny_reviews import LABELS, TEXTS


def test_contract_fit_returns_self_and_sets_fitted_attributes(tmp_path: Path) -> None:
    clf = LinearTextClassifier(C=2.0, min_df=1)
    assert clf.fit(TEXTS, LABELS) is clf
    assert clf.classes_.tolist() == [-1, 0, 1]
    proba = clf.predict_proba(["love it"])
    assert proba.shape == (1, 3) and np.isclose(proba.sum(), 1.0)
    assert clf.predict(["love it", "terrible"]).tolist() == [1, -1]
    clf.save(tmp_path / "m")
    loaded = LinearTextClassifier.load(tmp_path / "m")
    assert loaded.get_params() == clf.get_params()
    assert np.allclose(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_hyperparameters_from_strings_are_converted_and_validated() -> None:
    clf = LinearTextClassifier.from_hyperparameters(
        {"C": "0.5", "ngram_max": "3", "char_ngrams": "false"}
    )
    assert clf.get_params()["C"] == 0.5 and clf.ngram_max == 3 and clf.char_ngrams is False
    with pytest.raises(InputDataError, match="unknown hyperparameter.*bogus"):
        LinearTextClassifier.from_hyperparameters({"bogus": 1})
    with pytest.raises(InputDataError, match="ngram_max='two' is not a valid int"):
        LinearTextClassifier.from_hyperparameters({"ngram_max": "two"})


def test_one_class_is_rejected() -> None:
    with pytest.raises(InputDataError, match="fewer than two classes"):
        LinearTextClassifier(min_df=1).fit(["a", "b"], [1, 1])


def test_registry_by_name() -> None:
    assert get_algorithm("linear-text") is LinearTextClassifier
    with pytest.raises(ConfigError, match="unknown algorithm 'nope'"):
        get_algorithm("nope")


def test_fast_scorer_gives_the_same_probabilities() -> None:
    clf = LinearTextClassifier(C=2.0, min_df=1).fit(TEXTS, LABELS)
    scorer = clf.fast_scorer()
    assert scorer is not None
    np.testing.assert_allclose(scorer.predict_proba(TEXTS), clf.predict_proba(TEXTS), atol=1e-9)


def test_other_algorithms_have_no_fast_scorer_by_default() -> None:
    assert get_algorithm("xgboost")().fast_scorer() is None
