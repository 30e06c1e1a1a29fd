"""Fixtures of the feature-store tests: a session in a fresh SAGEBOX_HOME and small records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sagebox.features import FeatureGroup
from sagebox.session import Session
from tests.fixtures.redis import redis_server, redis_url  # noqa: F401

T0 = "2026-11-27T10:00:00Z"


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    """A session on a file lake and SQLite metadata and online stores."""
    return Session()


def reviews_frame(n: int = 6, date: str = T0) -> pd.DataFrame:
    """``n`` review records with scalar, text and vector features."""
    return pd.DataFrame(
        {
            "review_id": list(range(1, n + 1)),
            "date": [date] * n,
            "sentiment": [(i % 3) - 1 for i in range(n)],
            "score": [i / 10 for i in range(n)],
            "review_body": [f"review number {i}" for i in range(n)],
            "input_ids": [[101, i, 102] for i in range(n)],
        }
    )


@pytest.fixture()
def group(session: Session) -> Iterator[FeatureGroup]:
    """A created feature group ``reviews`` (online store on), empty."""
    fg = FeatureGroup("reviews", session=session)
    fg.load_feature_definitions(reviews_frame())
    fg.create("review_id", "date", description="tokenized product reviews", tags={"team": "nlp"})
    yield fg
    fg.close()
