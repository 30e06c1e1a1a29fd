"""``sagebox sql``: query catalog tables with SQL (the Athena equivalent)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table

if TYPE_CHECKING:
    import pyarrow as pa


def sql(
    query: str | None = typer.Argument(None, help='SQL, e.g. "SELECT * FROM reviews.raw".'),
    database: str | None = typer.Option(
        None, "--database", "-d", help="Default database for unqualified table names."
    ),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read the SQL from a file."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write all rows to a .csv, .tsv, .parquet or .jsonl file."
    ),
    output_format: str = typer.Option(
        "table", "--format", help="How to print rows: table, csv or json."
    ),
    max_rows: int = typer.Option(50, "--max-rows", min=1, help="Rows printed as a table."),
    history: bool = typer.Option(False, "--history", help="List recent queries instead."),
    limit: int = typer.Option(20, "--limit", min=1, help="Queries listed with --history."),
    json_output: bool = JsonOption,
) -> None:
    """Run SQL over the catalog's tables; print the rows or write them to a file.

    Examples: ``sagebox sql "SELECT product_category, COUNT(*) FROM reviews.raw GROUP BY 1"``,
    ``sagebox sql "CREATE TABLE reviews.pos AS SELECT * FROM reviews.raw WHERE Rating >= 4"``,
    ``sagebox sql --history``
    """
    from sagebox.errors import InputDataError
    from sagebox.sql import SqlEngine

    engine = SqlEngine(database=database)
    if history:
        _print_history(engine, limit, json_output)
        return
    if file is not None:
        if not file.is_file():
            raise InputDataError(f"{file}: no such SQL file", hint="check the path")
        try:
            query = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputDataError(
                f"{file}: the SQL file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                hint="give a text file of SQL, saved as UTF-8",
            ) from None
    if not query:
        raise InputDataError("no SQL given", hint='pass it as an argument: sagebox sql "SELECT 1"')
    if output_format not in ("table", "csv", "json"):
        raise InputDataError(f"unknown --format {output_format!r}", hint="use table, csv or json")
    result = engine.execute(query)
    summary = {
        "query_id": result.query_id,
        "rows": result.rows,
        "seconds": round(sum(result.timings.values()), 4),
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "tables": result.tables,
        "created_table": result.created_table,
    }
    if out is not None:
        _write(result.table, out)
        summary["out"] = str(out)
    if json_output:
        print_json({**summary, "data": [] if out else result.table.to_pylist()})
        return
    if result.created_table:
        console.print(f"created table {result.created_table} ({result.rows:,} rows)")
    elif out is not None:
        console.print(f"wrote {result.rows:,} rows to {out}")
    elif output_format == "csv":
        sys.stdout.write(result.to_pandas().to_csv(index=False))
    elif output_format == "json":
        print_json(result.table.to_pylist())
    else:
        shown = result.table.slice(0, max_rows)
        print_table(shown.to_pylist(), shown.column_names)
    if output_format == "table" or out is not None or result.created_table:
        more = f", first {max_rows} shown" if result.rows > max_rows and out is None else ""
        console.print(
            f"{result.rows:,} row(s){more} in {summary['seconds']:.3f} s ({result.query_id})",
            style="dim",
            highlight=False,
        )


def _write(table: pa.Table, out: Path) -> None:
    """Write rows to a local file atomically, in the format its suffix names."""
    import pyarrow.parquet as pq

    from sagebox.errors import InputDataError
    from sagebox.lake import format_of

    fmt = format_of(out.name)
    if fmt is None:
        raise InputDataError(
            f"cannot tell the format of --out {out}",
            hint="end it in .csv, .tsv, .parquet or .jsonl",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if fmt.kind == "parquet":
            pq.write_table(table, tmp)
        else:
            frame = table.to_pandas()
            compression = "gzip" if fmt.compression else None
            if fmt.kind == "json":
                frame.to_json(tmp, orient="records", lines=True, compression=compression)
            else:
                frame.to_csv(tmp, sep=fmt.delimiter or ",", index=False, compression=compression)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _print_history(engine: Any, limit: int, json_output: bool) -> None:
    records = engine.history.list(limit)
    if json_output:
        print_json(records)
        return
    rows = [
        {
            "started": r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at else "",
            "status": r.status,
            "seconds": f"{r.seconds:.3f}",
            "rows": "" if r.rows is None else r.rows,
            "sql": " ".join(r.sql.split())[:60],
            "error": (r.error or "")[:60],
        }
        for r in records
    ]
    print_table(rows, ["started", "status", "seconds", "rows", "sql", "error"], title="queries")
