"""The shipped compute-backend suite on a real two-node Ray cluster (tests/fixtures/ray.py)."""

from __future__ import annotations

import pytest

from sagebox.backends.compute import open_compute
from sagebox.testing.compute import ComputeBackendSuite, OpenCompute
from tests.fixtures.ray import RayCluster


class TestRayCompute(ComputeBackendSuite):
    """Every check the local backend passes, on Ray (jobs, actors, placement groups)."""

    timeout = 60.0
    distinct_nodes = True
    max_slots = 2

    @pytest.fixture()
    def open_compute(self, ray_cluster: RayCluster) -> OpenCompute:
        uri = f"{ray_cluster.uri}?gcs={ray_cluster.gcs_address}"
        return lambda: open_compute(uri)
