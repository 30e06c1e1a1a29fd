"""Batch transform on a worker pool (Ray Data) gives the local path's outputs, byte for byte.

The pool path (``_run_on_pool`` with :class:`RayDataMapper`) runs on a one-CPU local Ray;
the local path is a real ``batch-transform`` job on the local backend, same input and model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobRecord, JobStatus
from sagebox.session import Session
from tests.fixtures.local_ray import local_ray  # noqa: F401
from tests.serving.conftest import register_tiny_models
from tests.serving.test_transform import CSV

pytestmark = pytest.mark.usefixtures("local_ray")

CASES = {
    "csv-join": dict(
        input="raw/batch/",
        content_type="text/csv",
        header=True,
        input_filter="$[1]",
        join_source="Input",
        output_filter="$[0,-5,-4]",
        max_records_per_request=2,
    ),
    "jsonl-single": dict(
        input="raw/batch.jsonl",
        batch_strategy="SingleRecord",
        input_filter="$.review_body",
        join_source="Input",
        output_filter="$['id','SageboxOutput']",
    ),
}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("pool")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
                mp.delenv(key)
        mp.setenv("SAGEBOX_HOME", str(root / "sbhome"))
        mp.chdir(root)
        session = Session()
        register_tiny_models(session, root / "models")
        storage = session.storage
        storage.write_bytes("raw/batch/reviews.csv", CSV.encode())
        storage.write_bytes("raw/batch/more.csv", CSV.replace("1,", "9,", 1).encode())
        lines = [{"id": i, "review_body": t} for i, t in enumerate(["love it", "awful", "ok"])]
        body = "".join(json.dumps(x) + "\n" for x in lines).encode()
        storage.write_bytes("raw/batch.jsonl", body)
        yield session


@pytest.mark.parametrize("case", sorted(CASES))
def test_pool_outputs_equal_the_local_outputs(
    session: Session,
    case: str,
    tmp_path: Path,
) -> None:
    from sagebox.backends.compute.ray_data import RayDataMapper
    from sagebox.jobs.context import JobContext
    from sagebox.serving import TransformClient, TransformConfig
    from sagebox.serving._transform.job import _input_keys, _run_on_pool

    options = dict(CASES[case])
    source = options.pop("input")
    local = TransformClient(session).run("tiny-v1", source, f"scored/local-{case}", **options)
    assert local.status is JobStatus.COMPLETED, local.failure_reason

    config = TransformConfig(model="tiny-v1", input=source, output=f"scored/pool-{case}", **options)
    job = session.metadata.create_job(
        JobRecord(name=f"pool-{case}", kind="batch-transform", parameters={})
    )
    ctx = JobContext(job=job, session=session, workdir=tmp_path)
    keys = _input_keys(session, source)
    payload = int(config.max_payload_mb * 2**20)
    totals = _run_on_pool(ctx, config, RayDataMapper(), keys, payload)

    assert totals["records"] == local.metrics["records"]
    assert totals["requests"] == local.metrics["requests"]
    storage = session.storage
    for key in keys:
        name = Path(key).name + ".out"
        expected = storage.read_bytes(f"scored/local-{case}/{name}")
        assert storage.read_bytes(f"scored/pool-{case}/{name}") == expected
