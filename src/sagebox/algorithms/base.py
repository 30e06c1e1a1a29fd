"""The contract every built-in text classifier follows (scikit-learn's estimator contract).

Keyword-only ``__init__`` that only stores hyperparameters, ``fit`` returns ``self``, learned
state ends in ``_``; plus ``save``/``load`` of a model directory so that training jobs can
package the model and endpoints can serve it.

Hyperparameters are declared in two class-level tables: ``hyperparameter_types`` (name → type;
strings are converted) and ``hyperparameter_constraints`` (name → :class:`Range` or
:class:`OneOf`), checked by :meth:`TextClassifier.from_hyperparameters` and by ``fit``.
A training job passes optional services to ``fit`` in a :class:`FitContext` (validation data,
a metric callback, a checkpoint directory); algorithms use what they support.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

__all__ = [
    "FastScorer",
    "FitContext",
    "OneOf",
    "Range",
    "TextClassifier",
    "check_fit_inputs",
    "print_metric",
]


class FastScorer(Protocol):
    """A lean scorer compiled from a fitted classifier (see :meth:`TextClassifier.fast_scorer`)."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, in the classifier's ``classes_`` order."""
        ...


def print_metric(name: str, value: float, step: int | None = None) -> None:
    """Print a metric line that training jobs capture: ``metric NAME=VALUE [step=N]``."""
    suffix = f" step={step}" if step is not None else ""
    print(f"metric {name}={value:.6g}{suffix}", flush=True)


@dataclass
class FitContext:
    """Optional services a training job gives to :meth:`TextClassifier.fit`.

    Attributes:
        validation: held-out ``(texts, labels)`` for per-epoch validation metrics.
        log_metric: called as ``log_metric(name, value, step)``; prints a capturable line by
            default.
        checkpoint_dir: a local directory for periodic checkpoints; an algorithm that supports
            checkpoints resumes from the newest one found there.
        on_checkpoint: called with the path of each checkpoint written (e.g. to sync it).

    Example:
        >>> ctx = FitContext(validation=(["love it"], [1]), checkpoint_dir=Path("ckpt"))
    """

    validation: tuple[Sequence[str], Sequence[int]] | None = None
    log_metric: Callable[[str, float, int | None], None] = print_metric
    checkpoint_dir: Path | None = None
    on_checkpoint: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Range:
    """A numeric interval a hyperparameter must lie in (``None`` = unbounded).

    Example:
        >>> Range(0, None, low_inclusive=False).describe()
        '> 0'
    """

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number inside the interval."""
        if not math.isfinite(value):
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )

    def describe(self) -> str:
        """The interval in words, e.g. ``>= 1`` or ``in [0, 1)``."""
        if self.low is not None and self.high is not None:
            left = "[" if self.low_inclusive else "("
            right = "]" if self.high_inclusive else ")"
            return f"in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
        if self.high is not None:
            return f"{'<=' if self.high_inclusive else '<'} {self.high:g}"
        return "any number"


@dataclass(frozen=True)
class OneOf:
    """A set of allowed values of a hyperparameter.

    Example:
        >>> OneOf(("supervised",)).describe()
        'one of: supervised'
    """

    values: tuple[Any, ...]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""
        return value in self.values

    def describe(self) -> str:
        """The allowed values in words."""
        return "one of: " + ", ".join(str(v) for v in self.values)


class TextClassifier(abc.ABC):
    """A classifier from raw text to labels.

    Subclasses set ``name`` (the ``--algorithm`` value), ``hyperparameter_types`` (the
    allowed hyperparameters and their types; values given as strings, e.g. from the CLI or
    SM_HPS, are converted) and optionally ``hyperparameter_constraints`` (allowed ranges or
    values), ``supports_distributed`` (whether ``fit`` can run as one of several
    torch.distributed processes) and ``accepts_tabular`` (whether ``fit`` also takes numeric
    feature rows instead of texts).

    Example:
        >>> from sagebox.algorithms import get_algorithm
        >>> clf = get_algorithm("linear-text").from_hyperparameters({"C": "2"})
        >>> clf.fit(["love it", "hate it"] * 5, [1, -1] * 5).predict(["love"]).tolist()
        [1]
    """

    name: ClassVar[str]
    hyperparameter_types: ClassVar[dict[str, type]] = {}
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {}
    supports_distributed: ClassVar[bool] = False
    accepts_tabular: ClassVar[bool] = False

    classes_: np.ndarray

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters this instance was built with."""
        return {k: getattr(self, k) for k in self.hyperparameter_types}

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict[str, Any]) -> TextClassifier:
        """Build from a dict of (possibly string) hyperparameters, validating names and types.

        Raises:
            InputDataError: on an unknown hyperparameter, a value of the wrong type or one
                outside its allowed range.
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
        clf = cls(**values)
        clf.validate_params()
        return clf

    def validate_params(self) -> None:
        """Check every hyperparameter against ``hyperparameter_constraints``.

        Raises:
            InputDataError: naming the first value outside its allowed range.
        """
        from sagebox.errors import InputDataError

        for key, constraint in self.hyperparameter_constraints.items():
            value = getattr(self, key)
            if not constraint.contains(value):
                raise InputDataError(
                    f"hyperparameter {key}={value!r} is out of range for {self.name}: "
                    f"it must be {constraint.describe()}",
                    hint=f"give {key} {constraint.describe()}",
                )

    @abc.abstractmethod
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        context: FitContext | None = None,
    ) -> TextClassifier:
        """Learn from texts and integer labels; return self.

        Args:
            texts: training texts.
            labels: one integer label per text.
            context: optional validation data, metric callback and checkpoint directory.
        """

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``classes_`` order."""

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(texts)
        return self.classes_[np.argmax(proba, axis=1)]

    def fast_scorer(self) -> FastScorer | None:
        """A scorer with the same probabilities but less time per request, or None.

        Model servers ask a loaded classifier for it once and score small requests with it.
        The default is None (score with :meth:`predict_proba`).
        """
        return None

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


def check_fit_inputs(
    texts: Sequence[Any],
    labels: Sequence[int],
    allowed: Sequence[int] | None = None,
    min_classes: int = 2,
) -> np.ndarray:
    """Validate training inputs; return the labels as an integer array.

    Args:
        texts: the training texts (or rows).
        labels: one label per text.
        allowed: the declared label set, or None to accept any integers.
        min_classes: the fewest distinct labels accepted.

    Raises:
        InputDataError: on a length mismatch, fewer than two classes or an undeclared label.
    """
    from sagebox.errors import InputDataError

    y = np.asarray(labels)
    if len(texts) != len(y):
        raise InputDataError(
            f"{len(texts)} texts but {len(y)} labels", hint="give one label per text"
        )
    if allowed is not None:
        outside = sorted({int(v) for v in np.unique(y)} - {int(a) for a in allowed})
        if outside:
            raise InputDataError(
                f"label(s) {', '.join(map(str, outside))} are outside the declared labels "
                f"{', '.join(map(str, allowed))}",
                hint="map the labels to the declared set (sentiment -1, 0, 1) or fix the data",
            )
    if len(np.unique(y)) < min_classes:
        raise InputDataError(
            "training data has fewer than two classes",
            hint="give examples of at least two sentiment classes",
        )
    return y.astype(np.int64)
