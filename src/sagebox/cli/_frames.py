"""Read a local file or a lake location as a DataFrame, for the commands that take data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

__all__ = ["read_frame"]


def read_frame(source: str) -> pd.DataFrame:
    """A local file or a lake location (CSV, TSV, Parquet or JSON lines) as a DataFrame.

    Raises:
        InputDataError: if the file is missing or of an unknown type.
    """
    from sagebox import lake
    from sagebox.errors import InputDataError
    from sagebox.lake import format_of

    # Local files go through the lake's readers too: they turn malformed CSV, invalid
    # Parquet, bad JSON lines and undecodable text into one-line InputDataErrors.
    path = Path(source)
    local = "://" not in source and path.is_file()
    fmt = format_of(source.rstrip("/"))
    if local and fmt is None:
        raise InputDataError(
            f"cannot read {source}: unknown file type",
            hint="give a .csv, .tsv, .parquet or .jsonl file",
        )
    kind = fmt.kind if fmt is not None else "parquet"
    readers: dict[str, Callable[..., pd.DataFrame]] = {
        "parquet": lake.read_parquet,
        "csv": lake.read_csv,
        "json": lake.read_json,
    }
    frame: pd.DataFrame = readers[kind](str(path.resolve()) if local else source)
    return frame
