"""The end-to-end walking skeleton behind ``sagebox demo``.

raw CSV → lake (a Hive partition per run) → crawler job catalogs it as ``reviews.raw`` → SQL
by table name (pruned to this run's partition), course transformation, balance, split (a
processing job) → train the baseline (a training job; with ``tune_trials`` a tuning job whose
best trial is kept, tuned on the validation split) → evaluate on the test split (an evaluation
job) → package and register the model → serve it on a local endpoint → invoke it → stop it.
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

from sagebox.backends.metadata.base import ArtifactRecord
from sagebox.jobs import JobClient
from sagebox.jobs.context import file_sha256
from sagebox.session import Session

__all__ = [
    "DEMO_DATABASE",
    "DEMO_STEPS",
    "FEATURE_STORE_STEPS",
    "SAMPLE_REVIEWS",
    "DemoResult",
    "demo_steps",
    "run_demo",
    "tuning_ranges",
]

#: the catalog database the demo crawls its raw reviews into (table ``raw``)
DEMO_DATABASE = "reviews"
#: lake prefix the demo crawls; each run's reviews land in ``raw/run_id=<run>/``
DEMO_PREFIX = "datasets/reviews/"

SAMPLE_REVIEWS = [
    "I love this dress, the fabric is soft and it fits perfectly!",
    "The color is nice but the sizing runs small and the material feels cheap.",
    "Terrible quality, it ripped after one wash. Returning it.",
    "It's okay. Not great, not bad, the length is a bit odd on me.",
]

DEMO_STEPS = [
    "load raw reviews",
    "store raw data in the lake",
    "catalog raw data (crawler job)",
    "prepare data (processing job)",
    "train baseline (training job)",
    "evaluate on test split (evaluation job)",
    "register model",
    "start endpoint",
    "invoke endpoint",
    "stop endpoint",
]
#: the steps with ``feature_store=True`` (as many, so progress displays need not care)
FEATURE_STORE_STEPS = [
    *DEMO_STEPS[:3],
    "engineer features into feature group 'reviews' (processing job, 2 workers)",
    "train on a point-in-time training set (training job)",
    *DEMO_STEPS[5:],
]


def demo_steps(feature_store: bool = False, tune_trials: int = 0) -> list[str]:
    """The walkthrough's step names for these options (as many for each option set)."""
    steps = list(FEATURE_STORE_STEPS if feature_store else DEMO_STEPS)
    if tune_trials:
        steps[4] = f"tune the baseline (tuning job: {tune_trials} training jobs, 2 at a time)"
    return steps


def tuning_ranges(algorithm: str) -> dict[str, Any]:
    """The ranges the demo's tuning job searches for ``algorithm``.

    Raises:
        InputDataError: for an algorithm the demo has no ranges for.
    """
    from sagebox.errors import InputDataError
    from sagebox.tuning import CategoricalParameter, ContinuousParameter, IntegerParameter

    ranges: dict[str, dict[str, Any]] = {
        "linear-text": {
            "C": ContinuousParameter(0.1, 20, "Logarithmic"),
            "ngram_max": CategoricalParameter([1, 2, 3]),
        },
        "blazingtext": {
            "learning_rate": ContinuousParameter(0.05, 1.0, "Logarithmic"),
            "word_ngrams": CategoricalParameter([1, 2]),
            "vector_dim": IntegerParameter(10, 100, "Logarithmic"),
        },
    }
    if algorithm not in ranges:
        raise InputDataError(
            f"the demo has no tuning ranges for {algorithm}",
            hint=f"tune one of {', '.join(ranges)}, or leave out --tune",
        )
    return ranges[algorithm]


