"""Point-in-time joins: the same results as pandas.merge_asof, on every code path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sagebox.errors import InputDataError
from sagebox.features import FeatureGroup, FeatureStore
from sagebox.features.pit import merge_asof_reference, point_in_time_join, to_ns
from sagebox.session import Session
from tests.features.conftest import reviews_frame

JOIN = {"entity_id": "id", "entity_time": "t", "feature_id": "id", "feature_time": "t"}


def _random(seed: int, n_features: int, n_entities: int, ids: int, span: float) -> tuple:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        {
            "id": rng.integers(0, ids, n_features),
            "t": rng.integers(0, n_features // 2 + 2, n_features) * span,
            "write_time": rng.integers(0, 4, n_features),
            "is_deleted": rng.random(n_features) < 0.1,
            "x": rng.random(n_features),
            "k": rng.integers(0, 9, n_features),
        }
    )
    entities = pd.DataFrame(
        {
            "id": rng.integers(0, ids + 2, n_entities),
            "t": rng.integers(0, n_features // 2 + 2, n_entities) * span,
            "label": rng.integers(0, 3, n_entities),
        },
        index=rng.permutation(n_entities) + 100,
    )
    return features, entities


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("span", [1.0, 1e-9 * 7919])  # whole seconds; odd nanoseconds
def test_matches_merge_asof(seed: int, span: float) -> None:
    features, entities = _random(seed, 400, 150, 25, span)
    got = point_in_time_join(entities, features, columns=["x", "k"], **JOIN)
    want = merge_asof_reference(entities, features, columns=["x", "k"], **JOIN)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got.index.equals(entities.index)


def test_rank_path_for_times_that_do_not_pack() -> None:
    features, entities = _random(3, 300, 100, 20, 1.0)
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 2**60, len(features))  # no common step, 60 bits of range
    features["t"] = pd.to_datetime(wide, unit="ns", utc=True)
    entities["t"] = pd.to_datetime(rng.choice(wide, len(entities)) + 1, unit="ns", utc=True)
    got = point_in_time_join(entities, features, columns=["x"], **JOIN)
    want = merge_asof_reference(entities, features, columns=["x"], **JOIN)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_string_ids_and_iso_times() -> None:
    features, entities = _random(1, 200, 80, 15, 60.0)
    for frame in (features, entities):
        frame["id"] = "user-" + frame["id"].astype(str)
    want = merge_asof_reference(entities, features, columns=["x"], **JOIN)
    features["t"] = pd.to_datetime(features["t"], unit="s", utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    entities["t"] = pd.to_datetime(entities["t"], unit="s", utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    got = point_in_time_join(entities, features, columns=["x"], **JOIN)
    pd.testing.assert_frame_equal(got.drop(columns="t"), want.drop(columns="t"), check_dtype=False)


def test_semantics_on_a_small_example() -> None:
    features = pd.DataFrame(
        {
            "id": [1, 1, 1, 1, 2],
            "t": [10.0, 20.0, 20.0, 30.0, 10.0],
            "write_time": [1, 1, 2, 1, 1],
            "is_deleted": [False, False, False, True, False],
            "v": ["a", "b-old", "b-new", None, "z"],
        }
    )
    entities = pd.DataFrame({"id": [1, 1, 1, 1, 2, 3], "t": [5, 10, 25, 35, 10, np.nan]})
    got = point_in_time_join(entities, features, columns=["v"], **JOIN)["v"].tolist()
    assert pd.isna(got[0]) and got[1:3] == ["a", "b-new"]
    assert pd.isna(got[3]) and got[4] == "z" and pd.isna(got[5])


def test_bad_arguments_are_named() -> None:
    features, entities = _random(0, 20, 5, 3, 1.0)
    with pytest.raises(InputDataError, match="the entities have no column 'when'"):
        point_in_time_join(entities, features, **{**JOIN, "entity_time": "when"})
    with pytest.raises(InputDataError, match="unknown feature.*'nope'"):
        point_in_time_join(entities, features, columns=["nope"], **JOIN)
    with pytest.raises(InputDataError, match="'label' would replace entity column"):
        point_in_time_join(entities, features.assign(label=1), columns=["label"], **JOIN)
    with pytest.raises(InputDataError, match="cannot parse entity time 'noon'"):
        point_in_time_join(entities.assign(t="noon"), features, columns=["x"], **JOIN)
    assert to_ns(pd.Series([1.5])).tolist() == [1_500_000_000]


def test_training_set_from_feature_groups(session: Session) -> None:
    reviews = FeatureGroup("reviews", session=session)
    reviews.load_feature_definitions(reviews_frame())
    reviews.create("review_id", "date")
    reviews.ingest(reviews_frame(3))
    reviews.ingest(reviews_frame(3, date="2026-11-28T10:00:00Z").assign(sentiment=[9, 9, 9]))
    reviews.delete_record(3, "2026-11-28T12:00:00Z")
    products = FeatureGroup("products", session=session)
    products.load_feature_definitions(
        pd.DataFrame({"review_id": ["1"], "when": [1.0], "price": [9.5]})
    )
    products.create("review_id", "when", enable_online_store=False)
    products.ingest(
        pd.DataFrame({"review_id": ["1", "2"], "when": [0.0, 0.0], "price": [9.5, 3.0]})
    )
    entities = pd.DataFrame(
        {
            "review_id": [1, 2, 3, 3, 4],
            "date": [
                "2026-11-27T11:00:00Z",
                "2026-11-28T11:00:00Z",
                "2026-11-28T11:00:00Z",
                "2026-11-28T13:00:00Z",
                "2026-11-28T13:00:00Z",
            ],
        }
    )
    store = FeatureStore(session)
    rows = store.training_set(
        entities, ["reviews", products], features={"reviews": ["sentiment", "review_body"]}
    )
    assert rows.columns.tolist() == ["review_id", "date", "sentiment", "review_body", "price"]
    assert rows["review_id"].tolist() == [1, 2, 3, 3, 4]
    assert rows["sentiment"].tolist()[:3] == [-1, 9, 9]
    assert rows["sentiment"].isna().tolist()[3:] == [True, True]  # deleted; unknown
    assert rows["price"].tolist()[:2] == [9.5, 3.0]
    with pytest.raises(InputDataError, match="at least one feature group"):
        store.training_set(entities, [])
    with pytest.raises(InputDataError, match="has no feature 'nope'"):
        store.training_set(entities, ["reviews"], features={"reviews": ["nope"]})
