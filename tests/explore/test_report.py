"""Exploration reports: statistics, review roles, charts, offline HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sagebox import lake
from sagebox.catalog.crawler import Crawler
from sagebox.datasets import generate_reviews, to_sentiment
from sagebox.errors import InputDataError, NotFoundError
from sagebox.explore import explore
from sagebox.explore.stats import find_roles, profile_columns, sentiment_series, text_summary
from sagebox.session import Session

RAW_CHARTS = [
    "rating_distribution",
    "sentiment_distribution",
    "reviews_per_category",
    "sentiment_per_category",
    "length_distribution",
    "top_terms",
    "missing_values",
]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return generate_reviews(600, seed=5)


def test_roles_of_raw_and_prepared_tables(raw: pd.DataFrame) -> None:
    roles = find_roles(raw)
    assert (roles.rating, roles.text, roles.category) == ("Rating", "Review Text", "Class Name")
    assert roles.sentiment_derived
    derived = sentiment_series(raw, roles)
    assert derived is not None
    assert (
        derived.tolist() == to_sentiment(raw.assign(**{"Review Text": "x"}))["sentiment"].tolist()
    )
    prepared = find_roles(to_sentiment(raw))
    assert (prepared.sentiment, prepared.text, prepared.category) == (
        "sentiment",
        "review_body",
        "product_category",
    )
    assert not prepared.sentiment_derived


def test_column_profiles() -> None:
    frame = pd.DataFrame(
        {"n": [1.0, 2.0, None, 4.0], "c": ["a", "a", "b", None], "id": [1, 2, 3, 4]}
    )
    profiles = {p.name: p for p in profile_columns(frame)}
    assert (profiles["n"].missing, profiles["n"].distinct, profiles["n"].stats["max"]) == (1, 3, 4)
    assert profiles["n"].missing_pct == 25.0
    assert profiles["c"].kind == "categorical" and profiles["c"].top == [("a", 2), ("b", 1)]
    assert profiles["id"].top == []  # every value distinct: no "most frequent"


def test_text_summary_percentiles_and_terms_per_sentiment(raw: pd.DataFrame) -> None:
    roles = find_roles(raw)
    summary = text_summary(raw["Review Text"], sentiment_series(raw, roles), "Review Text")
    assert set(summary.top_terms) == {"negative", "neutral", "positive"}
    assert all(len(terms) > 0 for terms in summary.top_terms.values())
    assert summary.words["p5"] <= summary.words["p50"] <= summary.words["p95"]
    assert summary.empty == int(raw["Review Text"].isna().sum())


def test_report_of_a_raw_catalog_table_is_offline(sagebox_env: Path, raw: pd.DataFrame) -> None:
    session = Session()
    lake.to_csv(raw, "landing/raw/reviews.csv", session=session)
    Crawler(session).crawl("landing/", "reviews")
    report = explore("reviews.raw", sagebox_env.parent / "out" / "report.html", session=session)
    assert report.rows == 600 and report.charts == RAW_CHARTS
    html = report.path.read_text(encoding="utf-8")
    assert "derived from the column Rating" in html
    assert len(re.findall(r'class="plotly-graph-div"', html)) == len(RAW_CHARTS)
    # Offline: plotly.js is inline; no script, style sheet or image is loaded from elsewhere.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert len(html) > 3_000_000  # the embedded plotly.js
    for column in raw.columns:
        assert f"<b>{column}</b>" in html


def test_report_of_a_prepared_frame_and_a_lake_location(
    sagebox_env: Path, raw: pd.DataFrame
) -> None:
    prepared = to_sentiment(raw)
    report = explore(prepared, sagebox_env.parent / "prepared.html")
    assert "rating_distribution" not in report.charts and "sentiment_per_category" in report.charts
    session = Session()
    lake.to_parquet(prepared, "cur/prepared/", partition_cols=["product_category"], session=session)
    from_lake = explore(
        "cur/prepared/", sagebox_env.parent / "lake.html", session=session, sample=100
    )
    assert from_lake.rows == 100 and "sentiment_per_category" in from_lake.charts


def test_bad_sources(sagebox_env: Path) -> None:
    session = Session()
    with pytest.raises(NotFoundError, match="no table 'reviews.raw'"):
        explore("reviews.raw", sagebox_env.parent / "x.html", session=session)
    with pytest.raises(InputDataError, match="no rows to explore"):
        explore(pd.DataFrame({"a": []}), sagebox_env.parent / "x.html")
    with pytest.raises(InputDataError, match="nothing stored at"):
        explore("nothing/here/", sagebox_env.parent / "x.html", session=session)
    assert not (sagebox_env.parent / "x.html").exists()


def test_cli(sagebox_env: Path, raw: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    from sagebox.cli.main import main

    lake.to_csv(raw, "landing/raw/reviews.csv")
    out = sagebox_env.parent / "cli.html"
    assert main(["explore", "landing/raw/", "--out", str(out), "--title", "Synthetic reviews"]) == 0
    assert "wrote" in capsys.readouterr().out and "Synthetic reviews" in out.read_text()
    assert main(["explore", "reviews.nope", "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: no table 'reviews.nope'")
