"""The numbers of an exploration report: column profiles, review roles and a text summary.

Works on raw review tables (``Rating``, ``Review Text``, ``Class Name``: sentiment is derived
from the rating as the course does) and on prepared ones (``sentiment``, ``review_body``,
``product_category``), matching column names loosely (case, spaces and ``_`` ignored).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ColumnProfile", "Roles", "TextSummary", "find_roles", "profile_columns", "text_summary"]

_ROLE_NAMES = {
    "rating": ("rating", "starrating", "stars", "score"),
    "sentiment": ("sentiment", "label", "sentimentlabel"),
    "text": ("reviewbody", "reviewtext", "text", "review", "body", "comment"),
    "category": ("productcategory", "classname", "category", "product"),
}
_WORD = re.compile(r"[a-z][a-z']+")
PERCENTILES = (5, 25, 50, 75, 95)


@dataclass
class ColumnProfile:
    """Summary statistics of one column."""

    name: str
    kind: str
    dtype: str
    count: int
    missing: int
    missing_pct: float
    distinct: int
    stats: dict[str, Any] = field(default_factory=dict)
    top: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Roles:
    """Which column plays which part in a review table (None where there is none)."""

    rating: str | None = None
    sentiment: str | None = None
    text: str | None = None
    category: str | None = None
    sentiment_derived: bool = False


@dataclass
class TextSummary:
    """Lengths of a text column and its most telling terms per sentiment."""

    column: str
    empty: int
    chars: dict[str, float]
    words: dict[str, float]
    top_terms: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def find_roles(df: pd.DataFrame) -> Roles:
    """Find the rating, sentiment, text and category columns of a review table."""
    keys = {_key(str(c)): str(c) for c in df.columns}
    roles = Roles()
    for role, names in _ROLE_NAMES.items():
        for name in names:
            if name in keys:
                setattr(roles, role, keys[name])
                break
    if roles.text is None:
        texts = [
            str(c)
            for c in df.columns
            if _kind(df[c]) == "text" and str(c) not in (roles.category, roles.sentiment)
        ]
        if texts:
            roles.text = max(texts, key=lambda c: df[c].dropna().astype(str).str.len().mean())
    if roles.sentiment is None and roles.rating is not None:
        roles.sentiment_derived = True
    return roles


def sentiment_series(df: pd.DataFrame, roles: Roles) -> pd.Series | None:
    """Sentiment labels (-1, 0, 1): the column, or derived from ratings 1-5 (others NA)."""
    if roles.sentiment is not None and not roles.sentiment_derived:
        return pd.to_numeric(df[roles.sentiment], errors="coerce").astype("Int64")
    if roles.rating is None:
        return None
    rating = pd.to_numeric(df[roles.rating], errors="coerce")
    valid = rating.isin([1, 2, 3, 4, 5])
    labels = pd.Series(np.select([rating <= 2, rating == 3], [-1, 0], default=1), index=df.index)
    return labels.where(valid).astype("Int64")


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = series.dropna()
    if len(values) and values.astype(str).str.len().mean() > 30:
        return "text"
    return "categorical"


def profile_columns(df: pd.DataFrame) -> list[ColumnProfile]:
    """Per-column count, missing values, distinct values and kind-specific statistics."""
    out = []
    rows = max(1, len(df))
    for name in df.columns:
        series = df[name]
        kind = _kind(series)
        values = series.dropna()
        try:
            distinct = int(values.nunique())
        except TypeError:  # unhashable values (lists from JSON)
            distinct = int(values.astype(str).nunique())
        profile = ColumnProfile(
            name=str(name),
            kind=kind,
            dtype=str(series.dtype),
            count=int(len(values)),
            missing=int(len(series) - len(values)),
            missing_pct=100.0 * (len(series) - len(values)) / rows,
            distinct=distinct,
        )
        if kind == "numeric" and len(values):
            numbers = pd.to_numeric(values, errors="coerce").dropna().astype(float)
            profile.stats = {
                "mean": numbers.mean(),
                "std": numbers.std() if len(numbers) > 1 else 0.0,
                "min": numbers.min(),
                "p25": numbers.quantile(0.25),
                "median": numbers.median(),
                "p75": numbers.quantile(0.75),
                "max": numbers.max(),
            }
        elif kind in ("text", "categorical") and len(values):
            lengths = values.astype(str).str.len()
            profile.stats = {"mean length": lengths.mean(), "max length": lengths.max()}
        if kind in ("categorical", "boolean", "numeric") and 0 < distinct < len(values):
            counts = values.astype(str).value_counts().head(3)
            profile.top = [(str(k), int(v)) for k, v in counts.items()]
        out.append(profile)
    return out


def text_summary(
    text: pd.Series, sentiment: pd.Series | None, column: str, top: int = 12
) -> TextSummary:
    """Length percentiles (characters, words) and the top terms of each sentiment."""
    from sagebox.datasets.schema import LABEL_NAMES

    present = text.dropna().astype(str)
    present = present[present.str.strip() != ""]
    chars = present.str.len()
    words = present.str.split().str.len()
    summary = TextSummary(
        column=column,
        empty=int(len(text) - len(present)),
        chars=_percentiles(chars),
        words=_percentiles(words),
    )
    if sentiment is None or not len(present):
        summary.top_terms = {"all": _frequent(present, top)}
        return summary
    labels = sentiment.reindex(present.index)
    counts = {
        LABEL_NAMES[label]: _count(present[labels == label])
        for label in (-1, 0, 1)
        if (labels == label).any()
    }
    summary.top_terms = _distinctive(counts, top)
    return summary


def _percentiles(values: pd.Series) -> dict[str, float]:
    if not len(values):
        return {}
    out = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
    out["mean"] = float(values.mean())
    out["max"] = float(values.max())
    return out


def _stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"it's", "i'm", "don't", "didn't", "doesn't", "isn't"}


def _count(texts: pd.Series) -> Counter[str]:
    stop = _stopwords()
    counter: Counter[str] = Counter()
    for text in texts:
        counter.update(w for w in _WORD.findall(text.lower()) if w not in stop and len(w) > 2)
    return counter


def _frequent(texts: pd.Series, top: int) -> list[tuple[str, int]]:
    return _count(texts).most_common(top)


def _distinctive(counts: dict[str, Counter[str]], top: int) -> dict[str, list[tuple[str, int]]]:
    """Per class, frequent terms that are more common there than in the other classes.

    Ranked by count x log-ratio of the term's rate in the class to its rate elsewhere
    (add-one smoothed), so "dress" (everywhere) loses to "love" (positive) or "returned"
    (negative).
    """
    totals = {label: sum(c.values()) or 1 for label, c in counts.items()}
    vocabulary = len(set().union(*counts.values())) or 1
    out = {}
    for label, counter in counts.items():
        others = Counter[str]()
        for other, c in counts.items():
            if other != label:
                others.update(c)
        other_total = sum(others.values()) or 1
        scored = []
        for term, n in counter.most_common(2000):
            if n < 3:
                break
            rate = (n + 1) / (totals[label] + vocabulary)
            rate_other = (others[term] + 1) / (other_total + vocabulary)
            ratio = math.log(rate / rate_other)
            if ratio > 0:
                scored.append((n * ratio, term, n))
        scored.sort(reverse=True)
        out[label] = [(term, n) for _, term, n in scored[:top]]
    return out
