"""Routing: which variant answers a request, and which of its instances.

- :class:`WeightedChooser`: weighted random choice (A/B tests, canary weights), O(log n).
- :func:`pick_instance`: the healthy instance with the fewest requests in flight (ties go
  round-robin), or, for multi-model variants, a stable instance per target model so that each
  model is loaded by as few workers as possible.
"""

from __future__ import annotations

import bisect
import random
import zlib
from collections.abc import Sequence
from itertools import accumulate
from typing import Protocol

__all__ = ["WeightedChooser", "pick_instance"]


class WeightedChooser:
    """Pick names at random in proportion to their weights.

    Example:
        >>> chooser = WeightedChooser(["v1", "v2"], [1.0, 1.0], rng=random.Random(0))
        >>> chooser.shares()
        {'v1': 0.5, 'v2': 0.5}
    """

    def __init__(
        self, names: Sequence[str], weights: Sequence[float], rng: random.Random | None = None
    ) -> None:
        pairs = [(n, float(w)) for n, w in zip(names, weights, strict=True) if w > 0]
        if not pairs:
            raise ValueError("at least one weight must be positive")
        self.names = [n for n, _ in pairs]
        self.weights = [w for _, w in pairs]
        self._cumulative = list(accumulate(self.weights))
        self._total = self._cumulative[-1]
        self._random = (rng or random.Random()).random

    def choose(self) -> str:
        """One name, drawn by weight."""
        if len(self.names) == 1:
            return self.names[0]
        index = bisect.bisect_right(self._cumulative, self._random() * self._total)
        return self.names[min(index, len(self.names) - 1)]

    def shares(self) -> dict[str, float]:
        """Each name's expected share of traffic."""
        return {n: round(w / self._total, 6) for n, w in zip(self.names, self.weights, strict=True)}


class _Instance(Protocol):
    healthy: bool
    outstanding: int


def pick_instance(
    instances: Sequence[_Instance], start: int, key: str | None = None
) -> _Instance | None:
    """A healthy instance: stable for ``key`` if given, else the least busy one.

    Args:
        instances: the variant's instances.
        start: a rotating counter, so that ties are broken round-robin.
        key: a target model name for multi-model variants.

    Returns:
        None if no instance is healthy.
    """
    n = len(instances)
    if n == 0:
        return None
    if key is not None:
        first = zlib.crc32(key.encode("utf-8")) % n
        for i in range(n):
            candidate = instances[(first + i) % n]
            if candidate.healthy:
                return candidate
        return None
    best = None
    for i in range(n):
        candidate = instances[(start + i) % n]
        if candidate.healthy and (best is None or candidate.outstanding < best.outstanding):
            best = candidate
            if best.outstanding == 0:
                break
    return best
