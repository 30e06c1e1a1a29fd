"""Fixtures of the processing tests: a session with a few CSV shards in the lake."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sagebox.session import Session


@pytest.fixture()
def session(sagebox_env: Path) -> Session:
    """A session whose lake holds ``raw/part-0.csv`` .. ``part-3.csv`` (1..4 rows)."""
    session = Session()
    for i in range(4):
        frame = pd.DataFrame({"value": range(i + 1)})
        session.storage.write_bytes(f"raw/part-{i}.csv", frame.to_csv(index=False).encode())
    return session
