"""SQL over catalog tables: names → lake files (file and S3), CTAS, pruning, history, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sagebox import lake
from sagebox.catalog import Column, Database, Table
from sagebox.catalog.crawler import Crawler
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError
from sagebox.session import Session
from sagebox.sql import SqlEngine, SqlError, read_sql_query

FRAME = pd.DataFrame(
    {
        "review_id": range(6),
        "Rating": [5, 1, 3, 4, 2, 5],
        "Review Text": ["love", "bad", "ok", "nice", "meh", "great"],
        "Class Name": ["Dresses", "Knits", "Dresses", "Knits", "Swim", "Swim"],
    }
)


def _crawl(s: Session) -> Session:
    """reviews.raw (CSV + gzip), reviews.curated (Parquet by class), reviews.events (JSON)."""
    lake.to_csv(FRAME.iloc[:3], "landing/raw/a.csv", session=s)
    lake.to_csv(FRAME.iloc[3:], "landing/raw/b.csv.gz", session=s)
    lake.to_parquet(FRAME, "landing/curated/", partition_cols=["Class Name"], session=s)
    lake.to_json(FRAME, "landing/events/e.jsonl", session=s)
    Crawler(s).crawl("landing/", "reviews")
    return s


@pytest.fixture()
def crawled(lake_session: Session) -> Session:
    """The crawled tables on a file lake and on S3."""
    return _crawl(lake_session)


@pytest.fixture()
def local(sagebox_env: object) -> Session:
    """The crawled tables on a file lake (and SAGEBOX_HOME set for the CLI)."""
    return _crawl(Session())


def test_tables_by_name_in_every_format_and_storage(crawled: Session) -> None:
    engine = SqlEngine(crawled)
    for table in ("raw", "curated", "events"):
        result = engine.execute(
            f'SELECT "Class Name" AS c, COUNT(*) AS n, AVG(Rating) AS r FROM reviews.{table} '
            "GROUP BY 1 ORDER BY 1"
        )
        frame = result.to_pandas()
        assert frame.to_dict("list") == {
            "c": ["Dresses", "Knits", "Swim"],
            "n": [2, 2, 2],
            "r": [4.0, 2.5, 3.5],
        }, table
        assert result.tables == [f"reviews.{table}"]
        assert set(result.timings) == {"plan", "execute"}
    arrow = engine.execute("SELECT * FROM curated", database="reviews").to_arrow()
    assert arrow.num_rows == 6
    assert read_sql_query("SELECT COUNT(*) AS n FROM raw", database="reviews", session=crawled)[
        "n"
    ].tolist() == [6]


def test_ctas_writes_parquet_and_registers_the_table(crawled: Session) -> None:
    engine = SqlEngine(crawled, database="reviews")
    result = engine.execute(
        "CREATE TABLE reviews.positive WITH (partitioned_by = ARRAY['Class Name']) AS "
        'SELECT review_id, "Class Name", Rating FROM raw WHERE Rating >= 4'
    )
    assert result.created_table == "reviews.positive" and result.rows == 3
    assert "write" in result.timings
    table = crawled.catalog.get_table("reviews", "positive")
    assert table.format == "parquet" and table.row_count == 3
    assert [c.name for c in table.partition_keys] == ["Class Name"]
    assert table.location.endswith("warehouse/reviews/positive")
    assert len(crawled.catalog.list_partitions("reviews", "positive")) == 3
    back = engine.execute("SELECT review_id FROM positive ORDER BY 1").to_pandas()
    assert back["review_id"].tolist() == [0, 3, 5]
    with pytest.raises(AlreadyExistsError, match="reviews.positive already exists"):
        engine.execute("CREATE TABLE positive AS SELECT 1 AS x")
    engine.execute("CREATE TABLE IF NOT EXISTS positive AS SELECT 1 AS x")
    assert engine.execute("SELECT COUNT(*) AS n FROM positive").to_pandas()["n"][0] == 3
    engine.execute("CREATE OR REPLACE TABLE positive AS SELECT 1 AS x")
    assert engine.execute("SELECT * FROM positive").to_pandas().to_dict("list") == {"x": [1]}
    assert crawled.catalog.list_partitions("reviews", "positive") == []


def test_partition_filter_reads_only_matching_files(sagebox_env: object, tmp_path: object) -> None:
    s = Session()
    lake.to_parquet(FRAME, "landing/t/", partition_cols=["Class Name"], session=s)
    Crawler(s).crawl("landing/", "reviews")
    # Corrupt the partitions the query must not touch: reading them would fail.
    for info in s.storage.list("landing/t/"):
        if "Dresses" not in info.key and info.key.endswith(".parquet"):
            s.storage.write_bytes(info.key, b"not parquet at all")
    engine = SqlEngine(s)
    query = "SELECT COUNT(*) AS n FROM reviews.t WHERE \"Class Name\" = 'Dresses'"
    assert engine.execute(query).to_pandas()["n"].tolist() == [2]
    with pytest.raises(SqlError, match="Parquet|magic"):
        engine.execute("SELECT COUNT(*) FROM reviews.t WHERE \"Class Name\" = 'Swim'")
    import duckdb

    from sagebox.sql._resolve import create_view

    con = duckdb.connect()
    files = create_view(con, s, s.catalog.get_table("reviews", "t"))
    profile = Path(str(tmp_path)) / "profile.json"
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{profile}'")
    rows = con.execute("SELECT * FROM reviews.t WHERE \"Class Name\" = 'Dresses'").fetchall()
    assert len(rows) == 2
    scans = _scans(json.loads(profile.read_text()))
    assert files == 3 and [s["Total Files Read"] for s in scans] == ["1"]


def _scans(node: object) -> list[dict[str, str]]:
    """The READ_PARQUET operators' extra info in a DuckDB JSON profile."""
    found = []
    if isinstance(node, dict):
        info = node.get("extra_info")
        if isinstance(info, dict) and info.get("Function") == "READ_PARQUET":
            found.append(info)
        for value in node.values():
            found += _scans(value)
    elif isinstance(node, list):
        for value in node:
            found += _scans(value)
    return found


