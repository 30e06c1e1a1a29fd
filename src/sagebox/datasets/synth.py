"""Synthetic product reviews in the raw columns of the real review file.

The generator gives every demo and most tests realistic data on a fresh clone, with no
download: titles (sometimes missing), review text of 1-8 sentences built from phrase banks about
fit, fabric, colour, price, quality, sizing and style, typos, mixed-sentiment reviews, a few
reviews without text, ratings skewed towards 4 and 5 stars, and product classes whose sentiment
mix differs (Trend and Jackets draw more complaints, Intimates and Lounge fewer), so that a bias
report finds something.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd

from sagebox.datasets._phrases import (
    ASPECT_CLAUSES,
    CONNECTORS,
    FILLERS,
    OPENERS,
    TITLES,
    VERDICTS,
)
from sagebox.datasets.schema import RAW_COLUMNS

__all__ = ["generate_reviews"]

# (division, department, class, relative weight); rare classes are boosted over the real file
# so that they show up in small samples.
_HIERARCHY: tuple[tuple[str, str, str, float], ...] = (
    ("General", "Dresses", "Dresses", 3145),
    ("General Petite", "Dresses", "Dresses", 2218),
    ("General", "Tops", "Knits", 2770),
    ("General Petite", "Tops", "Knits", 1344),
    ("General", "Tops", "Blouses", 1704),
    ("General Petite", "Tops", "Blouses", 924),
    ("General", "Tops", "Sweaters", 758),
    ("General Petite", "Tops", "Sweaters", 457),
    ("General", "Tops", "Fine gauge", 582),
    ("General Petite", "Tops", "Fine gauge", 351),
    ("General", "Bottoms", "Pants", 718),
    ("General Petite", "Bottoms", "Pants", 480),
    ("General", "Bottoms", "Jeans", 674),
    ("General Petite", "Bottoms", "Jeans", 307),
    ("General", "Bottoms", "Skirts", 516),
    ("General Petite", "Bottoms", "Skirts", 293),
    ("General", "Bottoms", "Shorts", 267),
    ("General", "Bottoms", "Casual bottoms", 20),
    ("General", "Jackets", "Jackets", 432),
    ("General Petite", "Jackets", "Jackets", 255),
    ("General", "Jackets", "Outerwear", 210),
    ("General Petite", "Jackets", "Outerwear", 73),
    ("General", "Trend", "Trend", 250),
    ("General Petite", "Trend", "Trend", 80),
    ("Initmates", "Intimate", "Intimates", 300),
    ("Initmates", "Intimate", "Layering", 124),
    ("Initmates", "Intimate", "Legwear", 134),
    ("Initmates", "Intimate", "Lounge", 400),
    ("General Petite", "Intimate", "Lounge", 199),
    ("Initmates", "Intimate", "Sleep", 189),
    ("Initmates", "Intimate", "Swim", 296),
    ("Initmates", "Intimate", "Chemises", 15),
)

# Per class: how much more (>1) or less (<1) likely a 1-2 star review is, and nouns for the text.
_CLASSES: dict[str, tuple[float, tuple[str, ...]]] = {
    "Dresses": (1.1, ("dress", "maxi dress", "shift dress", "midi dress", "slip dress")),
    "Knits": (1.0, ("top", "tee", "tank", "knit top")),
    "Blouses": (1.2, ("blouse", "shirt", "button-down", "tunic")),
    "Sweaters": (1.0, ("sweater", "cardigan", "pullover")),
    "Fine gauge": (0.9, ("sweater", "cardigan", "fine gauge knit")),
    "Pants": (0.9, ("pair of pants", "pair of trousers", "pair of wide-leg pants")),
    "Jeans": (0.75, ("pair of jeans", "pair of skinny jeans", "pair of boyfriend jeans")),
    "Skirts": (0.9, ("skirt", "midi skirt", "mini skirt", "pencil skirt")),
    "Shorts": (0.8, ("pair of shorts",)),
    "Casual bottoms": (1.0, ("pair of joggers",)),
    "Jackets": (2.0, ("jacket", "blazer", "denim jacket")),
    "Outerwear": (1.7, ("coat", "vest", "parka")),
    "Trend": (3.5, ("jumpsuit", "romper", "top", "dress")),
    "Intimates": (0.35, ("bra", "bralette", "slip")),
    "Layering": (0.6, ("cami", "tank", "slip")),
    "Legwear": (0.7, ("pair of leggings", "pair of tights")),
    "Lounge": (0.5, ("lounge set", "hoodie", "pair of lounge pants")),
    "Sleep": (0.6, ("nightgown", "pajama set", "robe")),
    "Swim": (1.2, ("swimsuit", "bikini", "cover-up")),
    "Chemises": (0.5, ("chemise",)),
}

_BASE_RATING_P = np.array([0.036, 0.067, 0.122, 0.216, 0.559])
# P(recommended | rating), from the real file.
_RECOMMEND_P = np.array([0.02, 0.06, 0.42, 0.97, 0.998])
# P(polarity level | rating): strong positive, mild positive, neutral, mild neg, strong neg.
_LEVEL_P: dict[int, tuple[float, ...]] = {
    5: (0.55, 0.28, 0.09, 0.06, 0.02),
    4: (0.25, 0.38, 0.17, 0.15, 0.05),
    3: (0.07, 0.25, 0.28, 0.30, 0.10),
    2: (0.03, 0.12, 0.15, 0.37, 0.33),
    1: (0.02, 0.06, 0.10, 0.27, 0.55),
}
_MIXED_P = {5: 0.06, 4: 0.2, 3: 0.45, 2: 0.2, 1: 0.08}
_N_SENTENCES = (1, 2, 3, 4, 5, 6, 7, 8)
_N_WEIGHTS = (0.08, 0.12, 0.18, 0.2, 0.17, 0.12, 0.08, 0.05)
_ASPECTS = tuple(ASPECT_CLAUSES)
_LEVELS = (0, 1, 2, 3, 4)
_SIZES = ("0", "2", "4", "6", "8", "10", "12", "14", "xs", "small", "medium", "large")
_MISSING_TEXT_P = 0.035
_MISSING_TITLE_P = 0.16
_TYPO_P = 0.18
_N_CLOTHING_IDS = 1206
_LONE_I = re.compile(r"\bi\b")


def generate_reviews(rows: int, seed: int = 0) -> pd.DataFrame:
    """Generate synthetic product reviews in exactly the raw columns of the real file.

    The same ``rows`` and ``seed`` give the same frame. About 3.5 % of reviews have no text and
    about 16 % no title; ratings are mostly 4 and 5 stars; 3-star reviews are often mixed
    ("love the color but the fabric is thin"), so neutral is genuinely hard to classify.

    Args:
        rows: number of reviews, at least 1.
        seed: random seed.

    Returns:
        A DataFrame with the columns of :data:`sagebox.datasets.schema.RAW_COLUMNS`.

    Raises:
        ValueError: if ``rows`` is less than 1.

    Example:
        >>> df = generate_reviews(100, seed=1)
        >>> list(df.columns) == list(RAW_COLUMNS), len(df)
        (True, 100)
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    text_rng = random.Random(int(rng.integers(2**63)))

    weights = np.array([h[3] for h in _HIERARCHY], dtype=float)
    slot = rng.choice(len(_HIERARCHY), size=rows, p=weights / weights.sum())
    classes = [h[2] for h in _HIERARCHY]
    rating = _draw_ratings(rng, slot, classes)
    clothing_id = _draw_clothing_ids(rng, slot, classes)
    age = np.clip(np.rint(rng.normal(43.0, 12.3, rows)), 18, 90).astype(np.int64)
    recommended = (rng.random(rows) < _RECOMMEND_P[rating - 1]).astype(np.int64)
    missing_text = rng.random(rows) < _MISSING_TEXT_P
    missing_title = rng.random(rows) < _MISSING_TITLE_P

    texts: list[object] = []
    titles: list[object] = []
    lengths = np.zeros(rows)
    for i in range(rows):
        item = text_rng.choice(_CLASSES[classes[slot[i]]][1])
        r = int(rating[i])
        titles.append(np.nan if missing_title[i] else _title(text_rng, r, item))
        if missing_text[i]:
            texts.append(np.nan)
            continue
        text, n = _review_text(text_rng, r, item)
        texts.append(text)
        lengths[i] = n
    # Longer and negative reviews collect more "helpful" votes; heavy tail as in the real file.
    mean_votes = 1.0 + 0.35 * lengths + 1.0 * (rating <= 2)
    votes = np.minimum(rng.negative_binomial(0.6, 0.6 / (0.6 + mean_votes)), 150)

    frame = pd.DataFrame(
        {
            "review_id": np.arange(rows, dtype=np.int64),
            "Clothing ID": clothing_id,
            "Age": age,
            "Title": titles,
            "Review Text": texts,
            "Rating": rating.astype(np.int64),
            "Recommended IND": recommended,
            "Positive Feedback Count": votes.astype(np.int64),
            "Division Name": [_HIERARCHY[s][0] for s in slot],
            "Department Name": [_HIERARCHY[s][1] for s in slot],
            "Class Name": [classes[s] for s in slot],
        }
    )
    return frame[list(RAW_COLUMNS)]