def _tune(
    session: Session,
    algorithm: str,
    hyperparameters: dict[str, Any],
    channels: dict[str, str],
    trials: int,
    seed: int,
) -> tuple[str, str]:
    """Run the demo's tuning job; return its name and its best training job's name."""
    from sagebox.training import Estimator
    from sagebox.tuning import HyperparameterTuner

    tuner = HyperparameterTuner(
        Estimator(algorithm=algorithm, hyperparameters=hyperparameters, session=session),
        objective_metric_name="validation:macro_f1",
        hyperparameter_ranges=tuning_ranges(algorithm),
        strategy="Bayesian",
        max_jobs=trials,
        max_parallel_jobs=min(2, trials),
        random_seed=seed,
        base_tuning_job_name=f"reviews-{algorithm}",
    )
    job = tuner.fit(channels)
    return job.name, tuner.best_training_job()


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
    raw_table: str = ""
    raw_uri: str = ""
    crawl: dict[str, Any] = field(default_factory=dict)
    deployment: dict[str, Any] = field(default_factory=dict)
    feature_group: str = ""
    lookups: list[dict[str, Any]] = field(default_factory=list)


def run_demo(
    session: Session,
    data: Path | None = None,
    rows: int = 6000,
    seed: int = 0,
    port: int | None = None,
    on_step: Callable[[str], None] = lambda step: None,
    algorithm: str = "linear-text",
    hyperparameters: dict[str, Any] | None = None,
    deployment: bool = False,
    feature_store: bool = False,
    tune_trials: int = 0,
) -> DemoResult:
    """Run the whole walkthrough; ``on_step`` is called as each step starts.

    Args:
        session: where to store data, records and run jobs.
        data: a raw review CSV; ``None`` generates ``rows`` synthetic reviews with ``seed``.
        rows: synthetic review count when ``data`` is None.
        seed: seed of the synthetic data and the split.
        port: endpoint port (a free one if None).
        on_step: progress callback.
        algorithm: the built-in algorithm the training job fits (default ``linear-text``).
        hyperparameters: its hyperparameters.
        deployment: also run the deployment steps (:mod:`sagebox.demo._deployment`):
            A/B test, canary rollback, autoscaling and batch transform.
        feature_store: engineer tokenized features into the ``reviews`` feature group,
            train on a point-in-time training set from it, and serve a model that looks
            reviews up online by ``review_id`` (see :mod:`sagebox.demo._feature_store`).
        tune_trials: instead of one training job, a tuning job of this many trials (2 at a
            time, Bayesian, :func:`tuning_ranges`, validation macro-F1); its best trial's
            model is evaluated, registered and served.

    Raises:
        InputDataError: if ``data`` is missing or malformed, or a hyperparameter is bad.
        ConfigError: if ``algorithm`` is unknown.
        JobError: if a job fails (names the job and how to read its log).
    """
    import time

    from sagebox.algorithms import get_algorithm

    get_algorithm(algorithm).from_hyperparameters(dict(hyperparameters or {}))  # fail early
    if tune_trials:
        tuning_ranges(algorithm)  # fail early on an algorithm the demo cannot tune

    import pandas as pd

    from sagebox.datasets import generate_reviews, read_raw_reviews
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient, ensure_port_free

    started = time.perf_counter()
    steps = iter(demo_steps(feature_store, tune_trials))
    on_step(next(steps))
    if port is not None:
        ensure_port_free("127.0.0.1", port)  # fail before doing any work
    raw: pd.DataFrame = (
        generate_reviews(rows, seed=seed) if data is None else read_raw_reviews(data)
    )
    result = DemoResult(raw_rows=len(raw))
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

    on_step(next(steps))
    raw_uri = _store_raw(session, raw, f"{DEMO_PREFIX}raw/run_id={run_id}")
    result.raw_uri = raw_uri

    jobs = JobClient(session)
    on_step(next(steps))
    crawler = jobs.run(
        "crawler",
        {"uri": session.storage.url(DEMO_PREFIX), "database": DEMO_DATABASE},
        {},
    )
    result.crawl = {k: v for k, v in crawler.metrics.items() if v}
    result.raw_table = f"{DEMO_DATABASE}.raw"
    on_step(next(steps))
    if feature_store:
        from sagebox.demo import _feature_store as fs_demo

        prepare = jobs.run(
            "review-features",
            fs_demo.engineer_parameters(result.raw_table, {"run_id": run_id}, seed),
            {"raw": raw_uri},
        )
        result.feature_group = fs_demo.DEMO_FEATURE_GROUP
        channels = fs_demo.training_channels(session, prepare, run_id)
    else:
        prepare = jobs.run(
            "prepare-reviews",
            {
                "seed": seed,
                "balance": True,
                "table": result.raw_table,
                "partition": {"run_id": run_id},
            },
            {"raw": raw_uri},
        )
        channels = {"train": prepare.outputs["train"], "validation": prepare.outputs["validation"]}
    on_step(next(steps))
    tuning_name = ""
    if tune_trials:
        tuning_name, best = _tune(
            session, algorithm, dict(hyperparameters or {}), channels, tune_trials, seed
        )
        train = session.metadata.get_job(best)
    else:
        train = jobs.run(
            "training",
            {"algorithm": algorithm, "hyperparameters": dict(hyperparameters or {})},
            channels,
        )
    on_step(next(steps))
    evaluation = jobs.run(
        "evaluation", {}, {"model": train.outputs["model"], "test": prepare.outputs["test"]}
    )
    result.jobs = {
        "crawl": crawler.name,
        "prepare": prepare.name,
        "training": train.name,
        "evaluation": evaluation.name,
        **({"tuning": tuning_name} if tuning_name else {}),
    }
    result.evaluation_uri = evaluation.outputs["evaluation"]
    result.evaluation = json.loads(
        session.storage.read_bytes(session.key_for(result.evaluation_uri)).decode("utf-8")
    )

    on_step(next(steps))
    if feature_store:
        model = ModelClient(session).create(
            f"reviews-{algorithm}-{run_id}", artifact_uri=fs_demo.lookup_model_uri(session, train)
        )
    else:
        model = ModelClient(session).create(
            f"reviews-{algorithm}-{run_id}", training_job=train.name
        )
    result.model_name = model.name

    on_step(next(steps))
    endpoints = EndpointClient(session)
    endpoint_name = f"reviews-{run_id}"
    requested_port = port
    port = port or _free_port()
    endpoint = endpoints.create(endpoint_name, model.name, port=port)
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
        if feature_store:
            ids = fs_demo.sample_ids(session, prepare)
            body = "".join(json.dumps({"review_id": i}) + "\n" for i in ids)
            answer = endpoints.invoke(
                endpoint_name,
                body,
                content_type="application/jsonlines",
                accept="application/jsonlines",
            )
            result.lookups = [
                {"review_id": i, **json.loads(line)}
                for i, line in zip(ids, str(answer).splitlines(), strict=True)
            ]
    finally:
        on_step(next(steps))
        endpoints.delete(endpoint_name)
    if deployment:
        from sagebox.demo._deployment import run_deployment_demo

        result.deployment = run_deployment_demo(
            session,
            model.name,
            prepare.outputs,
            f"{DEMO_PREFIX}raw/run_id={run_id}/reviews.csv",
            run_id,
            _port_once_free(requested_port) if requested_port else _free_port(),
            on_step,
        )
    result.seconds = time.perf_counter() - started
    return result


def _store_raw(session: Session, raw: Any, prefix: str) -> str:
    """Put the raw reviews in the lake as CSV, recorded as an artifact; return the folder URI."""
    storage = session.storage
    key = f"{prefix}/reviews.csv"
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "reviews.csv"
        raw.to_csv(local, index=False)
        storage.upload(local, key)
        session.metadata.add_artifact(
            ArtifactRecord(
                uri=storage.url(key),
                kind="dataset",
                sha256=file_sha256(local),
                size=local.stat().st_size,
                properties={"rows": len(raw), "stage": "raw"},
            )
        )
    return storage.url(prefix)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_once_free(port: int, timeout: float = 15.0) -> int:
    """Wait (with a deadline) until the just-stopped endpoint has released ``port``."""
    import time

    from sagebox.errors import PortInUseError
    from sagebox.serving import ensure_port_free

    deadline = time.monotonic() + timeout
    while True:
        try:
            ensure_port_free("127.0.0.1", port)
            return port
        except PortInUseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
