"""Bad input and faults of the Ray compute backend: unreachable address, version mismatch,
a task the cluster cannot place, a killed node."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagebox.backends.compute import Resources, TaskSpec, TaskState, open_compute
from sagebox.errors import ConfigError
from tests.conftest import free_port
from tests.fixtures.ray import RayCluster

pytest.importorskip("ray")

from sagebox.backends.compute.ray import RayCompute, check_versions  # noqa: E402


def _until(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def _compute(cluster: RayCluster) -> RayCompute:
    compute = open_compute(f"{cluster.uri}?gcs={cluster.gcs_address}")
    assert isinstance(compute, RayCompute)
    return compute


def test_an_unreachable_address_says_how_to_start_a_cluster() -> None:
    uri = f"ray://127.0.0.1:{free_port()}"
    compute = open_compute(uri)  # opening is cheap: the cluster is asked at first use
    with pytest.raises(ConfigError) as raised:
        compute.state("ray:job:sagebox-x")
    text = str(raised.value)
    assert uri in text and "ray start --head --dashboard-host 0.0.0.0" in text
    assert "\n" not in text


def test_a_bad_uri_is_refused() -> None:
    with pytest.raises(ConfigError, match="ray://HOST:PORT"):
        RayCompute("ray://")


def test_a_version_mismatch_names_both_versions() -> None:
    check_versions("2.60.0", "2.60.0", "ray://head:8265")
    with pytest.raises(ConfigError) as raised:
        check_versions("2.60.0", "2.9.3", "ray://head:8265")
    assert "2.60.0" in str(raised.value) and "2.9.3" in str(raised.value)
    assert "ray://head:8265" in str(raised.value)


def test_a_task_asking_more_than_the_cluster_has_says_it_is_pending(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    compute = _compute(ray_cluster)
    handle = compute.submit(
        TaskSpec([sys.executable, "-c", "pass"], tmp_path / "t.log", resources=Resources(cpus=64))
    )
    try:
        assert compute.state(handle) is TaskState.RUNNING  # waiting, not lost
        reason = compute.pending_reason(handle)
        assert reason is not None and "64 CPU" in reason and "2 live node(s)" in reason
        assert compute.wait(handle, timeout=1) is None
    finally:
        compute.stop(handle, grace_seconds=1)
    assert compute.state(handle) is TaskState.EXITED
    assert compute.pending_reason(handle) is None


def test_a_slot_task_must_be_bound_to_its_submitter(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    compute = _compute(ray_cluster)
    with pytest.raises(ConfigError, match="die_with_submitter"):
        compute.submit(TaskSpec(["true"], tmp_path / "t.log", slot=("pg", 0)))


def test_the_tasks_of_a_killed_node_are_seen_as_ended(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    compute = _compute(ray_cluster)
    node2 = next(
        str(n["node_id"])
        for n in ray_cluster.nodes()
        if n["state"] == "ALIVE" and "sagebox-node-2" in n["resources_total"]  # type: ignore[operator]
    )
    reservation = compute.reserve(2, Resources(cpus=0.5), timeout=60)
    code = (
        "import os, time; print('node', os.environ['SAGEBOX_NODE_ID'], flush=True); time.sleep(120)"
    )
    handles = [
        compute.submit(
            TaskSpec(
                [sys.executable, "-c", code],
                tmp_path / f"slot{i}.log",
                die_with_submitter=True,
                slot=reservation.slot(i),
            )
        )
        for i in range(2)
    ]
    try:
        _until(lambda: all("node " in compute.output(h) for h in handles), "both tasks start")
        on_node2 = [h for h in handles if node2 in compute.output(h)]
        survivor = [h for h in handles if h not in on_node2]
        assert len(on_node2) == 1 and len(survivor) == 1
        ray_cluster.kill_node2()
        _until(lambda: compute.state(on_node2[0]) is TaskState.EXITED, "the lost task ends")
        assert compute.wait(on_node2[0], timeout=5) != 0  # None: its exit code died with it
        assert compute.state(survivor[0]) is TaskState.RUNNING
    finally:
        for handle in handles:
            compute.stop(handle, grace_seconds=1)
        compute.release(reservation)
        ray_cluster.restart_node2()
