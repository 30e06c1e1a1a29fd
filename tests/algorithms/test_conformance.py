"""One contract, checked for every built-in algorithm (the suite of :mod:`sagebox.testing`).

Each algorithm is built from string hyperparameters (as from the CLI or SM_HPS), must store
them unchanged, fit and return itself, predict probabilities over its ``classes_``, survive
save/load with identical predictions, and reject unknown names and out-of-range values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagebox.algorithms import TextClassifier, algorithms, get_algorithm
from sagebox.errors import InputDataError
from sagebox.testing.algorithms import TEXTS, AlgorithmSuite


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


class TestBuiltInAlgorithms(AlgorithmSuite):
    """The shipped suite, on every registered algorithm."""

    @pytest.fixture(params=algorithms.names())
    def algorithm_name(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture()
    def algorithm(self, algorithm_name: str, tiny_encoder: Path) -> TextClassifier:
        return get_algorithm(algorithm_name).from_hyperparameters(
            tiny_hyperparameters(algorithm_name, tiny_encoder)
        )

    @pytest.fixture()
    def min_accuracy(self, algorithm_name: str) -> float | None:
        # the tiny random encoder learns too little to assert on
        return None if algorithm_name == "text-transformer" else 0.8


def test_registry_lists_every_built_in() -> None:
    assert set(algorithms.names()) >= {
        "linear-text",
        "blazingtext",
        "xgboost",
        "text-transformer",
        "ensemble",
    }


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
