"""``ensemble``: a weighted average of the class probabilities of other built-in algorithms.

Members are named in ``members`` (comma-separated); a member's hyperparameter is given as
``<member>.<name>`` (e.g. ``text-transformer.epochs``) and validated by that member. An
algorithm can be a member more than once as ``<algorithm>@<k>`` (e.g.
``text-transformer@1,text-transformer@2``): each copy has its own hyperparameters, and its
seed defaults to the ensemble's seed plus ``k``, so the copies differ (seed averaging). With
``weights=auto`` and validation data, the weights are chosen on the validation set (a grid over
the simplex, maximising the sum of balanced accuracy and macro-F1); otherwise they are equal or
as given (``weights=0.3,0.7``). With ``tune_bias`` (default) and validation data, per-class
log-probability offsets are then tuned the same way: the decision thresholds that trade the
rare classes' recall (balanced accuracy) against their precision (macro-F1 on the natural mix).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sagebox.algorithms.base import FitContext, OneOf, Range, TextClassifier, check_fit_inputs

__all__ = ["EnsembleClassifier"]

_GRID_STEPS = 10
_BIAS_GRID = np.round(np.linspace(-1.5, 1.5, 31), 2)


class EnsembleClassifier(TextClassifier):
    """Soft-voting ensemble of built-in text classifiers.

    Args:
        members: comma-separated algorithm names.
        weights: ``auto`` (tuned on validation data, equal without it) or comma-separated
            non-negative numbers, one per member.
        member_params: hyperparameters per member name (set from ``<member>.<name>`` keys).
        tune_bias: tune per-class decision offsets on the validation data.
        seed: passed to every member that takes a seed and was not given one.

    Example:
        >>> clf = EnsembleClassifier.from_hyperparameters(
        ...     {"members": "linear-text,blazingtext", "blazingtext.epochs": 5}
        ... )
        >>> clf.fit(["love it", "hate it"] * 20, [1, -1] * 20).predict(["love"]).tolist()
        [1]
    """

    name: ClassVar[str] = "ensemble"
    hyperparameter_types: ClassVar[dict[str, type]] = {
        "members": str,
        "weights": str,
        "tune_bias": bool,
        "seed": int,
    }
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {}

    def __init__(
        self,
        *,
        members: str = "linear-text,blazingtext,text-transformer",
        weights: str = "auto",
        member_params: dict[str, dict[str, Any]] | None = None,
        tune_bias: bool = True,
        seed: int = 0,
    ) -> None:
        self.members = members
        self.weights = weights
        self.member_params = member_params
        self.tune_bias = tune_bias
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "weights": self.weights,
            "member_params": dict(self.member_params or {}),
            "tune_bias": self.tune_bias,
            "seed": self.seed,
        }

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict[str, Any]) -> EnsembleClassifier:
        """Split ``<member>.<name>`` keys off to the members, validate everything.

        Raises:
            InputDataError: on an unknown hyperparameter of the ensemble or of a member, or a
                member hyperparameter for an algorithm that is not a member.
            ConfigError: if a member is not a known algorithm.
        """
        from sagebox.algorithms import get_algorithm
        from sagebox.errors import InputDataError

        own = {k: v for k, v in hyperparameters.items() if "." not in k}
        nested = {k: v for k, v in hyperparameters.items() if "." in k}
        clf = super().from_hyperparameters(own)
        assert isinstance(clf, EnsembleClassifier)
        names = clf._member_names()
        params: dict[str, dict[str, Any]] = {name: {} for name in names}
        for key, value in nested.items():
            member, _, param = key.partition(".")
            if member not in params:
                raise InputDataError(
                    f"hyperparameter {key} is for {member!r}, which is not a member",
                    hint=f"members are: {', '.join(names)}",
                )
            params[member][param] = value
        for name in names:
            member_cls = get_algorithm(_algorithm_of(name))
            if "seed" in member_cls.hyperparameter_types:
                params[name].setdefault("seed", clf.seed + _copy_number(name))
            params[name] = member_cls.from_hyperparameters(params[name]).get_params()
        clf.member_params = params
        clf._weights(None)  # validates an explicit weight list
        return clf

    def _member_names(self) -> list[str]:
        from sagebox.errors import InputDataError

        names = [n.strip() for n in self.members.split(",") if n.strip()]
        algorithms = [_algorithm_of(n) for n in names]
        if not names or "ensemble" in algorithms or len(set(names)) != len(names):
            raise InputDataError(
                f"members={self.members!r} must name distinct algorithms other than ensemble",
                hint="e.g. members=linear-text,text-transformer; name copies of one algorithm "
                "text-transformer@1,text-transformer@2",
            )
        for name in names:
            _copy_number(name)  # validates the @k suffix
        return names

    def _weights(self, tuned: np.ndarray | None) -> np.ndarray:
        from sagebox.errors import InputDataError

        n = len(self._member_names())
        if self.weights.strip().lower() == "auto":
            return tuned if tuned is not None else np.full(n, 1.0 / n)
        try:
            values = np.asarray([float(w) for w in self.weights.split(",")])
        except ValueError:
            values = np.asarray([])
        if (
            len(values) != n
            or np.any(values < 0)
            or not np.isfinite(values).all()
            or (values.sum() <= 0)
        ):
            raise InputDataError(
                f"weights={self.weights!r} must be 'auto' or {n} non-negative numbers",
                hint="e.g. weights=auto or weights=" + ",".join(["1"] * n),
            )
        return values / values.sum()

    def fit(
        self, texts: Sequence[str], labels: Sequence[int], context: FitContext | None = None
    ) -> EnsembleClassifier:
        """Fit every member (each with its own checkpoint sub-directory), then the weights."""
        from sagebox.algorithms import get_algorithm

        y = check_fit_inputs(texts, labels)
        context = context or FitContext()
        names = self._member_names()
        params = self.member_params or {}
        members = []
        for name in names:
            member_context = FitContext(
                validation=context.validation,
                log_metric=_prefixed(context.log_metric, name),
                checkpoint_dir=None
                if context.checkpoint_dir is None
                else context.checkpoint_dir / name,
                on_checkpoint=context.on_checkpoint,
            )
            member = get_algorithm(_algorithm_of(name)).from_hyperparameters(params.get(name, {}))
            print(f"ensemble: fitting {name}", flush=True)
            members.append(member.fit(texts, labels, member_context))
        return self.combine(members, np.unique(y), context)

    def combine(
        self,
        members: list[TextClassifier],
        classes: np.ndarray,
        context: FitContext | None = None,
    ) -> EnsembleClassifier:
        """Use already fitted ``members`` (in ``members`` order); tune weights and offsets.

        ``fit`` calls this after fitting the members; it is public so that members fitted
        elsewhere (e.g. by a benchmark that also scores them alone) can be combined without
        fitting them again.
        """
        context = context or FitContext()
        names = self._member_names()
        self.members_ = list(members)
        self.classes_ = np.asarray(classes)
        self.bias_ = np.zeros(len(self.classes_))
        self.weights_ = self._weights(None)
        if context.validation is not None and len(context.validation[0]):
            probas = self._member_probas(context.validation[0])
            index = {int(c): i for i, c in enumerate(self.classes_)}
            known = [i for i, v in enumerate(context.validation[1]) if int(v) in index]
            truth = np.asarray([index[int(context.validation[1][i])] for i in known])
            probas = [p[known] for p in probas]
            if len(names) > 1:
                self.weights_ = self._weights(_tune_weights(probas, truth))
            if self.tune_bias:
                mixed = sum(w * p for w, p in zip(self.weights_, probas, strict=True))
                self.bias_ = _tune_bias(np.asarray(mixed), truth)
        for name, weight in zip(names, self.weights_, strict=True):
            context.log_metric(f"weight.{name}", float(weight), None)
        for cls, offset in zip(self.classes_, self.bias_, strict=True):
            context.log_metric(f"bias.{int(cls)}", float(offset), None)
        return self

    def _member_probas(self, texts: Sequence[str]) -> list[np.ndarray]:
        out = []
        for member in self.members_:
            proba = member.predict_proba(texts)
            aligned = np.zeros((len(texts), len(self.classes_)))
            for j, cls in enumerate(member.classes_):
                aligned[:, int(np.flatnonzero(self.classes_ == cls)[0])] = proba[:, j]
            out.append(aligned)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        probas = self._member_probas(texts)
        mixed = np.asarray(sum(w * p for w, p in zip(self.weights_, probas, strict=True)))
        return _shift(mixed, self.bias_)

    def save(self, model_dir: Path) -> None:
        model_dir.mkdir(parents=True, exist_ok=True)
        for name, member in zip(self._member_names(), self.members_, strict=True):
            member.save(model_dir / "members" / name)
        meta = {
            **self.get_params(),
            "classes": [int(c) for c in self.classes_],
            "fitted_weights": [float(w) for w in self.weights_],
            "fitted_bias": [float(b) for b in self.bias_],
        }
        (model_dir / "hyperparameters.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, model_dir: Path) -> EnsembleClassifier:
        from sagebox.algorithms import get_algorithm

        meta = json.loads((model_dir / "hyperparameters.json").read_text())
        clf = cls(
            members=meta["members"],
            weights=meta["weights"],
            member_params=meta["member_params"],
            tune_bias=meta.get("tune_bias", True),
            seed=meta["seed"],
        )
        clf.members_ = [
            get_algorithm(_algorithm_of(name)).load(model_dir / "members" / name)
            for name in clf._member_names()
        ]
        clf.classes_ = np.asarray(meta["classes"])
        clf.weights_ = np.asarray(meta["fitted_weights"])
        clf.bias_ = np.asarray(meta.get("fitted_bias", [0.0] * len(clf.classes_)))
        return clf


def _algorithm_of(member: str) -> str:
    """The algorithm of a member label: ``text-transformer@2`` -> ``text-transformer``."""
    return member.partition("@")[0]


def _copy_number(member: str) -> int:
    """The ``k`` of ``<algorithm>@<k>`` (0 without a suffix).

    Raises:
        InputDataError: if the suffix is not a positive whole number.
    """
    from sagebox.errors import InputDataError

    algorithm, at, suffix = member.partition("@")
    if not at:
        return 0
    if not suffix.isdigit() or int(suffix) < 1:
        raise InputDataError(
            f"member {member!r}: the copy number after '@' must be a whole number >= 1",
            hint=f"e.g. {algorithm}@1,{algorithm}@2",
        )
    return int(suffix)


def _prefixed(
    log: Callable[[str, float, int | None], None], member: str
) -> Callable[[str, float, int | None], None]:
    """``log`` with metric names prefixed by ``<member>.``."""

    def log_member(name: str, value: float, step: int | None) -> None:
        log(f"{member}.{name}", value, step)

    return log_member


def _score(truth: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Balanced accuracy + macro-F1 of class indices (numpy only: called thousands of times)."""
    matrix = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    support, predicted, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
    present = support > 0
    recall = np.divide(hits, support, out=np.zeros(k), where=present)
    f1 = np.divide(2 * hits, support + predicted, out=np.zeros(k), where=support + predicted > 0)
    return float(recall[present].mean() + f1.mean())


