"""The crawler's policies: what to do on schema changes, vanished data and re-crawls."""

from __future__ import annotations

from typing import Literal

__all__ = ["POLICIES", "DeletePolicy", "RecrawlPolicy", "SchemaChangePolicy"]

SchemaChangePolicy = Literal["update", "log"]
DeletePolicy = Literal["log", "deprecate", "delete"]
RecrawlPolicy = Literal["everything", "new_folders"]

#: Crawler argument → its accepted values.
POLICIES: dict[str, tuple[str, ...]] = {
    "schema_change": ("update", "log"),
    "on_delete": ("log", "deprecate", "delete"),
    "recrawl": ("everything", "new_folders"),
}
