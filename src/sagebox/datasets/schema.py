"""Column names and labels of the product-review data.

The raw columns are those of the Women's E-Commerce Clothing Reviews file that the course uses
(and that :func:`sagebox.datasets.generate_reviews` reproduces); the labels are the course's
three sentiment classes.

Example:
    >>> from sagebox.datasets.schema import LABEL_NAMES
    >>> LABEL_NAMES[-1]
    'negative'
"""

from __future__ import annotations

__all__ = [
    "LABELS",
    "LABEL_COLUMN",
    "LABEL_NAMES",
    "RAW_COLUMNS",
    "REQUIRED_COLUMNS",
    "TEXT_COLUMN",
    "sentiment_of_rating",
]

RAW_COLUMNS: tuple[str, ...] = (
    "review_id",
    "Clothing ID",
    "Age",
    "Title",
    "Review Text",
    "Rating",
    "Recommended IND",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
)
"""The raw columns, in the order of the real file."""

REQUIRED_COLUMNS: tuple[str, ...] = ("Review Text", "Rating", "Class Name")
"""The raw columns that the course transformation needs."""

TEXT_COLUMN = "review_body"
"""The text column of the prepared (transformed) review table."""

LABEL_COLUMN = "sentiment"
"""The label column of the prepared review table (one of :data:`LABELS`)."""

LABELS: tuple[int, ...] = (-1, 0, 1)
"""Sentiment labels: negative, neutral, positive."""

LABEL_NAMES: dict[int, str] = {-1: "negative", 0: "neutral", 1: "positive"}
"""Human-readable name of each label."""


def sentiment_of_rating(rating: int) -> int:
    """Map a star rating (1-5) to the course's sentiment label.

    Args:
        rating: star rating, 1 to 5.

    Returns:
        -1 for ratings 1-2, 0 for 3, 1 for 4-5.

    Raises:
        ValueError: if ``rating`` is not in 1-5.

    Example:
        >>> sentiment_of_rating(2), sentiment_of_rating(3), sentiment_of_rating(5)
        (-1, 0, 1)
    """
    if rating not in (1, 2, 3, 4, 5):
        raise ValueError(f"rating must be an integer in 1-5, got {rating!r}")
    return -1 if rating <= 2 else (0 if rating == 3 else 1)
