"""The built-in debugger rules on synthetic event files: each fires on data made to break it,
stays silent on healthy data, and copes with too little data, NaN and string parameters."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from sagebox.debugger.builtin_rules import (
    ClassImbalance,
    DeadRelu,
    ExplodingTensor,
    LossNotDecreasing,
    Overfit,
    Overtraining,
    PoorWeightInitialization,
    StalledTrainingRule,
    VanishingGradient,
)
from sagebox.debugger.data import DebugData
from sagebox.debugger.rule import get_rule, rule_names
from sagebox.errors import InputDataError
from tests.debugger._events_factory import (
    T0,
    summary,
    write_batches,
    write_scalars,
    write_tensors,
)


def load(root: Path) -> DebugData:
    data = DebugData(root)
    data.refresh()
    return data


def decaying(steps: range, start: float = 2.0, scale: float = 100.0) -> list[tuple[int, float]]:
    """A healthy loss: exponential decay with a ±1% zig-zag."""
    return [(s, start * math.exp(-s / scale) * (1 + 0.01 * (-1) ** i)) for i, s in enumerate(steps)]


# -- registry and parameters -----------------------------------------------------------------

SAGEMAKER_DEFAULTS: dict[str, dict[str, Any]] = {
    "LossNotDecreasing": {
        "tensor_regex": None,
        "collection_names": None,
        "use_losses_collection": True,
        "num_steps": 10,
        "diff_percent": 0.1,
        "increase_threshold_percent": 5.0,
        "mode": "TRAIN",
    },
    "Overfit": {"tensor_regex": None, "start_step": 0, "patience": 1, "ratio_threshold": 0.1},
    "Overtraining": {"patience_train": 5, "patience_validation": 10, "delta": 0.01},
    "VanishingGradient": {"threshold": 1e-7},
    "ExplodingTensor": {
        "collection_names": None,
        "tensor_regex": None,
        "only_nan": False,
        "abs_threshold": 1e15,
    },
    "PoorWeightInitialization": {
        "activation_inputs_regex": ".*relu_input",
        "threshold": 10.0,
        "distribution_range": 0.001,
        "patience": 5,
        "steps": 10,
    },
    "ClassImbalance": {
        "threshold_imbalance": 10.0,
        "threshold_misprediction": 0.7,
        "samples": 500,
        "argmax": False,
        "labels_regex": ".*labels",
        "predictions_regex": ".*predictions",
    },
    "DeadRelu": {"tensor_regex": None, "threshold_inactivity": 1.0, "threshold_layer": 50.0},
    "StalledTrainingRule": {
        "threshold": 1800,
        "stop_training_on_fire": False,
        "training_job_name_prefix": None,
    },
}


@pytest.mark.parametrize("name", sorted(SAGEMAKER_DEFAULTS))
def test_sagemaker_names_and_defaults(name: str) -> None:
    cls = get_rule(name)
    assert cls.name == name and cls.kind == "debugger"
    assert cls().parameters == SAGEMAKER_DEFAULTS[name]
    assert cls.description and cls.recommendation and cls.__doc__
    assert name in rule_names()


@pytest.mark.parametrize(
    ("spelling", "cls"),
    [
        ("LossNotDecreasing", LossNotDecreasing),
        ("loss_not_decreasing", LossNotDecreasing),
        ("poor_weight_initialization", PoorWeightInitialization),
        ("exploding_tensor", ExplodingTensor),
        ("StalledTrainingRule", StalledTrainingRule),
        ("stalled_training_rule", StalledTrainingRule),
        ("stalled_training", StalledTrainingRule),
    ],
)
def test_get_rule_by_every_spelling(spelling: str, cls: type) -> None:
    assert get_rule(spelling) is cls


def test_parameters_given_as_strings_are_coerced() -> None:
    rule = Overfit(patience="3", ratio_threshold="0.25", start_step="100")
    assert rule.parameters == {
        "tensor_regex": None,
        "start_step": 100,
        "patience": 3,
        "ratio_threshold": 0.25,
    }
    assert ExplodingTensor(only_nan="True").only_nan is True
    assert StalledTrainingRule(stop_training_on_fire="false").stop_training_on_fire is False


def test_unknown_or_malformed_parameters_are_input_errors() -> None:
    with pytest.raises(InputDataError, match="no parameter patients"):
        Overfit(patients=3)
    with pytest.raises(InputDataError, match="ratio_threshold"):
        Overfit(ratio_threshold="a lot")
    with pytest.raises(InputDataError, match="unknown rule"):
        get_rule("LossIncreasing")


def test_no_data_no_finding(tmp_path: Path) -> None:
    data = load(tmp_path)
    for name in SAGEMAKER_DEFAULTS:
        if name != "StalledTrainingRule":
            assert get_rule(name)().evaluate(data) is None, name


# -- LossNotDecreasing -----------------------------------------------------------------------


def test_loss_not_decreasing_silent_on_a_decreasing_loss(tmp_path: Path) -> None:
    write_scalars(tmp_path, decaying(range(0, 301, 10)))
    assert LossNotDecreasing().evaluate(load(tmp_path)) is None


def test_loss_not_decreasing_fires_on_a_flat_loss(tmp_path: Path) -> None:
    write_scalars(
        tmp_path, [(s, 0.69 + 0.005 * (-1) ** i) for i, s in enumerate(range(0, 200, 10))]
    )
    finding = LossNotDecreasing().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 20
    assert finding.evidence["reference_step"] == 10
    assert finding.evidence["loss"] == pytest.approx(0.695)
    assert finding.evidence["reference_loss"] == pytest.approx(0.685)
    assert finding.evidence["decrease_percent"] < 0
    assert "loss (train)" in finding.message


def test_loss_not_decreasing_diff_percent_and_num_steps(tmp_path: Path) -> None:
    # decreases 1% every 10 steps: enough for diff_percent 0.1, not for 5
    write_scalars(tmp_path, [(s, 0.99 ** (s / 10)) for s in range(0, 200, 10)])
    data = load(tmp_path)
    assert LossNotDecreasing().evaluate(data) is None
    finding = LossNotDecreasing(diff_percent="5").evaluate(data)
    assert finding is not None and finding.step == 10
    finding = LossNotDecreasing(diff_percent=5, num_steps=50).evaluate(data)
    assert finding is not None and finding.step == 50
    assert finding.evidence["reference_step"] == 0


def test_loss_not_decreasing_window_means_damp_noise(tmp_path: Path) -> None:
    # every step saved; a slow decline under a ±20% zig-zag: point-to-point it "rises" half
    # the time, but the means over num_steps=20 steps decrease steadily
    points = [(s, (2.0 - 0.004 * s) * (1 + 0.2 * (-1) ** s)) for s in range(200)]
    write_scalars(tmp_path, points)
    data = load(tmp_path)
    assert LossNotDecreasing(num_steps=20).evaluate(data) is None
    assert LossNotDecreasing(num_steps=1).evaluate(data) is not None


def test_loss_not_decreasing_increase_over_the_best(tmp_path: Path) -> None:
    # decreasing every step until 60, then rising; checks are every 100 steps, the rise is
    # caught in between by increase_threshold_percent
    points = [(s, 1.0 - 0.005 * s if s < 60 else 0.7 + 0.01 * (s - 60)) for s in range(150)]
    write_scalars(tmp_path, points)
    data = load(tmp_path)
    finding = LossNotDecreasing(num_steps=100).evaluate(data)
    assert finding is not None and finding.step == 118  # checks only at 0 and 100
    assert finding.evidence["increase_percent"] > 5
    assert "best_loss" in finding.evidence
    assert LossNotDecreasing(num_steps=100, increase_threshold_percent=1000).evaluate(data) is None


def test_loss_not_decreasing_too_little_data_and_nan(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 1.0)])
    assert LossNotDecreasing().evaluate(load(tmp_path)) is None
    write_scalars(tmp_path, [(10, math.nan), (20, 0.5), (30, math.nan), (40, 0.25)])
    assert LossNotDecreasing().evaluate(load(tmp_path)) is None


def test_loss_not_decreasing_modes_and_regex(tmp_path: Path) -> None:
    write_scalars(tmp_path, decaying(range(0, 200, 10)))
    write_scalars(tmp_path, [(s, 0.5) for s in range(0, 200, 50)], mode="eval")
    write_scalars(tmp_path, [(s, 0.8) for s in range(0, 200, 10)], name="accuracy")
    data = load(tmp_path)
    assert LossNotDecreasing().evaluate(data) is None  # TRAIN
    eval_finding = LossNotDecreasing(mode="EVAL").evaluate(data)
    assert eval_finding is not None and eval_finding.evidence["mode"] == "eval"
    auto = LossNotDecreasing(mode=None).evaluate(data)  # EVAL first, as SageMaker
    assert auto is not None and auto.evidence["mode"] == "eval"
    regex = LossNotDecreasing(tensor_regex="acc.*").evaluate(data)
    assert regex is not None and regex.evidence["tensor"] == "accuracy"
    assert LossNotDecreasing(collection_names="metrics").evaluate(data) is not None
    assert LossNotDecreasing(use_losses_collection=False).evaluate(data) is not None


# -- Overfit ---------------------------------------------------------------------------------


def test_overfit_silent_when_validation_follows_training(tmp_path: Path) -> None:
    train = decaying(range(0, 301, 10), start=1.0, scale=300)
    write_scalars(tmp_path, train)
    validation = [(s, 1.05 * math.exp(-s / 300)) for s in (100, 200, 300)]
    write_scalars(tmp_path, validation, mode="eval")
    assert Overfit().evaluate(load(tmp_path)) is None


def test_overfit_fires_when_validation_pulls_away(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 1.0 / (1 + s / 20)) for s in range(0, 301, 10)])
    write_scalars(tmp_path, [(100, 0.5), (200, 0.6), (300, 0.7)], mode="eval")
    data = load(tmp_path)
    finding = Overfit().evaluate(data)
    assert finding is not None and finding.step == 100
    train_mean = sum(1.0 / (1 + s / 20) for s in range(0, 101, 10)) / 11
    assert finding.evidence["training_loss"] == pytest.approx(train_mean, rel=1e-5)
    assert finding.evidence["validation_loss"] == 0.5
    assert finding.evidence["ratio"] > 0.1
    later = Overfit(patience=2).evaluate(data)
    assert later is not None and later.step == 200
    assert later.evidence["points_above"] == 2
    assert Overfit(start_step=250, patience=2).evaluate(data) is None


def test_overfit_needs_both_losses(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 0.1) for s in range(0, 100, 10)])
    assert Overfit().evaluate(load(tmp_path)) is None


def test_overfit_with_differently_named_validation_loss(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 0.1) for s in range(0, 100, 10)], name="train:loss")
    write_scalars(tmp_path, [(90, 0.5)], name="validation:loss", mode="eval")
    finding = Overfit().evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["validation_tensor"] == "validation:loss"


# -- Overtraining ----------------------------------------------------------------------------


def test_overtraining_fires_when_validation_loss_stops_improving(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 2.0 - 0.015 * s / 10) for s in range(0, 1000, 10)])
    validation = [(100 * i, 0.5 - 0.05 * i if i < 4 else 0.345) for i in range(10)]
    write_scalars(tmp_path, validation, mode="eval")
    data = load(tmp_path)
    finding = Overtraining(patience_validation=3).evaluate(data)
    assert finding is not None and finding.step == 600
    assert finding.evidence["loss"] == "validation"
    assert finding.evidence["best_step"] == 300
    assert finding.evidence["best_loss"] == pytest.approx(0.35)
    assert Overtraining().evaluate(data) is None  # patience_validation=10: not yet


def test_overtraining_fires_when_training_loss_stops_improving(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 0.3 + 0.001 * (-1) ** (s // 10)) for s in range(0, 100, 10)])
    finding = Overtraining().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 50
    assert finding.evidence["loss"] == "training"
    assert finding.evidence["values_without_improvement"] == 5


def test_overtraining_silent_while_losses_improve(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 2.0 - 0.02 * s / 10) for s in range(0, 500, 10)])
    write_scalars(tmp_path, [(s, 2.0 - 0.02 * s / 100) for s in range(0, 500, 100)], mode="eval")
    assert Overtraining().evaluate(load(tmp_path)) is None


# -- VanishingGradient -----------------------------------------------------------------------


def test_vanishing_gradient(tmp_path: Path) -> None:
    layers = ("fc1.weight", "fc1.bias", "fc2.weight")
    healthy = [summary(0, name) for name in layers]
    vanished = [summary(50, name, std=1e-9) for name in layers]
    write_tensors(tmp_path, healthy)
    assert VanishingGradient().evaluate(load(tmp_path)) is None
    write_tensors(tmp_path, vanished)
    finding = VanishingGradient().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 50
    assert finding.evidence["gradients"] == 3
    assert finding.evidence["largest_mean_abs"] == pytest.approx(1e-9)
    assert VanishingGradient(threshold=1e-10).evaluate(load(tmp_path)) is None


def test_vanishing_gradient_needs_every_layer(tmp_path: Path) -> None:
    write_tensors(
        tmp_path, [summary(50, "fc1.weight", std=1e-9), summary(50, "fc2.weight", std=1e-3)]
    )
    assert VanishingGradient().evaluate(load(tmp_path)) is None


# -- ExplodingTensor -------------------------------------------------------------------------


def test_exploding_tensor_on_nan_gradients(tmp_path: Path) -> None:
    write_tensors(
        tmp_path,
        [
            summary(0, "fc.weight"),
            summary(50, "fc.weight", nan=3, mean=math.nan, std=math.nan, norm=math.nan),
        ],
    )
    finding = ExplodingTensor().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 50
    assert finding.evidence["nan"] == 3
    assert "gradient fc.weight has 3 NaN" in finding.message


def test_exploding_tensor_reports_the_earliest_step(tmp_path: Path) -> None:
    write_tensors(tmp_path, [summary(50, "fc.weight", "weight", inf=1)])
    write_scalars(tmp_path, [(0, 1.0), (30, math.inf), (40, math.nan)])
    finding = ExplodingTensor().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 30
    assert finding.evidence["value"] == "inf"
    only_nan = ExplodingTensor(only_nan=True).evaluate(load(tmp_path))
    assert only_nan is not None and only_nan.step == 40


def test_exploding_tensor_inf_and_huge_values(tmp_path: Path) -> None:
    write_tensors(tmp_path, [summary(10, "a", "weight", inf=2, max=math.inf)])
    write_tensors(tmp_path, [summary(20, "b", "weight", max=1e20, norm=1e21)])
    data = load(tmp_path)
    finding = ExplodingTensor().evaluate(data)
    assert finding is not None and finding.step == 10 and finding.evidence["inf"] == 2
    assert finding.evidence["exploded_tensors"] == 2
    assert ExplodingTensor(only_nan=True).evaluate(data) is None
    huge = ExplodingTensor(tensor_regex="b").evaluate(data)
    assert huge is not None and huge.step == 20 and "abs_threshold" in huge.message
    assert ExplodingTensor(tensor_regex="b", abs_threshold=1e30).evaluate(data) is None


def test_exploding_tensor_collections(tmp_path: Path) -> None:
    write_tensors(tmp_path, [summary(10, "fc.weight", "weight", nan=1)])
    write_tensors(tmp_path, [summary(10, "fc.weight", "gradient")])
    write_scalars(tmp_path, [(10, 0.5)])
    data = load(tmp_path)
    assert ExplodingTensor(collection_names="gradients,losses").evaluate(data) is None
    assert ExplodingTensor(collection_names=["weights"]).evaluate(data) is not None
    assert ExplodingTensor().evaluate(data) is not None


def test_exploding_tensor_silent_on_healthy_data(tmp_path: Path) -> None:
    write_tensors(tmp_path, [summary(s, "fc.weight", k) for s in (0, 50) for k in ("weight",)])
    write_scalars(tmp_path, decaying(range(0, 100, 10)))
    assert ExplodingTensor().evaluate(load(tmp_path)) is None


# -- PoorWeightInitialization ----------------------------------------------------------------


def test_poor_init_uneven_activation_variance(tmp_path: Path) -> None:
    write_tensors(
        tmp_path,
        [
            summary(0, "net.0.input", "activation_input", std=1.0),
            summary(0, "net.2.input", "activation_input", std=10.0),
        ],
    )
    data = load(tmp_path)
    finding = PoorWeightInitialization().evaluate(data)  # default regex: falls back to all
    assert finding is not None and finding.step == 0
    assert finding.evidence["check"] == "activation_variance"
    assert finding.evidence["ratio"] == pytest.approx(100.0)
    assert finding.evidence["max_variance_layer"] == "net.2.input"
    assert PoorWeightInitialization(threshold=200).evaluate(data) is None
    assert PoorWeightInitialization(activation_inputs_regex="nothing").evaluate(data) is None


def test_poor_init_narrow_gradients(tmp_path: Path) -> None:
    write_tensors(tmp_path, [summary(0, "fc1.weight", std=1e-5), summary(0, "fc2.weight", std=0)])
    finding = PoorWeightInitialization().evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["check"] == "gradient_distribution"
    assert finding.evidence["spread_p5_p95"] == pytest.approx(3.29 * 1e-5 / math.sqrt(2))


def test_poor_init_loss_not_falling_in_the_first_steps(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(s, 0.7 + 0.01 * (s % 20 == 0)) for s in range(0, 200, 10)])
    finding = PoorWeightInitialization().evaluate(load(tmp_path))
    assert finding is not None and finding.step == 60
    assert finding.evidence["check"] == "loss_convergence"


def test_poor_init_silent_on_a_good_start(tmp_path: Path) -> None:
    write_scalars(tmp_path, decaying(range(0, 200, 10)))
    write_tensors(
        tmp_path,
        [summary(0, f"l{i}.input", "activation_input", std=1 + i / 4) for i in range(4)]
        + [summary(0, "fc.weight")],
    )
    assert PoorWeightInitialization().evaluate(load(tmp_path)) is None


def test_poor_init_only_looks_at_the_first_steps(tmp_path: Path) -> None:
    late = [summary(s, "fc.weight", std=1e-6 if s >= 500 else 0.05) for s in range(0, 1000, 50)]
    write_tensors(tmp_path, late)
    data = load(tmp_path)
    assert PoorWeightInitialization().evaluate(data) is None
    assert PoorWeightInitialization(steps=11).evaluate(data) is not None


# -- ClassImbalance --------------------------------------------------------------------------


def test_class_imbalance_counts(tmp_path: Path) -> None:
    batches = [(i, [0] * 19 + [1] * (i % 2), [0] * 19 + [1] * (i % 2)) for i in range(30)]
    write_batches(tmp_path, batches)
    data = load(tmp_path)
    finding = ClassImbalance().evaluate(data)
    assert finding is not None and finding.evidence["check"] == "imbalance"
    assert finding.evidence["class_counts"] == {"0": 570, "1": 15}
    assert finding.step == 29
    assert ClassImbalance(threshold_imbalance=50).evaluate(data) is None


def test_class_imbalance_mispredictions(tmp_path: Path) -> None:
    # balanced labels, the model always says 0
    write_batches(tmp_path, [(i, [0, 1] * 10, [0] * 20) for i in range(30)])
    assert ClassImbalance().evaluate(load(tmp_path)) is None  # 600 samples: still warming up
    write_batches(tmp_path, [(i, [0, 1] * 10, [0] * 20) for i in range(30, 60)])
    finding = ClassImbalance().evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["check"] == "misprediction"
    assert finding.evidence["class"] == 1
    assert finding.evidence["misprediction_rate"] == 1.0
    assert finding.evidence["per_class_misprediction"] == {"0": 0.0, "1": 1.0}


def test_class_imbalance_silent_on_balanced_learned_data(tmp_path: Path) -> None:
    scores = [[0.9, 0.1], [0.2, 0.8]] * 10  # probability vectors are arg-maxed
    write_batches(tmp_path, [(i, [0, 1] * 10, scores) for i in range(60)])
    assert ClassImbalance().evaluate(load(tmp_path)) is None
    assert ClassImbalance(samples=5000).evaluate(load(tmp_path)) is None


# -- DeadRelu --------------------------------------------------------------------------------


def test_dead_relu(tmp_path: Path) -> None:
    write_tensors(
        tmp_path,
        [
            summary(0, "relu1.output", "activation", zero_fraction=0.5),
            summary(50, "relu1.output", "activation", zero_fraction=0.5),
            summary(50, "relu2.output", "activation", zero_fraction=0.999),
        ],
    )
    data = load(tmp_path)
    finding = DeadRelu().evaluate(data)
    assert finding is not None and finding.step == 50
    assert finding.evidence["layer"] == "relu2.output"
    assert finding.evidence["dead_percent"] == pytest.approx(90.0)
    assert DeadRelu(threshold_layer=95).evaluate(data) is None
    assert DeadRelu(tensor_regex="relu1.*").evaluate(data) is None


def test_dead_relu_uses_dead_fraction_when_saved(tmp_path: Path) -> None:
    write_tensors(
        tmp_path, [summary(0, "relu.output", "activation", zero_fraction=0.7, dead_fraction=0.6)]
    )
    finding = DeadRelu().evaluate(load(tmp_path))
    assert finding is not None and finding.evidence["dead_percent"] == pytest.approx(60.0)


def test_dead_relu_silent_on_normal_sparsity(tmp_path: Path) -> None:
    write_tensors(
        tmp_path, [summary(s, "relu.output", "activation", zero_fraction=0.8) for s in (0, 50)]
    )
    assert DeadRelu().evaluate(load(tmp_path)) is None


# -- StalledTrainingRule ---------------------------------------------------------------------


def test_stalled_training(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 1.0), (10, 0.9)])  # times T0 and T0 + 1
    data = load(tmp_path)
    data.now = lambda: T0 + 1 + 100  # type: ignore[method-assign]
    assert StalledTrainingRule().evaluate(data) is None
    assert StalledTrainingRule(threshold="60").evaluate(data) is not None
    data.now = lambda: T0 + 1 + 1801  # type: ignore[method-assign]
    finding = StalledTrainingRule().evaluate(data)
    assert finding is not None and finding.step == 10
    assert finding.evidence["seconds_without_data"] == pytest.approx(1801)
    data.ended = True
    assert StalledTrainingRule().finish(data) is None


def test_stalled_before_the_first_event(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text(json.dumps({"job": "j", "started": T0}))
    data = load(tmp_path)
    data.now = lambda: T0 + 2000  # type: ignore[method-assign]
    finding = StalledTrainingRule().evaluate(data)
    assert finding is not None and "since the job started" in finding.message
    data.now = lambda: T0 + 10  # type: ignore[method-assign]
    assert StalledTrainingRule().evaluate(data) is None
