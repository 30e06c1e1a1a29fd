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
    import pandas as pd

    from sagebox.errors import InputDataError

    path = Path(source)
    if "://" not in source and path.is_file():
        suffix = "".join(path.suffixes[-2:]).lower()
        if suffix.endswith(".parquet"):
            return pd.read_parquet(path)
        if suffix.endswith((".jsonl", ".json", ".jsonl.gz")):
            return pd.read_json(path, lines=True)
        if suffix.endswith((".csv", ".csv.gz", ".tsv")):
            return pd.read_csv(path, sep="\t" if suffix.endswith(".tsv") else ",")
        raise InputDataError(
            f"cannot read {source}: unknown file type",
            hint="give a .csv, .tsv, .parquet or .jsonl file",
        )
    from sagebox import lake
    from sagebox.lake import format_of

    fmt = format_of(source.rstrip("/"))
    kind = fmt.kind if fmt is not None else "parquet"
    readers: dict[str, Callable[..., pd.DataFrame]] = {
        "parquet": lake.read_parquet,
        "csv": lake.read_csv,
        "json": lake.read_json,
    }
    frame: pd.DataFrame = readers[kind](source)
    return frame
