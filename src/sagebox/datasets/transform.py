"""The course's transformation of raw reviews, class balancing and train/validation/test split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sagebox.datasets.schema import REQUIRED_COLUMNS
from sagebox.errors import InputDataError, SageboxError

__all__ = ["balance_classes", "split_dataset", "to_sentiment", "with_titles"]

SENTIMENT_COLUMNS = ("review_id", "sentiment", "review_body", "product_category")


def to_sentiment(df: pd.DataFrame, *, include_title: bool = False) -> pd.DataFrame:
    """Turn raw reviews into the course's sentiment table.

    ``sentiment`` is -1 for ratings 1-2, 0 for 3 and 1 for 4-5; ``review_body`` is the review
    text and ``product_category`` the class name. Rows without text (missing, empty or only
    whitespace) are dropped. Without a ``review_id`` column the row index is used.

    The course uses the review text alone. With ``include_title``, ``review_body`` is the
    review's title followed by its text (``"Love it. I wore this..."``; reviews without a title
    keep their text alone): the title is part of what the customer wrote and a strong sentiment
    cue. The rows kept are the same either way, so splits by seed select the same reviews.

    Args:
        df: raw reviews, e.g. from :func:`~sagebox.datasets.read_raw_reviews`.
        include_title: prefix each review's text with its ``Title``.

    Returns:
        A new frame with columns ``review_id``, ``sentiment``, ``review_body``,
        ``product_category`` and a fresh 0..n-1 index.

    Raises:
        InputDataError: if a required column is missing (``Title`` too, with
            ``include_title``) or a rating is not an integer in 1-5.

    Example:
        >>> from sagebox.datasets import generate_reviews
        >>> table = to_sentiment(generate_reviews(50))
        >>> sorted(set(table["sentiment"])) <= [-1, 0, 1]
        True
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(
            f"reviews lack required column(s) {', '.join(map(repr, missing))}",
            hint=f"the transformation needs {', '.join(REQUIRED_COLUMNS)}",
        )
    if include_title and "Title" not in df.columns:
        raise InputDataError(
            "reviews lack the 'Title' column that include_title needs",
            hint="add a Title column (it may be empty), or leave the title out",
        )
    text = df["Review Text"]
    has_text = text.notna() & text.astype(str).str.strip().ne("")
    kept = df.loc[has_text]
    ratings = pd.to_numeric(kept["Rating"], errors="coerce")
    bad = ratings.isna() | (ratings % 1 != 0) | ~ratings.between(1, 5)
    if bad.any():
        raise InputDataError(
            f"{int(bad.sum())} review(s) have a Rating that is not an integer in 1-5; "
            f"first: {kept['Rating'][bad].iloc[0]!r}",
            hint="fix or drop those rows; ratings are whole stars from 1 to 5",
        )
    ids = kept["review_id"] if "review_id" in kept.columns else kept.index.to_series()
    sentiment = np.select([ratings <= 2, ratings == 3], [-1, 0], default=1).astype(np.int64)
    return pd.DataFrame(
        {
            "review_id": ids.to_numpy(),
            "sentiment": sentiment,
            "review_body": (
                with_titles(kept["Title"], kept["Review Text"])
                if include_title
                else kept["Review Text"].astype(str)
            ).to_numpy(),
            "product_category": kept["Class Name"].to_numpy(),
        }
    )


def with_titles(titles: pd.Series, texts: pd.Series) -> pd.Series:
    """Each text prefixed with its title: ``"Title. Text"``; texts without a title unchanged.

    A title that already ends in ``.``, ``!``, ``?`` or ``…`` is followed by a space only.

    Example:
        >>> with_titles(pd.Series(["Love it", "Meh!", None]), pd.Series(["a", "b", "c"])).tolist()
        ['Love it. a', 'Meh! b', 'c']
    """
    title = titles.fillna("").astype(str).str.strip()
    text = texts.astype(str)
    joiner = np.where(title.str.contains(r"[.!?…]$", regex=True), " ", ". ")
    combined = title + pd.Series(joiner, index=title.index) + text
    return combined.where(title.ne(""), text)


