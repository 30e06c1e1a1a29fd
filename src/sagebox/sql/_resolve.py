"""Catalog tables as DuckDB views over their files in the lake (local or S3).

Each referenced ``database.table`` becomes a view ``"database"."table"`` over
``read_parquet``/``read_csv``/``read_json`` of the table's current files, with Hive
partitioning switched on for partitioned tables, so a filter on a partition key reads only
the matching folders (DuckDB prunes the file list before opening files).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagebox.catalog.types import to_duckdb
from sagebox.errors import InputDataError, NotFoundError

if TYPE_CHECKING:
    import duckdb

    from sagebox.backends.metadata import Table
    from sagebox.lake import LakeFile
    from sagebox.session import Session

__all__ = ["create_view", "duckdb_path", "quote_identifier", "table_refs"]

#: schemas that belong to DuckDB, never to the catalog
_DUCKDB_SCHEMAS = {"main", "information_schema", "pg_catalog", "temp", "system"}


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def table_refs(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    """``(schema, table)`` of every table a SELECT names (schema ``""`` when unqualified).

    Returns an empty list for statements DuckDB cannot serialise (anything but SELECT); a
    syntax error is left for the execution to report with its position.
    """
    rows = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    tree = json.loads(rows[0][0]) if rows else {}
    if tree.get("error"):
        return []
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and "table_name" in node:
                pair = (str(node.get("schema_name") or ""), str(node["table_name"]))
                if pair not in found:
                    found.append(pair)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree.get("statements", []))
    return found


def resolve_refs(
    session: Session, refs: list[tuple[str, str]], default_database: str | None
) -> list[Table]:
    """The catalog tables that ``refs`` name.

    Qualified names must exist (or :class:`NotFoundError` suggests close ones); unqualified
    names are looked up in ``default_database`` and otherwise left to DuckDB (CTEs, views).
    """
    catalog = session.catalog
    tables: list[Table] = []
    for schema, name in refs:
        if schema.lower() in _DUCKDB_SCHEMAS:
            continue
        database = schema or default_database
        if database is None:
            continue
        try:
            table = catalog.get_table(database, name)
        except NotFoundError:
            if schema:
                raise
            continue
        if all(t.full_name != table.full_name for t in tables):
            tables.append(table)
    return tables


def create_view(con: duckdb.DuckDBPyConnection, session: Session, table: Table) -> int:
    """Create the view of ``table`` on ``con``; return how many files it reads at most."""
    from sagebox.lake import list_files, locate

    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(table.database)}")
    target = f"{quote_identifier(table.database)}.{quote_identifier(table.name)}"
    location = locate(table.location.rstrip("/") + ("" if _is_object(table) else "/"), session)
    try:
        files = list_files(location, (table.format,), session)
    except InputDataError:  # nothing there (yet): an empty table, as in Athena
        files = []
    if not files:
        con.execute(f"CREATE OR REPLACE VIEW {target} AS {_empty_select(table)}")
        return 0
    paths = [duckdb_path(con, f) for f in files]
    import duckdb

    try:
        con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {_reader(table, paths)}")
    except duckdb.Error as exc:  # DuckDB sniffs the files here: binary, undecodable, not CSV
        raise unreadable_table(table, exc) from None
    return len(paths)


def unreadable_table(table: Table, exc: Exception) -> InputDataError:
    """A one-line error for a table whose files DuckDB cannot read (names the table and why)."""
    text = str(exc)
    lines = [line.strip() for line in text.split("\n\n", 1)[0].splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    reason = reason.split(": ", 1)[1] if reason.endswith(".") and ": " in reason else reason
    if "not utf-8 encoded" in text.lower() or "invalid unicode" in text.lower():
        reason = "its files are not valid UTF-8 text"
        hint = (
            "re-save the files as UTF-8, then run `sagebox crawl` again (it records UTF-16 "
            "and Latin-1 files' encoding)"
        )
    else:
        hint = (
            f"check the files under {table.location} (`sagebox lake cat` one of them); remove "
            f"or fix those that are not {table.format}, then run `sagebox crawl` again"
        )
    return InputDataError(f"cannot read table {table.full_name}: {reason[:300]}", hint=hint)


def _is_object(table: Table) -> bool:
    from sagebox.lake import format_of

    return format_of(table.location) is not None


def duckdb_path(con: duckdb.DuckDBPyConnection, file: LakeFile) -> str:
    """The path DuckDB reads ``file`` at; registers a remote filesystem on ``con`` first."""
    fs, root = file.location.store.filesystem()
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    path = f"{root.rstrip('/')}/{file.location.key}"
    if protocols[0] in ("file", "local"):
        return path
    if not con.filesystem_is_registered(protocols[0]):
        con.register_filesystem(fs)
    return f"{protocols[0]}://{path}"


def _reader(table: Table, paths: list[str]) -> str:
    files = "[" + ", ".join(_literal(p) for p in paths) + "]"
    options = [f"hive_partitioning = {'true' if table.partition_keys else 'false'}"]
    if table.partition_keys:
        hive = ", ".join(
            f"{_literal(c.name)}: {_literal(to_duckdb(c.type))}" for c in table.partition_keys
        )
        options.append(f"hive_types = {{{hive}}}")
    if table.parameters.get("union_by_name"):
        options.append("union_by_name = true")
    if table.format == "parquet":
        return f"read_parquet({files}, {', '.join(options)})"
    types = ", ".join(f"{_literal(c.name)}: {_literal(to_duckdb(c.type))}" for c in table.columns)
    if table.format == "json":
        options += ["format = 'newline_delimited'", f"columns = {{{types}}}"]
        return f"read_json({files}, {', '.join(options)})"
    serde = table.serde
    header = "true" if serde.get("header", True) else "false"
    delimiter = _literal(str(serde.get("delimiter", ",")))
    quote = _literal(str(serde.get("quote", '"')))
    escape = _literal(str(serde.get("escape", '"')))
    options += [f"header = {header}", f"delim = {delimiter}", f"quote = {quote}"]
    options.append(f"escape = {escape}")
    if types:
        options.append(f"types = {{{types}}}")
    encoding = str(serde.get("encoding") or "utf-8")
    if encoding.lower() not in ("utf-8", "utf8"):
        options.append(f"encoding = {_literal(encoding)}")
    if serde.get("on_bad_lines") == "skip":
        options.append("ignore_errors = true")
    return f"read_csv({files}, {', '.join(options)})"


def _empty_select(table: Table) -> str:
    columns = table.all_columns()
    if not columns:
        return "SELECT NULL AS no_columns WHERE false"
    body = ", ".join(
        f"CAST(NULL AS {to_duckdb(c.type)}) AS {quote_identifier(c.name)}" for c in columns
    )
    return f"SELECT {body} WHERE false"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
