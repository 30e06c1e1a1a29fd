"""The gateway with real supervisor and worker processes: A/B, shadow, capture, bandit, 4xx."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.serving.conftest import load, poll

AB_CONFIG = {
    "variants": [
        {"name": "v1", "model": "tiny-v1", "initial_weight": 1},
        {"name": "v2", "model": "tiny-v2", "initial_weight": 1},
    ],
    "shadow_variants": [{"name": "candidate", "model": "tiny-v2", "sampling_percentage": 100}],
    "data_capture": {"sampling_percentage": 100, "flush_seconds": 0.2},
    "max_payload_bytes": 4096,
}
BANDIT_CONFIG = {
    "variants": [{"name": "good", "model": "tiny-v1"}, {"name": "bad", "model": "tiny-v2"}],
    "routing": "bandit",
    "bandit": {"algorithm": "epsilon-greedy", "epsilon": 0.1, "seed": 1},
}

BATCHED_CONFIG = {
    "variants": [
        {"name": "b", "model": "tiny-v1", "batching": {"max_batch_size": 8, "max_delay_ms": 50}}
    ]
}


@pytest.fixture(scope="module")
def served(serving_session: Session) -> Iterator[tuple[EndpointClient, str]]:
    client = EndpointClient(serving_session)
    port = free_port()
    client.create("ab", config=AB_CONFIG, port=port)
    client.create("bandit", config=BANDIT_CONFIG, port=port)
    client.create("batched", config=BATCHED_CONFIG, port=port)
    yield client, f"http://127.0.0.1:{port}"


def test_ab_split_follows_weights(served: tuple[EndpointClient, str]) -> None:
    client, url = served
    results = load(f"{url}/endpoints/ab/invocations", requests=400, concurrency=4)
    assert all(status == 200 for status, _ in results)
    counts = Counter(variant for _, variant in results)
    assert set(counts) == {"v1", "v2"}
    assert 150 < counts["v1"] < 250  # 50/50 weights; 400 draws
    metrics = client.metrics("ab")["variants"]
    assert metrics["v1"]["invocations"] + metrics["v2"]["invocations"] >= 400
    assert metrics["v1"]["traffic_share"] == 0.5
    for key in ("latency_ms", "model_latency_ms", "overhead_latency_ms"):
        assert set(metrics["v1"][key]) == {"p50", "p90", "p99"}
    assert metrics["v1"]["model_latency_ms"]["p50"] <= metrics["v1"]["latency_ms"]["p50"]


def test_dynamic_batching_groups_requests_and_reports_its_counters(
    served: tuple[EndpointClient, str],
) -> None:
    client, url = served
    results = load(f"{url}/endpoints/batched/invocations", requests=48, concurrency=8)
    assert [status for status, _ in results] == [200] * 48

    def counted() -> dict[str, float] | None:
        batching = client.metrics("batched")["variants"]["b"].get("batching")
        return batching if batching and batching["records"] >= 48 else None

    batching = poll(counted, timeout=30)
    assert batching["records"] == 48
    assert batching["batches"] < 48 and batching["mean_batch_size"] > 1  # grouped
    assert batching["busy_seconds"] > 0
    prometheus = client.metrics("batched", prometheus=True)
    assert 'sagebox_batched_records_total{endpoint="batched",variant="b"' in prometheus
    assert "batching" not in client.metrics("ab")["variants"]["v1"]


def test_target_variant_header(served: tuple[EndpointClient, str]) -> None:
    client, _ = served
    answers = {
        client.invoke_detailed("ab", ["love it"], target_variant="v2").variant for _ in range(5)
    }
    assert answers == {"v2"}
    with pytest.raises(InputDataError, match="no variant 'v9'"):
        client.invoke("ab", ["love it"], target_variant="v9")


def test_shadow_is_mirrored_compared_and_never_returned(served: tuple[EndpointClient, str]) -> None:
    client, url = served
    load(f"{url}/endpoints/ab/invocations", requests=60, concurrency=2)
    info = poll(
        lambda: (
            lambda s: (
                s
                if s["shadow_variants"]["candidate"]["agreement"]["compared_records"] >= 60
                else None
            )
        )(client.status("ab"))
    )
    agreement = info["shadow_variants"]["candidate"]["agreement"]
    assert agreement["errors"] == 0 and 0.0 <= agreement["ratio"] <= 1.0
    assert "candidate" not in {client.invoke_detailed("ab", ["ok"]).variant for _ in range(20)}
    prometheus = client.metrics("ab", prometheus=True)
    assert 'sagebox_shadow_agreement_ratio{endpoint="ab",variant="candidate"' in prometheus


def test_data_capture_lands_in_the_lake(served: tuple[EndpointClient, str]) -> None:
    client, _ = served
    answer = client.invoke_detailed("ab", [{"review_body": "captured review"}])
    session = client.session

    def captured() -> list[dict]:
        found = []
        for obj in session.storage.list("datacapture/ab/"):
            for line in session.storage.read_bytes(obj.key).decode().splitlines():
                record = json.loads(line)
                if record["eventMetadata"]["inferenceId"] == answer.inference_id:
                    found.append(record)
        return found

    # shadow and production captures are flushed independently: wait for the production one
    records = poll(
        lambda: (lambda found: found if any(r["role"] == "production" for r in found) else None)(
            captured()
        )
    )
    roles = {r["role"] for r in records}
    assert "production" in roles
    production = next(r for r in records if r["role"] == "production")
    assert production["variant"] == answer.variant
    assert "captured review" in production["captureData"]["endpointInput"]["data"]
    assert '"label"' in production["captureData"]["endpointOutput"]["data"]
    assert production["eventMetadata"]["eventId"]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "message"),
    [
        ("/endpoints/ab/invocations", b"{not json", "application/json", 400, "malformed"),
        ("/endpoints/ab/invocations", b"", "application/json", 400, "empty"),
        ("/endpoints/ab/invocations", b"[1]", "application/json", 400, "must be a string"),
        ("/endpoints/ab/invocations", b"x", "image/png", 415, "unsupported content type"),
        (
            "/endpoints/ab/invocations",
            b'["' + b"x" * 5000 + b'"]',
            "application/json",
            413,
            "limit of 4096 bytes",
        ),
        ("/endpoints/nope/invocations", b'["x"]', "application/json", 404, "nope"),
        ("/invocations", b'["x"]', "application/json", 404, "ambiguous"),
        ("/no/such/route", b"", "application/json", 404, "no route"),
    ],
)
def test_bad_requests_are_4xx_and_workers_survive(
    served: tuple[EndpointClient, str],
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    message: str,
) -> None:
    client, url = served
    pids = {i["pid"] for v in client.status("ab")["variants"].values() for i in v["instances"]}
    response = httpx.post(f"{url}{path}", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.invoke("ab", ["still fine"])["predictions"][0]["label"] in (-1, 0, 1)
    after = {i["pid"] for v in client.status("ab")["variants"].values() for i in v["instances"]}
    assert after == pids


def test_bandit_rewards_shift_traffic(served: tuple[EndpointClient, str]) -> None:
    client, _ = served
    for _ in range(120):
        answer = client.invoke_detailed("bandit", ["love it"])
        client.reward("bandit", answer.inference_id, 1.0 if answer.variant == "good" else 0.0)
    state = client.status("bandit")["bandit"]["arms"]
    assert state["good"]["mean_reward"] == 1.0 and state["bad"]["mean_reward"] == 0.0
    assert state["good"]["chosen"] > 2 * state["bad"]["chosen"]
    with pytest.raises(NotFoundError, match="no pending inference"):
        client.reward("bandit", "never-issued", 1.0)
    with pytest.raises(InputDataError, match="does not route by bandit"):
        client.reward("ab", "x", 1.0)
    record = client.describe("bandit")
    assert poll(lambda: client.describe("bandit").config.get("bandit", {}).get("arms"))
    assert record.status == "InService"


def test_in_place_weights_and_instances(served: tuple[EndpointClient, str]) -> None:
    client, url = served
    state = client.update_weights("ab", weights={"v1": 1.0, "v2": 0.0})
    assert state["variants"]["v1"]["traffic_share"] == 1.0
    results = load(f"{url}/endpoints/ab/invocations", requests=40, concurrency=2)
    assert {v for _, v in results} == {"v1"}
    with pytest.raises(InputDataError, match="no variant"):
        client.update_weights("ab", weights={"v7": 1.0})
    state = client.update_weights("ab", weights={"v1": 1.0, "v2": 1.0})
    assert state["variants"]["v2"]["traffic_share"] == 0.5
