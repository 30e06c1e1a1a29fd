"""An endpoint on the cluster profile: its workers are Ray actors on the cluster's nodes.

The supervisor (gateway and control plane) runs on this machine, the client's; each instance
of a variant is a compute task bound to it (a Ray actor owned by the supervisor process) that
fetches the model from the lake (S3) and announces its address. Each node of the test cluster
has one CPU and a worker asks one, so two instances need both nodes: capacity comes from other
machines.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.fixtures.ray import RayCluster
from tests.serving.conftest import load, package_tiny_model, poll

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _register_tiny_model(session: Session, workdir: Path) -> None:
    from sagebox.models import ModelClient

    archive = package_tiny_model(workdir, min_df=1)
    session.storage.upload(archive, "models/tiny-v1/model.tar.gz")
    ModelClient(session).create(
        "tiny-v1", artifact_uri=session.storage.url("models/tiny-v1/model.tar.gz")
    )


def _actors(cluster: RayCluster) -> dict[str, dict[str, Any]]:
    """The cluster's actors by id (Ray's state API on the dashboard)."""
    url = f"{cluster.dashboard_url}/api/v0/actors?detail=1&limit=10000"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.load(response)
    return {a["actor_id"]: a for a in body["data"]["result"]["result"]}


def _actor_id(instance: dict[str, Any]) -> str:
    handle = str(instance.get("handle"))
    assert handle.startswith("ray:actor:"), instance  # a cluster task, not a local process
    return handle.removeprefix("ray:actor:")


def _stats(instance: dict[str, Any]) -> dict[str, Any]:
    url = f"http://{instance['host']}:{instance['port']}/stats"
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.load(response))


def test_an_endpoints_workers_run_as_actors_on_the_cluster(
    cluster_session: Session, ray_cluster: RayCluster, tmp_path: Path, sagebox_env: Path
) -> None:
    _register_tiny_model(cluster_session, tmp_path / "tiny")
    client = EndpointClient(cluster_session)
    port = free_port()
    config = {"variants": [{"name": "main", "model": "tiny-v1", "instance_count": 2}]}
    client.create("clustered", config=config, port=port)
    created: set[str] = set()
    try:
        instances = client.status("clustered")["variants"]["main"]["instances"]
        assert len(instances) == 2 and all(i["healthy"] for i in instances)
        ids = [_actor_id(i) for i in instances]
        created.update(ids)
        actors = _actors(ray_cluster)
        assert all(actors[a]["state"] == "ALIVE" for a in ids)
        # one CPU per node, one CPU per worker: the second instance ran on the other machine
        assert len({actors[a]["node_id"] for a in ids}) == 2

        results = load(f"http://127.0.0.1:{port}/endpoints/clustered/invocations", 200, 4)
        assert [status for status, _ in results] == [200] * 200
        served = [_stats(i)["invocations"] for i in instances]
        assert all(n > 0 for n in served) and sum(served) >= 200, served
        answer = client.invoke("clustered", ["love it, perfect fit"])
        assert answer["predictions"][0]["label"] == 1

        # scale in through the admin API: the newest worker's actor ends
        client.update_weights("clustered", instances={"main": 1})
        kept = client.status("clustered")["variants"]["main"]["instances"]
        assert [_actor_id(i) for i in kept] == ids[:1]
        poll(lambda: _actors(ray_cluster)[ids[1]]["state"] == "DEAD", timeout=60)
        # and out again: a new actor takes the freed node
        client.update_weights("clustered", instances={"main": 2})
        grown = client.status("clustered")["variants"]["main"]["instances"]
        assert len(grown) == 2 and all(i["healthy"] for i in grown)
        created.update(_actor_id(i) for i in grown)
        assert _actor_id(grown[1]) not in ids

        # a worker killed on its node is seen through the compute backend and restarted
        victim = grown[0]
        os.kill(int(victim["pid"]), signal.SIGKILL)  # the nodes are on this machine

        def restarted() -> list[dict[str, Any]]:
            now = client.status("clustered")["variants"]["main"]["instances"]
            ok = all(i["healthy"] for i in now) and victim["handle"] not in {
                i["handle"] for i in now
            }
            return now if ok else []

        after = poll(restarted, timeout=180)
        assert sum(i["restarts"] for i in after) == 1
        created.update(_actor_id(i) for i in after)
        kinds = [e["kind"] for e in client.status("clustered")["events"]]
        assert "worker_exit" in kinds and "worker_restarted" in kinds
        assert _actors(ray_cluster)[_actor_id(victim)]["state"] == "DEAD"  # its slot was freed
        assert client.invoke("clustered", ["love it"])["predictions"][0]["label"] == 1
    finally:
        client.delete("clustered")
    # deleting the endpoint ends every actor it made
    poll(lambda: all(_actors(ray_cluster)[a]["state"] == "DEAD" for a in created), timeout=60)
    # the workers wrote nothing below the client's home (their homes were node-local)
    assert not (sagebox_env / "serving" / "models").exists()


def test_an_endpoint_on_a_cluster_with_a_local_lake_is_refused(
    sagebox_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagebox.errors import ConfigError

    monkeypatch.setenv("SAGEBOX_COMPUTE", "ray://127.0.0.1:1")  # never contacted
    client = EndpointClient(Session())
    with pytest.raises(ConfigError, match="local folder, which the nodes of the cluster"):
        client.create("nowhere", model_name="tiny-v1", port=free_port())
