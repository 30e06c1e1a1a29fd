"""Data that vanished since the last crawl: log it, mark it deprecated, or drop its entries.

Only catalog entries are ever changed or deleted; the lake is not touched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sagebox.backends.metadata import Partition, Table
from sagebox.catalog.crawler._policy import DeletePolicy, RecrawlPolicy
from sagebox.catalog.crawler.summary import TableChange

if TYPE_CHECKING:
    from sagebox.backends.metadata import CatalogStore

__all__ = ["vanished_partitions", "vanished_table"]


def vanished_partitions(
    catalog: CatalogStore,
    table: Table,
    found: list[Partition],
    known: set[tuple[str | None, ...]],
    *,
    on_delete: DeletePolicy,
    recrawl: RecrawlPolicy,
) -> int:
    """Apply the delete policy to partitions in the catalog but not ``found``; count them."""
    present = {tuple(p.values) for p in found}
    gone = [list(v) for v in known if v not in present]
    if not gone or recrawl == "new_folders":
        return len(gone)
    if on_delete == "delete":
        catalog.delete_partitions(table.database, table.name, gone)
    elif on_delete == "deprecate":
        stale = [
            Partition(
                p.database,
                p.table,
                p.values,
                p.location,
                p.row_count,
                {**p.parameters, "deprecated": True},
            )
            for p in catalog.list_partitions(table.database, table.name)
            if p.values in gone
        ]
        catalog.put_partitions(table.database, table.name, stale)
    return len(gone)


def vanished_table(
    catalog: CatalogStore, table: Table, *, on_delete: DeletePolicy, recrawl: RecrawlPolicy
) -> TableChange:
    """Apply the delete policy to a table whose dataset folder is gone."""
    change = TableChange(table.full_name, "vanished", table.location, table.format)
    if recrawl == "new_folders" or on_delete == "log":
        change.notes.append("its data is gone; logged only")
        return change
    if on_delete == "delete":
        catalog.delete_table(table.database, table.name)
        change.action = "deleted"
        change.notes.append("removed from the catalog; no data was deleted")
        return change
    if table.deprecated:
        change.action = "unchanged"
        change.notes.append("already deprecated")
        return change
    table.parameters = {
        **table.parameters,
        "deprecated": True,
        "deprecated_at": datetime.now(UTC).isoformat(),
    }
    catalog.update_table(table)
    change.action = "deprecated"
    return change
