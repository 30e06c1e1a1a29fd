"""The crawler: datasets → tables, formats and schemas by sampling, partitions, policies."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from sagebox import lake
from sagebox.catalog.crawler import Crawler, CrawlSummary
from sagebox.errors import InputDataError, NotFoundError, ServiceUnavailableError
from sagebox.session import Session
from tests.conftest import free_port
from tests.fixtures.lake import make_session

FRAME = pd.DataFrame(
    {
        "review_id": [1, 2, 3, 4],
        "Age": [31, None, 45, 52],
        "Rating": [5, 1, 3, 4],
        "Review Text": ["Love it", "Ripped", "Okay", "Nice"],
        "Class Name": ["Dresses", "Knits", "Dresses", "Fine gauge"],
    }
)


def _by_table(summary: CrawlSummary) -> dict[str, str]:
    return {c.table: c.action for c in summary.tables}


def _lake_keys(session: Session) -> list[tuple[str, int]]:
    return [(i.key, i.size) for i in session.storage.list("")]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_one_table_per_dataset_folder_with_formats_and_partitions(lake_session: Session) -> None:
    s = lake_session
    lake.to_csv(FRAME.iloc[:2], "landing/csv_reviews/a.csv", session=s)
    lake.to_csv(FRAME.iloc[2:], "landing/csv_reviews/b.csv.gz", session=s)
    lake.to_csv(FRAME, "landing/tsv/x.tsv", session=s)
    lake.to_json(FRAME, "landing/events/2026/e.jsonl.gz", session=s)
    lake.to_parquet(FRAME, "landing/curated/", partition_cols=["Class Name"], session=s)
    s.storage.write_bytes("landing/sniffed/data", b"a|b\n1|x\n2|y\n")
    s.storage.write_bytes("landing/docs/README.md", b"# not data")
    before = _lake_keys(s)

    summary = Crawler(s).crawl("landing/", database="Reviews")

    assert summary.database_created and summary.database == "reviews"
    assert _by_table(summary) == {
        "reviews.csv_reviews": "added",
        "reviews.tsv": "added",
        "reviews.t_2026": "added",  # a name cannot start with a digit
        "reviews.curated": "added",
        "reviews.sniffed": "added",
        "reviews.docs": "unchanged",
    }
    catalog = s.catalog
    csv = catalog.get_table("reviews", "csv_reviews")
    assert (csv.format, csv.serde["delimiter"], csv.row_count) == ("csv", ",", 4)
    assert csv.serde["compression"] == "mixed"
    assert {c.name: c.type for c in csv.columns} == {
        "review_id": "bigint",
        "Age": "bigint",  # whole numbers with a gap: pandas' floats are not taken at face value
        "Rating": "bigint",
        "Review Text": "string",
        "Class Name": "string",
    }
    assert catalog.get_table("reviews", "tsv").serde["delimiter"] == "\t"
    assert catalog.get_table("reviews", "t_2026").format == "json"
    sniffed = catalog.get_table("reviews", "sniffed")
    assert (sniffed.format, sniffed.serde["delimiter"]) == ("csv", "|")
    curated = catalog.get_table("reviews", "curated")
    assert [c.name for c in curated.partition_keys] == ["Class Name"]
    assert "Class Name" not in [c.name for c in curated.columns]
    assert curated.row_count == 4
    partitions = catalog.list_partitions("reviews", "curated")
    assert sorted(p.values[0] for p in partitions) == ["Dresses", "Fine gauge", "Knits"]
    assert all(p.location.startswith(curated.location + "/Class Name=") for p in partitions)
    assert _lake_keys(s) == before  # the crawler only writes metadata


def test_recrawl_merges_new_columns_widens_types_and_adds_partitions(
    lake_session: Session,
) -> None:
    s = lake_session
    lake.to_parquet(FRAME, "landing/curated/", partition_cols=["Class Name"], session=s)
    lake.to_csv(FRAME, "landing/raw/a.csv", session=s)
    Crawler(s).crawl("landing/", "reviews")
    again = Crawler(s).crawl("landing/", "reviews")
    assert set(_by_table(again).values()) == {"unchanged"}

    extra = FRAME.assign(Age=["old", "young", "x", "y"], Color=["red"] * 4)
    lake.to_csv(extra, "landing/raw/b.csv", session=s)
    new_category = FRAME.assign(**{"Class Name": "Swim"})
    lake.to_parquet(new_category, "landing/curated/", partition_cols=["Class Name"], session=s)
    summary = Crawler(s, sample_files=10).crawl("landing/", "reviews")

    changes = {c.table: c for c in summary.tables}
    raw = changes["reviews.raw"]
    assert raw.action == "updated"
    assert raw.columns_added == ["Color"]
    assert raw.types_changed == {"Age": "bigint -> string"}
    assert any("mixed types" in n and "string in b.csv" in n for n in raw.notes)
    table = s.catalog.get_table("reviews", "raw")
    assert [c.name for c in table.columns][-1] == "Color"
    assert table.parameters["union_by_name"] is True
    assert changes["reviews.curated"].partitions_added == 1
    assert len(s.catalog.list_partitions("reviews", "curated")) == 4


def test_schema_change_policy_log_reports_without_applying(sagebox_env: object) -> None:
    s = Session()
    lake.to_csv(FRAME, "landing/raw/a.csv", session=s)
    Crawler(s).crawl("landing/", "reviews")
    lake.to_csv(FRAME.assign(Color="red"), "landing/raw/b.csv", session=s)
    summary = Crawler(s, schema_change="log", sample_files=10).crawl("landing/", "reviews")
    change = summary.tables[0]
    assert (change.action, change.columns_added) == ("logged", ["Color"])
    assert "Color" not in [c.name for c in s.catalog.get_table("reviews", "raw").columns]


@pytest.mark.parametrize(
    ("policy", "action", "left"),
    [("log", "vanished", 2), ("deprecate", "deprecated", 2), ("delete", "deleted", 1)],
)
def test_delete_policies_never_delete_data(
    sagebox_env: object, policy: str, action: str, left: int
) -> None:
    s = Session()
    lake.to_csv(FRAME, "landing/keep/a.csv", session=s)
    lake.to_csv(FRAME, "landing/gone/a.csv", session=s)
    Crawler(s).crawl("landing/", "reviews")
    s.storage.delete("landing/gone/a.csv")
    before = _lake_keys(s)
    summary = Crawler(s, on_delete=policy).crawl("landing/", "reviews")  # type: ignore[arg-type]
    assert _by_table(summary)["reviews.gone"] == action
    assert len(s.catalog.list_tables("reviews")) == left
    if policy == "deprecate":
        assert s.catalog.get_table("reviews", "gone").deprecated
        lake.to_csv(FRAME, "landing/gone/a.csv", session=s)
        back = Crawler(s).crawl("landing/", "reviews")
        assert _by_table(back)["reviews.gone"] == "restored"
        assert not s.catalog.get_table("reviews", "gone").deprecated
    else:
        assert _lake_keys(s) == before


def test_vanished_partitions_follow_the_delete_policy(sagebox_env: object) -> None:
    s = Session()
    lake.to_parquet(FRAME, "landing/t/", partition_cols=["Class Name"], session=s)
    Crawler(s).crawl("landing/", "reviews")
    for info in s.storage.list("landing/t/Class Name=Knits/"):
        s.storage.delete(info.key)
    summary = Crawler(s, on_delete="deprecate").crawl("landing/", "reviews")
    assert summary.tables[0].partitions_vanished == 1
    parts = {p.values[0]: p for p in s.catalog.list_partitions("reviews", "t")}
    assert parts["Knits"].parameters.get("deprecated") is True
    Crawler(s, on_delete="delete").crawl("landing/", "reviews")
    assert "Knits" not in {p.values[0] for p in s.catalog.list_partitions("reviews", "t")}


def test_new_folders_only(sagebox_env: object) -> None:
    s = Session()
    lake.to_parquet(FRAME, "landing/t/", partition_cols=["Class Name"], session=s)
    Crawler(s).crawl("landing/", "reviews")
    lake.to_parquet(
        FRAME.assign(**{"Class Name": "Swim"}, Extra=1),
        "landing/t/",
        partition_cols=["Class Name"],
        session=s,
    )
    lake.to_csv(FRAME, "landing/new/a.csv", session=s)
    summary = Crawler(s, recrawl="new_folders").crawl("landing/", "reviews")
    changes = {c.table: c for c in summary.tables}
    assert changes["reviews.t"].partitions_added == 1
    assert changes["reviews.new"].action == "added"
    assert "Extra" not in [c.name for c in s.catalog.get_table("reviews", "t").columns]


def test_same_folder_names_get_distinct_tables(sagebox_env: object) -> None:
    s = Session()
    lake.to_csv(FRAME, "landing/a/reviews/x.csv", session=s)
    lake.to_csv(FRAME, "landing/b/reviews/x.csv", session=s)
    summary = Crawler(s).crawl("landing", "reviews")
    assert sorted(_by_table(summary)) == ["reviews.a_reviews", "reviews.b_reviews"]


def test_unreadable_file_is_reported_not_fatal(sagebox_env: object) -> None:
    s = Session()
    s.storage.write_bytes("landing/t/part-0.parquet", _parquet_bytes(FRAME))
    s.storage.write_bytes("landing/t/part-1.parquet", b"PAR1 but broken")
    summary = Crawler(s).crawl("landing/", "reviews")
    change = summary.tables[0]
    assert change.action == "added"
    assert any("could not read landing/t/part-1.parquet" in n for n in change.notes)


def test_empty_prefix_and_bad_policies(sagebox_env: object) -> None:
    s = Session()
    with pytest.raises(InputDataError, match="found no data files under") as info:
        Crawler(s).crawl("nothing/here/", "reviews")
    assert "sagebox lake ls" in (info.value.hint or "")
    with pytest.raises(InputDataError, match="unknown on_delete policy 'purge'"):
        Crawler(s, on_delete="purge")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="invalid database name"):
        Crawler(s).crawl("nothing/", "bad name")


@pytest.mark.integration
def test_prefix_it_cannot_read(s3_server: str, tmp_path: object) -> None:
    missing = make_session(tmp_path / "h1", "s3://no-such-bucket-sagebox/lake", s3_server)  # type: ignore[operator]
    with pytest.raises(NotFoundError, match="crawler cannot read s3://no-such-bucket-sagebox"):
        Crawler(missing).crawl("raw/", "reviews")
    dead = f"http://127.0.0.1:{free_port()}"
    unreachable = make_session(tmp_path / "h2", "s3://bucket/lake", dead)  # type: ignore[operator]
    with pytest.raises(ServiceUnavailableError, match="crawler cannot read"):
        Crawler(unreachable).crawl("raw/", "reviews")


def test_gzip_csv_estimate_uses_uncompressed_size(sagebox_env: object) -> None:
    s = Session()
    big = pd.DataFrame({"n": range(30_000), "t": ["some text here"] * 30_000})
    s.storage.write_bytes("landing/g/a.csv.gz", gzip.compress(big.to_csv(index=False).encode()))
    Crawler(s, sample_rows=1000).crawl("landing/", "reviews")
    estimate = s.catalog.get_table("reviews", "g").row_count
    assert estimate is not None and 27_000 < estimate < 33_000
