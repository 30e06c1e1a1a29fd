"""The built-in debugger rules, with SageMaker Debugger's names, parameters and defaults.

Each rule reads a :class:`sagebox.debugger.data.DebugData` and returns a
:class:`~sagebox.debugger.rule.Finding` (the step and the figures behind it) once its
condition holds. How our data maps to SageMaker's:

* Losses are scalars: the training loss is a scalar named ``loss`` (or ``train:loss``,
  ``train_loss``...: any name ending in ``loss``) saved in mode ``train``; the validation loss is
  such a scalar in mode ``eval``. SageMaker's ``losses`` collection is "every loss-like scalar".
* Tensors are summaries (norm, mean, std, min, max, fraction of zeros, NaN and inf counts,
  size), not full tensors; where SageMaker looks at every value, a rule uses the summary
  figure that bounds or estimates it, as each docstring says.
* SageMaker's ``mode`` values ``TRAIN``/``EVAL``/``GLOBAL`` are accepted in any case.
* Regex parameters match whole names and may be a list or a comma-separated string.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeGuard

from sagebox.debugger.data import DebugData, parse_mode
from sagebox.debugger.rule import Finding, Rule, register_rule

__all__ = [
    "LOSS_REGEX",
    "ClassImbalance",
    "DeadRelu",
    "ExplodingTensor",
    "LossNotDecreasing",
    "Overfit",
    "Overtraining",
    "PoorWeightInitialization",
    "StalledTrainingRule",
    "VanishingGradient",
]

#: scalar names in SageMaker's ``losses`` collection: ``loss`` or any name ending in it
LOSS_REGEX = r"(?i)(.*[_:./ -])?loss"
#: p95 - p5 of a normal distribution, in standard deviations (2 × 1.645)
_P5_P95_SPREAD = 3.29
#: ClassImbalance skips a class with fewer samples than this in its misprediction window
_MIN_CLASS_SAMPLES = 10


# -- helpers ---------------------------------------------------------------------------------


def _patterns(value: Any) -> list[str]:
    """Regexes or names given as a list or a comma-separated string (None: none)."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple | set) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _finite(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and math.isfinite(value)


def _round(value: float) -> float:
    return float(f"{value:.6g}") if math.isfinite(value) else value


