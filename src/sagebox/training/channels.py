"""Read a built-in algorithm's input channel (a local directory) into texts or rows + labels.

Accepted files: Parquet, CSV, TSV or JSON lines with ``review_body`` and ``sentiment`` columns
(the prepared review format), and ``.txt`` files in fastText/BlazingText format
(``__label__<class> <text>`` per line). Algorithms that take tabular data (``xgboost``) also
accept tables without ``review_body``: the label is the ``sentiment`` or ``label`` column, or
else the first column (SageMaker's CSV convention), and every other column is a feature.
Labels must lie in the declared set (-1, 0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sagebox.errors import InputDataError

__all__ = ["ChannelData", "read_channel"]

TEXT_COLUMN = "review_body"
LABEL_COLUMNS = ("sentiment", "label")
_READERS = {
    ".parquet": pd.read_parquet,
    ".csv": pd.read_csv,
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
    ".jsonl": lambda p: pd.read_json(p, lines=True),
}


@dataclass
class ChannelData:
    """One channel's examples: ``texts`` (text data) or ``rows`` (tabular), and labels."""

    labels: np.ndarray
    texts: list[str] | None = None
    rows: np.ndarray | None = None

    @property
    def inputs(self) -> Any:
        """What the classifier takes: the texts (a list), or the feature rows (a 2-D array)."""
        return self.texts if self.texts is not None else self.rows

    def __len__(self) -> int:
        return len(self.labels)


def read_channel(
    directory: Path, channel: str, labels: tuple[int, ...], tabular_ok: bool = False
) -> ChannelData:
    """Read every data file under ``directory``.

    Raises:
        InputDataError: if there is no data, a file has an unsupported type or lacks the
            needed columns, or a label is outside ``labels``.
    """
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )
    if not files:
        raise InputDataError(
            f"input channel {channel!r} holds no files", hint="give it a data file or prefix"
        )
    frames = [_read_file(path, channel) for path in files]
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        raise InputDataError(f"input channel {channel!r} holds no rows", hint="check the data")
    if TEXT_COLUMN in frame.columns:
        label_column = next((c for c in LABEL_COLUMNS if c in frame.columns), None)
        if label_column is None:
            raise InputDataError(
                f"input channel {channel!r} has {TEXT_COLUMN} but no sentiment or label column",
                hint="prepare it with the review transformation (sentiment, review_body)",
            )
        data = ChannelData(
            labels=_labels(frame[label_column], channel, labels),
            texts=frame[TEXT_COLUMN].fillna("").astype(str).tolist(),
        )
        return data
    if not tabular_ok:
        raise InputDataError(
            f"input channel {channel!r} lacks a {TEXT_COLUMN} column; found "
            f"{', '.join(map(str, frame.columns))}",
            hint="give prepared reviews (review_body, sentiment) or fastText __label__ lines",
        )
    label_column = next((c for c in LABEL_COLUMNS if c in frame.columns), frame.columns[0])
    features = frame.drop(columns=[label_column])
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric or features.shape[1] == 0:
        raise InputDataError(
            f"input channel {channel!r}: tabular features must be numeric; not numeric: "
            f"{', '.join(map(str, non_numeric)) or '(no feature columns)'}",
            hint="encode the columns as numbers, or give text data with a review_body column",
        )
    return ChannelData(
        labels=_labels(frame[label_column], channel, labels),
        rows=features.to_numpy(dtype=np.float64),
    )


def _read_file(path: Path, channel: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return _read_fasttext(path)
    reader = _READERS.get(suffix)
    if reader is None:
        raise InputDataError(
            f"input channel {channel!r}: cannot read {path.name} (type {suffix or 'unknown'})",
            hint="use Parquet, CSV, TSV, JSON lines or fastText .txt files",
        )
    try:
        return reader(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputDataError(
            f"input channel {channel!r}: {path.name} is malformed: {exc}"[:300],
            hint="check the file",
        ) from exc


def _read_fasttext(path: Path) -> pd.DataFrame:
    from sagebox.algorithms.blazingtext import parse_line

    labels, texts = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        found, text = parse_line(line)
        if len(found) != 1:
            raise InputDataError(
                f"{path.name} line {number} has {len(found)} labels, expected one",
                hint="write lines as __label__<class> <text>",
            )
        labels.append(found[0])
        texts.append(text)
    return pd.DataFrame({TEXT_COLUMN: texts, "sentiment": labels})


def _labels(values: pd.Series, channel: str, declared: tuple[int, ...]) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric % 1 != 0) | ~numeric.isin(declared)
    if bad.any():
        found = sorted({str(v) for v in values[bad].head(1000)})[:5]
        raise InputDataError(
            f"input channel {channel!r} has {int(bad.sum())} label(s) outside the declared "
            f"set {', '.join(map(str, declared))}: {', '.join(found)}",
            hint="map labels to -1 (negative), 0 (neutral) and 1 (positive)",
        )
    return numeric.astype(np.int64).to_numpy()
