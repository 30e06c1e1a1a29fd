"""Locked-down SQL (issue 15): lake-only, read-only; the default engine keeps its full power."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.session import Session
from sagebox.sql import SqlEngine, SqlError
from tests.sql.test_sql import _crawl

ESCAPES = {
    "read_csv('/etc/passwd')": "SELECT * FROM read_csv('/etc/passwd')",
    "COPY": "COPY (SELECT 1) TO '{tmp}/x.csv'",
    "COPY into the lake": "COPY (SELECT 1) TO '{lake}/x.csv'",
    "ATTACH": "ATTACH '{tmp}/other.db'",
    "INSTALL": "INSTALL httpfs",
    "LOAD": "LOAD httpfs",
    "SET": "SET enable_external_access = true",
    "CREATE": "CREATE TABLE t AS SELECT 1",
    "CTAS": "CREATE TABLE reviews.copy AS SELECT * FROM reviews.raw",
    "two statements": "SELECT 1; SELECT 2",
    "parquet outside the lake": "SELECT * FROM read_parquet('{tmp}/outside.parquet')",
}


@pytest.fixture()
def crawled(lake_session: Session) -> Session:
    return _crawl(lake_session)


def test_locked_down_refuses_escapes_and_still_queries_the_catalog(
    crawled: Session, tmp_path: Path
) -> None:
    fs, root = crawled.storage.filesystem()
    lake_root = root if crawled.storage.uri.startswith("file:") else f"s3://{root}"
    (tmp_path / "outside.parquet").write_bytes(b"PAR1")
    engine = SqlEngine(crawled, locked_down=True)
    for name, sql in ESCAPES.items():
        with pytest.raises(SqlError) as info:
            engine.execute(sql.format(tmp=tmp_path, lake=lake_root))
        assert "\n" not in info.value.message, name
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.db").exists()
    assert not crawled.storage.exists("x.csv")
    frame = engine.execute(
        'SELECT "Class Name" AS c, COUNT(*) AS n FROM reviews.curated GROUP BY 1 ORDER BY 1'
    ).to_pandas()
    assert frame["n"].tolist() == [2, 2, 2]
    for table in ("raw", "events"):
        assert engine.execute(f"SELECT COUNT(*) AS n FROM reviews.{table}").rows == 1


def test_default_mode_keeps_local_file_access(crawled: Session, tmp_path: Path) -> None:
    (tmp_path / "local.csv").write_text("a,b\n1,2\n")
    engine = SqlEngine(crawled)
    assert engine.execute(f"SELECT * FROM read_csv('{tmp_path}/local.csv')").rows == 1
    engine.execute(f"COPY (SELECT 1 AS one) TO '{tmp_path}/out.csv'")
    assert (tmp_path / "out.csv").read_text().strip().splitlines() == ["one", "1"]
