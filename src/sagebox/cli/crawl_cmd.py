"""``sagebox crawl``: run the crawler over a lake prefix as a job and show what changed."""

from __future__ import annotations

import json
from typing import Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table


def crawl(
    uri: str = typer.Argument(..., help="Prefix to crawl: lake key, path or s3:// URI."),
    database: str = typer.Option(..., "--database", "-d", help="Catalog database to fill."),
    schema_change: str = typer.Option(
        "update", "--schema-change", help="update: merge new columns; log: only report them."
    ),
    on_delete: str = typer.Option(
        "deprecate",
        "--on-delete",
        help="Vanished data: log, deprecate or delete (from the catalog; data is never deleted).",
    ),
    new_folders_only: bool = typer.Option(
        False, "--new-folders-only", help="Only read datasets and partitions not yet cataloged."
    ),
    table_prefix: str = typer.Option("", "--table-prefix", help="Prefix of new table names."),
    sample_files: int = typer.Option(5, "--sample-files", min=1, help="Files sampled a dataset."),
    json_output: bool = JsonOption,
) -> None:
    """Discover datasets under a prefix and catalog them (runs as a `crawler` job).

    Example: ``sagebox crawl raw/reviews/ --database reviews``
    """
    from sagebox.catalog.crawler import Crawler
    from sagebox.jobs import JobClient
    from sagebox.lake import locate
    from sagebox.session import Session

    session = Session()
    recrawl = "new_folders" if new_folders_only else "everything"
    # Checks the policies here, before a job is started for nothing.
    Crawler(session, schema_change=schema_change, on_delete=on_delete, recrawl=recrawl)  # type: ignore[arg-type]
    parameters = {
        "uri": locate(uri, session).uri,
        "database": database,
        "schema_change": schema_change,
        "on_delete": on_delete,
        "recrawl": recrawl,
        "sample_files": sample_files,
        "table_prefix": table_prefix,
    }
    with console.status(f"crawling {parameters['uri']}"):
        job = JobClient(session).run("crawler", parameters=parameters)
    summary = json.loads(session.storage.read_bytes(session.key_for(job.outputs["summary"])))
    summary["job"] = job.name
    if json_output:
        print_json(summary)
    else:
        print_summary(summary)


def print_summary(summary: dict[str, Any]) -> None:
    """Print a crawl summary (as the crawler job stores it) for people."""
    rows = []
    for change in summary["tables"]:
        detail = []
        if change["columns_added"] and change["action"] != "added":
            detail.append("+columns " + ", ".join(change["columns_added"]))
        if change["types_changed"]:
            detail.append(
                "types " + ", ".join(f"{k}: {v}" for k, v in change["types_changed"].items())
            )
        detail += change["notes"]
        rows.append(
            {
                "table": change["table"],
                "action": change["action"],
                "format": change["format"],
                "rows": "" if change["row_count"] is None else f"~{change['row_count']:,}",
                "+partitions": change["partitions_added"] or "",
                "details": "; ".join(detail),
            }
        )
    print_table(rows, ["table", "action", "format", "rows", "+partitions", "details"])
    counts = _counts(summary)
    unchanged = counts.pop("unchanged", 0)
    changes = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no changes"
    console.print(
        f"crawled {summary['files']} file(s) under {summary['root']} in "
        f"{summary['seconds']:.1f} s: {changes}"
        + (f", {unchanged} unchanged" if unchanged else "")
        + (f" (job {summary['job']})" if "job" in summary else ""),
        highlight=False,
    )
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for change in summary["tables"]:
        out[change["action"]] = out.get(change["action"], 0) + 1
    return out