def _select_scalars(
    data: DebugData, patterns: list[str], mode: str | None
) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series (per name) whose name matches one of ``patterns``."""
    out: dict[str, list[tuple[int, float]]] = {}
    for pattern in patterns:
        for name, series in data.scalar_series(pattern, mode).items():
            out.setdefault(name, series)
    return out


def _loss_series(
    data: DebugData, patterns: list[str], mode: str | None
) -> tuple[str, list[tuple[int, float]]] | None:
    """The one loss series a rule compares: among the scalars matching ``patterns`` (loss-like
    names by default) in ``mode``, the one with the most finite values (then the shortest
    name); its finite values averaged per step."""
    candidates = _select_scalars(data, patterns or [LOSS_REGEX], mode)
    best: tuple[str, list[tuple[int, float]]] | None = None
    for name, series in candidates.items():
        finite = _per_step_mean(series)
        if not finite:
            continue
        if best is None or (len(finite), -len(name)) > (len(best[1]), -len(best[0])):
            best = (name, finite)
    return best


def _per_step_mean(series: list[tuple[int, float]]) -> list[tuple[int, float]]:
    sums: dict[int, list[float]] = {}
    for step, value in series:
        if math.isfinite(value):
            sums.setdefault(step, []).append(value)
    return [(step, math.fsum(values) / len(values)) for step, values in sorted(sums.items())]


def _by_step(summaries: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, dict[str, Any]]]:
    """``{step: {tensor name: summary}}``, steps in increasing order."""
    out: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for name, items in summaries.items():
        for summary in items:
            out[summary["step"]][name] = summary
    return dict(sorted(out.items()))


def _magnitude(summary: dict[str, Any]) -> float:
    """Root mean square of a tensor's values (an upper bound of their mean absolute value):
    ``norm / sqrt(size)``, else ``|mean|``."""
    norm, size = summary.get("norm"), summary.get("size")
    if _finite(norm) and isinstance(size, int | float) and size > 0:
        return float(norm) / math.sqrt(size)
    mean = summary.get("mean")
    return abs(float(mean)) if _finite(mean) else math.nan


# -- rules -----------------------------------------------------------------------------------


@register_rule
class LossNotDecreasing(Rule):
    """The loss does not go down at an adequate rate.

    Checks happen every ``num_steps`` steps, as in SageMaker: the first at the first saved
    step at least ``num_steps`` after the first saved loss, the next at the first saved step
    at least ``num_steps`` after the previous check. At a check at step ``s`` the loss is
    compared with the loss at the newest saved step ``r <= s - num_steps``. Each side is the
    mean of the saved (finite) values in the ``num_steps`` steps ending there, which damps
    per-batch noise; with one saved value per window it is SageMaker's point comparison.

    Fires when (1) at a check the loss decreased by less than ``diff_percent`` percent of the
    reference loss (an increase is a negative decrease), or (2) at any saved step the mean
    loss over the last ``num_steps`` steps is more than ``increase_threshold_percent`` percent
    above the lowest such mean so far (counted once ``num_steps`` steps have passed): the
    loss went up, which (2) catches between checks.

    Which scalars: ``tensor_regex`` and/or ``collection_names`` (``losses``: loss-like names,
    ``metrics``: the other scalars); else, with ``use_losses_collection``, every loss-like
    scalar (``loss``, ``train:loss``, ``val_loss``...); else every scalar. Each matching scalar
    is checked on its own. ``mode`` ``TRAIN`` (the default, as in SageMaker's
    ``rule_configs.loss_not_decreasing()``), ``EVAL`` or ``GLOBAL`` (all modes); None checks
    the first of EVAL, TRAIN, GLOBAL that has losses.
    """

    name = "LossNotDecreasing"
    defaults = {
        "tensor_regex": None,
        "collection_names": None,
        "use_losses_collection": True,
        "num_steps": 10,
        "diff_percent": 0.1,
        "increase_threshold_percent": 5.0,
        "mode": "TRAIN",
    }
    description = "Detects when the loss stops decreasing at an adequate rate."
    recommendation = (
        "Check the learning rate (too low: slow progress; too high: the loss bounces) and that "
        "the weights really train (not frozen, the optimizer steps); stop a run that has "
        "converged."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        for mode in self._modes():
            candidates = self._candidates(data, mode)
            if not candidates:
                continue
            for name, series in candidates.items():
                finding = self._check(name, mode or "global", _per_step_mean(series))
                if finding is not None:
                    return finding
            return None
        return None

    def _modes(self) -> list[str | None]:
        if self.mode is None:
            return ["eval", "train", None]
        text = str(self.mode).strip().lower()
        return [None] if text == "global" else [parse_mode(text)]

    def _candidates(self, data: DebugData, mode: str | None) -> dict[str, list[tuple[int, float]]]:
        patterns = _patterns(self.tensor_regex)
        collections = _patterns(self.collection_names)
        if not patterns and not collections:
            patterns = [LOSS_REGEX if self.use_losses_collection else ".*"]
        out = _select_scalars(data, patterns, mode)
        if "losses" in collections:
            out.update(_select_scalars(data, [LOSS_REGEX], mode))
        if "metrics" in collections:
            others = _select_scalars(data, [".*"], mode)
            out.update({n: s for n, s in others.items() if not _is_loss(n)})
        return out

    def _check(self, name: str, mode: str, points: list[tuple[int, float]]) -> Finding | None:
        num_steps = max(int(self.num_steps), 1)
        if len(points) < 2:
            return None
        steps = [step for step, _ in points]
        prefix = [0.0]
        for _, value in points:
            prefix.append(prefix[-1] + value)

        def window_mean(index: int) -> float:
            low = bisect.bisect_right(steps, steps[index] - num_steps)
            low = min(low, index)
            return (prefix[index + 1] - prefix[low]) / (index + 1 - low)

        last_check = steps[0]
        best = math.inf  # lowest full-window mean before the current step
        for index, step in enumerate(steps):
            current = window_mean(index)
            if step >= last_check + num_steps:
                ref_index = bisect.bisect_right(steps, step - num_steps) - 1
                last_check = step
                finding = self._not_decreasing(name, mode, points, index, ref_index, window_mean)
                if finding is not None:
                    return finding
            limit = best + abs(best) * self.increase_threshold_percent / 100
            if current > limit:
                return Finding(
                    f"{name} ({mode}) averages {current:.4g} over the {num_steps} steps up to "
                    f"step {step}, more than increase_threshold_percent="
                    f"{self.increase_threshold_percent}% above its best {best:.4g}",
                    step=step,
                    evidence={
                        "tensor": name,
                        "mode": mode,
                        "step": step,
                        "loss": _round(current),
                        "best_loss": _round(best),
                        "increase_percent": _round((current - best) / abs(best) * 100)
                        if best
                        else "inf",
                        "increase_threshold_percent": self.increase_threshold_percent,
                    },
                )
            if step - num_steps >= steps[0]:  # a full window
                best = min(best, current)
        return None

    def _not_decreasing(
        self,
        name: str,
        mode: str,
        points: list[tuple[int, float]],
        index: int,
        ref_index: int,
        window_mean: Callable[[int], float],
    ) -> Finding | None:
        step, ref_step = points[index][0], points[ref_index][0]
        current, reference = window_mean(index), window_mean(ref_index)
        if reference != 0:
            decrease = (reference - current) / abs(reference) * 100
        else:
            decrease = 0.0 if current == 0 else math.copysign(math.inf, -current)
        if decrease >= self.diff_percent:
            return None
        return Finding(
            f"{name} ({mode}), averaged over {self.num_steps} steps, went from "
            f"{reference:.4g} at step {ref_step} to {current:.4g} at step {step}: a decrease of "
            f"{decrease:.2f}%, under diff_percent={self.diff_percent}%",
            step=step,
            evidence={
                "tensor": name,
                "mode": mode,
                "step": step,
                "loss": _round(current),
                "reference_step": ref_step,
                "reference_loss": _round(reference),
                "decrease_percent": _round(decrease),
                "diff_percent": self.diff_percent,
            },
        )


def _is_loss(name: str) -> bool:
    return re.fullmatch(LOSS_REGEX, name) is not None


@register_rule
class Overfit(Rule):
    """The validation loss pulls away from the training loss.

    At every validation point (a step with a validation loss, i.e. a loss scalar in mode
    ``eval``, at or after ``start_step``) the rule compares the validation loss there with the
    mean training loss (mode ``train``) saved since the previous validation point:
    ``ratio = (validation - training) / training``. Fires when the ratio exceeds
    ``ratio_threshold`` at ``patience`` validation points in a row. ``tensor_regex`` picks the
    scalar names for both sides (default: loss-like names; if several match, the one with the
    most values).
    """

    name = "Overfit"
    defaults = {"tensor_regex": None, "start_step": 0, "patience": 1, "ratio_threshold": 0.1}
    description = "Detects overfitting: the validation loss grows apart from the training loss."
    recommendation = (
        "Regularise (dropout, weight decay, data augmentation), use more training data, or stop "
        "earlier (fewer epochs, early stopping on the validation loss)."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        patterns = _patterns(self.tensor_regex)
        train = _loss_series(data, patterns, "train")
        valid = _loss_series(data, patterns, "eval")
        if train is None or valid is None:
            return None
        train_steps = [step for step, _ in train[1]]
        previous = int(self.start_step) - 1
        above = 0
        for step, val_loss in valid[1]:
            if step < self.start_step:
                continue
            low = bisect.bisect_right(train_steps, previous)
            high = bisect.bisect_right(train_steps, step)
            window = [value for _, value in train[1][low:high]]
            if not window and high > 0:
                window = [train[1][high - 1][1]]
            previous = step
            if not window:
                continue
            train_loss = math.fsum(window) / len(window)
            if train_loss == 0:
                continue
            ratio = (val_loss - train_loss) / abs(train_loss)
            above = above + 1 if ratio > self.ratio_threshold else 0
            if above >= max(int(self.patience), 1):
                return Finding(
                    f"validation loss {val_loss:.4g} is {ratio:.0%} above the training loss "
                    f"{train_loss:.4g} at step {step} (ratio_threshold={self.ratio_threshold}, "
                    f"{above} validation point(s) in a row)",
                    step=step,
                    evidence={
                        "validation_loss": _round(val_loss),
                        "training_loss": _round(train_loss),
                        "ratio": _round(ratio),
                        "ratio_threshold": self.ratio_threshold,
                        "points_above": above,
                        "validation_tensor": valid[0],
                        "training_tensor": train[0],
                    },
                )
        return None


@register_rule
class Overtraining(Rule):
    """Training goes on although the losses stopped improving.

    A loss improves when it falls below its best value so far by more than ``delta``
    (absolute). Fires when the validation loss (mode ``eval``) has not improved for
    ``patience_validation`` validation points in a row, or the training loss (mode ``train``)
    for ``patience_train`` saved values in a row. Steps count saved values: with the hook's
    ``save_interval`` of 10, ``patience_train=5`` is 50 training steps.
    """

    name = "Overtraining"
    defaults = {"patience_train": 5, "patience_validation": 10, "delta": 0.01}
    description = "Detects training that goes on after the losses stopped improving."
    recommendation = (
        "Stop training earlier: fewer epochs, or early stopping on the validation loss; keep "
        "the checkpoint with the best validation loss."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        for mode, patience, label in (
            ("eval", self.patience_validation, "validation"),
            ("train", self.patience_train, "training"),
        ):
            series = _loss_series(data, [], mode)
            if series is None:
                continue
            finding = self._stalled(series[0], label, series[1], max(int(patience), 1))
            if finding is not None:
                return finding
        return None

    def _stalled(
        self, name: str, label: str, points: list[tuple[int, float]], patience: int
    ) -> Finding | None:
        best_step, best = points[0]
        since = 0
        for step, value in points[1:]:
            if value < best - self.delta:
                best_step, best, since = step, value, 0
                continue
            since += 1
            if since >= patience:
                return Finding(
                    f"the {label} loss has not improved on {best:.4g} (step {best_step}) by "
                    f"more than delta={self.delta} for {since} saved values, up to step {step}",
                    step=step,
                    evidence={
                        "loss": label,
                        "tensor": name,
                        "best_loss": _round(best),
                        "best_step": best_step,
                        "current_loss": _round(value),
                        "values_without_improvement": since,
                        "patience": patience,
                        "delta": self.delta,
                    },
                )
        return None


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


def _fullmatch(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


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


def _label(value: Any) -> int | None:
    """A class id from a label or prediction: an int, or the arg-max of a score vector."""
    if isinstance(value, list | tuple):
        scores = [float(v) for v in value if isinstance(v, int | float)]
        return max(range(len(scores)), key=lambda i: scores[i]) if scores else None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
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


@register_rule
class StalledTrainingRule(Rule):
    """Training makes no progress: no scalar, tensor or batch was saved for ``threshold``
    seconds (counted from the job's start until the first event).

    Only while the job runs (never after it ended). ``stop_training_on_fire`` asks the
    evaluator to stop the job when the rule fires, like a ``stop_training`` action;
    ``training_job_name_prefix`` is accepted for SageMaker compatibility and has no effect
    (the rule watches its own job).
    """

    name = "StalledTrainingRule"
    aliases = ("stalled_training",)
    defaults = {
        "threshold": 1800,
        "stop_training_on_fire": False,
        "training_job_name_prefix": None,
    }
    description = "Detects a training job that stopped saving data (hung or stuck)."
    recommendation = (
        "Look at the job's log for a hang (data loader deadlock, waiting on a lock or the "
        "network), and raise threshold if steps are legitimately slower than it."
    )

    def evaluate(self, data: DebugData) -> Finding | None:
        if data.ended:
            return None
        last = data.last_event_time()
        since = last if last is not None else data.started
        idle = data.now() - since
        if idle <= self.threshold:
            return None
        what = "no debugger data since the job started" if last is None else "no new data"
        return Finding(
            f"training stalled: {what} for {idle:.0f} s (threshold={self.threshold} s)",
            step=data.last_step(),
            evidence={
                "seconds_without_data": round(idle, 1),
                "last_step": data.last_step(),
                "threshold": self.threshold,
                "stop_training_on_fire": self.stop_training_on_fire,
            },
        )
