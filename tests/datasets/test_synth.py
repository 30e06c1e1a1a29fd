"""Synthetic reviews: columns, determinism, variety and learnability."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import sagebox.datasets as datasets
from sagebox.datasets import RAW_COLUMNS, generate_reviews, split_dataset, to_sentiment
from sagebox.datasets.schema import LABEL_NAMES, LABELS, REQUIRED_COLUMNS, sentiment_of_rating


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return generate_reviews(10_000, seed=0)


def test_public_surface_is_exactly_all() -> None:
    public = {n for n in vars(datasets) if not n.startswith("_")}
    modules = {"raw", "schema", "synth", "transform", "annotations"}
    assert public - modules == set(datasets.__all__)


def test_schema_constants() -> None:
    assert RAW_COLUMNS[0] == "review_id" and len(RAW_COLUMNS) == 11
    assert set(REQUIRED_COLUMNS) == {"Review Text", "Rating", "Class Name"}
    assert LABELS == (-1, 0, 1)
    assert LABEL_NAMES == {-1: "negative", 0: "neutral", 1: "positive"}
    assert [sentiment_of_rating(r) for r in range(1, 6)] == [-1, -1, 0, 1, 1]
    with pytest.raises(ValueError):
        sentiment_of_rating(0)


def test_columns_are_exactly_the_raw_ones(reviews: pd.DataFrame) -> None:
    assert list(reviews.columns) == list(RAW_COLUMNS)
    assert len(reviews) == 10_000
    assert reviews["review_id"].is_unique


def test_same_seed_same_frame_other_seed_differs() -> None:
    a, b = generate_reviews(500, seed=7), generate_reviews(500, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = generate_reviews(500, seed=8)
    assert not a["Review Text"].equals(c["Review Text"])


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_reviews(0)
    assert len(generate_reviews(1)) == 1


def test_value_ranges(reviews: pd.DataFrame) -> None:
    assert reviews["Age"].between(18, 90).all()
    assert set(reviews["Rating"]) == {1, 2, 3, 4, 5}
    shares = reviews["Rating"].value_counts(normalize=True)
    assert shares[5] > shares[4] > shares[3] and shares[5] > 0.45
    assert set(reviews["Recommended IND"]) == {0, 1}
    by_rating = reviews.groupby("Rating")["Recommended IND"].mean()
    assert by_rating[1] < 0.2 < by_rating[3] < 0.8 < by_rating[5]
    assert (reviews["Positive Feedback Count"] >= 0).all()
    assert reviews["Positive Feedback Count"].max() > 10


def test_category_hierarchy_is_the_real_one(reviews: pd.DataFrame) -> None:
    assert set(reviews["Division Name"]) == {"General", "General Petite", "Initmates"}
    assert set(reviews["Department Name"]) == {
        "Tops",
        "Dresses",
        "Bottoms",
        "Intimate",
        "Jackets",
        "Trend",
    }
    assert {"Dresses", "Knits", "Blouses", "Jackets", "Trend", "Intimates", "Swim"} <= set(
        reviews["Class Name"]
    )
    # each class belongs to one department
    assert (reviews.groupby("Class Name")["Department Name"].nunique() == 1).all()


def test_some_text_and_titles_are_missing(reviews: pd.DataFrame) -> None:
    missing_text = reviews["Review Text"].isna().mean()
    missing_title = reviews["Title"].isna().mean()
    assert 0.01 < missing_text < 0.08
    assert 0.05 < missing_title < 0.3


def test_text_variety(reviews: pd.DataFrame) -> None:
    text = reviews["Review Text"].dropna()
    assert text.nunique() > 0.95 * len(text)
    sentences = text.str.count(r"[.!](?:\s|$)")
    assert sentences.min() == 1 and sentences.max() >= 8
    lengths = text.str.len()
    assert lengths.min() < 40 and lengths.max() > 400
    assert reviews["Title"].dropna().nunique() > 20
    mixed = text[text.str.contains(r"\bbut\b")]
    assert len(mixed) > 0.1 * len(text)
    words = set(" ".join(text.head(3000)).lower().split())
    assert {"fabric", "color", "price", "quality", "size"} <= {w.strip(".,!") for w in words}


def test_categories_have_different_sentiment_mixes(reviews: pd.DataFrame) -> None:
    table = to_sentiment(reviews)
    negative = table["sentiment"].eq(-1).groupby(table["product_category"]).mean()
    gloomy = negative[["Trend", "Jackets"]].mean()
    happy = negative[["Intimates", "Lounge"]].mean()
    assert gloomy > 2 * happy
    assert negative["Trend"] > negative["Dresses"] > negative["Intimates"]


def test_text_is_learnable_but_not_trivial() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    table = datasets.balance_classes(to_sentiment(generate_reviews(4000, seed=3)), seed=3)
    train, _, test = split_dataset(table, train=0.7, validation=0.0, test=0.3, seed=3)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=1000).fit(
        vectorizer.fit_transform(train["review_body"]), train["sentiment"]
    )
    predicted = model.predict(vectorizer.transform(test["review_body"]))
    score = balanced_accuracy_score(test["sentiment"], predicted)
    assert 0.6 < score < 0.97


def test_twenty_thousand_rows_are_fast() -> None:
    started = time.perf_counter()
    generate_reviews(20_000, seed=1)
    # target is < 3 s; the bound is loose because test machines are shared and noisy
    assert time.perf_counter() - started < 10
