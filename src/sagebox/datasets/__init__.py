"""Product-review datasets: synthetic generation, raw-file validation and the course's transform.

Example:
    >>> from sagebox.datasets import generate_reviews, to_sentiment, split_dataset
    >>> table = to_sentiment(generate_reviews(1000, seed=0))
    >>> train, validation, test = split_dataset(table, seed=0)
"""

from __future__ import annotations

from sagebox.datasets.raw import read_raw_reviews
from sagebox.datasets.schema import (
    LABEL_COLUMN,
    LABEL_NAMES,
    LABELS,
    RAW_COLUMNS,
    REQUIRED_COLUMNS,
    TEXT_COLUMN,
)
from sagebox.datasets.synth import generate_reviews
from sagebox.datasets.transform import balance_classes, split_dataset, to_sentiment

__all__ = [
    "LABELS",
    "LABEL_COLUMN",
    "LABEL_NAMES",
    "RAW_COLUMNS",
    "REQUIRED_COLUMNS",
    "TEXT_COLUMN",
    "balance_classes",
    "generate_reviews",
    "read_raw_reviews",
    "split_dataset",
    "to_sentiment",
]
