"""The course transformation on the shared real review file (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.datasets import RAW_COLUMNS, read_raw_reviews, to_sentiment

pytestmark = pytest.mark.realdata


def test_real_file_reads_and_transforms(shared_reviews_csv: Path) -> None:
    raw = read_raw_reviews(shared_reviews_csv)
    assert list(raw.columns) == list(RAW_COLUMNS)
    assert len(raw) == 19_964
    table = to_sentiment(raw)
    # 709 reviews have no text
    assert len(table) == 19_255
    assert table["sentiment"].value_counts().to_dict() == {1: 14_832, 0: 2_398, -1: 2_025}
    assert table["product_category"].nunique() == 20
    assert table["review_id"].is_unique
