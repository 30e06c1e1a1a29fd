"""A lean scorer for the ``linear-text`` pipeline, with the same numbers as scikit-learn.

scikit-learn spends most of one small request in input validation, sparse-matrix assembly and
the FeatureUnion's job dispatch, not in arithmetic (about 8 ms of 9 for one review on the
2-core dev machine). For serving, the fitted pipeline is compiled once into plain lookups:
the vectorizers' own analyzers produce the terms, a dict maps them to columns, and the
logistic regression is applied to the few non-zero columns only. Probabilities equal
``pipeline.predict_proba`` to floating-point rounding (a test checks ``atol=1e-9``).

Pipelines the compiler does not recognise exactly are served by scikit-learn unchanged.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

__all__ = ["CompiledLinearText", "compile_linear_text"]

_MASK = (1 << 64) - 1
_PRIME = 1_000_003


class _DictTerms:
    """Terms from the vectorizer's own analyzer, looked up in its vocabulary."""

    def __init__(self, analyzer: Callable[[str], list[str]], vocabulary: dict[str, int]) -> None:
        self.analyzer = analyzer
        self.get = vocabulary.get

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(self.analyzer(text))
        idx = np.fromiter(map(self.get, counts, repeat(-1)), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        keep = idx >= 0
        return idx[keep], tf[keep]


class _HashedCharWbTerms:
    """``char_wb`` n-grams counted with numpy instead of one Python slice per n-gram.

    Each word is padded with one space on both sides (as scikit-learn does); rolling 64-bit
    polynomial hashes of every n-gram are looked up in a sorted table of the vocabulary's
    hashes (checked collision-free when compiled). An n-gram outside the vocabulary could only
    be miscounted by a 64-bit collision with one inside it (about 1e-14 per n-gram).
    """

    def __init__(
        self, preprocess: Callable[[str], str], vocabulary: dict[str, int], lo: int, hi: int
    ) -> None:
        self.preprocess = preprocess
        self.lo, self.hi = lo, hi
        # one table for all lengths: a salt per length keeps "ab" and "abc" apart
        self.salts = {n: np.uint64((n * 0x9E3779B97F4A7C15) & _MASK) for n in range(lo, hi + 1)}
        pairs = []
        for term, column in vocabulary.items():
            h = 0
            for ch in term:
                h = (h * _PRIME + ord(ch)) & _MASK
            pairs.append((h ^ int(self.salts.get(len(term), 0)), column))
        hashes = np.array([p[0] for p in pairs], dtype=np.uint64)
        columns = np.array([p[1] for p in pairs], dtype=np.intp)
        order = np.argsort(hashes)
        self.hashes, self.columns = hashes[order], columns[order]
        if len(hashes) > 1 and bool((self.hashes[1:] == self.hashes[:-1]).any()):
            raise ValueError("hash collision in the vocabulary")

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        words = self.preprocess(text).split()
        if not words:
            return np.empty(0, np.intp), np.empty(0, np.float64)
        # " w1  w2 ": an n-gram across two padded words holds the double space, which no
        # char_wb term does, so it simply finds nothing in the table
        padded = " " + "  ".join(words) + " "
        codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        prime = np.uint64(_PRIME)
        rolling = codes
        grams = []
        for n in range(2, self.hi + 1):
            rolling = rolling[:-1] * prime + codes[n - 1 :]
            if n >= self.lo:
                grams.append(rolling ^ self.salts[n])
        wanted = np.concatenate(grams)
        hashes = self.hashes
        pos = np.searchsorted(hashes, wanted)
        pos[pos == len(hashes)] = 0
        idx, counts = np.unique(
            self.columns.take(pos[hashes.take(pos) == wanted]), return_counts=True
        )
        return idx, counts.astype(np.float64)


@dataclass
class _Block:
    terms: Callable[[str], tuple[np.ndarray, np.ndarray]]
    idf: np.ndarray
    coef_t: np.ndarray  # (n_terms, n_outputs): this block's slice of the coefficients
    sublinear_tf: bool


class CompiledLinearText:
    """TF-IDF blocks + a linear model, scored one text at a time without scipy.

    Example:
        >>> scorer = compile_linear_text(classifier.pipeline_)
        >>> scorer.predict_proba(["love it"]).shape
        (1, 3)
    """

    def __init__(self, blocks: list[_Block], intercept: np.ndarray, binary: bool) -> None:
        self.blocks = blocks
        self.intercept = intercept
        self.binary = binary

    def decision(self, text: str) -> np.ndarray:
        """The linear model's decision values for one text."""
        total = self.intercept.copy()
        for block in self.blocks:
            idx, tf = block.terms(text)
            if not len(idx):
                continue
            if block.sublinear_tf:
                tf = np.log(tf) + 1.0
            values = tf * block.idf.take(idx)
            norm = math.sqrt(values.dot(values))
            if norm > 0:
                total += values.dot(block.coef_t.take(idx, axis=0)) / norm
        return total

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, in the classifier's ``classes_`` order."""
        decisions = np.vstack([self.decision(str(t)) for t in texts])
        if self.binary:
            positive = 1.0 / (1.0 + np.exp(-decisions[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        shifted = decisions - decisions.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def compile_linear_text(pipeline: Any) -> CompiledLinearText | None:
    """Compile a fitted ``FeatureUnion(TfidfVectorizer...) -> LogisticRegression`` pipeline.

    Returns None (serve with scikit-learn) for anything else: other steps, transformer
    weights, non-L2 norms, binary counts or custom dtypes.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) != 2:
        return None
    union, model = steps[0][1], steps[1][1]
    if not isinstance(union, FeatureUnion) or not isinstance(model, LogisticRegression):
        return None
    if union.transformer_weights:
        return None
    coef = np.asarray(model.coef_, dtype=np.float64)
    blocks: list[_Block] = []
    offset = 0
    for _, vec in union.transformer_list:
        if not isinstance(vec, TfidfVectorizer) or vec.binary or vec.norm != "l2":
            return None
        if not vec.use_idf or vec.dtype not in (np.float64, float):
            return None
        size = len(vec.vocabulary_)
        blocks.append(
            _Block(
                terms=_terms_of(vec),
                idf=np.asarray(vec.idf_, dtype=np.float64),
                coef_t=np.ascontiguousarray(coef[:, offset : offset + size].T),
                sublinear_tf=bool(vec.sublinear_tf),
            )
        )
        offset += size
    if offset != coef.shape[1]:
        return None
    return CompiledLinearText(
        blocks, np.asarray(model.intercept_, dtype=np.float64), binary=len(model.classes_) <= 2
    )


def _terms_of(vec: Any) -> Callable[[str], tuple[np.ndarray, np.ndarray]]:
    lo, hi = vec.ngram_range
    plain = (
        vec.analyzer == "char_wb"
        and vec.input == "content"
        and vec.preprocessor is None
        and lo <= 3  # padded words are >= 3 chars, so scikit-learn's short-word rule never applies
    )
    if plain:
        try:
            return _HashedCharWbTerms(vec.build_preprocessor(), vec.vocabulary_, lo, hi)
        except ValueError:
            pass
    return _DictTerms(vec.build_analyzer(), dict(vec.vocabulary_))
