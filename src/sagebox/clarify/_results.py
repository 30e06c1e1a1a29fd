"""The data of Clarify's results: what the analyses produce and the HTML reports render.

:class:`~sagebox.clarify.bias.BiasResult` and :class:`~sagebox.clarify.explain.Explanation`
extend these with ``write`` (JSON files and the report page); the report modules
(:mod:`sagebox.clarify.report`, :mod:`sagebox.clarify.explain_report`) read only the data, so
they sit below the results that call them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagebox.clarify.config import BiasConfig, ShapConfig

__all__ = ["BiasResultData", "ExplanationData"]


@dataclass
class BiasResultData:
    """The outcome of a bias analysis.

    Attributes:
        analysis: Clarify's ``analysis.json`` content.
        details: sagebox's extras (``bias_details.json``): data summary, multi-class metrics,
            one-vs-rest matrix with bootstrap intervals, and flagged facet values.
        config: the configuration used.
    """

    analysis: dict[str, Any]
    details: dict[str, Any]
    config: BiasConfig


@dataclass
class ExplanationData:
    """SHAP explanations of a model.

    Attributes:
        kind: ``"tabular"`` or ``"text"``.
        label_names: the explained outputs (class labels, or ``label0`` for one output).
        expected_values: the baseline prediction per label.
        global_importance: per label, feature (or word) → aggregated SHAP value.
        local: one record per explained row (written as JSON lines).
        config: the SHAP settings.
        top_words: text only: per label, the words that push most towards it.
        info: facts for the report (model, baseline description, shap version, ...).
    """

    kind: str
    label_names: list[str]
    expected_values: list[float]
    global_importance: dict[str, dict[str, float]]
    local: list[dict[str, Any]]
    config: ShapConfig
    top_words: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def analysis(self) -> dict[str, Any]:
        """The ``explanations`` part of Clarify's ``analysis.json``."""
        return {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {
                    label: {
                        "global_shap_values": self.global_importance[label],
                        "expected_value": self.expected_values[i],
                    }
                    for i, label in enumerate(self.label_names)
                }
            },
        }
