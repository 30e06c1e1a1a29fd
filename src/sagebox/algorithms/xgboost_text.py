"""``xgboost``: gradient-boosted trees on review text (TF-IDF + SVD features) or tabular rows.

Text is featurised with word and character TF-IDF reduced by truncated SVD to dense
components (trees split poorly on 100,000 sparse columns), plus a few surface features (length,
exclamation and question marks). Tabular input (a 2-D numeric array or data frame, or strings
of comma-separated numbers, as in SageMaker's CSV format) skips the featuriser. Hyperparameter
names follow SageMaker's XGBoost algorithm (``num_round``, ``eta``, ``max_depth``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sagebox.algorithms.base import FitContext, OneOf, Range, TextClassifier, check_fit_inputs

__all__ = ["XGBoostClassifier"]


class XGBoostClassifier(TextClassifier):
    """XGBoost multi-class classifier for text or tabular features.

    Args:
        num_round: boosting rounds (the most; early stopping may use fewer).
        eta: learning rate.
        max_depth: tree depth.
        min_child_weight: minimum hessian in a leaf.
        subsample: row subsampling per tree.
        colsample_bytree: column subsampling per tree.
        gamma: minimum loss reduction to split.
        alpha: L1 regularisation.
        lambda: L2 regularisation (a Python keyword: pass it in a dict, ``**{"lambda": 2}``).
        early_stopping_rounds: with validation data, stop after this many rounds without
            improvement (0: never).
        tree_method: ``hist``, ``approx`` or ``exact``.
        max_bin: histogram bins per feature (``hist``).
        svd_components: dense text components.
        max_features: vocabulary cap of each TF-IDF vectorizer.
        class_weight_balanced: weight examples inversely to class frequency.
        nthread: threads (0: all).
        seed: random seed.

    Example:
        >>> clf = XGBoostClassifier(num_round=20, svd_components=4)
        >>> clf.fit(["love it", "hate it"] * 20, [1, -1] * 20).predict(["love it"]).tolist()
        [1]
    """

    name: ClassVar[str] = "xgboost"
    accepts_tabular: ClassVar[bool] = True
    hyperparameter_types: ClassVar[dict[str, type]] = {
        "num_round": int,
        "eta": float,
        "max_depth": int,
        "min_child_weight": float,
        "subsample": float,
        "colsample_bytree": float,
        "gamma": float,
        "alpha": float,
        "lambda": float,
        "early_stopping_rounds": int,
        "tree_method": str,
        "max_bin": int,
        "svd_components": int,
        "max_features": int,
        "class_weight_balanced": bool,
        "nthread": int,
        "seed": int,
    }
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {
        "num_round": Range(1),
        "eta": Range(0, 1, low_inclusive=False),
        "max_depth": Range(1, 32),
        "min_child_weight": Range(0),
        "subsample": Range(0, 1, low_inclusive=False),
        "colsample_bytree": Range(0, 1, low_inclusive=False),
        "gamma": Range(0),
        "alpha": Range(0),
        "lambda": Range(0),
        "early_stopping_rounds": Range(0),
        "tree_method": OneOf(("hist", "approx", "exact")),
        "max_bin": Range(2, 1024),
        "svd_components": Range(1),
        "max_features": Range(1),
        "nthread": Range(0),
    }

    num_round: int
    eta: float
    max_depth: int
    min_child_weight: float
    subsample: float
    colsample_bytree: float
    gamma: float
    alpha: float
    early_stopping_rounds: int
    tree_method: str
    max_bin: int
    svd_components: int
    max_features: int
    class_weight_balanced: bool
    nthread: int
    seed: int

    def __init__(self, **params: Any) -> None:
        # ``lambda`` is a Python keyword, so keyword-only arguments come through **params.
        defaults = _DEFAULTS
        unknown = set(params) - set(defaults)
        if unknown:
            raise TypeError(f"unexpected hyperparameter(s): {', '.join(sorted(unknown))}")
        for key, default in defaults.items():
            setattr(self, key, params.get(key, default))

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.hyperparameter_types}

    def _featurizer(self) -> Any:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        tfidf = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=(1, 2),
                        min_df=2,
                        max_features=self.max_features,
                        sublinear_tf=True,
                        strip_accents="unicode",
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(3, 5),
                        min_df=3,
                        max_features=self.max_features,
                        sublinear_tf=True,
                    ),
                ),
            ]
        )
        svd = TruncatedSVD(n_components=self.svd_components, random_state=self.seed)
        return FeatureUnion(
            [
                ("svd", make_pipeline(tfidf, svd)),
                ("surface", FunctionTransformer(_surface_features)),
            ]
        )

    def _matrix(self, texts: Sequence[Any], fit: bool = False) -> np.ndarray:
        tabular = _as_tabular(texts)
        if fit:
            self.tabular_ = tabular is not None
            if tabular is None:
                self.featurizer_ = self._featurizer()
                return np.asarray(self.featurizer_.fit_transform([str(t) for t in texts]))
            return tabular
        if self.tabular_:
            if tabular is None:
                tabular = _parse_rows(texts)
            return tabular
        return np.asarray(self.featurizer_.transform([str(t) for t in texts]))

    def fit(
        self, texts: Sequence[Any], labels: Sequence[int], context: FitContext | None = None
    ) -> XGBoostClassifier:
        """Fit the featuriser (text input) and the booster; early-stop on validation data."""
        import xgboost as xgb

        self.validate_params()
        y = check_fit_inputs(texts, labels)
        context = context or FitContext()
        self.classes_ = np.unique(y)
        index = {int(c): i for i, c in enumerate(self.classes_)}
        x = self._matrix(texts, fit=True)
        target = np.asarray([index[int(v)] for v in y])
        weight = None
        if self.class_weight_balanced:
            counts = np.bincount(target)
            weight = (len(target) / (len(counts) * counts))[target]
        train = xgb.DMatrix(x, label=target, weight=weight)
        evals = [(train, "train")]
        early = None
        if context.validation is not None and len(context.validation[0]):
            v_texts, v_labels = context.validation
            known = [i for i, v in enumerate(v_labels) if int(v) in index]
            v_x = self._matrix([v_texts[i] for i in known])
            v_y = np.asarray([index[int(v_labels[i])] for i in known])
            evals.append((xgb.DMatrix(v_x, label=v_y), "validation"))
            early = self.early_stopping_rounds or None
        history: dict[str, Any] = {}
        self.booster_ = xgb.train(
            self._booster_params(len(self.classes_)),
            train,
            num_boost_round=self.num_round,
            evals=evals,
            early_stopping_rounds=early,
            evals_result=history,
            verbose_eval=False,
        )
        for name, curves in history.items():
            for rnd, value in enumerate(curves["mlogloss"], start=1):
                if rnd % 50 == 0 or rnd == len(curves["mlogloss"]):
                    context.log_metric(f"{name}:mlogloss", float(value), rnd)
        return self

    def _booster_params(self, n_classes: int) -> dict[str, Any]:
        params = {
            "objective": "multi:softprob",
            "num_class": n_classes,
            "eval_metric": "mlogloss",
            "eta": self.eta,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "gamma": self.gamma,
            "alpha": self.alpha,
            "lambda": getattr(self, "lambda"),
            "tree_method": self.tree_method,
            "max_bin": self.max_bin,
            "seed": self.seed,
        }
        if self.nthread:
            params["nthread"] = self.nthread
        return params

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        import xgboost as xgb

        matrix = xgb.DMatrix(self._matrix(texts))
        best = getattr(self.booster_, "best_iteration", None)
        rounds = (0, best + 1) if best is not None else (0, 0)
        return np.asarray(self.booster_.predict(matrix, iteration_range=rounds))

    def save(self, model_dir: Path) -> None:
        """Write the booster as XGBoost JSON and the featuriser as skops: no pickle."""
        from sagebox.algorithms._sklearn_io import save_sklearn

        model_dir.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(model_dir / "xgboost-model.json"))
        if not self.tabular_:
            save_sklearn(self.featurizer_, model_dir, "featurizer")
        meta = {"classes": [int(c) for c in self.classes_], "tabular": self.tabular_}
        (model_dir / "hyperparameters.json").write_text(json.dumps({**self.get_params(), **meta}))

    @classmethod
    def load(cls, model_dir: Path) -> XGBoostClassifier:
        """Load the booster and the featuriser (an older ``featurizer.joblib`` loads with a
        FutureWarning)."""
        import xgboost as xgb

        from sagebox.algorithms._sklearn_io import load_legacy_joblib, load_sklearn

        params = json.loads((model_dir / "hyperparameters.json").read_text())
        classes, tabular = params.pop("classes"), params.pop("tabular")
        clf = cls(**params)
        clf.booster_ = xgb.Booster()
        clf.booster_.load_model(str(model_dir / "xgboost-model.json"))
        clf.tabular_ = tabular
        legacy = model_dir / "featurizer.joblib"
        if tabular:
            pass  # no featuriser
        elif legacy.is_file() and not (model_dir / "featurizer.skops").is_file():
            clf.featurizer_ = load_legacy_joblib(legacy)
        else:
            clf.featurizer_ = load_sklearn(model_dir, "featurizer", trusted=_TRUSTED)
        clf.classes_ = np.asarray(classes)
        return clf


#: Types beyond skops' defaults (scikit-learn, numpy, scipy) that ``featurizer.skops`` may hold.
_TRUSTED = [f"{__name__}._surface_features"]


_DEFAULTS: dict[str, Any] = {
    "num_round": 600,
    "eta": 0.2,
    "max_depth": 4,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "gamma": 0.0,
    "alpha": 0.0,
    "lambda": 1.0,
    "early_stopping_rounds": 30,
    "tree_method": "hist",
    "max_bin": 64,
    "svd_components": 200,
    "max_features": 50_000,
    "class_weight_balanced": True,
    "nthread": 0,
    "seed": 0,
}


def _surface_features(texts: Sequence[str]) -> np.ndarray:
    rows = [
        (len(t), t.count("!"), t.count("?"), sum(c.isupper() for c in t) / max(1, len(t)))
        for t in texts
    ]
    return np.log1p(np.asarray(rows, dtype=np.float64))


def _as_tabular(values: Any) -> np.ndarray | None:
    """A 2-D float matrix when ``values`` is tabular (array, frame or rows), else None."""
    if hasattr(values, "to_numpy") and getattr(values, "ndim", 1) == 2:
        return np.asarray(values.to_numpy(), dtype=np.float64)
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return values.astype(np.float64)
    if len(values) and isinstance(values[0], list | tuple | np.ndarray):
        return np.asarray(values, dtype=np.float64)
    return None


def _parse_rows(values: Sequence[Any]) -> np.ndarray:
    """Rows given as CSV strings (``"1.5,0,3"``) or sequences, as a float matrix."""
    from sagebox.errors import InputDataError

    rows = []
    for value in values:
        try:
            rows.append(
                [float(v) for v in value.split(",")] if isinstance(value, str) else list(value)
            )
        except ValueError as exc:
            raise InputDataError(
                f"cannot read a row of numbers from {str(value)[:60]!r}",
                hint="this xgboost model was trained on tabular data: send comma-separated numbers",
            ) from exc
    return np.asarray(rows, dtype=np.float64)
