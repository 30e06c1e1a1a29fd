"""``sagebox catalog``: databases, tables and partitions of the data catalog (Glue's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table

if TYPE_CHECKING:
    from sagebox.catalog import CatalogStore, Column

app = typer.Typer(
    help="Browse and edit the data catalog (the Glue equivalent).", no_args_is_help=True
)
databases = typer.Typer(help="Databases of the catalog.", no_args_is_help=True)
tables = typer.Typer(help="Tables of the catalog.", no_args_is_help=True)
partitions = typer.Typer(help="Partitions of a table.", no_args_is_help=True)
app.add_typer(databases, name="databases")
app.add_typer(tables, name="tables")
app.add_typer(partitions, name="partitions")


def _catalog() -> CatalogStore:
    from sagebox.session import Session

    return Session().catalog


def _split(name: str) -> tuple[str, str]:
    from sagebox.catalog import split_table_name

    return split_table_name(name)


def _columns(specs: list[str], what: str) -> list[Column]:
    from sagebox.catalog import Column
    from sagebox.catalog.types import normalize_type
    from sagebox.errors import InputDataError

    out = []
    for spec in specs:
        name, sep, kind = spec.rpartition(":")
        if not sep or not name:
            raise InputDataError(f"bad {what} {spec!r}", hint="write NAME:TYPE, e.g. Rating:bigint")
        out.append(Column(name, normalize_type(kind)))
    return out


def _tags(specs: list[str]) -> dict[str, str]:
    from sagebox.errors import InputDataError

    out = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise InputDataError(f"bad tag {spec!r}", hint="write KEY=VALUE, e.g. owner=data-team")
        out[key] = value
    return out


# databases
@databases.command("list")
def list_databases(json_output: bool = JsonOption) -> None:
    """List databases."""
    found = _catalog().list_databases()
    if json_output:
        print_json(found)
    else:
        print_table([d.__dict__ for d in found], ["name", "description", "created_at"])


@databases.command("create")
def create_database(
    name: str = typer.Argument(..., help="Database name (letters, digits, _)."),
    description: str = typer.Option("", "--description", help="Free text."),
    json_output: bool = JsonOption,
) -> None:
    """Create a database."""
    from sagebox.catalog import Database

    created = _catalog().create_database(Database(name, description=description))
    print_json(created) if json_output else console.print(f"created database {created.name}")


@databases.command("describe")
def describe_database(
    name: str = typer.Argument(..., help="Database name."), json_output: bool = JsonOption
) -> None:
    """Show a database and its tables."""
    catalog = _catalog()
    database = catalog.get_database(name)
    found = catalog.list_tables(database.name)
    if json_output:
        print_json({**database.__dict__, "tables": [t.name for t in found]})
        return
    console.print(f"[bold]{database.name}[/bold] {database.description}")
    print_table(_table_rows(found), ["table", "format", "rows", "partitions", "location"])


@databases.command("delete")
def delete_database(
    name: str = typer.Argument(..., help="Database name."),
    cascade: bool = typer.Option(False, "--cascade", help="Delete its tables too (not data)."),
) -> None:
    """Delete a database from the catalog (data in the lake is never deleted)."""
    _catalog().delete_database(name, cascade=cascade)
    console.print(f"deleted database {name}")


# tables
def _table_rows(found: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "table": t.full_name,
            "format": t.format,
            "rows": "" if t.row_count is None else f"~{t.row_count:,}",
            "partitions": ", ".join(c.name for c in t.partition_keys),
            "location": t.location,
            "status": "deprecated" if t.deprecated else "",
        }
        for t in found
    ]


@tables.command("list")
def list_tables(
    database: str | None = typer.Argument(None, help="Only this database."),
    json_output: bool = JsonOption,
) -> None:
    """List tables."""
    found = _catalog().list_tables(database)
    if json_output:
        print_json(found)
    else:
        print_table(
            _table_rows(found), ["table", "format", "rows", "partitions", "status", "location"]
        )


@tables.command("describe")
def describe_table(
    name: str = typer.Argument(..., help="database.table"), json_output: bool = JsonOption
) -> None:
    """Show a table: location, format, columns, partition keys, tags."""
    catalog = _catalog()
    table = catalog.get_table(*_split(name))
    count = len(catalog.list_partitions(table.database, table.name))
    if json_output:
        print_json({**table.__dict__, "partitions": count})
        return
    console.print(f"[bold]{table.full_name}[/bold]  {table.description}")
    for label, value in (
        ("location", table.location),
        ("format", f"{table.format} {table.serde or ''}"),
        ("rows", "unknown" if table.row_count is None else f"~{table.row_count:,}"),
        ("partitions", count),
        ("tags", table.tags or ""),
        ("parameters", table.parameters),
        ("updated", table.updated_at),
    ):
        console.print(f"[bold]{label}[/bold]: {value}", highlight=False)
    rows = [{"column": c.name, "type": c.type, "comment": c.comment} for c in table.columns]
    rows += [
        {"column": c.name, "type": c.type, "comment": "partition key"} for c in table.partition_keys
    ]
    print_table(rows, ["column", "type", "comment"])


@tables.command("create")
def create_table(
    name: str = typer.Argument(..., help="database.table"),
    location: str = typer.Option(..., "--location", help="Lake key or URI of the data."),
    fmt: str = typer.Option("parquet", "--format", help="csv, json or parquet."),
    column: list[str] = typer.Option([], "--column", "-c", help="NAME:TYPE (repeat)."),
    partition_key: list[str] = typer.Option([], "--partition-key", help="NAME:TYPE (repeat)."),
    delimiter: str = typer.Option(",", "--delimiter", help="CSV field delimiter."),
    description: str = typer.Option("", "--description", help="Free text."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE (repeat)."),
    json_output: bool = JsonOption,
) -> None:
    """Register a table by hand (the crawler does this for you)."""
    from sagebox.catalog import Table
    from sagebox.lake import locate

    database, table_name = _split(name)
    table = Table(
        database=database,
        name=table_name,
        location=locate(location).uri.rstrip("/"),
        format=fmt.lower(),
        columns=_columns(column, "column"),
        partition_keys=_columns(partition_key, "partition key"),
        serde={"delimiter": delimiter, "header": True} if fmt.lower() == "csv" else {},
        description=description,
        tags=_tags(tag),
    )
    created = _catalog().create_table(table)
    print_json(created) if json_output else console.print(f"created table {created.full_name}")


@tables.command("update")
def update_table(
    name: str = typer.Argument(..., help="database.table"),
    description: str | None = typer.Option(None, "--description", help="New description."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE to set (repeat)."),
    remove_tag: list[str] = typer.Option([], "--remove-tag", help="KEY to remove (repeat)."),
    location: str | None = typer.Option(None, "--location", help="New data location."),
    add_column: list[str] = typer.Option([], "--add-column", help="NAME:TYPE (repeat)."),
    undeprecate: bool = typer.Option(False, "--undeprecate", help="Clear the deprecated mark."),
    json_output: bool = JsonOption,
) -> None:
    """Change a table's description, tags, location or columns."""
    from sagebox.lake import locate

    catalog = _catalog()
    table = catalog.get_table(*_split(name))
    if description is not None:
        table.description = description
    table.tags = {k: v for k, v in {**table.tags, **_tags(tag)}.items() if k not in set(remove_tag)}
    if location is not None:
        table.location = locate(location).uri.rstrip("/")
    table.columns += _columns(add_column, "column")
    if undeprecate:
        table.parameters.pop("deprecated", None)
        table.parameters.pop("deprecated_at", None)
    updated = catalog.update_table(table)
    print_json(updated) if json_output else console.print(f"updated table {updated.full_name}")


@tables.command("delete")
def delete_table(name: str = typer.Argument(..., help="database.table")) -> None:
    """Delete a table from the catalog (its data in the lake is not touched)."""
    database, table_name = _split(name)
    _catalog().delete_table(database, table_name)
    console.print(f"deleted table {database}.{table_name} (data left in place)")


@partitions.command("list")
def list_partitions(
    name: str = typer.Argument(..., help="database.table"), json_output: bool = JsonOption
) -> None:
    """List a table's partitions."""
    catalog = _catalog()
    database, table_name = _split(name)
    table = catalog.get_table(database, table_name)
    found = catalog.list_partitions(database, table_name)
    if json_output:
        print_json(found)
        return
    keys = [c.name for c in table.partition_keys]
    rows = [
        {
            **{k: "" if v is None else v for k, v in zip(keys, p.values, strict=False)},
            "rows": "" if p.row_count is None else f"~{p.row_count:,}",
            "status": "deprecated" if p.parameters.get("deprecated") else "",
            "location": p.location,
        }
        for p in found
    ]
    print_table(rows, [*keys, "rows", "status", "location"], title=f"{len(found)} partitions")
