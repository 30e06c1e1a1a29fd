"""``sagebox explore``: an offline HTML report on a table (statistics, plots, text summary)."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, print_json


def explore(
    source: str = typer.Argument(..., help="database.table, or a lake key/URI of data files."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    sample: int | None = typer.Option(
        None, "--sample", min=1, help="Explore a random sample of N rows."
    ),
    title: str | None = typer.Option(None, "--title", help="Heading of the report."),
    json_output: bool = JsonOption,
) -> None:
    """Write an HTML report: per-column statistics, missing values, review plots, top terms.

    Example: ``sagebox explore reviews.raw --out report.html``
    """
    from sagebox.explore import explore as run

    with console.status(f"exploring {source}"):
        report = run(source, out, title=title, sample=sample)
    if json_output:
        print_json(report)
        return
    console.print(
        f"wrote {report.path} ({report.rows:,} rows, {report.columns} columns, "
        f"{len(report.charts)} charts)",
        highlight=False,
    )
