"""The ensemble's members: copies of one algorithm (``<algorithm>@<k>``) and their seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagebox.algorithms import get_algorithm
from sagebox.algorithms.base import FitContext
from sagebox.algorithms.ensemble import EnsembleClassifier
from sagebox.errors import InputDataError
from sagebox.testing.algorithms import LABELS, TEXTS


def _ensemble(members: str, **extra: str) -> EnsembleClassifier:
    clf = get_algorithm("ensemble").from_hyperparameters({"members": members, "seed": "5", **extra})
    assert isinstance(clf, EnsembleClassifier)
    return clf


def test_copies_of_one_algorithm_get_their_own_seeds_and_hyperparameters(
    tmp_path: Path,
) -> None:
    clf = _ensemble(
        "blazingtext@1,blazingtext@2,linear-text",
        **{"blazingtext@1.epochs": "20", "blazingtext@2.epochs": "25", "linear-text.min_df": "1"},
    )
    params = clf.member_params or {}
    assert (params["blazingtext@1"]["seed"], params["blazingtext@2"]["seed"]) == (6, 7)
    assert (params["blazingtext@1"]["epochs"], params["blazingtext@2"]["epochs"]) == (20, 25)
    assert "seed" not in params["linear-text"] or params["linear-text"]["seed"] == 5

    clf.fit(TEXTS, LABELS, FitContext(validation=(TEXTS[:12], LABELS[:12])))
    assert [type(m).__name__ for m in clf.members_][:2] == ["BlazingTextClassifier"] * 2
    assert clf.members_[0].seed != clf.members_[1].seed
    proba = clf.predict_proba(TEXTS[:6])
    clf.save(tmp_path / "model")
    assert (tmp_path / "model" / "members" / "blazingtext@2").is_dir()
    loaded = EnsembleClassifier.load(tmp_path / "model")
    assert np.allclose(loaded.predict_proba(TEXTS[:6]), proba, atol=1e-6)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ("blazingtext,blazingtext", "distinct algorithms"),
        ("blazingtext@1,blazingtext@1", "distinct algorithms"),
        ("blazingtext@x,linear-text", "copy number"),
        ("blazingtext@0,linear-text", "copy number"),
        ("ensemble@1,linear-text", "other than ensemble"),
        ("nope@1,linear-text", "unknown algorithm 'nope'"),
    ],
)
def test_bad_member_lists_are_one_line_errors(members: str, message: str) -> None:
    from sagebox.errors import SageboxError

    with pytest.raises(SageboxError, match=message):
        _ensemble(members)


def test_a_hyperparameter_for_a_copy_that_is_not_a_member_is_rejected() -> None:
    with pytest.raises(InputDataError, match="not a member"):
        _ensemble("blazingtext@1,linear-text", **{"blazingtext@2.epochs": "3"})
