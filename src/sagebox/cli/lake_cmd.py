"""``sagebox lake``: list, copy in and out, print and delete objects of the data lake.

Locations are lake keys (``raw/reviews/``), local paths or URIs (``s3://bucket/prefix``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table, progress

if TYPE_CHECKING:
    from sagebox.lake import Entry

app = typer.Typer(help="Manage objects in the data lake (the S3 equivalent).", no_args_is_help=True)

RecursiveOption = typer.Option(False, "--recursive", "-r", help="Every object under the prefix.")


def human_size(size: float) -> str:
    """``1536`` → ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _rows(entries: list[Entry]) -> list[dict[str, Any]]:
    return [
        {
            "key": e.key,
            "size": human_size(e.size),
            "objects": e.objects if e.is_dir else "",
            "modified": ""
            if e.modified is None
            else datetime.fromtimestamp(e.modified, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        for e in entries
    ]


@app.command("ls")
def ls(
    location: str = typer.Argument("", help="Key, prefix, glob or URI (default: the lake root)."),
    recursive: bool = RecursiveOption,
    json_output: bool = JsonOption,
) -> None:
    """List objects and sub-folders under a prefix."""
    from sagebox import lake

    entries = lake.ls(location, recursive=recursive)
    if json_output:
        print_json(entries)
    else:
        print_table(_rows(entries), ["key", "size", "objects", "modified"])


@app.command("du")
def du(
    location: str = typer.Argument("", help="Key, prefix or URI (default: the lake root)."),
    json_output: bool = JsonOption,
) -> None:
    """Show the total size and object count of a prefix and of each folder in it."""
    from sagebox import lake

    total, *entries = lake.du(location)
    if json_output:
        print_json({"total": total, "entries": entries})
        return
    print_table(_rows(entries), ["key", "size", "objects"])
    console.print(f"total: {human_size(total.size)} in {total.objects} object(s) at {total.uri}")


@app.command("put")
def put(
    local: Path = typer.Argument(..., help="Local file (or folder, with --recursive)."),
    destination: str = typer.Argument(..., help="Lake key or URI; ending in / means a folder."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Upload a whole folder."),
    json_output: bool = JsonOption,
) -> None:
    """Upload a local file or folder into the lake (each object written atomically)."""
    from sagebox import lake

    with progress() as prog:
        task = prog.add_task(f"uploading {local.name}", total=None)
        result = lake.put(
            local,
            destination,
            recursive=recursive,
            on_progress=lambda done, total: prog.update(task, completed=done, total=total),
        )
    _report(result, "uploaded", json_output)


@app.command("get")
def get(
    source: str = typer.Argument(..., help="Lake key, prefix, glob or URI."),
    local: Path = typer.Argument(..., help="Local file or folder to write to."),
    json_output: bool = JsonOption,
) -> None:
    """Download an object, or every object under a prefix, to the local disk."""
    from sagebox import lake

    with progress() as prog:
        task = prog.add_task(f"downloading {source}", total=None)
        result = lake.get(
            source,
            local,
            on_progress=lambda done, total: prog.update(task, completed=done, total=total),
        )
    _report(result, "downloaded", json_output)


def _report(result: Any, verb: str, json_output: bool) -> None:
    if json_output:
        print_json({"files": [list(pair) for pair in result.files], "bytes": result.bytes})
        return
    for source, target in result.files[:20]:
        console.print(f"{source} -> {target}", highlight=False)
    if len(result.files) > 20:
        console.print(f"... and {len(result.files) - 20} more")
    console.print(f"{verb} {len(result.files)} file(s), {human_size(result.bytes)}")


@app.command("cat")
def cat(
    location: str = typer.Argument(..., help="One object: key or URI."),
    head: int | None = typer.Option(None, "--head", min=1, help="Only the first N lines/rows."),
) -> None:
    """Print an object (gunzipped; Parquet shown as CSV rows)."""
    from sagebox import lake

    fmt = lake.format_of(location)
    if fmt is not None and fmt.kind == "parquet":
        frame = lake.read_parquet(location)
        assert not isinstance(frame, Iterator)
        text = (frame.head(head) if head else frame).to_csv(index=False)
        sys.stdout.write(text)
        return
    out = sys.stdout.buffer
    lines = 0
    for block in lake.cat(location):
        if head is not None:
            keep = _first_lines(block, head - lines)
            out.write(keep)
            lines += keep.count(b"\n")
            if lines >= head:
                break
        else:
            out.write(block)
    out.flush()


def _first_lines(block: bytes, count: int) -> bytes:
    end = 0
    for _ in range(count):
        found = block.find(b"\n", end)
        if found == -1:
            return block
        end = found + 1
    return block[:end]


@app.command("rm")
def rm(
    location: str = typer.Argument(..., help="Key, prefix, glob or URI."),
    recursive: bool = typer.Option(
        False, "--recursive", "-r", help="Delete every object under the prefix."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Delete one object, or everything under a prefix with --recursive."""
    from sagebox import lake

    deleted = lake.rm(location, recursive=recursive)
    if json_output:
        print_json({"deleted": deleted})
    else:
        console.print(f"deleted {len(deleted)} object(s)")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """``90`` or ``90s``, ``30m``, ``1h``, ``2d`` → seconds.

    Raises:
        InputDataError: if ``text`` is not such an age.
    """
    from sagebox.errors import InputDataError

    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InputDataError(
            f"invalid age {text!r}", hint="give seconds or a number with s, m, h or d, e.g. 1h"
        )
    return value * _UNITS[unit]


@app.command("vacuum")
def vacuum(
    location: str = typer.Argument("", help="Prefix to vacuum (default: the whole lake)."),
    older_than: str = typer.Option(
        "1h",
        "--older-than",
        help="Only leftovers at least this old: seconds, or 30m, 1h, 2d. A writer on this "
        "host whose process is gone counts as dead at any age.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would go."),
    json_output: bool = JsonOption,
) -> None:
    """Reclaim what dead writers left: files of uncommitted writes and temp files of uploads.

    Committed data is never touched; readers never saw the files removed.
    """
    from sagebox import lake

    result = lake.vacuum(location, older_than=parse_age(older_than), dry_run=dry_run)
    if json_output:
        print_json(result)
        return
    for uri in result.files[:20]:
        console.print(uri, highlight=False)
    if len(result.files) > 20:
        console.print(f"... and {len(result.files) - 20} more")
    verb = "would remove" if dry_run else "removed"
    rolled = sum(len(t) for t in result.transactions.values())
    console.print(
        f"{verb} {len(result.files)} file(s), {human_size(result.bytes)} "
        f"({rolled} dead write(s), {result.temp_files} temp file(s)) under {result.uri}"
    )
