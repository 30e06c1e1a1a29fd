"""SQL over the data lake with DuckDB (the Athena equivalent)."""

from __future__ import annotations

from sagebox.sql.engine import lake_path, query

__all__ = ["lake_path", "query"]
