from __future__ import annotations

from sagebox.evaluation import classification_report


def test_report_fields_and_values() -> None:
    report = classification_report([-1, -1, 0, 1, 1, 1], [-1, 0, 0, 1, 1, -1])
    assert report["accuracy"] == 4 / 6
    assert report["support"] == 6
    assert report["confusion_matrix"] == {
        "labels": [-1, 0, 1],
        "matrix": [[1, 1, 0], [0, 1, 0], [1, 0, 2]],
    }
    neg = report["per_class"]["-1"]
    assert neg == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    f1s = [report["per_class"][k]["f1"] for k in ("-1", "0", "1")]
    assert abs(report["macro_f1"] - sum(f1s) / 3) < 1e-12


def test_absent_class_gives_zero_not_nan() -> None:
    report = classification_report([1, 1], [1, 1])
    assert report["per_class"]["0"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
