"""A worker killed under load is restarted and its in-flight requests retried elsewhere."""

from __future__ import annotations

import os
import signal
from collections import Counter

from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.serving.conftest import load, poll

REQUESTS = 2000


def test_killing_a_worker_under_load_loses_under_a_thousandth(serving_session: Session) -> None:
    client = EndpointClient(serving_session)
    port = free_port()
    client.create(
        "sturdy",
        config={"variants": [{"name": "main", "model": "tiny-v1", "instance_count": 2}]},
        port=port,
    )
    try:
        before = client.status("sturdy")["variants"]["main"]["instances"]
        victim = before[0]["pid"]
        killed: list[int] = []

        def kill_once(done: int) -> None:
            if done >= REQUESTS // 4 and not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        results = load(
            f"http://127.0.0.1:{port}/endpoints/sturdy/invocations",
            requests=REQUESTS,
            concurrency=8,
            on_progress=kill_once,
        )
        assert killed == [victim]
        statuses = Counter(status for status, _ in results)
        assert len(results) == REQUESTS
        lost = REQUESTS - statuses[200]
        assert lost / REQUESTS < 0.001, statuses

        def restarted() -> list[dict]:
            instances = client.status("sturdy")["variants"]["main"]["instances"]
            ok = all(i["healthy"] for i in instances) and victim not in {
                i["pid"] for i in instances
            }
            return instances if ok else []

        instances = poll(restarted, timeout=120)
        assert len(instances) == 2 and sum(i["restarts"] for i in instances) == 1
        kinds = [e["kind"] for e in client.status("sturdy")["events"]]
        assert "worker_exit" in kinds and "worker_restarted" in kinds
        assert client.invoke("sturdy", ["love it"])["predictions"][0]["label"] == 1
    finally:
        client.delete("sturdy")
