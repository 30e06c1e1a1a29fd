"""The real Women's E-Commerce Clothing Reviews: crawl, query and explore them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sagebox import lake
from sagebox.catalog.crawler import Crawler
from sagebox.explore import explore
from sagebox.session import Session
from sagebox.sql import SqlEngine


@pytest.mark.realdata
def test_crawl_query_and_explore_the_real_reviews(
    shared_reviews_csv: Path, sagebox_env: Path
) -> None:
    session = Session()
    lake.put(shared_reviews_csv, "raw/reviews/", session=session)
    summary = Crawler(session).crawl("raw/", "reviews")
    assert [(c.table, c.action) for c in summary.tables] == [("reviews.reviews", "added")]
    table = session.catalog.get_table("reviews", "reviews")
    assert table.row_count is not None and abs(table.row_count - 19_964) < 1_000
    expected = pd.read_csv(shared_reviews_csv)
    counts = (
        SqlEngine(session)
        .execute('SELECT "Class Name" AS c, COUNT(*) AS n FROM reviews.reviews GROUP BY 1')
        .to_pandas()
    )
    assert counts["n"].sum() == len(expected) == 19_964  # DuckDB parses it as pandas does
    report = explore("reviews.reviews", sagebox_env.parent / "real.html", session=session)
    assert report.rows == 19_964 and "sentiment_per_category" in report.charts
