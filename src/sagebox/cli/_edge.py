"""The ``sagebox models export`` step: read the check data, export, compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = ["run_export"]


def run_export(
    name: str, out: Path, quantize: bool, check: Path | None, sample: int
) -> dict[str, Any]:
    """Export registered model ``name`` to ``out``; check parity on ``check`` if given."""
    from sagebox.models.edge import export_model
    from sagebox.session import Session

    texts = labels = None
    if check is not None:
        import pandas as pd

        if not check.is_file():
            raise InputDataError(f"{check} does not exist", hint="check the path")
        frame = pd.read_parquet(check) if check.suffix == ".parquet" else pd.read_csv(check)
        column = "review_body" if "review_body" in frame else "Review Text"
        if column not in frame:
            raise InputDataError(
                f"{check} has no review_body column",
                hint="give a prepared split (train/validation/test parquet)",
            )
        frame = frame.dropna(subset=[column]).head(sample)
        texts = frame[column].astype(str).tolist()
        labels = frame["sentiment"].astype(int).tolist() if "sentiment" in frame else None
    return export_model(
        Session(), name, out, quantize=quantize, check_texts=texts, check_labels=labels
    )
