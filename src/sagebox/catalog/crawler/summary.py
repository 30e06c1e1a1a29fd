"""What a crawl did: one :class:`TableChange` per table, gathered in a :class:`CrawlSummary`."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CrawlSummary", "TableChange"]


@dataclass
class TableChange:
    """What a crawl did to one table.

    ``action`` is ``added``, ``updated``, ``unchanged``, ``logged`` (changes seen but not
    applied: schema-change policy ``log``), ``restored`` (data came back), ``deprecated``,
    ``deleted`` (from the catalog only) or ``vanished`` (delete policy ``log``).
    """

    table: str
    action: str
    location: str
    format: str = ""
    columns_added: list[str] = field(default_factory=list)
    types_changed: dict[str, str] = field(default_factory=dict)
    columns_missing: list[str] = field(default_factory=list)
    partitions_added: int = 0
    partitions_vanished: int = 0
    row_count: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class CrawlSummary:
    """The outcome of one crawl: per-table changes, files seen, warnings, time.

    Example:
        >>> summary = Crawler(session).crawl("raw/", database="reviews")  # doctest: +SKIP
        >>> summary.counts()  # doctest: +SKIP
        {'added': 2, 'updated': 0, 'unchanged': 0, ...}
    """

    root: str
    database: str
    files: int = 0
    seconds: float = 0.0
    tables: list[TableChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    database_created: bool = False

    def counts(self) -> dict[str, int]:
        """Tables per action, and partitions added."""
        out = {a: 0 for a in ("added", "updated", "unchanged", "logged", "restored")}
        out.update({"deprecated": 0, "deleted": 0, "vanished": 0})
        for change in self.tables:
            out[change.action] = out.get(change.action, 0) + 1
        out["partitions_added"] = sum(c.partitions_added for c in self.tables)
        return out

    def changed(self) -> bool:
        """Whether the crawl changed the catalog."""
        return any(c.action not in ("unchanged", "logged", "vanished") for c in self.tables)