def _draw_ratings(rng: np.random.Generator, slot: np.ndarray, classes: list[str]) -> np.ndarray:
    """Ratings 1-5 per row, with each class's negativity applied to the base distribution."""
    probs = np.empty((len(classes), 5))
    for k, name in enumerate(classes):
        factor = _CLASSES[name][0]
        p = _BASE_RATING_P * np.array([factor, factor, np.sqrt(factor), 1.0, 1.0])
        probs[k] = p / p.sum()
    cumulative = np.cumsum(probs, axis=1)[slot]
    u = rng.random(len(slot))
    return (u[:, None] > cumulative[:, :4]).sum(axis=1).astype(np.int64) + 1


def _draw_clothing_ids(
    rng: np.random.Generator, slot: np.ndarray, classes: list[str]
) -> np.ndarray:
    """Clothing IDs from a per-class pool; a few popular items get most reviews."""
    names = sorted(set(classes))
    pools = np.array_split(rng.permutation(_N_CLOTHING_IDS), len(names))
    pool_of = dict(zip(names, pools, strict=True))
    class_of_row = np.array(classes, dtype=object)[slot]
    ids = np.empty(len(slot), dtype=np.int64)
    for name in names:
        mask = class_of_row == name
        pool = pool_of[name]
        picks = (len(pool) * rng.random(int(mask.sum())) ** 2.5).astype(np.int64)
        ids[mask] = pool[picks]
    return ids


