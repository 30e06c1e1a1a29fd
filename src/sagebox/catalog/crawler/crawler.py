"""The crawler (the Glue crawler equivalent): lake prefix in, catalog tables out.

It discovers the datasets under a prefix (one table per dataset folder), infers each one's
format and schema by sampling, registers Hive partitions, merges new columns into existing
tables, and handles data that vanished. It only ever writes to the catalog, never to the lake.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagebox.backends.metadata import Column, Database, Partition, Table, check_name
from sagebox.backends.storage.hive import partition_dir
from sagebox.catalog.crawler._discover import Dataset, discover, unique_names
from sagebox.catalog.crawler._infer import choose_format, infer_schema, merge_types, partition_type
from sagebox.catalog.crawler._policy import (
    POLICIES,
    DeletePolicy,
    RecrawlPolicy,
    SchemaChangePolicy,
)
from sagebox.catalog.crawler._staged import StagedCatalog
from sagebox.catalog.crawler._vanished import vanished_partitions, vanished_table
from sagebox.catalog.crawler.summary import CrawlSummary, TableChange
from sagebox.errors import InputDataError, NotFoundError, SageboxError

if TYPE_CHECKING:
    from sagebox.backends.metadata import CatalogStore
    from sagebox.lake import Location
    from sagebox.session import Session

__all__ = ["CrawlSummary", "Crawler", "TableChange"]


class Crawler:
    """Catalog the datasets under a lake prefix.

    Args:
        session: whose lake, settings and catalog to use.
        schema_change: ``"update"`` merges new columns and widened types into existing tables;
            ``"log"`` only reports them.
        on_delete: for tables and partitions whose data vanished: ``"log"`` reports them,
            ``"deprecate"`` marks them deprecated, ``"delete"`` removes them from the catalog.
            Data in the lake is never deleted.
        recrawl: ``"everything"``, or ``"new_folders"``: only datasets and partitions not yet
            in the catalog are read (existing tables keep their schema; vanished data is only
            logged).
        sample_files: files read per dataset to infer the schema.
        sample_rows: rows read per sampled CSV/JSON file.
        table_prefix: prepended to every new table's name.

    Example:
        >>> crawler = Crawler(Session(), on_delete="deprecate")  # doctest: +SKIP
        >>> crawler.crawl("s3://bucket/reviews/", database="reviews").counts()  # doctest: +SKIP
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        schema_change: SchemaChangePolicy = "update",
        on_delete: DeletePolicy = "deprecate",
        recrawl: RecrawlPolicy = "everything",
        sample_files: int = 5,
        sample_rows: int = 1000,
        table_prefix: str = "",
    ) -> None:
        from sagebox.session import Session

        for name, value in (
            ("schema_change", schema_change),
            ("on_delete", on_delete),
            ("recrawl", recrawl),
        ):
            if value not in POLICIES[name]:
                raise InputDataError(
                    f"unknown {name} policy {value!r}",
                    hint=f"use one of: {', '.join(POLICIES[name])}",
                )
        if sample_files < 1 or sample_rows < 1:
            raise InputDataError(
                f"sample_files and sample_rows must be >= 1, got {sample_files}, {sample_rows}",
                hint="e.g. sample_files=5, sample_rows=1000",
            )
        self.session = session or Session()
        self.schema_change = schema_change
        self.on_delete = on_delete
        self.recrawl = recrawl
        self.sample_files = sample_files
        self.sample_rows = sample_rows
        self.table_prefix = table_prefix

    def crawl(self, uri: str, database: str) -> CrawlSummary:
        """Crawl ``uri`` (a lake key, path or URI prefix) into ``database``.

        Raises:
            InputDataError: the prefix holds no data files.
            NotFoundError, ServiceUnavailableError, ConfigError: the prefix cannot be read
                (message names it).
        """
        from sagebox.lake import locate

        started = time.perf_counter()
        database = check_name("database", database)
        as_folder = not uri or uri.endswith("/") or _is_object(uri)
        location = locate(uri if as_folder else uri + "/", self.session)
        summary = CrawlSummary(root=location.uri, database=database)
        infos = self._list(location)
        summary.files = len(infos)
        # every change is held back and committed at the end in one transaction: a crawler
        # killed midway leaves the catalog as it was (issue 15)
        catalog = StagedCatalog(self.session.catalog)
        summary.database_created = _ensure_database(catalog, database, location.uri)
        datasets = discover(infos, location.folder if not _is_object(uri) else _parent(location))
        root_name = _root_name(location)
        names = unique_names(datasets, root_name, self.table_prefix)
        existing = {
            t.location.rstrip("/"): t
            for t in catalog.list_tables(database)
            if t.parameters.get("crawler_root") == location.uri
            or t.location.rstrip("/").startswith(location.uri.rstrip("/"))
        }
        seen: set[str] = set()
        for dataset, name in zip(datasets, names, strict=True):
            summary.warnings += [f"{dataset.folder or '.'}: {w}" for w in dataset.warnings]
            data_uri = _dataset_uri(location, dataset, uri)
            seen.add(data_uri)
            change = self._crawl_dataset(
                catalog, database, name, data_uri, location, dataset, existing.get(data_uri)
            )
            if change is not None:
                summary.tables.append(change)
        for data_uri, table in existing.items():
            if data_uri not in seen and table.parameters.get("crawler_root") == location.uri:
                summary.tables.append(
                    vanished_table(catalog, table, on_delete=self.on_delete, recrawl=self.recrawl)
                )
        catalog.commit()
        summary.seconds = time.perf_counter() - started
        return summary

    def _list(self, location: Location) -> list[Any]:
        try:
            infos = location.objects()
        except SageboxError as exc:
            raise type(exc)(
                f"the crawler cannot read {location.uri}: {exc.message}", hint=exc.hint
            ) from exc
        if not infos:
            raise InputDataError(
                f"the crawler found no data files under {location.uri}",
                hint="check the prefix (sagebox lake ls), or upload data first (sagebox lake put)",
            )
        return infos

    def _crawl_dataset(
        self,
        catalog: CatalogStore,
        database: str,
        name: str,
        data_uri: str,
        root: Location,
        dataset: Dataset,
        table: Table | None,
    ) -> TableChange | None:
        store = root.store
        if table is not None and self.recrawl == "new_folders":
            return self._new_partitions_only(catalog, table, dataset)
        fmt, files, notes = choose_format(store, dataset.files)
        if fmt is None:
            return TableChange(
                f"{database}.{name}", "unchanged", data_uri, notes=[*notes, "no data files"]
            )
        schema = infer_schema(
            store,
            files,
            fmt,
            sample_files_count=self.sample_files,
            sample_rows=self.sample_rows,
            partition_keys=dataset.partition_keys,
        )
        notes += schema.warnings
        notes += [f"column {c!r} has mixed types: {how}" for c, how in schema.widened.items()]
        if not schema.sampled:
            return TableChange(f"{database}.{name}", "unchanged", data_uri, fmt.kind, notes=notes)
        keys = [
            Column(k, partition_type([v[i] for v in dataset.partitions]))
            for i, k in enumerate(dataset.partition_keys)
        ]
        serde: dict[str, Any] = {}
        if fmt.kind == "csv":
            serde = {"delimiter": fmt.delimiter or ",", "header": True, "quote": '"'}
        if fmt.compression:
            serde["compression"] = fmt.compression
        if schema.encoding != "utf-8":
            serde["encoding"] = schema.encoding  # the SQL engine reads the files with it
        parameters: dict[str, Any] = {
            "crawler_root": root.uri,
            "classification": fmt.name,
            "last_crawled": datetime.now(UTC).isoformat(),
            "files": len(files),
        }
        if schema.varying_columns:
            parameters["union_by_name"] = True
        partitions = self._partitions(database, name, data_uri, dataset, schema.row_count)
        if table is None:
            return self._add(
                catalog,
                database,
                name,
                data_uri,
                fmt.kind,
                schema,
                keys,
                serde,
                parameters,
                partitions,
                notes,
            )
        return self._update(
            catalog, table, fmt.kind, schema, keys, serde, parameters, partitions, notes
        )

    def _add(
        self,
        catalog: CatalogStore,
        database: str,
        name: str,
        data_uri: str,
        kind: str,
        schema: Any,
        keys: list[Column],
        serde: dict[str, Any],
        parameters: dict[str, Any],
        partitions: list[Partition],
        notes: list[str],
    ) -> TableChange:
        try:
            catalog.get_table(database, name)
            name = f"{name}_{hashlib.sha1(data_uri.encode()).hexdigest()[:4]}"
            notes.append(f"a table of that name exists elsewhere; named this one {name}")
        except NotFoundError:
            pass
        table = Table(
            database=database,
            name=name,
            location=data_uri,
            format=kind,
            columns=[Column(c, t) for c, t in schema.columns.items()],
            partition_keys=keys,
            serde=serde,
            row_count=schema.row_count,
            parameters=parameters,
        )
        catalog.create_table(table)
        added = catalog.put_partitions(database, name, partitions) if partitions else 0
        return TableChange(
            table.full_name,
            "added",
            data_uri,
            kind,
            columns_added=list(schema.columns),
            partitions_added=added,
            row_count=schema.row_count,
            notes=notes,
        )

    def _update(
        self,
        catalog: CatalogStore,
        table: Table,
        kind: str,
        schema: Any,
        keys: list[Column],
        serde: dict[str, Any],
        parameters: dict[str, Any],
        partitions: list[Partition],
        notes: list[str],
    ) -> TableChange:
        old = {c.name: c.type for c in table.columns}
        diff = merge_types(old, schema.columns)
        change = TableChange(
            table.full_name,
            "unchanged",
            table.location,
            kind,
            columns_added=diff["added"],
            types_changed=diff["changed"],
            columns_missing=diff["missing"],
            row_count=schema.row_count,
            notes=notes,
        )
        if diff["missing"]:
            notes.append(f"column(s) {', '.join(diff['missing'])} not in the sampled files (kept)")
        restored = table.deprecated
        known = {tuple(p.values) for p in catalog.list_partitions(table.database, table.name)}
        new_parts = [p for p in partitions if tuple(p.values) not in known]
        vanished = vanished_partitions(
            catalog, table, partitions, known, on_delete=self.on_delete, recrawl=self.recrawl
        )
        change.partitions_vanished = vanished
        schema_changed = bool(diff["added"] or diff["changed"]) or kind != table.format
        if schema_changed and self.schema_change == "log":
            change.action = "logged"
            notes.append("schema changes logged, not applied (schema_change='log')")
        elif schema_changed or restored:
            merged = [Column(c.name, _merged(c, schema.columns), c.comment) for c in table.columns]
            merged += [Column(n, schema.columns[n]) for n in diff["added"]]
            table.columns = merged
            table.format = kind
            table.serde = {**table.serde, **serde}
            change.action = "restored" if restored and not schema_changed else "updated"
        table.row_count = schema.row_count
        if not table.partition_keys:
            table.partition_keys = keys
        table.parameters = {
            k: v for k, v in {**table.parameters, **parameters}.items() if k != "deprecated"
        }
        catalog.update_table(table)
        if partitions:
            catalog.put_partitions(table.database, table.name, partitions)
        change.partitions_added = len(new_parts)
        if change.action == "unchanged" and (new_parts or vanished):
            change.action = "updated"
        return change

    def _new_partitions_only(
        self, catalog: CatalogStore, table: Table, dataset: Dataset
    ) -> TableChange:
        known = {tuple(p.values) for p in catalog.list_partitions(table.database, table.name)}
        fresh = [
            p
            for p in self._partitions(table.database, table.name, table.location, dataset, None)
            if tuple(p.values) not in known
        ]
        if fresh and table.partition_keys:
            catalog.put_partitions(table.database, table.name, fresh)
        return TableChange(
            table.full_name,
            "updated" if fresh else "unchanged",
            table.location,
            table.format,
            partitions_added=len(fresh),
            notes=["recrawl='new_folders': existing schema kept"],
        )

    def _partitions(
        self, database: str, name: str, data_uri: str, dataset: Dataset, rows: int | None
    ) -> list[Partition]:
        if not dataset.partition_keys:
            return []
        total = max(1, dataset.size)
        out = []
        for values, infos in sorted(dataset.partitions.items(), key=lambda kv: str(kv[0])):
            size = sum(i.size for i in infos)
            folder = partition_dir(dataset.partition_keys, list(values))
            out.append(
                Partition(
                    database,
                    name,
                    list(values),
                    f"{data_uri}/{folder}",
                    None if rows is None else round(rows * size / total),
                    {"files": len(infos)},
                )
            )
        return out


def _merged(column: Column, found: dict[str, str]) -> str:
    from sagebox.catalog.types import widen

    return widen(column.type, found[column.name]) if column.name in found else column.type


def _ensure_database(catalog: CatalogStore, database: str, root: str) -> bool:
    try:
        catalog.get_database(database)
        return False
    except NotFoundError:
        from sagebox.errors import AlreadyExistsError

        try:
            catalog.create_database(Database(database, description=f"crawled from {root}"))
        except AlreadyExistsError:  # created concurrently
            return False
        return True


def _is_object(uri: str) -> bool:
    from sagebox.lake import format_of

    return not uri.endswith("/") and format_of(uri) is not None


def _parent(location: Location) -> str:
    return location.key.rpartition("/")[0]


def _root_name(location: Location) -> str:
    folder = location.folder
    if folder:
        return folder.rsplit("/", 1)[-1]
    return location.store.uri.rstrip("/").rsplit("/", 1)[-1] or "root"


def _dataset_uri(location: Location, dataset: Dataset, uri: str) -> str:
    if _is_object(uri):
        return location.uri
    folder = "/".join(p for p in (location.folder, dataset.folder) if p)
    return location.store.url(folder) if folder else location.store.uri
