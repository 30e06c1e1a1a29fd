"""Blue/green deployments (canary rollback on an error burst, linear success) and autoscaling."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.serving.conftest import load, poll


@pytest.fixture(scope="module")
def served(serving_session: Session) -> Iterator[tuple[EndpointClient, str]]:
    client = EndpointClient(serving_session)
    port = free_port()
    client.create(
        "shop",
        config={"variants": [{"name": "v1", "model": "tiny-v1"}]},
        port=port,
        fault_injection=True,  # a server for testing: the drills inject faults
    )
    yield client, f"http://127.0.0.1:{port}/endpoints/shop/invocations"


class Traffic:
    """Bounded background traffic: at most ``limit`` requests, until stopped."""

    def __init__(self, url: str, limit: int = 20_000) -> None:
        self.url, self.limit = url, limit
        self.results: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set() and len(self.results) < self.limit:
                r = client.post(
                    self.url, content=b'["love it"]', headers={"Content-Type": "application/json"}
                )
                self.results.append((r.status_code, r.headers.get("x-sagebox-variant", "")))


def test_canary_rolls_back_on_an_error_burst(served: tuple[EndpointClient, str]) -> None:
    client, url = served
    policy = {
        "traffic_routing": {"type": "CANARY", "canary_size": 0.5, "wait_interval_s": 8},
        "alarms": [
            {"metric": "error_rate", "threshold": 0.05, "window_s": 5, "min_invocations": 5}
        ],
    }
    new = {"variants": [{"name": "v2", "model": "tiny-v2"}]}
    with Traffic(url) as traffic:
        client.update("shop", config=new, deployment=policy, wait=False)
        poll(lambda: client.status("shop").get("green_variants"), timeout=120)
        client.inject_fault("shop", "v2", error_rate=1.0, seconds=60)
        info = poll(lambda: _done(client, "shop"), timeout=120)
    deployment = info["deployment"]
    assert deployment["status"] == "RolledBack", deployment
    assert "error_rate" in deployment["reason"]
    kinds = [e["kind"] for e in info["events"]]
    assert (
        kinds.index("traffic_shifted") < kinds.index("alarm") < kinds.index("deployment_rolledback")
    )
    assert list(info["variants"]) == ["v1"] and "green_variants" not in info
    served_by = Counter(v for s, v in traffic.results if s == 200)
    assert served_by["v1"] > 0
    after = load(url, requests=30, concurrency=2)
    assert {(s, v) for s, v in after} == {(200, "v1")}
    poll(lambda: client.describe("shop").config["deployment"]["status"] == "RolledBack")


def test_linear_update_succeeds_and_retires_blue(served: tuple[EndpointClient, str]) -> None:
    client, url = served
    old_pids = {i["pid"] for i in client.status("shop")["variants"]["v1"]["instances"]}
    policy = {
        "traffic_routing": {"type": "LINEAR", "linear_step_size": 0.5, "wait_interval_s": 1},
        "termination_wait_s": 1,
        "alarms": [{"metric": "error_rate", "threshold": 0.5, "min_invocations": 5}],
    }
    with Traffic(url):
        deployment = client.update(
            "shop",
            config={"variants": [{"name": "v3", "model": "tiny-v2"}]},
            deployment=policy,
            timeout=180,
        )
    assert deployment["status"] == "Succeeded", deployment
    assert [s["green_share"] for s in deployment["steps"]] == [0.5, 1.0]
    after = load(url, requests=20, concurrency=2)
    assert {(s, v) for s, v in after} == {(200, "v3")}
    import os

    for pid in old_pids:
        poll(lambda pid=pid: not _alive(pid), timeout=30)
    assert os.getpid() not in old_pids


DRILL_POLICY = {
    "traffic_routing": {"type": "CANARY", "canary_size": 0.5, "wait_interval_s": 8},
    "alarms": [{"metric": "error_rate", "threshold": 0.05, "window_s": 5, "min_invocations": 5}],
}


def test_drill_during_an_update_that_keeps_the_variant_name_hits_only_what_it_names(
    serving_session: Session,
) -> None:
    """Issue 15 defect 9: `update --model M2` keeps the name AllTraffic; the drill on it must
    reach the green fleet only (blue keeps answering 200), and a fault in the live blue fleet
    must not end in a Succeeded deployment."""
    from sagebox.errors import InputDataError

    client = EndpointClient(serving_session)
    port = free_port()
    client.create("drill", model_name="tiny-v1", port=port, fault_injection=True)
    url = f"http://127.0.0.1:{port}/endpoints/drill/invocations"
    try:
        # 1. fault on the green fleet only: blue answers, the canary rolls back
        with Traffic(url) as traffic:
            client.update("drill", model_name="tiny-v2", deployment=DRILL_POLICY, wait=False)
            poll(lambda: client.status("drill").get("green_variants"), timeout=120)
            with pytest.raises(InputDataError, match="production and green fleets"):
                client.inject_fault("drill", "AllTraffic", error_rate=1.0, seconds=60)
            fault = client.inject_fault(
                "drill", "AllTraffic", error_rate=1.0, seconds=60, fleet="green"
            )
            assert fault["fleet"] == "green"
            info = poll(lambda: _done(client, "drill"), timeout=120)
        assert info["deployment"]["status"] == "RolledBack", info["deployment"]
        blue = info["variants"]["AllTraffic"]
        assert blue["metrics"]["errors_5xx"] == 0 and blue["metrics"]["invocations"] > 0
        assert any(s == 200 for s, _ in traffic.results)
        after = load(url, requests=20, concurrency=2)
        assert {s for s, _ in after} == {200}

        # 2. the live blue fleet fails during the bake: never Succeeded
        with Traffic(url):
            client.update("drill", model_name="tiny-v2", deployment=DRILL_POLICY, wait=False)
            poll(lambda: client.status("drill").get("green_variants"), timeout=120)
            client.inject_fault(
                "drill", "AllTraffic", error_rate=1.0, seconds=10, fleet="production"
            )
            info = poll(lambda: _done(client, "drill"), timeout=120)
        deployment = info["deployment"]
        assert deployment["status"] == "Failed", deployment
        assert "live (production) fleet failed" in deployment["reason"]
        kinds = [e["kind"] for e in info["events"]]
        assert "live_fleet_alarm" in kinds and kinds[-1] == "deployment_failed"
        assert info["events"][-1]["reason"] == deployment["reason"]
        assert "green_variants" not in info
        assert info["variants"]["AllTraffic"]["model"] == "tiny-v1"  # still blue
    finally:
        client.delete("drill")


def test_live_fleet_guard_fails_a_deployment_without_alarms(serving_session: Session) -> None:
    """A deployment that sets no alarms is still watched: the live fleet failing during the
    bake (more than 1% 5xx over 30 s, at least 5 requests) ends it Failed, blue serving on."""
    client = EndpointClient(serving_session)
    port = free_port()
    client.create("guarded", model_name="tiny-v1", port=port, fault_injection=True)
    url = f"http://127.0.0.1:{port}/endpoints/guarded/invocations"
    policy = {"traffic_routing": {"type": "CANARY", "canary_size": 0.5, "wait_interval_s": 8}}
    try:
        with Traffic(url):
            client.update("guarded", model_name="tiny-v2", deployment=policy, wait=False)
            poll(lambda: client.status("guarded").get("green_variants"), timeout=120)
            client.inject_fault(
                "guarded", "AllTraffic", error_rate=1.0, seconds=10, fleet="production"
            )
            info = poll(lambda: _done(client, "guarded"), timeout=120)
        deployment = info["deployment"]
        assert deployment["status"] == "Failed", deployment
        assert deployment["alarm"]["alarm"] == "live_fleet_errors"
        assert deployment["alarm"]["fleet"] == "production"
        assert info["variants"]["AllTraffic"]["model"] == "tiny-v1"
    finally:
        client.delete("guarded")


def _done(client: EndpointClient, name: str) -> dict[str, object] | None:
    state = client.status(name)
    return state if state["status"] == "InService" else None


def test_autoscaling_scales_out_under_load_and_back_in(serving_session: Session) -> None:
    client = EndpointClient(serving_session)
    port = free_port()
    config = {
        "variants": [
            {
                "name": "auto",
                "model": "tiny-v1",
                "autoscaling": {
                    "min_instances": 1,
                    "max_instances": 3,
                    "target_invocations_per_instance_per_minute": 300,
                    "scale_out_cooldown_s": 1,
                    "scale_in_cooldown_s": 3,
                    "window_s": 3,
                },
            }
        ]
    }
    client.create("scaled", config=config, port=port)
    url = f"http://127.0.0.1:{port}/endpoints/scaled/invocations"
    try:
        with Traffic(url, limit=20_000):
            poll(
                lambda: client.status("scaled")["variants"]["auto"]["healthy_instances"] >= 2,
                timeout=120,
            )
        poll(lambda: client.status("scaled")["variants"]["auto"]["instance_count"] == 1, timeout=60)
        events = [e for e in client.status("scaled")["events"] if e["kind"] == "scaling"]
        assert events[0]["from"] == 1 and events[0]["to"] >= 2
        assert "invocations/instance/min" in events[0]["reason"]
        assert events[-1]["to"] == 1
        recorded = poll(
            lambda: [
                e
                for e in client.describe("scaled").config["events"]
                if e["kind"] == "scaling" and e["to"] == 1
            ]
        )
        assert recorded
    finally:
        client.delete("scaled")


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
