"""The end-to-end demo on the cluster profile: two-node Ray, moto S3, PostgreSQL.

The same :func:`sagebox.demo.run_demo` as ``make demo``, with every job (crawler, preparation,
training, evaluation) run as a Ray job on the cluster, the lake in S3 and the records in
PostgreSQL; the endpoint's supervisor runs on this machine (the client's) and loads the model
from the lake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.demo import run_demo
from sagebox.jobs import JobClient
from sagebox.session import Session

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*")}


def test_the_demo_runs_on_the_cluster_profile(cluster_session: Session, sagebox_env: Path) -> None:
    before = _files(sagebox_env)
    steps: list[str] = []
    result = run_demo(cluster_session, rows=1200, seed=3, on_step=steps.append)
    assert result.evaluation["accuracy"] > 0.45  # three balanced classes: chance is 0.33
    assert len(result.predictions) >= 3
    jobs = JobClient(cluster_session)
    for name in result.jobs.values():
        job = jobs.describe(name)
        assert job.status is JobStatus.COMPLETED
        assert str(job.handle).startswith("ray:job:"), job.handle  # it ran on the cluster
        assert "ended: Completed" in jobs.logs(name)  # the log came back through the lake
    assert result.evaluation_uri.startswith("s3://")
    # only the endpoint's supervisor (on this machine) wrote below the client's home
    written = {p.split("/", 1)[0] for p in _files(sagebox_env) - before}
    assert written <= {"serving", "endpoints"}, written
