"""Fixtures of the tuning tests: a session with prepared review splits in the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.session import Session
from tests.fixtures.encoders import tiny_encoder  # noqa: F401


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


@pytest.fixture()
def prepared(session: Session, tmp_path: Path) -> dict[str, str]:
    """Small prepared train/validation splits uploaded to the lake; channel → key."""
    from sagebox.datasets import generate_reviews, split_dataset, to_sentiment

    table = to_sentiment(generate_reviews(240, seed=4))
    parts = split_dataset(table, 0.6, 0.2, 0.2, seed=0)
    keys = {}
    for name, part in zip(("train", "validation", "test"), parts, strict=True):
        local = tmp_path / f"{name}.parquet"
        part.to_parquet(local)
        keys[name] = f"prepared/{name}/part-0.parquet"
        session.storage.upload(local, keys[name])
    return {k: keys[k] for k in ("train", "validation")}
