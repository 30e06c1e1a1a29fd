"""A deliberately naive, row-by-row re-statement of Clarify's metric definitions.

Used as the oracle of the property tests: it shares no code with ``sagebox.clarify`` and
follows the definitions literally (one facet mask, one label mask, Python loops, Clarify's
divide and shared-label conventions). ``None`` means "undefined" (Clarify: value null + error).
"""

from __future__ import annotations

import math
from collections import Counter

INF = float("inf")


def divide(a: float, b: float) -> float:
    if b == 0:
        return 0.0 if a == 0 else (INF if a > 0 else -INF)
    return a / b


def _pdf(values: list) -> dict:
    counts = Counter(values)
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def _aligned(xs: list, ys: list) -> tuple[list[float], list[float]]:
    pa, pd_ = _pdf(xs), _pdf(ys)
    keys = sorted(k for k in set(pa) | set(pd_) if pa.get(k, 0) > 0 and pd_.get(k, 0) > 0)
    return [pa[k] for k in keys], [pd_[k] for k in keys]


def pretraining(labels: list, facet: list[bool], positive: list[bool], groups: list | None):
    """All pre-training metrics; ``labels`` is what KL & co. see (binary: ``positive``)."""
    n_d = sum(facet)
    n_a = len(facet) - n_d
    out: dict[str, float | None] = {}
    out["CI"] = None if n_a == 0 or n_d == 0 else (n_a - n_d) / (n_a + n_d)
    if n_a == 0 or n_d == 0:
        out["DPL"] = None
    else:
        q_a = sum(p for p, f in zip(positive, facet, strict=True) if not f) / n_a
        q_d = sum(p for p, f in zip(positive, facet, strict=True) if f) / n_d
        out["DPL"] = q_a - q_d
    xs_a = [y for y, f in zip(labels, facet, strict=True) if not f]
    xs_d = [y for y, f in zip(labels, facet, strict=True) if f]
    pa, pd_ = _aligned(xs_a, xs_d)
    if not pa:
        for name in ("KL", "JS", "LP", "TVD", "KS"):
            out[name] = None
    else:
        out["KL"] = sum(a * math.log(a / d) for a, d in zip(pa, pd_, strict=True))
        mid = [(a + d) / 2 for a, d in zip(pa, pd_, strict=True)]
        out["JS"] = 0.5 * (
            sum(a * math.log(a / m) for a, m in zip(pa, mid, strict=True))
            + sum(d * math.log(d / m) for d, m in zip(pd_, mid, strict=True))
        )
        gaps = [abs(a - d) for a, d in zip(pa, pd_, strict=True)]
        out["LP"] = math.sqrt(sum(g * g for g in gaps))
        out["TVD"] = 0.5 * sum(gaps)
        out["KS"] = max(gaps)
    out["CDDL"] = cdd(facet, positive, groups)
    return out


def cdd(facet: list[bool], outcome: list[bool], groups: list | None) -> float | None:
    if groups is None or not any(outcome) or all(outcome):
        return None
    total, n = 0.0, 0
    for g in sorted(set(groups)):
        rows = [i for i, x in enumerate(groups) if x == g]
        pos = [i for i in rows if outcome[i]]
        neg = [i for i in rows if not outcome[i]]
        share_pos = sum(facet[i] for i in pos) / len(pos) if pos else 0
        share_neg = sum(facet[i] for i in neg) / len(neg) if neg else 0
        total += len(rows) * (share_neg - share_pos)
        n += len(rows)
    return divide(total, n)


def posttraining(facet: list[bool], positive: list[bool], predicted: list[bool], groups):
    """All post-training metrics except FT."""

    def counts(side: bool) -> tuple[int, int, int, int]:
        rows = [(y, p) for y, p, f in zip(positive, predicted, facet, strict=True) if f == side]
        tp = sum(y and p for y, p in rows)
        fp = sum((not y) and p for y, p in rows)
        fn = sum(y and not p for y, p in rows)
        tn = sum((not y) and not p for y, p in rows)
        return tp, fp, fn, tn

    out: dict[str, float | None] = {}
    tp_a, fp_a, fn_a, tn_a = counts(False)
    tp_d, fp_d, fn_d, tn_d = counts(True)
    n_a, n_d = tp_a + fp_a + fn_a + tn_a, tp_d + fp_d + fn_d + tn_d
    empty = n_a == 0 or n_d == 0

    def diff(x: float, y: float) -> float | None:
        if empty:
            return None
        return 0.0 if x == INF and y == INF else x - y

    if empty:
        out["DPPL"] = out["DI"] = None
    else:
        q_a, q_d = (tp_a + fp_a) / n_a, (tp_d + fp_d) / n_d
        out["DPPL"] = q_a - q_d
        out["DI"] = divide(q_d, q_a)
    out["DCA"] = diff(divide(tp_a + fn_a, tp_a + fp_a), divide(tp_d + fn_d, tp_d + fp_d))
    out["DCR"] = diff(divide(tn_d + fp_d, tn_d + fn_d), divide(tn_a + fp_a, tn_a + fn_a))
    out["RD"] = diff(divide(tp_a, tp_a + fn_a), divide(tp_d, tp_d + fn_d))
    out["SD"] = diff(divide(tn_d, tn_d + fp_d), divide(tn_a, tn_a + fp_a))
    out["DAR"] = diff(divide(tp_a, tp_a + fp_a), divide(tp_d, tp_d + fp_d))
    out["DRR"] = diff(divide(tn_d, tn_d + fn_d), divide(tn_a, tn_a + fn_a))
    out["AD"] = diff(divide(tp_a + tn_a, n_a), divide(tp_d + tn_d, n_d))
    out["TE"] = diff(divide(fn_d, fp_d), divide(fn_a, fp_a))
    benefits = [int(p) - int(y) + 1 for y, p in zip(positive, predicted, strict=True)]
    mean = sum(benefits) / len(benefits)
    out["GE"] = (
        None if mean == 0 else sum((b / mean) ** 2 - 1 for b in benefits) / (len(benefits) * 2 * 1)
    )
    out["CDDPL"] = cdd(facet, predicted, groups)
    return out
