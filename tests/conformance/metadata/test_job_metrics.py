"""Conformance: job metric time series, compare-and-set updates and restart counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagebox.backends.metadata import JobRecord, JobStatus, MetadataStore, MetricPoint
from sagebox.errors import NotFoundError


def test_metric_points_append_in_order_and_update_last_values(store: MetadataStore) -> None:
    store.create_job(JobRecord(name="t", kind="training", metrics={"other": 1.0}))
    store.add_metric_points("t", [MetricPoint("loss", 0.9, 1), MetricPoint("acc", 0.5, 1)])
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    store.add_metric_points(
        "t", [MetricPoint("loss", 0.4, 2, at), MetricPoint("loss", float("nan"), 3)]
    )
    points = store.list_metric_points("t")
    assert [(p.name, p.value, p.step) for p in points] == [
        ("loss", 0.9, 1),
        ("acc", 0.5, 1),
        ("loss", 0.4, 2),
    ]
    assert points[2].timestamp == at
    assert all(p.timestamp is not None and p.timestamp.tzinfo is not None for p in points)
    assert [p.value for p in store.list_metric_points("t", name="loss")] == [0.9, 0.4]
    assert store.get_job("t").metrics == {"other": 1.0, "loss": 0.4, "acc": 0.5}
    assert store.list_metric_points("no-such-job") == []
    with pytest.raises(NotFoundError):
        store.add_metric_points("no-such-job", [MetricPoint("x", 1.0)])


def test_update_job_if_is_compare_and_set(store: MetadataStore) -> None:
    store.create_job(JobRecord(name="t", kind="training", handle="local:1"))
    won = store.update_job_if(
        "t", {"handle": "local:1", "restarts": 0}, handle="local:2", restarts=1
    )
    assert won is not None and won.handle == "local:2" and won.restarts == 1
    assert store.update_job_if("t", {"handle": "local:1"}, handle="local:3") is None
    assert store.get_job("t").handle == "local:2"
    assert store.update_job_if("t", {"status": JobStatus.PENDING}, status="Failed") is not None
    with pytest.raises(TypeError, match="colour"):
        store.update_job_if("t", {"colour": 1}, handle="x")
    with pytest.raises(NotFoundError):
        store.update_job_if("nope", {}, handle="x")


def test_restarts_roundtrip(store: MetadataStore) -> None:
    assert store.create_job(JobRecord(name="t", kind="training")).restarts == 0
    assert store.update_job("t", restarts=2).restarts == 2
    assert store.get_job("t").restarts == 2
