"""The bench's peer: the same sagebox model (same hooks, same fast path) served by BentoML.

Only for ``bench/bench_serving.py``; needs ``pip install 'bentoml>=1.4'``. The model directory
comes from ``SAGEBOX_BENCH_MODEL_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bentoml

from sagebox.models.handler import model_fn, predict_fn


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Reviews:
    """Sentiment of product reviews (POST /invocations {"reviews": [...]})."""

    def __init__(self) -> None:
        self.model = model_fn(Path(os.environ["SAGEBOX_BENCH_MODEL_DIR"]))

    @bentoml.api
    def invocations(self, reviews: list[str]) -> dict[str, Any]:
        """Predict each review's sentiment."""
        return {"predictions": predict_fn(reviews, self.model)}
