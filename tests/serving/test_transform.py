"""Batch transform jobs: CSV with header and quoted newlines, JSON lines, joins and filters."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import InputDataError, NotFoundError
from sagebox.serving import TransformClient
from sagebox.session import Session

CSV = (
    "review_id,Review Text,Rating\n"
    '1,"love it, perfect fit",5\n'
    '2,"awful\nripped, returning",1\n'
    "3,,3\n"
    '4,"great fabric, love",4\n'
)


def test_csv_join_and_filters_in_input_order(serving_session: Session) -> None:
    storage = serving_session.storage
    storage.write_bytes("raw/batch/reviews.csv", CSV.encode())
    storage.write_bytes("raw/batch/more.csv", CSV.replace("1,", "9,", 1).encode())
    job = TransformClient(serving_session).run(
        "tiny-v1",
        "raw/batch/",
        "scored/batch",
        content_type="text/csv",
        header=True,
        input_filter="$[1]",
        join_source="Input",
        output_filter="$[0,-5,-4]",
        max_records_per_request=2,
        max_concurrent_transforms=2,
    )
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    assert job.metrics["records"] == 8 and job.metrics["requests"] == 4
    rows = list(
        csv.reader(io.StringIO(storage.read_bytes("scored/batch/reviews.csv.out").decode()))
    )
    assert rows[0] == ["review_id", "label", "label_name"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert rows[1][2] == "positive" and rows[2][2] == "negative"
    assert set(job.outputs) == {"reviews.csv", "more.csv"}


def test_jsonlines_single_record(serving_session: Session) -> None:
    storage = serving_session.storage
    lines = [
        {"id": i, "review_body": t}
        for i, t in enumerate(["love it", "terrible cheap material", "it is ok, fine"])
    ]
    storage.write_bytes("raw/batch.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode())
    job = TransformClient(serving_session).run(
        "tiny-v1",
        "raw/batch.jsonl",
        "scored/jsonl",
        batch_strategy="SingleRecord",
        input_filter="$.review_body",
        join_source="Input",
        output_filter="$['id','SageboxOutput']",
        max_concurrent_transforms=1,
    )
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    assert job.metrics["requests"] == 3
    out = [json.loads(x) for x in storage.read_bytes("scored/jsonl/batch.jsonl.out").splitlines()]
    assert [o["id"] for o in out] == [0, 1, 2]
    assert [o["SageboxOutput"]["label"] for o in out] == [1, -1, 0]


def test_bad_records_fail_the_job_with_a_reason(serving_session: Session) -> None:
    serving_session.storage.write_bytes("raw/bad.jsonl", b'{"review_body": 5}\n')
    job = TransformClient(serving_session).run(
        "tiny-v1",
        "raw/bad.jsonl",
        "scored/bad",
        input_filter="$.review_body",
        max_concurrent_transforms=1,
    )
    assert job.status is JobStatus.FAILED
    assert "HTTP 400" in job.failure_reason and "must be a string" in job.failure_reason


def test_invalid_options_fail_before_submitting(serving_session: Session) -> None:
    client = TransformClient(serving_session)
    with pytest.raises(InputDataError, match="unsupported JSONPath"):
        client.run("tiny-v1", "raw/x.csv", "out/", input_filter="$..text")
    with pytest.raises(InputDataError, match="batch_strategy"):
        client.run("tiny-v1", "raw/x.csv", "out/", batch_strategy="Everything")
    with pytest.raises(NotFoundError):
        client.run("no-such-model", "raw/x.csv", "out/")
