"""Conformance: rule statuses of training jobs (debugger and profiler rules)."""

from __future__ import annotations

import numpy as np

from sagebox.backends.metadata import MetadataStore, RuleEvaluationRecord


def test_rule_evaluation_upserts_by_job_and_rule(store: MetadataStore) -> None:
    assert store.list_rule_evaluations("j") == []
    first = store.put_rule_evaluation(
        RuleEvaluationRecord(
            "j", "Overfit", actions=[{"type": "stop_training"}], parameters={"patience": 1}
        )
    )
    assert first.status == "InProgress" and first.updated_at is not None
    assert first.updated_at.tzinfo is not None
    store.put_rule_evaluation(RuleEvaluationRecord("j", "CPUBottleneck", kind="profiler"))
    store.put_rule_evaluation(RuleEvaluationRecord("other", "Overfit"))
    fired = store.put_rule_evaluation(
        RuleEvaluationRecord(
            "j",
            "Overfit",
            status="IssuesFound",
            step=12,
            message="validation loss rose 3 times",
            evidence={"ratio": 0.4, "losses": [0.5, 0.6]},
            actions=[{"type": "stop_training", "result": "stopped"}],
            parameters={"patience": 1},
        )
    )
    assert fired.updated_at is not None and fired.updated_at >= first.updated_at
    rows = store.list_rule_evaluations("j")
    assert [(r.rule_name, r.kind, r.status) for r in rows] == [
        ("Overfit", "debugger", "IssuesFound"),
        ("CPUBottleneck", "profiler", "InProgress"),
    ]
    assert rows[0].step == 12 and rows[0].message == "validation loss rose 3 times"
    assert rows[0].evidence == {"ratio": 0.4, "losses": [0.5, 0.6]}
    assert rows[0].actions == [{"type": "stop_training", "result": "stopped"}]
    assert rows[0].parameters == {"patience": 1}
    assert [r.rule_name for r in store.list_rule_evaluations("other")] == ["Overfit"]


def test_rule_evidence_with_nan_and_numpy_values_is_stored(store: MetadataStore) -> None:
    evidence = {
        "norm": float("nan"),
        "max": float("inf"),
        "min": -float("inf"),
        "steps": np.array([1, 2]),
        "mean": np.float32(0.5),
        "count": np.int64(3),
    }
    store.put_rule_evaluation(
        RuleEvaluationRecord("j", "ExplodingTensor", status="IssuesFound", evidence=evidence)
    )
    (row,) = store.list_rule_evaluations("j")
    assert row.evidence == {
        "norm": "NaN",
        "max": "Infinity",
        "min": "-Infinity",
        "steps": [1, 2],
        "mean": 0.5,
        "count": 3,
    }
