"""Shadow variants: compare a candidate with production on mirrored live traffic.

The gateway answers every request from production, then (for a sampled share) sends the same
request to the shadow variant in the background. The shadow's answer is never returned; it is
compared with production's (label by label for the built-in prediction format, byte by byte
otherwise), counted in :class:`ShadowComparison`, and written to data capture when the endpoint
captures. Mirroring is bounded: beyond ``max_in_flight`` concurrent shadow requests the
mirror is skipped (and counted), so a slow shadow can never slow production down.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ShadowComparison", "compare_answers"]


def compare_answers(production: bytes, shadow: bytes) -> tuple[int, int]:
    """``(agreed, compared)`` records between two answers to the same request."""
    try:
        prod = json.loads(production)
        shad = json.loads(shadow)
        p_preds, s_preds = prod["predictions"], shad["predictions"]
        p_labels = [p["label"] for p in p_preds]
        s_labels = [p["label"] for p in s_preds]
    except (ValueError, KeyError, TypeError):
        return int(production == shadow), 1
    if len(p_labels) != len(s_labels):
        return 0, max(len(p_labels), 1)
    return sum(a == b for a, b in zip(p_labels, s_labels, strict=True)), len(p_labels)


class ShadowComparison:
    """Running comparison of one shadow variant with production.

    Example:
        >>> c = ShadowComparison()
        >>> c.record(b'{"predictions": [{"label": 1}]}', 200, b'{"predictions": [{"label": 1}]}')
        >>> c.summary()["ratio"]
        1.0
    """

    def __init__(self, max_in_flight: int = 64) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.mirrored = 0
        self.skipped = 0
        self.errors = 0
        self.agreed = 0
        self.compared = 0

    def admit(self) -> bool:
        """Whether a mirror may start now (False when too many are in flight)."""
        if self.in_flight >= self.max_in_flight:
            self.skipped += 1
            return False
        self.in_flight += 1
        self.mirrored += 1
        return True

    def done(self) -> None:
        """A mirror ended."""
        self.in_flight -= 1

    def record(self, production: bytes, shadow_status: int, shadow: bytes) -> None:
        """Compare one answered mirror with production's answer."""
        if shadow_status >= 400:
            self.errors += 1
            return
        agreed, compared = compare_answers(production, shadow)
        self.agreed += agreed
        self.compared += compared

    def summary(self) -> dict[str, Any]:
        """Counts and the agreement ratio (None before the first comparison)."""
        return {
            "mirrored": self.mirrored,
            "skipped": self.skipped,
            "errors": self.errors,
            "compared_records": self.compared,
            "agreed_records": self.agreed,
            "ratio": round(self.agreed / self.compared, 6) if self.compared else None,
        }
