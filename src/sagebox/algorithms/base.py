"""The contract every built-in text classifier follows (scikit-learn's estimator contract).

Keyword-only ``__init__`` that only stores hyperparameters, ``fit`` returns ``self``, learned
state ends in ``_``; plus ``save``/``load`` of a model directory so that training jobs can
package the model and endpoints can serve it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

__all__ = ["TextClassifier"]


class TextClassifier(abc.ABC):
    """A classifier from raw text to labels.

    Subclasses set ``name`` (the ``--algorithm`` value) and ``hyperparameter_types`` (the
    allowed hyperparameters and their types; values given as strings, e.g. from the CLI or
    SM_HPS, are converted).
    """

    name: ClassVar[str]
    hyperparameter_types: ClassVar[dict[str, type]] = {}

    classes_: np.ndarray

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters this instance was built with."""
        return {k: getattr(self, k) for k in self.hyperparameter_types}

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict[str, Any]) -> TextClassifier:
        """Build from a dict of (possibly string) hyperparameters, validating names and types.

        Raises:
            InputDataError: on an unknown hyperparameter or a value of the wrong type.
        """
        from sagebox.errors import InputDataError

        unknown = sorted(set(hyperparameters) - set(cls.hyperparameter_types))
        if unknown:
            raise InputDataError(
                f"unknown hyperparameter(s) for {cls.name}: {', '.join(unknown)}",
                hint=f"known: {', '.join(sorted(cls.hyperparameter_types))}",
            )
        values: dict[str, Any] = {}
        for key, raw in hyperparameters.items():
            kind = cls.hyperparameter_types[key]
            try:
                values[key] = _convert(raw, kind)
            except (TypeError, ValueError) as exc:
                raise InputDataError(
                    f"hyperparameter {key}={raw!r} is not a valid {kind.__name__}",
                    hint=f"give {key} as a {kind.__name__}",
                ) from exc
        return cls(**values)

    @abc.abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TextClassifier:
        """Learn from texts and integer labels; return self."""

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``classes_`` order."""

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(texts)
        return self.classes_[np.argmax(proba, axis=1)]

    @abc.abstractmethod
    def save(self, model_dir: Path) -> None:
        """Write the fitted model into ``model_dir``."""

    @classmethod
    @abc.abstractmethod
    def load(cls, model_dir: Path) -> TextClassifier:
        """Read a model written by :meth:`save`."""


def _convert(raw: Any, kind: type) -> Any:
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if kind is bool:
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(raw)
    if kind is int:
        as_float = float(raw)
        if not as_float.is_integer():
            raise ValueError(raw)
        return int(as_float)
    return kind(raw)
