"""The algorithm conformance suite: scikit-learn's estimator checks, small, for any algorithm.

Each algorithm is built from string hyperparameters (as from the CLI or SM_HPS), must store them
unchanged, fit and return itself, predict probabilities over its ``classes_``, survive save/load
with identical predictions, be served from a model package, and reject unknown hyperparameters
naming the valid ones.

An algorithm author subclasses :class:`AlgorithmSuite` in a test file and provides an
``algorithm`` fixture: an unfitted instance, built with :meth:`TextClassifier.from_hyperparameters`
from hyperparameters that make it fit :data:`TEXTS` in seconds. The class must be registered
under its ``name`` (``sagebox.algorithms.algorithms.register``) to be served::

    import pytest
    from sagebox.algorithms import algorithms
    from sagebox.testing import AlgorithmSuite

    algorithms.register("my-algo", "my_package.algo:MyClassifier")

    class TestMyAlgorithm(AlgorithmSuite):
        @pytest.fixture()
        def algorithm(self):
            return MyClassifier.from_hyperparameters({"epochs": "3"})

Override the ``min_accuracy`` fixture (default 0.8, training accuracy on :data:`TEXTS`) to
demand more, or return None to skip that check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagebox.algorithms.base import FitContext, TextClassifier
from sagebox.errors import InputDataError
from sagebox.models import build_manifest, pack_model_dir, unpack_model
from sagebox.models.handler import model_fn, predict_fn

__all__ = ["LABELS", "TEXTS", "AlgorithmSuite"]

#: a tiny three-class review data set (labels -1, 0, 1) every algorithm must learn
TEXTS = [
    "love it, perfect fit and soft fabric",
    "great dress, love the color",
    "awful, ripped after one wash, returning",
    "terrible cheap material, disappointed",
    "it is ok, fine for the price",
    "okay, average fit, nothing special",
] * 6
#: the labels of :data:`TEXTS`
LABELS = [1, 1, -1, -1, 0, 0] * 6


class AlgorithmSuite:
    """Every check a text classifier passes; needs an ``algorithm`` fixture (an unfitted one)."""

    @pytest.fixture()
    def min_accuracy(self) -> float | None:
        """The least training accuracy on :data:`TEXTS` (None: not checked)."""
        return 0.8

    def test_contract(
        self, algorithm: TextClassifier, min_accuracy: float | None, tmp_path: Path
    ) -> None:
        clf = algorithm
        params = clf.get_params()
        assert not any(k.endswith("_") and hasattr(clf, k) for k in vars(clf)), "fitted before fit"
        validation = (TEXTS[:12], LABELS[:12])
        assert clf.fit(TEXTS, LABELS, FitContext(validation=validation)) is clf
        assert clf.get_params() == params, "fit must not change hyperparameters"
        assert sorted(clf.classes_.tolist()) == [-1, 0, 1]
        proba = clf.predict_proba(TEXTS[:6])
        assert proba.shape == (6, 3)
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert set(clf.predict(TEXTS[:6]).tolist()) <= {-1, 0, 1}
        if min_accuracy is not None:
            assert np.mean(clf.predict(TEXTS) == np.asarray(LABELS)) >= min_accuracy
        clf.save(tmp_path / "model")
        loaded = type(clf).load(tmp_path / "model")
        assert loaded.get_params() == params
        assert np.allclose(loaded.predict_proba(TEXTS[:6]), proba, atol=1e-5)

        manifest = build_manifest(clf.name, [-1, 0, 1], {-1: "neg", 0: "neu", 1: "pos"}, extra={})
        archive = pack_model_dir(tmp_path / "model", manifest, tmp_path / "model.tar.gz")
        served = predict_fn(TEXTS[:6], model_fn(unpack_model(archive, tmp_path / "served")))
        assert [p["label"] for p in served] == clf.predict(TEXTS[:6]).tolist()

    def test_unknown_hyperparameter_lists_the_valid_names(self, algorithm: TextClassifier) -> None:
        with pytest.raises(InputDataError, match="unknown hyperparameter.*bogus") as info:
            type(algorithm).from_hyperparameters({"bogus": "1"})
        assert all(k in (info.value.hint or "") for k in type(algorithm).hyperparameter_types)
