"""``sagebox datasets``: generate synthetic reviews and validate raw review files.

pandas and numpy are imported inside the commands so that ``sagebox --help`` stays fast.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table
from sagebox.errors import AlreadyExistsError, SageboxError

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Generate and inspect review datasets.", no_args_is_help=True)


@app.command()
def synth(
    rows: int = typer.Option(2000, "--rows", help="Number of reviews to generate (>= 1)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same file."),
    out: Path = typer.Option(..., "--out", help="Output file: .csv, or .parquet for Parquet."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
    json_output: bool = JsonOption,
) -> None:
    """Generate synthetic product reviews in the raw columns of the real review file.

    Example: ``sagebox datasets synth --rows 5000 --seed 1 --out reviews.csv``
    """
    if rows < 1:
        raise SageboxError(f"--rows must be at least 1, got {rows}", hint="e.g. --rows 2000")
    if out.is_dir():
        raise SageboxError(f"--out {out} is a directory", hint="give a file path, e.g. out.csv")
    if out.exists() and not force:
        raise AlreadyExistsError(
            f"{out} already exists", hint="pass --force to overwrite it, or choose another --out"
        )
    from sagebox.datasets import generate_reviews

    started = time.perf_counter()
    df = generate_reviews(rows, seed=seed)
    fmt = "parquet" if out.suffix.lower() == ".parquet" else "csv"
    _write_atomically(df, out, fmt)
    summary = {
        "path": str(out),
        "format": fmt,
        "rows": rows,
        "seed": seed,
        **_mix(df),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if json_output:
        print_json(summary)
    else:
        console.print(f"Wrote {rows} reviews to {out} ({fmt}, seed {seed})")
        _print_mix(summary)


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A raw review file (.csv or .parquet)."),
    json_output: bool = JsonOption,
) -> None:
    """Check a raw review file and show its size, sentiment mix and category count.

    Example: ``sagebox datasets validate reviews.csv``
    """
    from sagebox.datasets import read_raw_reviews

    df = read_raw_reviews(path)
    summary = {"path": str(path), "rows": len(df), **_mix(df)}
    if json_output:
        print_json(summary)
    else:
        console.print(f"{path}: valid, {len(df)} reviews")
        _print_mix(summary)


def _mix(df: pd.DataFrame) -> dict[str, Any]:
    """Rows with text, sentiment counts (of rows with text) and number of categories."""
    from sagebox.datasets import LABEL_NAMES, to_sentiment

    table = to_sentiment(df)
    counts = table["sentiment"].value_counts()
    return {
        "rows_with_text": len(table),
        "sentiment": {name: int(counts.get(label, 0)) for label, name in LABEL_NAMES.items()},
        "categories": int(df["Class Name"].nunique()),
    }


def _print_mix(summary: dict[str, Any]) -> None:
    total = max(1, summary["rows_with_text"])
    rows = [
        {"sentiment": name, "reviews": n, "share": f"{n / total:.1%}"}
        for name, n in summary["sentiment"].items()
    ]
    print_table(rows, ["sentiment", "reviews", "share"], title="Sentiment of reviews with text")
    console.print(
        f"{summary['rows_with_text']} of {summary['rows']} reviews have text; "
        f"{summary['categories']} product categories"
    )


def _write_atomically(df: pd.DataFrame, out: Path, fmt: str) -> None:
    """Write to a temporary file next to ``out``, then rename it over ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it the usual permissions for new files.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
