from __future__ import annotations

import pytest

from sagebox.backends.metadata.base import MetricPoint
from sagebox.errors import InputDataError
from sagebox.training.metrics import MetricCapture, parse_metric_definitions


def test_regex_definitions_capture_numbered_points() -> None:
    defs = parse_metric_definitions(
        [
            {"Name": "validation:accuracy", "Regex": r"val_acc: ([0-9\.]+)"},
            "train:loss=train_loss: ([0-9.]+)",
        ]
    )
    points: list[MetricPoint] = []
    capture = MetricCapture(defs, sink=points.extend)
    for line in [
        "[1/2] train_loss: 0.90",
        "[1/2] val_loss: 0.80 val_acc: 0.61",
        "noise val_acc: n/a",
        "[2/2] train_loss: 0.50 val_acc: 0.72",
    ]:
        capture.feed(line)
    got = [(p.name, p.value, p.step) for p in points]
    assert got == [
        ("train:loss", 0.9, 1),
        ("validation:accuracy", 0.61, 1),
        ("validation:accuracy", 0.72, 2),
        ("train:loss", 0.5, 2),
    ]


def test_builtin_metric_lines_are_captured_only_when_asked() -> None:
    points: list[MetricPoint] = []
    MetricCapture([], sink=points.extend).feed("metric validation:loss=0.5 step=3")
    assert points == []
    capture = MetricCapture([], sink=points.extend, builtin_lines=True)
    capture.feed("metric validation:loss=0.5 step=3")
    capture.feed("metric epoch=1")
    capture.feed("metric broken=abc")
    assert [(p.name, p.value, p.step) for p in points] == [
        ("validation:loss", 0.5, 3),
        ("epoch", 1.0, None),
    ]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"Name": "acc"}, "needs a Name and a Regex"),
        ({"Name": "acc", "Regex": "val_acc: [0-9.]+"}, "has no group"),
        ({"Name": "acc", "Regex": "val_acc: ([0-9.]+"}, "does not compile"),
        ("no-equals-sign", "is not NAME=REGEX"),
        (42, "cannot read a metric definition"),
    ],
)
def test_bad_definitions(definition: object, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_metric_definitions([definition])  # type: ignore[list-item]
