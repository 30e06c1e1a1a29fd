"""The rule on labels and predictions: ClassImbalance."""

from __future__ import annotations

from collections import defaultdict

from sagebox.debugger.builtin_rules._common import (
    _MIN_CLASS_SAMPLES,
    _label,
    _round,
)
from sagebox.debugger.data import DebugData
from sagebox.debugger.rule import Finding, Rule, register_rule


@register_rule
class ClassImbalance(Rule):
    """The classes of the training data are imbalanced, or the model ignores some.

    Reads the sampled labels and arg-max predictions of training batches. Once ``samples``
    labels have been seen: fires when the most frequent class has more than
    ``threshold_imbalance`` times the samples of the least frequent (counted over every sample
    seen), or when the share of mispredicted samples of a class exceeds
    ``threshold_misprediction``. Mispredictions are counted over the most recent ``samples``
    samples, after skipping the first ``samples`` (the untrained model's first guesses), for
    classes with at least 10 samples there. The hook already stores arg-max predictions (a
    probability vector is arg-maxed whatever ``argmax`` says); ``labels_regex`` and
    ``predictions_regex`` are accepted for SageMaker compatibility and have no effect: labels
    and predictions have their own stream.
    """

    name = "ClassImbalance"
    defaults = {
        "threshold_imbalance": 10.0,
        "threshold_misprediction": 0.7,
        "samples": 500,
        "argmax": False,
        "labels_regex": ".*labels",
        "predictions_regex": ".*predictions",
    }
    description = (
        "Detects class imbalance in the training data, and classes the model keeps getting wrong."
    )
    recommendation = (
        "Rebalance the training data (oversample rare classes, undersample frequent ones) or "
        "weight the loss by class, and track per-class metrics."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        samples = max(int(self.samples), 1)
        labels: list[int] = []
        predictions: list[int | None] = []
        last_step = 0
        for batch in data.batches("train"):
            batch_labels = [_label(v) for v in batch.get("labels") or []]
            batch_predictions = [_label(v) for v in batch.get("predictions") or []]
            batch_predictions += [None] * (len(batch_labels) - len(batch_predictions))
            for label, prediction in zip(batch_labels, batch_predictions, strict=False):
                if label is not None:
                    labels.append(label)
                    predictions.append(prediction)
            last_step = batch["step"]
        if len(labels) < samples:
            return None
        counts: dict[int, int] = defaultdict(int)
        for label in labels:
            counts[label] += 1
        if len(counts) >= 2:
            most = max(counts, key=lambda c: counts[c])
            least = min(counts, key=lambda c: counts[c])
            ratio = counts[most] / counts[least]
            if ratio > self.threshold_imbalance:
                return Finding(
                    f"class {most} has {ratio:.1f}x the samples of class {least} "
                    f"({counts[most]} vs {counts[least]} of {len(labels)}; "
                    f"threshold_imbalance={self.threshold_imbalance})",
                    step=last_step,
                    evidence={
                        "check": "imbalance",
                        "class_counts": {str(c): n for c, n in sorted(counts.items())},
                        "ratio": _round(ratio),
                        "threshold_imbalance": self.threshold_imbalance,
                    },
                )
        if len(labels) < 2 * samples:
            return None
        wrong: dict[int, int] = defaultdict(int)
        seen: dict[int, int] = defaultdict(int)
        for label, prediction in zip(labels[-samples:], predictions[-samples:], strict=True):
            if prediction is None:
                continue
            seen[label] += 1
            wrong[label] += prediction != label
        rates = {c: wrong[c] / n for c, n in seen.items() if n >= _MIN_CLASS_SAMPLES}
        if not rates:
            return None
        worst = max(rates, key=lambda c: rates[c])
        if rates[worst] > self.threshold_misprediction:
            return Finding(
                f"{rates[worst]:.0%} of class {worst} samples are mispredicted in the last "
                f"{samples} samples (threshold_misprediction={self.threshold_misprediction})",
                step=last_step,
                evidence={
                    "check": "misprediction",
                    "class": worst,
                    "misprediction_rate": _round(rates[worst]),
                    "per_class_misprediction": {
                        str(c): _round(r) for c, r in sorted(rates.items())
                    },
                    "threshold_misprediction": self.threshold_misprediction,
                },
            )
        return None
