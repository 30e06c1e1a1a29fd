"""Rules on tensor summaries.

VanishingGradient, ExplodingTensor, PoorWeightInitialization and DeadRelu.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sagebox.debugger.builtin_rules._common import (
    _P5_P95_SPREAD,
    _by_step,
    _finite,
    _fullmatch,
    _is_loss,
    _loss_series,
    _magnitude,
    _patterns,
    _round,
)
from sagebox.debugger.data import DebugData
from sagebox.debugger.rule import Finding, Rule, register_rule


@register_rule
class VanishingGradient(Rule):
    """The gradients become vanishingly small.

    SageMaker compares the mean absolute value of each gradient with ``threshold``. We keep
    summaries, so a gradient's size is its root mean square ``norm / sqrt(size)`` (an upper
    bound of the mean absolute value). Fires at the first step at which every gradient
    saved at that step (every layer) is below ``threshold``.
    """

    name = "VanishingGradient"
    defaults = {"threshold": 1e-7}
    description = "Detects gradients that have become too small for the weights to change."
    recommendation = (
        "Use a better initialisation (Xavier/He), ReLU-like activations, normalisation layers or "
        "residual connections, and check the learning rate and loss scaling."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        for step, summaries in _by_step(data.tensors("gradient")).items():
            sizes = {name: _magnitude(summary) for name, summary in summaries.items()}
            finite = {name: size for name, size in sizes.items() if math.isfinite(size)}
            if not finite or len(finite) < len(sizes):
                continue
            largest = max(finite, key=lambda name: finite[name])
            if finite[largest] < self.threshold:
                return Finding(
                    f"all {len(finite)} gradients are below threshold={self.threshold:g} at "
                    f"step {step} (largest: {largest}, {finite[largest]:.3g})",
                    step=step,
                    evidence={
                        "gradients": len(finite),
                        "largest_gradient": largest,
                        "largest_mean_abs": _round(finite[largest]),
                        "threshold": self.threshold,
                    },
                )
        return None


@register_rule
class ExplodingTensor(Rule):
    """A tensor or scalar holds NaN or infinite values.

    Inspects tensor summaries (their NaN and inf counts, or non-finite statistics) and
    scalars (losses, metrics). With ``only_nan`` only NaN counts; otherwise infinity counts
    too, and so does a finite value whose magnitude exceeds ``abs_threshold`` (a sagebox
    extension: a weight or loss of 1e15 has exploded although it is still a number).

    Which: ``collection_names`` (``losses``, ``metrics``, ``weights``, ``gradients``,
    ``activations``) and/or ``tensor_regex`` (names of tensors and scalars), their union; all
    when neither is given. Reports the earliest step.
    """

    name = "ExplodingTensor"
    defaults = {
        "collection_names": None,
        "tensor_regex": None,
        "only_nan": False,
        "abs_threshold": 1e15,
    }
    description = "Detects tensors or losses that became NaN or infinite (exploded)."
    recommendation = (
        "Lower the learning rate, clip gradients (e.g. clip_grad_norm_ 1.0), check the inputs "
        "for NaN and the loss for log(0) or division by zero; use loss scaling with fp16."
    )

    _KINDS = {
        "weights": ("weight",),
        "gradients": ("gradient",),
        "activations": ("activation", "activation_input"),
    }

    def evaluate(self, data: DebugData) -> Finding | None:
        found: list[tuple[int, str, dict[str, Any]]] = []
        for name, mode, series in self._scalars(data):
            for step, value in series:
                if self._bad_value(value):
                    found.append((step, f"scalar {name} ({mode}) is {value}", {"value": value}))
                    break
        for kind, name, summaries in self._tensors(data):
            for summary in summaries:
                problem = self._bad_summary(summary)
                if problem:
                    figures = {k: summary.get(k) for k in ("nan", "inf", "min", "max", "norm")}
                    found.append((summary["step"], f"{kind} {name} {problem}", figures))
                    break
        if not found:
            return None
        step, what, figures = min(found, key=lambda item: item[0])
        return Finding(
            f"{what} at step {step}",
            step=step,
            evidence={
                "what": what,
                **{
                    k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in figures.items()
                },
                "only_nan": self.only_nan,
                "exploded_tensors": len(found),
            },
        )

    def _scalars(self, data: DebugData) -> list[tuple[str, str, list[tuple[int, float]]]]:
        patterns = _patterns(self.tensor_regex)
        collections = _patterns(self.collection_names)
        everything = not patterns and not collections
        out = []
        for mode in ("train", "eval"):
            for name in data.scalar_names(mode):
                wanted = (
                    everything
                    or any(_fullmatch(p, name) for p in patterns)
                    or ("losses" in collections and _is_loss(name))
                    or ("metrics" in collections and not _is_loss(name))
                )
                if wanted:
                    series = data.scalar_series(re.escape(name), mode).get(name, [])
                    out.append((name, mode, series))
        return out

    def _tensors(self, data: DebugData) -> list[tuple[str, str, list[dict[str, Any]]]]:
        patterns = _patterns(self.tensor_regex)
        collections = _patterns(self.collection_names)
        everything = not patterns and not collections
        kinds_of_collections = {k for c in collections for k in self._KINDS.get(c, ())}
        out = []
        for kind in data.tensor_kinds():
            for name, summaries in data.tensors(kind).items():
                if (
                    everything
                    or kind in kinds_of_collections
                    or any(_fullmatch(p, name) for p in patterns)
                ):
                    out.append((kind, name, summaries))
        return out

    def _bad_value(self, value: float) -> bool:
        if math.isnan(value):
            return True
        if self.only_nan:
            return False
        return math.isinf(value) or abs(value) > self.abs_threshold

    def _bad_summary(self, summary: dict[str, Any]) -> str | None:
        nan, inf = summary.get("nan") or 0, summary.get("inf") or 0
        if nan:
            return f"has {nan} NaN value(s)"
        stats = [summary.get(k) for k in ("mean", "std", "min", "max")]
        numbers = [float(v) for v in stats if isinstance(v, int | float)]
        if "nan" not in summary and any(math.isnan(v) for v in numbers):
            return "has NaN statistics"
        if self.only_nan:
            return None
        if inf:
            return f"has {inf} infinite value(s)"
        if any(not math.isfinite(v) for v in numbers):
            return "has non-finite statistics"
        largest = max((abs(v) for v in numbers), default=0.0)
        if largest > self.abs_threshold:
            return f"reaches |{largest:.3g}| > abs_threshold={self.abs_threshold:g}"
        return None


@register_rule
class PoorWeightInitialization(Rule):
    """The model was badly initialised; looks only at the first ``steps`` saved steps.

    Three checks, as SageMaker's rule; it fires on the first that holds:

    1. Activation inputs (tensors of kind ``activation_input`` matching
       ``activation_inputs_regex``; with the default regex and no match, every activation
       input): at a step, the largest variance (std²) across layers is more than ``threshold``
       times the smallest.
    2. Gradients: the spread between the 5th and 95th percentile of all gradient values of a
       step is below ``distribution_range``. From summaries the values of all layers are pooled
       (sizes, means, stds) and the spread is 3.29 pooled standard deviations (normal
       approximation).
    3. Loss: the training loss makes no new low for ``patience`` saved values in a row.

    "Steps" are saved steps of each kind of data: with the hook's default intervals the first
    10 tensor saves span 500 training steps, the first 10 loss saves 100.
    """

    name = "PoorWeightInitialization"
    defaults = {
        "activation_inputs_regex": ".*relu_input",
        "threshold": 10.0,
        "distribution_range": 0.001,
        "patience": 5,
        "steps": 10,
    }
    description = (
        "Detects a poor weight initialisation: uneven activation variances across layers, "
        "too narrow gradients, or a loss that does not fall in the first steps."
    )
    recommendation = (
        "Initialise weights with a scale-aware scheme (Xavier/Glorot for tanh/sigmoid, He/Kaiming "
        "for ReLU), never constant or all-zero, or start from pretrained weights."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        steps = max(int(self.steps), 1)
        found = [
            finding
            for finding in (
                self._activation_variance(data, steps),
                self._gradient_spread(data, steps),
                self._loss_stuck(data, steps),
            )
            if finding is not None
        ]
        return min(found, key=lambda f: f.step if f.step is not None else 0, default=None)

    def _activation_inputs(self, data: DebugData) -> dict[str, list[dict[str, Any]]]:
        patterns = _patterns(self.activation_inputs_regex)
        selected: dict[str, list[dict[str, Any]]] = {}
        for pattern in patterns:
            selected.update(data.tensors("activation_input", pattern))
        if (
            not selected
            and self.activation_inputs_regex == self.defaults["activation_inputs_regex"]
        ):
            selected = data.tensors("activation_input")
        return selected

    def _activation_variance(self, data: DebugData, steps: int) -> Finding | None:
        for step, summaries in list(_by_step(self._activation_inputs(data)).items())[:steps]:
            variances = {
                name: float(s["std"]) ** 2 for name, s in summaries.items() if _finite(s.get("std"))
            }
            if len(variances) < 2:
                continue
            high = max(variances, key=lambda n: variances[n])
            low = min(variances, key=lambda n: variances[n])
            if variances[high] == 0:
                continue
            ratio = variances[high] / variances[low] if variances[low] > 0 else math.inf
            if ratio > self.threshold:
                return Finding(
                    f"activation input variance differs {ratio:.3g}x across layers at step "
                    f"{step} ({high}: {variances[high]:.3g}, {low}: {variances[low]:.3g}; "
                    f"threshold={self.threshold})",
                    step=step,
                    evidence={
                        "check": "activation_variance",
                        "ratio": _round(ratio) if math.isfinite(ratio) else "inf",
                        "max_variance": _round(variances[high]),
                        "max_variance_layer": high,
                        "min_variance": _round(variances[low]),
                        "min_variance_layer": low,
                        "threshold": self.threshold,
                    },
                )
        return None

    def _gradient_spread(self, data: DebugData, steps: int) -> Finding | None:
        for step, summaries in list(_by_step(data.tensors("gradient")).items())[:steps]:
            count = total = squares = 0.0
            for summary in summaries.values():
                size, mean, std = summary.get("size"), summary.get("mean"), summary.get("std")
                if not (_finite(size) and _finite(mean) and _finite(std)) or size <= 0:
                    continue
                count += size
                total += size * mean
                squares += size * (std * std + mean * mean)
            if count == 0:
                continue
            mean_all = total / count
            spread = _P5_P95_SPREAD * math.sqrt(max(squares / count - mean_all**2, 0.0))
            if spread < self.distribution_range:
                return Finding(
                    f"gradients are too narrow at step {step}: 5th-95th percentile spread "
                    f"~{spread:.3g} < distribution_range={self.distribution_range}",
                    step=step,
                    evidence={
                        "check": "gradient_distribution",
                        "spread_p5_p95": _round(spread),
                        "distribution_range": self.distribution_range,
                        "gradient_values": int(count),
                    },
                )
        return None

    def _loss_stuck(self, data: DebugData, steps: int) -> Finding | None:
        series = _loss_series(data, [], "train")
        if series is None:
            return None
        points = series[1][:steps]
        best = points[0][1]
        since = 0
        for step, value in points[1:]:
            if value < best:
                best, since = value, 0
                continue
            since += 1
            if since >= max(int(self.patience), 1):
                return Finding(
                    f"the training loss made no new low for {since} saved values in the first "
                    f"{steps} (stuck at {best:.4g}, step {step})",
                    step=step,
                    evidence={
                        "check": "loss_convergence",
                        "best_loss": _round(best),
                        "current_loss": _round(value),
                        "values_without_improvement": since,
                        "patience": self.patience,
                    },
                )
        return None


@register_rule
class DeadRelu(Rule):
    """Too many ReLU units of a layer are dead (never active).

    SageMaker counts, per unit, how often it is active; a unit active less than
    ``threshold_inactivity`` percent of the time is dead, and the rule fires when more than
    ``threshold_layer`` percent of a layer's units are dead. Our activation summaries (kind
    ``activation``: a ReLU/GELU layer's output, matching ``tensor_regex``, all by default) give
    a ``dead_fraction`` when the hook computes it; otherwise the share of dead units is bounded
    from the fraction of zero outputs ``z``: at most ``(1 - z)`` of the outputs are active, so
    at least ``1 - (1 - z) / (threshold_inactivity / 100)`` of the units are dead. The bound
    never over-counts: with the defaults a layer is reported once 99.5% of its outputs are
    zero. Fires at the first step at which a layer crosses ``threshold_layer``.
    """

    name = "DeadRelu"
    defaults = {"tensor_regex": None, "threshold_inactivity": 1.0, "threshold_layer": 50.0}
    description = "Detects ReLU layers whose units have died (always output zero)."
    recommendation = (
        "Lower the learning rate, use LeakyReLU/GELU, a He initialisation or batch "
        "normalisation, and check for large negative biases."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        patterns = _patterns(self.tensor_regex) or [".*"]
        activations: dict[str, list[dict[str, Any]]] = {}
        for pattern in patterns:
            activations.update(data.tensors("activation", pattern))
        inactivity = max(float(self.threshold_inactivity), 1e-9) / 100
        for step, summaries in _by_step(activations).items():
            for name, summary in summaries.items():
                dead = summary.get("dead_fraction")
                if _finite(dead):
                    dead_percent = 100 * float(dead)
                elif _finite(summary.get("zero_fraction")):
                    active = 1 - float(summary["zero_fraction"])
                    dead_percent = 100 * max(0.0, 1 - active / inactivity)
                else:
                    continue
                if dead_percent > self.threshold_layer:
                    return Finding(
                        f"at least {dead_percent:.0f}% of the units of {name} are dead at step "
                        f"{step} (threshold_layer={self.threshold_layer}%)",
                        step=step,
                        evidence={
                            "layer": name,
                            "dead_percent": _round(dead_percent),
                            "zero_fraction": summary.get("zero_fraction"),
                            "threshold_layer": self.threshold_layer,
                            "threshold_inactivity": self.threshold_inactivity,
                        },
                    )
        return None
