"""Fixtures of the tuning tests: a session with prepared review splits in the lake."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.session import Session
from tests.fixtures.encoders import tiny_encoder  # noqa: F401


def upload_splits(session: Session, folder: Path, rows: int = 240) -> dict[str, str]:
    """Synthetic reviews split 60/20/20; train and validation uploaded; channel → key."""
    from sagebox.datasets import generate_reviews, split_dataset, to_sentiment

    table = to_sentiment(generate_reviews(rows, seed=4))
    parts = split_dataset(table, 0.6, 0.2, 0.2, seed=0)
    keys = {}
    for name, part in zip(("train", "validation"), parts[:2], strict=True):
        local = folder / f"{name}.parquet"
        part.to_parquet(local)
        keys[name] = f"prepared/{name}/part-0.parquet"
        session.storage.upload(local, keys[name])
    return keys


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    return Session()


@pytest.fixture()
def prepared(session: Session, tmp_path: Path) -> dict[str, str]:
    """Small prepared train/validation splits uploaded to the lake; channel → key."""
    return upload_splits(session, tmp_path)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, dict[str, str]]]:
    """A SAGEBOX_HOME shared by one test module, with prepared splits in its lake."""
    tmp = tmp_path_factory.mktemp("tuning")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
                mp.delenv(key)
        mp.setenv("SAGEBOX_HOME", str(tmp / "sbhome"))
        mp.chdir(tmp)
        session = Session()
        yield session, upload_splits(session, tmp)
