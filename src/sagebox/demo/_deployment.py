"""``sagebox demo --deployment``: the serving half of the walkthrough.

After the baseline is trained and registered: train a second version, A/B test both at 50/50
on the test split, try a canary update that an injected error burst rolls back, deploy the
A/B winner with autoscaling and drive it to scale out, then batch-score the raw review file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import time
from collections.abc import Callable
from typing import Any

from sagebox.session import Session

__all__ = ["DEPLOYMENT_STEPS", "run_deployment_demo"]

DEPLOYMENT_STEPS = [
    "train a second model version",
    "A/B test v1 vs v2 (50/50)",
    "canary update, injected error burst",
    "deploy the winner with autoscaling",
    "autoscale under load",
    "batch-score the review file",
    "stop the A/B endpoint",
]
_V2_HYPERPARAMETERS = {"char_ngrams": False, "C": 2.0}


def run_deployment_demo(
    session: Session,
    model_name: str,
    prepare_outputs: dict[str, str],
    raw_csv_key: str,
    run_id: str,
    port: int,
    on_step: Callable[[str], None],
) -> dict[str, Any]:
    """Run the deployment steps; return what each showed (JSON-ready)."""
    import pandas as pd

    from sagebox.jobs import JobClient
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient, TransformClient

    steps = iter(DEPLOYMENT_STEPS)
    out: dict[str, Any] = {}
    on_step(next(steps))
    train = JobClient(session).run(
        "training",
        parameters={"algorithm": "linear-text", "hyperparameters": _V2_HYPERPARAMETERS},
        inputs={"train": prepare_outputs["train"], "validation": prepare_outputs["validation"]},
    )
    v2 = ModelClient(session).create(f"reviews-linear-v2-{run_id}", training_job=train.name)
    models = {"v1": model_name, "v2": v2.name}
    local = session.storage.download(
        session.key_for(prepare_outputs["test"]),
        session.settings.home / "demo" / run_id / "test.parquet",
    )
    test = pd.read_parquet(local)
    texts, labels = test["review_body"].astype(str).tolist(), test["sentiment"].tolist()

    on_step(next(steps))
    endpoints = EndpointClient(session)
    name = f"reviews-ab-{run_id}"
    endpoints.create(
        name,
        port=port,
        fault_injection=True,  # the walkthrough's canary drill injects a fault
        config={
            "variants": [{"name": v, "model": m, "initial_weight": 1} for v, m in models.items()],
            "data_capture": {"sampling_percentage": 20},
        },
    )
    url = f"http://127.0.0.1:{port}/endpoints/{name}/invocations"
    try:
        out["ab_test"] = _ab_test(url, texts, labels)
        winner = max(("v1", "v2"), key=lambda v: out["ab_test"]["variants"][v]["accuracy"])
        out["ab_test"]["winner"] = winner

        on_step(next(steps))
        out["canary"] = _canary(endpoints, name, url, models["v2"])

        on_step(next(steps))
        deployment = endpoints.update(
            name,
            deployment={"traffic_routing": {"type": "ALL_AT_ONCE"}},
            config={
                "variants": [
                    {
                        "name": "winner",
                        "model": models[winner],
                        "autoscaling": {
                            "min_instances": 1,
                            "max_instances": 2,
                            "target_invocations_per_instance_per_minute": 600,
                            "scale_out_cooldown_s": 1,
                            "scale_in_cooldown_s": 60,
                            "window_s": 3,
                        },
                    }
                ]
            },
        )
        out["winner_deployment"] = {"model": models[winner], "status": deployment["status"]}

        on_step(next(steps))
        out["autoscaling"] = _autoscale(endpoints, name, url)
        out["metrics"] = endpoints.metrics(name)

        on_step(next(steps))
        column = _text_column(session, raw_csv_key)
        job = TransformClient(session).run(
            models[winner],
            raw_csv_key,
            f"scored/{run_id}",
            content_type="text/csv",
            header=True,
            input_filter=f"$[{column}]",
            join_source="Input",
            output_filter="$[0,-5,-4]",
            max_concurrent_transforms=2,
        )
        out["batch_transform"] = {
            "job": job.name,
            "status": job.status.value,
            "outputs": job.outputs,
            **job.metrics,
        }
    finally:
        on_step(next(steps))
        endpoints.delete(name)
    return out


def _ab_test(url: str, texts: list[str], labels: list[int]) -> dict[str, Any]:
    answers = _send_all(url, texts, concurrency=8)
    per: dict[str, dict[str, float]] = {}
    for (variant, label), truth in zip(answers, labels, strict=True):
        entry = per.setdefault(variant, {"requests": 0, "correct": 0})
        entry["requests"] += 1
        entry["correct"] += int(label == truth)
    return {
        "requests": len(answers),
        "variants": {
            v: {
                "requests": int(e["requests"]),
                "share": round(e["requests"] / len(answers), 3),
                "accuracy": round(e["correct"] / e["requests"], 4),
            }
            for v, e in sorted(per.items())
        },
    }


def _canary(endpoints: Any, name: str, url: str, model: str) -> dict[str, Any]:
    policy = {
        "traffic_routing": {"type": "CANARY", "canary_size": 0.25, "wait_interval_s": 8},
        "alarms": [
            {"metric": "error_rate", "threshold": 0.05, "window_s": 5, "min_invocations": 10}
        ],
    }
    with _Traffic(url) as traffic:
        endpoints.update(
            name,
            config={"variants": [{"name": "canary", "model": model}]},
            deployment=policy,
            wait=False,
        )
        deadline = time.monotonic() + 180
        while not endpoints.status(name).get("green_variants"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        injected = time.monotonic()
        endpoints.inject_fault(name, "canary", error_rate=1.0, seconds=30, fleet="green")
        info = endpoints.wait(name, timeout=180)
        rolled_back_after = time.monotonic() - injected
    errors = sum(1 for status, _ in traffic.results if status >= 500)
    deployment = info.get("deployment") or {}
    return {
        "status": deployment.get("status"),
        "reason": deployment.get("reason"),
        "steps": deployment.get("steps"),
        "seconds_from_fault_to_rollback": round(rolled_back_after, 2),
        "requests_during_canary": len(traffic.results),
        "errors_seen_by_clients": errors,
    }


def _autoscale(endpoints: Any, name: str, url: str) -> dict[str, Any]:
    started = time.monotonic()
    with _Traffic(url, clients=4) as traffic:
        while time.monotonic() - started < 60:
            variant = endpoints.status(name)["variants"]["winner"]
            if variant["healthy_instances"] >= 2:
                break
            time.sleep(0.1)
    events = [e for e in endpoints.status(name)["events"] if e["kind"] == "scaling"]
    return {
        "requests": len(traffic.results),
        "seconds": round(time.monotonic() - started, 1),
        "instances": endpoints.status(name)["variants"]["winner"]["instance_count"],
        "scaling_events": events,
    }


def _text_column(session: Session, key: str) -> int:
    head = session.storage.read_bytes(key)[:4096].decode("utf-8", "replace")
    header = next(csv.reader(io.StringIO(head)))
    return header.index("Review Text") if "Review Text" in header else 4


def _send_all(url: str, texts: list[str], concurrency: int) -> list[tuple[str, int]]:
    import json

    import httpx

    async def run() -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = [("", 0)] * len(texts)
        queue = list(enumerate(texts))
        async with httpx.AsyncClient(timeout=60) as client:

            async def worker() -> None:
                while queue:
                    i, text = queue.pop()
                    r = await client.post(
                        url,
                        content=json.dumps([text]),
                        headers={"Content-Type": "application/json"},
                    )
                    out[i] = (
                        r.headers.get("x-sagebox-variant", ""),
                        r.json()["predictions"][0]["label"] if r.status_code == 200 else 99,
                    )

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return out

    return asyncio.run(run())


class _Traffic:
    """Bounded background requests (at most ``limit``) until the block ends."""

    def __init__(self, url: str, clients: int = 2, limit: int = 50_000) -> None:
        self.url, self.clients, self.limit = url, clients, limit
        self.results: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> _Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set() and len(self.results) < self.limit:
                try:
                    r = client.post(
                        self.url,
                        content=b'["the fabric is lovely"]',
                        headers={"Content-Type": "application/json"},
                    )
                    self.results.append((r.status_code, r.headers.get("x-sagebox-variant", "")))
                except httpx.HTTPError:
                    self.results.append((0, ""))
