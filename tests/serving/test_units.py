"""Pure units of serving: config, routing, bandit, autoscaling, alarms, metrics, capture."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from sagebox.errors import InputDataError, NotFoundError
from sagebox.serving._control.autoscaling import TargetTracker
from sagebox.serving._control.bandit import Bandit
from sagebox.serving._control.capture import CaptureWriter
from sagebox.serving._control.deployment import evaluate_alarms
from sagebox.serving._control.metrics import VariantMetrics, prometheus_text
from sagebox.serving._control.routing import WeightedChooser, pick_instance
from sagebox.serving._control.shadow import ShadowComparison, compare_answers
from sagebox.serving.config import (
    AutoScalingPolicy,
    DataCaptureConfig,
    DeploymentConfig,
    EndpointConfig,
    TrafficRouting,
    parse_config,
)


def test_config_round_trip_and_defaults() -> None:
    config = parse_config(
        EndpointConfig,
        {
            "variants": [
                {"name": "v1", "model": "a"},
                {"name": "v2", "model": "b", "initial_weight": 3},
            ],
            "shadow_variants": [{"name": "s", "model": "c", "sampling_percentage": 10}],
            "data_capture": {"sampling_percentage": 5},
        },
    )
    assert config.model_names() == ["a", "b", "c"]
    assert parse_config(EndpointConfig, config.to_json()) == config
    assert config.max_payload_bytes == 6 * 2**20


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"variants": []}, "variants"),
        ({"variants": [{"name": "v", "model": "a"}, {"name": "v", "model": "b"}]}, "duplicate"),
        ({"variants": [{"model": "a", "initial_weight": 0}]}, "weight > 0"),
        ({"variants": [{"model": "a", "pipeline": [{"builtin": "label-names"}]}]}, "exactly one"),
        ({"variants": [{"pipeline": [{"builtin": "label-names"}]}]}, "no model step"),
        ({"variants": [{"model": "a", "instance_count": 0}]}, "instance_count"),
        (
            {
                "variants": [
                    {
                        "model": "a",
                        "autoscaling": {
                            "min_instances": 3,
                            "max_instances": 2,
                            "target_cpu_percent": 50,
                        },
                    }
                ]
            },
            "min_instances 3 > max_instances 2",
        ),
        ({"variants": [{"model": "a", "autoscaling": {}}]}, "target"),
        ({"variants": [{"model": "a"}], "routing": "random"}, "routing"),
        ({"variants": [{"model": "a", "name": "bad name"}]}, "name"),
        ({"variants": [{"model": "a"}], "surprise": 1}, "surprise"),
    ],
)
def test_config_errors_name_the_field(raw: dict, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_config(EndpointConfig, raw)


def test_traffic_routing_steps() -> None:
    assert TrafficRouting(type="ALL_AT_ONCE").fractions() == [1.0]
    assert TrafficRouting(type="CANARY", canary_size=0.2).fractions() == [0.2, 1.0]
    assert TrafficRouting(type="LINEAR", linear_step_size=0.3).fractions() == [0.3, 0.6, 0.9, 1.0]
    with pytest.raises(InputDataError, match="canary_size"):
        parse_config(DeploymentConfig, {"traffic_routing": {"type": "CANARY", "canary_size": 0}})


def test_weighted_chooser_follows_weights() -> None:
    chooser = WeightedChooser(["a", "b", "c"], [1, 3, 0], rng=random.Random(1))
    counts = Counter(chooser.choose() for _ in range(20_000))
    assert set(counts) == {"a", "b"}
    assert abs(counts["b"] / 20_000 - 0.75) < 0.02
    assert chooser.shares() == {"a": 0.25, "b": 0.75}


def test_pick_instance_least_busy_healthy_and_sticky() -> None:
    a = SimpleNamespace(healthy=True, outstanding=3)
    b = SimpleNamespace(healthy=True, outstanding=1)
    c = SimpleNamespace(healthy=False, outstanding=0)
    assert pick_instance([a, b, c], 0) is b
    assert pick_instance([c], 0) is None
    first = pick_instance([a, b, c], 0, key="model-x")
    assert all(pick_instance([a, b, c], i, key="model-x") is first for i in range(5))


@pytest.mark.parametrize("algorithm", ["thompson", "epsilon-greedy"])
def test_bandit_moves_traffic_to_the_better_arm(algorithm: str) -> None:
    bandit = Bandit(["good", "bad"], algorithm=algorithm, epsilon=0.1, seed=7)
    rng = random.Random(3)
    picks = []
    for i in range(1500):
        arm = bandit.choose()
        picks.append(arm)
        bandit.assign(str(i), arm)
        success = rng.random() < (0.8 if arm == "good" else 0.3)
        assert bandit.reward(str(i), 1.0 if success else 0.0) == arm
    assert Counter(picks[-500:])["good"] > 400
    state = bandit.state()
    assert state["arms"]["good"]["mean_reward"] > state["arms"]["bad"]["mean_reward"]
    restored = Bandit(["good", "bad"], algorithm=algorithm, state=state)
    assert restored.rewarded == bandit.rewarded
    with pytest.raises(NotFoundError):
        bandit.reward("0", 1.0)  # already rewarded
    with pytest.raises(InputDataError, match="outside"):
        bandit.reward("x", 2.0)


def test_target_tracking_with_cooldowns() -> None:
    policy = AutoScalingPolicy(
        min_instances=1,
        max_instances=4,
        target_invocations_per_instance_per_minute=600,
        scale_out_cooldown_s=10,
        scale_in_cooldown_s=30,
    )
    tracker = TargetTracker(policy)
    decision = tracker.evaluate(1, invocations_per_minute=1500, now=100.0)
    assert decision is not None and decision.desired == 3
    tracker.applied(decision, 100.0)
    assert tracker.evaluate(3, invocations_per_minute=6000, now=105.0) is None  # cooldown
    assert tracker.evaluate(3, invocations_per_minute=6000, now=111.0).desired == 4  # max
    assert tracker.evaluate(3, invocations_per_minute=0, now=120.0) is None  # scale-in cooldown
    assert tracker.evaluate(3, invocations_per_minute=0, now=131.0).desired == 1
    cpu = TargetTracker(
        AutoScalingPolicy(target_cpu_percent=50, max_instances=8, scale_out_cooldown_s=0)
    )
    assert cpu.evaluate(2, 0.0, cpu_percent=90.0, now=1.0).desired == 4


def test_alarms_on_error_rate_and_latency() -> None:
    metrics = VariantMetrics()
    fleet = {"green": SimpleNamespace(metrics=metrics)}
    alarm = parse_config(
        DeploymentConfig,
        {
            "alarms": [
                {"metric": "error_rate", "threshold": 0.1, "min_invocations": 10},
                {"metric": "p99_latency_ms", "threshold": 50, "min_invocations": 10},
            ]
        },
    ).alarms
    for _ in range(9):
        metrics.record(500, 1.0)
    assert evaluate_alarms(alarm, fleet, since=0.0) is None  # too few requests
    metrics.record(200, 1.0)
    breach = evaluate_alarms(alarm, fleet, since=0.0)
    assert breach is not None and breach["metric"] == "error_rate" and breach["value"] == 0.9
    slow = VariantMetrics()
    for _ in range(20):
        slow.record(200, 80.0, model_ms=70.0)
    breach = evaluate_alarms(alarm, {"g": SimpleNamespace(metrics=slow)}, since=0.0)
    assert breach is not None and breach["metric"] == "p99_latency_ms"


def test_metrics_snapshot_and_prometheus() -> None:
    m = VariantMetrics()
    for i in range(100):
        m.record(200 if i < 95 else 503, latency_ms=float(i + 1), model_ms=float(i) / 2)
    m.record(400, 1.0)
    snap = m.snapshot()
    assert snap["invocations"] == 101 and snap["errors_5xx"] == 5 and snap["errors_4xx"] == 1
    assert snap["latency_ms"]["p50"] == 50.0 and snap["latency_ms"]["p99"] == 99.0
    assert snap["overhead_latency_ms"]["p50"] > 0
    text = prometheus_text(
        {
            "ep": {
                "variants": {
                    "v1": {
                        "role": "production",
                        "metrics": snap,
                        "healthy_instances": 2,
                        "traffic_share": 0.5,
                    }
                }
            }
        }
    )
    assert "# TYPE sagebox_invocations_total counter" in text
    assert 'sagebox_invocations_total{endpoint="ep",variant="v1",role="production"} 101' in text
    assert 'quantile="0.99"' in text


def test_shadow_comparison() -> None:
    prod = json.dumps({"predictions": [{"label": 1}, {"label": -1}]}).encode()
    same = json.dumps({"predictions": [{"label": 1}, {"label": 0}]}).encode()
    assert compare_answers(prod, same) == (1, 2)
    assert compare_answers(b"abc", b"abc") == (1, 1)
    comparison = ShadowComparison(max_in_flight=1)
    assert comparison.admit() and not comparison.admit()
    comparison.record(prod, 200, same)
    comparison.record(prod, 500, b"")
    comparison.done()
    assert comparison.summary() == {
        "mirrored": 1,
        "skipped": 1,
        "errors": 1,
        "compared_records": 2,
        "agreed_records": 1,
        "ratio": 0.5,
    }


def test_capture_writes_sagemaker_records(tmp_path: Path) -> None:
    from sagebox.backends.storage.local import LocalObjectStore

    store = LocalObjectStore(f"file://{tmp_path}")
    config = DataCaptureConfig(sampling_percentage=50)
    writer = CaptureWriter(store, "ep", config, "datacapture", rng=random.Random(0))
    sampled = sum(writer.sampled() for _ in range(2000))
    assert 850 < sampled < 1150
    writer.add(
        "v1", "id-1", b'["love it"]', "application/json", b'{"predictions": []}', "application/json"
    )
    writer.add("v2", "id-2", b"\xff\xfe", "application/octet-stream", None, "")
    asyncio.run(writer.flush())
    files = sorted(o.key for o in store.list("datacapture/ep/"))
    assert len(files) == 2 and files[0].startswith("datacapture/ep/v1/")
    record = json.loads(store.read_bytes(files[0]).decode().splitlines()[0])
    assert record["eventMetadata"]["inferenceId"] == "id-1"
    assert record["captureData"]["endpointInput"] == {
        "observedContentType": "application/json",
        "mode": "INPUT",
        "data": '["love it"]',
        "encoding": "JSON",
    }
    assert record["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    assert record["variant"] == "v1" and record["eventVersion"] == "0"
    binary = json.loads(store.read_bytes(files[1]).decode())
    assert binary["captureData"]["endpointInput"]["encoding"] == "BASE64"


def test_batcher_groups_concurrent_requests_and_keeps_order() -> None:
    from sagebox.serving._worker.batching import Batcher

    class Model:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def predict(self, items: list[str]) -> list[str]:
            self.calls.append(list(items))
            return [f"p:{x}" for x in items]

    async def scenario(chunk: int | None) -> tuple[list[list[str]], Model]:
        model = Model()
        batcher = Batcher(model, max_batch_size=8, max_delay_ms=50, chunk_size=chunk)
        texts = [["a" * (i % 5 + 1), f"b{i}"] for i in range(6)]
        answers = await asyncio.gather(*(batcher.predict(t) for t in texts))
        assert answers == [[f"p:{x}" for x in t] for t in texts]
        assert batcher.stats()["records"] == 12
        return answers, model

    _, plain = asyncio.run(scenario(None))
    assert max(len(c) for c in plain.calls) == 8  # requests were batched together
    _, chunked = asyncio.run(scenario(3))
    assert all(len(c) <= 3 for c in chunked.calls)
    assert all(len(c[0]) <= len(c[-1]) for c in chunked.calls)  # length-sorted chunks


def test_batcher_counts_the_model_busy_time_on_one_thread() -> None:
    import threading
    import time

    from sagebox.serving._worker.batching import Batcher

    class Model:
        threads: set[int] = set()

        def predict(self, items: list[str]) -> list[str]:
            self.threads.add(threading.get_ident())
            time.sleep(0.02)
            return list(items)

    async def scenario() -> dict[str, float]:
        batcher = Batcher(Model(), max_batch_size=2, max_delay_ms=1)
        for _ in range(3):
            await asyncio.gather(batcher.predict(["a"]), batcher.predict(["b"]))
        return batcher.stats()

    stats = asyncio.run(scenario())
    assert stats["batches"] == 3 and stats["mean_batch_size"] == 2
    assert 0.06 <= stats["busy_seconds"] < 5
    assert len(Model.threads) == 1 and threading.get_ident() not in Model.threads


def test_a_batched_worker_loads_its_model_on_the_thread_it_predicts_on(tmp_path: Path) -> None:
    # torch gives each calling thread its own OpenMP team; two teams slow every batch
    import threading

    from sagebox.serving._worker.worker import WorkerApp

    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(
        "import threading\n"
        "def model_fn(model_dir):\n"
        "    return threading.get_ident()\n"
        "def predict_fn(data, model):\n"
        "    return [[model, threading.get_ident()] for _ in data]\n"
    )
    spec = {
        "steps": [{"model_dir": str(tmp_path / "model")}],
        "batching": {"max_batch_size": 4, "max_delay_ms": 1},
    }
    app = WorkerApp(spec)
    assert app.batcher is not None
    (loaded_on, predicted_on), _ = asyncio.run(app.batcher.predict(["a", "b"]))
    assert loaded_on == predicted_on != threading.get_ident()
    plain = WorkerApp({"steps": spec["steps"]})  # without batching: loaded where it predicts
    assert plain.batcher is None and plain.model.model == threading.get_ident()


def test_batcher_answers_a_chunk_before_the_rest_of_the_batch() -> None:
    import threading

    from sagebox.serving._worker.batching import Batcher

    release = threading.Event()

    class Model:
        calls = 0

        def predict(self, items: list[str]) -> list[str]:
            self.calls += 1
            if self.calls == 2:  # the second chunk waits until the first is answered
                assert release.wait(10)
            return [f"p:{x}" for x in items]

    async def scenario() -> None:
        batcher = Batcher(Model(), max_batch_size=4, max_delay_ms=50, chunk_size=2)
        texts = ["a", "bb", "ccc", "dddd"]
        tasks = [asyncio.ensure_future(batcher.predict([t])) for t in texts]
        async with asyncio.timeout(10):
            first = await asyncio.gather(tasks[0], tasks[1])
        assert first == [["p:a"], ["p:bb"]]
        assert not tasks[2].done() and not tasks[3].done()
        release.set()
        async with asyncio.timeout(10):
            rest = await asyncio.gather(tasks[2], tasks[3])
        assert rest == [["p:ccc"], ["p:dddd"]]

    asyncio.run(scenario())


def test_a_failing_chunk_fails_only_its_own_requests() -> None:
    from sagebox.serving._worker.batching import Batcher

    class Model:
        def predict(self, items: list[str]) -> list[str]:
            if any(len(x) > 2 for x in items):
                raise ValueError("model error")
            return [f"p:{x}" for x in items]

    async def scenario() -> list[object]:
        batcher = Batcher(Model(), max_batch_size=4, max_delay_ms=50, chunk_size=2)
        texts = ["a", "bb", "ccc", "dddd"]
        return await asyncio.gather(*(batcher.predict([t]) for t in texts), return_exceptions=True)

    answers = asyncio.run(scenario())
    assert answers[:2] == [["p:a"], ["p:bb"]]
    assert all(isinstance(a, ValueError) for a in answers[2:])


def test_json_depth_skips_strings_and_counts_nesting() -> None:
    from sagebox.serving._control.api import MAX_JSON_DEPTH, json_depth

    assert json_depth(b'{"a": [1, {"b": 2}]}') == 0  # too few brackets to matter: not scanned
    deep = b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5)
    assert json_depth(deep) == MAX_JSON_DEPTH + 5
    quoted = b'{"s": "' + b"[" * 100 + b'\\"["}'
    assert json_depth(quoted) == 1


def test_metrics_view_keeps_a_green_variant_that_has_a_production_name() -> None:
    from sagebox.serving._control.api import metrics_view

    def variant(role: str, share: float) -> dict[str, object]:
        return {"role": role, "traffic_share": share, "instance_count": 1, "metrics": {}}

    info = {
        "name": "e",
        "status": "Updating",
        "variants": {"AllTraffic": variant("production", 0.5)},
        "green_variants": {"AllTraffic": variant("green", 0.5)},
    }
    view = metrics_view(info)["variants"]
    assert view["AllTraffic"]["role"] == "production"
    assert view["AllTraffic@green"]["role"] == "green"
