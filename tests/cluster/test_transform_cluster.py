"""Batch transform on the cluster profile (Ray Data over an actor pool) = the local outputs.

The same transform, through the public :class:`~sagebox.serving.TransformClient`, runs once on
the local backend (worker processes) and once on the two-node Ray cluster (the job's runner a
Ray job, the requests answered by a pool of two actors, one CPU each); the output objects are
equal byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.config import load_settings
from sagebox.errors import InputDataError
from sagebox.jobs import JobClient
from sagebox.serving import TransformClient
from sagebox.session import Session
from tests.serving.conftest import register_tiny_models
from tests.serving.test_transform import CSV

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPTIONS = dict(
    content_type="text/csv",
    header=True,
    input_filter="$[1]",
    join_source="Input",
    output_filter="$[0,-5,-4]",
    max_records_per_request=2,
)


def _prepare(session: Session, workdir: Path) -> None:
    register_tiny_models(session, workdir)
    session.storage.write_bytes("raw/batch/reviews.csv", CSV.encode())
    session.storage.write_bytes("raw/batch/more.csv", CSV.replace("1,", "9,", 1).encode())


def test_the_cluster_transform_gives_the_local_outputs(
    cluster_session: Session, tmp_path: Path
) -> None:
    _prepare(cluster_session, tmp_path / "cluster-models")
    on_cluster = TransformClient(cluster_session).run(
        "tiny-v1", "raw/batch/", "scored/cluster", instance_count=2, **OPTIONS
    )
    assert on_cluster.status is JobStatus.COMPLETED, on_cluster.failure_reason
    assert str(on_cluster.handle).startswith("ray:job:")
    assert "actor pool" in JobClient(cluster_session).logs(on_cluster.name).lower()

    env = {"SAGEBOX_HOME": str(tmp_path / "local-home")}
    local_session = Session(load_settings(env=env, toml_path=None))
    _prepare(local_session, tmp_path / "local-models")
    local = TransformClient(local_session).run("tiny-v1", "raw/batch/", "scored/local", **OPTIONS)
    assert local.status is JobStatus.COMPLETED, local.failure_reason

    assert on_cluster.metrics["records"] == local.metrics["records"] == 8
    for name in ("reviews.csv.out", "more.csv.out"):
        expected = local_session.storage.read_bytes(f"scored/local/{name}")
        assert cluster_session.storage.read_bytes(f"scored/cluster/{name}") == expected


def test_an_instance_type_without_a_size_is_refused_at_submit(
    cluster_session: Session, tmp_path: Path
) -> None:
    assert os.environ["SAGEBOX_COMPUTE"].startswith("ray://")
    with pytest.raises(InputDataError, match="ml.m5.huge"):
        TransformClient(cluster_session).run(
            "tiny-v1", "raw/batch/", "scored/x", instance_type="ml.m5.huge", **OPTIONS
        )
    assert JobClient(cluster_session).list(kind="batch-transform") == []
