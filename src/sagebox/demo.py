"""The end-to-end walking skeleton behind ``sagebox demo``.

raw CSV → lake (CSV + Parquet) → SQL over it → course transformation → balance → split (a
processing job) → train the baseline (a training job) → evaluate (an evaluation job) → package
and register the model → serve it on a local endpoint → invoke it → stop it.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagebox.backends.metadata.base import ArtifactRecord, JobRecord, JobStatus
from sagebox.errors import JobError
from sagebox.jobs import JobClient
from sagebox.jobs.context import file_sha256
from sagebox.session import Session

__all__ = ["DEMO_STEPS", "DemoResult", "SAMPLE_REVIEWS", "run_demo"]

SAMPLE_REVIEWS = [
    "I love this dress, the fabric is soft and it fits perfectly!",
    "The color is nice but the sizing runs small and the material feels cheap.",
    "Terrible quality, it ripped after one wash. Returning it.",
    "It's okay. Not great, not bad, the length is a bit odd on me.",
]

DEMO_STEPS = [
    "load raw reviews",
    "store raw data in the lake",
    "prepare data (processing job)",
    "train baseline (training job)",
    "evaluate on test split (evaluation job)",
    "register model",
    "start endpoint",
    "invoke endpoint",
    "stop endpoint",
]


@dataclass
class DemoResult:
    """What the demo did: its jobs, model, endpoint answers and test metrics."""

    raw_rows: int
    jobs: dict[str, str] = field(default_factory=dict)
    model_name: str = ""
    endpoint_url: str = ""
    predictions: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    evaluation_uri: str = ""
    seconds: float = 0.0


def run_demo(
    session: Session,
    data: Path | None = None,
    rows: int = 6000,
    seed: int = 0,
    port: int | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> DemoResult:
    """Run the whole walkthrough; ``on_step`` is called as each step starts.

    Args:
        session: where to store data, records and run jobs.
        data: a raw review CSV; ``None`` generates ``rows`` synthetic reviews with ``seed``.
        rows: synthetic review count when ``data`` is None.
        seed: seed of the synthetic data and the split.
        port: endpoint port (a free one if None).
        on_step: progress callback.

    Raises:
        InputDataError: if ``data`` is missing or malformed.
        JobError: if a job fails (names the job and how to read its log).
    """
    import time

    import pandas as pd

    from sagebox.datasets import generate_reviews, read_raw_reviews
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient
    from sagebox.serving.endpoints import ensure_port_free

    started = time.perf_counter()
    steps = iter(DEMO_STEPS)
    on_step(next(steps))
    if port is not None:
        ensure_port_free("127.0.0.1", port)  # fail before doing any work
    raw: pd.DataFrame = (
        generate_reviews(rows, seed=seed) if data is None else read_raw_reviews(data)
    )
    result = DemoResult(raw_rows=len(raw))
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

    on_step(next(steps))
    raw_uri = _store_raw(session, raw, f"raw/reviews/{run_id}")

    jobs = JobClient(session)
    on_step(next(steps))
    prepare = _run_job(jobs, "prepare-reviews", {"seed": seed, "balance": True}, {"raw": raw_uri})
    on_step(next(steps))
    train = _run_job(
        jobs,
        "training",
        {"algorithm": "linear-text", "hyperparameters": {}},
        {"train": prepare.outputs["train"], "validation": prepare.outputs["validation"]},
    )
    on_step(next(steps))
    evaluation = _run_job(
        jobs, "evaluation", {}, {"model": train.outputs["model"], "test": prepare.outputs["test"]}
    )
    result.jobs = {"prepare": prepare.name, "training": train.name, "evaluation": evaluation.name}
    result.evaluation_uri = evaluation.outputs["evaluation"]
    result.evaluation = json.loads(
        session.storage.read_bytes(session.key_for(result.evaluation_uri)).decode("utf-8")
    )

    on_step(next(steps))
    model = ModelClient(session).create(f"reviews-linear-{run_id}", training_job=train.name)
    result.model_name = model.name

    on_step(next(steps))
    endpoints = EndpointClient(session)
    endpoint_name = f"reviews-{run_id}"
    endpoint = endpoints.create(endpoint_name, model.name, port=port or _free_port())
    result.endpoint_url = endpoint.url or ""
    try:
        on_step(next(steps))
        body = "".join(json.dumps({"review_body": text}) + "\n" for text in SAMPLE_REVIEWS)
        answer = endpoints.invoke(
            endpoint_name,
            body,
            content_type="application/jsonlines",
            accept="application/jsonlines",
        )
        result.predictions = [
            {"review_body": text, **json.loads(line)}
            for text, line in zip(SAMPLE_REVIEWS, str(answer).splitlines(), strict=True)
        ]
    finally:
        on_step(next(steps))
        endpoints.delete(endpoint_name)
    result.seconds = time.perf_counter() - started
    return result


def _store_raw(session: Session, raw: Any, prefix: str) -> str:
    """Put the raw reviews in the lake as CSV and Parquet; record both; return the Parquet URI."""
    storage = session.storage
    with tempfile.TemporaryDirectory() as tmp:
        uris = {}
        for name, write in (
            ("reviews.csv", lambda p: raw.to_csv(p, index=False)),
            ("reviews.parquet", lambda p: raw.to_parquet(p, index=False)),
        ):
            local = Path(tmp) / name
            write(local)
            storage.upload(local, f"{prefix}/{name}")
            uris[name] = storage.url(f"{prefix}/{name}")
            session.metadata.add_artifact(
                ArtifactRecord(
                    uri=uris[name],
                    kind="dataset",
                    sha256=file_sha256(local),
                    size=local.stat().st_size,
                    properties={"rows": len(raw), "stage": "raw"},
                )
            )
    return uris["reviews.parquet"]


def _run_job(
    jobs: JobClient, kind: str, parameters: dict[str, Any], inputs: dict[str, str]
) -> JobRecord:
    job = jobs.wait(jobs.submit(kind, parameters=parameters, inputs=inputs).name)
    if job.status is not JobStatus.COMPLETED:
        raise JobError(
            f"{kind} job {job.name} ended {job.status.value}: {job.failure_reason}",
            hint=f"read its log: sagebox jobs logs {job.name}",
        )
    return job


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