def test_unknown_tables_suggest_close_names(local: Session) -> None:
    engine = SqlEngine(local)
    with pytest.raises(NotFoundError, match="no table 'reviews.raww'") as info:
        engine.execute("SELECT * FROM reviews.raww")
    assert info.value.hint == "did you mean reviews.raw?"
    with pytest.raises(NotFoundError, match="unqualified") as info:
        engine.execute("SELECT * FROM curated")
    assert "reviews.curated" in (info.value.hint or "")
    with pytest.raises(NotFoundError, match="no table 'reviews.nope'"):
        engine.execute("SELECT * FROM nope", database="reviews")
    result = engine.execute("WITH raw AS (SELECT 1 AS x) SELECT * FROM raw", database="reviews")
    assert result.to_pandas()["x"].tolist() == [1]  # a CTE wins over the catalog


def test_sql_errors_show_duckdb_message_and_position(local: Session) -> None:
    engine = SqlEngine(local, database="reviews")
    with pytest.raises(SqlError, match=r'syntax error at or near "raw" \(line 1, column 15\)') as e:
        engine.execute("SELECT * FORM raw")
    assert (e.value.line, e.value.column) == (1, 15)
    assert e.value.hint == "line 1, column 15: SELECT * FORM ▸raw"
    with pytest.raises(SqlError, match=r'column "nope" not found.*\(line 3, column 7\)'):
        engine.execute("SELECT 1\nFROM raw\nWHERE nope = 1 AND Rating > 0\n")
    with pytest.raises(InputDataError, match="empty SQL"):
        engine.execute("  ")
    with pytest.raises(InputDataError, match="only CREATE TABLE ... AS SELECT"):
        engine.execute("CREATE TABLE reviews.x (a INT)")
    with pytest.raises(InputDataError, match="needs a database"):
        SqlEngine(local).execute("CREATE TABLE x AS SELECT 1 AS a")
    with pytest.raises(InputDataError, match="partitioned_by column.*'zzz'"):
        engine.execute("CREATE TABLE y WITH (partitioned_by = ARRAY['zzz']) AS SELECT 1 AS a")


def test_history_records_successes_and_failures_with_timings(local: Session) -> None:
    engine = SqlEngine(local, database="reviews")
    ok = engine.execute("SELECT COUNT(*) FROM raw")
    with pytest.raises(SqlError):
        engine.execute("SELEC 1")
    records = engine.history.list(limit=2)
    assert [r.status for r in records] == ["failed", "succeeded"]
    assert records[1].query_id == ok.query_id and records[1].rows == 1
    assert records[1].tables == ["reviews.raw"] and records[1].database == "reviews"
    assert set(records[1].timings) == {"plan", "execute"} and records[1].seconds > 0
    assert records[0].error is not None and "syntax error" in records[0].error


def test_queries_without_catalog_tables(sagebox_env: object) -> None:
    engine = SqlEngine(Session())
    assert engine.execute("SELECT 1 AS one").to_pandas()["one"].tolist() == [1]
    assert engine.execute("SELECT 2 AS two").rows == 1


def test_empty_location_is_an_empty_table(sagebox_env: object) -> None:
    s = Session()
    s.catalog.create_database(Database("reviews"))
    s.catalog.create_table(
        Table("reviews", "later", s.storage.url("later"), "csv", [Column("a", "bigint")])
    )
    frame = SqlEngine(s).execute("SELECT * FROM reviews.later").to_pandas()
    assert list(frame.columns) == ["a"] and frame.empty


def test_cli(local: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sagebox.cli.main import main

    out = tmp_path / "out"
    query = 'SELECT "Class Name" AS c, COUNT(*) AS n FROM raw GROUP BY 1 ORDER BY 1'
    assert main(["sql", query, "-d", "reviews", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "c,n\nDresses,2\nKnits,2\nSwim,2\n"
    assert main(["sql", query, "-d", "reviews", "--out", str(out / "r.parquet")]) == 0
    assert pd.read_parquet(out / "r.parquet")["n"].tolist() == [2, 2, 2]
    assert main(["sql", query, "-d", "reviews", "--out", str(out / "r.csv.gz")]) == 0
    assert pd.read_csv(out / "r.csv.gz")["c"].tolist() == ["Dresses", "Knits", "Swim"]
    capsys.readouterr()
    assert main(["sql", query, "-d", "reviews", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"][0] == {"c": "Dresses", "n": 2}
    assert main(["sql", query, "-d", "reviews"]) == 0
    printed = capsys.readouterr().out
    assert "Dresses" in printed and "3 row(s)" in printed
    assert main(["sql", "--history", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert main(["sql", "SELECT * FROM reviews.raww"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: no table 'reviews.raww' in the catalog",
        "hint: did you mean reviews.raw?",
    ]
    assert main(["sql", "SELECT * FORM reviews.raw"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "(line 1, column 15)" in err[0]
    assert main(["sql", query, "-d", "reviews", "--out", str(out / "r.xlsx")]) == 1
    assert "cannot tell the format" in capsys.readouterr().err