def balance_classes(df: pd.DataFrame, label: str = "sentiment", seed: int = 0) -> pd.DataFrame:
    """Downsample every class to the size of the smallest one.

    Args:
        df: a labelled table.
        label: the label column.
        seed: random seed; the same seed gives the same rows in the same order.

    Returns:
        The balanced rows, shuffled, with their original index.

    Raises:
        InputDataError: if ``label`` is not a column or ``df`` is empty.

    Example:
        >>> from sagebox.datasets import generate_reviews
        >>> table = balance_classes(to_sentiment(generate_reviews(500)))
        >>> table["sentiment"].value_counts().nunique()
        1
    """
    _require_column(df, label)
    if df.empty:
        raise InputDataError("cannot balance an empty table", hint="give at least one row")
    smallest = int(df[label].value_counts().min())
    parts = [
        group.sample(n=smallest, random_state=seed)
        for _, group in df.groupby(label, sort=True, dropna=False)
    ]
    return pd.concat(parts).sample(frac=1.0, random_state=seed)


def split_dataset(
    df: pd.DataFrame,
    train: float = 0.9,
    validation: float = 0.05,
    test: float = 0.05,
    seed: int = 0,
    stratify: str | None = "sentiment",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split rows into train, validation and test sets, stratified by a label.

    Each class (or the whole table when ``stratify`` is None) is shuffled and cut by the
    fractions, rounding so that the three parts add up to the class size. Rows keep their
    original index, and no row lands in two parts.

    Args:
        df: the table to split.
        train: fraction of rows for training.
        validation: fraction of rows for validation.
        test: fraction of rows for testing.
        seed: random seed; the same seed gives the same split.
        stratify: column whose class proportions every part keeps, or None.

    Returns:
        ``(train, validation, test)`` frames with the columns of ``df``.

    Raises:
        SageboxError: if a fraction is negative or the fractions do not sum to 1.
        InputDataError: if ``stratify`` is not a column.

    Example:
        >>> from sagebox.datasets import generate_reviews
        >>> parts = split_dataset(to_sentiment(generate_reviews(1000)), 0.8, 0.1, 0.1)
        >>> [len(p) for p in parts]  # doctest: +SKIP
        [772, 97, 96]
    """
    fractions = (train, validation, test)
    if any(not math.isfinite(f) or f < 0 for f in fractions):
        raise SageboxError(
            f"split fractions must be >= 0, got train={train}, validation={validation}, "
            f"test={test}",
            hint="use e.g. train=0.9, validation=0.05, test=0.05",
        )
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise SageboxError(
            f"split fractions must sum to 1, got {train} + {validation} + {test} = "
            f"{sum(fractions):g}",
            hint="use e.g. train=0.9, validation=0.05, test=0.05",
        )
    total = sum(fractions)
    fractions = (train / total, validation / total, test / total)
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [np.arange(len(df))]
    else:
        _require_column(df, stratify)
        indices = df.groupby(stratify, sort=True, dropna=False).indices
        groups = [np.asarray(indices[key]) for key in indices]
    parts: list[list[np.ndarray]] = [[], [], []]
    for rows in groups:
        shuffled = rng.permutation(rows)
        cuts = np.cumsum(_counts(len(shuffled), fractions))[:-1]
        for part, chunk in zip(parts, np.split(shuffled, cuts), strict=True):
            part.append(chunk)
    out = []
    for part in parts:
        rows = np.concatenate(part) if part else np.array([], dtype=np.int64)
        out.append(df.iloc[rng.permutation(rows)])
    return out[0], out[1], out[2]


def _counts(n: int, fractions: tuple[float, float, float]) -> list[int]:
    """Split ``n`` by ``fractions`` into whole counts that add up to ``n`` (largest remainder)."""
    exact = [n * f for f in fractions]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(3), key=lambda k: exact[k] - counts[k], reverse=True)
    for k in order[: n - sum(counts)]:
        counts[k] += 1
    return counts


def _require_column(df: pd.DataFrame, column: str) -> None:
    if column not in df.columns:
        raise InputDataError(
            f"column {column!r} not found; found {', '.join(map(repr, df.columns))}",
            hint="name an existing label column",
        )
