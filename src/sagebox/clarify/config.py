"""Configuration of bias and explainability analyses (SageMaker Clarify's BiasConfig et al.)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sagebox.errors import ConfigError

__all__ = ["AGG_METHODS", "BiasConfig", "FacetConfig", "ShapConfig", "TextConfig"]

AGG_METHODS = ("mean_abs", "median", "mean_sq")


@dataclass(frozen=True)
class FacetConfig:
    """One facet column and the value(s) or threshold selecting facet *d*.

    Args:
        name: the facet column.
        values_or_threshold: the facet values (facet d is the rows with any of them), or one
            threshold for a continuous column (facet d is the rows above it). ``None``: one
            result per value of the column, each value against the rest.

    Example:
        >>> FacetConfig("product_category", ["Dresses"]).values_or_threshold
        ('Dresses',)
    """

    name: str
    values_or_threshold: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a facet needs a column name", hint="e.g. product_category")
        values = self.values_or_threshold
        if values is not None:
            values = tuple(values) if _is_sequence(values) else (values,)
            if not values:
                raise ConfigError(
                    f"facet {self.name!r}: empty value list",
                    hint="omit the values to analyse every value of the column",
                )
            object.__setattr__(self, "values_or_threshold", values)


@dataclass(frozen=True)
class BiasConfig:
    """What to analyse for bias, as in Clarify's ``BiasConfig`` and ``ModelPredictedLabelConfig``.

    Args:
        label: the label (target) column.
        label_values_or_threshold: the label values counted as positive outcomes, or one
            threshold (positive = above it) for a continuous label.
        facets: facet column name(s) or :class:`FacetConfig` objects.
        group_name: column of subgroups for the conditional metrics CDDL and CDDPL.
        predicted_label: column of predicted labels (post-training metrics).
        probability: column of predicted probabilities of the positive outcome (post-training
            metrics; predicted positive when ``probability > probability_threshold``).
        probability_threshold: threshold for ``probability``.
        excluded_columns: columns the flip test (FT) must not use as features.
        multiclass: also compute KL/JS/LP/TVD/KS over the full label distribution.
        bootstrap: resamples for the 95% intervals of the one-vs-rest matrix (0: none).
        seed: seed of the bootstrap.

    Example:
        >>> cfg = BiasConfig("sentiment", [1], "product_category")
        >>> cfg.facets[0].name, cfg.label_values_or_threshold
        ('product_category', (1,))
    """

    label: str
    label_values_or_threshold: Sequence[Any]
    facets: tuple[FacetConfig, ...]
    group_name: str | None = None
    predicted_label: str | None = None
    probability: str | None = None
    probability_threshold: float = 0.5
    excluded_columns: tuple[str, ...] = ()
    multiclass: bool = True
    bootstrap: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        values = self.label_values_or_threshold
        values = tuple(values) if _is_sequence(values) else (values,)
        if not values:
            raise ConfigError(
                "label_values_or_threshold is empty",
                hint="give the positive label value(s), e.g. [1], or one threshold",
            )
        object.__setattr__(self, "label_values_or_threshold", values)
        facets = self.facets if _is_sequence(self.facets) else (self.facets,)
        facets = tuple(f if isinstance(f, FacetConfig) else _facet(f) for f in facets)
        if not facets:
            raise ConfigError("no facet given", hint="name at least one facet column")
        object.__setattr__(self, "facets", facets)
        object.__setattr__(self, "excluded_columns", tuple(self.excluded_columns))
        if self.predicted_label and self.probability:
            raise ConfigError(
                "give either predicted_label or probability, not both",
                hint="a probability column is turned into predicted labels by the threshold",
            )
        if not 0.0 <= float(self.probability_threshold) <= 1.0:
            raise ConfigError(
                f"probability_threshold must be in [0, 1], got {self.probability_threshold}",
                hint="e.g. 0.5",
            )
        if self.bootstrap < 0:
            raise ConfigError(f"bootstrap must be >= 0, got {self.bootstrap}", hint="e.g. 200")

    @property
    def post_training(self) -> bool:
        """Whether predictions are configured (post-training metrics)."""
        return bool(self.predicted_label or self.probability)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (job parameters); :meth:`from_dict` reverses it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BiasConfig:
        """Build from :meth:`to_dict` output."""
        data = dict(data)
        data["facets"] = tuple(
            FacetConfig(f["name"], f.get("values_or_threshold")) for f in data["facets"]
        )
        return cls(**data)


@dataclass(frozen=True)
class ShapConfig:
    """Kernel SHAP settings, as in Clarify's ``SHAPConfig``.

    Args:
        baseline: tabular only: baseline rows (a list of rows or a DataFrame); ``None``
            summarises the data with K-means (``num_clusters`` centres).
        num_clusters: K-means baseline size when ``baseline`` is None.
        num_samples: coalitions sampled per explained row (per review for text).
        agg_method: how local values become global ones: ``mean_abs`` (mean of |phi|),
            ``median`` (median of phi) or ``mean_sq`` (mean of phi squared).
        use_logit: explain log-odds instead of probabilities.
        seed: seed of the coalition sampling.

    Example:
        >>> ShapConfig(num_samples=100, agg_method="mean_sq").agg_method
        'mean_sq'
    """

    baseline: Any = None
    num_clusters: int = 10
    num_samples: int = 300
    agg_method: str = "mean_abs"
    use_logit: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.agg_method not in AGG_METHODS:
            raise ConfigError(
                f"unknown agg_method {self.agg_method!r}", hint=f"use one of {AGG_METHODS}"
            )
        if self.num_samples < 1:
            raise ConfigError(f"num_samples must be >= 1, got {self.num_samples}", hint="e.g. 300")
        if self.num_clusters < 1:
            raise ConfigError(f"num_clusters must be >= 1, got {self.num_clusters}", hint="e.g. 10")


@dataclass(frozen=True)
class TextConfig:
    """How text is split into features for token-level SHAP (Clarify's ``TextConfig``).

    Args:
        granularity: only ``"token"`` (words) is supported.
        mask_token: what a left-out token is replaced by (``""`` removes it).
        min_count: a word must occur this often among the explained reviews to be ranked in
            the global importance and the top words.
        top_k: words listed per class in the global importance.
    """

    granularity: str = "token"
    mask_token: str = ""
    min_count: int = 3
    top_k: int = 15

    def __post_init__(self) -> None:
        if self.granularity != "token":
            raise ConfigError(
                f"granularity {self.granularity!r} is not supported", hint="use 'token'"
            )


def _facet(value: Any) -> FacetConfig:
    if isinstance(value, dict):
        return FacetConfig(value["name"], value.get("values_or_threshold"))
    return FacetConfig(str(value))


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
