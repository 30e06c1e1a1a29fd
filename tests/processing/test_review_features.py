"""The review feature-engineering job: deterministic across worker counts, into a group."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.datasets import generate_reviews
from sagebox.features import FeatureGroup
from sagebox.jobs import JobClient
from sagebox.session import Session

PARAMS = {"shard_rows": 100, "max_seq_length": 32, "event_time": "2026-11-27T00:00:00Z"}


@pytest.fixture()
def raw_session(sagebox_env: Path) -> Session:
    session = Session()
    raw = generate_reviews(900, seed=3)
    session.storage.write_bytes("raw/reviews.csv", raw.to_csv(index=False).encode())
    return session


def _run(session: Session, **params: object) -> object:
    jobs = JobClient(session)
    job = jobs.submit(
        "review-features", parameters={**PARAMS, **params}, inputs={"raw": "raw/reviews.csv"}
    )
    return jobs.wait(job.name, timeout=300)


def _splits(session: Session, job: object) -> dict[str, pd.DataFrame]:
    outputs = job.outputs  # type: ignore[attr-defined]
    return {
        split: pd.read_parquet(
            io.BytesIO(session.storage.read_bytes(session.key_for(outputs[split])))
        )
        for split in ("train", "validation", "test")
    }


def test_same_output_for_one_and_two_workers_and_ingest(raw_session: Session) -> None:
    one = _run(raw_session, instance_count=1)
    two = _run(raw_session, instance_count=2, feature_group="reviews")
    assert one.status is two.status is JobStatus.COMPLETED  # type: ignore[attr-defined]
    a, b = _splits(raw_session, one), _splits(raw_session, two)
    for split in a:
        pd.testing.assert_frame_equal(a[split], b[split])
    train = a["train"]
    assert train.columns.tolist() == [
        "review_id",
        "sentiment",
        "review_body",
        "product_category",
        "split_type",
        "label_id",
        "date",
        "input_ids",
        "attention_mask",
    ]
    assert set(train["label_id"]) == {0, 1, 2} and (train["split_type"] == "train").all()
    assert len(train["input_ids"].iloc[0]) == 32 and train["input_ids"].iloc[0][0] == 101
    assert train["sentiment"].value_counts().nunique() == 1  # balanced
    group = FeatureGroup("reviews", session=raw_session)
    record = group.describe()
    assert record.feature("input_ids").dimension == 32
    test_id = int(b["test"]["review_id"].iloc[0])
    got = group.get_record(test_id, ["split_type", "attention_mask"])
    assert got is not None and got["split_type"] == "test" and len(got["attention_mask"]) == 32
    assert len(group.as_dataframe()) == sum(len(f) for f in b.values())
    assert two.metrics["ingested_records"] == sum(len(f) for f in b.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_seq_length": 1}, "max_seq_length must be a whole number from 2"),
        ({"tokenizer": "/no/such/dir"}, "tokenizer directory /no/such/dir does not exist"),
    ],
)
def test_bad_parameters_fail_the_job_with_the_reason(
    raw_session: Session,
    params: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    job = _run(raw_session, **params)
    assert job.status is JobStatus.FAILED  # type: ignore[attr-defined]
    assert message in (job.failure_reason or "")  # type: ignore[attr-defined]