def _title(r: random.Random, rating: int, item: str) -> str:
    """A short title matching the rating, now and then from a neighbouring mood."""
    group = 0 if rating >= 4 else (1 if rating == 3 else 2)
    if r.random() < 0.1:
        group = min(2, max(0, group + r.choice((-1, 1))))
    return r.choice(TITLES[group]).format(item=item)


def _review_text(r: random.Random, rating: int, item: str) -> tuple[str, int]:
    """Review text for one rating; returns the text and its number of sentences."""
    n = r.choices(_N_SENTENCES, weights=_N_WEIGHTS)[0]
    level_p = _LEVEL_P[rating]
    clauses: list[str] = []
    if n >= 3 and r.random() < 0.35:
        clauses.append(_filler(r))
    aspects = r.sample(_ASPECTS, k=len(_ASPECTS))
    verdict = n >= 2 and r.random() < 0.5
    for k in range(n - len(clauses) - int(verdict)):
        level = r.choices(_LEVELS, weights=level_p)[0]
        aspect = aspects[k % len(aspects)]
        clause = r.choice(ASPECT_CLAUSES[aspect][level])
        if r.random() < _MIXED_P[rating]:
            other_level = r.choice((3, 4)) if level <= 2 else r.choice((0, 1))
            other = r.choice(ASPECT_CLAUSES[aspects[(k + 3) % len(aspects)]][other_level])
            clause = clause + r.choice(CONNECTORS) + other
        elif r.random() < 0.12:
            other = r.choice(ASPECT_CLAUSES[aspects[(k + 3) % len(aspects)]][level])
            clause = clause + " and " + other
        opener = r.choice(OPENERS[0 if level < 2 else (1 if level == 2 else 2)])
        clauses.append(_sentence(r, opener + clause, level))
    if verdict:
        level = r.choices(_LEVELS, weights=level_p)[0]
        clauses.append(_sentence(r, r.choice(VERDICTS[level]), level))
    text = " ".join(c if c[-1] in ".!" else _sentence(r, c, 2) for c in clauses)
    text = text.replace("{item}", item)
    if r.random() < 0.7:
        text = _LONE_I.sub("I", text)
    if r.random() < _TYPO_P:
        text = _add_typos(r, text, r.choice((1, 1, 2)))
    return text, n


def _sentence(r: random.Random, clause: str, level: int) -> str:
    end = "!" if level == 0 and r.random() < 0.5 else "."
    return clause[0].upper() + clause[1:] + end


def _filler(r: random.Random) -> str:
    return r.choice(FILLERS).format(
        h=r.randint(0, 11), w=r.randint(105, 220), size=r.choice(_SIZES)
    )


def _add_typos(r: random.Random, text: str, count: int) -> str:
    """Swap, drop or double a letter in ``count`` longer words."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for i in r.sample(candidates, k=min(count, len(candidates))):
        w = words[i]
        j = r.randrange(1, len(w) - 1)
        op = r.randrange(3)
        if op == 0:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif op == 1:
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)
