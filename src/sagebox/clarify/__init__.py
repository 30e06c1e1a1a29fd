"""Bias metrics and SHAP explanations, the SageMaker Clarify equivalent.

Pre-training (CI, DPL, KL, JS, LP, TVD, KS, CDDL) and post-training (DPPL, DI, DCA, DCR, SD, RD,
DAR, DRR, AD, TE, CDDPL, FT, GE) bias metrics computed exactly as SageMaker Clarify defines
them, written in Clarify's ``analysis.json`` layout, plus multi-class and one-vs-rest views with
bootstrap intervals, Kernel SHAP for tabular models and token-level SHAP for text models, and
self-contained HTML reports.

Example:
    >>> from sagebox.clarify import BiasConfig, run_bias
    >>> from sagebox.datasets import generate_reviews, to_sentiment
    >>> table = to_sentiment(generate_reviews(500, seed=0))
    >>> result = run_bias(table, BiasConfig("sentiment", [1], "product_category"))
    >>> sorted(result.analysis["pre_training_bias_metrics"])
    ['facets', 'label', 'label_value_or_threshold']
"""

from __future__ import annotations

from sagebox.clarify.bias import BiasResult, run_bias
from sagebox.clarify.config import BiasConfig, FacetConfig, ShapConfig, TextConfig
from sagebox.clarify.explain import Explanation, explain_tabular
from sagebox.clarify.glossary import METRICS, POST_TRAINING, PRE_TRAINING, MetricInfo
from sagebox.clarify.run import bias_file, explain_file, load_table, load_text_model
from sagebox.clarify.text_shap import explain_text

__all__ = [
    "METRICS",
    "POST_TRAINING",
    "PRE_TRAINING",
    "BiasConfig",
    "BiasResult",
    "Explanation",
    "FacetConfig",
    "MetricInfo",
    "ShapConfig",
    "TextConfig",
    "bias_file",
    "explain_file",
    "explain_tabular",
    "explain_text",
    "load_table",
    "load_text_model",
    "run_bias",
]
