"""One contract, checked for every built-in algorithm (scikit-learn's estimator checks, small).

Each algorithm is built from string hyperparameters (as from the CLI or SM_HPS), must store
them unchanged, fit and return itself, predict probabilities over its ``classes_``, survive
save/load with identical predictions, and reject unknown names and out-of-range values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sagebox.algorithms import algorithms, get_algorithm
from sagebox.algorithms.base import FitContext
from sagebox.errors import InputDataError

TEXTS = [
    "love it, perfect fit and soft fabric",
    "great dress, love the color",
    "awful, ripped after one wash, returning",
    "terrible cheap material, disappointed",
    "it is ok, fine for the price",
    "okay, average fit, nothing special",
] * 6
LABELS = [1, 1, -1, -1, 0, 0] * 6


def tiny_hyperparameters(name: str, encoder: Path) -> dict[str, Any]:
    """String hyperparameters that make each algorithm fit in about a second."""
    transformer = {
        "model_name_or_path": str(encoder),
        "max_seq_length": "32",
        "epochs": "2",
        "train_batch_size": "8",
        "learning_rate": "0.003",
        "num_threads": "1",
    }
    return {
        "linear-text": {"min_df": "1", "C": "2"},
        "blazingtext": {"epochs": "25", "learning_rate": "0.5", "vector_dim": "16"},
        "xgboost": {"num_round": "30", "svd_components": "4", "max_depth": "3"},
        "text-transformer": transformer,
        "ensemble": {
            "members": "linear-text,blazingtext",
            "linear-text.min_df": "1",
            "blazingtext.epochs": "25",
            "blazingtext.vector_dim": "16",
        },
    }[name]


@pytest.fixture(params=algorithms.names())
def built(request: pytest.FixtureRequest, tiny_encoder: Path) -> Any:
    name = request.param
    return name, get_algorithm(name).from_hyperparameters(tiny_hyperparameters(name, tiny_encoder))


def test_registry_lists_every_built_in() -> None:
    assert set(algorithms.names()) >= {
        "linear-text",
        "blazingtext",
        "xgboost",
        "text-transformer",
        "ensemble",
    }


def test_contract(built: Any, tmp_path: Path) -> None:
    name, clf = built
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
    if name != "text-transformer":  # the tiny random encoder learns too little to assert on
        assert np.mean(clf.predict(TEXTS) == np.asarray(LABELS)) >= 0.8
    clf.save(tmp_path / "model")
    loaded = type(clf).load(tmp_path / "model")
    assert loaded.get_params() == params
    assert np.allclose(loaded.predict_proba(TEXTS[:6]), proba, atol=1e-5)

    from sagebox.models import build_manifest, pack_model_dir, unpack_model
    from sagebox.models.handler import model_fn, predict_fn

    manifest = build_manifest(name, [-1, 0, 1], {-1: "neg", 0: "neu", 1: "pos"}, extra={})
    archive = pack_model_dir(tmp_path / "model", manifest, tmp_path / "model.tar.gz")
    served = predict_fn(TEXTS[:6], model_fn(unpack_model(archive, tmp_path / "served")))
    assert [p["label"] for p in served] == clf.predict(TEXTS[:6]).tolist()


def test_unknown_hyperparameter_lists_the_valid_names(built: Any) -> None:
    name, clf = built
    with pytest.raises(InputDataError, match="unknown hyperparameter.*bogus") as info:
        type(clf).from_hyperparameters({"bogus": "1"})
    assert all(k in (info.value.hint or "") for k in type(clf).hyperparameter_types)


@pytest.mark.parametrize(
    ("name", "key", "value", "message"),
    [
        ("text-transformer", "learning_rate", "-0.001", "learning_rate=-0.001 is out of range"),
        ("text-transformer", "max_seq_length", "4", "must be in \\[8, 512\\]"),
        ("text-transformer", "dropout", "1.5", "dropout=1.5"),
        ("blazingtext", "learning_rate", "-1", "must be in \\(0, 10\\]"),
        ("blazingtext", "mode", "skipgram", "must be one of: supervised"),
        ("xgboost", "eta", "0", "eta=0.0 is out of range"),
        ("xgboost", "subsample", "1.5", "subsample=1.5"),
        ("linear-text", "C", "-2", "C=-2.0 is out of range"),
        ("ensemble", "weights", "1,-1", "weights='1,-1'"),
        ("ensemble", "members", "linear-text,nope", "unknown algorithm 'nope'"),
    ],
)
def test_out_of_range_values_are_rejected(name: str, key: str, value: str, message: str) -> None:
    from sagebox.errors import SageboxError

    with pytest.raises(SageboxError, match=message):
        get_algorithm(name).from_hyperparameters({key: value})


def test_labels_outside_the_declared_set_are_rejected_by_the_transformer(
    tiny_encoder: Path,
) -> None:
    clf = get_algorithm("text-transformer").from_hyperparameters(
        tiny_hyperparameters("text-transformer", tiny_encoder)
    )
    with pytest.raises(InputDataError, match="label\\(s\\) 2, 5 are outside the declared"):
        clf.fit(TEXTS[:4], [1, 2, 5, 0])
