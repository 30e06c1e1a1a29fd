"""Rules on the losses: LossNotDecreasing, Overfit, Overtraining."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

from sagebox.debugger.builtin_rules._common import (
    LOSS_REGEX,
    _is_loss,
    _loss_series,
    _patterns,
    _per_step_mean,
    _round,
    _select_scalars,
)
from sagebox.debugger.data import DebugData, parse_mode
from sagebox.debugger.rule import Finding, Rule, register_rule


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
