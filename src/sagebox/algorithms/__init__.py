"""Built-in algorithms, selected by name (``--algorithm``)."""

from __future__ import annotations

from sagebox._registry import Registry
from sagebox.algorithms.base import TextClassifier

__all__ = ["TextClassifier", "algorithms", "get_algorithm"]

algorithms: Registry[TextClassifier] = Registry("algorithm")
algorithms.register("linear-text", "sagebox.algorithms.linear_text:LinearTextClassifier")
algorithms.register("blazingtext", "sagebox.algorithms.blazingtext:BlazingTextClassifier")
algorithms.register("xgboost", "sagebox.algorithms.xgboost_text:XGBoostClassifier")
algorithms.register(
    "text-transformer", "sagebox.algorithms.text_transformer:TextTransformerClassifier"
)
algorithms.register("ensemble", "sagebox.algorithms.ensemble:EnsembleClassifier")


def get_algorithm(name: str) -> type[TextClassifier]:
    """The classifier class registered under ``name``. Raises ConfigError if unknown."""
    cls = algorithms.get(name)
    assert isinstance(cls, type)
    return cls
