"""The course transformation, class balancing and the train/validation/test split."""

from __future__ import annotations

import pandas as pd
import pytest

from sagebox.datasets import (
    balance_classes,
    generate_reviews,
    split_dataset,
    to_sentiment,
)
from sagebox.errors import InputDataError, SageboxError


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return to_sentiment(generate_reviews(3000, seed=4))


def test_to_sentiment_maps_ratings_and_drops_rows_without_text() -> None:
    raw = pd.DataFrame(
        {
            "review_id": [10, 11, 12, 13, 14, 15, 16, 17],
            "Review Text": ["a", "b", "c", "d", "e", None, "", "  \t"],
            "Rating": [1, 2, 3, 4, 5, 5, 1, 3],
            "Class Name": ["Knits", "Dresses", None, "Knits", "Swim", "Swim", "Knits", "Knits"],
        }
    )
    out = to_sentiment(raw)
    assert list(out.columns) == ["review_id", "sentiment", "review_body", "product_category"]
    assert out["review_id"].tolist() == [10, 11, 12, 13, 14]
    assert out["sentiment"].tolist() == [-1, -1, 0, 1, 1]
    assert out["review_body"].tolist() == ["a", "b", "c", "d", "e"]
    assert out["product_category"].tolist()[:2] == ["Knits", "Dresses"]
    assert out.index.tolist() == list(range(5))


def test_to_sentiment_uses_the_index_without_review_id() -> None:
    raw = pd.DataFrame({"Review Text": ["x", "y"], "Rating": [3, 4], "Class Name": ["A", "B"]})
    assert to_sentiment(raw.set_axis([5, 9]))["review_id"].tolist() == [5, 9]


def test_to_sentiment_rejects_missing_columns_and_bad_ratings() -> None:
    with pytest.raises(InputDataError, match="'Class Name'"):
        to_sentiment(pd.DataFrame({"Review Text": ["x"], "Rating": [3]}))
    raw = pd.DataFrame({"Review Text": ["x", "y"], "Rating": [3, 6], "Class Name": ["A", "B"]})
    with pytest.raises(InputDataError, match="1 review"):
        to_sentiment(raw)


def test_to_sentiment_can_put_the_title_before_the_text() -> None:
    raw = pd.DataFrame(
        {
            "Title": ["Love it", "Meh!", None, "  ", "Skipped"],
            "Review Text": ["Fits well.", "It is okay.", "No title.", "Blank title.", None],
            "Rating": [5, 3, 1, 2, 4],
            "Class Name": ["Knits"] * 5,
        }
    )
    plain = to_sentiment(raw)
    titled = to_sentiment(raw, include_title=True)
    assert titled["review_body"].tolist() == [
        "Love it. Fits well.",
        "Meh! It is okay.",
        "No title.",
        "Blank title.",
    ]
    # the same rows either way, so seeded splits select the same reviews
    assert titled.drop(columns="review_body").equals(plain.drop(columns="review_body"))


def test_to_sentiment_with_title_needs_a_title_column() -> None:
    raw = pd.DataFrame({"Review Text": ["x"], "Rating": [3], "Class Name": ["A"]})
    with pytest.raises(InputDataError, match="'Title' column"):
        to_sentiment(raw, include_title=True)
    assert to_sentiment(raw)["review_body"].tolist() == ["x"]


def test_to_sentiment_on_synthetic_data(table: pd.DataFrame) -> None:
    assert set(table["sentiment"]) == {-1, 0, 1}
    assert table["review_body"].str.strip().ne("").all()
    assert table["review_id"].is_unique


def test_balance_classes_is_balanced_and_deterministic(table: pd.DataFrame) -> None:
    balanced = balance_classes(table, seed=1)
    counts = balanced["sentiment"].value_counts()
    assert counts.nunique() == 1
    assert counts.iloc[0] == table["sentiment"].value_counts().min()
    assert balanced.index.is_unique and set(balanced.index) <= set(table.index)
    pd.testing.assert_frame_equal(balanced, balance_classes(table, seed=1))
    assert not balanced.index.equals(balance_classes(table, seed=2).index)


def test_balance_classes_errors(table: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="'label'"):
        balance_classes(table, label="label")
    with pytest.raises(InputDataError, match="empty"):
        balance_classes(table.iloc[:0])


def test_split_is_stratified_disjoint_and_complete(table: pd.DataFrame) -> None:
    train, validation, test = split_dataset(table, seed=0)
    ids = [set(part["review_id"]) for part in (train, validation, test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert set.union(*ids) == set(table["review_id"])
    assert len(train) == pytest.approx(0.9 * len(table), abs=3)
    assert len(validation) == pytest.approx(0.05 * len(table), abs=3)
    overall = table["sentiment"].value_counts(normalize=True)
    for part in (train, validation, test):
        shares = part["sentiment"].value_counts(normalize=True)
        assert (shares - overall).abs().max() < 0.02
        assert list(part.columns) == list(table.columns)


def test_split_is_deterministic(table: pd.DataFrame) -> None:
    first = split_dataset(table, 0.8, 0.1, 0.1, seed=3)
    again = split_dataset(table, 0.8, 0.1, 0.1, seed=3)
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = split_dataset(table, 0.8, 0.1, 0.1, seed=4)
    assert set(other[2].index) != set(first[2].index)


def test_split_without_stratify_and_with_empty_part(table: pd.DataFrame) -> None:
    train, validation, test = split_dataset(table, 0.5, 0.0, 0.5, stratify=None)
    assert len(validation) == 0 and len(train) + len(test) == len(table)
    assert list(validation.columns) == list(table.columns)


@pytest.mark.parametrize(
    ("fractions", "match"),
    [((0.8, 0.1, 0.2), "sum to 1"), ((1.1, -0.05, -0.05), ">= 0"), ((0.5, 0.2, 0.2), "sum")],
)
def test_split_rejects_bad_fractions(
    table: pd.DataFrame, fractions: tuple[float, float, float], match: str
) -> None:
    with pytest.raises(SageboxError, match=match):
        split_dataset(table, *fractions)


def test_split_rejects_unknown_stratify_column(table: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="'nope'"):
        split_dataset(table, stratify="nope")
