"""SQL over catalog tables (the Athena equivalent): resolve names, run DuckDB, record history."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagebox.backends.metadata import QueryRecord
from sagebox.errors import InputDataError, NotFoundError, SageboxError
from sagebox.sql._ctas import Ctas, parse_ctas
from sagebox.sql._resolve import create_view, quote_identifier, resolve_refs, table_refs

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from sagebox.backends.metadata import QueryHistory, Table
    from sagebox.session import Session

__all__ = ["QueryResult", "SqlEngine", "SqlError"]

_MISSING_TABLE = re.compile(r'Table with name "?([^"\s]+)"? does not exist')


class SqlError(InputDataError):
    """DuckDB rejected a query: its message, and where in the query (1-based line, column)."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.line = line
        self.column = column


@dataclass
class QueryResult:
    """A query's rows (as Arrow) and what it took.

    Example:
        >>> result = SqlEngine(session).execute("SELECT 1 AS one")  # doctest: +SKIP
        >>> result.to_pandas()["one"].tolist(), result.timings["execute"] < 1  # doctest: +SKIP
        ([1], True)
    """

    query_id: str
    table: pa.Table
    tables: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    created_table: str | None = None

    @property
    def rows(self) -> int:
        """Number of rows returned."""
        return int(self.table.num_rows)

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame."""
        return self.table.to_pandas()

    def to_arrow(self) -> pa.Table:
        """The rows as an Arrow table."""
        return self.table


class SqlEngine:
    """Run DuckDB SQL over the tables of the catalog, by name.

    ``database.table`` names resolve to views over the table's files in the lake (local or
    S3); bare names resolve in ``database``. ``CREATE TABLE db.t AS SELECT ...`` writes
    Parquet into the lake and registers the table. Every query is recorded in the history.
    An engine keeps one DuckDB connection; use one engine per thread.

    The default engine has DuckDB's full power, as the local user has anyway (``read_csv`` of
    any file, ``COPY ... TO`` any path). ``locked_down=True`` is for anything served to others
    (over HTTP): DuckDB's external access is off with only the lake's root allowed (so
    catalog tables elsewhere, local files, ``COPY``, ``ATTACH`` and extension installs are
    refused), the configuration is locked against ``SET``, and only one read-only statement
    (``SELECT`` or ``EXPLAIN``) runs per call: no CTAS, ``CREATE``, ``PRAGMA`` or ``INSTALL``.

    Args:
        session: whose catalog, lake and metadata database to use.
        database: the default database for unqualified table names.
        record_history: whether to record queries.
        locked_down: refuse everything but reading the lake's catalog tables.

    Example:
        >>> engine = SqlEngine(Session(), database="reviews")  # doctest: +SKIP
        >>> engine.execute(
        ...     "SELECT product_category, COUNT(*) AS n FROM raw GROUP BY 1"
        ... ).to_pandas()  # doctest: +SKIP
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        database: str | None = None,
        record_history: bool = True,
        locked_down: bool = False,
    ) -> None:
        from sagebox.session import Session

        self.session = session or Session()
        self.locked_down = locked_down
        self.database = database.lower() if database else None
        self.record_history = record_history
        self._history: QueryHistory | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def history(self) -> QueryHistory:
        """The query history in the metadata database."""
        if self._history is None:
            from sagebox.backends.metadata import open_query_history

            self._history = open_query_history(self.session.settings.metadata_uri)
        return self._history

    def execute(self, sql: str, *, database: str | None = None) -> QueryResult:
        """Run one statement and return its rows (none for CTAS: see ``created_table``).

        Raises:
            SqlError: DuckDB rejected the query (message with line and column).
            NotFoundError: a qualified table name is not in the catalog (close names hinted).
            AlreadyExistsError: CTAS into an existing table (without IF NOT EXISTS / REPLACE).
        """
        if not sql or not sql.strip():
            raise InputDataError("empty SQL query", hint='e.g. sagebox sql "SELECT 1"')
        default = database.lower() if database else self.database
        query_id = f"q-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        started, wall = datetime.now(UTC), time.perf_counter()
        timings: dict[str, float] = {}
        tables: list[str] = []
        output: str | None = None
        try:
            if self.locked_down:
                _check_read_only(sql)
            ctas = parse_ctas(sql)
            result = self._run(sql, ctas, default, query_id, timings, tables)
            output = result.created_table
        except BaseException as exc:
            self._record(query_id, sql, default, started, wall, timings, tables, None, exc, output)
            raise
        self._record(
            query_id, sql, default, started, wall, timings, tables, result.rows, None, output
        )
        return result

    def _run(
        self,
        sql: str,
        ctas: Ctas | None,
        default: str | None,
        query_id: str,
        timings: dict[str, float],
        tables: list[str],
    ) -> QueryResult:

        mark = time.perf_counter()
        query = ctas.query if ctas else sql
        con = self._connection()
        views: list[str] = []
        try:
            resolved = resolve_refs(self.session, table_refs(con, query), default)
            files = {}
            for table in resolved:
                files[table.full_name] = create_view(con, self.session, table)
                views.append(f"{quote_identifier(table.database)}.{quote_identifier(table.name)}")
                tables.append(table.full_name)
            if default:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(default)}")
                con.execute(f"USE {quote_identifier(default)}")
            timings["plan"] = time.perf_counter() - mark
            mark = time.perf_counter()
            arrow = self._fetch(con, query, default)
            timings["execute"] = time.perf_counter() - mark
        finally:
            self._reset(con, views)
        result = QueryResult(query_id, arrow, list(tables), timings, files)
        if ctas is not None:
            mark = time.perf_counter()
            from sagebox.sql._write_table import create_table_as

            result.created_table = create_table_as(self.session, ctas, default, arrow, query_id)
            timings["write"] = time.perf_counter() - mark
        return result

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """This engine's DuckDB connection (opening one costs ~0.1 s, so it is kept)."""
        import duckdb

        if self._con is None:
            if not self.locked_down:
                self._con = duckdb.connect()
            else:
                self._con = self._locked_connection()
        return self._con

    def _locked_connection(self) -> duckdb.DuckDBPyConnection:
        """A connection that reads only under the lake's root and cannot be reconfigured."""
        import duckdb

        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        fs, root = self.session.storage.filesystem()
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        allowed = root.rstrip("/") + "/"
        if protocols[0] not in ("file", "local"):
            con.register_filesystem(fs)  # before the lock: the lake's own filesystem
            allowed = f"{protocols[0]}://{allowed}"
        con.execute("SET allowed_directories = ?", [[allowed]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con

    def _reset(self, con: duckdb.DuckDBPyConnection, views: list[str]) -> None:
        """Drop the query's views, so the next query sees the catalog as it is then."""
        try:
            for view in views:
                con.execute(f"DROP VIEW IF EXISTS {view}")
            con.execute("USE memory.main")
        except Exception:  # noqa: BLE001 - a connection in a bad state is replaced
            self.close_connection()

    def close_connection(self) -> None:
        """Close the DuckDB connection (a new one opens on the next query)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def _fetch(self, con: duckdb.DuckDBPyConnection, query: str, default: str | None) -> pa.Table:
        import duckdb

        try:
            relation = con.sql(query)
            if relation is None:  # a statement without rows (SET, CREATE VIEW ...)
                import pyarrow as pa

                return pa.table({})
            return relation.to_arrow_table()
        except duckdb.Error as exc:
            error = _with_position(con, query, exc)
            missing = _MISSING_TABLE.search(str(error))
            if isinstance(error, duckdb.CatalogException) and missing:
                raise self._unknown_table(missing[1], default) from None
            raise sql_error(error, query) from None

    def _unknown_table(self, name: str, default: str | None) -> NotFoundError:
        database, _, table = name.rpartition(".")
        catalog = self.session.catalog
        if database or default:
            return catalog.missing_table(database or default or "", table)
        known = [n for n in catalog.table_names() if n.rpartition(".")[2] == table.lower()]
        hint = "qualify it as database.table"
        if known:
            hint = f"did you mean {' or '.join(known)}? (or pass a default database)"
        return NotFoundError(f"no table {table!r}: unqualified and no default database", hint=hint)

    def _record(
        self,
        query_id: str,
        sql: str,
        database: str | None,
        started: datetime,
        wall: float,
        timings: dict[str, float],
        tables: list[str],
        rows: int | None,
        error: BaseException | None,
        output: str | None,
    ) -> None:
        if not self.record_history:
            return
        message = None
        if error is not None:
            message = error.message if isinstance(error, SageboxError) else repr(error)
        record = QueryRecord(
            query_id=query_id,
            sql=sql,
            status="failed" if error is not None else "succeeded",
            seconds=time.perf_counter() - wall,
            database=database,
            error=message,
            rows=rows,
            tables=tables,
            output=output,
            timings=timings,
            started_at=started,
        )
        try:
            self.history.add(record)
        except SageboxError:
            if error is None:
                raise

    def tables_of(self, sql: str, database: str | None = None) -> list[Table]:
        """The catalog tables a query reads (for tools that want to inspect them)."""
        con = self._connection()
        return resolve_refs(self.session, table_refs(con, sql), database or self.database)


#: statement types a locked-down engine runs
_READ_ONLY = ("SELECT", "EXPLAIN")


def _check_read_only(sql: str) -> None:
    """Refuse anything but one SELECT/EXPLAIN (a locked-down engine is read-only)."""
    import duckdb

    if parse_ctas(sql) is not None:
        raise SqlError(
            "CREATE TABLE AS statements are not allowed in locked-down SQL (read-only, lake only)",
            hint="only SELECT queries over catalog tables run here",
        )
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return  # a syntax error: the execution reports it with its position
    if len(statements) != 1:
        raise SqlError(
            f"locked-down SQL runs one statement at a time, not {len(statements)}",
            hint="send each SELECT on its own",
        )
    kind = statements[0].type.name
    if kind not in _READ_ONLY:
        raise SqlError(
            f"{kind} statements are not allowed in locked-down SQL (read-only, lake only)",
            hint="only SELECT queries over catalog tables run here",
        )


def _with_position(con: duckdb.DuckDBPyConnection, query: str, exc: Exception) -> Exception:
    """The same error with DuckDB's ``LINE n:`` context (relations leave it out)."""
    if "\nLINE " in str(exc):
        return exc
    try:
        con.execute(query)
    except Exception as again:  # noqa: BLE001 - the re-raised error is the richer twin
        return again if type(again) is type(exc) else exc
    return exc


def sql_error(exc: Exception, query: str) -> SqlError:
    """A :class:`SqlError` from a DuckDB exception: its message, line and column."""
    text = str(exc)
    head, _, rest = text.partition("\n\nLINE ")
    # DuckDB's first paragraph says what went wrong; reader errors go on with pages of options
    first = head.split("\n\n", 1)[0]
    message = "; ".join(part.strip() for part in first.splitlines() if part.strip())[:500]
    line = column = None
    hint = "check the query and the table and column names (sagebox catalog tables list)"
    if rest:
        shown, _, caret = rest.partition("\n")
        number, _, display = shown.partition(": ")
        if number.isdigit() and "^" in caret:
            line = int(number)
            offset = caret.index("^") - (len(number) + 2 + len("LINE "))
            column = _column(query, line, display, offset)
            source = query.splitlines()[line - 1] if line <= len(query.splitlines()) else display
            hint = f"line {line}, column {column}: {_pointer(source, column)}"
            message += f" (line {line}, column {column})"
    return SqlError(f"SQL error: {message}", hint=hint, line=line, column=column)


def _column(query: str, line: int, display: str, offset: int) -> int:
    lines = query.splitlines()
    if line > len(lines):
        return max(1, offset + 1)
    source = lines[line - 1]
    core = display
    if core.startswith("..."):
        core, offset = core[3:], offset - 3
    core = core.removesuffix("...")
    base = source.find(core[:40]) if core else 0
    return max(1, (base if base >= 0 else 0) + offset + 1)


def _pointer(source: str, column: int, width: int = 60) -> str:
    """The text around ``column`` with a ▸ before it, cut to about ``width`` characters."""
    index = column - 1
    start = max(0, index - width // 2)
    before, after = source[start:index], source[index : index + width // 2]
    return (
        ("..." if start else "")
        + before
        + "▸"
        + after
        + ("..." if len(source) > index + width // 2 else "")
    )


def rows_preview(result: QueryResult, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows as dicts (for printing)."""
    return result.table.slice(0, limit).to_pylist()