def _tune_weights(probas: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Simplex-grid member weights with the best validation score."""
    k = probas[0].shape[1]
    best, best_w = -1.0, np.full(len(probas), 1.0 / len(probas))
    for combo in itertools.product(range(_GRID_STEPS + 1), repeat=len(probas) - 1):
        last = _GRID_STEPS - sum(combo)
        if last < 0:
            continue
        w = np.asarray([*combo, last], dtype=np.float64) / _GRID_STEPS
        mixed = sum(wi * p for wi, p in zip(w, probas, strict=True))
        score = _score(truth, np.argmax(mixed, axis=1), k)
        if score > best + 1e-12:
            best, best_w = score, w
    return best_w


def _tune_bias(proba: np.ndarray, truth: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-class log-probability offsets (coordinate ascent on a grid) with the best score."""
    k = proba.shape[1]
    logp = np.log(np.clip(proba, 1e-12, None))
    bias = np.zeros(k)
    best = _score(truth, np.argmax(logp, axis=1), k)
    for _ in range(rounds):
        for c in range(k - 1):  # the last class is the reference
            for value in _BIAS_GRID:
                trial = bias.copy()
                trial[c] = value
                score = _score(truth, np.argmax(logp + trial, axis=1), k)
                if score > best + 1e-12:
                    best, bias = score, trial
    return bias


def _shift(proba: np.ndarray, bias: np.ndarray) -> np.ndarray:
    if not np.any(bias):
        return proba
    shifted = proba * np.exp(bias)
    return shifted / shifted.sum(axis=1, keepdims=True)
