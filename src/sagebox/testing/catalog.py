"""The catalog-store and query-history conformance suites, for any backend.

The checks use only the interfaces of :mod:`sagebox.backends.metadata`
(:class:`~sagebox.backends.metadata.CatalogStore`,
:class:`~sagebox.backends.metadata.QueryHistory`) and their record types, so a store on any
database passes them if it keeps the contract those interfaces document. sagebox runs them on
its SQL stores over SQLite and a real PostgreSQL server (``tests/conformance/catalog``).

A backend author subclasses a suite in a test file and provides its fixture: a function that
opens a new connection to one empty database (each call a new connection to the same
database, which must be fresh for each test)::

    import pytest
    from sagebox.testing.catalog import CatalogStoreSuite, QueryHistorySuite

    class TestMyCatalogStore(CatalogStoreSuite):
        @pytest.fixture()
        def open_catalog(self, tmp_path):
            return lambda: MyCatalogStore(f"mydb://{tmp_path}/sagebox")

    class TestMyQueryHistory(QueryHistorySuite):
        @pytest.fixture()
        def open_query_history(self, tmp_path):
            return lambda: MyQueryHistory(f"mydb://{tmp_path}/sagebox")

pytest collects the subclasses (their names start with ``Test``) and runs every check. The
suites' tests use ``catalog`` and ``history``: one store opened with the fixture and closed
after the test. Parametrize the fixture (``@pytest.fixture(params=[...])``) to run a suite on
several databases. Importing this module imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from sagebox.backends.metadata import (
    CatalogStore,
    Column,
    Database,
    Partition,
    QueryHistory,
    QueryRecord,
    Table,
)
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError

__all__ = ["CatalogStoreSuite", "OpenCatalog", "OpenQueryHistory", "QueryHistorySuite"]

#: opens a new connection to the catalog under test
OpenCatalog = Callable[[], CatalogStore]
#: opens a new connection to the query history under test
OpenQueryHistory = Callable[[], QueryHistory]


def _table(name: str = "raw", database: str = "reviews", **changes: object) -> Table:
    table = Table(
        database=database,
        name=name,
        location=f"s3://lake/{name}",
        format="csv",
        columns=[Column("Rating", "bigint", "stars"), Column("Review Text", "string")],
        partition_keys=[Column("product_category", "string")],
        serde={"delimiter": ",", "header": True},
        row_count=19964,
        description="raw reviews",
        tags={"owner": "ds"},
        parameters={"crawler_root": "s3://lake/"},
    )
    for key, value in changes.items():
        setattr(table, key, value)
    return table


class CatalogStoreSuite:
    """Every check a catalog store passes; needs an ``open_catalog`` fixture (see the module).

    Covers databases (case-insensitive names, close-name hints, invalid names, cascade),
    tables (round trip of every field, refused formats and duplicate columns, updates) and
    partitions (upsert by values, Hive-escaped and null values, deletion with their table).
    """

    @pytest.fixture()
    def catalog(self, open_catalog: OpenCatalog) -> Iterator[CatalogStore]:
        """A catalog opened with ``open_catalog``, closed after the test."""
        opened = open_catalog()
        yield opened
        opened.close()

    def test_databases_crud_case_insensitive(self, catalog: CatalogStore) -> None:
        created = catalog.create_database(Database("Reviews", description="d", parameters={"a": 1}))
        assert created.name == "reviews" and created.created_at is not None
        assert catalog.get_database("REVIEWS").parameters == {"a": 1}
        with pytest.raises(AlreadyExistsError, match="'reviews'"):
            catalog.create_database(Database("reviews"))
        catalog.create_database(Database("archive"))
        assert [d.name for d in catalog.list_databases()] == ["archive", "reviews"]
        updated = catalog.update_database(Database("reviews", description="new", location="s3://x"))
        assert (updated.description, updated.location) == ("new", "s3://x")
        catalog.delete_database("archive")
        assert [d.name for d in catalog.list_databases()] == ["reviews"]

    def test_missing_database_suggests_close_names(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        with pytest.raises(NotFoundError, match="no database 'review'") as info:
            catalog.get_database("review")
        assert "did you mean reviews" in (info.value.hint or "")
        with pytest.raises(NotFoundError):
            catalog.delete_database("nope")

    @pytest.mark.parametrize("bad", ["", "1abc", "has space", "dash-ed", "a.b", "x" * 300])
    def test_invalid_names_are_refused(self, catalog: CatalogStore, bad: str) -> None:
        with pytest.raises(InputDataError, match="invalid database name"):
            catalog.create_database(Database(bad))

    def test_table_roundtrip_every_field(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        created = catalog.create_table(_table("Raw"))
        got = catalog.get_table("reviews", "RAW")
        assert got == created
        assert got.full_name == "reviews.raw"
        assert got.columns == [Column("Rating", "bigint", "stars"), Column("Review Text", "string")]
        assert got.partition_keys == [Column("product_category", "string")]
        assert (got.row_count, got.tags, got.serde["header"]) == (19964, {"owner": "ds"}, True)
        assert got.created_at is not None and got.created_at.tzinfo is not None
        with pytest.raises(AlreadyExistsError, match="reviews.raw already exists"):
            catalog.create_table(_table("raw"))

    def test_table_errors(self, catalog: CatalogStore) -> None:
        with pytest.raises(NotFoundError, match="no database 'reviews'"):
            catalog.create_table(_table())
        catalog.create_database(Database("reviews"))
        with pytest.raises(InputDataError, match="unknown table format 'xml'"):
            catalog.create_table(_table(format="xml"))
        with pytest.raises(InputDataError, match="duplicate column"):
            catalog.create_table(_table(partition_keys=[Column("Rating", "bigint")]))
        assert catalog.list_tables() == []

    def test_missing_table_suggests_close_names(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        catalog.create_table(_table("raw"))
        catalog.create_table(_table("balanced"))
        with pytest.raises(NotFoundError, match="no table 'reviews.raww'") as info:
            catalog.get_table("reviews", "raww")
        assert info.value.hint == "did you mean reviews.raw?"
        with pytest.raises(NotFoundError) as info:
            catalog.get_table("reviewz", "balanced")
        assert "reviews.balanced" in (info.value.hint or "")

    def test_update_list_and_delete_tables(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        catalog.create_database(Database("other"))
        catalog.create_table(_table("raw"))
        catalog.create_table(_table("zzz", "other"))
        table = catalog.get_table("reviews", "raw")
        table.columns.append(Column("Age", "bigint"))
        table.tags = {"stage": "raw"}
        updated = catalog.update_table(table)
        assert [c.name for c in updated.columns][-1] == "Age"
        assert updated.updated_at is not None and updated.created_at == table.created_at
        assert [t.full_name for t in catalog.list_tables()] == ["other.zzz", "reviews.raw"]
        assert [t.name for t in catalog.list_tables("reviews")] == ["raw"]
        with pytest.raises(NotFoundError):
            catalog.update_table(_table("nope"))
        catalog.delete_table("reviews", "raw")
        with pytest.raises(NotFoundError):
            catalog.delete_table("reviews", "raw")

    def test_delete_database_needs_cascade_when_not_empty(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        catalog.create_table(_table())
        catalog.put_partitions("reviews", "raw", [Partition("reviews", "raw", ["A"], "s3://x/A")])
        with pytest.raises(InputDataError, match="still has 1 table"):
            catalog.delete_database("reviews")
        catalog.delete_database("reviews", cascade=True)
        assert catalog.list_databases() == [] and catalog.list_tables() == []

    def test_partitions_upsert_list_delete(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("reviews"))
        catalog.create_table(_table())
        parts = [
            Partition("reviews", "raw", ["Dresses"], "s3://lake/raw/product_category=Dresses", 10),
            Partition("reviews", "raw", ["a/b"], "s3://lake/raw/product_category=a%2Fb"),
            Partition("reviews", "raw", [None], "s3://lake/raw/product_category=__HIVE_DEFAULT"),
        ]
        assert catalog.put_partitions("reviews", "raw", parts) == 3
        parts[0].row_count = 11
        parts[0].parameters = {"deprecated": True}
        assert catalog.put_partitions("reviews", "raw", parts[:1]) == 0  # replaced, not added
        listed = catalog.list_partitions("reviews", "raw")
        assert sorted(str(p.values) for p in listed) == ["['Dresses']", "['a/b']", "[None]"]
        dresses = next(p for p in listed if p.values == ["Dresses"])
        assert (dresses.row_count, dresses.parameters) == (11, {"deprecated": True})
        assert catalog.delete_partitions("reviews", "raw", [["a/b"], [None], ["missing"]]) == 2
        assert [p.values for p in catalog.list_partitions("reviews", "raw")] == [["Dresses"]]
        with pytest.raises(InputDataError, match="one value per partition key"):
            catalog.put_partitions("reviews", "raw", [Partition("reviews", "raw", ["a", "b"], "x")])
        catalog.delete_table("reviews", "raw")
        catalog.create_table(_table())
        assert catalog.list_partitions("reviews", "raw") == []  # gone with the table

    def test_opening_twice_keeps_data(self, open_catalog: OpenCatalog) -> None:
        first = open_catalog()
        first.create_database(Database("reviews"))
        first.close()
        second = open_catalog()
        assert [d.name for d in second.list_databases()] == ["reviews"]
        second.close()

    def test_transaction_commits_all_changes_at_its_end(
        self, catalog: CatalogStore, open_catalog: OpenCatalog
    ) -> None:
        other = open_catalog()
        try:
            with catalog.transaction():
                catalog.create_database(Database("reviews"))
                catalog.create_table(_table())
                catalog.put_partitions(
                    "reviews",
                    "raw",
                    [Partition("reviews", "raw", ["A"], "s3://lake/raw/product_category=A")],
                )
                with catalog.transaction():  # nested: joins the outer block
                    catalog.create_table(_table("clean"))
                # the block sees its own changes ...
                assert catalog.get_table("reviews", "raw").name == "raw"
                assert len(catalog.list_partitions("reviews", "raw")) == 1
            # ... and everyone sees all of them once it ended
            assert [t.name for t in other.list_tables("reviews")] == ["clean", "raw"]
        finally:
            other.close()

    def test_transaction_that_raises_changes_nothing(self, catalog: CatalogStore) -> None:
        catalog.create_database(Database("kept"))
        with pytest.raises(RuntimeError), catalog.transaction():
            catalog.create_database(Database("reviews"))
            catalog.create_table(_table())
            catalog.delete_database("kept")
            raise RuntimeError("crawler died")
        assert [d.name for d in catalog.list_databases()] == ["kept"]

    def test_failed_call_in_a_transaction_undoes_only_itself(self, catalog: CatalogStore) -> None:
        with catalog.transaction():
            catalog.create_database(Database("reviews"))
            catalog.create_table(_table())
            with pytest.raises(AlreadyExistsError):
                catalog.create_table(_table())
            with pytest.raises(NotFoundError):
                catalog.put_partitions(
                    "reviews",
                    "nope",
                    [Partition("reviews", "raw", ["A"], "s3://lake/raw/product_category=A")],
                )
            catalog.create_table(_table("clean"))
        assert [t.name for t in catalog.list_tables("reviews")] == ["clean", "raw"]


class QueryHistorySuite:
    """Every check a query history passes; needs an ``open_query_history`` fixture."""

    @pytest.fixture()
    def history(self, open_query_history: OpenQueryHistory) -> Iterator[QueryHistory]:
        """A history opened with ``open_query_history``, closed after the test."""
        opened = open_query_history()
        yield opened
        opened.close()

    def test_query_history(self, history: QueryHistory) -> None:
        for n in range(3):
            history.add(
                QueryRecord(
                    query_id=f"q-{n}",
                    sql=f"SELECT {n}",
                    status="succeeded" if n else "failed",
                    seconds=0.5 + n,
                    error=None if n else "SQL error",
                    rows=n,
                    tables=["reviews.raw"],
                    timings={"plan": 0.1, "execute": 0.4},
                    started_at=datetime(2026, 1, 1, 12, n, tzinfo=UTC),
                )
            )
        listed = history.list(limit=2)
        assert [r.query_id for r in listed] == ["q-2", "q-1"]
        first = history.get("q-0")
        assert (first.status, first.error, first.timings) == (
            "failed",
            "SQL error",
            {"plan": 0.1, "execute": 0.4},
        )
        with pytest.raises(NotFoundError, match="q-9"):
            history.get("q-9")
