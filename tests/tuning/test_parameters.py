"""Ranges: SageMaker's scaling rules, the CLI syntax and the Optuna distributions."""

from __future__ import annotations

import pytest

from sagebox.errors import InputDataError
from sagebox.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    parse_range,
    parse_ranges,
)
from sagebox.tuning.parameters import ranges_from_dict, ranges_to_dict


def test_auto_scaling_is_log_only_over_two_orders_of_magnitude() -> None:
    assert ContinuousParameter(1e-5, 1e-1).resolved_scaling == "Logarithmic"
    assert ContinuousParameter(1e-5, 5e-5).resolved_scaling == "Linear"
    assert ContinuousParameter(0, 10).resolved_scaling == "Linear"
    assert IntegerParameter(1, 1000).distribution().log


def test_reverse_log_searches_values_near_one_finely() -> None:
    rng = ContinuousParameter(0.9, 0.999, "ReverseLogarithmic")
    dist = rng.distribution()
    assert dist.log and dist.low == pytest.approx(0.001) and dist.high == pytest.approx(0.1)
    assert rng.value(0.01) == pytest.approx(0.99)
    assert rng.searched(rng.value(0.05)) == pytest.approx(0.05)


def test_categorical_values_are_strings_as_in_sagemaker() -> None:
    assert CategoricalParameter([128, 256, True]).values == ["128", "256", "true"]


def test_ranges_round_trip_through_sagemaker_parameter_ranges() -> None:
    ranges = {
        "lr": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
        "dim": IntegerParameter(10, 100),
        "ngrams": CategoricalParameter([1, 2]),
    }
    as_dict = ranges_to_dict(ranges)
    assert as_dict["IntegerParameterRanges"] == [
        {"Name": "dim", "MinValue": "10", "MaxValue": "100", "ScalingType": "Auto"}
    ]
    assert ranges_from_dict(as_dict) == ranges


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learning_rate=1e-5:5e-5:log", ContinuousParameter(1e-5, 5e-5, "Logarithmic")),
        ("momentum=0.9:0.999:revlog", ContinuousParameter(0.9, 0.999, "ReverseLogarithmic")),
        ("epochs=1..10", IntegerParameter(1, 10)),
        ("batch_size=128,256", CategoricalParameter(["128", "256"])),
    ],
)
def test_cli_range_syntax(text: str, expected: object) -> None:
    assert parse_range(text)[1] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr=0.5:0.1", "must be below max_value"),
        ("lr=0:1:log", "needs min_value > 0"),
        ("m=0.5:1.5:revlog", "must lie in [0, 1)"),
        ("n=1..10:revlog", "continuous ranges only"),
        ("lr=a:b", "bad range"),
        ("lr", "expected NAME=SPEC"),
        ("lr=1:2:cubic", "unknown scaling_type"),
        ("b=1,1", "repeated categorical"),
    ],
)
def test_bad_ranges_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message.replace("[", r"\[").replace(")", r"\)")):
        parse_range(text)


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(InputDataError, match="given twice"):
        parse_ranges(["C=1:2", "C=3:4"])
