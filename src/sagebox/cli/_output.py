"""Shared CLI output helpers: Rich tables for people, one JSON object per line for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console()
err_console = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, enums, datetimes and paths into JSON-friendly values."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON line on stdout."""
    typer.echo(json.dumps(to_jsonable(value), default=str))


def print_record(record: Any, json_output: bool) -> None:
    """Print one record (a dataclass) as JSON or as ``field: value`` lines."""
    if json_output:
        print_json(record)
        return
    for name, value in to_jsonable(record).items():
        console.print(f"[bold]{name}[/bold]: {'' if value is None else value}")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str = "") -> None:
    """Print rows as a Rich table with the given columns."""
    from rich.table import Table

    table = Table(title=title or None)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(
            *("" if row.get(c) is None else str(to_jsonable(row.get(c))) for c in columns)
        )
    console.print(table)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A Rich progress display on stderr (so ``--json`` stdout stays clean).

    Shown only when stderr is a terminal, so logs and error output of scripts stay clean.
    """
    prog = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not (enabled and err_console.is_terminal),
        transient=False,
    )
    with prog:
        yield prog
